//! IPLD primitives shared by every layer: CID codes, block hash verification and
//! DAG-CBOR link scanning. Nothing here knows about chains, files or networks.

mod cbor_scan;
mod cbor_write;
mod graph;
mod prefetch;
mod verify;

pub use cbor_scan::{
    cid_codec_and_hash, cid_len, is_canonical, leading_cid, scan_links, scan_links_at,
    CborScanError, LinkCursor, RawLink,
};
pub use cbor_write::write_cbor_header;
pub use cid::Cid;
pub use graph::{BlockGraph, Child, ChildIds, GraphNode, GraphView, LeafLen};
pub use prefetch::prefetch;
pub use verify::{blake2b_256, block_cid, verify_block, VerifyError};

/// Multicodec `raw`.
pub const RAW: u64 = 0x55;
/// Multicodec `cbor` (plain CBOR, as used by some actor state).
pub const CBOR: u64 = 0x51;
/// Multicodec `dag-cbor`.
pub const DAG_CBOR: u64 = 0x71;
/// Multihash `identity`: the digest is the block itself.
pub const IDENTITY: u64 = 0x00;
/// Multihash `sha2-256`.
pub const SHA2_256: u64 = 0x12;
/// Multihash `blake2b-256`, the hash of almost every Filecoin chain object.
pub const BLAKE2B_256: u64 = 0xb220;

/// Read access to stored blocks, implemented by the DAG store and by plain maps
/// (tests, offline export). Callback style so a store can lend bytes from behind a
/// lock or an arena without copying.
pub trait BlockGet {
    /// Calls `f` with the bytes of `cid` and returns its result, or `None` if the
    /// block is not held. Identity CIDs are the caller's business (see
    /// [`identity_data`]).
    fn with_block<R>(&self, cid: &Cid, f: impl FnOnce(&[u8]) -> R) -> Option<R>;

    /// The store's id graph, if it keeps one (the DAG store does): walks over it
    /// chase stored child ids instead of hashing CIDs.
    fn graph(&self) -> Option<&dyn BlockGraph> {
        None
    }
}

impl<S: std::hash::BuildHasher> BlockGet for std::collections::HashMap<Cid, Vec<u8>, S> {
    fn with_block<R>(&self, cid: &Cid, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        self.get(cid).map(|data| f(data))
    }
}

impl<T: BlockGet + ?Sized> BlockGet for &T {
    fn with_block<R>(&self, cid: &Cid, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        (**self).with_block(cid, f)
    }

    fn graph(&self) -> Option<&dyn BlockGraph> {
        (**self).graph()
    }
}

impl<T: BlockGet + ?Sized> BlockGet for std::sync::Arc<T> {
    fn with_block<R>(&self, cid: &Cid, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        (**self).with_block(cid, f)
    }

    fn graph(&self) -> Option<&dyn BlockGraph> {
        (**self).graph()
    }
}

/// True for CIDs whose multihash is the identity hash (the data is inline).
pub fn is_identity(cid: &Cid) -> bool {
    cid.hash().code() == IDENTITY
}

/// Data carried inline by an identity CID, if it is one.
pub fn identity_data(cid: &Cid) -> Option<&[u8]> {
    is_identity(cid).then(|| cid.hash().digest())
}

/// Codecs Lotus includes in snapshot exports (`raw`, `cbor`, `dag-cbor`).
pub fn is_exported_codec(codec: u64) -> bool {
    matches!(codec, RAW | CBOR | DAG_CBOR)
}
