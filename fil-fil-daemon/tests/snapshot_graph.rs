//! The export walk over the DAG store's id graph (stored child ids, bitsets)
//! writes exactly the bytes of the CID-set walk over a plain map, which the
//! parity and window tests check against Lotus. Stores are built the way the
//! daemon builds them: headers linked into the spine, messages and state roots
//! as DAGs; also after a checkpoint round trip (ids are re-derived on restore).

#![allow(clippy::unwrap_used)] // a panic is how a test fails

use std::collections::HashMap;
use std::path::Path;

use cid::Cid;
use fil_fil::chain::{tipset_at_or_below, BlockHeader, SnapshotWalk, SnapshotWindow, TipsetKey};
use fil_fil::daemon::blocks::header_parents;
use fil_fil::dag::{DagConfig, DagStore, LinkKind};
use fil_fil::ipld::BlockGet;
use fil_fil::snapshot::synthetic::{generate, SyntheticConfig};
use fil_fil::snapshot::{export, import_to_map, ExportOptions};

type Store = HashMap<Cid, Vec<u8>>;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A DAG store holding `head`'s spine plus every header's messages and parent
/// state (so any window can be exported from it).
fn dag_store(blocks: &Store, head: &TipsetKey) -> DagStore {
    let store = DagStore::new(DagConfig::default().with_spine(header_parents));
    let headers: Vec<BlockHeader> = blocks
        .values()
        .filter_map(|d| BlockHeader::decode(d).ok())
        .collect();
    let mut roots: Vec<(Cid, LinkKind)> =
        head.cids().iter().map(|c| (*c, LinkKind::Spine)).collect();
    for h in &headers {
        roots.push((h.messages, LinkKind::Dag));
        if blocks.contains_key(&h.parent_state_root) {
            roots.push((h.parent_state_root, LinkKind::Dag));
        }
    }
    rt().block_on(store.link_many(&roots, blocks)).unwrap();
    store.check_integrity().unwrap();
    store
}

fn export_bytes(
    store: &(impl BlockGet + ?Sized),
    head: &TipsetKey,
    depth: i64,
    skip: bool,
) -> Result<Vec<u8>, String> {
    let options = ExportOptions {
        depth,
        skip_old_msgs: skip,
        ..ExportOptions::default()
    };
    export(store, head, &options, Vec::new(), &mut |_| {})
        .map(|(bytes, _)| bytes)
        .map_err(|e| e.to_string())
}

fn assert_same_exports(
    map: &Store,
    dag: &DagStore,
    head: &TipsetKey,
    epochs: &[i64],
    windows: &[(i64, bool)],
) {
    assert!(dag.graph().is_some(), "the DAG store walks its id graph");
    let mut exported = 0;
    for &epoch in epochs {
        let (at, _) = tipset_at_or_below(map, head, epoch).unwrap();
        for &(depth, skip) in windows {
            let want = export_bytes(map, &at, depth, skip);
            let got = export_bytes(dag, &at, depth, skip);
            let show = |r: &Result<Vec<u8>, String>| match r {
                Ok(bytes) => format!("{} bytes", bytes.len()),
                Err(err) => err.clone(),
            };
            assert!(
                got == want,
                "epoch {epoch} depth {depth} skip {skip}: {} vs {}",
                show(&got),
                show(&want)
            );
            // The windows above must mostly be exportable to test anything.
            exported += usize::from(want.is_ok());
        }
    }
    assert!(exported * 2 > epochs.len() * windows.len());
}

#[test]
fn real_chain_exports_match_the_map_walk() {
    let path = format!(
        "{}/../../shared/fixtures/export40.car",
        env!("CARGO_MANIFEST_DIR")
    );
    let (map, summary) = import_to_map(Path::new(&path)).unwrap();
    let map: Store = map.into_iter().collect();
    let dag = dag_store(&map, &summary.head);
    assert_same_exports(
        &map,
        &dag,
        &summary.head,
        &[39, 28, 10, 1, 0],
        &[(0, false), (0, true), (5, true), (100, false)],
    );
}

#[test]
fn synthetic_chain_exports_match_the_map_walk_after_checkpoint_too() {
    let chain = generate(&SyntheticConfig {
        epochs: 30,
        actors: 700,
        churn: 6,
        messages_per_block: 3,
        seed: 11,
    });
    let dag = dag_store(&chain.blocks, &chain.head);
    let windows = [(0, false), (4, true), (9, false), (1000, true)];
    assert_same_exports(&chain.blocks, &dag, &chain.head, &[30, 22, 3], &windows);

    let mut bytes = Vec::new();
    rt().block_on(dag.write_checkpoint(&mut bytes)).unwrap();
    let config = DagConfig::default().with_spine(header_parents);
    let (restored, _) = DagStore::read_checkpoint(bytes.as_slice(), config).unwrap();
    assert_same_exports(&chain.blocks, &restored, &chain.head, &[30, 17], &windows);
}

#[test]
fn missing_blocks_are_reported_the_same_way() {
    let chain = generate(&SyntheticConfig {
        epochs: 12,
        actors: 200,
        churn: 3,
        messages_per_block: 2,
        seed: 5,
    });
    // Only the spine: every message and state root is missing.
    let store = DagStore::new(DagConfig::default().with_spine(header_parents));
    let roots: Vec<_> = chain
        .head
        .cids()
        .iter()
        .map(|c| (*c, LinkKind::Spine))
        .collect();
    rt().block_on(store.link_many(&roots, &chain.blocks))
        .unwrap();
    let spine_only: Store = chain
        .blocks
        .iter()
        .filter(|(c, _)| store.has(c))
        .map(|(c, d)| (*c, d.clone()))
        .collect();
    let window = SnapshotWindow {
        head_height: chain.head_height,
        depth: 4,
        skip_old_msgs: false,
    };
    let mut on_map = SnapshotWalk::new(&spine_only, chain.head.clone(), window).collect_missing();
    let map_stats = on_map
        .run(|_, _| Ok::<_, fil_fil::chain::WalkError>(()))
        .unwrap();
    let mut on_dag = SnapshotWalk::new(&store, chain.head.clone(), window).collect_missing();
    let dag_stats = on_dag
        .run(|_, _| Ok::<_, fil_fil::chain::WalkError>(()))
        .unwrap();
    assert_eq!(dag_stats, map_stats);
    assert!(!on_map.missing().is_empty());
    assert_eq!(on_dag.missing(), on_map.missing());
}
