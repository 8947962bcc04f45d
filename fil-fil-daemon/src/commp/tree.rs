//! Building the tree bottom-up without holding it: quads to nodes, and a
//! binary-counter stack that folds left-to-right nodes into a root.
//!
//! A stream of aligned subtree roots needs only one pending node per level, so a
//! 64 GiB piece keeps at most ~31 nodes in memory.

use super::fr32::{expand_quad, QUAD_BYTES};
use super::node::{zero, Node, NodeHasher, MAX_LEVEL};
use super::sha_ni::ShaNi;

/// Level of a quad's node: four leaves → two level-1 nodes → one level-2 node.
pub(crate) const QUAD_LEVEL: usize = 2;

/// Quads hashed level by level in one go: 64 quads fill 8 KiB of level-1
/// messages, which stays in L1 while every level above is hashed two nodes at a time.
const GROUP_QUADS: usize = 64;
const GROUP_MSG_BYTES: usize = GROUP_QUADS * 2 * 64;

/// Scratch space for hashing quads and whole-quad subtrees.
#[derive(Debug, Clone)]
pub(crate) struct QuadHasher {
    left: NodeHasher,
    right: NodeHasher,
    sha_ni: Option<ShaNi>,
    msgs: Vec<u8>,
    nodes: Vec<u8>,
}

impl Default for QuadHasher {
    fn default() -> Self {
        Self::with_backend(ShaNi::detect())
    }
}

impl QuadHasher {
    /// A hasher using SHA-NI when given the token, the `sha2` crate otherwise.
    pub(crate) fn with_backend(sha_ni: Option<ShaNi>) -> Self {
        Self {
            left: NodeHasher::default(),
            right: NodeHasher::default(),
            sha_ni,
            msgs: vec![0; GROUP_MSG_BYTES],
            nodes: vec![0; GROUP_MSG_BYTES],
        }
    }

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
        let quads = data.len() / QUAD_BYTES;
        let group = quads.clamp(1, GROUP_QUADS);
        let group_level = QUAD_LEVEL + group.trailing_zeros() as usize;
        // One pending left sibling per level above the groups; 40 levels is far
        // more than any chunk size we use.
        let mut pending = [[0u8; 32]; 40];
        let mut top = 0usize;
        for (i, bytes) in data.chunks_exact(group * QUAD_BYTES).enumerate() {
            let mut node = self.group_root(bytes);
            // The trailing one bits of the group index are the completed left siblings.
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
        (pending[top], top + group_level)
    }

    /// Root of at most [`GROUP_QUADS`] quads (a power of two), level by level.
    fn group_root(&mut self, data: &[u8]) -> Node {
        let mut msgs = std::mem::take(&mut self.msgs);
        let mut nodes = std::mem::take(&mut self.nodes);
        let quads = data.chunks_exact(QUAD_BYTES);
        let mut count = 0;
        for (quad, out) in quads.zip(msgs.chunks_exact_mut(128)) {
            if let Ok(quad) = <&[u8; QUAD_BYTES]>::try_from(quad) {
                let (l, r) = out.split_at_mut(64);
                expand_quad(quad, l, r);
                count += 2;
            }
        }
        let mut root = [0u8; 32];
        while count > 0 {
            self.level(&msgs[..64 * count], &mut nodes[..32 * count]);
            if count == 1 {
                root.copy_from_slice(&nodes[..32]);
                break;
            }
            count /= 2;
            std::mem::swap(&mut msgs, &mut nodes);
        }
        self.msgs = msgs;
        self.nodes = nodes;
        root
    }

    /// Hash each 64-byte message of `src` into a node of `dst`.
    fn level(&mut self, src: &[u8], dst: &mut [u8]) {
        if let Some(sha_ni) = self.sha_ni {
            sha_ni.level(src, dst);
            return;
        }
        for (msg, out) in src.chunks_exact(64).zip(dst.chunks_exact_mut(32)) {
            self.left.data().copy_from_slice(msg);
            out.copy_from_slice(&self.left.finish());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The SHA-NI levels must equal the portable `sha2` path on every chunk shape.
    #[test]
    fn sha_ni_matches_portable() {
        let Some(token) = ShaNi::detect() else {
            return; // nothing to compare on this CPU
        };
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let data: Vec<u8> = (0..QUAD_BYTES * 512)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect();
        let mut fast = QuadHasher::with_backend(Some(token));
        let mut slow = QuadHasher::with_backend(None);
        for quads in [1usize, 2, 4, 8, 64, 128, 512] {
            let bytes = &data[..quads * QUAD_BYTES];
            assert_eq!(fast.subtree(bytes), slow.subtree(bytes), "{quads} quads");
        }
        // Odd message counts pair the last message with itself.
        let mut a = [0u8; 96];
        token.level(&data[..192], &mut a);
        let mut b = [0u8; 96];
        for (msg, out) in data[..192].chunks(64).zip(b.chunks_mut(32)) {
            let mut h = NodeHasher::default();
            h.data().copy_from_slice(msg);
            out.copy_from_slice(&h.finish());
        }
        assert_eq!(a, b);
    }
}
