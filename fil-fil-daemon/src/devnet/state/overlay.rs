//! A write overlay over the devnet's blockstore for one state transition. HAMTs
//! and AMTs are flushed several times while an epoch's churn is sized, and every
//! flush writes a fresh root path; only the blocks the final state root reaches
//! are real. The overlay keeps fresh blocks aside, counts the ones reachable
//! from a root (the epoch's true churn), and commits exactly those in one batch.
//!
//! Counting walks every fresh block after each sizing round, so each block's
//! links to other fresh blocks are found once, when it is written (on whichever
//! churn thread wrote it), and the walks only follow those lists.

use std::sync::Arc;

use cid::Cid;
use parking_lot::RwLock;

use super::super::store::MemStore;
use crate::ipld::{scan_links, DAG_CBOR};

/// A block written during the transition, with its links to blocks that were
/// fresh when it was written. A block's children are always written before it
/// (its bytes hold their CIDs), so the list is complete.
#[derive(Debug)]
struct Fresh {
    data: Arc<[u8]>,
    fresh_links: Vec<Cid>,
}

/// Base store plus the blocks written since the overlay was opened.
#[derive(Debug)]
pub struct Overlay<'a> {
    base: &'a MemStore,
    fresh: RwLock<hashbrown::HashMap<Cid, Fresh, ahash::RandomState>>,
}

impl<'a> Overlay<'a> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a MemStore) -> Self {
        Self {
            base,
            fresh: RwLock::default(),
        }
    }

    /// The fresh blocks reachable from `roots` (links into the base store end
    /// the walk: those blocks were already reachable before).
    fn reachable(&self, roots: &[Cid]) -> Vec<(Cid, Arc<[u8]>)> {
        let fresh = self.fresh.read();
        let mut seen = hashbrown::HashSet::with_hasher(ahash::RandomState::new());
        let mut stack: Vec<&Cid> = roots.iter().collect();
        let mut out = Vec::new();
        while let Some(cid) = stack.pop() {
            if !seen.insert(*cid) {
                continue;
            }
            let Some(block) = fresh.get(cid) else {
                continue;
            };
            stack.extend(block.fresh_links.iter());
            out.push((*cid, block.data.clone()));
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
        if let Some(block) = self.fresh.read().get(k) {
            return Ok(Some(block.data.to_vec()));
        }
        Ok(self.base.get(k).map(|b| b.to_vec()))
    }

    fn put_keyed(&self, k: &Cid, block: &[u8]) -> anyhow::Result<()> {
        if self.base.contains(k) || self.fresh.read().contains_key(k) {
            return Ok(());
        }
        let mut fresh_links = Vec::new();
        {
            let fresh = self.fresh.read();
            // Every fresh block is DAG-CBOR we just encoded; one that did not
            // scan would simply link nowhere. Other codecs (sealed sectors,
            // pieces) are never blocks here.
            let _ = scan_links(block, |link| {
                if link.codec() == DAG_CBOR && fresh.contains_key(&link) {
                    fresh_links.push(link);
                }
            });
        }
        self.fresh.write().entry(*k).or_insert(Fresh {
            data: Arc::from(block),
            fresh_links,
        });
        Ok(())
    }

    fn has(&self, k: &Cid) -> anyhow::Result<bool> {
        Ok(self.fresh.read().contains_key(k) || self.base.contains(k))
    }
}
