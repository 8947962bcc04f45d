//! The Lotus snapshot walk order (`WalkSnapshot` + `recurseLinks` in Lotus
//! `chain/store/snapshot.go`), over any [`BlockGet`]. Export order is part of the
//! snapshot's bytes, so this mirrors Lotus step by step:
//!
//! - breadth-first over headers from the head tipset (a header is visited once,
//!   tracked in `seen`);
//! - per header: the header itself; its message DAG when in the window; for
//!   genesis its parents (the dummy block) instead of queueing them; then its
//!   parent-state DAG when in the window or at genesis; receipts never;
//! - a DAG is walked pre-order depth-first with cbor-gen `ScanForLinks` link
//!   order, only descending into dag-cbor blocks; the `walked` set keeps a
//!   sub-DAG from being walked twice across the whole export;
//! - a block is emitted once (`seen`), never for identity CIDs, and only for the
//!   `raw`, `cbor` and `dag-cbor` codecs (headers are emitted as they are).
//!
//! Lotus collects a DAG's CIDs into a list before emitting them; emitting during
//! the DFS gives the same sequence because nothing reads `seen` in between.
//!
//! Two implementations of the same walk: over a store's id graph
//! ([`BlockGet::graph`], the DAG store) the sets are bitsets over block ids and a
//! node's children come as stored ids (`walk_graph`); over any other store they
//! are hash sets of CIDs (`walk_cid`). Tests export both ways and compare bytes.

use std::fmt;

use cid::Cid;

use super::walk_cid::CidWalk;
use super::walk_graph::GraphWalk;
use super::{BlockHeader, HeaderDecodeError, SnapshotWindow, TipsetKey};
use crate::ipld::{BlockGet, CborScanError};

/// How a missing block was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// A block of the head tipset.
    HeadTipset,
    /// A parent header of a header.
    Parent,
    /// Part of a block's message DAG.
    Messages,
    /// Part of a block's parent-state DAG.
    State,
    /// Genesis's parent (the dummy block every genesis links to).
    GenesisParent,
}

impl fmt::Display for LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HeadTipset => "head tipset block",
            Self::Parent => "parent header",
            Self::Messages => "messages",
            Self::State => "state",
            Self::GenesisParent => "genesis parent",
        })
    }
}

/// A block the window rules require but the store does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingBlock {
    /// The absent block.
    pub cid: Cid,
    /// What part of the snapshot it belongs to.
    pub kind: LinkKind,
    /// The block whose bytes link to it (`None` for head tipset blocks).
    pub linked_from: Option<Cid>,
    /// Height of the header whose walk reached it (`None` for head blocks).
    pub height: Option<i64>,
}

impl fmt::Display for MissingBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "missing {} block {}", self.kind, self.cid)?;
        if let Some(from) = self.linked_from {
            write!(f, ", linked from {from}")?;
        }
        if let Some(h) = self.height {
            write!(f, " (walking height {h})")?;
        }
        Ok(())
    }
}

/// Why a snapshot walk stopped.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// A required block is not in the store.
    #[error("{0}")]
    Missing(Box<MissingBlock>),
    /// A block reached as a header does not decode as one.
    #[error("block {cid} is not a block header: {source}")]
    BadHeader {
        /// The block.
        cid: Cid,
        /// Decoder message.
        #[source]
        source: HeaderDecodeError,
    },
    /// A dag-cbor block could not be scanned for links.
    #[error("cannot scan dag-cbor block {cid} for links: {source}")]
    BadLinks {
        /// The block (boxed: CIDs are large and errors should stay small).
        cid: Box<Cid>,
        /// Scanner error.
        #[source]
        source: CborScanError,
    },
    /// The requested epoch lies above the head.
    #[error("epoch {epoch} is above the head at height {head}")]
    EpochAboveHead {
        /// Requested epoch.
        epoch: i64,
        /// Head height.
        head: i64,
    },
    /// A tipset key with no blocks was given or found.
    #[error("empty tipset key")]
    EmptyTipset,
}

/// Counts from a finished walk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// Blocks handed to the visitor.
    pub blocks: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Headers visited.
    pub headers: u64,
}

