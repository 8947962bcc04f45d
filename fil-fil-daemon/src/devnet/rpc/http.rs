//! JSON-RPC over plain HTTP POST, single requests and batches, with go-jsonrpc's
//! status codes: protocol errors answer 500 (400 for an empty or invalid request),
//! method results and method errors 200. Channel methods are refused. Batches
//! can be switched off (`DevnetConfig::http_batches`) to play an older node.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::Value;

use super::auth::Granted;
use super::dispatch::{answer_batch, answer_frame};
use super::envelope::{error_response, parse_error, RpcError, INVALID_REQUEST};
use super::Shared;

/// Handles one POST body.
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    Extension(granted): Extension<Granted>,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body);
    let text = text.trim();
    let invalid = RpcError {
        code: INVALID_REQUEST,
        message: "Invalid request".into(),
    };
    if text.is_empty() {
        return reply(StatusCode::BAD_REQUEST, error_response(None, &invalid));
    }
    let parse_failed = || {
        reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            error_response(None, &parse_error("Parse error")),
        )
    };
    if text.starts_with('[') && text.ends_with(']') {
        if !shared.node.config.http_batches {
            return parse_failed();
        }
        let Ok(frames) = serde_json::from_str::<Vec<Value>>(text) else {
            return parse_failed();
        };
        if frames.is_empty() {
            return reply(StatusCode::BAD_REQUEST, error_response(None, &invalid));
        }
        return reply(StatusCode::OK, answer_batch(&shared, granted, frames).await);
    }
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return parse_failed();
    };
    match answer_frame(&shared, granted, frame).await {
        Some(r) => reply(r.status, r.text),
        None => reply(StatusCode::OK, String::new()),
    }
}

fn reply(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
