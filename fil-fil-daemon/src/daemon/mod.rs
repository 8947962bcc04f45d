//! The daemon: follows a Lotus node (ChainNotify, reconnect and reconcile), keeps
//! the snapshot window in the DAG store (apply/revert log), pins scheduled
//! snapshot epochs, checkpoints to the repo and serves snapshots to the API.

pub mod config;
pub mod control;
pub mod follower;
pub mod metrics;
pub mod node;
pub mod repo;
pub mod source;
pub mod window;

pub use config::{ConfigError, DaemonConfig, Settings};
pub use metrics::Metrics;
pub use node::NodeConn;
pub use repo::{Repo, RepoError};
pub use source::{FetchError, RpcSource};
pub use window::{Window, WindowError, WindowRules};
