//! The export walk over a store's id graph (see `walk` for the order it
//! reproduces). Lotus's `walked` and `seen` sets become bitsets indexed by
//! block id (interleaved, so both bits of a block share one cache line), and a
//! DAG node's children come as the ids the store recorded when it linked the
//! node, so checking a link is one bit test, not a hash of its CID and a probe
//! into a set of millions (with path-copied state, most links of a walked node
//! point at already-walked siblings). The same list gives where each child's
//! CID sits in the parent's bytes, so listed nodes are never parsed as CBOR and
//! the CAR's CID bytes come straight from the parent; a `Cid` is built only on
//! rare paths (inline identity blocks, nodes without a list, error reports).
//! Leaves (blocks without links to follow, about half of a chain) are handed
//! over by id and length, the length from the parent's list, so the records of
//! leaves under [`ChildIds::MAX_LEAF_LEN`] bytes are never read here and the
//! exporter can leave copying their bytes to another thread; so are blocks the
//! walk reads but whose bytes are mostly cold (over [`COPY_INLINE`]). Small
//! blocks the walk reads anyway come with their bytes. Over the DAG store's own
//! view the walk is compiled for that type, so record reads inline.
//!
//! The walk is a resumable state machine: it runs a bounded number of steps per
//! read view, so the store can let a writer in between views. Everything it keeps
//! across views is ids and offsets, never borrowed bytes.

use std::collections::{HashMap, VecDeque};

use ahash::RandomState;
use cid::Cid;

use super::walk::{Emitted, Link, LinkKind, Tally, WalkError, SEEN, WALKED};
use super::walk_cid::cid_to_bytes;
use super::{SnapshotWindow, TipsetKey};
use crate::dag::store_view;
use crate::ipld::{cid_codec_and_hash, identity_data, is_exported_codec, is_identity, leading_cid};
use crate::ipld::{prefetch, DAG_CBOR, IDENTITY};
use crate::ipld::{
    BlockGraph, CborScanError, Child, ChildIds, GraphView, LeafLen, LinkCursor, RawLink,
};

/// How many children ahead of the one it is on the walk asks for a child's
/// record (see [`GraphWalk::prefetch_child`]). Processing a child takes long
/// enough (its marks, its record, its sections) that a few children of lead
/// cover a miss; asking further ahead only kept more misses in flight.
const LOOK_AHEAD: usize = 4;

/// Largest block the walk hands over with its bytes when it could hand it
/// over by id: up to this size the bytes came into the cache with the record's
/// prefetch, so copying them here is cheap; a larger block's bytes are mostly
/// cold, and copying them is left to the exporter's other thread.
const COPY_INLINE: usize = 160;

/// Walk steps (links examined, headers, roots) per read view.
const STEPS_PER_VIEW: usize = 1 << 14;

pub(super) struct GraphWalk<'w> {
    window: SnapshotWindow,
    tally: &'w mut Tally,
    headers: VecDeque<(Cid, Option<Cid>)>,
    tasks: VecDeque<Task>,
    /// The DAG being walked: its root and how it was reached.
    dag: Option<(Cid, Link)>,
    stack: Vec<Frame>,
    /// Inline identity blocks on the stack (frames name them by index).
    inline: Vec<Cid>,
    marks: Marks,
    /// Both flags for CIDs without an id: identity and missing blocks.
    side: HashMap<Cid, u8, RandomState>,
    cid_bytes: Vec<u8>,
    /// Hand leaves over by id (see [`Emitted::Id`]) without reading their
    /// records, and blocks over [`COPY_INLINE`] bytes by id too; small blocks
    /// the walk reads anyway come with their bytes.
    by_id: bool,
}

/// Work queued by a header, run in Lotus's order once the header is emitted.
enum Task {
    /// Walk the DAG under `root` if it is not walked yet.
    Dag { root: Cid, link: Link },
    /// Emit genesis's parent (not descended into).
    GenesisParent { cid: Cid, link: Link },
}

/// A block to mark: by id when the store holds it, else by CID.
#[derive(Clone, Copy)]
enum Target {
    Id(u64),
    Side(Cid),
}

#[derive(Clone, Copy)]
enum FrameNode {
    Id(u64),
    Inline(usize),
}

