//! Whole-store consistency check: every edge of a held block points at a held
//! block, its stored child ids are exactly its children's locations, and every
//! count covers its incoming edges plus pins. Run after loading a
//! checkpoint and by tests; O(objects + edges).

use ahash::AHashMap as HashMap;
use cid::Cid;

use super::edges::{push_edges, EdgeError};
use super::key::Key;
use super::store::DagStore;
use crate::ipld::{is_canonical, ChildIds, LeafLen};

/// A broken store invariant.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IntegrityError {
    /// A held block links to a block that is not held.
    #[error("block {parent} links to {child}, which is not held")]
    Dangling {
        /// The held block.
        parent: Cid,
        /// Its missing child.
        child: Cid,
    },
    /// A count is below the block's incoming edges plus pins.
    #[error("block {cid} has count {count} but {needed} edges and pins")]
    Undercounted {
        /// The block.
        cid: Cid,
        /// Its count.
        count: u64,
        /// Incoming edges plus pins.
        needed: u64,
    },
    /// A held block's stored child list does not name its children (ids or
    /// CID offsets).
    #[error("block {cid} has stale or misplaced child ids")]
    ChildIds {
        /// The block.
        cid: Cid,
    },
    /// A held block's edges do not compute.
    #[error("edges of held block {cid}: {source}")]
    Edges {
        /// The block.
        cid: Cid,
        /// Why.
        #[source]
        source: EdgeError,
    },
}

/// Shape of a consistent store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Blocks held.
    pub objects: u64,
    /// Edges between held blocks.
    pub edges: u64,
    /// References held by pins.
    pub pinned: u64,
    /// References not explained by edges or pins: the direct links (roots).
    pub root_links: u64,
}

impl DagStore {
    /// Checks the store's invariants (see module docs). Takes the read lock for
    /// the whole scan.
    pub fn check_integrity(&self) -> Result<IntegrityReport, IntegrityError> {
        self.check(true)
    }

    /// With `count` false, only checks that every edge and pin names a held
    /// block: no per-object map, so it is affordable on a 10^8-object restore.
    pub(crate) fn check(&self, count: bool) -> Result<IntegrityReport, IntegrityError> {
        let state = self.shared.state.read();
        let spine = self.shared.config.spine.as_deref();
        let mut incoming: HashMap<Key, u64> = HashMap::default();
        let mut report = IntegrityReport::default();
        let mut children = Vec::new();
        for (key, entry) in state.iter() {
            let cid = key.to_cid();
            children.clear();
            let data = state.data(&entry);
            let listed = push_edges(&cid, entry.kind, data, spine, &mut children)
                .map_err(|source| IntegrityError::Edges { cid, source })?;
            let listed = listed && data.len() <= ChildIds::MAX_DATA_LEN;
            let ids = state.node(entry.loc).children;
            if listed != ids.is_some() || ids.is_some_and(|ids| ids.len() != children.len()) {
                return Err(IntegrityError::ChildIds { cid });
            }
            for (i, (child, _)) in children.iter().enumerate() {
                let child_key = Key::of(child);
                let Some(child_entry) = state.get(&child_key) else {
                    return Err(IntegrityError::Dangling {
                        parent: cid,
                        child: *child,
                    });
                };
                if let Some(ids) = ids {
                    let node = state.node(child_entry.loc);
                    let leaf = node
                        .children
                        .is_some_and(|l| l.is_empty())
                        .then(|| LeafLen::of(node.data.len()));
                    let listed_right = ids.get(i).is_some_and(|c| {
                        c.id == child_entry.loc
                            && c.leaf == leaf
                            && data
                                .get(c.cid_at..c.cid_at + child.encoded_len())
                                .is_some_and(|b| is_canonical(child, b))
                    });
                    if !listed_right {
                        return Err(IntegrityError::ChildIds { cid });
                    }
                }
                if count {
                    *incoming.entry(child_key).or_default() += 1;
                }
            }
            report.objects += 1;
            report.edges += children.len() as u64;
        }
        for cid in state.pins.values().flatten() {
            let key = Key::of(cid);
            if state.get(&key).is_none() {
                return Err(IntegrityError::Undercounted {
                    cid: *cid,
                    count: 0,
                    needed: 1,
                });
            }
            if count {
                *incoming.entry(key).or_default() += 1;
            }
            report.pinned += 1;
        }
        if !count {
            return Ok(report);
        }
        for (key, entry) in state.iter() {
            let needed = incoming.get(&key).copied().unwrap_or(0);
            if entry.rc < needed {
                return Err(IntegrityError::Undercounted {
                    cid: key.to_cid(),
                    count: entry.rc,
                    needed,
                });
            }
            report.root_links += entry.rc - needed;
        }
        Ok(report)
    }
}
