//! Dropping references (`unlink`) and pins, the snapshot-isolation mechanism: an
//! exporter pins the roots it will walk (a pin is a +1 like a link), so unlinks
//! running meanwhile cannot free anything reachable from them. The pin is released
//! when its [`PinGuard`] drops; if a writer is busy at that moment the release is
//! queued and applied by the next writer, so dropping a guard never blocks.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ahash::AHashMap as HashMap;
use cid::Cid;

use super::edges::push_root;
use super::error::RefError;
use super::key::{Key, LinkKind};
use super::state::State;
use super::store::{DagStore, Shared};

/// What an unlink freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnlinkStats {
    /// Blocks freed by this unlink (including cascades).
    pub freed: u64,
}

/// Expands roots (identity roots are looked through) and checks every resulting
/// CID is held at least as many times as it is named.
fn held_roots(state: &State, roots: &[Cid]) -> Result<Vec<Cid>, RefError> {
    let mut expanded = Vec::new();
    for cid in roots {
        push_root(cid, LinkKind::Dag, &mut expanded)
            .map_err(|source| RefError::Edges { cid: *cid, source })?;
    }
    let mut times: HashMap<Cid, u64> = HashMap::default();
    for (cid, _) in &expanded {
        *times.entry(*cid).or_default() += 1;
    }
    for (cid, times) in times {
        if state.get(&Key::of(&cid)).map_or(0, |e| e.rc) < times {
            return Err(RefError::NotHeld { cid, times });
        }
    }
    Ok(expanded.into_iter().map(|(c, _)| c).collect())
}

impl DagStore {
    /// Drops one reference to `root`; blocks reaching zero are freed and release
    /// their own edges. Refused (store unchanged) if `root` is not held.
    pub async fn unlink(&self, root: Cid) -> Result<UnlinkStats, RefError> {
        self.unlink_many(&[root]).await
    }

    /// Drops one reference per listed root; all or nothing.
    pub async fn unlink_many(&self, roots: &[Cid]) -> Result<UnlinkStats, RefError> {
        let _writer = self.shared.writer.lock().await;
        self.apply_deferred();
        let before = self.shared.counters.blocks_freed.load(Ordering::Relaxed);
        let mut state = self.shared.state.write();
        let work = held_roots(&state, roots)?;
        self.release(&mut state, work);
        drop(state);
        self.apply_deferred();
        self.shared.counters.unlinks.fetch_add(1, Ordering::Relaxed);
        let freed = self.shared.counters.blocks_freed.load(Ordering::Relaxed) - before;
        Ok(UnlinkStats { freed })
    }

    /// Pins `roots` (each must be held) until the returned guard drops.
    pub fn pin(&self, roots: &[Cid]) -> Result<PinGuard, RefError> {
        let mut state = self.shared.state.write();
        let cids = held_roots(&state, roots)?;
        let id = self.shared.next_pin.fetch_add(1, Ordering::Relaxed);
        Ok(self.hold_pin(&mut state, id, cids))
    }

    /// Adds one count per CID and registers the pin (CIDs checked held).
    pub(crate) fn hold_pin(&self, state: &mut State, id: u64, cids: Vec<Cid>) -> PinGuard {
        for cid in &cids {
            state.bump(&Key::of(cid), 1);
        }
        state.pins.insert(id, cids);
        self.guard(id)
    }

    /// The guard for an already registered pin.
    pub(crate) fn guard(&self, id: u64) -> PinGuard {
        PinGuard {
            shared: Arc::clone(&self.shared),
            id,
        }
    }

    /// Applies queued pin releases now (they are otherwise applied by the next
    /// link or unlink). Waits for a running link to finish.
    pub async fn flush_releases(&self) {
        let _writer = self.shared.writer.lock().await;
        self.apply_deferred();
    }

    /// Number of live pins.
    pub fn pin_count(&self) -> usize {
        self.shared.state.read().pins.len()
    }
}

/// Holds a pin; dropping it releases the pinned roots.
#[must_use = "dropping the guard releases the pin at once"]
pub struct PinGuard {
    shared: Arc<Shared>,
    id: u64,
}

impl std::fmt::Debug for PinGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinGuard").field("id", &self.id).finish()
    }
}

impl PinGuard {
    /// The CIDs this pin holds (identity roots expanded).
    pub fn cids(&self) -> Vec<Cid> {
        self.shared
            .state
            .read()
            .pins
            .get(&self.id)
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        let store = DagStore {
            shared: Arc::clone(&self.shared),
        };
        let Ok(_writer) = self.shared.writer.try_lock() else {
            let cids = self.shared.state.write().pins.remove(&self.id);
            self.shared.deferred.lock().extend(cids);
            // The busy writer may have finished before the push; if so, apply now.
            if let Ok(_writer) = self.shared.writer.try_lock() {
                store.apply_deferred();
            }
            return;
        };
        let mut state = self.shared.state.write();
        if let Some(cids) = state.pins.remove(&self.id) {
            store.release(&mut state, cids);
        }
    }
}
