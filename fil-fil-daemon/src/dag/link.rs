//! `link`: take references on DAGs, fetching what is missing.
//!
//! Breadth-first by arrival: missing CIDs are fetched in batches (several in
//! flight); each answered batch is verified and *staged* and its edges classified
//! at once, so the next requests go out without waiting for the level to end.
//! CIDs already held or staged just gain a count and are not descended into. Counts on held blocks are added in place as the walk
//! meets them (one index probe each) and logged; staged blocks are inserted only
//! once the whole walk succeeded. On failure the logged counts are taken back, so
//! the store's blocks and counts end exactly as before (readers may briefly see
//! the higher counts). The writer mutex is held throughout, so no unlink can free
//! a block this walk counted as present; pins may add counts meanwhile, which
//! commutes with everything here, and pin releases wait for the writer.
//!
//! Child ids: a dag-cbor block's record carries its children's arena locations
//! (the id graph the export walks). Each edge's location is learned where its
//! count is taken (held child: the probe that bumps it; new child: its stage
//! index, turned into a location at commit), so no extra index probe is spent.
//!
//! Cost of atomicity: every missing block is held in memory until the commit, so
//! one link of a huge DAG needs its new payload twice for a moment. Bootstrapping a
//! mainnet-sized state in one call should therefore be split (link subtrees as
//! roots, then their parent, then unlink the subtree roots; the benchmark builds
//! its 10^7-object tree that way).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use ahash::AHashMap as HashMap;
use cid::Cid;
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use parking_lot::RwLockWriteGuard;

use super::edges::{push_edges_at, push_root};
use super::error::LinkError;
use super::key::{Key, LinkKind};
use super::source::BlockSource;
use super::store::{DagStore, YIELD_EVERY};
use crate::ipld::{verify_block, ChildIds};

/// What a link added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Blocks fetched and stored.
    pub fetched: u64,
    /// Bytes of those blocks.
    pub fetched_bytes: u64,
    /// References taken on blocks that were already held.
    pub reused: u64,
}

/// A block this link adds: requested (empty `data`) until its batch arrives.
struct Staged {
    cid: Cid,
    kind: LinkKind,
    /// References from the walk (edges and roots).
    rc: u64,
    data: Vec<u8>,
    /// Child references in link order, for blocks that keep a child-id list.
    children: Option<Vec<ChildRef>>,
    /// Where each listed child's CID sits in `data`.
    cid_offsets: Vec<usize>,
}

/// A child as known before commit: a held block's location, or (with
/// [`STAGED`] set) the stage index of a block added by this link.
type ChildRef = u64;
const STAGED: u64 = 1 << 63;

/// A CID to count, with the stage index of the new block whose edge it is.
type Pending = (Cid, LinkKind, Option<usize>);

#[derive(Default)]
struct Stage {
    blocks: Vec<Staged>,
    index: HashMap<Key, usize>,
    /// References already added to held blocks, one entry per reference, to be
    /// taken back if the link fails.
    increments: Vec<Key>,
}

fn check_kind(cid: &Cid, held: LinkKind, requested: LinkKind) -> Result<(), LinkError> {
    if held == requested {
        Ok(())
    } else {
        Err(LinkError::KindConflict {
            cid: *cid,
            held,
            requested,
        })
    }
}

/// Keys looked up together so their cache misses overlap.
const TOUCH_BATCH: usize = 32;

/// Smallest batch worth splitting a known set of CIDs into.
const MIN_SPLIT: usize = 32;

// An `async fn` rather than a closure: the closure form makes the link future
// fail `Send` (higher-ranked lifetimes), and the daemon must be able to spawn it.
async fn fetch_batch(
    source: &dyn BlockSource,
    chunk: Vec<Cid>,
) -> Result<(Vec<Cid>, Vec<Option<Vec<u8>>>), LinkError> {
    let blocks = source
        .get_many(&chunk)
        .await
        .map_err(|source| LinkError::Source {
            cid: chunk[0],
            batch: chunk.len(),
            source,
        })?;
    Ok((chunk, blocks))
}

