//! Split/join round trips on the real fixtures, determinism, and bad input.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use fil_fil::car::CarReader;
use fil_fil::commp::commp_bytes;
use fil_fil::parts::{join, split, Manifest, PartsError, SectorSize, SplitOptions, MANIFEST_FILE};
use predicates::str::contains;
use sha2::{Digest, Sha256};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures")
        .join(name)
}

fn opts(max: u64) -> SplitOptions {
    SplitOptions {
        sector_size: SectorSize::S32GiB,
        max_part_size: Some(max),
        depth: None,
        commp: Default::default(),
    }
}

/// Checks everything the manifest claims about the parts on disk.
fn check_parts(original: &[u8], dir: &Path, manifest: &Manifest, max: u64) {
    let mut reassembled = Vec::new();
    let mut roots = None;
    for (i, part) in manifest.parts.iter().enumerate() {
        let bytes = std::fs::read(dir.join(&part.file)).expect("part readable");
        assert_eq!(bytes.len() as u64, part.size);
        assert!(part.size <= max, "{} is {} > {max}", part.file, part.size);
        assert_eq!(hex::encode(Sha256::digest(&bytes)), part.sha256);
        let piece = commp_bytes(&bytes).expect("commp");
        assert_eq!(piece.cid_v1().to_string(), part.piece_cid_v1);
        assert_eq!(piece.cid_v2().to_string(), part.piece_cid_v2);
        assert_eq!(piece.padded_size, part.padded_size);
        // Every part is a complete CAR with the original roots.
        let mut reader = CarReader::new(&bytes[..]).expect("part parses as CAR");
        let r = reader.header().roots.clone();
        assert_eq!(*roots.get_or_insert(r.clone()), r);
        let header_len = reader.offset() as usize;
        let mut blocks = 0;
        while reader.next_block().expect("valid block").is_some() {
            blocks += 1;
        }
        assert_eq!(blocks, part.blocks);
        let body = if i == 0 {
            &bytes[..]
        } else {
            &bytes[header_len..]
        };
        assert_eq!(
            part.source_offset as usize,
            reassembled.len().max(header_len),
            "{} source offset",
            part.file
        );
        reassembled.extend_from_slice(body);
    }
    assert_eq!(
        reassembled, original,
        "parts minus repeated headers = original"
    );
    assert_eq!(manifest.total_size, original.len() as u64);
    assert_eq!(manifest.sha256, hex::encode(Sha256::digest(original)));
}

#[test]
fn fixtures_round_trip_deterministically() {
    for (name, max) in [
        ("export40.car", 100_000),
        ("chain4.car", 150_000),
        ("mainnet-genesis.car", 300_000),
        ("calibnet-genesis.car", 400_000),
    ] {
        let input = fixture(name);
        let original = std::fs::read(&input).expect("fixture");
        let tmp = tempfile::tempdir().expect("tmp");
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let ma = split(&input, &a, &opts(max)).expect("split a");
        let mb = split(&input, &b, &opts(max)).expect("split b");
        assert!(ma.parts.len() > 2, "{name}: only {} parts", ma.parts.len());
        check_parts(&original, &a, &ma, max);
        // Same input, same manifest, byte for byte, and the same part files.
        let text_a = std::fs::read(a.join(MANIFEST_FILE)).expect("manifest a");
        assert_eq!(
            text_a,
            std::fs::read(b.join(MANIFEST_FILE)).expect("manifest b")
        );
        assert_eq!(
            serde_json::from_slice::<Manifest>(&text_a).expect("json"),
            ma
        );
        assert_eq!(ma, mb);
        let out = tmp.path().join("joined.car");
        join(&a, &out).expect("join");
        assert_eq!(std::fs::read(&out).expect("joined"), original, "{name}");
    }
}

#[test]
fn manifest_records_the_head() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut o = opts(200_000);
    o.depth = Some(0);
    let m = split(&fixture("export40.car"), tmp.path(), &o).expect("split");
    assert_eq!(m.head_epoch, Some(39));
    assert_eq!(m.depth, Some(0));
    assert_eq!(m.format, "carv1");
    let file = std::fs::File::open(fixture("export40.car")).expect("fixture");
    let reader = CarReader::new(std::io::BufReader::new(file)).expect("car");
    let roots: Vec<String> = reader
        .header()
        .roots
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(m.tipset_key, roots);
}

