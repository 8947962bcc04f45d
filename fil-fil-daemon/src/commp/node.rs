//! One tree node: SHA-256 of two 32-byte children, byte 31 masked to 254 bits.
//!
//! Every node hashes exactly 64 bytes, so its SHA-256 is always one data block
//! plus the same constant padding block. Calling the raw compression function on
//! those two blocks skips the generic `Digest` buffering, which is most of the
//! non-SHA work per node.

use std::sync::OnceLock;

use sha2::digest::consts::U64;
use sha2::digest::generic_array::GenericArray;

/// A 64-byte SHA-256 block as `compress256` takes it.
pub(crate) type Block = GenericArray<u8, U64>;

/// A 32-byte tree node.
pub(crate) type Node = [u8; 32];

/// Deepest tree level we keep zero commitments for (leaf level 0).
pub(crate) const MAX_LEVEL: usize = 64;

const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// SHA-256 padding for a 64-byte message: 0x80, zeros, bit length 512 big-endian.
const PAD_BLOCK: [u8; 64] = {
    let mut b = [0u8; 64];
    b[0] = 0x80;
    b[62] = 0x02;
    b
};

/// Reusable pair of blocks: the caller fills `data()`, the padding block never changes.
#[derive(Debug, Clone)]
pub(crate) struct NodeHasher {
    blocks: [Block; 2],
}

impl Default for NodeHasher {
    fn default() -> Self {
        Self {
            blocks: [Block::default(), Block::from(PAD_BLOCK)],
        }
    }
}

impl NodeHasher {
    /// The 64-byte message (left child ‖ right child) to fill before [`Self::finish`].
    #[inline(always)]
    pub(crate) fn data(&mut self) -> &mut [u8] {
        self.blocks[0].as_mut_slice()
    }

    /// Hash the message currently in `data()`.
    #[inline(always)]
    pub(crate) fn finish(&self) -> Node {
        let mut state = IV;
        sha2::compress256(&mut state, &self.blocks);
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out[31] &= 0x3f;
        out
    }

    /// Parent of `left` and `right`.
    #[inline(always)]
    pub(crate) fn hash(&mut self, left: &Node, right: &Node) -> Node {
        let data = self.data();
        data[..32].copy_from_slice(left);
        data[32..].copy_from_slice(right);
        self.finish()
    }
}

/// Parent of two nodes (convenience for cold paths).
pub(crate) fn hash_pair(left: &Node, right: &Node) -> Node {
    NodeHasher::default().hash(left, right)
}

fn zero_table() -> &'static [Node; MAX_LEVEL] {
    static TABLE: OnceLock<[Node; MAX_LEVEL]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [[0u8; 32]; MAX_LEVEL];
        for level in 1..MAX_LEVEL {
            table[level] = hash_pair(&table[level - 1], &table[level - 1]);
        }
        table
    })
}

/// Root of an all-zero subtree at `level` (level 0 is a 32-byte leaf, level 2 one
/// 127-byte quad), or `None` at level 64 and above. Padding is folded in from
/// this table instead of being hashed.
pub fn zero_commitment(level: usize) -> Option<[u8; 32]> {
    zero_table().get(level).copied()
}

/// Zero subtree root for a level the caller derived from a capped size.
pub(crate) fn zero(level: usize) -> &'static Node {
    // Sizes are capped at MAX_PADDED (level 55), so the index is always in range;
    // clamping keeps this total without a panic path.
    &zero_table()[level.min(MAX_LEVEL - 1)]
}
