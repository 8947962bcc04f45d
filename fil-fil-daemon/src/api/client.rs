//! Client of the control API for the CLI: finds the daemon through the repo's
//! `api` and `token` files.

use serde::de::DeserializeOwned;

use super::server::HEAD_HEADER;
use crate::daemon::control::{PinInfo, SnapshotHead, SnapshotRequest, Status};
use crate::daemon::Repo;

/// Failure talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ApiClientError {
    /// The repo has no `api`/`token` file: the daemon is not running there.
    #[error("no daemon found in {repo}: {reason} (is `fil-fil daemon --repo {repo}` running?)")]
    NotRunning {
        /// Repo path.
        repo: String,
        /// What was missing.
        reason: String,
    },
    /// Transport failure.
    #[error("control API request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The daemon answered with an error.
    #[error("daemon refused ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its error message.
        message: String,
    },
    /// The answer could not be understood.
    #[error("unexpected answer from the daemon: {0}")]
    Malformed(String),
}

/// Authenticated client of one daemon.
#[derive(Debug, Clone)]
pub struct ControlClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl ControlClient {
    /// Client for the daemon whose repo is `repo`.
    pub fn from_repo(repo: &Repo) -> Result<ControlClient, ApiClientError> {
        let missing = |e: crate::daemon::RepoError| ApiClientError::NotRunning {
            repo: repo.root().display().to_string(),
            reason: e.to_string(),
        };
        let base = repo.read_api_url().map_err(missing)?;
        let token = repo.read_token().map_err(missing)?;
        Ok(ControlClient::new(base, token))
    }

    /// Client for `base` (e.g. `http://127.0.0.1:4567`) with `token`.
    pub fn new(base: String, token: String) -> ControlClient {
        ControlClient {
            base,
            token,
            http: reqwest::Client::new(),
        }
    }

    async fn check(resp: reqwest::Response) -> Result<reqwest::Response, ApiClientError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or(text);
        Err(ApiClientError::Refused {
            status: status.as_u16(),
            message,
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiClientError> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Ok(Self::check(resp).await?.json().await?)
    }

    /// `GET /v0/status`.
    pub async fn status(&self) -> Result<Status, ApiClientError> {
        self.get("/v0/status").await
    }

    /// `GET /v0/pins`.
    pub async fn pins(&self) -> Result<Vec<PinInfo>, ApiClientError> {
        self.get("/v0/pins").await
    }

    /// `DELETE /v0/pins/{epoch}`.
    pub async fn delete_pin(&self, epoch: i64) -> Result<(), ApiClientError> {
        let resp = self
            .http
            .delete(format!("{}/v0/pins/{epoch}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Self::check(resp).await.map(|_| ())
    }

    /// `GET /metrics` (no token needed).
    pub async fn metrics(&self) -> Result<String, ApiClientError> {
        let resp = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?;
        Ok(Self::check(resp).await?.text().await?)
    }

    /// `POST /v0/snapshot`: the head and the streaming response (read it with
    /// `chunk()`; a transport error mid-way means the export failed).
    pub async fn snapshot(
        &self,
        request: &SnapshotRequest,
    ) -> Result<(SnapshotHead, reqwest::Response), ApiClientError> {
        let resp = self
            .http
            .post(format!("{}/v0/snapshot", self.base))
            .bearer_auth(&self.token)
            .json(request)
            .send()
            .await?;
        let resp = Self::check(resp).await?;
        let head = resp
            .headers()
            .get(HEAD_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| serde_json::from_str(v).ok())
            .ok_or_else(|| ApiClientError::Malformed(format!("no valid {HEAD_HEADER} header")))?;
        Ok((head, resp))
    }
}
