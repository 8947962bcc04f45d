//! `--repo`: how every daemon-facing command finds the daemon (its `api` and
//! `token` files), default `~/.fil-fil` or `$FIL_FIL_REPO`.

use std::path::PathBuf;

use clap::Args;

use crate::api::ControlClient;
use crate::daemon::Repo;

/// Repo location.
#[derive(Debug, Clone, Args)]
pub struct RepoArgs {
    /// Daemon repo directory (config.toml, token, api, checkpoints) [default: ~/.fil-fil].
    #[arg(long, env = "FIL_FIL_REPO")]
    pub repo: Option<PathBuf>,
}

impl RepoArgs {
    /// The repo handle.
    pub fn repo(&self) -> Repo {
        Repo::at(self.repo.clone().unwrap_or_else(Repo::default_path))
    }

    /// A client of the daemon running on this repo.
    pub fn client(&self) -> anyhow::Result<ControlClient> {
        Ok(ControlClient::from_repo(&self.repo())?)
    }
}
