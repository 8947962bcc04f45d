//! JSON-RPC over plain HTTP POST, single requests and batches, with go-jsonrpc's
//! status codes: protocol errors answer 500 (400 for an empty or invalid request),
//! method results and method errors 200. Channel methods are refused.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::envelope::{
    error_response, ok_response, parse_error, Request, RpcError, INVALID_REQUEST,
};
use super::methods::{call, check, no_channels, CHAIN_NOTIFY};
use super::Shared;

/// Handles one POST body.
pub async fn handle(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let text = text.trim();
    let invalid = RpcError {
        code: INVALID_REQUEST,
        message: "Invalid request".into(),
    };
    if text.is_empty() {
        return reply(StatusCode::BAD_REQUEST, error_response(None, &invalid));
    }
    if text.starts_with('[') && text.ends_with(']') {
        let Ok(frames) = serde_json::from_str::<Vec<Value>>(text) else {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                error_response(None, &parse_error("Parse error")),
            );
        };
        if frames.is_empty() {
            return reply(StatusCode::BAD_REQUEST, error_response(None, &invalid));
        }
        let mut items = Vec::with_capacity(frames.len());
        for frame in frames {
            if let Some((_, item)) = one(&shared, frame).await {
                items.push(item);
            }
        }
        let body = if items.is_empty() {
            String::new()
        } else {
            format!("[{}]", items.join(","))
        };
        return reply(StatusCode::OK, body);
    }
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            error_response(None, &parse_error("Parse error")),
        );
    };
    match one(&shared, frame).await {
        Some((status, body)) => reply(status, body),
        None => reply(StatusCode::OK, String::new()),
    }
}

async fn one(shared: &Arc<Shared>, frame: Value) -> Option<(StatusCode, String)> {
    let protocol = |id: Option<&Value>, e: &RpcError| {
        let status = if e.code == INVALID_REQUEST {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        Some((status, error_response(id, e)))
    };
    let req = match Request::parse(frame) {
        Ok(r) => r,
        Err((id, e)) => return protocol(id.as_ref(), &e),
    };
    if let Err(e) = check(&req.method, &req.params) {
        return protocol(req.id.as_ref(), &e);
    }
    if req.method == CHAIN_NOTIFY {
        return protocol(req.id.as_ref(), &no_channels(&req.method));
    }
    let result = call(shared, &req.method, &req.params).await;
    let id = req.id.as_ref()?;
    Some(match result {
        Ok(text) => (StatusCode::OK, ok_response(Some(id), &text)),
        Err(e) if e.is_protocol() => (
            StatusCode::INTERNAL_SERVER_ERROR,
            error_response(Some(id), &e),
        ),
        Err(e) => (StatusCode::OK, error_response(Some(id), &e)),
    })
}

fn reply(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
