//! How the store names a block internally. Nearly every Filecoin object is a CIDv1
//! dag-cbor blake2b-256 block, so those are keyed by their bare 32-byte digest (the
//! rest of the CID is implied); anything else (raw actor code, the sha2-256 genesis
//! dummy parent, other codecs) keeps its whole CID in a small side map.

use cid::multihash::Multihash;
use cid::{Cid, Version};

use crate::ipld::{BLAKE2B_256, DAG_CBOR};

/// Internal name of a stored block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// CIDv1, dag-cbor, blake2b-256: the digest alone.
    Digest([u8; 32]),
    /// Any other CID form, kept whole (boxed: rare, and it keeps `Key` at 40
    /// bytes instead of ~100 in the walk's work lists and undo log).
    Other(Box<Cid>),
}

impl Key {
    pub(crate) fn of(cid: &Cid) -> Key {
        let mh = cid.hash();
        if cid.version() == Version::V1 && cid.codec() == DAG_CBOR && mh.code() == BLAKE2B_256 {
            if let Ok(digest) = <[u8; 32]>::try_from(mh.digest()) {
                return Key::Digest(digest);
            }
        }
        Key::Other(Box::new(*cid))
    }

    pub(crate) fn to_cid(&self) -> Cid {
        match self {
            Key::Digest(d) => digest_cid(d),
            Key::Other(c) => **c,
        }
    }
}

/// Rebuilds the full CID of a digest-keyed block.
pub(crate) fn digest_cid(digest: &[u8; 32]) -> Cid {
    let mh = Multihash::<64>::wrap(BLAKE2B_256, digest)
        .unwrap_or_else(|_| unreachable!("a 32-byte digest fits a 64-byte multihash"));
    Cid::new_v1(DAG_CBOR, mh)
}

/// How a block's outgoing edges are chosen; fixed when the block is first stored so
/// that freeing it follows exactly the edges that linking it followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// Every CID in a dag-cbor block (cbor-gen `ScanForLinks`), restricted to the
    /// codecs Lotus exports (raw, cbor, dag-cbor); commitment CIDs are not blocks.
    Dag,
    /// Only the edges the store's spine [`EdgeSelector`](super::EdgeSelector)
    /// returns (block headers: their parents), so keeping a head alive keeps every
    /// ancestor header but none of their messages or state.
    Spine,
}

impl LinkKind {
    pub(crate) fn bits(self) -> u64 {
        match self {
            LinkKind::Dag => 0,
            LinkKind::Spine => 1,
        }
    }

    pub(crate) fn from_bits(bits: u64) -> Option<LinkKind> {
        match bits {
            0 => Some(LinkKind::Dag),
            1 => Some(LinkKind::Spine),
            _ => None,
        }
    }
}

/// An index entry packed in one word: 2 bits kind, 24 bits refcount (saturated
/// counts spill into a side map), 38 bits arena location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u64);

const KIND_BITS: u32 = 2;
const RC_BITS: u32 = 24;
/// An inline refcount equal to this means "the real count is in the spill map".
pub(crate) const RC_SPILLED: u64 = (1 << RC_BITS) - 1;
pub(crate) const LOC_BITS: u32 = 64 - KIND_BITS - RC_BITS;

impl Word {
    /// `rc` must be in `1..=RC_SPILLED`, so a live word is never zero (zero marks an
    /// empty table slot).
    pub(crate) fn new(kind: LinkKind, rc: u64, loc: u64) -> Word {
        debug_assert!((1..=RC_SPILLED).contains(&rc));
        debug_assert!(loc < 1 << LOC_BITS);
        Word(kind.bits() | rc << KIND_BITS | loc << (KIND_BITS + RC_BITS))
    }

    pub(crate) fn kind(self) -> LinkKind {
        LinkKind::from_bits(self.0 & ((1 << KIND_BITS) - 1)).unwrap_or(LinkKind::Dag)
    }

    pub(crate) fn rc(self) -> u64 {
        (self.0 >> KIND_BITS) & RC_SPILLED
    }

    pub(crate) fn loc(self) -> u64 {
        self.0 >> (KIND_BITS + RC_BITS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::{block_cid, RAW};

    #[test]
    fn common_cids_are_keyed_by_digest_and_roundtrip() {
        let cid = block_cid(b"\x80");
        let key = Key::of(&cid);
        assert!(matches!(key, Key::Digest(_)));
        assert_eq!(key.to_cid(), cid);
        let raw = Cid::new_v1(RAW, *cid.hash());
        assert_eq!(Key::of(&raw), Key::Other(Box::new(raw)));
        assert_eq!(std::mem::size_of::<Key>(), 40);
    }

    #[test]
    fn word_fields_are_independent() {
        let w = Word::new(LinkKind::Spine, RC_SPILLED, (1 << LOC_BITS) - 1);
        assert_eq!(w.kind(), LinkKind::Spine);
        assert_eq!(w.rc(), RC_SPILLED);
        assert_eq!(w.loc(), (1 << LOC_BITS) - 1);
    }
}
