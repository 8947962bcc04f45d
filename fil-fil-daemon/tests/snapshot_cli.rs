//! The `fil-fil snapshot` commands, run as the real binary.

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fil_fil::car::Container;
use fil_fil::snapshot::import_to_map;

fn fixture(name: &str) -> String {
    format!(
        "{}/../../shared/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn fil_fil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fil-fil"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn export_reproduces_lotus_bytes_from_compressed_input() {
    let dir = tempfile::tempdir().unwrap();
    let out: PathBuf = dir.path().join("out.car");
    let res = fil_fil(&[
        "snapshot",
        "export",
        "--input",
        &fixture("chain4.forest.car.zst"),
        "--epoch",
        "3",
        "--depth",
        "0",
        "--skip-old-msgs",
        "false",
        "--output",
        path_str(&out),
    ]);
    assert!(res.status.success(), "{}", text(&res));
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(fixture("chain4.car")).unwrap()
    );
    // Only the finished file is left in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn v2_zstd_export_imports_back_with_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.car.zst");
    let res = fil_fil(&[
        "snapshot",
        "export",
        "--input",
        &fixture("export40.car"),
        "--epoch",
        "25",
        "--depth",
        "0",
        "--format",
        "v2",
        "--compress",
        "zstd",
        "--output",
        path_str(&out),
    ]);
    assert!(res.status.success(), "{}", text(&res));
    let (blocks, summary) = import_to_map(&out).unwrap();
    assert_eq!(summary.format.container, Container::Zstd);
    let meta = summary.metadata.expect("v2 metadata");
    assert_eq!(meta.version, 2);
    assert_eq!(meta.f3_data, None);
    assert_eq!(summary.roots, vec![meta.cid()]);
    assert_eq!(summary.head.cids(), &meta.head_tipset_key[..]);
    // Head at the null round 25 is the tipset at 23.
    let inspect = fil_fil(&["snapshot", "inspect", path_str(&out), "--json"]);
    assert!(inspect.status.success(), "{}", text(&inspect));
    let json: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(json["head_height"], 23);
    assert_eq!(json["snapshot_version"], 2);
    assert_eq!(json["blocks"], blocks.len() as u64);
}

#[test]
fn inspect_reports_format_and_counts() {
    let res = fil_fil(&["snapshot", "inspect", &fixture("carv2.car.zst"), "--json"]);
    assert!(res.status.success(), "{}", text(&res));
    let json: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(json["format"], "carv2+zstd");
    assert_eq!(json["blocks"], 7153);
    assert_eq!(json["codecs"]["dag-cbor"], 7153);
    let res = fil_fil(&["snapshot", "inspect", &fixture("export40.car")]);
    let out = text(&res);
    assert!(
        out.contains("head height: 39") && out.contains("blocks:      1581"),
        "{out}"
    );
}

#[test]
fn validate_passes_and_reports_missing_state() {
    let ok = fil_fil(&[
        "snapshot",
        "validate",
        &fixture("export40.car"),
        "--depth",
        "0",
    ]);
    assert!(ok.status.success(), "{}", text(&ok));
    // The fixture carries no state roots beyond genesis: a 10-epoch window lacks them.
    let bad = fil_fil(&[
        "snapshot",
        "validate",
        &fixture("export40.car"),
        "--depth",
        "10",
    ]);
    assert!(!bad.status.success());
    let out = text(&bad);
    assert!(out.contains("missing state block"), "{out}");
    assert!(out.contains("required blocks missing"), "{out}");
}

#[test]
fn errors_exit_nonzero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.car");
    let res = fil_fil(&[
        "snapshot",
        "export",
        "--input",
        &fixture("chain4.car"),
        "--epoch",
        "99",
        "--output",
        path_str(&out),
    ]);
    assert!(!res.status.success());
    assert!(text(&res).contains("above the head"), "{}", text(&res));
    assert!(!out.exists());
    // Default depth needs state the fixture does not have: the export fails
    // and leaves no file behind.
    let res = fil_fil(&[
        "snapshot",
        "export",
        "--input",
        &fixture("export40.car"),
        "--epoch",
        "39",
        "--output",
        path_str(&out),
    ]);
    assert!(!res.status.success());
    assert!(text(&res).contains("missing state block"), "{}", text(&res));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let res = fil_fil(&["snapshot", "inspect", "/nonexistent/file.car"]);
    assert!(!res.status.success());
}
