//! Window bookkeeping: the canonical tipsets the daemon follows, and for each one
//! which roots it holds a reference on in the DAG store (saaf's apply/revert log).
//!
//! The rules are Lotus `WalkSnapshot`'s, evaluated at the current head `H` with
//! the daemon's depth `D`: every block at height `h` holds its messages when
//! `!skip_old_msgs || h > H − D` and its parent state when `h == 0 || h > H − D`;
//! every tipset in the log also holds its headers directly (headers link to
//! parents only, so the newest header keeps the whole spine back to genesis).
//!
//! The window is declarative: [`Window::plan`] diffs what each record holds
//! against what the rules want and returns the links and unlinks to perform;
//! the caller marks links done after the store committed them and marks unlinks
//! before performing them, so a reader that pins what the log says is held never
//! names a block the store is about to free. Records deeper than the depth plus
//! a reorg margin are sealed: their remaining references become permanent and the
//! record is dropped.

use std::collections::VecDeque;

use cid::Cid;
use serde::{Deserialize, Serialize};

use crate::lotus::json::CidJson;

/// The roots one block header contributes to a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRoots {
    /// The header's CID.
    pub header: CidJson,
    /// Its `Messages` (MsgMeta) root.
    pub messages: CidJson,
    /// Its `ParentStateRoot`.
    pub state: CidJson,
}

/// A tipset as the window needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TipsetEntry {
    /// Block CIDs in tipset order (the key).
    pub key: Vec<CidJson>,
    /// Parent tipset key.
    pub parents: Vec<CidJson>,
    /// Epoch.
    pub height: i64,
    /// Per-block roots, in key order.
    pub blocks: Vec<BlockRoots>,
}

impl TipsetEntry {
    /// The key as plain CIDs.
    pub fn cids(&self) -> Vec<Cid> {
        self.key.iter().map(|c| c.0).collect()
    }

    /// The parent key as plain CIDs.
    pub fn parent_cids(&self) -> Vec<Cid> {
        self.parents.iter().map(|c| c.0).collect()
    }
}

/// Which kind of root a reference is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RootKind {
    /// Block headers (linked on the spine: edges to parents only).
    Headers,
    /// Message roots (whole DAG).
    Messages,
    /// Parent state roots (whole DAG).
    State,
}

/// What a record holds references on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holds {
    /// Headers, directly.
    pub headers: bool,
    /// Message roots.
    pub messages: bool,
    /// Parent state roots.
    pub state: bool,
}

impl Holds {
    fn get(&self, kind: RootKind) -> bool {
        match kind {
            RootKind::Headers => self.headers,
            RootKind::Messages => self.messages,
            RootKind::State => self.state,
        }
    }

    fn set(&mut self, kind: RootKind, value: bool) {
        match kind {
            RootKind::Headers => self.headers = value,
            RootKind::Messages => self.messages = value,
            RootKind::State => self.state = value,
        }
    }
}

/// One canonical tipset and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The tipset.
    pub entry: TipsetEntry,
    /// References it holds in the store.
    pub holds: Holds,
}

/// A group of references to take or drop for one tipset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootSet {
    /// Tipset key (identifies the record).
    pub key: Vec<CidJson>,
    /// Height of the tipset.
    pub height: i64,
    /// Kind of root.
    pub kind: RootKind,
    /// The roots, one per block (duplicates are separate references).
    pub cids: Vec<Cid>,
}

/// Links and unlinks that bring the store in line with the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// References to take (oldest tipset first).
    pub link: Vec<RootSet>,
    /// References to drop.
    pub unlink: Vec<RootSet>,
}

impl Plan {
    /// True when the store already matches.
    pub fn is_empty(&self) -> bool {
        self.link.is_empty() && self.unlink.is_empty()
    }
}

/// Window policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowRules {
    /// Epochs of state behind the head (`--depth`).
    pub depth: i64,
    /// Drop messages that leave the window.
    pub skip_old_msgs: bool,
    /// Epochs beyond the depth a record stays revertible before it is sealed.
    pub reorg_margin: i64,
}

impl WindowRules {
    /// What a block at `height` should hold when the head is at `head`.
    pub fn wanted(&self, height: i64, head: i64) -> Holds {
        self.wanted_with(height, head, None)
    }

    /// [`WindowRules::wanted`], also keeping the whole window of `pending`, the next
    /// scheduled epoch, until it is deep enough to be pinned.
    pub fn wanted_with(&self, height: i64, head: i64, pending: Option<i64>) -> Holds {
        let recent = height > head.saturating_sub(self.depth)
            || pending.is_some_and(|p| height <= p && height > p.saturating_sub(self.depth));
        Holds {
            headers: true,
            messages: !self.skip_old_msgs || recent,
            state: height == 0 || recent,
        }
    }

