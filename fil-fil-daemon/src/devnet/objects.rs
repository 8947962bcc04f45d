//! Filecoin chain objects the simulator writes besides block headers: messages,
//! `MsgMeta`, receipts, actor states and the state root, encoded as the same CBOR
//! tuples Lotus (cbor-gen) writes, plus ID-address and big-int byte helpers.

use cid::Cid;
use fvm_ipld_encoding::strict_bytes;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};

/// An unsigned message: the 10-field tuple of Lotus `types.Message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Message {
    /// Message format version (0).
    pub version: u64,
    /// Recipient address bytes.
    #[serde(with = "strict_bytes")]
    pub to: Vec<u8>,
    /// Sender address bytes.
    #[serde(with = "strict_bytes")]
    pub from: Vec<u8>,
    /// Sender nonce.
    pub nonce: u64,
    /// Value transferred, big-int bytes.
    #[serde(with = "strict_bytes")]
    pub value: Vec<u8>,
    /// Gas limit.
    pub gas_limit: i64,
    /// Gas fee cap, big-int bytes.
    #[serde(with = "strict_bytes")]
    pub gas_fee_cap: Vec<u8>,
    /// Gas premium, big-int bytes.
    #[serde(with = "strict_bytes")]
    pub gas_premium: Vec<u8>,
    /// Actor method number.
    pub method: u64,
    /// CBOR parameters.
    #[serde(with = "strict_bytes")]
    pub params: Vec<u8>,
}

/// A secp256k1-signed message: `{Message, Signature}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct SignedMessage {
    /// The message.
    pub message: Message,
    /// Signature: type byte (1 = secp256k1) then 65 signature bytes.
    #[serde(with = "strict_bytes")]
    pub signature: Vec<u8>,
}

/// A block's message lists: two AMT v0 roots of message CIDs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct MsgMeta {
    /// AMT of unsigned (BLS-aggregated) message CIDs.
    pub bls_messages: Cid,
    /// AMT of signed secp message CIDs.
    pub secpk_messages: Cid,
}

/// A message receipt, the 4-field form Lotus writes since network version 18.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct MessageReceipt {
    /// Exit code.
    pub exit_code: i64,
    /// Return bytes.
    #[serde(with = "strict_bytes")]
    pub return_data: Vec<u8>,
    /// Gas used.
    pub gas_used: i64,
    /// Events AMT root, if the message emitted events.
    pub events_root: Option<Cid>,
}

/// An actor entry of the state tree (version 5: with delegated address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ActorState {
    /// Code CID of the actor's builtin type.
    pub code: Cid,
    /// Root of the actor's own state.
    pub head: Cid,
    /// Call sequence number.
    pub nonce: u64,
    /// Balance, big-int bytes.
    #[serde(with = "strict_bytes")]
    pub balance: Vec<u8>,
    /// f4 address for EVM-style actors.
    pub delegated_address: Option<serde_bytes::ByteBuf>,
}

/// Actor entry of pre-v5 state trees (mainnet genesis): no delegated address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct LegacyActorState {
    /// Code CID.
    pub code: Cid,
    /// State root.
    pub head: Cid,
    /// Call sequence number.
    pub nonce: u64,
    /// Balance, big-int bytes.
    #[serde(with = "strict_bytes")]
    pub balance: Vec<u8>,
}

/// The state root object: `{Version, Actors, Info}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct StateRoot {
    /// State tree version (5 for current networks).
    pub version: u64,
    /// Root of the actors HAMT.
    pub actors: Cid,
    /// Root of the (empty) state info object.
    pub info: Cid,
}

/// The empty `StateInfo0` object a state root points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct StateInfo {}

/// Filecoin big-int bytes: empty for zero, else a sign byte (0 = positive) then the
/// big-endian magnitude without leading zeros.
pub fn bigint_bytes(value: u128) -> Vec<u8> {
    if value == 0 {
        return Vec::new();
    }
    let be = value.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    let mut out = Vec::with_capacity(1 + be.len() - skip);
    out.push(0);
    out.extend_from_slice(&be[skip..]);
    out
}

/// Decodes non-negative big-int bytes that fit 128 bits.
pub fn bigint_value(bytes: &[u8]) -> Option<u128> {
    match bytes.split_first() {
        None => Some(0),
        Some((0, mag)) if mag.len() <= 16 => {
            Some(mag.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b)))
        }
        _ => None,
    }
}

/// Bytes of the ID address `f0<id>`: protocol 0 then the uvarint id.
pub fn id_address(id: u64) -> Vec<u8> {
    let mut out = vec![0u8];
    let mut buf = unsigned_varint::encode::u64_buffer();
    out.extend_from_slice(unsigned_varint::encode::u64(id, &mut buf));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigint_roundtrip() {
        assert!(bigint_bytes(0).is_empty());
        assert_eq!(bigint_bytes(256), vec![0, 1, 0]);
        for v in [0u128, 1, 255, 256, 10u128.pow(27)] {
            assert_eq!(bigint_value(&bigint_bytes(v)), Some(v));
        }
    }
}
