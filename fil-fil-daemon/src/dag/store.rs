//! The shared store handle: configuration, locking, read access and metrics.
//!
//! Locking: one `parking_lot::RwLock` over the index and arena, only ever held for
//! short, bounded steps. Readers ([`BlockGet::with_block`], one block at a time)
//! take it shared, so an export never holds a store-wide lock for its duration and
//! a commit waits at most for one block copy. Mutations are serialized by an async
//! writer mutex; a link fetches and verifies *outside* the RwLock and takes it
//! exclusively to commit; commits and unlink cascades yield it every
//! [`YIELD_EVERY`] updates. Yielding mid-commit only lets readers see some new
//! blocks early (nothing can fail after the commit starts); yielding mid-cascade
//! only lets them see blocks whose release is still pending. Parking_lot's fair unlocking keeps a waiting writer from
//! being starved by a stream of readers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cid::Cid;
use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::arena::MAX_SEGMENT_BYTES;
use super::edges::{push_edges, EdgeSelector};
use super::key::{Key, LinkKind};
use super::state::State;
use crate::ipld::{is_identity, BlockGet, BlockGraph, GraphNode, GraphView};

/// Count updates done under one exclusive lock hold before letting readers in.
pub(crate) const YIELD_EVERY: usize = 4096;

/// Store tuning.
#[derive(Clone)]
pub struct DagConfig {
    /// Arena segment size (≤ 64 MiB); blocks larger than this get their own segment.
    pub segment_bytes: usize,
    /// CIDs per [`BlockSource::get_many`](super::BlockSource::get_many) call.
    pub batch_size: usize,
    /// Batches in flight at once during a link.
    pub max_in_flight: usize,
    /// Edge choice for [`LinkKind::Spine`] links (block header → parents).
    pub spine: Option<Arc<dyn EdgeSelector>>,
}

impl Default for DagConfig {
    fn default() -> Self {
        DagConfig {
            segment_bytes: MAX_SEGMENT_BYTES,
            batch_size: 256,
            max_in_flight: 16,
            spine: None,
        }
    }
}

impl std::fmt::Debug for DagConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DagConfig")
            .field("segment_bytes", &self.segment_bytes)
            .field("batch_size", &self.batch_size)
            .field("max_in_flight", &self.max_in_flight)
            .field("spine", &self.spine.is_some())
            .finish()
    }
}

impl DagConfig {
    /// Sets the spine edge selector.
    pub fn with_spine(mut self, selector: impl EdgeSelector + 'static) -> Self {
        self.spine = Some(Arc::new(selector));
        self
    }
}

/// Operation counters since the store was created (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Successful link operations.
    pub links: u64,
    /// Link operations that failed and were rolled back.
    pub failed_links: u64,
    /// Successful unlink operations.
    pub unlinks: u64,
    /// Blocks fetched, verified and stored.
    pub blocks_added: u64,
    /// Blocks freed.
    pub blocks_freed: u64,
}

#[derive(Default)]
pub(crate) struct AtomicCounters {
    pub(crate) links: AtomicU64,
    pub(crate) failed_links: AtomicU64,
    pub(crate) unlinks: AtomicU64,
    pub(crate) blocks_added: AtomicU64,
    pub(crate) blocks_freed: AtomicU64,
}

/// Memory held by the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Blocks held.
    pub objects: u64,
    /// Sum of block lengths.
    pub payload_bytes: u64,
    /// Index bytes, counting unused hash-table capacity.
    pub index_bytes: u64,
    /// Arena segments allocated.
    pub arena_reserved_bytes: u64,
    /// Arena bytes in live records (payload + 8-byte header + child ids +
    /// padding to 8).
    pub arena_live_bytes: u64,
    /// Part of the live arena bytes holding child ids (the export walk's id
    /// graph: 5 bytes per edge of a dag-cbor block).
    pub child_id_bytes: u64,
}

impl MemoryStats {
    /// Index bytes per object (0 when empty).
    pub fn index_bytes_per_object(&self) -> f64 {
        if self.objects == 0 {
            0.0
        } else {
            self.index_bytes as f64 / self.objects as f64
        }
    }
}

pub(crate) struct Shared {
    pub(crate) state: RwLock<State>,
    pub(crate) writer: tokio::sync::Mutex<()>,
    /// Pin releases that found the writer busy; applied by the next writer.
    pub(crate) deferred: Mutex<Vec<Vec<Cid>>>,
    pub(crate) config: DagConfig,
    pub(crate) counters: AtomicCounters,
    pub(crate) next_pin: AtomicU64,
}

/// Reference-counted, content-addressed block store (cheap to clone: a handle).
///
/// A block's count is the number of edges to it from held blocks plus the direct
/// links and pins naming it; a block is held while its count is positive.
#[derive(Clone)]
pub struct DagStore {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for DagStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DagStore")
            .field("memory", &self.memory())
            .finish()
    }
}

impl Default for DagStore {
    fn default() -> Self {
        DagStore::new(DagConfig::default())
    }
}

impl DagStore {
    /// An empty store.
    pub fn new(config: DagConfig) -> DagStore {
        let state = State::new(config.segment_bytes);
        DagStore::from_state(config, state)
    }

    pub(crate) fn from_state(config: DagConfig, state: State) -> DagStore {
        DagStore {
            shared: Arc::new(Shared {
                state: RwLock::new(state),
                writer: tokio::sync::Mutex::new(()),
                deferred: Mutex::new(Vec::new()),
                config,
                counters: AtomicCounters::default(),
                next_pin: AtomicU64::new(1),
            }),
        }
    }

    /// The configuration the store was built with.
    pub fn config(&self) -> &DagConfig {
        &self.shared.config
    }

