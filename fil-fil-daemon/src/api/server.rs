//! Routes and auth of the control API. Snapshots stream as the export produces
//! them (`application/vnd.ipld.car`), with the head in response headers, so the
//! CLI can hash and write while the daemon walks the DAG.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;

use crate::daemon::control::{Control, SnapshotError, SnapshotRequest};

/// Response header carrying the snapshot head as JSON ([`SnapshotHead`](crate::daemon::control::SnapshotHead)).
pub const HEAD_HEADER: &str = "x-fil-fil-head";

#[derive(Clone)]
struct AppState {
    control: Arc<dyn Control>,
    token: Arc<str>,
}

/// A running API server.
#[derive(Debug)]
pub struct ApiServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Resolves when the server stopped.
    pub task: tokio::task::JoinHandle<()>,
}

/// Binds `listen` and serves `control` until `cancel`.
pub async fn serve(
    control: Arc<dyn Control>,
    listen: SocketAddr,
    token: String,
    cancel: CancellationToken,
) -> std::io::Result<ApiServer> {
    let state = AppState {
        control,
        token: token.into(),
    };
    let v0 = Router::new()
        .route("/v0/status", get(status))
        .route("/v0/snapshot", post(snapshot))
        .route("/v0/pins", get(pins))
        .route("/v0/pins/{epoch}", delete(delete_pin))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    let app = Router::new()
        .route("/metrics", get(metrics))
        .merge(v0)
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    // Small responses (status, pins): without this, Nagle's algorithm can hold
    // them behind a delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned());
        if let Err(err) = server.await {
            tracing::error!(%err, "control API stopped");
        }
    });
    tracing::info!(%addr, "control API listening");
    Ok(ApiServer { addr, task })
}

async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented.is_some_and(|t| constant_time_eq(t.as_bytes(), state.token.as_bytes())) {
        next.run(req).await
    } else {
        error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token (see the repo's token file)",
        )
    }
}

/// Compares without an early exit, so the token cannot be guessed by timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn error(code: StatusCode, message: &str) -> Response {
    (code, Json(serde_json::json!({ "error": message }))).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.control.metrics_text(),
    )
        .into_response()
}

async fn status(State(state): State<AppState>) -> Response {
    Json(state.control.status()).into_response()
}

async fn pins(State(state): State<AppState>) -> Response {
    Json(state.control.pins()).into_response()
}

async fn delete_pin(State(state): State<AppState>, Path(epoch): Path<i64>) -> Response {
    if state.control.delete_pin(epoch) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, &format!("no pin for epoch {epoch}"))
    }
}

async fn snapshot(State(state): State<AppState>, Json(request): Json<SnapshotRequest>) -> Response {
    let stream = match state.control.snapshot(request).await {
        Ok(stream) => stream,
        Err(err) => {
            let code = match err {
                SnapshotError::NotHeld(_) => StatusCode::CONFLICT,
                SnapshotError::BadRequest(_) => StatusCode::BAD_REQUEST,
                SnapshotError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return error(code, &err.to_string());
        }
    };
    let head = match serde_json::to_string(&stream.head)
        .ok()
        .and_then(|h| HeaderValue::from_str(&h).ok())
    {
        Some(h) => h,
        None => return error(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode the head"),
    };
    let body = futures::stream::unfold(stream.body, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.ipld.car"),
    );
    headers.insert(HEAD_HEADER, head);
    response
}