impl DagStore {
    /// Takes one reference on `root` (edge policy `kind`), fetching whatever of
    /// its DAG is not held from `source`. All or nothing.
    pub async fn link(
        &self,
        root: Cid,
        kind: LinkKind,
        source: &dyn BlockSource,
    ) -> Result<LinkStats, LinkError> {
        self.link_many(&[(root, kind)], source).await
    }

    /// Like [`DagStore::link`] for several roots in one walk (one commit, batches
    /// shared across roots): what the daemon does per applied tipset.
    pub async fn link_many(
        &self,
        roots: &[(Cid, LinkKind)],
        source: &dyn BlockSource,
    ) -> Result<LinkStats, LinkError> {
        let _writer = self.shared.writer.lock().await;
        self.apply_deferred();
        let result = self.walk_and_commit(roots, source).await;
        self.apply_deferred();
        let counter = match result {
            Ok(_) => &self.shared.counters.links,
            Err(_) => &self.shared.counters.failed_links,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    async fn walk_and_commit(
        &self,
        roots: &[(Cid, LinkKind)],
        source: &dyn BlockSource,
    ) -> Result<LinkStats, LinkError> {
        let mut expanded = Vec::new();
        for (cid, kind) in roots {
            push_root(cid, *kind, &mut expanded)
                .map_err(|source| LinkError::Edges { cid: *cid, source })?;
        }
        let level = expanded.into_iter().map(|(c, k)| (c, k, None)).collect();
        let mut stage = Stage::default();
        let walked = self.walk(&mut stage, level, source).await;
        match walked.and_then(|()| self.commit(&mut stage)) {
            Ok(stats) => Ok(stats),
            Err(err) => {
                self.take_back(&stage.increments);
                Err(err)
            }
        }
    }

    /// Breadth-first by arrival rather than by level: each answered batch is
    /// staged and its edges classified at once, and new requests go out whenever
    /// a slot frees up, so fetching never waits for a whole level to finish (a
    /// state tree is a handful of levels; draining the pipe between them costs a
    /// round trip each).
    async fn walk(
        &self,
        stage: &mut Stage,
        level: Vec<Pending>,
        source: &dyn BlockSource,
    ) -> Result<(), LinkError> {
        let config = &self.shared.config;
        let batch_size = config.batch_size.max(1);
        let max_in_flight = config.max_in_flight.max(1);
        let mut wanted: VecDeque<Cid> = self.classify(stage, level)?.into();
        let mut in_flight = FuturesUnordered::new();
        let mut edges = Vec::new();
        loop {
            while in_flight.len() < max_in_flight && !wanted.is_empty() {
                // Spread what is known over the free slots, but not into
                // batches so small that per-request costs dominate.
                let free = max_in_flight - in_flight.len();
                let n = wanted
                    .len()
                    .div_ceil(free)
                    .max(MIN_SPLIT)
                    .min(batch_size)
                    .min(wanted.len());
                let chunk: Vec<Cid> = wanted.drain(..n).collect();
                in_flight.push(fetch_batch(source, chunk));
            }
            let Some(answer) = in_flight.next().await else {
                break;
            };
            let (chunk, blocks) = answer?;
            let next = self.stage_batch(stage, &chunk, blocks, &mut edges)?;
            wanted.extend(self.classify(stage, next)?);
        }
        Ok(())
    }

    /// Undoes the count increments of a failed link. They never reach zero (each
    /// was added on top of a live count), so nothing is freed.
    fn take_back(&self, increments: &[Key]) {
        let mut state = self.shared.state.write();
        for (i, key) in increments.iter().enumerate() {
            state.bump(key, -1);
            if (i + 1) % YIELD_EVERY == 0 {
                RwLockWriteGuard::bump(&mut state);
            }
        }
    }

    /// Counts references to held/staged blocks, noting each edge's child in its
    /// parent's list; returns the CIDs to fetch.
    fn classify(&self, stage: &mut Stage, level: Vec<Pending>) -> Result<Vec<Cid>, LinkError> {
        let mut wanted = Vec::new();
        // Edges to held blocks are counted in place right away (one index probe
        // instead of a probe now and another at commit) and logged for undo. Held
        // blocks cannot disappear meanwhile: unlinks wait for the writer mutex.
        let mut state = self.shared.state.write();
        let mut keys = Vec::with_capacity(TOUCH_BATCH);
        for (n, batch) in level.chunks(TOUCH_BATCH).enumerate() {
            if n % (YIELD_EVERY / TOUCH_BATCH) == 0 {
                RwLockWriteGuard::bump(&mut state);
            }
            keys.clear();
            keys.extend(batch.iter().map(|(cid, _, _)| Key::of(cid)));
            state.touch(keys.iter());
            for ((cid, kind, parent), key) in batch.iter().zip(keys.drain(..)) {
                let kind = *kind;
                let child = if let Some(entry) = state.bump(&key, 1) {
                    if entry.kind != kind {
                        state.bump(&key, -1);
                    }
                    check_kind(cid, entry.kind, kind)?;
                    stage.increments.push(key);
                    entry.loc
                } else if let Some(&i) = stage.index.get(&key) {
                    let staged = &mut stage.blocks[i];
                    check_kind(cid, staged.kind, kind)?;
                    staged.rc += 1;
                    STAGED | i as u64
                } else {
                    let i = stage.blocks.len();
                    stage.blocks.push(Staged {
                        cid: *cid,
                        kind,
                        rc: 1,
                        data: Vec::new(),
                        children: None,
                        cid_offsets: Vec::new(),
                    });
                    stage.index.insert(key, i);
                    wanted.push(*cid);
                    STAGED | i as u64
                };
                if let Some(list) = parent.and_then(|p| stage.blocks[p].children.as_mut()) {
                    list.push(child);
                }
            }
        }
        Ok(wanted)
    }

    /// Verifies and stages one answered batch; returns its blocks' edges.
    fn stage_batch(
        &self,
        stage: &mut Stage,
        chunk: &[Cid],
        blocks: Vec<Option<Vec<u8>>>,
        edges: &mut Vec<(Cid, LinkKind)>,
    ) -> Result<Vec<Pending>, LinkError> {
        let spine = self.shared.config.spine.as_deref();
        let mut next = Vec::new();
        for (cid, data) in chunk.iter().zip(blocks) {
            let data = data.ok_or(LinkError::Missing { cid: *cid })?;
            verify_block(cid, &data).map_err(|source| LinkError::Verify { cid: *cid, source })?;
            let Some(&i) = stage.index.get(&Key::of(cid)) else {
                // Only requested CIDs are fetched; a source answering for
                // another CID was caught by the hash check above.
                return Err(LinkError::Missing { cid: *cid });
            };
            let staged = &mut stage.blocks[i];
            edges.clear();
            let listed = push_edges_at(
                cid,
                staged.kind,
                &data,
                spine,
                edges,
                Some(&mut staged.cid_offsets),
            )
            .map_err(|source| LinkError::Edges { cid: *cid, source })?;
            staged.children = listed.then(|| Vec::with_capacity(edges.len()));
            staged.data = data;
            next.extend(edges.drain(..).map(|(c, k)| (c, k, Some(i))));
        }
        Ok(next)
    }

    /// Puts every staged block in the arena, then fills in child ids (which may
    /// name blocks allocated later in the first pass) and indexes each block.
    fn commit(&self, stage: &mut Stage) -> Result<LinkStats, LinkError> {
        let fetched_bytes: usize = stage.blocks.iter().map(|s| s.data.len()).sum();
        let record_bytes: usize = stage
            .blocks
            .iter()
            .map(|s| 16 + s.data.len() + s.children.as_ref().map_or(0, Vec::len) * ChildIds::WIDTH)
            .sum();
        let mut state = self.shared.state.write();
        if !state.arena.has_room_for(record_bytes) {
            return Err(LinkError::Full {
                bytes: fetched_bytes,
                source: super::arena::ArenaFull,
            });
        }
        // Records are allocated in export walk order; `locs` is by stage index.
        let order = walk_order(&stage.blocks);
        let mut locs = vec![0u64; stage.blocks.len()];
        for (n, &i) in order.iter().enumerate() {
            let Some(staged) = stage.blocks.get(i) else {
                continue;
            };
            let children = staged.children.as_ref().map(Vec::len);
            match state.alloc_record(&staged.data, children) {
                Ok(loc) => locs[i] = loc,
                Err(source) => {
                    // has_room_for guarantees space; undo rather than leave a
                    // half-committed store if it was wrong.
                    tracing::error!(cid = %staged.cid, %source, "arena full during commit");
                    for &done in &order[..n] {
                        state.arena.free(locs[done]);
                    }
                    return Err(LinkError::Full {
                        bytes: fetched_bytes,
                        source,
                    });
                }
            }
            if (n + 1) % YIELD_EVERY == 0 {
                // New records are not indexed yet, so readers cannot reach them.
                RwLockWriteGuard::bump(&mut state);
            }
        }
        let fetched = stage.blocks.len() as u64;
        for (n, (staged, &loc)) in stage.blocks.drain(..).zip(&locs).enumerate() {
            if (n + 1) % YIELD_EVERY == 0 {
                RwLockWriteGuard::bump(&mut state);
            }
            if let Some(children) = &staged.children {
                let ids = children.iter().map(|&c| match c & STAGED {
                    0 => c,
                    _ => locs.get((c & !STAGED) as usize).copied().unwrap_or(0),
                });
                state.set_children(loc, ids.zip(staged.cid_offsets.iter().copied()));
            }
            state.index(&Key::of(&staged.cid), staged.kind, staged.rc, loc);
        }
        stage.index.clear();
        self.shared
            .counters
            .blocks_added
            .fetch_add(fetched, Ordering::Relaxed);
        Ok(LinkStats {
            fetched,
            fetched_bytes: fetched_bytes as u64,
            reused: stage.increments.len() as u64,
        })
    }
}

/// Stage indices in the order an export walks the new blocks: depth-first
/// pre-order through the staged children, in link order, each block at its
/// first visit. Allocating records in this order lets the export (and its
/// gather thread) read the arena mostly front to back instead of jumping
/// between the levels a breadth-first link staged together. Parents are staged
/// before their children, so starting a walk at each not-yet-visited index in
/// turn reaches every block.
fn walk_order(blocks: &[Staged]) -> Vec<usize> {
    let mut order = Vec::with_capacity(blocks.len());
    let mut visited = vec![false; blocks.len()];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for start in 0..blocks.len() {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        order.push(start);
        stack.push((start, 0));
        while let Some((i, next)) = stack.last_mut() {
            let children = blocks[*i].children.as_deref().unwrap_or_default();
            let Some(&child) = children.get(*next) else {
                stack.pop();
                continue;
            };
            *next += 1;
            if child & STAGED == 0 {
                continue;
            }
            let c = (child & !STAGED) as usize;
            if c < blocks.len() && !visited[c] {
                visited[c] = true;
                order.push(c);
                stack.push((c, 0));
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(children: &[ChildRef]) -> Staged {
        Staged {
            cid: Cid::default(),
            kind: LinkKind::Dag,
            rc: 1,
            data: Vec::new(),
            children: Some(children.to_vec()),
            cid_offsets: Vec::new(),
        }
    }

    #[test]
    fn new_records_are_ordered_depth_first_in_link_order() {
        // 0 → [1, 2]; 1 → [3, a held block, 4]; 2 → [4 (shared), 5]; 6 is a
        // second root. Stage order is breadth-first, as link stages blocks.
        let held = 77;
        let blocks = vec![
            staged(&[STAGED | 1, STAGED | 2]),
            staged(&[STAGED | 3, held, STAGED | 4]),
            staged(&[STAGED | 4, STAGED | 5]),
            staged(&[]),
            staged(&[]),
            staged(&[]),
            staged(&[]),
        ];
        assert_eq!(walk_order(&blocks), vec![0, 1, 3, 4, 2, 5, 6]);
    }
}
