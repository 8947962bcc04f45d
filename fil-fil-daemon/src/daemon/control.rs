//! What the control API asks of the daemon, as a trait plus plain data types, so
//! the HTTP layer (`api`) and its tests do not depend on how the daemon is built.

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::lotus::json::CidJson;

/// CAR layout asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Classic Lotus CARv1 (roots = head tipset).
    #[default]
    V1,
    /// FRC-0108 v2 (metadata root block first).
    V2,
}

/// Compression asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Compress {
    /// Plain CAR.
    #[default]
    None,
    /// zstd stream.
    Zstd,
}

/// A `take-snapshot` request; unset fields take the daemon's head and settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRequest {
    /// Epoch (a null round exports the tipset below it).
    pub epoch: Option<i64>,
    /// Recent state roots.
    pub depth: Option<i64>,
    /// Drop messages older than the depth.
    pub skip_old_msgs: Option<bool>,
    /// Layout.
    #[serde(default)]
    pub format: Format,
    /// Compression.
    #[serde(default)]
    pub compress: Compress,
}

/// The tipset a snapshot is headed by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotHead {
    /// Its height.
    pub height: i64,
    /// Its key.
    pub key: Vec<CidJson>,
    /// Depth used.
    pub depth: i64,
    /// Old messages skipped.
    pub skip_old_msgs: bool,
}

/// A snapshot being written: the head, then the file bytes as they are produced;
/// an `Err` item means the export failed and the bytes so far are not a snapshot.
#[derive(Debug)]
pub struct SnapshotStream {
    /// Head of the snapshot.
    pub head: SnapshotHead,
    /// The bytes.
    pub body: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

/// Why a snapshot cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The request names data the daemon does not hold (window, pins).
    #[error("{0}")]
    NotHeld(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Something failed inside the daemon.
    #[error("{0}")]
    Internal(String),
}

/// A scheduled-snapshot pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinInfo {
    /// Scheduled epoch.
    pub epoch: i64,
    /// Height of the tipset exported for it (≤ epoch, null rounds).
    pub height: i64,
    /// That tipset's key.
    pub key: Vec<CidJson>,
    /// Depth the pin covers.
    pub depth: i64,
    /// Whether old messages are left out.
    pub skip_old_msgs: bool,
}

/// What `status` reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Node endpoint followed.
    pub node: String,
    /// Connected to the node now.
    pub connected: bool,
    /// Daemon head height (`None` before bootstrap).
    pub head_height: Option<i64>,
    /// Daemon head key.
    pub head: Vec<CidJson>,
    /// Newest tipset whose window is fully linked (the default snapshot head).
    pub settled_head: Vec<CidJson>,
    /// Node head height last heard of.
    pub node_height: Option<i64>,
    /// Oldest tipset still in the revertible log.
    pub window_start: Option<i64>,
    /// Window depth.
    pub depth: i64,
    /// Old messages dropped.
    pub skip_old_msgs: bool,
    /// Blocks held.
    pub objects: u64,
    /// Payload bytes held.
    pub bytes: u64,
    /// Scheduled pins.
    pub pins: Vec<PinInfo>,
    /// Snapshot period.
    pub snapshot_interval: i64,
    /// Confidence depth.
    pub confidence: i64,
    /// Last ingestion error, if the latest attempt failed.
    pub last_error: Option<String>,
}

/// The daemon as the control API sees it.
#[async_trait]
pub trait Control: Send + Sync + 'static {
    /// Current status.
    fn status(&self) -> Status;
    /// Starts a snapshot export; the data it needs is pinned until it finishes.
    async fn snapshot(&self, request: SnapshotRequest) -> Result<SnapshotStream, SnapshotError>;
    /// Scheduled pins.
    fn pins(&self) -> Vec<PinInfo>;
    /// Releases the pin of `epoch`; false if there is none.
    fn delete_pin(&self, epoch: i64) -> bool;
    /// Prometheus text.
    fn metrics_text(&self) -> String;
}
