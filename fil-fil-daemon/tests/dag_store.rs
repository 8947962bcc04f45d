//! Behaviour of the DAG store: counting, freeing, atomic failures, spine links,
//! pins, identity/commitment handling, checkpoints, and a model-based property
//! test over random DAGs with shared sub-DAGs.

// Tests: a failed unwrap is a failed assertion.
#![allow(clippy::unwrap_used)]

use fil_fil::ipld::write_cbor_header as cbor_uint;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use cid::multihash::Multihash;
use cid::Cid;
use fil_fil::dag::{
    BlockGetSource, BlockSource, DagConfig, DagStore, LinkError, LinkKind, RefError, SourceError,
};
use fil_fil::ipld::{block_cid, BlockGet, DAG_CBOR, IDENTITY, RAW};
use proptest::prelude::*;

type Blocks = HashMap<Cid, Vec<u8>>;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A dag-cbor block `[tag, links...]`.
fn node(tag: u64, links: &[Cid]) -> Vec<u8> {
    let mut out = Vec::new();
    cbor_uint(&mut out, 4, 1 + links.len() as u64);
    cbor_uint(&mut out, 0, tag);
    for link in links {
        let raw = link.to_bytes();
        out.extend([0xd8, 0x2a]);
        cbor_uint(&mut out, 2, raw.len() as u64 + 1);
        out.push(0);
        out.extend(raw);
    }
    out
}

fn add(blocks: &mut Blocks, data: Vec<u8>) -> Cid {
    let cid = block_cid(&data);
    blocks.insert(cid, data);
    cid
}

fn raw_block(blocks: &mut Blocks, data: &[u8]) -> Cid {
    let digest = block_cid(data);
    let cid = Cid::new_v1(RAW, *digest.hash());
    blocks.insert(cid, data.to_vec());
    cid
}

fn small_store() -> DagStore {
    DagStore::new(DagConfig {
        segment_bytes: 256,
        batch_size: 3,
        max_in_flight: 2,
        spine: None,
    })
}

fn snapshot(store: &DagStore) -> Vec<(Cid, u64, LinkKind)> {
    let mut entries = store.entries();
    entries.sort_by_key(|e| e.0.to_bytes());
    entries
}

/// leaf ← mid1, mid2 (both) ← root; raw leaf under mid2.
fn diamond(blocks: &mut Blocks) -> (Cid, Cid, Cid, Cid, Cid) {
    let leaf = add(blocks, node(1, &[]));
    let raw = raw_block(blocks, b"raw payload");
    let mid1 = add(blocks, node(2, &[leaf]));
    let mid2 = add(blocks, node(3, &[leaf, raw]));
    let root = add(blocks, node(4, &[mid1, mid2]));
    (root, mid1, mid2, leaf, raw)
}

#[test]
fn link_counts_edges_and_unlink_frees_everything() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let (root, mid1, mid2, leaf, raw) = diamond(&mut blocks);
        let store = small_store();
        let stats = store.link(root, LinkKind::Dag, &blocks).await.unwrap();
        assert_eq!(stats.fetched, 5);
        assert_eq!(store.len(), 5);
        assert_eq!(store.refcount(&root), 1);
        assert_eq!(store.refcount(&leaf), 2);
        assert_eq!(store.refcount(&raw), 1);
        assert_eq!(
            store.bytes(),
            blocks.values().map(|b| b.len() as u64).sum::<u64>()
        );
        assert_eq!(
            store.with_block(&raw, |b| b.to_vec()),
            Some(b"raw payload".to_vec())
        );

        // Linking a held sub-DAG only counts; nothing is fetched.
        let empty = Blocks::new();
        let again = store.link(mid1, LinkKind::Dag, &empty).await.unwrap();
        assert_eq!((again.fetched, again.reused), (0, 1));
        assert_eq!(store.refcount(&mid1), 2);

        store.unlink(root).await.unwrap();
        assert!(!store.has(&root) && !store.has(&mid2) && !store.has(&raw));
        assert_eq!(store.refcount(&leaf), 1);
        assert_eq!(store.refcount(&mid1), 1);
        store.unlink(mid1).await.unwrap();
        assert!(store.is_empty());
        assert_eq!(store.bytes(), 0);
        assert_eq!(store.memory().arena_live_bytes, 0);
        let c = store.counters();
        assert_eq!(
            (c.links, c.unlinks, c.blocks_added, c.blocks_freed),
            (2, 2, 5, 5)
        );
    });
}

