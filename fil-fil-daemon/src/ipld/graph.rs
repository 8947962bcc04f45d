//! The id graph: a read interface for stores that name each held block by a
//! compact, stable id and keep its children's ids beside its bytes (computed once,
//! when the block is linked). A walk over it is pointer chasing plus bitsets
//! indexed by id, instead of hashing every 38-byte CID into large sets: at 10^7
//! blocks with ~20 links each, those probes were most of an export's CPU.

use cid::Cid;

/// A store that exposes its id graph (see [`BlockGet::graph`](super::BlockGet::graph)).
pub trait BlockGraph: Sync {
    /// Calls `f` with read views until it returns `false`. Between calls the store
    /// may let writers in, so a caller keeps nothing borrowed from a view across
    /// calls; ids stay valid only for blocks the caller keeps pinned.
    fn read_views(&self, f: &mut dyn FnMut(&dyn GraphView) -> bool);

    /// Calls `f` with one read view that is granted even while a writer waits
    /// for the store (it only waits for a writer that holds it). For a thread
    /// that serves a walk running on another thread: a fair view could queue
    /// behind a writer that waits for the walk's view, while the walk waits for
    /// this thread.
    fn with_view(&self, f: &mut dyn FnMut(&dyn GraphView));
}

/// One consistent read view of an id graph.
pub trait GraphView {
    /// The id of a held block (never for identity CIDs).
    fn resolve(&self, cid: &Cid) -> Option<u64>;
    /// The block with this id. `id` must come from [`GraphView::resolve`] or a
    /// child list of a held block; anything else yields an empty node.
    fn node(&self, id: u64) -> GraphNode<'_>;
    /// Every id is below this (bitset sizing).
    fn id_bound(&self) -> u64;
    /// Starts loading `id`'s record into the cache (a hint: it returns at
    /// once; all of a small record), so a walk or a copier can overlap the
    /// misses of blocks it will reach soon.
    fn prefetch(&self, id: u64);
    /// The view as its concrete type, for callers with a path compiled for a
    /// known store (the export walk has one for the DAG store's view); `None`
    /// if the view does not offer it.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// A held block as the id graph sees it.
#[derive(Debug, Clone, Copy)]
pub struct GraphNode<'a> {
    /// The block's bytes.
    pub data: &'a [u8],
    /// The block's children in link order: one per tag-42 link whose CID is
    /// neither identity-hashed nor of a codec other than raw, cbor and dag-cbor.
    /// `None` when the store keeps no list for the block (it is not a dag-cbor
    /// DAG node, links an inline identity dag-cbor block, or is larger than
    /// [`ChildIds::MAX_DATA_LEN`]): scan its links and resolve them by CID.
    pub children: Option<ChildIds<'a>>,
}

/// A packed list of child links: per child, its id, where its CID sits in the
/// parent's bytes, and whether it is a leaf (with the leaf's length when
/// small), so a walk reaches a child's id and CID bytes without parsing the
/// parent's CBOR, and emits a leaf without reading its record at all. Each
/// entry is a little-endian `u64`: the id in the low [`ChildIds::ID_BITS`]
/// bits, then an 8-bit leaf tag (0: not a leaf; 255: a leaf of
/// [`ChildIds::MAX_LEAF_LEN`] bytes or more; else a leaf of `tag - 1` bytes),
/// then the CID's byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildIds<'a>(&'a [u8]);

/// One entry of a [`ChildIds`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Child {
    /// The child's id.
    pub id: u64,
    /// Offset of the child's CID in the parent's bytes.
    pub cid_at: usize,
    /// `Some` if the child keeps an empty child list (a dag-cbor block with no
    /// links a walk follows, so a walk needs nothing from its record): the
    /// leaf's length, known below [`ChildIds::MAX_LEAF_LEN`].
    pub leaf: Option<LeafLen>,
}

/// A leaf's length as a child list keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafLen {
    /// The leaf's data is this many bytes.
    Known(usize),
    /// [`ChildIds::MAX_LEAF_LEN`] bytes or more: read the record for it.
    Large,
}

impl LeafLen {
    /// `len` as a list keeps it.
    pub fn of(len: usize) -> Self {
        if len < ChildIds::MAX_LEAF_LEN {
            Self::Known(len)
        } else {
            Self::Large
        }
    }
}

const LEAF_BITS: u32 = 8;
const LEAF_LARGE: u64 = (1 << LEAF_BITS) - 1;

