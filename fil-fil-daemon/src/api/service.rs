//! The whole daemon process in one value: the follower/ingester ([`Daemon`]) plus
//! the control API, with the repo's `token` and `api` files written so commands
//! find it. Tests start one on port 0 and stop it with [`Service::shutdown`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::server::{serve, ApiServer};
use crate::daemon::{Daemon, DaemonConfig, DaemonHandle, Repo, RepoError, StartError};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The daemon.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The repo.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// Binding the API address.
    #[error("control API on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// A running daemon with its control API.
#[derive(Debug)]
pub struct Service {
    daemon: Daemon,
    api: ApiServer,
    api_cancel: CancellationToken,
    repo: Repo,
}

impl Service {
    /// Creates the repo if needed, starts the daemon and the API.
    pub async fn start(config: DaemonConfig, repo: Repo) -> Result<Service, ServiceError> {
        let repo = Repo::create(repo.root())?;
        let token = repo.ensure_token()?;
        let listen = config.api_listen;
        let daemon = Daemon::start(config, repo.clone()).await?;
        let api_cancel = CancellationToken::new();
        let api = serve(Arc::new(daemon.handle()), listen, token, api_cancel.clone())
            .await
            .map_err(|source| ServiceError::Bind {
                addr: listen,
                source,
            })?;
        repo.write_api_addr(api.addr)?;
        Ok(Service {
            daemon,
            api,
            api_cancel,
            repo,
        })
    }

    /// Address of the control API.
    pub fn api_addr(&self) -> SocketAddr {
        self.api.addr
    }

    /// The daemon handle.
    pub fn handle(&self) -> DaemonHandle {
        self.daemon.handle()
    }

    /// The repo.
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// Stops the API and the daemon (final checkpoint included).
    pub async fn shutdown(self) {
        self.repo.clear_api_addr();
        self.api_cancel.cancel();
        let _ = self.api.task.await;
        self.daemon.shutdown().await;
    }
}
