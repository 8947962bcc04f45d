//! `Devnet`: a running devnet (node + RPC server + optional block timer), the
//! handle tests and `fil-fil devnet` use to start, drive and stop it.

use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use cid::Cid;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::DevnetConfig;
use super::error::DevnetError;
use super::export::{export_car, ExportStats};
use super::node::Node;
use super::rpc::{router, Shared};

/// A running devnet.
#[derive(Debug)]
pub struct Devnet {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
    timer: Option<JoinHandle<()>>,
}

impl Devnet {
    /// Builds the chain (genesis or replay, prefill), binds `config.listen` and
    /// starts serving; with `block_time` set, mines one step per interval.
    pub async fn start(config: DevnetConfig) -> Result<Self, DevnetError> {
        if config.address_network == 'f' {
            crate::lotus::json::Network::Mainnet.set_current();
        }
        let listen = config.listen;
        let token = config.token.clone();
        let block_time = config.block_time;
        let node = tokio::task::spawn_blocking(move || Node::build(config))
            .await
            .map_err(|e| DevnetError::Invalid(format!("building the devnet: {e}")))??;
        let node = Arc::new(node);
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared::new(node.clone(), token, shutdown.clone()));
        let app = router(shared.clone());
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            // Small frames answered one by one: Nagle's algorithm would hold each
            // behind the previous one's delayed ACK (~40 ms a round trip).
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let serve = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::error!("devnet RPC server stopped: {e}");
            }
        });
        let timer = block_time.map(|every| {
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        () = stop.cancelled() => break,
                    }
                    let node = node.clone();
                    match tokio::task::spawn_blocking(move || node.step()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::error!("devnet: mining failed: {e}"),
                        Err(e) => tracing::error!("devnet: mining task failed: {e}"),
                    }
                }
            })
        });
        tracing::info!(%addr, "devnet serving Lotus API at /rpc/v1");
        Ok(Self {
            shared,
            addr,
            shutdown,
            server,
            timer,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://…/rpc/v1`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/rpc/v1", self.addr)
    }

    /// `http://…/rpc/v1`.
    pub fn http_url(&self) -> String {
        format!("http://{}/rpc/v1", self.addr)
    }

    /// `FULLNODE_API_INFO` for this devnet (`token:/ip4/…/tcp/…/http`).
    pub fn api_info(&self) -> String {
        let multiaddr = match self.addr {
            SocketAddr::V4(a) => format!("/ip4/{}/tcp/{}/http", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("/ip6/{}/tcp/{}/http", a.ip(), a.port()),
        };
        match &self.node().config.token {
            Some(t) => format!("{t}:{multiaddr}"),
            None => multiaddr,
        }
    }

    /// The simulated node (store, chain index, faults).
    pub fn node(&self) -> &Arc<Node> {
        &self.shared.node
    }

    /// Mines `n` tipsets.
    pub async fn mine(&self, n: u64) -> Result<(), DevnetError> {
        let node = self.node().clone();
        join(tokio::task::spawn_blocking(move || node.mine(n)).await)
    }

    /// Reverts `depth` tipsets and applies a heavier branch.
    pub async fn reorg(&self, depth: usize) -> Result<(), DevnetError> {
        let node = self.node().clone();
        join(tokio::task::spawn_blocking(move || node.reorg(depth)).await)
    }

    /// Drops every WebSocket connection abruptly; returns how many.
    pub fn drop_connections(&self) -> usize {
        self.shared.drop_connections()
    }

    /// `ChainNotify` channels still open.
    pub fn open_channels(&self) -> usize {
        self.node().open_channels()
    }

    /// Closes every `ChainNotify` channel as Lotus does for a slow reader.
    pub fn close_channels(&self) -> usize {
        self.node().close_channels()
    }

    /// Serves `cid` with wrong bytes from now on.
    pub fn corrupt_object(&self, cid: Cid) {
        self.node().corrupt(cid);
    }

    /// Writes the full dump at `epoch` to `path`.
    pub async fn export(&self, epoch: i64, path: &Path) -> Result<ExportStats, DevnetError> {
        let node = self.node().clone();
        let path = path.to_owned();
        join(tokio::task::spawn_blocking(move || export_car(&node, epoch, &path)).await)
    }

    /// Stops the timer and the server, closing every connection.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        if let Some(t) = self.timer {
            let _ = t.await;
        }
        let _ = self.server.await;
    }
}

fn join<T>(r: Result<Result<T, DevnetError>, tokio::task::JoinError>) -> Result<T, DevnetError> {
    r.map_err(|e| DevnetError::Invalid(format!("devnet task failed: {e}")))?
}
