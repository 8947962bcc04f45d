//! Import of every snapshot layout, and of broken input: compressed and wrapped
//! forms give the same blocks as their plain form; corrupt or truncated input
//! fails with an error naming the byte offset (and CID where one is known), and
//! nothing is handed over.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use cid::Cid;
use fil_fil::car::{CarError, CarReader, Container};
use fil_fil::snapshot::{import_reader_into, import_to_map, ImportError, ImportSummary};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/../../shared/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn load(name: &str) -> (HashMap<Cid, Vec<u8>>, ImportSummary) {
    import_to_map(&fixture(name)).unwrap()
}

fn import_bytes(bytes: Vec<u8>) -> Result<HashMap<Cid, Vec<u8>>, ImportError> {
    let mut map = HashMap::new();
    import_reader_into(Cursor::new(bytes), |cid, data| {
        map.insert(cid, data);
        Ok(())
    })?;
    Ok(map)
}

#[test]
fn compressed_forms_match_plain_chain4() {
    let (plain, plain_summary) = load("chain4.car");
    for (name, container) in [
        ("chain4.car.zst", Container::Zstd),
        ("chain4.forest.car.zst", Container::ForestZstd),
    ] {
        let (blocks, summary) = load(name);
        assert_eq!(summary.format.container, container, "{name}");
        assert_eq!(summary.format.car_version, 1);
        assert_eq!(summary.roots, plain_summary.roots, "{name}");
        assert_eq!(blocks, plain, "{name}");
        assert_eq!(summary.blocks, 1222);
    }
}

#[test]
fn carv2_zstd_unwraps_to_its_payload() {
    let (blocks, summary) = load("carv2.car.zst");
    assert_eq!(summary.format.car_version, 2);
    assert_eq!(summary.format.container, Container::Zstd);
    assert_eq!(summary.blocks, 7153);
    assert_eq!(blocks.len(), 7153);
    assert!(blocks.contains_key(&summary.roots[0]));
}

#[test]
fn genesis_files_import_completely() {
    for (name, count) in [
        ("mainnet-genesis.car", 1222),
        ("calibnet-genesis.car", 1207),
    ] {
        let (blocks, summary) = load(name);
        assert_eq!(summary.blocks, count, "{name}");
        // Block set equals the plain CAR read without our importer.
        let bytes = std::fs::read(fixture(name)).unwrap();
        let reference: HashMap<Cid, Vec<u8>> = CarReader::new(&bytes[..])
            .unwrap()
            .map(|b| b.map(|b| (b.cid, b.data)))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(blocks, reference, "{name}");
    }
}

fn export40() -> Vec<u8> {
    std::fs::read(fixture("export40.car")).unwrap()
}

/// Offsets (and CIDs) of the first sections of a CAR.
fn sections(bytes: &[u8]) -> Vec<(u64, Cid, usize)> {
    CarReader::new(bytes)
        .unwrap()
        .take(5)
        .map(|b| {
            let b = b.unwrap();
            (b.offset, b.cid, b.data.len())
        })
        .collect()
}

#[test]
fn truncation_is_located() {
    let bytes = export40();
    let secs = sections(&bytes);
    let (second, _, _) = secs[1];
    // Cut inside the second section's payload.
    let cut = bytes[..second as usize + 10].to_vec();
    let err = import_bytes(cut).unwrap_err();
    match err {
        ImportError::Car(CarError::Truncated { offset, .. }) => {
            assert!(offset >= second && offset <= second + 10, "offset {offset}");
        }
        other => panic!("unexpected {other}"),
    }
    // Cut inside the header.
    let err = import_bytes(bytes[..20].to_vec()).unwrap_err();
    assert!(
        matches!(err, ImportError::Car(CarError::Truncated { .. })),
        "{err}"
    );
}

#[test]
fn wrong_hash_names_cid_and_offset() {
    let mut bytes = export40();
    let secs = sections(&bytes);
    let (offset, cid, _) = secs[2];
    let section_end = secs[3].0 as usize;
    bytes[section_end - 1] ^= 0xff;
    let err = import_bytes(bytes).unwrap_err();
    let msg = err.to_string();
    match err {
        ImportError::Car(CarError::HashMismatch { cid: c, offset: o }) => {
            assert_eq!((c, o), (cid, offset));
            assert!(msg.contains(&cid.to_string()) && msg.contains(&offset.to_string()));
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn bad_varint_is_located() {
    let mut bytes = export40();
    let secs = sections(&bytes);
    let at = secs[1].0 as usize;
    bytes.splice(at..at + 2, [0xff; 10]);
    let err = import_bytes(bytes).unwrap_err();
    assert!(
        matches!(err, ImportError::Car(CarError::BadVarint { offset }) if offset == at as u64),
        "{err}"
    );
}

#[test]
fn bad_header_is_rejected() {
    let mut bytes = export40();
    bytes[1] = 0x83; // header map becomes an array
    let err = import_bytes(bytes).unwrap_err();
    assert!(
        matches!(err, ImportError::Car(CarError::BadHeader { .. })),
        "{err}"
    );
    let err = import_bytes(vec![0x0a, 0xa1, 0x67]).unwrap_err();
    assert!(matches!(err, ImportError::Car(_)), "{err}");
}

#[test]
fn corrupt_zstd_fails_cleanly() {
    let mut bytes = std::fs::read(fixture("chain4.car.zst")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 64].fill(0);
    assert!(import_bytes(bytes).is_err());
}

#[test]
fn failed_file_import_hands_nothing_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.car");
    let bytes = export40();
    std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    assert!(import_to_map(Path::new(&path)).is_err());
}