    /// What a sealed record keeps forever.
    fn sealed(&self, height: i64) -> Holds {
        Holds {
            headers: false,
            messages: !self.skip_old_msgs,
            state: height == 0,
        }
    }
}

/// A head change the window refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// An applied tipset does not extend the current head.
    #[error("tipset at {height} does not extend the head at {head}")]
    NotChild {
        /// Its height.
        height: i64,
        /// Current head height.
        head: i64,
    },
    /// A reverted tipset is not the current head.
    #[error("reverted tipset at {height} is not the head")]
    NotHead {
        /// Its height.
        height: i64,
    },
    /// The requested snapshot is not (or no longer) covered.
    #[error("epoch {epoch} with depth {depth} is not held: {reason}")]
    NotHeld {
        /// Requested epoch.
        epoch: i64,
        /// Requested depth.
        depth: i64,
        /// Why.
        reason: String,
    },
}

/// The apply/revert log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    rules: WindowRules,
    log: VecDeque<Record>,
    /// Next scheduled snapshot epoch not pinned yet; its window is kept.
    #[serde(default)]
    pending_pin: Option<i64>,
}

impl Window {
    /// An empty window.
    pub fn new(rules: WindowRules) -> Window {
        Window {
            rules,
            log: VecDeque::new(),
            pending_pin: None,
        }
    }

    /// The policy.
    pub fn rules(&self) -> &WindowRules {
        &self.rules
    }

    /// Changes the policy (a restart with other settings); the next plan adapts.
    /// Messages of sealed records stay held if `skip_old_msgs` was off before.
    pub fn set_rules(&mut self, rules: WindowRules) {
        self.rules = rules;
    }

    /// Keeps the window of scheduled epoch `epoch` until it is pinned.
    pub fn set_pending_pin(&mut self, epoch: Option<i64>) {
        self.pending_pin = epoch;
    }

    /// The head tipset, if any.
    pub fn head(&self) -> Option<&TipsetEntry> {
        self.log.back().map(|r| &r.entry)
    }

    /// The newest tipset that holds everything the rules want: the default
    /// snapshot head (a tipset just applied may still be linking).
    pub fn settled_head(&self) -> Option<&TipsetEntry> {
        let head = self.head()?.height;
        self.log
            .iter()
            .rev()
            .find(|r| {
                let want = self
                    .rules
                    .wanted_with(r.entry.height, head, self.pending_pin);
                r.holds.headers
                    && (r.holds.messages || !want.messages)
                    && (r.holds.state || !want.state)
            })
            .map(|r| &r.entry)
    }

