//! `fil-fil commp`: text and JSON output, standard input, unreadable files.

use assert_cmd::Command;
use predicates::str::contains;

/// FRC-0069 vector: 127 × 0x00, 0x01, 0x02, 0x03.
const V1: &str = "baga6ea4seaqes3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi";
const V2: &str = "bafkzcibcaaces3nobte6ezpp4wqan2age2s5yxcatzotcvobhgcmv5wi2xh5mbi";

fn payload() -> Vec<u8> {
    (0u8..4).flat_map(|b| [b; 127]).collect()
}

#[test]
fn json_for_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("p.bin");
    std::fs::write(&file, payload()).expect("write");
    let out = Command::cargo_bin("fil-fil")
        .expect("binary")
        .arg("commp")
        .arg(&file)
        .arg(&file)
        .arg("--json")
        .output()
        .expect("run");
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
    assert_eq!(rows[0]["piece_cid_v1"], V1);
    assert_eq!(rows[0]["piece_cid_v2"], V2);
    assert_eq!(rows[0]["payload_size"], 508);
    assert_eq!(rows[0]["padded_size"], 512);
}

#[test]
fn text_from_stdin() {
    Command::cargo_bin("fil-fil")
        .expect("binary")
        .args(["commp", "-"])
        .write_stdin(payload())
        .assert()
        .success()
        .stdout(contains(V1))
        .stdout(contains(V2))
        .stdout(contains("512"));
}

#[test]
fn missing_file_is_named() {
    Command::cargo_bin("fil-fil")
        .expect("binary")
        .args(["commp", "/nonexistent/nope.bin"])
        .assert()
        .failure()
        .stderr(contains("nope.bin"));
}
