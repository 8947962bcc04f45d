//! Lotus interop: the JSON shapes of the Lotus v1 API (`json`), how to find a node
//! (`FULLNODE_API_INFO`), a JSON-RPC client with go-jsonrpc channel support, and
//! batched `ChainReadObj` over HTTP.

pub mod api_info;
pub mod batch;
pub mod client;
pub mod json;
pub mod notify;

pub use api_info::{ApiInfo, ApiInfoError};
pub use batch::{BatchError, BatchReader};
pub use client::{LotusClient, RpcError};
pub use notify::ChainNotifyStream;
