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
    /// Loads the start of `id`'s record and returns a value depending on it, so a
    /// caller can start several cache misses before it needs the bytes.
    fn touch(&self, id: u64) -> u64;
}

/// A held block as the id graph sees it.
#[derive(Debug, Clone, Copy)]
pub struct GraphNode<'a> {
    /// The block's bytes.
    pub data: &'a [u8],
    /// Ids of the block's children in link order: one per tag-42 link whose CID
    /// is neither identity-hashed nor of a codec other than raw, cbor and
    /// dag-cbor. `None` when the store keeps no list for the block (it is not a
    /// dag-cbor DAG node, or links an inline identity dag-cbor block): resolve
    /// its links by CID instead.
    pub children: Option<ChildIds<'a>>,
}

/// A packed list of child ids ([`ChildIds::WIDTH`] bytes each, little-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildIds<'a>(&'a [u8]);

impl<'a> ChildIds<'a> {
    /// Bytes per id: 40 bits cover the DAG store's 38-bit arena locations.
    pub const WIDTH: usize = 5;

    /// Wraps packed ids (a trailing partial id is ignored).
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.0.len() / Self::WIDTH
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`th id.
    pub fn get(&self, i: usize) -> Option<u64> {
        let b = self.0.get(i * Self::WIDTH..(i + 1) * Self::WIDTH)?;
        Some(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], 0, 0, 0]))
    }

    /// Every id in order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + 'a {
        self.0
            .chunks_exact(Self::WIDTH)
            .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], 0, 0, 0]))
    }

    /// Packs `id` (below 2^40) into `out`.
    pub fn encode(id: u64, out: &mut [u8]) {
        debug_assert!(id < 1 << 40 && out.len() == Self::WIDTH);
        out.copy_from_slice(&id.to_le_bytes()[..Self::WIDTH]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_pack_and_unpack() {
        let ids = [0u64, 1, (1 << 38) - 1, 12345];
        let mut packed = vec![0u8; ids.len() * ChildIds::WIDTH];
        for (id, out) in ids.iter().zip(packed.chunks_exact_mut(ChildIds::WIDTH)) {
            ChildIds::encode(*id, out);
        }
        let list = ChildIds::new(&packed);
        assert_eq!(list.len(), 4);
        assert_eq!(list.iter().collect::<Vec<_>>(), ids);
        assert_eq!(list.get(2), Some((1 << 38) - 1));
        assert_eq!(list.get(4), None);
    }
}
