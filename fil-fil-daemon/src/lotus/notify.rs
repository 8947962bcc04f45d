//! `Filecoin.ChainNotify` on a WebSocket of its own, framed exactly as a go-jsonrpc
//! client frames a channel call:
//!
//! - the call `{"id": N, "method": "Filecoin.ChainNotify", "params": []}` is answered
//!   with `{"id": N, "result": C}`, C being a per-connection channel id;
//! - values arrive as notifications `xrpc.ch.val [C, value]`, the end as
//!   `xrpc.ch.close [C]`;
//! - to unsubscribe, go-jsonrpc cancels the call's context, which sends the
//!   notification `xrpc.cancel [N]` — the *request* id, not the channel id. The
//!   server cancels the context of call N, Lotus's ChainNotify goroutine closes its
//!   output channel, and the server announces that with `xrpc.ch.close [C]`.
//!
//! A dedicated connection keeps block fetches on the shared RPC connection from
//! delaying channel reads (Lotus closes a channel whose reader falls 16 batches
//! behind), and a task reads the socket continuously into an unbounded queue for
//! the same reason.

use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures::{Stream, StreamExt};
use jsonrpsee::client_transport::ws::{HeaderMap, HeaderValue, Url, WsTransportClientBuilder};
use jsonrpsee::core::client::{ReceivedMessage, TransportReceiverT, TransportSenderT};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::json::HeadChange;
use super::{ApiInfo, RpcError};

const METHOD: &str = "Filecoin.ChainNotify";
/// Request ids count up from 1 across the process, like a go-jsonrpc client's
/// counter; each channel's call gets its own.
static NEXT_REQUEST_ID: AtomicI64 = AtomicI64::new(1);
/// How long the node gets to answer the call, and to confirm a cancel with
/// `xrpc.ch.close`.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Head-change batches carry full tipsets; Lotus caps its messages far above this.
const MAX_FRAME: u32 = 64 << 20;

type Item = Result<Vec<HeadChange>, RpcError>;

/// An open ChainNotify channel. Dropping it unsubscribes like go-jsonrpc does
/// (`xrpc.cancel [request id]`), in the background; [`ChainNotifyStream::cancel`]
/// does the same and waits for the node's `xrpc.ch.close`.
#[derive(Debug)]
pub struct ChainNotifyStream {
    request: i64,
    channel: u64,
    batches: mpsc::UnboundedReceiver<Item>,
    unsubscribe: Option<oneshot::Sender<()>>,
    reader: Option<JoinHandle<bool>>,
}

/// The call that opened a channel and the channel it opened.
#[derive(Debug, Clone, Copy)]
struct Ids {
    request: i64,
    channel: u64,
}

/// How a channel's reader ended.
#[derive(Debug)]
enum End {
    /// The node sent `xrpc.ch.close` (after our cancel, or on its own).
    Closed,
    /// Our consumer went away or asked to unsubscribe.
    Unsubscribe,
    /// The socket failed or the node sent garbage.
    Failed,
}

impl ChainNotifyStream {
    /// Connects to `info.ws_url()` (bearer token if any) and opens the channel.
    pub async fn open(info: &ApiInfo) -> Result<ChainNotifyStream, RpcError> {
        let url = info.ws_url();
        let connect = |reason: String| RpcError::Connect {
            url: url.clone(),
            reason,
        };
        let target = Url::parse(&url).map_err(|e| connect(e.to_string()))?;
        let mut headers = HeaderMap::new();
        if let Some(token) = &info.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|e| connect(format!("token is not a valid header value: {e}")))?;
            headers.insert("Authorization", value);
        }
        let (mut tx, mut rx) = WsTransportClientBuilder::default()
            .set_headers(headers)
            .max_response_size(MAX_FRAME)
            .build(target)
            .await
            .map_err(|e| connect(e.to_string()))?;
        let request = NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed);
        let call = json!({"jsonrpc": "2.0", "id": request, "method": METHOD, "params": []});
        tx.send(call.to_string()).await.map_err(call_failed)?;
        let channel = tokio::time::timeout(ANSWER_TIMEOUT, channel_id(&mut rx, request))
            .await
            .map_err(|_| call_failed("no answer"))??;
        let (batches_tx, batches) = mpsc::unbounded_channel();
        let (unsubscribe, unsubscribed) = oneshot::channel();
        let ids = Ids { request, channel };
        let reader = tokio::spawn(read_channel(tx, rx, ids, batches_tx, unsubscribed));
        Ok(ChainNotifyStream {
            request,
            channel,
            batches,
            unsubscribe: Some(unsubscribe),
            reader: Some(reader),
        })
    }

    /// The channel id the node assigned.
    pub fn channel_id(&self) -> u64 {
        self.channel
    }

    /// The id of the call that opened the channel (what a cancel names).
    pub fn request_id(&self) -> i64 {
        self.request
    }

    /// Next batch of head changes; `Ok(None)` when the node closed the channel or
    /// the connection dropped (the caller reconnects and reconciles).
    pub async fn next(&mut self) -> Result<Option<Vec<HeadChange>>, RpcError> {
        self.batches.recv().await.transpose()
    }

    /// Unsubscribes (`xrpc.cancel [request id]`) and waits until the node
    /// confirms with `xrpc.ch.close`; false if it did not within a few seconds
    /// or the connection failed first.
    pub async fn cancel(mut self) -> bool {
        if let Some(unsubscribe) = self.unsubscribe.take() {
            let _ = unsubscribe.send(());
        }
        match self.reader.take() {
            Some(reader) => reader.await.unwrap_or(false),
            None => false,
        }
    }
}

