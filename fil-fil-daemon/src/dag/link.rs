//! `link`: take references on DAGs, fetching what is missing.
//!
//! Breadth-first: each level's missing CIDs are fetched in batches (several in
//! flight), verified and *staged*; CIDs already held or staged just gain a count
//! and are not descended into. Counts on held blocks are added in place as the walk
//! meets them (one index probe each) and logged; staged blocks are inserted only
//! once the whole walk succeeded. On failure the logged counts are taken back, so
//! the store's blocks and counts end exactly as before (readers may briefly see
//! the higher counts). The writer mutex is held throughout, so no unlink can free
//! a block this walk counted as present; pins may add counts meanwhile, which
//! commutes with everything here, and pin releases wait for the writer.
//!
//! Cost of atomicity: every missing block is held in memory until the commit, so
//! one link of a huge DAG needs its new payload twice for a moment. Bootstrapping a
//! mainnet-sized state in one call should therefore be split (link subtrees as
//! roots, then their parent, then unlink the subtree roots; the benchmark builds
//! its 10^7-object tree that way).

use std::sync::atomic::Ordering;

use ahash::AHashMap as HashMap;
use cid::Cid;
use futures::stream::FuturesOrdered;
use futures::StreamExt;
use parking_lot::RwLockWriteGuard;

use super::edges::{push_edges, push_root};
use super::error::LinkError;
use super::key::{Key, LinkKind};
use super::source::BlockSource;
use super::store::{DagStore, YIELD_EVERY};
use crate::ipld::verify_block;

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

struct Staged {
    cid: Cid,
    kind: LinkKind,
    rc: u64,
    data: Vec<u8>,
}

#[derive(Default)]
struct Stage {
    new: HashMap<Key, Staged>,
    /// Requested this level, not fetched yet: kind and extra references.
    wanted: HashMap<Key, (LinkKind, u64)>,
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

async fn fetch_batch<'a>(
    source: &'a dyn BlockSource,
    chunk: &'a [Cid],
) -> Result<(&'a [Cid], Vec<Option<Vec<u8>>>), LinkError> {
    let blocks = source
        .get_many(chunk)
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
        let mut level = Vec::new();
        for (cid, kind) in roots {
            push_root(cid, *kind, &mut level)
                .map_err(|source| LinkError::Edges { cid: *cid, source })?;
        }
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

    async fn walk(
        &self,
        stage: &mut Stage,
        mut level: Vec<(Cid, LinkKind)>,
        source: &dyn BlockSource,
    ) -> Result<(), LinkError> {
        while !level.is_empty() {
            let wanted = self.classify(stage, std::mem::take(&mut level))?;
            level = self.fetch_level(stage, &wanted, source).await?;
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

    /// Counts references to held/staged blocks; returns the CIDs to fetch.
    fn classify(
        &self,
        stage: &mut Stage,
        level: Vec<(Cid, LinkKind)>,
    ) -> Result<Vec<Cid>, LinkError> {
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
            keys.extend(batch.iter().map(|(cid, _)| Key::of(cid)));
            state.touch(keys.iter());
            for ((cid, kind), key) in batch.iter().zip(keys.drain(..)) {
                let kind = *kind;
                if let Some(entry) = state.bump(&key, 1) {
                    if entry.kind != kind {
                        state.bump(&key, -1);
                    }
                    check_kind(cid, entry.kind, kind)?;
                    stage.increments.push(key);
                } else if let Some(staged) = stage.new.get_mut(&key) {
                    check_kind(cid, staged.kind, kind)?;
                    staged.rc += 1;
                } else if let Some((held, extra)) = stage.wanted.get_mut(&key) {
                    check_kind(cid, *held, kind)?;
                    *extra += 1;
                } else {
                    stage.wanted.insert(key, (kind, 0));
                    wanted.push(*cid);
                }
            }
        }
        Ok(wanted)
    }

    /// Fetches, verifies and stages `wanted`; returns the next level's edges.
    async fn fetch_level(
        &self,
        stage: &mut Stage,
        wanted: &[Cid],
        source: &dyn BlockSource,
    ) -> Result<Vec<(Cid, LinkKind)>, LinkError> {
        let config = &self.shared.config;
        let spine = config.spine.as_deref();
        let mut next = Vec::new();
        // A hand-rolled window instead of `stream::buffered` over a closure: the
        // closure form makes the link future fail `Send` (higher-ranked lifetimes),
        // and the daemon must be able to spawn it.
        let mut chunks = wanted.chunks(config.batch_size.max(1));
        let mut in_flight = FuturesOrdered::new();
        loop {
            while in_flight.len() < config.max_in_flight.max(1) {
                let Some(chunk) = chunks.next() else { break };
                in_flight.push_back(fetch_batch(source, chunk));
            }
            let Some(batch) = in_flight.next().await else {
                break;
            };
            let (chunk, blocks) = batch?;
            for (cid, data) in chunk.iter().zip(blocks) {
                let data = data.ok_or(LinkError::Missing { cid: *cid })?;
                verify_block(cid, &data)
                    .map_err(|source| LinkError::Verify { cid: *cid, source })?;
                let key = Key::of(cid);
                let (kind, extra) = stage.wanted.remove(&key).unwrap_or((LinkKind::Dag, 0));
                push_edges(cid, kind, &data, spine, &mut next)
                    .map_err(|source| LinkError::Edges { cid: *cid, source })?;
                stage.new.insert(
                    key,
                    Staged {
                        cid: *cid,
                        kind,
                        rc: 1 + extra,
                        data,
                    },
                );
            }
        }
        Ok(next)
    }

    fn commit(&self, stage: &mut Stage) -> Result<LinkStats, LinkError> {
        let fetched_bytes: usize = stage.new.values().map(|s| s.data.len()).sum();
        let mut state = self.shared.state.write();
        if !state
            .arena
            .has_room_for(fetched_bytes + 8 * stage.new.len())
        {
            return Err(LinkError::Full {
                bytes: fetched_bytes,
                source: super::arena::ArenaFull,
            });
        }
        let mut steps = 0usize;
        let fetched = stage.new.len() as u64;
        for (key, staged) in stage.new.drain() {
            steps += 1;
            if steps % YIELD_EVERY == 0 {
                RwLockWriteGuard::bump(&mut state);
            }
            if let Err(source) = state.insert(&key, staged.kind, staged.rc, &staged.data) {
                // has_room_for guarantees space; reaching here means the store is
                // now inconsistent, so say so loudly.
                tracing::error!(cid = %staged.cid, %source, "arena full during commit");
                return Err(LinkError::Full {
                    bytes: fetched_bytes,
                    source,
                });
            }
        }
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
