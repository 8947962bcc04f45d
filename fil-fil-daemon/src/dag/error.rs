//! Typed failures of store operations; each names the CID it is about.

use cid::Cid;

use super::arena::ArenaFull;
use super::edges::EdgeError;
use super::key::LinkKind;
use super::source::SourceError;
use crate::ipld::VerifyError;

/// Why a link failed. The store is unchanged whenever one is returned.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The source failed on a batch.
    #[error("fetching a batch of {batch} blocks starting at {cid}: {source}")]
    Source {
        /// First CID of the failed batch.
        cid: Cid,
        /// Size of the batch.
        batch: usize,
        /// What the source reported.
        #[source]
        source: SourceError,
    },
    /// The source answered a batch with the wrong number of entries.
    #[error("source answered {got} entries for a batch of {asked} starting at {cid}")]
    BadBatch {
        /// First CID of the batch.
        cid: Cid,
        /// CIDs asked for.
        asked: usize,
        /// Entries returned.
        got: usize,
    },
    /// The source does not have a block the DAG needs.
    #[error("block {cid} is not available from the source")]
    Missing {
        /// The missing block.
        cid: Cid,
    },
    /// The source returned bytes that are not the block.
    #[error("block {cid} failed verification: {source}")]
    Verify {
        /// The block asked for.
        cid: Cid,
        /// Hash mismatch or unsupported hash.
        #[source]
        source: VerifyError,
    },
    /// The block's links could not be read.
    #[error("edges of block {cid}: {source}")]
    Edges {
        /// The block.
        cid: Cid,
        /// Why.
        #[source]
        source: EdgeError,
    },
    /// The block is already held with the other edge policy.
    #[error("block {cid} is held as {held:?} but was linked as {requested:?}")]
    KindConflict {
        /// The block.
        cid: Cid,
        /// Kind it is stored with.
        held: LinkKind,
        /// Kind this link asked for.
        requested: LinkKind,
    },
    /// The arena cannot address the new blocks.
    #[error("store full: cannot place {bytes} more bytes: {source}")]
    Full {
        /// Payload bytes the link wanted to add.
        bytes: usize,
        /// Arena limit hit.
        #[source]
        source: ArenaFull,
    },
}

/// Why an unlink or pin was refused. The store is unchanged whenever one is returned.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RefError {
    /// The root is not held (or is released more times than it is held).
    #[error("block {cid} is not held {times} more time(s)")]
    NotHeld {
        /// The root.
        cid: Cid,
        /// References asked for.
        times: u64,
    },
    /// An identity root's inline links could not be read.
    #[error("edges of identity root {cid}: {source}")]
    Edges {
        /// The root.
        cid: Cid,
        /// Why.
        #[source]
        source: EdgeError,
    },
}
