//! The actor states the simulated network keeps, CBOR tuples shaped like their
//! mainnet counterparts (trimmed to the fields that make each object distinct):
//! where mainnet nests a HAMT or AMT, so do these, so churn copies paths through
//! nested structures the way mainnet state transitions do.

use cid::Cid;
use fvm_ipld_encoding::strict_bytes;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};

/// An account's state: its key address.
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
pub struct AccountState {
    #[serde(with = "strict_bytes")]
    pub address: Vec<u8>,
}

/// The init actor: key address → ID map and the next ID to hand out (the tuple
/// of mainnet's `init.State`, so a real genesis's init state decodes as this).
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
pub struct InitState {
    pub address_map: Cid,
    pub next_id: u64,
    pub network_name: String,
}

/// A miner's state: owner, sectors AMT, pre-commits HAMT, next sector number.
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
pub struct MinerState {
    #[serde(with = "strict_bytes")]
    pub owner: Vec<u8>,
    pub sectors: Cid,
    pub pre_commits: Cid,
    pub next_sector: u64,
}

/// One sector's on-chain info.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct SectorInfo {
    pub number: u64,
    pub sealed_cid: Cid,
    pub activation: i64,
    pub expiration: i64,
    #[serde(with = "strict_bytes")]
    pub deal_weight: Vec<u8>,
}

/// A pre-committed sector awaiting proof.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct PreCommit {
    pub sealed_cid: Cid,
    pub epoch: i64,
    #[serde(with = "strict_bytes")]
    pub deposit: Vec<u8>,
}

/// Power actor: total power and per-miner claims.
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
pub struct PowerState {
    #[serde(with = "strict_bytes")]
    pub total_raw_power: Vec<u8>,
    pub claims: Cid,
}

/// A miner's power claim.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct Claim {
    #[serde(with = "strict_bytes")]
    pub raw_power: Vec<u8>,
    #[serde(with = "strict_bytes")]
    pub qa_power: Vec<u8>,
}

/// Market actor: deal proposals and deal states (two AMTs keyed by deal ID).
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
pub struct MarketState {
    pub proposals: Cid,
    pub states: Cid,
    pub next_id: u64,
}

/// A storage deal proposal (trimmed to the fields that make it unique).
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct DealProposal {
    pub piece_cid: Cid,
    pub piece_size: u64,
    #[serde(with = "strict_bytes")]
    pub provider: Vec<u8>,
    pub start_epoch: i64,
    pub end_epoch: i64,
}

/// A deal's mutable state, rewritten as the deal is activated and paid.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
pub struct DealState {
    pub sector_start_epoch: i64,
    pub last_updated_epoch: i64,
    pub slash_epoch: i64,
}

/// The datacap token: supply and a balances HAMT (ID address → big-int bytes),
/// plus how many holders exist so new ones get fresh keys.
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
pub struct DatacapState {
    #[serde(with = "strict_bytes")]
    pub supply: Vec<u8>,
    pub balances: Cid,
    pub holders: u64,
}

/// Reward actor: epoch and total minted.
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
pub struct RewardState {
    pub epoch: i64,
    #[serde(with = "strict_bytes")]
    pub total_mined: Vec<u8>,
}
