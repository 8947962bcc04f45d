//! Devnet chain content: deterministic from the seed, complete full dumps, and
//! faithful replay of a real Lotus export.

use std::collections::{HashMap, HashSet};

use cid::Cid;
use fil_fil::car::CarReader;
use fil_fil::chain::BlockHeader;
use fil_fil::devnet::{export_to, DevnetConfig, Node};
use fil_fil::ipld::{is_exported_codec, is_identity, scan_links, DAG_CBOR};

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
    // The full dump of a replayed chain holds exactly the export's blocks.
    let (dump_roots, dump_blocks) = read_car(&dump(&node, 39));
    assert_eq!(dump_roots, roots);
    let want: HashSet<Cid> = blocks.iter().map(|(c, _)| *c).collect();
    let got: HashSet<Cid> = dump_blocks.iter().map(|(c, _)| *c).collect();
    assert_eq!(got, want);
}