impl Drop for ChainNotifyStream {
    fn drop(&mut self) {
        // Dropping the sender wakes the reader, which unsubscribes on its own.
        self.unsubscribe.take();
    }
}

fn call_failed(reason: impl std::fmt::Display) -> RpcError {
    RpcError::Call {
        method: METHOD,
        reason: reason.to_string(),
    }
}

fn malformed(reason: impl std::fmt::Display) -> RpcError {
    RpcError::Malformed {
        method: METHOD,
        reason: reason.to_string(),
    }
}

async fn next_frame<R: TransportReceiverT>(rx: &mut R) -> Result<Value, RpcError> {
    loop {
        let text = match rx.receive().await.map_err(call_failed)? {
            ReceivedMessage::Text(text) => text,
            ReceivedMessage::Bytes(bytes) => String::from_utf8(bytes).map_err(malformed)?,
            ReceivedMessage::Pong => continue,
        };
        return serde_json::from_str(&text).map_err(malformed);
    }
}

/// Waits for the answer to the call; the node sends nothing on the channel first.
async fn channel_id<R: TransportReceiverT>(rx: &mut R, request: i64) -> Result<u64, RpcError> {
    loop {
        let frame = next_frame(rx).await?;
        if frame.get("id").and_then(Value::as_i64) != Some(request) {
            continue;
        }
        if let Some(error) = frame.get("error") {
            return Err(call_failed(error));
        }
        return frame
            .get("result")
            .and_then(Value::as_u64)
            .ok_or_else(|| malformed(format!("channel id expected, got {frame}")));
    }
}

/// The socket's frames as a stream. soketto's `receive` is not cancel-safe (a
/// dropped call can leave half a frame read), so the one in flight lives inside
/// the stream and survives a `select!` that picks another branch.
fn frames<R: TransportReceiverT + Send>(
    rx: R,
) -> Pin<Box<dyn Stream<Item = Result<Value, RpcError>> + Send>> {
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        let frame = next_frame(&mut rx).await;
        Some((frame, rx))
    }))
}

/// Moves the channel's values into `out` until the node closes it, the socket
/// fails, or the consumer unsubscribes; returns whether the node confirmed the
/// close.
async fn read_channel<S, R>(
    mut tx: S,
    rx: R,
    ids: Ids,
    out: mpsc::UnboundedSender<Item>,
    mut unsubscribe: oneshot::Receiver<()>,
) -> bool
where
    S: TransportSenderT,
    R: TransportReceiverT + Send,
{
    let mut frames = frames(rx);
    let end = loop {
        let frame = tokio::select! {
            _ = &mut unsubscribe => break End::Unsubscribe,
            frame = frames.next() => frame,
        };
        let Some(frame) = frame else {
            break End::Failed;
        };
        match frame.and_then(|f| channel_event(&f, ids.channel)) {
            Ok(Some(Event::Value(batch))) => {
                // A consumer that is gone will unsubscribe through its sender.
                let _ = out.send(Ok(batch));
            }
            Ok(Some(Event::Close)) => break End::Closed,
            Ok(None) => {}
            Err(err) => {
                let _ = out.send(Err(err));
                break End::Failed;
            }
        }
    };
    let confirmed = match end {
        End::Closed => true,
        End::Failed => false,
        End::Unsubscribe => {
            let cancel =
                json!({"jsonrpc": "2.0", "method": "xrpc.cancel", "params": [ids.request]});
            tx.send(cancel.to_string()).await.is_ok()
                && tokio::time::timeout(CLOSE_TIMEOUT, wait_close(&mut frames, ids.channel))
                    .await
                    .unwrap_or(false)
        }
    };
    let _ = tx.close().await;
    confirmed
}

/// Discards values until `xrpc.ch.close [channel]`.
async fn wait_close(
    frames: &mut (dyn Stream<Item = Result<Value, RpcError>> + Send + Unpin),
    channel: u64,
) -> bool {
    while let Some(frame) = frames.next().await {
        match frame.and_then(|f| channel_event(&f, channel)) {
            Ok(Some(Event::Close)) => return true,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(%err, "ChainNotify connection failed while unsubscribing");
                return false;
            }
        }
    }
    false
}

enum Event {
    Value(Vec<HeadChange>),
    Close,
}

/// What `frame` means for `channel` (`None`: another channel or a stray frame).
fn channel_event(frame: &Value, channel: u64) -> Result<Option<Event>, RpcError> {
    let params = frame.get("params").and_then(Value::as_array);
    let ours = params.and_then(|p| p.first()).and_then(Value::as_u64) == Some(channel);
    match frame.get("method").and_then(Value::as_str) {
        Some("xrpc.ch.val") if ours => {
            let value = params
                .and_then(|p| p.get(1))
                .cloned()
                .unwrap_or(Value::Null);
            let batch = serde_json::from_value(value).map_err(malformed)?;
            Ok(Some(Event::Value(batch)))
        }
        Some("xrpc.ch.close") if ours => Ok(Some(Event::Close)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_events_are_routed_by_channel_id() {
        let val = json!({"jsonrpc": "2.0", "method": "xrpc.ch.val", "params": [2, []]});
        assert!(matches!(channel_event(&val, 2), Ok(Some(Event::Value(b))) if b.is_empty()));
        assert!(matches!(channel_event(&val, 1), Ok(None)));
        let close = json!({"jsonrpc": "2.0", "method": "xrpc.ch.close", "params": [2]});
        assert!(matches!(channel_event(&close, 2), Ok(Some(Event::Close))));
        let bad = json!({"jsonrpc": "2.0", "method": "xrpc.ch.val", "params": [2, {"x": 1}]});
        assert!(channel_event(&bad, 2).is_err());
    }
}