    /// Records, oldest first.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.log.iter()
    }

    /// Appends `entry`, which must be a child of the head.
    pub fn apply(&mut self, entry: TipsetEntry) -> Result<(), WindowError> {
        if let Some(head) = self.head() {
            if entry.parents != head.key || entry.height <= head.height {
                return Err(WindowError::NotChild {
                    height: entry.height,
                    head: head.height,
                });
            }
        }
        self.log.push_back(Record {
            entry,
            holds: Holds::default(),
        });
        Ok(())
    }

    /// Removes the head, which must be `key`; returns the references it held,
    /// to be unlinked by the caller.
    pub fn revert(&mut self, key: &[CidJson], height: i64) -> Result<Vec<RootSet>, WindowError> {
        match self.log.back() {
            Some(r) if r.entry.key == key => {}
            _ => return Err(WindowError::NotHead { height }),
        }
        let Some(record) = self.log.pop_back() else {
            return Err(WindowError::NotHead { height });
        };
        Ok([RootKind::Headers, RootKind::Messages, RootKind::State]
            .into_iter()
            .filter(|k| record.holds.get(*k))
            .map(|k| root_set(&record.entry, k))
            .collect())
    }

    /// Diffs holdings against the rules at the current head.
    pub fn plan(&self) -> Plan {
        let mut plan = Plan::default();
        let Some(head) = self.head().map(|h| h.height) else {
            return plan;
        };
        for (i, record) in self.log.iter().enumerate() {
            let h = record.entry.height;
            let mut want = self.rules.wanted_with(h, head, self.pending_pin);
            if self.sealable(i, head) {
                want = self.rules.sealed(h);
            }
            for kind in [RootKind::Headers, RootKind::Messages, RootKind::State] {
                match (record.holds.get(kind), want.get(kind)) {
                    (false, true) => plan.link.push(root_set(&record.entry, kind)),
                    (true, false) => plan.unlink.push(root_set(&record.entry, kind)),
                    _ => {}
                }
            }
        }
        plan
    }

    fn sealable(&self, index: usize, head: i64) -> bool {
        index + 1 < self.log.len()
            && self.log[index].entry.height
                <= head
                    .saturating_sub(self.rules.depth)
                    .saturating_sub(self.rules.reorg_margin)
    }

    /// Marks references as held once the store committed their link.
    pub fn mark_linked(&mut self, sets: &[RootSet]) {
        self.mark(sets, true);
    }

    /// Marks references as dropped, before the caller unlinks them, and drops
    /// records that are sealed.
    pub fn mark_unlinked(&mut self, sets: &[RootSet]) {
        self.mark(sets, false);
        let Some(head) = self.head().map(|h| h.height) else {
            return;
        };
        while self.sealable(0, head)
            && self.log[0].holds == self.rules.sealed(self.log[0].entry.height)
        {
            self.log.pop_front();
        }
    }

    fn mark(&mut self, sets: &[RootSet], held: bool) {
        for set in sets {
            if let Some(r) = self
                .log
                .iter_mut()
                .rev()
                .find(|r| r.entry.height == set.height && r.entry.key == set.key)
            {
                r.holds.set(set.kind, held);
            }
        }
    }

    /// The tipset a snapshot at `epoch` exports (largest height ≤ epoch).
    pub fn tipset_at(&self, epoch: i64) -> Option<&TipsetEntry> {
        self.log
            .iter()
            .rev()
            .find(|r| r.entry.height <= epoch)
            .map(|r| &r.entry)
    }

    /// The roots to pin so an export of `epoch` with `depth` and `skip_old_msgs`
    /// stays readable while the window moves on; refused if the window does not
    /// hold all of it. Returns the exported tipset and the roots.
    pub fn snapshot_roots(
        &self,
        epoch: i64,
        depth: i64,
        skip_old_msgs: bool,
    ) -> Result<(TipsetEntry, Vec<Cid>), WindowError> {
        let refuse = |reason: String| WindowError::NotHeld {
            epoch,
            depth,
            reason,
        };
        let head = self
            .head()
            .ok_or_else(|| refuse("the daemon has no chain yet".into()))?;
        if epoch > head.height {
            return Err(refuse(format!("the head is at {}", head.height)));
        }
        let oldest = self.log.front().map_or(0, |r| r.entry.height);
        let target = self
            .tipset_at(epoch)
            .ok_or_else(|| refuse(format!("the window starts at {oldest}")))?;
        let covered = oldest == 0 || oldest <= target.height.saturating_sub(depth) + 1;
        if !covered {
            return Err(refuse(format!("the window starts at {oldest}")));
        }
        if !skip_old_msgs && self.rules.skip_old_msgs {
            return Err(refuse(
                "old messages are not kept (daemon runs with skip-old-msgs true)".into(),
            ));
        }
        let mut roots: Vec<Cid> = target.blocks.iter().map(|b| b.header.0).collect();
        let window_floor = target.height.saturating_sub(depth);
        for r in self.log.iter().filter(|r| r.entry.height <= target.height) {
            let h = r.entry.height;
            let recent = h > window_floor;
            if recent || !skip_old_msgs {
                if !r.holds.messages {
                    return Err(refuse(format!("messages at {h} are not held")));
                }
                roots.extend(r.entry.blocks.iter().map(|b| b.messages.0));
            }
            if recent || h == 0 {
                if !r.holds.state {
                    return Err(refuse(format!("state at {h} is not held")));
                }
                roots.extend(r.entry.blocks.iter().map(|b| b.state.0));
            }
        }
        Ok((target.clone(), roots))
    }
}

