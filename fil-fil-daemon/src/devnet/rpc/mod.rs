//! The Lotus v1 JSON-RPC endpoint (`/rpc/v1`, also `/rpc/v0`): HTTP POST with
//! batches, WebSocket with go-jsonrpc channels, and Lotus-style bearer-token auth.

mod auth;
mod dispatch;
mod envelope;
mod http;
mod methods;
mod ws;

use std::sync::Arc;

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
    /// State for a server over `node`; `token`, when set, grants every permission
    /// (requests without one may only read, a wrong one is refused).
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
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            auth::middleware,
        ))
        .with_state(shared)
}
