//! The churn knob means what a user reads: about N new blocks per epoch that
//! the previous epoch did not reach (new state tree nodes, messages, receipts,
//! headers), for small and large N, from the first mined epoch on.

use std::collections::HashSet;

use cid::Cid;
use fil_fil::devnet::{DevnetConfig, Executed, MemStore, Node};
use fil_fil::ipld::{is_exported_codec, is_identity, scan_links};

/// Everything one executed tipset brings to a snapshot: its headers, its
/// messages, its receipts and the state after it.
fn reach(store: &MemStore, e: &Executed) -> HashSet<Cid> {
    let mut seen: HashSet<Cid> = e.tipset.cids.iter().copied().collect();
    let mut stack = vec![e.state_after, e.receipts_after];
    stack.extend(e.tipset.blocks.iter().map(|b| b.messages));
    while let Some(cid) = stack.pop() {
        // Code CIDs are identity hashes: no block to hold or export.
        if !is_exported_codec(cid.codec()) || is_identity(&cid) || !seen.insert(cid) {
            continue;
        }
        let data = store
            .get(&cid)
            .unwrap_or_else(|| panic!("reachable block {cid} is held"));
        scan_links(&data, |l| stack.push(l)).expect("scan");
    }
    seen
}

/// New blocks of each mined tipset relative to its parent.
fn per_epoch_new(churn: usize, epochs: u64, seed: u64) -> Vec<usize> {
    let node = Node::build(DevnetConfig {
        seed,
        churn_objects: churn,
        prefill_epochs: epochs,
        ..DevnetConfig::default()
    })
    .expect("devnet builds");
    let chain = node.chain.read().canonical().to_vec();
    let sets: Vec<HashSet<Cid>> = chain.iter().map(|e| reach(&node.store, e)).collect();
    sets.windows(2)
        .map(|w| w[1].difference(&w[0]).count())
        .collect()
}

#[test]
fn new_reachable_blocks_per_epoch_track_the_churn_knob() {
    for (churn, epochs) in [(300usize, 6u64), (2000, 3)] {
        let counts = per_epoch_new(churn, epochs, 5);
        assert_eq!(counts.len(), epochs as usize);
        for (i, n) in counts.iter().enumerate() {
            let lo = churn * 3 / 4;
            let hi = churn * 5 / 4;
            assert!(
                (lo..=hi).contains(n),
                "churn {churn}: epoch {} added {n} new reachable blocks, want {lo}..={hi} (all: {counts:?})",
                i + 1
            );
        }
    }
}
