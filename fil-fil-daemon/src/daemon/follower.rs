//! The ChainNotify reader. It only moves batches from the WebSocket into an
//! unbounded queue, never waiting on ingestion, because Lotus closes the channel of
//! a reader that falls 16 batches behind. Any drop (socket gone, channel closed)
//! is followed by a reconnect with backoff; the node's first batch on a new
//! channel is a `current` head, from which the ingester reconciles with
//! `ChainGetPath`, so nothing is missed or applied twice.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::metrics::Metrics;
use super::node::NodeConn;
use crate::lotus::json::HeadChange;

/// Pause after a channel that ended without delivering anything, doubling up to
/// [`MAX_PAUSE`], so a node that keeps refusing is not hammered.
const MIN_PAUSE: Duration = Duration::from_millis(50);
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// What the reader hands the ingester.
#[derive(Debug)]
pub enum FollowEvent {
    /// A batch of head changes, in node order.
    Changes(Vec<HeadChange>),
    /// The channel ended; a new one (starting with `current`) will follow.
    Lost,
}

/// Reads ChainNotify until `cancel`, reconnecting on every drop.
pub async fn follow(
    node: NodeConn,
    metrics: Metrics,
    out: UnboundedSender<FollowEvent>,
    cancel: CancellationToken,
) {
    let mut first = true;
    let mut pause = MIN_PAUSE;
    loop {
        let Some(client) = node.connect_with_backoff(&cancel).await else {
            return;
        };
        if !first {
            metrics.reconnects.inc();
        }
        first = false;
        let mut delivered = false;
        match client.chain_notify().await {
            Ok(mut stream) => loop {
                let next = tokio::select! {
                    _ = cancel.cancelled() => return,
                    next = stream.next() => next,
                };
                match next {
                    Ok(Some(changes)) => {
                        tracing::debug!(changes = changes.len(), "head changes");
                        delivered = true;
                        if out.send(FollowEvent::Changes(changes)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        tracing::warn!("ChainNotify channel closed; reconnecting");
                        break;
                    }
                    Err(err) => {
                        tracing::warn!(%err, "ChainNotify failed; reconnecting");
                        break;
                    }
                }
            },
            Err(err) => tracing::warn!(%err, "cannot open ChainNotify"),
        }
        if out.send(FollowEvent::Lost).is_err() {
            return;
        }
        pause = if delivered {
            MIN_PAUSE
        } else {
            (pause * 2).min(MAX_PAUSE)
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
