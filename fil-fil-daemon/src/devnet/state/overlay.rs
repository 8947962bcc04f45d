//! A write overlay over the devnet's blockstore for one state transition. HAMTs
//! and AMTs are flushed several times while an epoch's churn is sized, and every
//! flush writes a fresh root path; only the blocks the final state root reaches
//! are real. The overlay keeps fresh blocks aside, counts the ones reachable
//! from a root (the epoch's true churn), and commits exactly those in one batch.

use std::sync::Arc;

use cid::Cid;

use super::super::store::MemStore;
use crate::ipld::scan_links;

/// Base store plus the blocks written since the overlay was opened.
#[derive(Debug)]
pub struct Overlay<'a> {
    base: &'a MemStore,
    fresh: MemStore,
}

impl<'a> Overlay<'a> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a MemStore) -> Self {
        Self {
            base,
            fresh: MemStore::new(),
        }
    }

    /// The fresh blocks reachable from `roots` (links into the base store end
    /// the walk: those blocks were already reachable before).
    fn reachable(&self, roots: &[Cid]) -> Vec<(Cid, Arc<[u8]>)> {
        let mut seen = hashbrown::HashSet::with_hasher(ahash::RandomState::new());
        let mut stack: Vec<Cid> = roots.to_vec();
        let mut out = Vec::new();
        while let Some(cid) = stack.pop() {
            if !seen.insert(cid) {
                continue;
            }
            let Some(data) = self.fresh.get(&cid) else {
                continue;
            };
            // Every fresh block is DAG-CBOR we just encoded; a scan cannot fail,
            // and if it did the block simply contributes no further links.
            let _ = scan_links(&data, |link| {
                if !seen.contains(&link) {
                    stack.push(link);
                }
            });
            out.push((cid, data));
        }
        out
    }

    /// How many fresh blocks `roots` reach: what committing them would add.
    pub fn count_reachable(&self, roots: &[Cid]) -> usize {
        self.reachable(roots).len()
    }

    /// Moves the fresh blocks `roots` reach into the base store (dropping the
    /// superseded ones); returns how many were added.
    pub fn commit(self, roots: &[Cid]) -> usize {
        self.base.extend(self.reachable(roots))
    }
}

impl fvm_ipld_blockstore::Blockstore for Overlay<'_> {
    fn get(&self, k: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self
            .fresh
            .get(k)
            .or_else(|| self.base.get(k))
            .map(|b| b.to_vec()))
    }

    fn put_keyed(&self, k: &Cid, block: &[u8]) -> anyhow::Result<()> {
        if !self.base.contains(k) {
            self.fresh.insert(*k, block);
        }
        Ok(())
    }

    fn has(&self, k: &Cid) -> anyhow::Result<bool> {
        Ok(self.fresh.contains(k) || self.base.contains(k))
    }
}
