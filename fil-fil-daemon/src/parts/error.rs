//! What can go wrong splitting or joining, with the file and position involved.

use std::path::PathBuf;

use crate::car::CarError;
use crate::commp::CommpError;

/// Errors from `split` and `join`; each names the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum PartsError {
    /// Opening, reading, writing or renaming a file failed.
    #[error("{}: {what}: {error}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What we were doing.
        what: &'static str,
        /// The I/O error (in the message, not chained, so it prints once).
        error: std::io::Error,
    },
    /// The input has no bytes at all.
    #[error("{}: file is empty, not a CAR file", path.display())]
    Empty {
        /// The file concerned.
        path: PathBuf,
    },
    /// The bytes do not frame as CARv1 (bad header, varint, CID, hash, truncation).
    #[error("{}: not a valid CARv1 file: {error}", path.display())]
    NotCar {
        /// The file concerned.
        path: PathBuf,
        /// The framing error, with its byte offset (boxed: CID-carrying errors are large).
        error: Box<CarError>,
    },
    /// A CAR version other than 1 (e.g. a CARv2 wrapper).
    #[error("{}: CAR version {version} is not supported; split expects a plain CARv1 file", path.display())]
    UnsupportedVersion {
        /// The file concerned.
        path: PathBuf,
        /// Version found in the header.
        version: u64,
    },
    /// A section whose bytes would not survive re-framing unchanged.
    #[error("{}: section at byte {offset} is not canonically encoded; cannot guarantee a byte-exact join", path.display())]
    NonCanonical {
        /// The file concerned.
        path: PathBuf,
        /// Section offset.
        offset: u64,
    },
    /// One block (plus the header) is bigger than a part may be.
    #[error("{}: block {cid} at byte {offset} needs a part of {needed} bytes, above the limit of {limit}", path.display())]
    BlockTooLarge {
        /// The file concerned.
        path: PathBuf,
        /// The block's CID.
        cid: String,
        /// Section offset in the input.
        offset: u64,
        /// Header plus section bytes.
        needed: u64,
        /// The part size limit.
        limit: u64,
    },
    /// `--max-part-size` exceeds what the sector can hold.
    #[error(
        "max part size {requested} exceeds the sector's maximum unpadded piece of {limit} bytes"
    )]
    PartSizeTooLarge {
        /// Requested limit.
        requested: u64,
        /// Sector limit.
        limit: u64,
    },
    /// `manifest.json` is missing or malformed.
    #[error("{}: bad manifest: {reason}", path.display())]
    BadManifest {
        /// The manifest path.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A part's CAR header differs from the first part's.
    #[error("{}: CAR header differs from the first part's; parts belong to different snapshots", path.display())]
    HeaderMismatch {
        /// The part concerned.
        path: PathBuf,
    },
    /// Size or checksum does not match the manifest.
    #[error("{}: {what} is {got}, manifest says {want}", path.display())]
    Mismatch {
        /// The file concerned.
        path: PathBuf,
        /// Which property.
        what: &'static str,
        /// Observed value.
        got: String,
        /// Manifest value.
        want: String,
    },
    /// Piece commitment computation failed.
    #[error("computing piece commitment: {0}")]
    Commp(CommpError),
}

impl From<CommpError> for PartsError {
    fn from(e: CommpError) -> Self {
        Self::Commp(e)
    }
}
