//! Where `link` gets blocks it does not hold: an async batch API, so a network
//! source (Lotus `ChainReadObj`) can keep many requests in flight while the store
//! verifies and stages what already arrived.

use std::collections::HashMap;

use async_trait::async_trait;
use cid::Cid;

use crate::ipld::BlockGet;

/// A source failed to answer (network, node error). Missing blocks are not errors
/// here: they come back as `None` and the store names the CID.
#[derive(Debug, thiserror::Error)]
#[error("block source failed: {0}")]
pub struct SourceError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl SourceError {
    /// Wraps any error or message.
    pub fn new(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        SourceError(err.into())
    }
}

/// Fetches blocks by CID, many at a time. The store checks every returned block's
/// hash, so a source need not be trusted.
#[async_trait]
pub trait BlockSource: Send + Sync {
    /// Returns one entry per requested CID, in order: the bytes, or `None` if the
    /// source does not have the block.
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, SourceError>;
}

#[async_trait]
impl<S: std::hash::BuildHasher + Send + Sync> BlockSource for HashMap<Cid, Vec<u8>, S> {
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        Ok(cids.iter().map(|c| self.get(c).cloned()).collect())
    }
}

#[async_trait]
impl<T: BlockSource + ?Sized> BlockSource for std::sync::Arc<T> {
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        (**self).get_many(cids).await
    }
}

/// Serves blocks from anything readable through [`BlockGet`], such as another
/// [`DagStore`](super::DagStore) (e.g. copying a window between stores).
#[derive(Debug, Clone)]
pub struct BlockGetSource<T>(pub T);

#[async_trait]
impl<T: BlockGet + Send + Sync> BlockSource for BlockGetSource<T> {
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        Ok(cids
            .iter()
            .map(|c| self.0.with_block(c, <[u8]>::to_vec))
            .collect())
    }
}
