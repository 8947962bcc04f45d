//! Devnet chain content: deterministic from the seed, complete full dumps, and
//! faithful replay of a real Lotus export.

use std::collections::{HashMap, HashSet};

use cid::Cid;
use fil_fil::car::CarReader;
use fil_fil::chain::{
    tipset_at_or_below, BlockHeader, SnapshotWalk, SnapshotWindow, TipsetKey, WalkError,
};
use fil_fil::devnet::{export_to, DevnetConfig, Node};
use fil_fil::ipld::{is_exported_codec, is_identity, scan_links, DAG_CBOR};
use fil_fil::snapshot::{export, ExportOptions};

fn config(seed: u64) -> DevnetConfig {
    DevnetConfig {
        seed,
        churn_objects: 40,
        null_round_prob: 0.2,
        ..DevnetConfig::default()
    }
}

fn build(seed: u64) -> Node {
    let node = Node::build(config(seed)).expect("build");
    node.mine(10).expect("mine");
    node.reorg(2).expect("reorg");
    node.mine(3).expect("mine");
    node
}

fn dump(node: &Node, epoch: i64) -> Vec<u8> {
    let mut out = Vec::new();
    export_to(node, epoch, &mut out).expect("export");
    out
}

fn read_car(bytes: &[u8]) -> (Vec<Cid>, Vec<(Cid, Vec<u8>)>) {
    let reader = CarReader::new(bytes).expect("car header");
    let roots = reader.header().roots.clone();
    let blocks = reader
        .map(|b| b.expect("verified block"))
        .map(|b| (b.cid, b.data))
        .collect();
    (roots, blocks)
}

#[test]
fn same_seed_gives_same_bytes() {
    let a = build(21);
    let b = build(21);
    let height = a.head().tipset.height;
    assert_eq!(dump(&a, height), dump(&b, height));
    let c = build(22);
    assert_ne!(dump(&a, height), dump(&c, c.head().tipset.height));
}

/// Prefill inside a rayon pool of `threads` workers: the churn's parallel
/// sections must not let scheduling leak into the chain.
fn prefill_with_threads(threads: usize) -> (Vec<u8>, Cid) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    pool.install(|| {
        let node = Node::build(DevnetConfig {
            seed: 9,
            churn_objects: 600,
            prefill_epochs: 6,
            ..DevnetConfig::default()
        })
        .expect("prefill");
        let head = node.head();
        (dump(&node, head.tipset.height), head.state_after)
    })
}

#[test]
fn prefill_is_the_same_on_one_thread_and_on_several() {
    let (one, state_one) = prefill_with_threads(1);
    let (two, state_two) = prefill_with_threads(2);
    let (three, state_three) = prefill_with_threads(3);
    assert_eq!(state_one, state_two);
    assert_eq!(state_one, state_three);
    assert!(
        one == two && one == three,
        "full dumps differ between thread counts"
    );
}

#[test]
fn full_dump_holds_every_header_message_and_state() {
    let node = build(4);
    let head = node.head();
    let (roots, blocks) = read_car(&dump(&node, head.tipset.height));
    assert_eq!(roots, head.tipset.cids);
    let held: HashMap<Cid, Vec<u8>> = blocks.iter().cloned().collect();
    assert_eq!(held.len(), blocks.len(), "each block written once");

    // Walk headers from the roots to genesis: parents, messages, receipts, state held.
    let mut key = roots.clone();
    let mut tipsets = 0;
    loop {
        let headers: Vec<BlockHeader> = key
            .iter()
            .map(|c| BlockHeader::decode(&held[c]).expect("header"))
            .collect();
        for h in &headers {
            for c in [h.messages, h.parent_message_receipts, h.parent_state_root] {
                assert!(held.contains_key(&c), "height {}: {c} missing", h.height);
            }
        }
        tipsets += 1;
        if headers[0].height == 0 {
            assert!(
                held.contains_key(&headers[0].parents[0]),
                "dummy genesis parent"
            );
            break;
        }
        key = headers[0].parents.clone();
    }
    assert_eq!(tipsets, node.chain.read().len());

    // Closure: every exported-codec link of every dag-cbor block is in the dump.
    for (cid, data) in &blocks {
        if cid.codec() != DAG_CBOR {
            continue;
        }
        scan_links(data, |l| {
            if !is_identity(&l) && is_exported_codec(l.codec()) {
                assert!(held.contains_key(&l), "{cid} links to missing {l}");
            }
        })
        .expect("scannable");
    }

    // A dump at an earlier epoch is rooted there and holds nothing newer.
    let canonical: Vec<_> = node.chain.read().canonical().to_vec();
    let mid = &canonical[canonical.len() / 2];
    let (roots, blocks) = read_car(&dump(&node, mid.tipset.height));
    assert_eq!(roots, mid.tipset.cids);
    for (_, data) in &blocks {
        if let Ok(h) = BlockHeader::decode(data) {
            assert!(h.height <= mid.tipset.height);
        }
    }
}

