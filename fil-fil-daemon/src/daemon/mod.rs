//! The daemon: follows a Lotus node (ChainNotify, reconnect and reconcile), keeps
//! the snapshot window in the DAG store (apply/revert log), pins scheduled
//! snapshot epochs, checkpoints to the repo and serves snapshots to the API.

pub mod blocks;
pub mod bootstrap;
pub mod checkpoint;
pub mod config;
pub mod control;
pub mod entry;
pub mod follower;
pub mod ingest;
pub mod metrics;
pub mod node;
pub mod pins;
pub mod prefetch;
pub mod repo;
pub mod service;
pub mod source;
pub mod spill;
pub mod window;

pub use config::{ConfigError, DaemonConfig, Settings};
pub use metrics::Metrics;
pub use node::NodeConn;
pub use repo::{Repo, RepoError};
pub use service::{Daemon, DaemonHandle, StartError};
pub use source::{FetchError, RpcSource};
pub use window::{Window, WindowError, WindowRules};
