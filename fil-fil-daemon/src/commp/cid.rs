//! PieceCID encodings: v1 (root only) and FRC-0069 v2 (root, height, padding).

use cid::multihash::Multihash;
use cid::Cid;

/// Multicodec `fil-commitment-unsealed`, the v1 PieceCID codec.
pub const PIECE_V1_CODEC: u64 = 0xf101;
/// Multihash `sha2-256-trunc254-padded`: the v1 digest is the bare root.
pub const PIECE_V1_MULTIHASH: u64 = 0x1012;
/// Multihash `fr32-sha256-trunc254-padbintree`: the FRC-0069 v2 digest.
pub const PIECE_V2_MULTIHASH: u64 = 0x1011;
/// Multicodec `raw`, the v2 PieceCID codec.
const RAW_CODEC: u64 = 0x55;

pub(crate) fn piece_cid_v1(root: &[u8; 32]) -> Cid {
    // A 32-byte digest always fits the 64-byte multihash.
    let mh = Multihash::wrap(PIECE_V1_MULTIHASH, root).unwrap_or_default();
    Cid::new_v1(PIECE_V1_CODEC, mh)
}

pub(crate) fn piece_cid_v2(root: &[u8; 32], height: u8, padding: u64) -> Cid {
    let mut digest = Vec::with_capacity(10 + 1 + 32);
    let mut buf = unsigned_varint::encode::u64_buffer();
    digest.extend_from_slice(unsigned_varint::encode::u64(padding, &mut buf));
    digest.push(height);
    digest.extend_from_slice(root);
    // At most 43 bytes, within the 64-byte multihash.
    let mh = Multihash::wrap(PIECE_V2_MULTIHASH, &digest).unwrap_or_default();
    Cid::new_v1(RAW_CODEC, mh)
}
