//! The devnet: a Lotus-compatible chain simulator. It produces real Filecoin chain
//! data (headers, messages, receipts, state trees with churn), serves it over the
//! Lotus v1 JSON-RPC API (HTTP and WebSocket, go-jsonrpc channels), and lets tests
//! inject reorgs, null rounds and faults. Developers and CI need no Lotus node.

mod config;
mod error;
mod export;
mod index;
mod json;
mod messages;
mod node;
mod objects;
mod producer;
mod rpc;
mod server;
mod state;
mod store;
mod tipset;

pub use config::DevnetConfig;
pub use error::DevnetError;
pub use export::{export_car, export_to, ExportStats};
pub use index::{Batch, ChainIndex, Change, ChangeKind, NOTIFY_BUFFER};
pub use messages::tipset_messages;
pub use node::{load_car, Node};
pub use objects::{
    bigint_bytes, bigint_value, id_address, Message, MessageReceipt, MsgMeta, SignedMessage,
};
pub use rpc::RpcError;
pub use server::Devnet;
pub use state::builtin_code;
pub use store::MemStore;
pub use tipset::{Executed, Tipset};
