//! Daemon settings and where they come from. Every flag has a `config.toml` key of
//! the same (kebab-case) name; precedence is flag > environment > file > default.
//! One struct, [`Settings`], is both the clap flag set and the file schema, so a
//! flag cannot exist without its key, and unknown file keys are rejected.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::lotus::ApiInfo;

/// `ChainReadObj` calls per HTTP batch unless configured: large enough that the
/// per-request cost vanishes, small enough that 4 in flight keep both ends busy
/// on one DAG level of a typical epoch (~20k new blocks in a handful of levels).
pub const DEFAULT_FETCH_BATCH: usize = 256;

/// Why the settings could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `config.toml` could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// `config.toml` is not valid (syntax, types or unknown keys).
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What toml reported.
        reason: String,
    },
    /// A value is out of range or the node address is unusable.
    #[error("invalid setting {key}: {reason}")]
    Invalid {
        /// Config key.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

/// The daemon's settings as given (flags/env or file); `None` = not given here.
#[derive(Debug, Clone, Default, PartialEq, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Lotus API info `<token>:<multiaddr>` (as `lotus auth api-info` prints).
    #[arg(long, env = "FULLNODE_API_INFO", hide_env_values = true)]
    pub api_info: Option<String>,
    /// Lotus endpoint URL (e.g. `ws://127.0.0.1:1234/rpc/v1`); overrides `--api-info`.
    #[arg(long, env = "FIL_FIL_LOTUS_URL")]
    pub lotus_url: Option<String>,
    /// Bearer token for `--lotus-url`.
    #[arg(long, env = "FULLNODE_API_TOKEN", hide_env_values = true)]
    pub lotus_token: Option<String>,
    /// Run the built-in devnet in-process and follow it (no Lotus needed).
    #[arg(long, env = "FIL_FIL_DEVNET", num_args = 0..=1, default_missing_value = "true")]
    pub devnet: Option<bool>,
    /// Bootstrap from this snapshot (CARv1/v2, zstd, Forest) instead of walking the
    /// window from the node; the daemon then catches up from its head.
    #[arg(long, env = "FIL_FIL_IMPORT")]
    pub import: Option<PathBuf>,
    /// Epochs of state (and, with skip-old-msgs, messages) kept behind the head [default: 2000].
    #[arg(long, env = "FIL_FIL_DEPTH")]
    pub depth: Option<i64>,
    /// Drop messages older than the window; `false` keeps all messages back to genesis,
    /// as plain `lotus chain export` includes them [default: true].
    #[arg(long, env = "FIL_FIL_SKIP_OLD_MSGS", action = clap::ArgAction::Set)]
    pub skip_old_msgs: Option<bool>,
    /// Epochs a scheduled snapshot epoch must be buried before it is pinned (the window
    /// of the next scheduled epoch is kept until then) [default: 10].
    #[arg(long, env = "FIL_FIL_CONFIDENCE")]
    pub confidence: Option<i64>,
    /// Scheduled snapshot epochs are the multiples of this [default: 2880, one day].
    #[arg(long, env = "FIL_FIL_SNAPSHOT_INTERVAL")]
    pub snapshot_interval: Option<i64>,
    /// Scheduled snapshot pins kept (oldest released first) [default: 2].
    #[arg(long, env = "FIL_FIL_RETAIN")]
    pub retain: Option<usize>,
    /// Control API address (HTTP; keep it on loopback) [default: 127.0.0.1:0].
    #[arg(long, env = "FIL_FIL_API_LISTEN")]
    pub api_listen: Option<SocketAddr>,
    /// How often the DAG and window are checkpointed to the repo [default: 10m].
    #[arg(long, env = "FIL_FIL_CHECKPOINT_INTERVAL", value_parser = humantime::parse_duration)]
    #[serde(default, with = "humantime_serde")]
    pub checkpoint_interval: Option<Duration>,
    /// `ChainReadObj` requests in flight at once [default: 64].
    #[arg(long, env = "FIL_FIL_FETCH_CONCURRENCY")]
    pub fetch_concurrency: Option<usize>,
    /// `ChainReadObj` calls per JSON-RPC batch over HTTP POST (4 batches in flight);
    /// 0 uses WebSocket calls only. A node that refuses batches gets WebSocket calls
    /// [default: 256].
    #[arg(long, env = "FIL_FIL_FETCH_BATCH")]
    pub fetch_batch: Option<usize>,
}

impl Settings {
    /// Reads `path` if it exists (a missing file is an empty one).
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Fills every unset field of `self` from `lower` (so `flags.over(file)`).
    pub fn over(self, lower: Settings) -> Settings {
        Settings {
            api_info: self.api_info.or(lower.api_info),
            lotus_url: self.lotus_url.or(lower.lotus_url),
            lotus_token: self.lotus_token.or(lower.lotus_token),
            devnet: self.devnet.or(lower.devnet),
            import: self.import.or(lower.import),
            depth: self.depth.or(lower.depth),
            skip_old_msgs: self.skip_old_msgs.or(lower.skip_old_msgs),
            confidence: self.confidence.or(lower.confidence),
            snapshot_interval: self.snapshot_interval.or(lower.snapshot_interval),
            retain: self.retain.or(lower.retain),
            api_listen: self.api_listen.or(lower.api_listen),
            checkpoint_interval: self.checkpoint_interval.or(lower.checkpoint_interval),
            fetch_concurrency: self.fetch_concurrency.or(lower.fetch_concurrency),
            fetch_batch: self.fetch_batch.or(lower.fetch_batch),
        }
    }