#[test]
fn a_block_naming_a_child_twice_holds_two_references() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let leaf = add(&mut blocks, node(1, &[]));
        let twice = add(&mut blocks, node(2, &[leaf, leaf]));
        let store = small_store();
        store.link(twice, LinkKind::Dag, &blocks).await.unwrap();
        assert_eq!(store.refcount(&leaf), 2);
        store.unlink(twice).await.unwrap();
        assert!(store.is_empty());
    });
}

#[test]
fn unlinking_what_is_not_held_is_refused_without_change() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let (root, ..) = diamond(&mut blocks);
        let store = small_store();
        store.link(root, LinkKind::Dag, &blocks).await.unwrap();
        let before = snapshot(&store);
        let stranger = block_cid(b"\x80");
        assert_eq!(
            store.unlink_many(&[root, stranger]).await,
            Err(RefError::NotHeld {
                cid: stranger,
                times: 1
            })
        );
        assert_eq!(
            store.unlink_many(&[root, root]).await,
            Err(RefError::NotHeld {
                cid: root,
                times: 2
            })
        );
        assert_eq!(snapshot(&store), before);
    });
}

/// A source that fails in a chosen way.
struct Faulty {
    blocks: Blocks,
    fail_on_call: Option<usize>,
    corrupt: Option<Cid>,
    withhold: Option<Cid>,
    calls: AtomicUsize,
}

impl Faulty {
    fn new(blocks: Blocks) -> Self {
        Faulty {
            blocks,
            fail_on_call: None,
            corrupt: None,
            withhold: None,
            calls: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl BlockSource for Faulty {
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.fail_on_call == Some(call) {
            return Err(SourceError::new("connection reset"));
        }
        Ok(cids
            .iter()
            .map(|c| {
                if self.withhold == Some(*c) {
                    return None;
                }
                let mut data = self.blocks.get(c).cloned()?;
                if self.corrupt == Some(*c) {
                    data.push(0);
                }
                Some(data)
            })
            .collect())
    }
}

#[test]
fn failed_links_roll_back_and_name_the_block() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let (root, _, mid2, leaf, raw) = diamond(&mut blocks);
        let store = small_store();
        let shared = add(&mut blocks, node(9, &[leaf]));
        store.link(shared, LinkKind::Dag, &blocks).await.unwrap();
        let before = snapshot(&store);

        let mut src = Faulty::new(blocks.clone());
        src.corrupt = Some(raw);
        match store.link(root, LinkKind::Dag, &src).await {
            Err(LinkError::Verify { cid, .. }) => assert_eq!(cid, raw),
            other => panic!("expected hash failure, got {other:?}"),
        }
        assert_eq!(snapshot(&store), before);

        let mut src = Faulty::new(blocks.clone());
        src.withhold = Some(mid2);
        match store.link(root, LinkKind::Dag, &src).await {
            Err(LinkError::Missing { cid }) => assert_eq!(cid, mid2),
            other => panic!("expected missing block, got {other:?}"),
        }
        assert_eq!(snapshot(&store), before);

        let mut src = Faulty::new(blocks.clone());
        src.fail_on_call = Some(1);
        assert!(matches!(
            store.link(root, LinkKind::Dag, &src).await,
            Err(LinkError::Source { .. })
        ));
        assert_eq!(snapshot(&store), before);
        assert_eq!(store.counters().failed_links, 3);

        store.link(root, LinkKind::Dag, &blocks).await.unwrap();
        assert_eq!(store.refcount(&leaf), 3);
    });
}

#[test]
fn identity_links_are_looked_through_and_commitments_skipped() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let target = add(&mut blocks, node(1, &[]));
        let inline = node(2, &[target]);
        let identity = Cid::new_v1(DAG_CBOR, Multihash::<64>::wrap(IDENTITY, &inline).unwrap());
        let raw_identity = Cid::new_v1(RAW, Multihash::<64>::wrap(IDENTITY, b"hi").unwrap());
        let sealed = Cid::new_v1(0xf102, Multihash::<64>::wrap(0x1012, &[7; 32]).unwrap());
        let root = add(&mut blocks, node(3, &[identity, raw_identity, sealed]));
        let store = small_store();
        let src = Faulty::new(blocks.clone());
        store.link(root, LinkKind::Dag, &src).await.unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(store.refcount(&target), 1);
        assert!(!store.has(&identity));
        assert_eq!(store.with_block(&identity, |_| ()), None);

        // An identity root is looked through too.
        store.link(identity, LinkKind::Dag, &src).await.unwrap();
        assert_eq!(store.refcount(&target), 2);
        store.unlink(identity).await.unwrap();
        store.unlink(root).await.unwrap();
        assert!(store.is_empty());
    });
}

