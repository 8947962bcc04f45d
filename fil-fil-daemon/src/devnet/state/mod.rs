//! The simulated state tree: a real `StateRoot{Version 5, Actors, Info}` whose actors
//! HAMT (bitwidth 5, ID-address keys) holds builtin singletons, accounts and miners.
//! Miner, power, market, datacap and init heads carry their own HAMTs and AMTs,
//! sized from the churn target, so an epoch's churn copies paths through nested
//! structures the way mainnet state transitions do (see `churn`).

mod churn;
mod genesis;
mod market;
mod overlay;
mod types;

use std::sync::Arc;

use cid::multihash::Multihash;
use cid::Cid;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_hamt::{BytesKey, Hamt};
use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::objects::{id_address, ActorState, StateRoot};
use super::store::{EncodeError, MemStore};
use crate::ipld::{IDENTITY, RAW};

pub use churn::{next_state, ChurnEstimate};
pub use genesis::synthetic_genesis;

/// Bit width of every HAMT in the state (actors, claims, precommits), as on mainnet.
const HAMT_BIT_WIDTH: u32 = 5;
/// Bit width of the miner sectors and market AMTs, as on mainnet.
const AMT_BIT_WIDTH: u32 = 5;
/// First ID of the simulated accounts.
pub const ACCOUNT_BASE: u64 = 100_000;
/// First ID of the simulated miners.
pub const MINER_BASE: u64 = 200_000;
/// First ID the init actor hands to actors created by churn.
const NEW_ACTOR_BASE: u64 = 1_000_000;
/// First ID of datacap holders (keys of the datacap balances HAMT).
const DATACAP_HOLDER_BASE: u64 = 10_000_000;
const INIT: u64 = 1;
const REWARD: u64 = 2;
const POWER: u64 = 4;
const MARKET: u64 = 5;
const DATACAP: u64 = 7;
/// Bytes of a 32 GiB sector, the unit of simulated power.
const SECTOR_SIZE: u128 = 32 << 30;

/// Why a state transition failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A HAMT operation failed.
    #[error("actors/state HAMT: {0}")]
    Hamt(#[from] fvm_ipld_hamt::Error),
    /// An AMT operation failed.
    #[error("state AMT: {0}")]
    Amt(#[from] fvm_ipld_amt::Error),
    /// Encoding a state object failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A referenced state object is missing or malformed.
    #[error("state object {cid}: {reason}")]
    Bad {
        /// The object.
        cid: Cid,
        /// What is wrong.
        reason: String,
    },
}

/// Shape of the simulated population.
#[derive(Debug, Clone, Copy)]
pub struct Population {
    /// Number of accounts (message senders).
    pub accounts: u64,
    /// Number of miners (block producers and churn targets).
    pub miners: u64,
    /// New blocks per epoch the chain is sized for: the nested structures start
    /// large enough that this much churn rewrites a fraction of them, as on mainnet.
    pub churn: usize,
}

/// Code CID of a builtin actor, named like mainnet's v1 code CIDs: raw codec,
/// identity multihash of `fil/1/<name>`.
pub fn builtin_code(name: &str) -> Cid {
    let id = format!("fil/1/{name}");
    // Actor names are short; a 64-byte multihash always fits them.
    let mh = Multihash::<64>::wrap(IDENTITY, id.as_bytes())
        .unwrap_or_else(|_| unreachable!("short actor name fits an identity multihash"));
    Cid::new_v1(RAW, mh)
}

type Actors<BS> = Hamt<BS, ActorState>;

fn actor(name: &str, head: Cid, balance: u128) -> ActorState {
    ActorState {
        code: builtin_code(name),
        head,
        nonce: 0,
        balance: super::objects::bigint_bytes(balance),
        delegated_address: None,
    }
}

fn set_actor<BS: Blockstore>(
    actors: &mut Actors<BS>,
    id: u64,
    state: ActorState,
) -> Result<(), StateError> {
    actors.set(BytesKey(id_address(id)), state)?;
    Ok(())
}

fn get_actor<BS: Blockstore>(
    actors: &Actors<BS>,
    id: u64,
) -> Result<Option<ActorState>, StateError> {
    Ok(actors.get(&BytesKey(id_address(id)))?.cloned())
}

/// CBOR-encodes `value` into `store` as a dag-cbor/blake2b block.
fn put<BS: Blockstore, T: serde::Serialize>(store: &BS, value: &T) -> Result<Cid, StateError> {
    let data = fvm_ipld_encoding::to_vec(value).map_err(|e| EncodeError::new(e.to_string()))?;
    let cid = crate::ipld::block_cid(&data);
    store
        .put_keyed(&cid, &data)
        .map_err(|e| EncodeError::new(e.to_string()))?;
    Ok(cid)
}

fn decode<BS: Blockstore, T: serde::de::DeserializeOwned>(
    store: &BS,
    cid: &Cid,
) -> Result<T, StateError> {
    let bad = |reason: String| StateError::Bad { cid: *cid, reason };
    let data = store
        .get(cid)
        .map_err(|e| bad(e.to_string()))?
        .ok_or_else(|| bad("not in store".into()))?;
    fvm_ipld_encoding::from_slice(&data).map_err(|e| bad(e.to_string()))
}

/// The secp256k1 key address of simulated actor `id` (payload derived from the id).
pub fn key_address(id: u64) -> Vec<u8> {
    let hash = blake2b_simd::Params::new()
        .hash_length(20)
        .hash(&id.to_be_bytes());
    let mut out = vec![1u8];
    out.extend_from_slice(hash.as_bytes());
    out
}

fn id_of(addr: &[u8]) -> Option<u64> {
    match addr.split_first() {
        Some((0, rest)) => unsigned_varint::decode::u64(rest).ok().map(|(id, _)| id),
        _ => None,
    }
}

/// Sealed-sector CIDs use the `fil-commitment-sealed` codec and Poseidon hash, so
/// chain walkers skip them exactly as they skip them on mainnet.
fn sealed_cid(rng: &mut impl Rng) -> Cid {
    let digest: [u8; 32] = rng.gen();
    let mh = Multihash::<64>::wrap(0xb401, &digest)
        .unwrap_or_else(|_| unreachable!("32-byte digest fits"));
    Cid::new_v1(0xf102, mh)
}

fn piece_cid(rng: &mut impl Rng) -> Cid {
    let digest: [u8; 32] = rng.gen();
    let mh = Multihash::<64>::wrap(0x1012, &digest)
        .unwrap_or_else(|_| unreachable!("32-byte digest fits"));
    Cid::new_v1(0xf101, mh)
}

/// HAMT key of a sector number (mainnet's `abi.UIntKey`: a uvarint).
fn sector_key(number: u64) -> BytesKey {
    let mut buf = unsigned_varint::encode::u64_buffer();
    BytesKey(unsigned_varint::encode::u64(number, &mut buf).to_vec())
}

/// The nonce of actor `id` in the state `root` (0 if absent).
pub fn actor_nonce(store: &Arc<MemStore>, root: Cid, id: u64) -> Result<u64, StateError> {
    let sr: StateRoot = decode(&**store, &root)?;
    let actors = Actors::load_with_bit_width(&sr.actors, &**store, HAMT_BIT_WIDTH)?;
    Ok(get_actor(&actors, id)?.map(|a| a.nonce).unwrap_or(0))
}

/// A ChaCha stream for one parallel task, derived from a seed drawn serially so
/// the chain does not depend on thread scheduling.
fn task_rng(seed: u64, task: u64) -> ChaCha20Rng {
    use rand::SeedableRng;
    ChaCha20Rng::seed_from_u64(seed ^ task.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
