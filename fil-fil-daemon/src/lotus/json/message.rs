//! Messages in Lotus JSON: `types.Message` (with the `CID` field its MarshalJSON
//! adds) and `api.Message` (`{Cid, Message}`, as `ChainGetParentMessages` returns).

use serde::{Deserialize, Serialize};

use super::{base64_bytes, CidJson};

/// A message with Lotus's field names; amounts are decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageJson {
    /// Format version.
    pub version: u64,
    /// Recipient address string.
    pub to: String,
    /// Sender address string.
    pub from: String,
    /// Sender nonce.
    pub nonce: u64,
    /// Value, decimal attoFIL.
    pub value: String,
    /// Gas limit.
    pub gas_limit: i64,
    /// Gas fee cap, decimal attoFIL.
    pub gas_fee_cap: String,
    /// Gas premium, decimal attoFIL.
    pub gas_premium: String,
    /// Method number.
    pub method: u64,
    /// Parameters (null when empty).
    #[serde(with = "base64_bytes")]
    pub params: Vec<u8>,
    /// CID of the unsigned message.
    #[serde(rename = "CID")]
    pub cid: CidJson,
}

/// `api.Message`: the chain CID (signed CID for secp messages) and the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiMessageJson {
    /// CID the chain includes (for secp messages: of the signed message).
    pub cid: CidJson,
    /// The unsigned message.
    pub message: MessageJson,
}
