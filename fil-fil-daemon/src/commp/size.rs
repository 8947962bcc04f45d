//! Piece size arithmetic: payload bytes ↔ padded power-of-two piece sizes.
//!
//! fr32 turns every 127 payload bytes into 128 padded bytes, and a piece is a
//! whole binary tree, so its padded size is a power of two (at least one quad).

/// Largest padded piece this implementation accepts (1 EiB); far beyond any sector,
/// small enough that size arithmetic can never overflow a `u64`.
pub const MAX_PADDED: u64 = 1 << 60;

/// Largest payload accepted: the unpadded size of [`MAX_PADDED`].
pub const MAX_PAYLOAD: u64 = MAX_PADDED / 128 * 127;

/// Padded size of the smallest piece holding `payload` bytes (minimum 128).
///
/// Returns `None` above [`MAX_PAYLOAD`].
pub fn padded_size(payload: u64) -> Option<u64> {
    if payload > MAX_PAYLOAD {
        return None;
    }
    let quads = payload.div_ceil(127).max(1);
    Some((quads * 128).next_power_of_two())
}

/// Unpadded (payload) capacity of a padded piece size: 127/128 of it.
pub fn unpadded_size(padded: u64) -> u64 {
    padded / 128 * 127
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_published_vectors() {
        assert_eq!(padded_size(0), Some(128));
        assert_eq!(padded_size(96), Some(128));
        assert_eq!(padded_size(127), Some(128));
        assert_eq!(padded_size(128), Some(256));
        assert_eq!(padded_size(513), Some(1024));
        assert_eq!(padded_size(68_182_605_824), Some(64 << 30));
        assert_eq!(padded_size(68_182_605_825), Some(128 << 30));
        assert_eq!(unpadded_size(32 << 30), 34_091_302_912);
        assert_eq!(padded_size(MAX_PAYLOAD), Some(MAX_PADDED));
        assert_eq!(padded_size(MAX_PAYLOAD + 1), None);
    }
}
