//! The devnet's chain index: every tipset ever produced (orphans included, as a
//! Lotus node keeps them), the canonical chain, and head-change subscriptions
//! with Lotus's `SubHeadChanges` semantics (a `current` first, then batches of
//! reverts followed by applies; a subscriber whose 16-entry buffer is full is
//! dropped, which closes its channel).

use std::collections::HashMap;
use std::sync::Arc;

use cid::Cid;
use tokio::sync::mpsc;

use super::tipset::{Executed, Tipset};

/// Lotus's `ChainNotify` buffer: a reader this far behind gets its channel closed.
pub const NOTIFY_BUFFER: usize = 16;

/// Kind of head change, as Lotus names it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The head when the subscription started.
    Current,
    /// A tipset left the canonical chain.
    Revert,
    /// A tipset joined the canonical chain.
    Apply,
}

/// One head change.
#[derive(Debug, Clone)]
pub struct Change {
    /// What happened.
    pub kind: ChangeKind,
    /// To which tipset.
    pub tipset: Arc<Tipset>,
}

/// A batch delivered to subscribers at once.
pub type Batch = Arc<Vec<Change>>;

/// All tipsets, the canonical chain and the subscribers.
#[derive(Debug)]
pub struct ChainIndex {
    by_key: HashMap<Vec<Cid>, Arc<Executed>>,
    by_block: HashMap<Cid, Arc<Executed>>,
    /// Canonical chain, genesis first; heights strictly increase.
    canonical: Vec<Arc<Executed>>,
    subscribers: Vec<mpsc::Sender<Batch>>,
}

impl ChainIndex {
    /// An index holding only `genesis`.
    pub fn new(genesis: Executed) -> Self {
        let mut index = Self {
            by_key: HashMap::new(),
            by_block: HashMap::new(),
            canonical: Vec::new(),
            subscribers: Vec::new(),
        };
        let genesis = index.remember(genesis);
        index.canonical.push(genesis);
        index
    }

    /// An index whose canonical chain is `chain` (genesis first), as replayed from a CAR.
    pub fn from_chain(chain: Vec<Executed>) -> Option<Self> {
        let mut iter = chain.into_iter();
        let mut index = Self::new(iter.next()?);
        for e in iter {
            let e = index.remember(e);
            index.canonical.push(e);
        }
        Some(index)
    }

    fn remember(&mut self, e: Executed) -> Arc<Executed> {
        let e = Arc::new(e);
        self.by_key.insert(e.tipset.cids.clone(), e.clone());
        for c in &e.tipset.cids {
            self.by_block.insert(*c, e.clone());
        }
        e
    }

    /// The current head.
    pub fn head(&self) -> Arc<Executed> {
        // `canonical` always holds at least the genesis.
        self.canonical[self.canonical.len() - 1].clone()
    }

    /// The genesis tipset.
    pub fn genesis(&self) -> Arc<Executed> {
        self.canonical[0].clone()
    }

    /// Number of canonical tipsets (genesis included).
    pub fn len(&self) -> usize {
        self.canonical.len()
    }

    /// Always false: the genesis is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The canonical chain, genesis first.
    pub fn canonical(&self) -> &[Arc<Executed>] {
        &self.canonical
    }

    /// A tipset by key (canonical or orphaned); the empty key means the head.
    pub fn get(&self, key: &[Cid]) -> Option<Arc<Executed>> {
        if key.is_empty() {
            return Some(self.head());
        }
        self.by_key.get(key).cloned()
    }

    /// The tipset containing block `cid`.
    pub fn by_block(&self, cid: &Cid) -> Option<Arc<Executed>> {
        self.by_block.get(cid).cloned()
    }