#[test]
fn default_limit_keeps_a_small_file_whole() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut o = opts(0);
    o.max_part_size = None;
    let m = split(&fixture("chain4.car"), tmp.path(), &o).expect("split");
    assert_eq!(m.parts.len(), 1);
    assert_eq!(m.max_part_size, 34_091_302_912);
    let original = std::fs::read(fixture("chain4.car")).expect("fixture");
    assert_eq!(
        std::fs::read(tmp.path().join("part-0001.car")).expect("part"),
        original
    );
}

#[test]
fn limits_are_enforced() {
    let tmp = tempfile::tempdir().expect("tmp");
    let err = split(&fixture("chain4.car"), tmp.path(), &opts(200)).expect_err("tiny parts");
    assert!(matches!(err, PartsError::BlockTooLarge { .. }), "{err}");
    let err = split(&fixture("chain4.car"), tmp.path(), &opts(40 << 30)).expect_err("over sector");
    assert!(matches!(err, PartsError::PartSizeTooLarge { .. }), "{err}");
}

#[test]
fn bad_inputs_give_clear_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let empty = tmp.path().join("empty.car");
    std::fs::write(&empty, b"").expect("write");
    let err = split(&empty, &tmp.path().join("o1"), &opts(100_000)).expect_err("empty");
    assert!(matches!(err, PartsError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("empty.car"));

    let missing = tmp.path().join("missing.car");
    let err = split(&missing, &tmp.path().join("o2"), &opts(100_000)).expect_err("missing");
    assert!(err.to_string().contains("missing.car"), "{err}");

    let junk = tmp.path().join("junk.car");
    std::fs::write(&junk, b"this is not a car file at all").expect("write");
    let err = split(&junk, &tmp.path().join("o3"), &opts(100_000)).expect_err("junk");
    assert!(matches!(err, PartsError::NotCar { .. }), "{err}");

    // Join: a part replaced by something that is not a CAR.
    let dir = tmp.path().join("parts");
    let m = split(&fixture("export40.car"), &dir, &opts(200_000)).expect("split");
    std::fs::write(dir.join(&m.parts[1].file), b"garbage").expect("overwrite");
    let out = tmp.path().join("out.car");
    let err = join(&dir, &out).expect_err("non-CAR part");
    assert!(matches!(err, PartsError::NotCar { .. }), "{err}");
    assert!(err.to_string().contains(&m.parts[1].file), "{err}");
    assert!(!out.exists(), "no half-written output");

    // Join: a part from another snapshot (valid CAR, wrong header).
    let other = tmp.path().join("other");
    let mo = split(&fixture("chain4.car"), &other, &opts(200_000)).expect("split other");
    std::fs::copy(other.join(&mo.parts[0].file), dir.join(&m.parts[1].file)).expect("copy");
    let err = join(&dir, &out).expect_err("foreign part");
    assert!(matches!(err, PartsError::HeaderMismatch { .. }), "{err}");

    // Join: no manifest.
    let err = join(tmp.path(), &out).expect_err("no manifest");
    assert!(matches!(err, PartsError::BadManifest { .. }), "{err}");
}

#[test]
fn cli_split_join_and_errors() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("parts");
    let input = fixture("export40.car");
    Command::cargo_bin("fil-fil")
        .expect("binary")
        .args(["snapshot", "split"])
        .arg(&input)
        .args([
            "--sector-size",
            "32GiB",
            "--max-part-size",
            "300000",
            "--output-dir",
        ])
        .arg(&dir)
        .assert()
        .success()
        .stdout(contains("part-0001.car"));
    let out = tmp.path().join("joined.car");
    Command::cargo_bin("fil-fil")
        .expect("binary")
        .args(["snapshot", "join"])
        .arg(&dir)
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&out).expect("joined"),
        std::fs::read(&input).expect("input")
    );

    let empty = tmp.path().join("empty.car");
    std::fs::write(&empty, b"").expect("write");
    Command::cargo_bin("fil-fil")
        .expect("binary")
        .args(["snapshot", "split"])
        .arg(&empty)
        .args(["--sector-size", "64GiB", "--output-dir"])
        .arg(tmp.path().join("x"))
        .assert()
        .failure()
        .stderr(contains("empty"));
}