fn root_set(entry: &TipsetEntry, kind: RootKind) -> RootSet {
    RootSet {
        key: entry.key.clone(),
        height: entry.height,
        kind,
        cids: entry
            .blocks
            .iter()
            .map(|b| match kind {
                RootKind::Headers => b.header.0,
                RootKind::Messages => b.messages.0,
                RootKind::State => b.state.0,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::block_cid;

    fn cid(tag: &str) -> CidJson {
        CidJson(block_cid(tag.as_bytes()))
    }

    fn entry(height: i64, fork: &str, parents: &[CidJson]) -> TipsetEntry {
        let h = cid(&format!("h{height}{fork}"));
        TipsetEntry {
            key: vec![h],
            parents: parents.to_vec(),
            height,
            blocks: vec![BlockRoots {
                header: h,
                messages: cid(&format!("m{height}{fork}")),
                state: cid(&format!("s{height}{fork}")),
            }],
        }
    }

    /// Applies a plan as the daemon would, returning it.
    fn settle(w: &mut Window) -> Plan {
        let plan = w.plan();
        w.mark_linked(&plan.link);
        w.mark_unlinked(&plan.unlink);
        plan
    }

    fn chain(w: &mut Window, from: i64, to: i64, fork: &str) {
        for h in from..=to {
            let parents = w.head().map(|e| e.key.clone()).unwrap_or_default();
            w.apply(entry(h, fork, &parents)).unwrap();
        }
    }

    fn held(w: &Window, kind: RootKind) -> Vec<i64> {
        w.records()
            .filter(|r| r.holds.get(kind))
            .map(|r| r.entry.height)
            .collect()
    }

    #[test]
    fn state_leaves_the_window_messages_follow_skip_rule() {
        let rules = WindowRules {
            depth: 3,
            skip_old_msgs: true,
            reorg_margin: 100,
        };
        let mut w = Window::new(rules);
        chain(&mut w, 0, 9, "");
        settle(&mut w);
        assert_eq!(held(&w, RootKind::State), vec![0, 7, 8, 9]);
        assert_eq!(held(&w, RootKind::Messages), vec![7, 8, 9]);
        chain(&mut w, 10, 10, "");
        let plan = settle(&mut w);
        let unlinked: Vec<_> = plan.unlink.iter().map(|s| (s.height, s.kind)).collect();
        assert_eq!(
            unlinked,
            vec![(7, RootKind::Messages), (7, RootKind::State)]
        );
        assert!(settle(&mut w).is_empty());
    }

    #[test]
    fn revert_releases_what_was_linked_and_window_widens_back() {
        let rules = WindowRules {
            depth: 2,
            skip_old_msgs: false,
            reorg_margin: 100,
        };
        let mut w = Window::new(rules);
        chain(&mut w, 0, 6, "");
        settle(&mut w);
        let head = w.head().unwrap().clone();
        let released = w.revert(&head.key, head.height).unwrap();
        assert_eq!(released.len(), 3);
        // Head is now 5: state for 4 must come back.
        let plan = settle(&mut w);
        assert_eq!(plan.link.len(), 1);
        assert_eq!(
            (plan.link[0].height, plan.link[0].kind),
            (4, RootKind::State)
        );
        assert!(w.revert(&head.key, 6).is_err());
        chain(&mut w, 6, 7, "b");
        settle(&mut w);
        assert_eq!(held(&w, RootKind::State), vec![0, 6, 7]);
        assert_eq!(held(&w, RootKind::Messages).len(), 8);
    }

    #[test]
    fn sealing_keeps_permanent_refs_and_drops_header_refs() {
        let rules = WindowRules {
            depth: 2,
            skip_old_msgs: false,
            reorg_margin: 3,
        };
        let mut w = Window::new(rules);
        chain(&mut w, 0, 10, "");
        let plan = settle(&mut w);
        // Heights ≤ 10 − 2 − 3 = 5 are sealed: never took header refs, keep messages.
        assert_eq!(w.records().next().unwrap().entry.height, 6);
        assert!(plan
            .link
            .iter()
            .all(|s| s.kind != RootKind::Headers || s.height > 5));
        chain(&mut w, 11, 11, "");
        let plan = settle(&mut w);
        let unlinked: Vec<_> = plan.unlink.iter().map(|s| (s.height, s.kind)).collect();
        assert_eq!(unlinked, vec![(6, RootKind::Headers), (9, RootKind::State)]);
        assert_eq!(w.records().next().unwrap().entry.height, 7);
    }

    #[test]
    fn snapshot_roots_checks_coverage() {
        let rules = WindowRules {
            depth: 3,
            skip_old_msgs: true,
            reorg_margin: 2,
        };
        let mut w = Window::new(rules);
        chain(&mut w, 0, 20, "");
        settle(&mut w);
        let (ts, roots) = w.snapshot_roots(20, 3, true).unwrap();
        assert_eq!(ts.height, 20);
        // header + 3 × (messages + state); genesis is sealed (permanent).
        assert_eq!(roots.len(), 7);
        assert!(w.snapshot_roots(19, 3, true).is_err());
        assert!(w.snapshot_roots(20, 4, true).is_err());
        assert!(w.snapshot_roots(20, 3, false).is_err());
        assert!(w.snapshot_roots(21, 3, true).is_err());
    }

    #[test]
    fn pending_pin_keeps_its_window_until_released() {
        let rules = WindowRules {
            depth: 2,
            skip_old_msgs: true,
            reorg_margin: 100,
        };
        let mut w = Window::new(rules);
        w.set_pending_pin(Some(5));
        chain(&mut w, 0, 9, "");
        settle(&mut w);
        assert_eq!(held(&w, RootKind::State), vec![0, 4, 5, 8, 9]);
        assert!(w.snapshot_roots(5, 2, true).is_ok());
        w.set_pending_pin(Some(10));
        let plan = settle(&mut w);
        assert_eq!(plan.unlink.len(), 4);
        assert_eq!(held(&w, RootKind::State), vec![0, 8, 9]);
    }

    #[test]
    fn apply_must_extend_head() {
        let mut w = Window::new(WindowRules {
            depth: 1,
            skip_old_msgs: true,
            reorg_margin: 1,
        });
        chain(&mut w, 0, 2, "");
        assert!(w.apply(entry(3, "x", &[cid("nope")])).is_err());
    }
}