impl<'a> ChildIds<'a> {
    /// Bytes per entry.
    pub const WIDTH: usize = 8;
    /// Bits of an entry holding the id: the DAG store's 38-bit arena locations.
    pub const ID_BITS: u32 = 38;
    /// Leaves shorter than this have their length in the list. Chain leaves
    /// (messages, small actor states) mostly are, so an export sizes their
    /// sections without touching their records.
    pub const MAX_LEAF_LEN: usize = LEAF_LARGE as usize - 1;
    /// Largest block that can carry a list: every CID offset in it must fit in
    /// the entry's top 18 bits. Chain objects with links are far smaller; a
    /// larger block is walked by scanning its CBOR.
    pub const MAX_DATA_LEN: usize = 1 << (64 - Self::ID_BITS - LEAF_BITS);

    /// Wraps packed entries (a trailing partial entry is ignored).
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    /// Number of children.
    pub fn len(&self) -> usize {
        self.0.len() / Self::WIDTH
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`th child.
    #[inline]
    pub fn get(&self, i: usize) -> Option<Child> {
        let b = self.0.get(i * Self::WIDTH..(i + 1) * Self::WIDTH)?;
        Some(Self::unpack(b))
    }

    /// Every child, in order.
    pub fn iter(&self) -> impl Iterator<Item = Child> + 'a {
        self.0.chunks_exact(Self::WIDTH).map(Self::unpack)
    }

    /// Every child's id, in order.
    pub fn ids(&self) -> impl Iterator<Item = u64> + 'a {
        self.iter().map(|c| c.id)
    }

    #[inline]
    fn unpack(b: &[u8]) -> Child {
        let mut word = [0u8; 8];
        word.copy_from_slice(&b[..8]);
        let word = u64::from_le_bytes(word);
        let tag = (word >> Self::ID_BITS) & LEAF_LARGE;
        Child {
            id: word & ((1 << Self::ID_BITS) - 1),
            leaf: match tag {
                0 => None,
                LEAF_LARGE => Some(LeafLen::Large),
                len => Some(LeafLen::Known(len as usize - 1)),
            },
            cid_at: (word >> (Self::ID_BITS + LEAF_BITS)) as usize,
        }
    }

    /// Packs `child` (id below 2^38, offset below [`ChildIds::MAX_DATA_LEN`])
    /// into `out`. A `Known` leaf length of [`ChildIds::MAX_LEAF_LEN`] or more
    /// is kept as `Large`.
    pub fn encode(child: Child, out: &mut [u8]) {
        debug_assert!(child.id < 1 << Self::ID_BITS && child.cid_at < Self::MAX_DATA_LEN);
        debug_assert_eq!(out.len(), Self::WIDTH);
        let tag = match child.leaf {
            None => 0,
            Some(LeafLen::Known(len)) if len < Self::MAX_LEAF_LEN => len as u64 + 1,
            Some(_) => LEAF_LARGE,
        };
        let word =
            child.id | tag << Self::ID_BITS | (child.cid_at as u64) << (Self::ID_BITS + LEAF_BITS);
        out.copy_from_slice(&word.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_pack_and_unpack() {
        let entries = [
            Child {
                id: 0,
                cid_at: 0,
                leaf: None,
            },
            Child {
                id: 1,
                cid_at: 7,
                leaf: Some(LeafLen::Known(0)),
            },
            Child {
                id: (1 << 38) - 1,
                cid_at: ChildIds::MAX_DATA_LEN - 1,
                leaf: Some(LeafLen::Large),
            },
            Child {
                id: 12345,
                cid_at: 65536,
                leaf: Some(LeafLen::Known(ChildIds::MAX_LEAF_LEN - 1)),
            },
            Child {
                id: 54321,
                cid_at: 3,
                leaf: None,
            },
        ];
        let mut packed = vec![0u8; entries.len() * ChildIds::WIDTH];
        for (child, out) in entries.iter().zip(packed.chunks_exact_mut(ChildIds::WIDTH)) {
            ChildIds::encode(*child, out);
        }
        let list = ChildIds::new(&packed);
        assert_eq!(list.len(), 5);
        assert_eq!(list.iter().collect::<Vec<_>>(), entries);
        assert_eq!(list.get(2), Some(entries[2]));
        assert_eq!(list.get(5), None);
    }

    #[test]
    fn leaf_lengths_from_the_limit_up_are_kept_as_large() {
        let mut out = [0u8; ChildIds::WIDTH];
        for (len, kept) in [
            (
                ChildIds::MAX_LEAF_LEN - 1,
                LeafLen::Known(ChildIds::MAX_LEAF_LEN - 1),
            ),
            (ChildIds::MAX_LEAF_LEN, LeafLen::Large),
            (1 << 20, LeafLen::Large),
        ] {
            assert_eq!(LeafLen::of(len), kept);
            let child = |leaf| Child {
                id: 9,
                cid_at: 4,
                leaf: Some(leaf),
            };
            ChildIds::encode(child(LeafLen::Known(len)), &mut out);
            assert_eq!(ChildIds::new(&out).get(0), Some(child(kept)));
        }
    }
}
