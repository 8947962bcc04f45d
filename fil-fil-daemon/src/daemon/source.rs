//! The DAG store's block source over the node: `Filecoin.ChainReadObj` as
//! JSON-RPC batches over HTTP POST (one round trip per batch), or, when the node
//! refuses batches, many calls in flight on the WebSocket (bounded). Every answer
//! is hash-checked against the CID asked for; a node that returns wrong bytes is
//! counted in the metrics and the batch is refused, so a link built on it rolls
//! back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use cid::Cid;
use futures::{StreamExt, TryStreamExt};

use super::metrics::Metrics;
use super::node::NodeConn;
use crate::ipld::verify_block;
use crate::lotus::{BatchError, BatchReader};

/// Why a batch could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No connection to the node right now.
    #[error("not connected to the node")]
    Disconnected,
    /// The call failed.
    #[error(transparent)]
    Rpc(#[from] crate::lotus::RpcError),
    /// The HTTP batch failed.
    #[error(transparent)]
    Batch(#[from] BatchError),
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
    batch: Option<BatchReader>,
    /// Set once the node refused a batch: WebSocket calls from then on.
    batches_refused: Arc<AtomicBool>,
}

impl RpcSource {
    /// Fetches through `node` with at most `concurrency` WebSocket requests in
    /// flight per batch; with `batches`, tries JSON-RPC batches over HTTP first.
    pub fn new(node: NodeConn, metrics: Metrics, concurrency: usize, batches: bool) -> RpcSource {
        let batch = batches
            .then(|| BatchReader::new(node.info()))
            .and_then(|made| {
                made.map_err(|err| tracing::warn!(%err, "no HTTP batches; WebSocket calls only"))
                    .ok()
            });
        RpcSource {
            node,
            metrics,
            concurrency: concurrency.max(1),
            batch,
            batches_refused: Arc::new(AtomicBool::new(false)),
        }
    }

    /// True while fetches go out as HTTP batches.
    pub fn uses_batches(&self) -> bool {
        self.batch.is_some() && !self.batches_refused.load(Ordering::Relaxed)
    }

    /// Fetches and verifies `cids`, in order.
    pub async fn fetch(&self, cids: &[Cid]) -> Result<Vec<Vec<u8>>, FetchError> {
        if let Some(batch) = self.batch.as_ref().filter(|_| self.uses_batches()) {
            let started = Instant::now();
            let answer = batch.read_objs(cids).await;
            self.metrics
                .observe_rpc("Filecoin.ChainReadObj[batch]", started.elapsed());
            match answer {
                Ok(blocks) => {
                    for (cid, data) in cids.iter().zip(&blocks) {
                        self.check(cid, data)?;
                    }
                    return Ok(blocks);
                }
                Err(err @ BatchError::Unsupported { .. }) => {
                    if !self.batches_refused.swap(true, Ordering::Relaxed) {
                        tracing::warn!(%err, "falling back to pipelined WebSocket calls");
                    }
                }
                Err(err) => return Err(err.into()),
            }
        }
        self.fetch_ws(cids).await
    }

    async fn fetch_ws(&self, cids: &[Cid]) -> Result<Vec<Vec<u8>>, FetchError> {
        let client = self.node.client().ok_or(FetchError::Disconnected)?;
        futures::stream::iter(cids.iter().copied())
            .map(|cid| {
                let client = &client;
                async move {
                    let data = client.chain_read_obj(&cid).await?;
                    self.check(&cid, &data)?;
                    Ok(data)
                }
            })
            .buffered(self.concurrency)
            .try_collect()
            .await
    }

    /// Refuses (and counts) bytes that are not `cid`'s block; counts the rest.
    fn check(&self, cid: &Cid, data: &[u8]) -> Result<(), FetchError> {
        if let Err(e) = verify_block(cid, data) {
            self.metrics.hash_mismatches.inc();
            tracing::error!(%cid, "node returned bytes that do not hash to the CID; refused");
            return Err(FetchError::BadBlock {
                cid: *cid,
                reason: e.to_string(),
            });
        }
        self.metrics.fetched_blocks.inc();
        self.metrics.fetched_bytes.inc_by(data.len() as u64);
        Ok(())
    }
}
