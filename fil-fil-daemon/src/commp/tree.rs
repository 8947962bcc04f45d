//! Building the tree bottom-up without holding it: quads to nodes, and a
//! binary-counter stack that folds left-to-right nodes into a root.
//!
//! A stream of aligned subtree roots needs only one pending node per level, so a
//! 64 GiB piece keeps at most ~31 nodes in memory.

use super::fr32::{expand_quad, QUAD_BYTES};
use super::node::{zero, Node, NodeHasher, MAX_LEVEL};

/// Level of a quad's node: four leaves → two level-1 nodes → one level-2 node.
pub(crate) const QUAD_LEVEL: usize = 2;

/// Scratch space for hashing quads: two messages filled directly by fr32.
#[derive(Debug, Default, Clone)]
pub(crate) struct QuadHasher {
    left: NodeHasher,
    right: NodeHasher,
}

impl QuadHasher {
    /// Level-2 node of one 127-byte quad.
    #[inline(always)]
    pub(crate) fn quad(&mut self, quad: &[u8; QUAD_BYTES]) -> Node {
        expand_quad(quad, self.left.data(), self.right.data());
        let l = self.left.finish();
        let r = self.right.finish();
        self.left.hash(&l, &r)
    }

    /// Level-2 node of a final quad shorter than 127 bytes (zero-filled).
    pub(crate) fn partial_quad(&mut self, bytes: &[u8]) -> Node {
        let mut quad = [0u8; QUAD_BYTES];
        let n = bytes.len().min(QUAD_BYTES);
        quad[..n].copy_from_slice(&bytes[..n]);
        self.quad(&quad)
    }

    /// Root of a full subtree over `data`, which holds exactly 2^k whole quads.
    /// Returns the root and its level (k + 2).
    pub(crate) fn subtree(&mut self, data: &[u8]) -> (Node, usize) {
        // One pending left sibling per level above the quads; at most 2^40 quads
        // per call is far more than any chunk size we use.
        let mut pending = [[0u8; 32]; 40];
        let mut top = 0usize;
        for (i, quad) in data.chunks_exact(QUAD_BYTES).enumerate() {
            let Ok(quad) = <&[u8; QUAD_BYTES]>::try_from(quad) else {
                continue; // unreachable: chunks_exact yields QUAD_BYTES-long slices
            };
            let mut node = self.quad(quad);
            // The trailing one bits of the quad index are the completed left siblings.
            let mut level = 0;
            let mut i = i;
            while i & 1 == 1 && level < pending.len() {
                node = self.left.hash(&pending[level], &node);
                i >>= 1;
                level += 1;
            }
            if let Some(slot) = pending.get_mut(level) {
                *slot = node;
                top = top.max(level);
            }
        }
        (pending[top], top + QUAD_LEVEL)
    }
}

/// Folds aligned nodes, pushed left to right, into a root.
#[derive(Debug, Default, Clone)]
pub(crate) struct TreeBuilder {
    /// Pending left siblings, levels strictly decreasing from bottom to top.
    stack: Vec<(usize, Node)>,
    hasher: NodeHasher,
}

impl TreeBuilder {
    /// Append the next node. It must start where the previous one ended and be
    /// no larger than it (true for whole chunks followed by quads).
    pub(crate) fn push(&mut self, mut level: usize, mut node: Node) {
        while let Some(&(top_level, ref top)) = self.stack.last() {
            if top_level != level {
                break;
            }
            node = self.hasher.hash(top, &node);
            level += 1;
            self.stack.pop();
        }
        self.stack.push((level, node));
    }

    /// Close the tree at `target` level, filling everything after the last node
    /// with zero subtrees from the precomputed table.
    pub(crate) fn finish(mut self, target: usize) -> Node {
        let Some((mut level, mut node)) = self.stack.pop() else {
            return *zero(target);
        };
        // The level cap only guards against a caller breaking the push contract.
        while (level < target || !self.stack.is_empty()) && level + 1 < MAX_LEVEL {
            match self.stack.last() {
                Some(&(left_level, ref left)) if left_level == level => {
                    node = self.hasher.hash(left, &node);
                    self.stack.pop();
                }
                _ => node = self.hasher.hash(&node, zero(level)),
            }
            level += 1;
        }
        node
    }
}
