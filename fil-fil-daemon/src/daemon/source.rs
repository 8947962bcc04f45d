//! The DAG store's block source over the node: `Filecoin.ChainReadObj` as
//! JSON-RPC batches over HTTP POST (one round trip per batch), or, when the node
//! refuses batches, many calls in flight on the WebSocket (bounded). Answers are
//! not hashed here: the DAG store checks every block against its CID before it
//! stages it (hashing twice cost ~5% of an epoch's CPU), so wrong bytes fail the
//! link, which rolls back, and the ingester counts the mismatch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use cid::Cid;
use futures::{StreamExt, TryStreamExt};

use super::metrics::Metrics;
use super::node::NodeConn;
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
    /// The task running a batch died.
    #[error("batch task failed: {0}")]
    Task(String),
    /// The HTTP batch failed.
    #[error(transparent)]
    Batch(#[from] BatchError),
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
            // On a task of its own: parsing the JSON and base64 of a batch then
            // runs on another worker while the link stages the previous one.
            let (reader, owned) = (batch.clone(), cids.to_vec());
            let answer = tokio::spawn(async move { reader.read_objs(&owned).await })
                .await
                .map_err(|e| FetchError::Task(e.to_string()))?;
            self.metrics
                .observe_rpc("Filecoin.ChainReadObj[batch]", started.elapsed());
            match answer {
                Ok(blocks) => {
                    self.count(&blocks);
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
        let blocks: Vec<Vec<u8>> = futures::stream::iter(cids.iter().copied())
            .map(|cid| {
                let client = &client;
                async move { client.chain_read_obj(&cid).await }
            })
            .buffered(self.concurrency)
            .try_collect()
            .await?;
        self.count(&blocks);
        Ok(blocks)
    }

    fn count(&self, blocks: &[Vec<u8>]) {
        self.metrics.fetched_blocks.inc_by(blocks.len() as u64);
        let bytes: usize = blocks.iter().map(Vec::len).sum();
        self.metrics.fetched_bytes.inc_by(bytes as u64);
    }
}
