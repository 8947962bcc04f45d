//! fr32 expansion: 127 payload bytes → four 32-byte leaves of 254 bits each.
//!
//! The payload is read as one little-endian bit string; leaf `w` takes bits
//! `254·w .. 254·w + 254` and two zero bits on top, so every leaf is a valid
//! BLS12-381 scalar. Working in `u64` lanes with constant shifts keeps this a
//! few dozen ALU operations per quad, negligible next to eight SHA compressions.

/// Payload bytes per quad.
pub(crate) const QUAD_BYTES: usize = 127;

/// Expand one quad into the two 64-byte messages of its level-1 nodes:
/// `left` = leaf0 ‖ leaf1, `right` = leaf2 ‖ leaf3.
#[inline(always)]
pub(crate) fn expand_quad(quad: &[u8; QUAD_BYTES], left: &mut [u8], right: &mut [u8]) {
    let mut bytes = [0u8; 128];
    bytes[..QUAD_BYTES].copy_from_slice(quad);
    let mut lanes = [0u64; 16];
    for (lane, chunk) in lanes.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *lane = u64::from_le_bytes(b);
    }
    let mut out = [0u64; 16];
    // Both loops unroll, so every index and shift below is a constant.
    for w in 0..4 {
        let start = 254 * w;
        let (idx, off) = (start / 64, start % 64);
        for k in 0..4 {
            let lo = lanes[idx + k] >> off;
            let hi = if off == 0 {
                0
            } else {
                lanes[idx + k + 1] << (64 - off)
            };
            out[4 * w + k] = lo | hi;
        }
        out[4 * w + 3] &= u64::MAX >> 2;
    }
    for (chunk, lane) in left.chunks_exact_mut(8).zip(&out[..8]) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    for (chunk, lane) in right.chunks_exact_mut(8).zip(&out[8..]) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit restatement of the spec, to pin the lane arithmetic.
    fn expand_bitwise(quad: &[u8; QUAD_BYTES]) -> [u8; 128] {
        let bit = |i: usize| (quad[i / 8] >> (i % 8)) & 1;
        let mut out = [0u8; 128];
        for w in 0..4 {
            for j in 0..254 {
                let o = 256 * w + j;
                out[o / 8] |= bit(254 * w + j) << (o % 8);
            }
        }
        out
    }

    #[test]
    fn lanes_match_bitwise_definition() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200 {
            let mut quad = [0u8; QUAD_BYTES];
            for b in quad.iter_mut() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                *b = rng as u8;
            }
            let (mut l, mut r) = ([0u8; 64], [0u8; 64]);
            expand_quad(&quad, &mut l, &mut r);
            let want = expand_bitwise(&quad);
            assert_eq!(&l[..], &want[..64]);
            assert_eq!(&r[..], &want[64..]);
        }
        let (mut l, mut r) = ([0u8; 64], [0u8; 64]);
        expand_quad(&[0xff; QUAD_BYTES], &mut l, &mut r);
        for leaf in l.chunks(32).chain(r.chunks(32)) {
            assert_eq!(leaf[31], 0x3f);
        }
    }
}
