//! The DAG store's block source over the node: `Filecoin.ChainReadObj`, many
//! requests in flight on the WebSocket (bounded), every answer hash-checked
//! against the CID asked for. A node that returns wrong bytes is counted in the
//! metrics and the batch is refused, so a link built on it rolls back.

use cid::Cid;
use futures::{StreamExt, TryStreamExt};

use super::metrics::Metrics;
use super::node::NodeConn;
use crate::ipld::verify_block;

/// Why a batch could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No connection to the node right now.
    #[error("not connected to the node")]
    Disconnected,
    /// The call failed.
    #[error(transparent)]
    Rpc(#[from] crate::lotus::RpcError),
    /// The node returned bytes that are not the block.
    #[error("node returned wrong bytes for {cid}: {reason}")]
    BadBlock {
        /// Block asked for.
        cid: Cid,
        /// Verification failure.
        reason: String,
    },
}

/// `ChainReadObj`-backed block fetcher.
#[derive(Debug, Clone)]
pub struct RpcSource {
    node: NodeConn,
    metrics: Metrics,
    concurrency: usize,
}

impl RpcSource {
    /// Fetches through `node` with at most `concurrency` requests in flight.
    pub fn new(node: NodeConn, metrics: Metrics, concurrency: usize) -> RpcSource {
        RpcSource {
            node,
            metrics,
            concurrency: concurrency.max(1),
        }
    }

    /// Fetches and verifies `cids`, in order.
    pub async fn fetch(&self, cids: &[Cid]) -> Result<Vec<Vec<u8>>, FetchError> {
        let client = self.node.client().ok_or(FetchError::Disconnected)?;
        futures::stream::iter(cids.iter().copied())
            .map(|cid| {
                let client = &client;
                async move {
                    let data = client.chain_read_obj(&cid).await?;
                    if let Err(e) = verify_block(&cid, &data) {
                        self.metrics.hash_mismatches.inc();
                        tracing::error!(%cid, "node returned bytes that do not hash to the CID; refused");
                        return Err(FetchError::BadBlock {
                            cid,
                            reason: e.to_string(),
                        });
                    }
                    self.metrics.fetched_blocks.inc();
                    self.metrics.fetched_bytes.inc_by(data.len() as u64);
                    Ok(data)
                }
            })
            .buffered(self.concurrency)
            .try_collect()
            .await
    }
}