    /// The tipset at `height` on the chain ending at `from`, or the nearest earlier
    /// one when `height` is a null round (Lotus `GetTipsetByHeight(prev=true)`).
    pub fn at_height(&self, height: i64, from: &Arc<Executed>) -> Option<Arc<Executed>> {
        if height > from.tipset.height {
            return None;
        }
        let pos = self
            .canonical
            .partition_point(|e| e.tipset.height <= from.tipset.height);
        let on_canonical = pos > 0 && Arc::ptr_eq(&self.canonical[pos - 1], from);
        if on_canonical {
            let idx = self
                .canonical
                .partition_point(|e| e.tipset.height <= height);
            return idx.checked_sub(1).map(|i| self.canonical[i].clone());
        }
        let mut cur = from.clone();
        while cur.tipset.height > height {
            cur = self.by_key.get(cur.tipset.parents())?.clone();
        }
        Some(cur)
    }

    /// Lotus `ReorgOps`/`ChainGetPath`: reverts from `from` (newest first), then
    /// applies up to `to` (oldest first).
    pub fn path(&self, from: &[Cid], to: &[Cid]) -> Option<Vec<Change>> {
        let mut left = self.get(from)?;
        let mut right = self.get(to)?;
        let mut reverts = Vec::new();
        let mut applies = Vec::new();
        while left.tipset.cids != right.tipset.cids {
            if left.tipset.height > right.tipset.height {
                reverts.push(left.tipset.clone());
                left = self.by_key.get(left.tipset.parents())?.clone();
            } else {
                applies.push(right.tipset.clone());
                right = self.by_key.get(right.tipset.parents())?.clone();
            }
        }
        let mut out: Vec<Change> = reverts
            .into_iter()
            .map(|tipset| Change {
                kind: ChangeKind::Revert,
                tipset,
            })
            .collect();
        out.extend(applies.into_iter().rev().map(|tipset| Change {
            kind: ChangeKind::Apply,
            tipset,
        }));
        Some(out)
    }

    /// Makes `e` (a child of the head) the new head and notifies subscribers.
    pub fn extend(&mut self, e: Executed) -> Arc<Executed> {
        let e = self.remember(e);
        self.canonical.push(e.clone());
        self.publish(vec![Change {
            kind: ChangeKind::Apply,
            tipset: e.tipset.clone(),
        }]);
        e
    }

    /// Reverts the top `depth` tipsets and applies `branch` (oldest first, its
    /// first element a child of the fork point) in one notification.
    pub fn reorg(&mut self, depth: usize, branch: Vec<Executed>) {
        let keep = self.canonical.len().saturating_sub(depth).max(1);
        let reverted: Vec<Arc<Executed>> = self.canonical.drain(keep..).rev().collect();
        let mut batch: Vec<Change> = reverted
            .iter()
            .map(|e| Change {
                kind: ChangeKind::Revert,
                tipset: e.tipset.clone(),
            })
            .collect();
        for e in branch {
            let e = self.remember(e);
            batch.push(Change {
                kind: ChangeKind::Apply,
                tipset: e.tipset.clone(),
            });
            self.canonical.push(e);
        }
        self.publish(batch);
    }

    /// A new subscription: receives `[current]` first, then every batch.
    pub fn subscribe(&mut self) -> mpsc::Receiver<Batch> {
        let (tx, rx) = mpsc::channel(NOTIFY_BUFFER);
        let current = Arc::new(vec![Change {
            kind: ChangeKind::Current,
            tipset: self.head().tipset.clone(),
        }]);
        // A fresh channel always has room for its first message.
        if tx.try_send(current).is_ok() {
            self.subscribers.push(tx);
        }
        rx
    }

    /// Subscriptions whose receiver is still alive.
    pub fn open_subscriptions(&self) -> usize {
        self.subscribers.iter().filter(|tx| !tx.is_closed()).count()
    }

    /// Closes every subscription, as Lotus does to a reader that fell behind.
    pub fn close_subscriptions(&mut self) -> usize {
        let n = self.subscribers.iter().filter(|tx| !tx.is_closed()).count();
        self.subscribers.clear();
        n
    }

    fn publish(&mut self, batch: Vec<Change>) {
        let batch = Arc::new(batch);
        self.subscribers
            .retain(|tx| match tx.try_send(batch.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!("closing head change subscription due to slow reader");
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
    }
}