/// Test headers are `node(height, parents ++ [state])`: the spine is every link
/// but the last.
fn spine_selector(_: &Cid, data: &[u8], out: &mut Vec<Cid>) -> Result<(), String> {
    let mut links = Vec::new();
    fil_fil::ipld::scan_links(data, |c| links.push(c)).map_err(|e| e.to_string())?;
    links.pop();
    out.extend(links);
    Ok(())
}

#[test]
fn spine_links_hold_parents_but_not_state() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let mut parent: Vec<Cid> = Vec::new();
        let mut headers = Vec::new();
        let mut states = Vec::new();
        for height in 0..5 {
            let state = add(&mut blocks, node(100 + height, &[]));
            let mut links = parent.clone();
            links.push(state);
            let header = add(&mut blocks, node(height, &links));
            parent = vec![header];
            headers.push(header);
            states.push(state);
        }
        let config = DagConfig {
            segment_bytes: 256,
            ..DagConfig::default()
        }
        .with_spine(spine_selector);
        let store = DagStore::new(config);
        let head = headers[4];
        store.link(head, LinkKind::Spine, &blocks).await.unwrap();
        assert_eq!(store.len(), 5);
        assert!(headers
            .iter()
            .all(|h| store.kind(h) == Some(LinkKind::Spine)));
        assert!(states.iter().all(|s| !store.has(s)));

        // The head's state linked separately is a normal DAG link.
        store.link(states[4], LinkKind::Dag, &blocks).await.unwrap();
        assert!(matches!(
            store.link(headers[2], LinkKind::Dag, &blocks).await,
            Err(LinkError::KindConflict {
                held: LinkKind::Spine,
                requested: LinkKind::Dag,
                ..
            })
        ));
        // A conflict found deeper in the walk takes back the counts added before it.
        let mixed = add(&mut blocks, node(77, &[states[4], headers[1]]));
        let before = snapshot(&store);
        assert!(matches!(
            store.link(mixed, LinkKind::Dag, &blocks).await,
            Err(LinkError::KindConflict { .. })
        ));
        assert_eq!(snapshot(&store), before);
        store.check_integrity().unwrap();
        store.unlink(head).await.unwrap();
        assert_eq!(store.len(), 1);
        store.unlink(states[4]).await.unwrap();
        assert!(store.is_empty());
    });
}

#[test]
fn spine_links_need_a_selector() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let header = add(&mut blocks, node(0, &[]));
        let store = small_store();
        assert!(matches!(
            store.link(header, LinkKind::Spine, &blocks).await,
            Err(LinkError::Edges { .. })
        ));
        assert!(store.is_empty());
    });
}

#[test]
fn pins_keep_blocks_alive_until_dropped() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let (root, mid1, _, leaf, _) = diamond(&mut blocks);
        let store = small_store();
        store.link(root, LinkKind::Dag, &blocks).await.unwrap();
        let pin = store.pin(&[root]).unwrap();
        assert_eq!(pin.cids(), vec![root]);
        store.unlink(root).await.unwrap();
        assert_eq!(store.len(), 5, "pinned DAG survives the unlink");
        assert_eq!(
            store.with_block(&leaf, |b| b.len()),
            Some(blocks[&leaf].len())
        );
        drop(pin);
        assert!(store.is_empty());
        assert_eq!(
            store.pin(&[mid1]).unwrap_err(),
            RefError::NotHeld {
                cid: mid1,
                times: 1
            }
        );
    });
}

/// A source that blocks until told to continue, to hold a link in flight.
struct Gated {
    blocks: Blocks,
    gate: tokio::sync::Notify,
    entered: tokio::sync::Notify,
}

#[async_trait]
impl BlockSource for Gated {
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        self.entered.notify_one();
        self.gate.notified().await;
        Ok(cids.iter().map(|c| self.blocks.get(c).cloned()).collect())
    }
}

