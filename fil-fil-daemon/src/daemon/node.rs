//! The connection to the Lotus node, shared by the follower and the block source.
//! Reconnecting replaces the client in one place, so every user picks up the new
//! WebSocket; calls are timed into the RPC latency histogram.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

use super::metrics::Metrics;
use crate::lotus::{ApiInfo, LotusClient, RpcError};

/// First and largest pause between reconnection attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(10));

/// Shared handle on the current node client.
#[derive(Debug, Clone)]
pub struct NodeConn {
    info: ApiInfo,
    metrics: Metrics,
    current: Arc<RwLock<Option<Arc<LotusClient>>>>,
}

impl NodeConn {
    /// A handle that will connect to `info` (nothing is dialled yet).
    pub fn new(info: ApiInfo, metrics: Metrics) -> NodeConn {
        NodeConn {
            info,
            metrics,
            current: Arc::new(RwLock::new(None)),
        }
    }

    /// Where the node is.
    pub fn info(&self) -> &ApiInfo {
        &self.info
    }

    /// The current client if it is still connected.
    pub fn client(&self) -> Option<Arc<LotusClient>> {
        self.current
            .read()
            .as_ref()
            .filter(|c| c.is_connected())
            .cloned()
    }

    /// The current client, or a fresh connection (one attempt).
    pub async fn connect(&self) -> Result<Arc<LotusClient>, RpcError> {
        if let Some(client) = self.client() {
            return Ok(client);
        }
        let metrics = self.metrics.clone();
        let client = LotusClient::connect(&self.info)
            .await?
            .with_observer(Arc::new(move |method, elapsed, _ok| {
                metrics.observe_rpc(method, elapsed)
            }));
        let client = Arc::new(client);
        *self.current.write() = Some(Arc::clone(&client));
        Ok(client)
    }

    /// Connects, retrying with exponential backoff until `cancel` fires
    /// (`None` then).
    pub async fn connect_with_backoff(
        &self,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Option<Arc<LotusClient>> {
        let mut pause = BACKOFF.0;
        loop {
            match self.connect().await {
                Ok(client) => return Some(client),
                Err(err) => tracing::warn!(%err, retry_in = ?pause, "cannot reach the node"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return None,
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(BACKOFF.1);
        }
    }
}
