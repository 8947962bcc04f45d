//! JSON-RPC over WebSocket with go-jsonrpc's channel protocol: a channel method's
//! response carries a per-connection channel id (counting from 1); values follow as
//! `xrpc.ch.val [id, value]` notifications and the end as `xrpc.ch.close [id]`;
//! `xrpc.cancel [requestId]` cancels the call that opened a channel, which closes it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::envelope::{error_response, notification, ok_response, Request};
use super::methods::{call, check, CHAIN_NOTIFY};
use super::Shared;
use crate::devnet::index::Batch;
use crate::devnet::json::change_json;

/// Outgoing frames queue this deep; beyond it senders wait on the socket, so a
/// reader that stops reading backs up into its `ChainNotify` buffer as on Lotus.
const OUTBOX: usize = 4;

/// Upgrades `GET /rpc/v1` to a WebSocket connection.
pub async fn upgrade(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(100 << 20)
        .on_upgrade(move |socket| connection(shared, socket))
}

async fn connection(shared: Arc<Shared>, socket: WebSocket) {
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
    let mut channels: HashMap<String, CancellationToken> = HashMap::new();
    let mut next_channel: u64 = 0;
    loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            _ = drops.recv() => {
                tracing::info!("devnet: dropping WebSocket connection (fault injection)");
                break;
            }
            () = shared.shutdown.cancelled() => break,
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
        let req = match Request::parse(frame) {
            Ok(r) => r,
            Err((id, e)) => {
                if out_tx.send(error_response(id.as_ref(), &e)).await.is_err() {
                    break;
                }
                continue;
            }
        };
        match req.method.as_str() {
            "xrpc.cancel" => {
                let key = req.params.first().map(Value::to_string).unwrap_or_default();
                if let Some(token) = channels.remove(&key) {
                    token.cancel();
                }
                continue;
            }
            // Client-side frames a server never acts on.
            "xrpc.ch.val" | "xrpc.ch.close" | "" => continue,
            _ => {}
        }
        if let Err(e) = check(&req.method, &req.params) {
            if out_tx
                .send(error_response(req.id.as_ref(), &e))
                .await
                .is_err()
            {
                break;
            }
            continue;
        }
        let Some(id) = req.id.clone() else {
            // Notifications run but get no answer.
            if req.method != CHAIN_NOTIFY {
                let _ = call(&shared, &req.method, &req.params).await;
            }
            continue;
        };
        if req.method == CHAIN_NOTIFY {
            next_channel += 1;
            let rx = shared.node.chain.write().subscribe();
            let token = conn_done.child_token();
            channels.insert(id.to_string(), token.clone());
            let response = ok_response(Some(&id), &next_channel.to_string());
            if out_tx.send(response).await.is_err() {
                break;
            }
            tokio::spawn(forward(next_channel, rx, out_tx.clone(), token));
            continue;
        }
        let frame = match call(&shared, &req.method, &req.params).await {
            Ok(text) => ok_response(Some(&id), &text),
            Err(e) => error_response(Some(&id), &e),
        };
        if out_tx.send(frame).await.is_err() {
            break;
        }
    }
    conn_done.cancel();
    drop(out_tx);
    let _ = writer.await;
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
