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

use std::collections::{HashMap, VecDeque};
use std::fmt;

use ahash::RandomState;
use cid::Cid;

use super::{BlockHeader, HeaderDecodeError, SnapshotWindow, TipsetKey};
use crate::ipld::{identity_data, is_exported_codec, is_identity, scan_links, BlockGet};
use crate::ipld::{CborScanError, BLAKE2B_256, DAG_CBOR};

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
    collect_missing: bool,
    missing: Vec<MissingBlock>,
    marks: Marks,
    /// Emptied link lists, reused so a deep walk does not allocate per node.
    spare: Vec<Vec<Cid>>,
    stats: WalkStats,
}

impl<'s, S: BlockGet + ?Sized> SnapshotWalk<'s, S> {
    /// Prepares a walk from `head` (in tipset order) under `window`. By default
    /// the first missing block ends the walk with [`WalkError::Missing`].
    pub fn new(store: &'s S, head: TipsetKey, window: SnapshotWindow) -> Self {
        Self {
            store,
            head,
            window,
            collect_missing: false,
            missing: Vec::new(),
            marks: Marks::default(),
            spare: Vec::new(),
            stats: WalkStats::default(),
        }
    }

    /// Records missing blocks and walks on past them instead of failing (for
    /// validation); see [`SnapshotWalk::missing`].
    pub fn collect_missing(mut self) -> Self {
        self.collect_missing = true;
        self
    }

    /// Blocks found missing so far (only with [`SnapshotWalk::collect_missing`]).
    pub fn missing(&self) -> &[MissingBlock] {
        &self.missing
    }

    /// Runs the walk, handing every block to `visit` in export order.
    pub fn run<E: From<WalkError>>(
        &mut self,
        mut visit: impl FnMut(&Cid, &[u8]) -> Result<(), E>,
    ) -> Result<WalkStats, E> {
        if self.head.is_empty() {
            return Err(WalkError::EmptyTipset.into());
        }
        let mut queue: VecDeque<(Cid, Option<Cid>)> =
            self.head.cids().iter().map(|c| (*c, None)).collect();
        while let Some((cid, child)) = queue.pop_front() {
            if !self.marks.mark(&cid, SEEN) {
                continue;
            }
            let Some(header) = self.header(&cid, child, &mut visit)? else {
                continue;
            };
            let height = header.height;
            if self.window.messages_in_window(height) && self.marks.mark(&header.messages, WALKED) {
                self.dag(header.messages, LinkKind::Messages, cid, height, &mut visit)?;
            }
            if height > 0 {
                queue.extend(header.parents.iter().map(|p| (*p, Some(cid))));
            } else {
                for parent in &header.parents {
                    let from = Link {
                        kind: LinkKind::GenesisParent,
                        from: cid,
                        height,
                    };
                    let fresh = self.marks.set(parent, SEEN) & SEEN == 0;
                    self.node(*parent, fresh, from, false, &mut visit)?;
                }
            }
            if self.window.state_in_window(height)
                && self.marks.mark(&header.parent_state_root, WALKED)
            {
                self.dag(
                    header.parent_state_root,
                    LinkKind::State,
                    cid,
                    height,
                    &mut visit,
                )?;
            }
        }
        Ok(self.stats)
    }

    /// Emits and decodes one header; `None` if it is missing and being collected.
    fn header<E: From<WalkError>>(
        &mut self,
        cid: &Cid,
        child: Option<Cid>,
        visit: &mut impl FnMut(&Cid, &[u8]) -> Result<(), E>,
    ) -> Result<Option<BlockHeader>, E> {
        let fetched = self.store.with_block(cid, |data| -> Result<_, E> {
            visit(cid, data)?;
            let header = BlockHeader::decode(data)
                .map_err(|source| WalkError::BadHeader { cid: *cid, source })?;
            Ok((header, data.len()))
        });
        match fetched {
            Some(result) => {
                let (header, len) = result?;
                self.count(len);
                self.stats.headers += 1;
                Ok(Some(header))
            }
            None => {
                let kind = match child {
                    None => LinkKind::HeadTipset,
                    Some(_) => LinkKind::Parent,
                };
                self.absent(MissingBlock {
                    cid: *cid,
                    kind,
                    linked_from: child,
                    height: None,
                })?;
                Ok(None)
            }
        }
    }

