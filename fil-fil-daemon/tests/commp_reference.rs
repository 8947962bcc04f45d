//! The streaming, multi-threaded hasher against a deliberately naive reference:
//! pad, expand bit by bit, build every tree level in memory with `Sha256`.

use fil_fil::commp::{padded_size, CommpHasher, CommpOptions};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// Straight from the definition; no shared code with the library.
fn reference_root(payload: &[u8]) -> [u8; 32] {
    let padded = padded_size(payload.len() as u64).expect("size") as usize;
    let mut data = payload.to_vec();
    data.resize(padded / 128 * 127, 0);
    let bit = |i: usize| (data[i / 8] >> (i % 8)) & 1;
    let mut leaves = vec![0u8; padded];
    for leaf in 0..padded / 32 {
        for j in 0..254 {
            let src = 254 * leaf + j;
            let dst = 256 * leaf + j;
            leaves[dst / 8] |= bit(src) << (dst % 8);
        }
    }
    let mut level: Vec<[u8; 32]> = leaves
        .chunks(32)
        .map(|c| c.try_into().expect("32"))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                let mut h = Sha256::new();
                h.update(pair[0]);
                h.update(pair[1]);
                let mut out: [u8; 32] = h.finalize().into();
                out[31] &= 0x3f;
                out
            })
            .collect();
    }
    level[0]
}

fn streaming_root(payload: &[u8], opts: CommpOptions, cuts: &[usize]) -> [u8; 32] {
    let mut h = CommpHasher::new(opts).expect("pool");
    let mut rest = payload;
    for &cut in cuts {
        let (a, b) = rest.split_at(cut.min(rest.len()));
        h.update(a);
        rest = b;
    }
    h.update(rest);
    let c = h.finish().expect("commp");
    assert_eq!(c.payload_size, payload.len() as u64);
    c.root
}

fn options() -> impl Strategy<Value = CommpOptions> {
    (1usize..=4, 0u32..=4, 1usize..=5).prop_map(|(threads, log2, per_batch)| CommpOptions {
        threads,
        chunk_quads_log2: log2,
        chunks_per_batch: per_batch,
    })
}

/// Lengths around the interesting edges: within one quad, exact powers of two
/// and unpadded piece sizes, one byte either side, and arbitrary.
fn length() -> impl Strategy<Value = usize> {
    prop_oneof![
        1usize..=127,
        (7u32..=17).prop_map(|k| 1usize << k),
        (7u32..=17).prop_map(|k| (1usize << k) + 1),
        (7u32..=17).prop_map(|k| (1usize << k) / 128 * 127),
        (7u32..=17).prop_map(|k| (1usize << k) / 128 * 127 + 1),
        0usize..200_000,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn streaming_equals_reference(
        (data, cuts) in length().prop_flat_map(|n| (
            proptest::collection::vec(any::<u8>(), n),
            proptest::collection::vec(0..n.max(1) * 2 / 3 + 1, 0..4),
        )),
        opts in options(),
    ) {
        let want = reference_root(&data);
        prop_assert_eq!(streaming_root(&data, opts, &cuts), want);
        prop_assert_eq!(streaming_root(&data, CommpOptions::default(), &[]), want);
    }
}

#[test]
fn empty_payload_is_the_zero_piece() {
    assert_eq!(
        streaming_root(&[], CommpOptions::default(), &[]),
        reference_root(&[])
    );
}