/// One export walk: head tipset, window, and what to do about absent blocks.
#[derive(Debug)]
pub struct SnapshotWalk<'s, S: ?Sized> {
    store: &'s S,
    head: TipsetKey,
    window: SnapshotWindow,
    tally: Tally,
}

impl<'s, S: BlockGet + ?Sized> SnapshotWalk<'s, S> {
    /// Prepares a walk from `head` (in tipset order) under `window`. By default
    /// the first missing block ends the walk with [`WalkError::Missing`].
    pub fn new(store: &'s S, head: TipsetKey, window: SnapshotWindow) -> Self {
        Self {
            store,
            head,
            window,
            tally: Tally::default(),
        }
    }

    /// Records missing blocks and walks on past them instead of failing (for
    /// validation); see [`SnapshotWalk::missing`].
    pub fn collect_missing(mut self) -> Self {
        self.tally.collect_missing = true;
        self
    }

    /// Blocks found missing so far (only with [`SnapshotWalk::collect_missing`]).
    pub fn missing(&self) -> &[MissingBlock] {
        &self.tally.missing
    }

    /// Runs the walk, handing every block to `visit` in export order.
    pub fn run<E: From<WalkError>>(
        &mut self,
        mut visit: impl FnMut(&Cid, &[u8]) -> Result<(), E>,
    ) -> Result<WalkStats, E> {
        self.run_raw(|cid, data| {
            let cid = Cid::try_from(cid).map_err(|_| WalkError::BadLinks {
                cid: Box::default(),
                source: CborScanError::BadLink {
                    offset: 0,
                    reason: "bytes are not a CID",
                },
            })?;
            visit(&cid, data)
        })
    }

