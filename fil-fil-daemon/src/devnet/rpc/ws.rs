//! JSON-RPC over WebSocket with go-jsonrpc's channel protocol: a channel method's
//! response carries a per-connection channel id (counting from 1); values follow as
//! `xrpc.ch.val [id, value]` notifications and the end as `xrpc.ch.close [id]`;
//! `xrpc.cancel [requestId]` cancels the call that opened a channel, which closes it.
//! Calls run concurrently (bounded per connection) and answer as they finish;
//! a channel's notifications stay in order because one task relays them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use super::auth::Granted;
use super::dispatch::{answer, answer_batch};
use super::envelope::{
    error_response, notification, ok_response, Request, RpcError, INVALID_REQUEST,
};
use super::methods::{check, CHAIN_NOTIFY};
use super::Shared;
use crate::devnet::index::Batch;
use crate::devnet::json::change_json;

/// Outgoing frames queue this deep; beyond it senders wait on the socket, so a
/// reader that stops reading backs up into its `ChainNotify` buffer as on Lotus.
const OUTBOX: usize = 4;
/// Calls of one connection running at once. go-jsonrpc starts a goroutine per
/// call without limit; the bound keeps a flooding client from piling up tasks:
/// the reader takes no new frame until a call finishes.
const MAX_IN_FLIGHT: usize = 256;

/// Upgrades `GET /rpc/v1` to a WebSocket connection; the permissions decided at
/// the upgrade hold for every call on it, as in go-jsonrpc.
pub async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Extension(granted): Extension<Granted>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(100 << 20)
        .on_upgrade(move |socket| connection(shared, granted, socket))
}

/// Waits for `fut` unless the connection is to be dropped or the server stops.
async fn unless_stopped<F: Future>(
    fut: F,
    drops: &mut broadcast::Receiver<()>,
    shutdown: &CancellationToken,
) -> Option<F::Output> {
    tokio::select! {
        out = fut => Some(out),
        _ = drops.recv() => {
            tracing::info!("devnet: dropping WebSocket connection (fault injection)");
            None
        }
        () = shutdown.cancelled() => None,
    }
}

async fn connection(shared: Arc<Shared>, granted: Granted, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel::<String>(OUTBOX);
    let conn_done = CancellationToken::new();
    let writer_done = conn_done.clone();
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = out_rx.recv() => {
                    let Some(frame) = frame else { break };
                    if sink.send(WsMessage::Text(frame.into())).await.is_err() {
                        break;
                    }
                }
                () = writer_done.cancelled() => break,
            }
        }
        // Dropping the sink without a close frame: an abrupt disconnect.
        drop(sink);
    });
    let mut drops = shared.drop_tx.subscribe();
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut channels: HashMap<String, CancellationToken> = HashMap::new();
    let mut next_channel: u64 = 0;
    loop {
        // A slot first, so a full connection stops reading rather than queueing.
        let Some(Ok(permit)) = unless_stopped(
            permits.clone().acquire_owned(),
            &mut drops,
            &shared.shutdown,
        )
        .await
        else {
            break;
        };
        let Some(msg) = unless_stopped(stream.next(), &mut drops, &shared.shutdown).await else {
            break;
        };
        let text = match msg {
            Some(Ok(WsMessage::Text(t))) => t.to_string(),
            Some(Ok(WsMessage::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
            Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
            Some(Ok(_)) => continue,
        };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            tracing::warn!("devnet: unparseable WebSocket frame; closing like go-jsonrpc");
            break;
        };
        let req = match frame {
            // go-jsonrpc's WebSocket takes single frames only; a batch is answered
            // as on HTTP (one array, request order) so clients can amortise frames.
            Value::Array(frames) => {
                let (shared, out) = (shared.clone(), out_tx.clone());
                tokio::spawn(async move {
                    let reply = if frames.is_empty() {
                        error_response(None, &invalid_request())
                    } else {
                        answer_batch(&shared, granted, frames).await
                    };
                    if !reply.is_empty() {
                        let _ = out.send(reply).await;
                    }
                    drop(permit);
                });
                continue;
            }
            frame => match Request::parse(frame) {
                Ok(r) => r,
                Err((id, e)) => {
                    if out_tx.send(error_response(id.as_ref(), &e)).await.is_err() {
                        break;
                    }
                    continue;
                }
            },
        };
        match req.method.as_str() {
            "xrpc.cancel" => {
                let key = req.params.first().map(Value::to_string).unwrap_or_default();
                if let Some(token) = channels.remove(&key) {
                    token.cancel();
                }
            }
            // Client-side frames a server never acts on.
            "xrpc.ch.val" | "xrpc.ch.close" | "" => {}
            // Opened inline: the channel id must go out before its first value.
            CHAIN_NOTIFY => {
                let Some(id) = req.id.clone() else { continue };
                if let Err(e) = check(&req.method, &req.params) {
                    if out_tx.send(error_response(Some(&id), &e)).await.is_err() {
                        break;
                    }
                    continue;
                }
                next_channel += 1;
                let rx = shared.node.chain.write().subscribe();
                let token = conn_done.child_token();
                channels.insert(id.to_string(), token.clone());
                let response = ok_response(Some(&id), &next_channel.to_string());
                if out_tx.send(response).await.is_err() {
                    break;
                }
                tokio::spawn(forward(next_channel, rx, out_tx.clone(), token));
            }
            // Every other call runs on its own task, as go-jsonrpc runs each in a
            // goroutine: responses go out as they complete, in any order.
            _ => {
                let (shared, out) = (shared.clone(), out_tx.clone());
                tokio::spawn(async move {
                    if let Some(reply) = answer(&shared, granted, req).await {
                        let _ = out.send(reply.text).await;
                    }
                    drop(permit);
                });
            }
        }
    }
    conn_done.cancel();
    drop(out_tx);
    let _ = writer.await;
}

fn invalid_request() -> RpcError {
    RpcError {
        code: INVALID_REQUEST,
        message: "Invalid request".into(),
    }
}

/// Relays one subscription's batches as `xrpc.ch.val`, then `xrpc.ch.close`.
async fn forward(
    channel: u64,
    mut rx: mpsc::Receiver<Batch>,
    out: mpsc::Sender<String>,
    cancel: CancellationToken,
) {
    loop {
        let batch = tokio::select! {
            b = rx.recv() => b,
            () = cancel.cancelled() => None,
        };
        let Some(batch) = batch else { break };
        let changes = match batch.iter().map(change_json).collect::<Result<Vec<_>, _>>() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("devnet: cannot render head change: {e}");
                break;
            }
        };
        let Ok(value) = serde_json::to_string(&changes) else {
            break;
        };
        let frame = notification("xrpc.ch.val", &format!("[{channel},{value}]"));
        tokio::select! {
            sent = out.send(frame) => if sent.is_err() { return },
            () = cancel.cancelled() => break,
        }
    }
    let _ = out
        .send(notification("xrpc.ch.close", &format!("[{channel}]")))
        .await;
}
