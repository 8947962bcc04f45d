//! Block sources the daemon links from: the node (`ChainReadObj`, via
//! [`RpcSource`]), headers that arrived inside a ChainNotify batch (no round
//! trip needed), an imported snapshot spilled to disk until the window is built,
//! and the header spine rule the store follows for headers.

use async_trait::async_trait;
use cid::Cid;

use super::source::RpcSource;
use crate::chain::BlockHeader;
use crate::dag::{BlockSource, SourceError};

#[async_trait]
impl BlockSource for RpcSource {
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        let blocks = self.fetch(cids).await.map_err(SourceError::new)?;
        Ok(blocks.into_iter().map(Some).collect())
    }
}

/// Serves `first`'s blocks and asks `then` for the rest.
pub struct Layered<'a> {
    /// Consulted first.
    pub first: &'a dyn BlockSource,
    /// Fallback.
    pub then: &'a dyn BlockSource,
}

impl std::fmt::Debug for Layered<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layered").finish_non_exhaustive()
    }
}

#[async_trait]
impl BlockSource for Layered<'_> {
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        let mut out = self.first.get_many(cids).await?;
        let missing: Vec<Cid> = cids
            .iter()
            .zip(&out)
            .filter(|(_, b)| b.is_none())
            .map(|(c, _)| *c)
            .collect();
        if missing.is_empty() {
            return Ok(out);
        }
        let mut fetched = self.then.get_many(&missing).await?.into_iter();
        for slot in out.iter_mut().filter(|b| b.is_none()) {
            *slot = fetched.next().flatten();
        }
        Ok(out)
    }
}

/// The header spine: a block header's edges are its parents; anything reached on
/// the spine that is not a header (the genesis block's dummy parent) has none.
pub fn header_parents(_cid: &Cid, data: &[u8], out: &mut Vec<Cid>) -> Result<(), String> {
    if let Ok(header) = BlockHeader::decode(data) {
        out.extend(header.parents);
    }
    Ok(())
}