    /// True if the block is held (identity CIDs never are).
    pub fn has(&self, cid: &Cid) -> bool {
        !is_identity(cid) && self.shared.state.read().get(&Key::of(cid)).is_some()
    }

    /// Number of blocks held.
    pub fn len(&self) -> usize {
        self.shared.state.read().len()
    }

    /// True if nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sum of the lengths of held blocks.
    pub fn bytes(&self) -> u64 {
        self.shared.state.read().payload_bytes()
    }

    /// Reference count of a block (0 if not held).
    pub fn refcount(&self, cid: &Cid) -> u64 {
        self.shared
            .state
            .read()
            .get(&Key::of(cid))
            .map_or(0, |e| e.rc)
    }

    /// Edge policy a held block was stored with.
    pub fn kind(&self, cid: &Cid) -> Option<LinkKind> {
        self.shared.state.read().get(&Key::of(cid)).map(|e| e.kind)
    }

    /// Every held block with its count and kind (for tests and checks; O(n)).
    pub fn entries(&self) -> Vec<(Cid, u64, LinkKind)> {
        let state = self.shared.state.read();
        state
            .iter()
            .map(|(k, e)| (k.to_cid(), e.rc, e.kind))
            .collect()
    }

    /// Operation counters.
    pub fn counters(&self) -> Counters {
        let c = &self.shared.counters;
        Counters {
            links: c.links.load(Ordering::Relaxed),
            failed_links: c.failed_links.load(Ordering::Relaxed),
            unlinks: c.unlinks.load(Ordering::Relaxed),
            blocks_added: c.blocks_added.load(Ordering::Relaxed),
            blocks_freed: c.blocks_freed.load(Ordering::Relaxed),
        }
    }

    /// Current memory use.
    pub fn memory(&self) -> MemoryStats {
        let state = self.shared.state.read();
        MemoryStats {
            objects: state.len() as u64,
            payload_bytes: state.payload_bytes(),
            index_bytes: state.index_bytes() as u64,
            arena_reserved_bytes: state.arena.reserved_bytes() as u64,
            arena_live_bytes: state.arena.live_bytes() as u64,
            child_id_bytes: state.arena.child_id_bytes() as u64,
        }
    }

    /// Applies pin releases that were deferred because a writer was busy. Needs
    /// the writer; call while holding it.
    pub(crate) fn apply_deferred(&self) {
        let pending = std::mem::take(&mut *self.shared.deferred.lock());
        if pending.is_empty() {
            return;
        }
        let mut state = self.shared.state.write();
        for cids in pending {
            self.release(&mut state, cids);
        }
    }

    /// Drops one reference to each of `work` and cascades frees. Every CID must be
    /// held (callers check first); the lock is yielded periodically so long
    /// cascades do not stall readers.
    pub(crate) fn release(&self, state: &mut RwLockWriteGuard<'_, State>, mut work: Vec<Cid>) {
        let spine = self.shared.config.spine.as_deref();
        let mut children = Vec::new();
        let mut child_keys = Vec::new();
        let mut steps = 0usize;
        let mut freed = 0u64;
        while let Some(cid) = work.pop() {
            steps += 1;
            if steps % YIELD_EVERY == 0 {
                RwLockWriteGuard::bump(state);
            }
            let key = Key::of(&cid);
            let Some(entry) = state.bump(&key, -1) else {
                tracing::error!(%cid, "refcount underflow: releasing a block that is not held");
                continue;
            };
            if entry.rc > 1 {
                continue;
            }
            children.clear();
            if let Err(err) = push_edges(&cid, entry.kind, state.data(&entry), spine, &mut children)
            {
                // Linking computed these edges from the same bytes, so this is a bug.
                tracing::error!(%cid, %err, "edges of a stored block no longer compute; children leak");
            }
            state.remove(&key);
            freed += 1;
            // The children are looked up next: fetch their slots together.
            child_keys.clear();
            child_keys.extend(children.iter().map(|(c, _)| Key::of(c)));
            state.touch(child_keys.iter());
            work.extend(children.iter().map(|(c, _)| *c));
        }
        self.shared
            .counters
            .blocks_freed
            .fetch_add(freed, Ordering::Relaxed);
    }
}

impl BlockGet for DagStore {
    fn with_block<R>(&self, cid: &Cid, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        if is_identity(cid) {
            return None;
        }
        let state = self.shared.state.read();
        let entry = state.get(&Key::of(cid))?;
        Some(f(state.data(&entry)))
    }

    fn graph(&self) -> Option<&dyn BlockGraph> {
        Some(self)
    }
}

/// Ids are arena locations: stable while a block is held, and dense enough
/// (one per 8 arena bytes) for bitsets of a few percent of the payload.
impl BlockGraph for DagStore {
    fn read_views(&self, f: &mut dyn FnMut(&dyn GraphView) -> bool) {
        let mut state = self.shared.state.read();
        while f(&*state) {
            RwLockReadGuard::bump(&mut state);
        }
    }

    fn with_view(&self, f: &mut dyn FnMut(&dyn GraphView)) {
        f(&*self.shared.state.read_recursive());
    }
}

impl GraphView for State {
    fn resolve(&self, cid: &Cid) -> Option<u64> {
        if is_identity(cid) {
            return None;
        }
        self.get(&Key::of(cid)).map(|e| e.loc)
    }

    #[inline]
    fn node(&self, id: u64) -> GraphNode<'_> {
        State::node(self, id)
    }

    fn id_bound(&self) -> u64 {
        self.arena.loc_bound()
    }

    #[inline]
    fn prefetch(&self, id: u64) {
        self.arena.prefetch(id);
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