/// A DAG node on the DFS stack and how far through its links the walk is.
#[derive(Clone, Copy)]
struct Frame {
    node: FrameNode,
    cursor: LinkCursor,
    next_child: usize,
    /// Offset and length of this node's CID in the parent frame's bytes.
    cid_at: (usize, usize),
}

/// Hands a held block the walk has read to `visit`: with its bytes when they
/// are in cache anyway (up to [`COPY_INLINE`]), else, with `by_id`, by id.
fn hand_over<E>(
    by_id: bool,
    tally: &mut Tally,
    cid: &[u8],
    id: u64,
    data: &[u8],
    visit: &mut impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
) -> Result<(), E> {
    if by_id && data.len() > COPY_INLINE {
        let len = data.len();
        visit(cid, Emitted::Id { id, len })?;
        tally.count(0);
    } else {
        visit(cid, Emitted::Bytes(data))?;
        tally.count(data.len());
    }
    Ok(())
}

/// The length of block `id`, `leaf` as its parent's list has it: from the
/// list for a small leaf, else from the block's record.
#[inline(always)]
fn leaf_len<V: GraphView + ?Sized>(leaf: Option<LeafLen>, id: u64, view: &V) -> usize {
    match leaf {
        Some(LeafLen::Known(len)) => len,
        _ => view.node(id).data.len(),
    }
}

/// A frame's node that has a child list, as read from the view.
#[derive(Clone, Copy)]
struct Listed<'v> {
    data: &'v [u8],
    list: ChildIds<'v>,
}

/// `node`'s data and list, if it is a held block with a list.
fn listed<V: GraphView + ?Sized>(view: &V, node: FrameNode) -> Option<Listed<'_>> {
    let FrameNode::Id(id) = node else {
        return None;
    };
    let node = view.node(id);
    node.children.map(|list| Listed {
        data: node.data,
        list,
    })
}

impl<'w> GraphWalk<'w> {
    pub(super) fn new(
        head: &TipsetKey,
        window: SnapshotWindow,
        tally: &'w mut Tally,
        by_id: bool,
    ) -> Self {
        Self {
            window,
            tally,
            headers: head.cids().iter().map(|c| (*c, None)).collect(),
            tasks: VecDeque::new(),
            dag: None,
            stack: Vec::new(),
            inline: Vec::new(),
            marks: Marks::default(),
            side: HashMap::default(),
            cid_bytes: Vec::with_capacity(64),
            by_id,
        }
    }

    pub(super) fn run<E: From<WalkError>>(
        mut self,
        graph: &dyn BlockGraph,
        mut visit: impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut result = Ok(());
        graph.read_views(&mut |view| {
            // The DAG store's view gets a walk compiled for it, so record
            // reads and prefetches inline instead of going through the vtable
            // tens of millions of times.
            let steps = match store_view(view) {
                Some(store) => self.steps(store, &mut visit),
                None => self.steps(view, &mut visit),
            };
            match steps {
                Ok(more) => more,
                Err(err) => {
                    result = Err(err);
                    false
                }
            }
        });
        result
    }

