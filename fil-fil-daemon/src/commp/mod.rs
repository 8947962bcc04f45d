//! Piece commitments (commP): the Merkle root Filecoin storage deals commit to.
//!
//! This module is pure computation over bytes; it knows nothing of CAR files or
//! the network, so `snapshot split`, the CLI and the contract tooling can all
//! share one implementation whose results are pinned by published vectors.
//!
//! The tree: payload is zero-padded to the unpadded size of the next power-of-two
//! piece, every 127-byte quad is fr32-expanded into four 254-bit leaves, and nodes
//! are SHA-256 of their two children with the top two bits of byte 31 cleared.
//! [`CommpHasher`] streams that tree with bounded memory, hashing independent
//! subtrees on all cores; [`PieceCommitment`] turns the root into PieceCIDs.

mod cid;
mod fr32;
mod hasher;
mod node;
mod sha_ni;
mod size;
mod tree;

pub use cid::{PIECE_V1_CODEC, PIECE_V1_MULTIHASH, PIECE_V2_MULTIHASH};
pub use hasher::{CommpHasher, CommpOptions};
pub use node::zero_commitment;
pub use size::{padded_size, unpadded_size, MAX_PAYLOAD};

/// Errors from piece-commitment computation.
#[derive(Debug, thiserror::Error)]
pub enum CommpError {
    /// Reading the payload failed.
    #[error("reading payload: {0}")]
    Io(std::io::Error),
    /// The payload is larger than any piece this implementation can describe.
    #[error("payload of {0} bytes exceeds the maximum of {MAX_PAYLOAD} bytes")]
    TooLarge(u64),
    /// The worker thread pool could not be started.
    #[error("starting hashing threads: {0}")]
    ThreadPool(String),
}

// By hand rather than `#[from]`: the message already includes the I/O error, and
// a chained source would print it twice under `anyhow`'s `{:#}`.
impl From<std::io::Error> for CommpError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// The commitment to one piece: its root and the sizes needed to name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PieceCommitment {
    /// Payload bytes hashed (before zero padding).
    pub payload_size: u64,
    /// Padded piece size: a power of two, at least 128.
    pub padded_size: u64,
    /// The tree root (byte 31 already masked).
    pub root: [u8; 32],
}

impl PieceCommitment {
    /// Tree height: log2 of the number of 32-byte leaves.
    pub fn height(&self) -> u8 {
        // padded_size is a power of two >= 128, so this is exact.
        (self.padded_size.trailing_zeros() - 5) as u8
    }

    /// Zero bytes appended to the payload to fill the piece's unpadded size.
    pub fn padding(&self) -> u64 {
        unpadded_size(self.padded_size) - self.payload_size
    }

    /// PieceCID v1 (`baga6ea4seaq…`): the root alone; the padded size travels separately.
    pub fn cid_v1(&self) -> ::cid::Cid {
        cid::piece_cid_v1(&self.root)
    }

    /// PieceCID v2 (FRC-0069, `bafkzcib…`): root, height and padding in one CID.
    pub fn cid_v2(&self) -> ::cid::Cid {
        cid::piece_cid_v2(&self.root, self.height(), self.padding())
    }

    /// Root as lowercase hex, the form most vector files use.
    pub fn root_hex(&self) -> String {
        hex::encode(self.root)
    }
}

/// Commitment of an in-memory payload with default options (all cores).
pub fn commp_bytes(data: &[u8]) -> Result<PieceCommitment, CommpError> {
    let mut hasher = CommpHasher::new(CommpOptions::default())?;
    hasher.update(data);
    hasher.finish()
}

/// Commitment of everything `reader` yields, streamed with bounded memory.
pub fn commp_reader<R: std::io::Read + Send>(
    reader: R,
    options: CommpOptions,
) -> Result<PieceCommitment, CommpError> {
    let mut hasher = CommpHasher::new(options)?;
    hasher.update_from_reader(reader, |_| {})?;
    hasher.finish()
}