#[test]
fn a_pin_dropped_during_a_link_is_released_afterwards() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let (root, mid1, _, leaf, _) = diamond(&mut blocks);
        let other = add(&mut blocks, node(7, &[leaf]));
        let store = small_store();
        store.link(root, LinkKind::Dag, &blocks).await.unwrap();
        let pin = store.pin(&[root]).unwrap();
        store.unlink(root).await.unwrap();

        let gated = std::sync::Arc::new(Gated {
            blocks: blocks.clone(),
            gate: tokio::sync::Notify::new(),
            entered: tokio::sync::Notify::new(),
        });
        let linking = {
            let store = store.clone();
            let gated = gated.clone();
            tokio::spawn(async move { store.link(other, LinkKind::Dag, &gated).await })
        };
        gated.entered.notified().await;
        drop(pin); // writer busy: release is queued, nothing freed under the link
        assert_eq!(store.len(), 5);
        gated.gate.notify_one();
        linking.await.unwrap().unwrap();
        // The link counted `leaf` as held; after the queued release it survives
        // through `other`, everything else from the old DAG is gone.
        assert_eq!(snapshot(&store).len(), 2);
        assert_eq!(store.refcount(&leaf), 1);
        assert!(!store.has(&mid1));
        store.check_integrity().unwrap();
    });
}

#[test]
fn another_store_is_a_block_source() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let (root, ..) = diamond(&mut blocks);
        let first = small_store();
        first.link(root, LinkKind::Dag, &blocks).await.unwrap();
        let second = DagStore::default();
        second
            .link(root, LinkKind::Dag, &BlockGetSource(first.clone()))
            .await
            .unwrap();
        assert_eq!(snapshot(&first), snapshot(&second));
    });
}

#[test]
fn checkpoints_restore_the_exact_store_and_reject_damage() {
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let (root, mid1, ..) = diamond(&mut blocks);
        let header = add(&mut blocks, node(5, &[mid1]));
        let config = DagConfig {
            segment_bytes: 256,
            ..DagConfig::default()
        }
        .with_spine(spine_selector);
        let store = DagStore::new(config.clone());
        store.link(root, LinkKind::Dag, &blocks).await.unwrap();
        store.link(header, LinkKind::Spine, &blocks).await.unwrap();
        let pin = store.pin(&[mid1]).unwrap();
        let mut bytes = Vec::new();
        store.write_checkpoint(&mut bytes).await.unwrap();

        let (restored, pins) = DagStore::read_checkpoint(bytes.as_slice(), config.clone()).unwrap();
        assert_eq!(snapshot(&restored), snapshot(&store));
        assert_eq!(pins.len(), 1);
        assert_eq!(pins[0].cids(), vec![mid1]);
        drop(pins);
        drop(pin);
        assert_eq!(snapshot(&restored), snapshot(&store));

        for at in [0, 9, bytes.len() / 2, bytes.len() - 1] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            assert!(
                DagStore::read_checkpoint(damaged.as_slice(), config.clone()).is_err(),
                "flip at {at}"
            );
        }
        let truncated = &bytes[..bytes.len() - 10];
        assert!(DagStore::read_checkpoint(truncated, config.clone()).is_err());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dag.ckpt");
        store.save_checkpoint(&path).await.unwrap();
        let (loaded, _) = DagStore::load_checkpoint(&path, config).unwrap();
        assert_eq!(snapshot(&loaded), snapshot(&store));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    });
}

#[test]
fn batches_respect_the_configured_size() {
    struct Recording(Blocks, Mutex<Vec<usize>>);
    #[async_trait]
    impl BlockSource for Recording {
        async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
            self.1.lock().unwrap().push(cids.len());
            Ok(cids.iter().map(|c| self.0.get(c).cloned()).collect())
        }
    }
    rt().block_on(async {
        let mut blocks = Blocks::new();
        let leaves: Vec<Cid> = (0..10).map(|i| add(&mut blocks, node(i, &[]))).collect();
        let root = add(&mut blocks, node(99, &leaves));
        let src = Recording(blocks, Mutex::new(Vec::new()));
        let store = small_store();
        store.link(root, LinkKind::Dag, &src).await.unwrap();
        assert_eq!(*src.1.lock().unwrap(), vec![1, 3, 3, 3, 1]);
    });
}

// ---- model-based property test ------------------------------------------------

#[derive(Debug, Clone)]
struct Dag {
    /// Children of node i (indices < i, duplicates allowed); None = raw leaf.
    children: Vec<Option<Vec<usize>>>,
}