    /// Runs up to [`STEPS_PER_VIEW`] steps; false once the walk is complete.
    ///
    /// `open` holds, for each frame on the stack, the data and child list of
    /// its node when it has a list, read once when the frame is pushed (or when
    /// this view starts), so moving down and back up the DFS does not look
    /// records up again. It borrows from `view`, so it lives for one view.
    fn steps<E: From<WalkError>, V: GraphView + ?Sized>(
        &mut self,
        view: &V,
        visit: &mut impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<bool, E> {
        let bound = view.id_bound();
        self.marks.reserve(bound);
        let mut open: Vec<Option<Listed<'_>>> = Vec::with_capacity(self.stack.len() + 64);
        for frame in &self.stack {
            open.push(listed(view, frame.node));
        }
        for _ in 0..STEPS_PER_VIEW {
            if let Some(Some(top)) = open.last().copied() {
                self.advance_listed(top, &mut open, view, visit)?;
                continue;
            }
            // Each of these either only pushes frames or only pops one.
            let before = self.stack.len();
            if !self.stack.is_empty() {
                self.advance(view, visit)?;
            } else if let Some(task) = self.tasks.pop_front() {
                self.task(task, view, visit)?;
            } else if let Some((cid, child)) = self.headers.pop_front() {
                self.header(cid, child, view, visit)?;
            } else {
                return Ok(false);
            }
            open.truncate(self.stack.len().min(before));
            for frame in self.stack.get(open.len()..).unwrap_or_default() {
                open.push(listed(view, frame.node));
            }
        }
        Ok(true)
    }

    fn target<V: GraphView + ?Sized>(view: &V, cid: &Cid) -> Target {
        match view.resolve(cid) {
            Some(id) => Target::Id(id),
            None => Target::Side(*cid),
        }
    }

    /// Sets `flags` on `target`, returning the bits it had before.
    fn set(&mut self, target: &Target, flags: u8) -> u8 {
        match target {
            Target::Id(id) => self.marks.set(*id, flags),
            Target::Side(cid) => {
                let bits = self.side.entry(*cid).or_insert(0);
                let before = *bits;
                *bits |= flags;
                before
            }
        }
    }

    fn header<E: From<WalkError>, V: GraphView + ?Sized>(
        &mut self,
        cid: Cid,
        child: Option<Cid>,
        view: &V,
        visit: &mut impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let target = Self::target(view, &cid);
        if self.set(&target, SEEN) & SEEN != 0 {
            return Ok(());
        }
        let Target::Id(id) = target else {
            return self.tally.absent_header(cid, child);
        };
        cid_to_bytes(&cid, &mut self.cid_bytes);
        let header =
            self.tally
                .header(&cid, &self.cid_bytes, view.node(id).data, &mut |c, d| {
                    visit(c, Emitted::Bytes(d))
                })?;
        let height = header.height;
        let link = |kind| Link {
            kind,
            from: cid,
            height,
        };
        if self.window.messages_in_window(height) {
            self.tasks.push_back(Task::Dag {
                root: header.messages,
                link: link(LinkKind::Messages),
            });
        }
        if height > 0 {
            self.headers
                .extend(header.parents.iter().map(|p| (*p, Some(cid))));
        } else {
            self.tasks
                .extend(header.parents.iter().map(|p| Task::GenesisParent {
                    cid: *p,
                    link: link(LinkKind::GenesisParent),
                }));
        }
        if self.window.state_in_window(height) {
            self.tasks.push_back(Task::Dag {
                root: header.parent_state_root,
                link: link(LinkKind::State),
            });
        }
        Ok(())
    }

    fn task<E: From<WalkError>, V: GraphView + ?Sized>(
        &mut self,
        task: Task,
        view: &V,
        visit: &mut impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match task {
            Task::Dag { root, link } => {
                let target = Self::target(view, &root);
                if self.set(&target, WALKED) & WALKED != 0 {
                    return Ok(());
                }
                let fresh = self.set(&target, SEEN) & SEEN == 0;
                self.dag = Some((root, link));
                self.inline.clear();
                self.enter(root, target, fresh, link, true, view, visit)
            }
            Task::GenesisParent { cid, link } => {
                let target = Self::target(view, &cid);
                let fresh = self.set(&target, SEEN) & SEEN == 0;
                self.enter(cid, target, fresh, link, false, view, visit)
            }
        }
    }

    /// A block reached by CID (a DAG root or genesis's parent): emitted if
    /// `fresh` and exportable, descended into if `descend` and dag-cbor.
    #[allow(clippy::too_many_arguments)]
    fn enter<E: From<WalkError>, V: GraphView + ?Sized>(
        &mut self,
        cid: Cid,
        target: Target,
        fresh: bool,
        link: Link,
        descend: bool,
        view: &V,
        visit: &mut impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let identity = is_identity(&cid);
        let emit = fresh && !identity && is_exported_codec(cid.codec());
        let scan = descend && cid.codec() == DAG_CBOR;
        if !emit && !scan {
            return Ok(());
        }
        let (node, children, data) = match target {
            Target::Id(id) => {
                let node = view.node(id);
                if emit {
                    cid_to_bytes(&cid, &mut self.cid_bytes);
                    let by_id = self.by_id;
                    hand_over(by_id, self.tally, &self.cid_bytes, id, node.data, visit)?;
                }
                (FrameNode::Id(id), node.children, node.data)
            }
            Target::Side(_) if identity => {
                self.inline.push(cid);
                (FrameNode::Inline(self.inline.len() - 1), None, &[][..])
            }
            Target::Side(_) => return self.tally.absent(link.missing(cid)),
        };
        if scan {
            self.push(view, node, children, data, (0, 0));
        }
        Ok(())
    }

    /// Puts a dag-cbor node on the DFS stack; `children` is its stored child-id
    /// list (if any). A node whose list is empty gets no frame: the list holds
    /// every link that is exported and not identity-hashed, and it has none, so
    /// scanning it would skip every link (it scanned cleanly when it was linked).
    /// Returns whether a frame was pushed.
    fn push<V: GraphView + ?Sized>(
        &mut self,
        view: &V,
        node: FrameNode,
        children: Option<ChildIds<'_>>,
        data: &[u8],
        cid_at: (usize, usize),
    ) -> bool {
        if let Some(ids) = children {
            if ids.is_empty() {
                return false;
            }
            // Start the loads of every child's marks together (children sit
            // close in the arena, so these are a few lines): their misses
            // overlap instead of being paid one by one as the DFS reaches them.
            for id in ids.ids() {
                self.marks.prefetch(id);
            }
            // Then the records of the first few children; the walk asks for the
            // rest one at a time as it moves along the list. Their marks are
            // not in yet, so these are asked for even if walked.
            for child in ids.iter().take(LOOK_AHEAD) {
                self.prefetch_child(child, data, view);
            }
        }
        self.stack.push(Frame {
            node,
            cursor: LinkCursor::new(),
            next_child: 0,
            cid_at,
        });
        true
    }

    /// Starts loading what the walk will read of `child` of the node whose
    /// bytes are `data`: its CID there, and its record unless it is a leaf
    /// handed over by id (whose record is only read by whoever copies it).
    #[inline(always)]
    fn prefetch_child<V: GraphView + ?Sized>(&self, child: Child, data: &[u8], view: &V) {
        if let Some(byte) = data.get(child.cid_at) {
            prefetch(byte);
        }
        if !(self.by_id && child.leaf.is_some()) {
            view.prefetch(child.id);
        }
    }

    /// Works through the links of a top frame without a child list (see
    /// [`GraphWalk::advance_scanned`]); listed frames go through
    /// [`GraphWalk::advance_listed`].
    fn advance<E: From<WalkError>, V: GraphView + ?Sized>(
        &mut self,
        view: &V,
        visit: &mut impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let depth = self.stack.len() - 1;
        let data = match self.stack[depth].node {
            FrameNode::Id(id) => view.node(id).data,
            FrameNode::Inline(i) => {
                let inline = self.inline.get(i).copied().unwrap_or_default();
                return self.advance_scanned(
                    depth,
                    identity_data(&inline).unwrap_or(&[]),
                    view,
                    visit,
                );
            }
        };
        self.advance_scanned(depth, data, view, visit)
    }

    /// Works through the links of the top frame, whose node has a stored child
    /// list (`top`, also the last entry of `open`): ids and CID offsets come
    /// from the list, so the node's CBOR is not parsed again. Skips
    /// already-walked children, emits children that need no frame of their
    /// own (leaves) and carries on, and returns once a child got a frame (it
    /// is walked next) or the frame is done (popped).
    fn advance_listed<'v, E: From<WalkError>, V: GraphView + ?Sized>(
        &mut self,
        top: Listed<'v>,
        open: &mut Vec<Option<Listed<'v>>>,
        view: &'v V,
        visit: &mut impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let depth = self.stack.len() - 1;
        let Listed { data, list } = top;
        let mut next = self.stack[depth].next_child;
        loop {
            let Some(Child {
                id,
                cid_at: at,
                leaf,
            }) = list.get(next)
            else {
                self.stack.pop();
                open.pop();
                return Ok(());
            };
            next += 1;
            if let Some(ahead) = list.get(next + LOOK_AHEAD - 1) {
                // Its marks came in with the frame's push; in path-copied state
                // most children are walked, and their records are not needed.
                if !self.marks.walked(ahead.id) {
                    self.prefetch_child(ahead, data, view);
                }
            }
            // Walked implies seen, so a walked child has both marks already.
            let before = self.marks.set(id, WALKED | SEEN);
            if before & WALKED != 0 {
                continue;
            }
            let Some((cid, codec)) = data.get(at..).and_then(leading_cid) else {
                let link = RawLink {
                    at,
                    offset: at,
                    cid: &[],
                };
                let reason = "stored child list points past a CID";
                return Err(self.bad_link(depth, &link, reason, view).into());
            };
            if self.by_id && (leaf.is_some() || codec != DAG_CBOR) {
                // Nothing to descend into, and the visitor reads the bytes
                // itself: a small leaf's record is not touched here at all.
                if before & SEEN == 0 {
                    let len = leaf_len(leaf, id, view);
                    visit(cid, Emitted::Id { id, len })?;
                    self.tally.count(0);
                }
                continue;
            }
            let child = view.node(id);
            if before & SEEN == 0 {
                hand_over(self.by_id, self.tally, cid, id, child.data, visit)?;
            }
            // A child with a frame is walked next; one that needed none (a
            // leaf, or a node with only leaves below it) lets this frame go on.
            if codec == DAG_CBOR {
                if let Some(list) = child
                    .children
                    .filter(|l| l.iter().all(|c| c.leaf.is_some()))
                {
                    if self.emit_leaves(list, child.data, view, visit)? {
                        continue;
                    }
                }
                self.stack[depth].next_child = next;
                if self.push(
                    view,
                    FrameNode::Id(id),
                    child.children,
                    child.data,
                    (at, cid.len()),
                ) {
                    open.push(child.children.map(|list| Listed {
                        data: child.data,
                        list,
                    }));
                    return Ok(());
                }
            }
        }
    }

