//! One request, from parsed frame to response text, shared by HTTP and WebSocket:
//! existence and arity checks, permissions, the call, and go-jsonrpc's split
//! between protocol errors (HTTP 500, 400 for an invalid request) and method
//! results or errors (HTTP 200). Batches answer in request order while their
//! calls overlap.

use std::sync::Arc;

use axum::http::StatusCode;
use futures::StreamExt;
use serde_json::Value;

use super::auth::Granted;
use super::envelope::{error_response, ok_response, Request, RpcError, INVALID_REQUEST};
use super::methods::{call, check, no_channels, CHAIN_NOTIFY};
use super::Shared;

/// Calls of one batch in flight at once: enough to overlap the few that wait
/// (mining, dumps) without one batch monopolising the runtime.
const BATCH_CONCURRENCY: usize = 16;

/// A response frame and the HTTP status go-jsonrpc would send it with.
#[derive(Debug)]
pub struct Reply {
    /// 200 for results and method errors, 400/500 for protocol errors.
    pub status: StatusCode,
    /// The JSON text, newline-terminated.
    pub text: String,
}

fn protocol(id: Option<&Value>, e: &RpcError) -> Reply {
    let status = if e.code == INVALID_REQUEST {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    Reply {
        status,
        text: error_response(id, e),
    }
}

/// Answers one raw request frame; `None` for a notification.
pub async fn answer_frame(shared: &Arc<Shared>, granted: Granted, frame: Value) -> Option<Reply> {
    match Request::parse(frame) {
        Ok(req) => answer(shared, granted, req).await,
        Err((id, e)) => Some(protocol(id.as_ref(), &e)),
    }
}

/// Answers one parsed, non-channel request; `None` for a notification (it still
/// runs). A channel method gets go-jsonrpc's "no out channel support" error.
pub async fn answer(shared: &Arc<Shared>, granted: Granted, req: Request) -> Option<Reply> {
    if let Err(e) = check(&req.method, &req.params) {
        return Some(protocol(req.id.as_ref(), &e));
    }
    if req.method == CHAIN_NOTIFY {
        return Some(protocol(req.id.as_ref(), &no_channels(&req.method)));
    }
    let result = match granted.authorize(&req.method) {
        Ok(()) => call(shared, &req.method, &req.params).await,
        Err(e) => Err(e),
    };
    let id = req.id.as_ref()?;
    Some(match result {
        Ok(text) => Reply {
            status: StatusCode::OK,
            text: ok_response(Some(id), &text),
        },
        Err(e) if e.is_protocol() => Reply {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            text: error_response(Some(id), &e),
        },
        Err(e) => Reply {
            status: StatusCode::OK,
            text: error_response(Some(id), &e),
        },
    })
}

/// Answers a batch: one item per request that expects an answer, in request
/// order, as one JSON array written the way go-jsonrpc's batch writer does (each
/// item keeps its encoder newline, no newline after `]`); empty text when every
/// item was a notification.
pub async fn answer_batch(shared: &Arc<Shared>, granted: Granted, frames: Vec<Value>) -> String {
    let items: Vec<Option<Reply>> = futures::stream::iter(frames)
        .map(|frame| answer_frame(shared, granted, frame))
        .buffered(BATCH_CONCURRENCY)
        .collect()
        .await;
    let mut out = String::new();
    for reply in items.into_iter().flatten() {
        out.push(if out.is_empty() { '[' } else { ',' });
        out.push_str(&reply.text);
    }
    if !out.is_empty() {
        out.push(']');
    }
    out
}
