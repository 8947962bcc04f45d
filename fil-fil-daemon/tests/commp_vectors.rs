//! Published piece-commitment vectors (Lotus, FRC-0069, go-fil-commp-hashhash,
//! go-commp-utils) from the shared fixtures, run through every hashing path.

use std::collections::BTreeMap;
use std::path::PathBuf;

use fil_fil::commp::{zero_commitment, CommpHasher, CommpOptions, PieceCommitment};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
    #[serde(rename = "repeated_0xCC_raw_commp_hex")]
    repeated_cc: BTreeMap<String, String>,
    zero_piece_commitments_hex: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Vector {
    input: String,
    payload: u64,
    padded: u64,
    v1: Option<String>,
    v2: Option<String>,
}

fn load() -> Vectors {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/commp-vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("commp-vectors.json parses")
}

/// Payload bytes for each described input; an unknown description fails the
/// test so new vectors cannot be skipped silently.
fn payload(input: &str) -> Vec<u8> {
    let quads: Vec<u8> = (0u8..4).flat_map(|b| [b; 127]).collect();
    let with = |tail: usize| [quads.clone(), vec![0; tail]].concat();
    match input {
        "1016 bytes of 0x61" => vec![0x61; 1016],
        "16646144 bytes of 0x61" => vec![0x61; 16_646_144],
        "10403840 bytes of 0x61 then 6242304 zero bytes" => {
            [vec![0x61; 10_403_840], vec![0; 6_242_304]].concat()
        }
        "127 x 0x00, 127 x 0x01, 127 x 0x02, 127 x 0x03" => quads,
        "the 508 bytes above followed by 4 x 127 zero bytes" => with(4 * 127),
        "the 508 bytes above followed by 4 zero bytes" => with(4),
        "the 508 bytes above followed by 5 zero bytes" => with(5),
        "empty payload" => Vec::new(),
        "127 zero bytes" => vec![0; 127],
        "128 zero bytes" => vec![0; 128],
        "96 zero bytes" => vec![0; 96],
        "2032 zero bytes" => vec![0; 2032],
        other => panic!("no generator for vector input {other:?}"),
    }
}

/// Every way we can hash: default pool, one thread, tiny chunks and batches
/// (many chunk and batch boundaries), and the reader path with short reads.
fn all_paths(data: &[u8]) -> Vec<(&'static str, PieceCommitment)> {
    // Small chunks put chunk and batch boundaries everywhere.
    let tiny = CommpOptions {
        threads: 2,
        chunk_quads_log2: 1,
        chunks_per_batch: 3,
    };
    let mut out = Vec::new();
    if data.len() >= 1 << 20 {
        // Debug builds hash slowly; the large vectors take the production path only
        // (the small ones cover every other path).
        out.push(("default", fil_fil::commp::commp_bytes(data).expect("commp")));
        return out;
    }
    for (name, opts) in [
        ("default", CommpOptions::default()),
        ("1 thread", CommpOptions::with_threads(1)),
        ("tiny chunks", tiny),
    ] {
        let mut h = CommpHasher::new(opts).expect("pool");
        h.update(data);
        out.push((name, h.finish().expect("commp")));
    }
    let mut h = CommpHasher::new(tiny).expect("pool");
    h.update_from_reader(ShortReads(data), |_| {})
        .expect("read");
    out.push(("reader", h.finish().expect("commp")));
    out
}

/// A reader that returns at most 1000 bytes per call, like a pipe.
struct ShortReads<'a>(&'a [u8]);

impl std::io::Read for ShortReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(1000);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn published_piece_cids() {
    let vectors = load();
    assert!(vectors.vectors.len() >= 12);
    for v in &vectors.vectors {
        let data = payload(&v.input);
        assert_eq!(data.len() as u64, v.payload, "{}", v.input);
        for (path, c) in all_paths(&data) {
            let ctx = format!("{} via {path}", v.input);
            assert_eq!(c.payload_size, v.payload, "{ctx}");
            assert_eq!(c.padded_size, v.padded, "{ctx}");
            if let Some(want) = &v.v1 {
                assert_eq!(&c.cid_v1().to_string(), want, "v1 of {ctx}");
            }
            if let Some(want) = &v.v2 {
                assert_eq!(&c.cid_v2().to_string(), want, "v2 of {ctx}");
            }
        }
    }
}

#[test]
fn repeated_0xcc_roots() {
    let vectors = load();
    assert!(!vectors.repeated_cc.is_empty());
    for (len, want) in &vectors.repeated_cc {
        let len: usize = len.parse().expect("length key");
        for (path, c) in all_paths(&vec![0xcc; len]) {
            assert_eq!(&c.root_hex(), want, "{len} x 0xCC via {path}");
        }
    }
}

#[test]
fn zero_piece_table() {
    let vectors = load();
    assert!(!vectors.zero_piece_commitments_hex.is_empty());
    for (size, want) in &vectors.zero_piece_commitments_hex {
        let size: u64 = size.parse().expect("size key");
        let level = (size / 32).trailing_zeros() as usize;
        let got = zero_commitment(level).expect("level in table");
        assert_eq!(&hex::encode(got), want, "zero piece of {size} bytes");
    }
    // Zero padding must come out the same as hashing explicit zeros.
    let c = fil_fil::commp::commp_bytes(&vec![0; 127 * 64]).expect("commp");
    assert_eq!(Some(c.root), zero_commitment(8));
}