fn dag_strategy() -> impl Strategy<Value = Dag> {
    (4usize..24).prop_flat_map(|n| {
        proptest::collection::vec(
            (
                any::<bool>(),
                proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
            ),
            n,
        )
        .prop_map(|nodes| Dag {
            children: nodes
                .into_iter()
                .enumerate()
                .map(|(i, (raw, picks))| {
                    if i == 0 || raw && i % 3 == 0 {
                        if raw {
                            None
                        } else {
                            Some(vec![])
                        }
                    } else {
                        Some(picks.iter().map(|p| p.index(i)).collect())
                    }
                })
                .collect(),
        })
    })
}

#[derive(Debug, Clone)]
enum Op {
    Link(prop::sample::Index),
    Unlink(prop::sample::Index),
    Pin(prop::sample::Index),
    Unpin(prop::sample::Index),
    FailLink(prop::sample::Index, prop::sample::Index, u8),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<prop::sample::Index>().prop_map(Op::Link),
        2 => any::<prop::sample::Index>().prop_map(Op::Unlink),
        1 => any::<prop::sample::Index>().prop_map(Op::Pin),
        1 => any::<prop::sample::Index>().prop_map(Op::Unpin),
        1 => (any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0u8..3)
            .prop_map(|(a, b, m)| Op::FailLink(a, b, m)),
    ]
}

fn build(dag: &Dag) -> (Vec<Cid>, Blocks) {
    let mut blocks = Blocks::new();
    let mut cids: Vec<Cid> = Vec::new();
    for (i, children) in dag.children.iter().enumerate() {
        let cid = match children {
            None => raw_block(&mut blocks, &(i as u64).to_le_bytes()),
            Some(kids) => {
                let links: Vec<Cid> = kids.iter().map(|k| cids[*k]).collect();
                add(&mut blocks, node(i as u64, &links))
            }
        };
        cids.push(cid);
    }
    (cids, blocks)
}

/// Expected (cid → count) for the given root references.
fn expected(dag: &Dag, cids: &[Cid], roots: &HashMap<usize, u64>) -> Vec<(Cid, u64)> {
    let mut held = vec![false; cids.len()];
    let mut stack: Vec<usize> = roots
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(i, _)| *i)
        .collect();
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut held[i], true) {
            stack.extend(dag.children[i].iter().flatten());
        }
    }
    let mut counts = vec![0u64; cids.len()];
    for (i, n) in roots {
        counts[*i] += n;
    }
    for (i, kids) in dag.children.iter().enumerate() {
        if held[i] {
            for k in kids.iter().flatten() {
                counts[*k] += 1;
            }
        }
    }
    let mut out: Vec<_> = (0..cids.len())
        .filter(|i| held[*i])
        .map(|i| (cids[i], counts[i]))
        .collect();
    out.sort_by_key(|e| e.0.to_bytes());
    out
}

fn counts(store: &DagStore) -> Vec<(Cid, u64)> {
    snapshot(store)
        .into_iter()
        .map(|(c, n, _)| (c, n))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn counts_track_edges_links_and_pins(dag in dag_strategy(), ops in proptest::collection::vec(op_strategy(), 1..40)) {
        let (cids, blocks) = build(&dag);
        let n = cids.len();
        rt().block_on(async {
            let store = small_store();
            let mut roots: HashMap<usize, u64> = HashMap::new();
            let mut links: Vec<usize> = Vec::new();
            let mut pins = Vec::new();
            for op in &ops {
                match op {
                    Op::Link(i) => {
                        let i = i.index(n);
                        store.link(cids[i], LinkKind::Dag, &blocks).await.unwrap();
                        links.push(i);
                        *roots.entry(i).or_default() += 1;
                    }
                    Op::Unlink(i) if !links.is_empty() => {
                        let i = links.swap_remove(i.index(links.len()));
                        store.unlink(cids[i]).await.unwrap();
                        *roots.entry(i).or_default() -= 1;
                    }
                    Op::Unlink(i) => {
                        let i = i.index(n);
                        if store.refcount(&cids[i]) == 0 {
                            prop_assert!(store.unlink(cids[i]).await.is_err());
                        }
                    }
                    Op::Pin(i) => {
                        let i = i.index(n);
                        match store.pin(&[cids[i]]) {
                            Ok(guard) => {
                                pins.push((i, guard));
                                *roots.entry(i).or_default() += 1;
                            }
                            Err(_) => prop_assert!(!store.has(&cids[i])),
                        }
                    }
                    Op::Unpin(k) if !pins.is_empty() => {
                        let (i, guard) = pins.swap_remove(k.index(pins.len()));
                        drop(guard);
                        *roots.entry(i).or_default() -= 1;
                    }
                    Op::Unpin(_) => {}
                    Op::FailLink(i, at, mode) => {
                        let i = i.index(n);
                        let mut src = Faulty::new(blocks.clone());
                        match mode {
                            0 => src.fail_on_call = Some(at.index(4)),
                            1 => src.corrupt = Some(cids[at.index(n)]),
                            _ => src.withhold = Some(cids[at.index(n)]),
                        }
                        let before = snapshot(&store);
                        match store.link(cids[i], LinkKind::Dag, &src).await {
                            Ok(_) => {
                                links.push(i);
                                *roots.entry(i).or_default() += 1;
                            }
                            Err(_) => prop_assert_eq!(snapshot(&store), before),
                        }
                    }
                }
                prop_assert_eq!(counts(&store), expected(&dag, &cids, &roots));
                let report = store.check_integrity().unwrap();
                prop_assert_eq!(report.pinned, pins.len() as u64);
            }
            for i in links {
                store.unlink(cids[i]).await.unwrap();
            }
            drop(pins);
            prop_assert!(store.is_empty());
            prop_assert_eq!(store.bytes(), 0);
            prop_assert_eq!(store.memory().arena_live_bytes, 0);
            Ok(())
        })?;
    }
}

