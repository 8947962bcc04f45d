//! The devnet: a Lotus-compatible chain simulator. It produces real Filecoin chain
//! data (headers, messages, receipts, state trees with churn), serves it over the
//! Lotus v1 JSON-RPC API (HTTP and WebSocket, go-jsonrpc channels), and lets tests
//! inject reorgs, null rounds and faults. Developers and CI need no Lotus node.

mod config;
mod error;
mod index;
mod node;
mod objects;
mod producer;
mod state;
mod store;
mod tipset;

pub use config::DevnetConfig;
pub use error::DevnetError;
pub use index::{Batch, ChainIndex, Change, ChangeKind, NOTIFY_BUFFER};
pub use node::{load_car, Node};
pub use objects::{
    bigint_bytes, bigint_value, id_address, Message, MessageReceipt, MsgMeta, SignedMessage,
};
pub use state::builtin_code;
pub use store::MemStore;
pub use tipset::{Executed, Tipset};
