//! The Lotus v1 JSON-RPC endpoint (`/rpc/v1`, also `/rpc/v0`): HTTP POST with
//! batches, WebSocket with go-jsonrpc channels, and Lotus-style bearer-token auth.

mod envelope;
mod http;
mod methods;
mod ws;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::node::Node;

pub use envelope::RpcError;

/// What every connection shares: the node, the token and the fault switches.
#[derive(Debug)]
pub struct Shared {
    /// The simulated node.
    pub node: Arc<Node>,
    token: Option<String>,
    drop_tx: broadcast::Sender<()>,
    shutdown: CancellationToken,
}

impl Shared {
    /// State for a server over `node`; `token`, when set, is required as a bearer token.
    pub fn new(node: Arc<Node>, token: Option<String>, shutdown: CancellationToken) -> Self {
        let (drop_tx, _) = broadcast::channel(4);
        Self {
            node,
            token,
            drop_tx,
            shutdown,
        }
    }

    /// Drops every open WebSocket without a close frame; returns how many.
    pub fn drop_connections(&self) -> usize {
        self.drop_tx.send(()).unwrap_or(0)
    }
}

/// The router serving `/rpc/v1` and `/rpc/v0`.
pub fn router(shared: Arc<Shared>) -> Router {
    let rpc = get(ws::upgrade).post(http::handle);
    Router::new()
        .route("/rpc/v1", rpc.clone())
        .route("/rpc/v0", rpc)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), auth))
        .with_state(shared)
}

/// Lotus rejects a missing or wrong token with 401 when auth is on.
async fn auth(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if let Some(token) = &shared.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    next.run(req).await
}