// ---- real chain ---------------------------------------------------------------

fn header_parents(_: &Cid, data: &[u8], out: &mut Vec<Cid>) -> Result<(), String> {
    // The genesis dummy parent is not a header: it has no spine edges.
    if let Ok(header) = fil_fil::chain::BlockHeader::decode(data) {
        out.extend(header.parents);
    }
    Ok(())
}

/// Linking a real Lotus export the way the daemon will (head tipset into the
/// spine, every header's messages, genesis state) holds exactly the export's
/// blocks; unlinking it all frees everything; a checkpoint restores it.
#[test]
fn a_real_chain_export_is_reproduced_by_spine_and_dag_links() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/export40.car"
    );
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let reader = fil_fil::car::CarReader::new(file).unwrap();
    let head = reader.header().roots.clone();
    let blocks: Blocks = reader
        .map(|b| b.unwrap())
        .map(|b| (b.cid, b.data))
        .collect();
    rt().block_on(async {
        let config = DagConfig::default().with_spine(header_parents);
        let store = DagStore::new(config.clone());
        let roots: Vec<_> = head.iter().map(|c| (*c, LinkKind::Spine)).collect();
        store.link_many(&roots, &blocks).await.unwrap();
        let headers: Vec<_> = store
            .entries()
            .into_iter()
            .filter_map(|(cid, _, _)| {
                let header = fil_fil::chain::BlockHeader::decode(&blocks[&cid]).ok()?;
                Some((cid, header))
            })
            .collect();
        assert!(headers.len() >= 40);
        assert_eq!(
            store.len(),
            headers.len() + 1,
            "headers plus the genesis dummy parent"
        );

        let mut dag_roots: Vec<_> = headers
            .iter()
            .map(|(_, h)| (h.messages, LinkKind::Dag))
            .collect();
        let genesis = headers.iter().find(|(_, h)| h.height == 0).unwrap();
        dag_roots.push((genesis.1.parent_state_root, LinkKind::Dag));
        store.link_many(&dag_roots, &blocks).await.unwrap();

        let mut held: Vec<Cid> = store.entries().into_iter().map(|e| e.0).collect();
        let mut expected: Vec<Cid> = blocks.keys().copied().collect();
        held.sort_by_key(|c| c.to_bytes());
        expected.sort_by_key(|c| c.to_bytes());
        assert_eq!(held, expected);
        let report = store.check_integrity().unwrap();
        assert_eq!(report.root_links, (roots.len() + dag_roots.len()) as u64);

        let mut bytes = Vec::new();
        store.write_checkpoint(&mut bytes).await.unwrap();
        let (restored, _) = DagStore::read_checkpoint(bytes.as_slice(), config).unwrap();
        assert_eq!(snapshot(&restored), snapshot(&store));

        let all: Vec<Cid> = roots.iter().chain(&dag_roots).map(|r| r.0).collect();
        store.unlink_many(&all).await.unwrap();
        assert!(store.is_empty());
    });
}
