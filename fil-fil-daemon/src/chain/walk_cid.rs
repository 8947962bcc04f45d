//! The export walk over any [`BlockGet`], with Lotus's `seen`/`walked` sets as
//! one hash map of CIDs (see `walk` for the order it reproduces). Used for stores
//! without an id graph: plain maps loaded from CAR files, the devnet store.

use std::collections::{HashMap, VecDeque};

use ahash::RandomState;
use cid::Cid;

use super::walk::{Link, LinkKind, Tally, WalkError, SEEN, WALKED};
use super::{SnapshotWindow, TipsetKey};
use crate::ipld::{identity_data, is_exported_codec, is_identity, scan_links, BlockGet};
use crate::ipld::{BLAKE2B_256, DAG_CBOR};

pub(super) struct CidWalk<'w, S: ?Sized> {
    store: &'w S,
    window: SnapshotWindow,
    tally: &'w mut Tally,
    marks: Marks,
    /// Emptied link lists, reused so a deep walk does not allocate per node.
    spare: Vec<Vec<Cid>>,
    /// The binary CID of the block being emitted.
    cid_bytes: Vec<u8>,
}

impl<'w, S: BlockGet + ?Sized> CidWalk<'w, S> {
    pub(super) fn new(store: &'w S, window: SnapshotWindow, tally: &'w mut Tally) -> Self {
        Self {
            store,
            window,
            tally,
            marks: Marks::default(),
            spare: Vec::new(),
            cid_bytes: Vec::with_capacity(64),
        }
    }

    pub(super) fn run<E: From<WalkError>>(
        mut self,
        head: &TipsetKey,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut queue: VecDeque<(Cid, Option<Cid>)> =
            head.cids().iter().map(|c| (*c, None)).collect();
        while let Some((cid, child)) = queue.pop_front() {
            if !self.marks.mark(&cid, SEEN) {
                continue;
            }
            cid_to_bytes(&cid, &mut self.cid_bytes);
            let tally = &mut *self.tally;
            let bytes = &self.cid_bytes;
            let fetched = self
                .store
                .with_block(&cid, |data| tally.header(&cid, bytes, data, &mut visit));
            let header = match fetched {
                Some(header) => header?,
                None => {
                    self.tally.absent_header(cid, child)?;
                    continue;
                }
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
        Ok(())
    }

    /// Pre-order DFS of the DAG under `root` (already marked walked).
    fn dag<E: From<WalkError>>(
        &mut self,
        root: Cid,
        kind: LinkKind,
        header: Cid,
        height: i64,
        visit: &mut impl FnMut(&[u8], &[u8]) -> Result<(), E>,
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
        visit: &mut impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<Option<Vec<Cid>>, E> {
        let identity = is_identity(&cid);
        let emit = fresh && !identity && is_exported_codec(cid.codec());
        let scan = descend && cid.codec() == DAG_CBOR;
        if !emit && !scan {
            return Ok(None);
        }
        if emit {
            cid_to_bytes(&cid, &mut self.cid_bytes);
        }
        let spare = &mut self.spare;
        let cid_bytes = &self.cid_bytes;
        let mut work = |data: &[u8]| -> Result<Option<Vec<Cid>>, E> {
            if emit {
                visit(cid_bytes, data)?;
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
                        self.tally.count(len);
                    }
                    result
                }),
        };
        match fetched {
            Some(result) => result,
            None => {
                self.tally.absent(link.missing(cid))?;
                Ok(None)
            }
        }
    }
}

/// Writes the binary form of `cid` into `out` (reused, so no allocation per block).
pub(super) fn cid_to_bytes(cid: &Cid, out: &mut Vec<u8>) {
    out.clear();
    if cid.write_bytes(&mut *out).is_err() {
        // Writing into a Vec cannot fail; stay correct regardless.
        *out = cid.to_bytes();
    }
}

/// Lotus's two CID sets as one map of flag bits, keyed compactly: nearly every
/// CID is v1 blake2b-256, kept as codec + digest (48 bytes instead of a 96-byte
/// `Cid`). aHash: the keys are hashes already vetted, so SipHash's DoS
/// resistance buys nothing here.
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