    /// [`SnapshotWalk::run`] handing each block's CID as its binary form, which
    /// is what a CAR section holds: no `Cid` is built per block.
    pub fn run_raw<E: From<WalkError>>(
        &mut self,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<WalkStats, E> {
        let graph = self.store.graph();
        self.run_emitting(false, |cid, emitted| match emitted {
            Emitted::Bytes(data) => visit(cid, data),
            // Not emitted without `by_id`; read back rather than dropped.
            Emitted::Id { id, .. } => {
                let mut result = Ok(());
                if let Some(graph) = graph {
                    graph.with_view(&mut |view| result = visit(cid, view.node(id).data));
                }
                result
            }
        })
    }

    /// [`SnapshotWalk::run_raw`] for callers that can read blocks back from the
    /// store's id graph ([`BlockGet::graph`]) themselves: over the graph,
    /// leaves (dag-cbor blocks without links, raw blocks) are handed as
    /// [`Emitted::Id`], and the walk reads no record of a dag-cbor leaf whose
    /// length its parent's child list holds (most of them). Blocks
    /// the walk reads to follow their links come as [`Emitted::Bytes`] when
    /// they are small (their bytes are in cache) and as [`Emitted::Id`]
    /// otherwise; headers always come with their bytes. [`WalkStats::bytes`]
    /// counts only bytes handed over.
    pub fn run_with_ids<E: From<WalkError>>(
        &mut self,
        visit: impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<WalkStats, E> {
        self.run_emitting(true, visit)
    }

    fn run_emitting<E: From<WalkError>>(
        &mut self,
        by_id: bool,
        mut visit: impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<WalkStats, E> {
        if self.head.is_empty() {
            return Err(WalkError::EmptyTipset.into());
        }
        let tally = &mut self.tally;
        match self.store.graph() {
            Some(graph) => {
                GraphWalk::new(&self.head, self.window, tally, by_id).run(graph, visit)?
            }
            None => CidWalk::new(self.store, self.window, tally)
                .run(&self.head, |cid, data| visit(cid, Emitted::Bytes(data)))?,
        }
        Ok(self.tally.stats)
    }
}

/// A block as a walk hands it to its visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emitted<'a> {
    /// The block's bytes.
    Bytes(&'a [u8]),
    /// A block of the store's id graph, by id (valid while the walk's roots
    /// stay pinned), and the length of its bytes: read it back with
    /// [`GraphView::node`](crate::ipld::GraphView::node).
    Id {
        /// The block's id.
        id: u64,
        /// Its length in bytes.
        len: usize,
    },
}

/// Counts and missing blocks, shared by both walk implementations.
#[derive(Debug, Default)]
pub(super) struct Tally {
    collect_missing: bool,
    missing: Vec<MissingBlock>,
    pub(super) stats: WalkStats,
}

impl Tally {
    #[inline]
    pub(super) fn count(&mut self, len: usize) {
        self.stats.blocks += 1;
        self.stats.bytes += len as u64;
    }

    pub(super) fn absent<E: From<WalkError>>(&mut self, missing: MissingBlock) -> Result<(), E> {
        if self.collect_missing {
            self.missing.push(missing);
            Ok(())
        } else {
            Err(WalkError::Missing(Box::new(missing)).into())
        }
    }

    /// A header missing: from the head tipset (`child` none) or as a parent.
    pub(super) fn absent_header<E: From<WalkError>>(
        &mut self,
        cid: Cid,
        child: Option<Cid>,
    ) -> Result<(), E> {
        let kind = match child {
            None => LinkKind::HeadTipset,
            Some(_) => LinkKind::Parent,
        };
        self.absent(MissingBlock {
            cid,
            kind,
            linked_from: child,
            height: None,
        })
    }

    /// Emits and decodes one header.
    pub(super) fn header<E: From<WalkError>>(
        &mut self,
        cid: &Cid,
        cid_bytes: &[u8],
        data: &[u8],
        visit: &mut impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<BlockHeader, E> {
        visit(cid_bytes, data)?;
        let header = BlockHeader::decode(data)
            .map_err(|source| WalkError::BadHeader { cid: *cid, source })?;
        self.count(data.len());
        self.stats.headers += 1;
        Ok(header)
    }
}

/// Lotus's `seen` (emitted) set.
pub(super) const SEEN: u8 = 1;
/// Lotus's `walked` (descended into) set.
pub(super) const WALKED: u8 = 2;

/// Where a DAG node was reached from, for error reports.
#[derive(Debug, Clone, Copy)]
pub(super) struct Link {
    pub(super) kind: LinkKind,
    pub(super) from: Cid,
    pub(super) height: i64,
}

impl Link {
    pub(super) fn missing(&self, cid: Cid) -> MissingBlock {
        MissingBlock {
            cid,
            kind: self.kind,
            linked_from: Some(self.from),
            height: Some(self.height),
        }
    }
}

/// Height of the tipset named by `key` (from its first block).
pub fn tipset_height<S: BlockGet + ?Sized>(store: &S, key: &TipsetKey) -> Result<i64, WalkError> {
    Ok(load_first(store, key, None)?.height)
}

/// The tipset at the largest height ≤ `epoch` on the chain ending in `head`
/// (so a null-round epoch resolves to the tipset before it, as Lotus's
/// `ChainGetTipSetByHeight` does), with its height.
pub fn tipset_at_or_below<S: BlockGet + ?Sized>(
    store: &S,
    head: &TipsetKey,
    epoch: i64,
) -> Result<(TipsetKey, i64), WalkError> {
    let mut key = head.clone();
    let mut child = None;
    let first = load_first(store, &key, child)?;
    if first.height < epoch {
        return Err(WalkError::EpochAboveHead {
            epoch,
            head: first.height,
        });
    }
    let mut header = first;
    loop {
        if header.height <= epoch || header.height == 0 {
            return Ok((key, header.height));
        }
        child = key.cids().first().copied();
        key = TipsetKey::new(header.parents.clone());
        header = load_first(store, &key, child)?;
    }
}

fn load_first<S: BlockGet + ?Sized>(
    store: &S,
    key: &TipsetKey,
    child: Option<Cid>,
) -> Result<BlockHeader, WalkError> {
    let cid = key.cids().first().ok_or(WalkError::EmptyTipset)?;
    let decoded = store.with_block(cid, BlockHeader::decode).ok_or_else(|| {
        WalkError::Missing(Box::new(MissingBlock {
            cid: *cid,
            kind: if child.is_some() {
                LinkKind::Parent
            } else {
                LinkKind::HeadTipset
            },
            linked_from: child,
            height: None,
        }))
    })?;
    decoded.map_err(|source| WalkError::BadHeader { cid: *cid, source })
}