    /// Pre-order DFS of the DAG under `root` (already marked walked).
    fn dag<E: From<WalkError>>(
        &mut self,
        root: Cid,
        kind: LinkKind,
        header: Cid,
        height: i64,
        visit: &mut impl FnMut(&Cid, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let root_link = Link {
            kind,
            from: header,
            height,
        };
        let mut stack: Vec<Frame> = Vec::new();
        let fresh = self.marks.set(&root, SEEN) & SEEN == 0;
        if let Some(links) = self.node(root, fresh, root_link, true, visit)? {
            stack.push(Frame {
                cid: root,
                links,
                next: 0,
            });
        }
        while let Some(top) = stack.last_mut() {
            let Some(&cid) = top.links.get(top.next) else {
                if let Some(done) = stack.pop() {
                    self.spare.push(done.links);
                }
                continue;
            };
            top.next += 1;
            let parent = top.cid;
            // One probe for both of Lotus's sets. Marking `seen` before the
            // codec filter matches Lotus, whose `seen.Visit` also runs first.
            let before = self.marks.set(&cid, WALKED | SEEN);
            if before & WALKED != 0 {
                continue;
            }
            let link = Link {
                kind,
                from: parent,
                height,
            };
            if let Some(links) = self.node(cid, before & SEEN == 0, link, true, visit)? {
                stack.push(Frame {
                    cid,
                    links,
                    next: 0,
                });
            }
        }
        Ok(())
    }

    /// Emits `cid` if `fresh` (first time seen) and exportable and, when
    /// `descend` and it is dag-cbor, returns its links. Fetches at most once.
    fn node<E: From<WalkError>>(
        &mut self,
        cid: Cid,
        fresh: bool,
        link: Link,
        descend: bool,
        visit: &mut impl FnMut(&Cid, &[u8]) -> Result<(), E>,
    ) -> Result<Option<Vec<Cid>>, E> {
        let identity = is_identity(&cid);
        let emit = fresh && !identity && is_exported_codec(cid.codec());
        let scan = descend && cid.codec() == DAG_CBOR;
        if !emit && !scan {
            return Ok(None);
        }
        let spare = &mut self.spare;
        let mut work = |data: &[u8]| -> Result<Option<Vec<Cid>>, E> {
            if emit {
                visit(&cid, data)?;
            }
            if !scan {
                return Ok(None);
            }
            let mut links = spare.pop().unwrap_or_default();
            links.clear();
            scan_links(data, |c| links.push(c)).map_err(|source| WalkError::BadLinks {
                cid: Box::new(cid),
                source,
            })?;
            Ok(Some(links))
        };
        let fetched = match identity_data(&cid) {
            Some(inline) => Some(work(inline)),
            None => self
                .store
                .with_block(&cid, |data| (work(data), data.len()))
                .map(|(result, len)| {
                    if emit {
                        self.count(len);
                    }
                    result
                }),
        };
        match fetched {
            Some(result) => result,
            None => {
                self.absent(MissingBlock {
                    cid,
                    kind: link.kind,
                    linked_from: Some(link.from),
                    height: Some(link.height),
                })?;
                Ok(None)
            }
        }
    }

    fn count(&mut self, len: usize) {
        self.stats.blocks += 1;
        self.stats.bytes += len as u64;
    }

    fn absent<E: From<WalkError>>(&mut self, missing: MissingBlock) -> Result<(), E> {
        if self.collect_missing {
            self.missing.push(missing);
            Ok(())
        } else {
            Err(WalkError::Missing(Box::new(missing)).into())
        }
    }
}

/// Lotus's `seen` (emitted) set.
const SEEN: u8 = 1;
/// Lotus's `walked` (descended into) set.
const WALKED: u8 = 2;

/// Lotus's two CID sets as one map of flag bits, keyed compactly: nearly every
/// CID is v1 blake2b-256, kept as codec + digest (48 bytes instead of a 96-byte
/// `Cid`), so a 10^8-object export keeps its sets in a third of the memory and
/// touches one table per block. aHash: the keys are hashes already vetted, so
/// SipHash's DoS resistance buys nothing here.
#[derive(Debug, Default)]
struct Marks(HashMap<CidKey, u8, RandomState>);

#[derive(Debug, PartialEq, Eq, Hash)]
enum CidKey {
    Blake2b { codec: u64, digest: [u8; 32] },
    Other(Box<Cid>),
}

impl Marks {
    /// Sets `flag` on `cid`; true if it was not set before.
    fn mark(&mut self, cid: &Cid, flag: u8) -> bool {
        self.set(cid, flag) & flag == 0
    }

    /// Sets `flags` on `cid`, returning the bits it had before.
    fn set(&mut self, cid: &Cid, flags: u8) -> u8 {
        let bits = self.0.entry(CidKey::of(cid)).or_insert(0);
        let before = *bits;
        *bits |= flags;
        before
    }
}

impl CidKey {
    fn of(cid: &Cid) -> Self {
        let mh = cid.hash();
        match <[u8; 32]>::try_from(mh.digest()) {
            Ok(digest) if cid.version() == cid::Version::V1 && mh.code() == BLAKE2B_256 => {
                Self::Blake2b {
                    codec: cid.codec(),
                    digest,
                }
            }
            _ => Self::Other(Box::new(*cid)),
        }
    }
}

/// A DAG node on the DFS stack and how far through its links the walk is.
#[derive(Debug)]
struct Frame {
    cid: Cid,
    links: Vec<Cid>,
    next: usize,
}

/// Where a DAG node was reached from, for error reports.
#[derive(Debug, Clone, Copy)]
struct Link {
    kind: LinkKind,
    from: Cid,
    height: i64,
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