    /// Applies defaults and checks ranges. The node may be left unset only with
    /// `devnet` (the caller then points the daemon at the devnet it starts).
    pub fn resolve(self) -> Result<DaemonConfig, ConfigError> {
        let invalid = |key, reason: &str| ConfigError::Invalid {
            key,
            reason: reason.to_owned(),
        };
        let devnet = self.devnet.unwrap_or(false);
        let node =
            match (&self.lotus_url, &self.api_info) {
                (Some(url), _) => Some(
                    ApiInfo::from_url(url, self.lotus_token.clone())
                        .map_err(|e| invalid("lotus-url", &e.to_string()))?,
                ),
                (None, Some(info)) => {
                    Some(ApiInfo::parse(info).map_err(|e| invalid("api-info", &e.to_string()))?)
                }
                (None, None) if devnet => None,
                (None, None) => return Err(invalid(
                    "lotus-url",
                    "no Lotus node given: set FULLNODE_API_INFO, pass --lotus-url, or use --devnet",
                )),
            };
        let depth = self.depth.unwrap_or(2000);
        let confidence = self.confidence.unwrap_or(10);
        let snapshot_interval = self.snapshot_interval.unwrap_or(2880);
        let fetch_concurrency = self.fetch_concurrency.unwrap_or(64);
        if depth < 0 {
            return Err(invalid("depth", "must be ≥ 0"));
        }
        if confidence < 0 {
            return Err(invalid("confidence", "must be ≥ 0"));
        }
        if snapshot_interval <= 0 {
            return Err(invalid("snapshot-interval", "must be ≥ 1"));
        }
        if fetch_concurrency == 0 {
            return Err(invalid("fetch-concurrency", "must be ≥ 1"));
        }
        Ok(DaemonConfig {
            node,
            devnet,
            import: self.import,
            depth,
            skip_old_msgs: self.skip_old_msgs.unwrap_or(true),
            confidence,
            snapshot_interval,
            retain: self.retain.unwrap_or(2),
            api_listen: self
                .api_listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            checkpoint_interval: self.checkpoint_interval.unwrap_or(Duration::from_secs(600)),
            fetch_concurrency,
            fetch_batch: self.fetch_batch.unwrap_or(DEFAULT_FETCH_BATCH),
        })
    }
}

/// Fully resolved daemon settings.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// The node to follow (`None` only until the embedded devnet is started).
    pub node: Option<ApiInfo>,
    /// Run the embedded devnet.
    pub devnet: bool,
    /// Snapshot to bootstrap from.
    pub import: Option<PathBuf>,
    /// Window depth in epochs.
    pub depth: i64,
    /// Drop messages that leave the window.
    pub skip_old_msgs: bool,
    /// Depth at which a scheduled epoch is pinned.
    pub confidence: i64,
    /// Scheduled snapshot period in epochs.
    pub snapshot_interval: i64,
    /// Scheduled pins kept.
    pub retain: usize,
    /// Control API address.
    pub api_listen: SocketAddr,
    /// Periodic checkpoint interval.
    pub checkpoint_interval: Duration,
    /// `ChainReadObj` WebSocket calls in flight per fetched batch.
    pub fetch_concurrency: usize,
    /// `ChainReadObj` calls per HTTP JSON-RPC batch (0: WebSocket calls only).
    pub fetch_batch: usize,
}

impl DaemonConfig {
    /// Settings for tests and embedding: follow `node`, small defaults otherwise.
    pub fn for_node(node: ApiInfo) -> DaemonConfig {
        DaemonConfig {
            node: Some(node),
            devnet: false,
            import: None,
            depth: 2000,
            skip_old_msgs: true,
            confidence: 10,
            snapshot_interval: 2880,
            retain: 2,
            api_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            checkpoint_interval: Duration::from_secs(600),
            fetch_concurrency: 64,
            fetch_batch: DEFAULT_FETCH_BATCH,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_beats_file_beats_default() {
        let file: Settings = toml::from_str(
            "lotus-url = \"ws://127.0.0.1:1234/rpc/v1\"\ndepth = 5\nretain = 7\ncheckpoint-interval = \"30s\"\n",
        )
        .unwrap();
        let flags = Settings {
            depth: Some(9),
            ..Settings::default()
        };
        let cfg = flags.over(file).resolve().unwrap();
        assert_eq!(cfg.depth, 9);
        assert_eq!(cfg.retain, 7);
        assert_eq!(cfg.checkpoint_interval, Duration::from_secs(30));
        assert!(cfg.skip_old_msgs);
        assert_eq!(cfg.node.unwrap().host_port, "127.0.0.1:1234");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<Settings>("dept = 5\n").unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn node_required_unless_devnet() {
        assert!(Settings::default().resolve().is_err());
        let cfg = Settings {
            devnet: Some(true),
            ..Settings::default()
        }
        .resolve()
        .unwrap();
        assert!(cfg.node.is_none());
    }
}
