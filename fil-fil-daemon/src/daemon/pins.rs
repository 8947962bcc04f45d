//! Scheduled-snapshot pins: once a scheduled epoch is `confidence` deep, the roots
//! its snapshot needs are pinned in the store so `take-snapshot --epoch E` still
//! works after the window moved past E. The newest `retain` pins are kept.

use cid::Cid;
use serde::{Deserialize, Serialize};

use super::control::PinInfo;
use crate::dag::PinGuard;
use crate::lotus::json::CidJson;

/// A live pin.
#[derive(Debug)]
pub struct Pin {
    /// What it covers.
    pub info: PinInfo,
    /// The roots pinned.
    pub roots: Vec<Cid>,
    /// Holds the roots until dropped.
    pub guard: PinGuard,
}

/// A pin as written in a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPin {
    /// What it covers.
    pub info: PinInfo,
    /// The roots.
    pub roots: Vec<CidJson>,
}

/// Pins, oldest first.
#[derive(Debug, Default)]
pub struct Pins {
    list: Vec<Pin>,
}

impl Pins {
    /// Descriptions, oldest first.
    pub fn infos(&self) -> Vec<PinInfo> {
        self.list.iter().map(|p| p.info.clone()).collect()
    }

    /// Number of pins.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True if none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Newest scheduled epoch pinned.
    pub fn last_epoch(&self) -> Option<i64> {
        self.list.last().map(|p| p.info.epoch)
    }

    /// A pin that can serve a snapshot of `epoch` with `depth` and `skip_old_msgs`.
    pub fn serving(&self, epoch: i64, depth: i64, skip_old_msgs: bool) -> Option<&Pin> {
        self.list.iter().rev().find(|p| {
            (p.info.epoch == epoch || p.info.height == epoch)
                && p.info.depth >= depth
                && (skip_old_msgs || !p.info.skip_old_msgs)
        })
    }

    /// Adds a pin, releasing the oldest beyond `retain`.
    pub fn push(&mut self, pin: Pin, retain: usize) {
        self.list.push(pin);
        let excess = self.list.len().saturating_sub(retain);
        self.list.drain(..excess);
    }

    /// Releases the pin of `epoch`.
    pub fn remove(&mut self, epoch: i64) -> bool {
        let before = self.list.len();
        self.list.retain(|p| p.info.epoch != epoch);
        self.list.len() != before
    }

    /// Checkpoint form.
    pub fn saved(&self) -> Vec<SavedPin> {
        self.list
            .iter()
            .map(|p| SavedPin {
                info: p.info.clone(),
                roots: p.roots.iter().copied().map(CidJson).collect(),
            })
            .collect()
    }
}
