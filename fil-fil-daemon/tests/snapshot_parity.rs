//! Golden parity: re-exporting a real Lotus export at its own head with the
//! options Lotus used reproduces the file byte for byte.

use std::path::Path;

use fil_fil::chain::tipset_at_or_below;
use fil_fil::snapshot::{export, import_to_map, ExportOptions};

fn fixture(name: &str) -> String {
    format!(
        "{}/../../shared/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn assert_reexport_identical(name: &str, epoch: i64) {
    let path = fixture(name);
    let (store, summary) = import_to_map(Path::new(&path)).expect("import fixture");
    let (head, height) = tipset_at_or_below(&store, &summary.head, epoch).expect("resolve head");
    assert_eq!(height, epoch);
    let options = ExportOptions {
        depth: 0,
        skip_old_msgs: false,
        ..ExportOptions::default()
    };
    let (bytes, out) = export(&store, &head, &options, Vec::new(), &mut |_| {}).expect("export");
    let original = std::fs::read(&path).expect("read fixture");
    assert_eq!(out.car_bytes, original.len() as u64);
    assert_eq!(out.blocks, summary.blocks);
    if bytes != original {
        let first = bytes.iter().zip(&original).position(|(a, b)| a != b);
        panic!(
            "{name}: export differs (ours {} bytes, theirs {}), first difference at {first:?}",
            bytes.len(),
            original.len()
        );
    }
}

#[test]
fn export40_at_head_is_byte_identical() {
    assert_reexport_identical("export40.car", 39);
}

#[test]
fn chain4_at_head_is_byte_identical() {
    assert_reexport_identical("chain4.car", 3);
}
