//! CAR (content-addressed archive) formats: CARv1 framing (header + varint-framed
//! `CID ‖ data` sections), CARv2 wrappers and zstd containers (plain and Forest's
//! framed form), detected by magic bytes. Formats only: no chain knowledge, no
//! storage.

mod container;
mod header;
// CarError carries CIDs for precise messages; boxing them is the owner's call.
#[allow(clippy::result_large_err)]
mod v1;
mod varint;

pub use container::{open_car, open_car_file, AnyCarReader, CarFormat, Container, CARV2_PRAGMA};
pub use header::{decode_header, encode_header, CarHeader};
pub use v1::{CarBlock, CarReader, CarWriter};
pub use varint::{read_uvarint, write_uvarint};

/// Everything that can go wrong reading a CAR stream; each error names where.
#[derive(Debug, thiserror::Error)]
pub enum CarError {
    /// Underlying I/O failure.
    #[error("I/O error at byte {offset}: {source}")]
    Io {
        /// Stream offset of the failed read.
        offset: u64,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The stream ended inside a section.
    #[error("truncated CAR: {what} cut off at byte {offset}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Offset where the data ran out.
        offset: u64,
    },
    /// A section length varint is malformed (too long or overflowing).
    #[error("bad varint at byte {offset}")]
    BadVarint {
        /// Offset of the varint.
        offset: u64,
    },
    /// The header is not a CARv1 header.
    #[error("bad CAR header at byte {offset}: {reason}")]
    BadHeader {
        /// Offset of the header.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// A section does not start with a valid CID in canonical binary form.
    #[error("bad CID in section at byte {offset} (unparseable or not in canonical form)")]
    BadCid {
        /// Offset of the section.
        offset: u64,
    },
    /// A section is larger than any block may be.
    #[error("section at byte {offset} claims {len} bytes (limit {limit})")]
    SectionTooLarge {
        /// Offset of the section.
        offset: u64,
        /// Claimed length.
        len: u64,
        /// Maximum accepted.
        limit: u64,
    },
    /// A block's bytes do not hash to its CID.
    #[error("block {cid} at byte {offset} does not match its hash")]
    HashMismatch {
        /// The CID the section claimed.
        cid: cid::Cid,
        /// Offset of the section.
        offset: u64,
    },
    /// A block's CID uses a hash we cannot verify.
    #[error("block {cid} at byte {offset}: unsupported multihash code {code:#x}")]
    Unverifiable {
        /// The CID.
        cid: cid::Cid,
        /// Offset of the section.
        offset: u64,
        /// The multihash code we cannot compute (kept small: errors stay cheap).
        code: u64,
    },
}