    /// Walks a node whose children are all leaves (an actor and its state,
    /// say) without giving it a frame: marks and emits each child in list
    /// order, exactly as its frame would, but without the push, the prefetch
    /// and the pop. Returns false, having handled a prefix of the list, if a
    /// child's CID is not where the list says: the caller then gives the node a
    /// frame, whose walk skips that prefix (now walked) and reports the link.
    fn emit_leaves<E: From<WalkError>, V: GraphView + ?Sized>(
        &mut self,
        list: ChildIds<'_>,
        data: &[u8],
        view: &V,
        visit: &mut impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<bool, E> {
        for Child { id, cid_at, leaf } in list.iter() {
            let Some((cid, _)) = data.get(cid_at..).and_then(leading_cid) else {
                return Ok(false);
            };
            if self.marks.set(id, WALKED | SEEN) & SEEN != 0 {
                continue;
            }
            if self.by_id {
                let len = leaf_len(leaf, id, view);
                visit(cid, Emitted::Id { id, len })?;
                self.tally.count(0);
            } else {
                let bytes = view.node(id).data;
                visit(cid, Emitted::Bytes(bytes))?;
                self.tally.count(bytes.len());
            }
        }
        Ok(true)
    }

    /// [`GraphWalk::advance`] for a node without a list (inline identity
    /// blocks, blocks linking one): its links are scanned and resolved by CID.
    fn advance_scanned<E: From<WalkError>, V: GraphView + ?Sized>(
        &mut self,
        depth: usize,
        data: &[u8],
        view: &V,
        visit: &mut impl FnMut(&[u8], Emitted<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut cursor = self.stack[depth].cursor;
        loop {
            let link = match cursor.next_link(data) {
                Ok(Some(link)) => link,
                Ok(None) => {
                    self.stack.pop();
                    return Ok(());
                }
                Err(source) => return Err(self.bad_links(depth, source, view).into()),
            };
            let Some((codec, hash)) = cid_codec_and_hash(link.cid) else {
                return Err(self
                    .bad_link(depth, &link, "bytes are not a CID", view)
                    .into());
            };
            self.stack[depth].cursor = cursor;
            let at = (link.offset, link.cid.len());
            if hash == IDENTITY {
                // Never emitted; only an inline dag-cbor block is descended into.
                if codec != DAG_CBOR {
                    continue;
                }
                let cid = self.parse(depth, &link, view)?;
                if self.set(&Target::Side(cid), WALKED | SEEN) & WALKED == 0 {
                    self.inline.push(cid);
                    self.push(
                        view,
                        FrameNode::Inline(self.inline.len() - 1),
                        None,
                        &[],
                        at,
                    );
                }
                return Ok(());
            }
            if !is_exported_codec(codec) {
                // Neither emitted nor descended into: its marks change nothing.
                continue;
            }
            let target = Self::target(view, &self.parse(depth, &link, view)?);
            let before = self.set(&target, WALKED | SEEN);
            if before & WALKED != 0 {
                continue;
            }
            let descend = codec == DAG_CBOR;
            match target {
                Target::Id(id) => {
                    let child = view.node(id);
                    if before & SEEN == 0 {
                        hand_over(self.by_id, self.tally, link.cid, id, child.data, visit)?;
                    }
                    if descend && self.push(view, FrameNode::Id(id), child.children, child.data, at)
                    {
                        return Ok(());
                    }
                }
                Target::Side(cid) if before & SEEN == 0 || descend => {
                    let from = self.frame_cid(depth, view);
                    let missing = self.context(from).missing(cid);
                    return self.tally.absent(missing);
                }
                Target::Side(_) => return Ok(()),
            }
        }
    }

    /// The CID of the node in frame `depth` (for errors and rare paths).
    fn frame_cid<V: GraphView + ?Sized>(&self, depth: usize, view: &V) -> Cid {
        let frame = self.stack[depth];
        match frame.node {
            FrameNode::Inline(i) => self.inline.get(i).copied().unwrap_or_default(),
            FrameNode::Id(_) if depth == 0 => self.dag.map(|(root, _)| root).unwrap_or_default(),
            FrameNode::Id(_) => {
                let inline;
                let parent = match self.stack[depth - 1].node {
                    FrameNode::Id(id) => view.node(id).data,
                    FrameNode::Inline(i) => {
                        inline = self.inline.get(i).copied().unwrap_or_default();
                        identity_data(&inline).unwrap_or(&[])
                    }
                };
                let (off, len) = frame.cid_at;
                parent
                    .get(off..off + len)
                    .and_then(|b| Cid::try_from(b).ok())
                    .unwrap_or_default()
            }
        }
    }

    fn context(&self, from: Cid) -> Link {
        let (kind, height) = self
            .dag
            .map_or((LinkKind::State, 0), |(_, l)| (l.kind, l.height));
        Link { kind, from, height }
    }

    fn parse<V: GraphView + ?Sized>(
        &self,
        depth: usize,
        link: &RawLink<'_>,
        view: &V,
    ) -> Result<Cid, WalkError> {
        Cid::try_from(link.cid).map_err(|_| self.bad_link(depth, link, "bytes are not a CID", view))
    }

    fn bad_link<V: GraphView + ?Sized>(
        &self,
        depth: usize,
        link: &RawLink<'_>,
        reason: &'static str,
        view: &V,
    ) -> WalkError {
        let source = CborScanError::BadLink {
            offset: link.at,
            reason,
        };
        self.bad_links(depth, source, view)
    }

    fn bad_links<V: GraphView + ?Sized>(
        &self,
        depth: usize,
        source: CborScanError,
        view: &V,
    ) -> WalkError {
        WalkError::BadLinks {
            cid: Box::new(self.frame_cid(depth, view)),
            source,
        }
    }
}

/// Lotus's `walked` and `seen` sets as bitsets over block ids, interleaved per
/// 64 ids (`[walked, seen]` words side by side) so checking one and setting both
/// costs one cache miss, not two.
#[derive(Debug, Default)]
struct Marks(Vec<[u64; 2]>);

impl Marks {
    fn reserve(&mut self, bound: u64) {
        let words = (bound as usize).div_ceil(64);
        if words > self.0.len() {
            self.0.resize(words, [0; 2]);
        }
    }

    #[inline(always)]
    fn walked(&self, id: u64) -> bool {
        self.0
            .get((id >> 6) as usize)
            .is_some_and(|w| w[0] & (1 << (id & 63)) != 0)
    }

    /// Sets `flags` ([`WALKED`], [`SEEN`]) on `id`, returning those it had.
    #[inline(always)]
    fn set(&mut self, id: u64, flags: u8) -> u8 {
        let word = (id >> 6) as usize;
        if word >= self.0.len() {
            self.0.resize(word + 1, [0; 2]);
        }
        let bit = 1 << (id & 63);
        let pair = &mut self.0[word];
        let mut before = 0;
        if flags & WALKED != 0 {
            if pair[0] & bit != 0 {
                before |= WALKED;
            }
            pair[0] |= bit;
        }
        if flags & SEEN != 0 {
            if pair[1] & bit != 0 {
                before |= SEEN;
            }
            pair[1] |= bit;
        }
        before
    }

    /// Starts loading the word pair holding `id`'s marks.
    #[inline(always)]
    fn prefetch(&self, id: u64) {
        if let Some(pair) = self.0.get((id >> 6) as usize) {
            prefetch(pair);
        }
    }
}