#[test]
fn replay_serves_a_lotus_export_as_is() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/export40.car"
    );
    let node = Node::build(DevnetConfig {
        from_car: Some(path.into()),
        ..config(0)
    })
    .expect("replay");
    let original = std::fs::read(path).expect("fixture");
    let (roots, blocks) = read_car(&original);
    let head = node.head();
    assert_eq!(head.tipset.cids, roots);
    assert_eq!(head.tipset.height, 39);
    let heights: Vec<i64> = node
        .chain
        .read()
        .canonical()
        .iter()
        .map(|e| e.tipset.height)
        .collect();
    for null in [4, 7, 10, 24, 25, 26, 27] {
        assert!(!heights.contains(&null), "null round {null}");
    }
    // The full dump of a replayed chain holds exactly the export's blocks, in
    // Lotus's walk order: the bytes are the fixture's.
    let dumped = dump(&node, 39);
    let (dump_roots, dump_blocks) = read_car(&dumped);
    assert_eq!(dump_roots, roots);
    let want: HashSet<Cid> = blocks.iter().map(|(c, _)| *c).collect();
    let got: HashSet<Cid> = dump_blocks.iter().map(|(c, _)| *c).collect();
    assert_eq!(got, want);
    assert!(
        dumped == original,
        "dump of replayed export40 differs from the fixture"
    );
}

/// Runs the snapshot engine's validation walk; returns the missing blocks.
fn missing(
    store: &HashMap<Cid, Vec<u8>>,
    head: &TipsetKey,
    height: i64,
    depth: i64,
    skip: bool,
) -> usize {
    let window = SnapshotWindow {
        head_height: height,
        depth,
        skip_old_msgs: skip,
    };
    let mut walk = SnapshotWalk::new(store, head.clone(), window).collect_missing();
    walk.run(|_, _| Ok::<(), WalkError>(())).expect("walk runs");
    walk.missing().len()
}

#[test]
fn full_dump_validates_and_exports_valid_snapshots() {
    let node = build(6);
    let height = node.head().tipset.height;
    let (roots, blocks) = read_car(&dump(&node, height));
    let store: HashMap<Cid, Vec<u8>> = blocks.into_iter().collect();
    let head = TipsetKey::new(roots);
    // Depth = chain length, all messages: nothing the Lotus walk needs is missing.
    assert_eq!(missing(&store, &head, height, height + 1, false), 0);

    // Exporting it at E with depth R gives a snapshot that validates too.
    let (key, e) = tipset_at_or_below(&store, &head, height - 3).expect("tipset at E");
    let options = ExportOptions {
        depth: 4,
        ..ExportOptions::default()
    };
    let (bytes, summary) = export(&store, &key, &options, Vec::new(), &mut |_| {}).expect("export");
    assert_eq!(summary.head_height, e);
    let (roots, blocks) = read_car(&bytes);
    let snapshot: HashMap<Cid, Vec<u8>> = blocks.into_iter().collect();
    assert_eq!(missing(&snapshot, &TipsetKey::new(roots), e, 4, true), 0);
}
