//! The simulated state tree: a real `StateRoot{Version 5, Actors, Info}` whose actors
//! HAMT (bitwidth 5, ID-address keys) holds builtin singletons, accounts and miners.
//! Miner, power and market heads carry their own HAMTs and AMTs, so each epoch's
//! churn rewrites interior nodes the way mainnet state transitions do.

use std::sync::Arc;

use cid::multihash::Multihash;
use cid::Cid;
use fvm_ipld_amt::Amt;
use fvm_ipld_encoding::strict_bytes;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};
use fvm_ipld_hamt::{BytesKey, Hamt, Hamtv0};
use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::objects::{
    bigint_bytes, bigint_value, id_address, ActorState, LegacyActorState, Message, StateInfo,
    StateRoot,
};
use super::store::{EncodeError, MemStore};
use crate::ipld::{IDENTITY, RAW};

/// Bit width of every HAMT in the state (actors, claims, precommits), as on mainnet.
const HAMT_BIT_WIDTH: u32 = 5;
/// Bit width of the miner sectors and market proposal AMTs, as on mainnet.
const AMT_BIT_WIDTH: u32 = 5;
/// First ID of the simulated accounts.
pub const ACCOUNT_BASE: u64 = 100_000;
/// First ID of the simulated miners.
pub const MINER_BASE: u64 = 200_000;
const REWARD: u64 = 2;
const POWER: u64 = 4;
const MARKET: u64 = 5;
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

/// An account's state: its key address.
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
struct AccountState {
    #[serde(with = "strict_bytes")]
    address: Vec<u8>,
}

/// A miner's state: owner, sectors AMT, pre-commits HAMT, next sector number.
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
struct MinerState {
    #[serde(with = "strict_bytes")]
    owner: Vec<u8>,
    sectors: Cid,
    pre_commits: Cid,
    next_sector: u64,
}

/// One sector's on-chain info.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
struct SectorInfo {
    number: u64,
    sealed_cid: Cid,
    activation: i64,
    expiration: i64,
    #[serde(with = "strict_bytes")]
    deal_weight: Vec<u8>,
}

/// A pre-committed sector awaiting proof.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
struct PreCommit {
    sealed_cid: Cid,
    epoch: i64,
    #[serde(with = "strict_bytes")]
    deposit: Vec<u8>,
}

/// Power actor: total power and per-miner claims.
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
struct PowerState {
    #[serde(with = "strict_bytes")]
    total_raw_power: Vec<u8>,
    claims: Cid,
}

/// A miner's power claim.
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
struct Claim {
    #[serde(with = "strict_bytes")]
    raw_power: Vec<u8>,
    #[serde(with = "strict_bytes")]
    qa_power: Vec<u8>,
}

/// Market actor: deal proposals AMT and next deal ID.
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
struct MarketState {
    proposals: Cid,
    next_id: u64,
}

/// A storage deal proposal (trimmed to the fields that make it unique).
#[derive(Debug, Clone, PartialEq, Serialize_tuple, Deserialize_tuple)]
struct DealProposal {
    piece_cid: Cid,
    piece_size: u64,
    #[serde(with = "strict_bytes")]
    provider: Vec<u8>,
    start_epoch: i64,
    end_epoch: i64,
}

/// Reward actor: epoch and total minted.
#[derive(Debug, Serialize_tuple, Deserialize_tuple)]
struct RewardState {
    epoch: i64,
    #[serde(with = "strict_bytes")]
    total_mined: Vec<u8>,
}

type Actors = Hamt<Arc<MemStore>, ActorState>;

/// Builds a synthetic genesis state; returns the state root CID.
pub fn synthetic_genesis(store: &Arc<MemStore>, pop: Population) -> Result<Cid, StateError> {
    let mut actors = Actors::new_with_bit_width(store.clone(), HAMT_BIT_WIDTH);
    let empty = store.put_cbor(&StateInfo {})?;
    for (id, name) in [
        (0, "system"),
        (1, "init"),
        (3, "cron"),
        (6, "verifiedregistry"),
        (7, "datacap"),
        (99, "account"),
    ] {
        set_actor(&mut actors, id, actor(name, empty, 0))?;
    }
    add_devnet_actors(store, &mut actors, pop)?;
    finish(store, &mut actors)
}

/// Computes the state after `epoch`: applies `messages` (nonces, balances), then
/// churns miners until about `target_objects` new blocks were written.
pub fn next_state(
    store: &Arc<MemStore>,
    parent: Cid,
    pop: Population,
    epoch: i64,
    messages: &[Message],
    target_objects: usize,
    rng: &mut ChaCha20Rng,
) -> Result<Cid, StateError> {
    let mut actors = load_or_migrate(store, parent, pop)?;
    for msg in messages {
        apply_message(&mut actors, msg)?;
    }
    let start = store.len();
    // Bounded so a pathological target cannot spin forever.
    for _ in 0..target_objects.saturating_mul(2).max(1) {
        if store.len().saturating_sub(start) >= target_objects {
            break;
        }
        let miner = MINER_BASE + rng.gen_range(0..pop.miners.max(1));
        churn_miner(store, &mut actors, miner, epoch, rng)?;
    }
    bump_reward(store, &mut actors, epoch)?;
    finish(store, &mut actors)
}

fn actor(name: &str, head: Cid, balance: u128) -> ActorState {
    ActorState {
        code: builtin_code(name),
        head,
        nonce: 0,
        balance: bigint_bytes(balance),
        delegated_address: None,
    }
}

fn set_actor(actors: &mut Actors, id: u64, state: ActorState) -> Result<(), StateError> {
    actors.set(BytesKey(id_address(id)), state)?;
    Ok(())
}

fn get_actor(actors: &Actors, id: u64) -> Result<Option<ActorState>, StateError> {
    Ok(actors.get(&BytesKey(id_address(id)))?.cloned())
}

fn finish(store: &Arc<MemStore>, actors: &mut Actors) -> Result<Cid, StateError> {
    let root = actors.flush()?;
    let info = store.put_cbor(&StateInfo {})?;
    Ok(store.put_cbor(&StateRoot {
        version: 5,
        actors: root,
        info,
    })?)
}

fn decode<T: serde::de::DeserializeOwned>(store: &MemStore, cid: &Cid) -> Result<T, StateError> {
    let data = store.get(cid).ok_or_else(|| StateError::Bad {
        cid: *cid,
        reason: "not in store".into(),
    })?;
    fvm_ipld_encoding::from_slice(&data).map_err(|e| StateError::Bad {
        cid: *cid,
        reason: e.to_string(),
    })
}

/// Loads the actors HAMT of a version-5 state root; older roots (mainnet genesis
/// is version 0: a bare HAMT v0 of 4-field actors) are migrated first, like a
/// network upgrade would.
fn load_or_migrate(
    store: &Arc<MemStore>,
    root: Cid,
    pop: Population,
) -> Result<Actors, StateError> {
    if let Ok(sr) = decode::<StateRoot>(store, &root) {
        if sr.version >= 5 {
            let actors = Actors::load_with_bit_width(&sr.actors, store.clone(), HAMT_BIT_WIDTH)?;
            // A devnet started from a real genesis gets its actors on first use.
            if get_actor(&actors, MINER_BASE)?.is_some() {
                return Ok(actors);
            }
        }
        return migrate(store, sr.actors, sr.version, pop);
    }
    migrate(store, root, 0, pop)
}

fn migrate(
    store: &Arc<MemStore>,
    old_actors: Cid,
    version: u64,
    pop: Population,
) -> Result<Actors, StateError> {
    let mut actors = Actors::new_with_bit_width(store.clone(), HAMT_BIT_WIDTH);
    let mut copy = |key: &BytesKey, old: LegacyActorState| -> anyhow::Result<()> {
        actors.set(
            key.clone(),
            ActorState {
                code: old.code,
                head: old.head,
                nonce: old.nonce,
                balance: old.balance,
                delegated_address: None,
            },
        )?;
        Ok(())
    };
    match version {
        0 => Hamtv0::<_, LegacyActorState>::load_with_bit_width(
            &old_actors,
            store.clone(),
            HAMT_BIT_WIDTH,
        )?
        .for_each(|k, v| copy(k, v.clone()))?,
        1..=4 => Hamt::<_, LegacyActorState>::load_with_bit_width(
            &old_actors,
            store.clone(),
            HAMT_BIT_WIDTH,
        )?
        .for_each(|k, v| copy(k, v.clone()))?,
        _ => Actors::load_with_bit_width(&old_actors, store.clone(), HAMT_BIT_WIDTH)?.for_each(
            |k, v| {
                actors.set(k.clone(), v.clone())?;
                Ok(())
            },
        )?,
    }
    add_devnet_actors(store, &mut actors, pop)?;
    Ok(actors)
}

fn add_devnet_actors(
    store: &Arc<MemStore>,
    actors: &mut Actors,
    pop: Population,
) -> Result<(), StateError> {
    let claims = Hamt::<_, Claim>::new_with_bit_width(store.clone(), HAMT_BIT_WIDTH).flush()?;
    let power = store.put_cbor(&PowerState {
        total_raw_power: Vec::new(),
        claims,
    })?;
    set_actor(actors, POWER, actor("storagepower", power, 0))?;
    let proposals =
        Amt::<DealProposal, _>::new_with_bit_width(store.clone(), AMT_BIT_WIDTH).flush()?;
    let market = store.put_cbor(&MarketState {
        proposals,
        next_id: 0,
    })?;
    set_actor(actors, MARKET, actor("storagemarket", market, 0))?;
    let reward = store.put_cbor(&RewardState {
        epoch: 0,
        total_mined: Vec::new(),
    })?;
    set_actor(actors, REWARD, actor("reward", reward, 0))?;
    for i in 0..pop.accounts {
        let head = store.put_cbor(&AccountState {
            address: key_address(ACCOUNT_BASE + i),
        })?;
        set_actor(
            actors,
            ACCOUNT_BASE + i,
            actor("account", head, 1_000_000 * 10u128.pow(18)),
        )?;
    }
    let sectors = Amt::<SectorInfo, _>::new_with_bit_width(store.clone(), AMT_BIT_WIDTH).flush()?;
    let pre_commits =
        Hamt::<_, PreCommit>::new_with_bit_width(store.clone(), HAMT_BIT_WIDTH).flush()?;
    for i in 0..pop.miners {
        let head = store.put_cbor(&MinerState {
            owner: id_address(ACCOUNT_BASE + i % pop.accounts.max(1)),
            sectors,
            pre_commits,
            next_sector: 0,
        })?;
        set_actor(actors, MINER_BASE + i, actor("storageminer", head, 0))?;
    }
    Ok(())
}

/// The secp256k1 key address of simulated account `id` (payload derived from the id).
pub fn key_address(id: u64) -> Vec<u8> {
    let hash = blake2b_simd::Params::new()
        .hash_length(20)
        .hash(&id.to_be_bytes());
    let mut out = vec![1u8];
    out.extend_from_slice(hash.as_bytes());
    out
}

fn apply_message(actors: &mut Actors, msg: &Message) -> Result<(), StateError> {
    let Some(from_id) = id_of(&msg.from) else {
        return Ok(());
    };
    let value = bigint_value(&msg.value).unwrap_or(0);
    if let Some(mut sender) = get_actor(actors, from_id)? {
        sender.nonce += 1;
        let bal = bigint_value(&sender.balance).unwrap_or(0);
        sender.balance = bigint_bytes(bal.saturating_sub(value));
        set_actor(actors, from_id, sender)?;
    }
    if let Some(to_id) = id_of(&msg.to) {
        if let Some(mut receiver) = get_actor(actors, to_id)? {
            let bal = bigint_value(&receiver.balance).unwrap_or(0);
            receiver.balance = bigint_bytes(bal.saturating_add(value));
            set_actor(actors, to_id, receiver)?;
        }
    }
    Ok(())
}

fn id_of(addr: &[u8]) -> Option<u64> {
    match addr.split_first() {
        Some((0, rest)) => unsigned_varint::decode::u64(rest).ok().map(|(id, _)| id),
        _ => None,
    }
}

/// Sealed-sector CIDs use the `fil-commitment-sealed` codec and Poseidon hash, so
/// chain walkers skip them exactly as they skip them on mainnet.
fn sealed_cid(rng: &mut ChaCha20Rng) -> Cid {
    let digest: [u8; 32] = rng.gen();
    let mh = Multihash::<64>::wrap(0xb401, &digest)
        .unwrap_or_else(|_| unreachable!("32-byte digest fits"));
    Cid::new_v1(0xf102, mh)
}

fn piece_cid(rng: &mut ChaCha20Rng) -> Cid {
    let digest: [u8; 32] = rng.gen();
    let mh = Multihash::<64>::wrap(0x1012, &digest)
        .unwrap_or_else(|_| unreachable!("32-byte digest fits"));
    Cid::new_v1(0xf101, mh)
}

fn churn_miner(
    store: &Arc<MemStore>,
    actors: &mut Actors,
    id: u64,
    epoch: i64,
    rng: &mut ChaCha20Rng,
) -> Result<(), StateError> {
    let Some(mut miner_actor) = get_actor(actors, id)? else {
        return Ok(());
    };
    let mut miner: MinerState = decode(store, &miner_actor.head)?;
    let mut sectors = Amt::<SectorInfo, _>::load(&miner.sectors, store.clone())?;
    let mut pre = Hamt::<_, PreCommit>::load_with_bit_width(
        &miner.pre_commits,
        store.clone(),
        HAMT_BIT_WIDTH,
    )?;
    let proven = rng.gen_range(1..=4u64);
    let mut deals = Vec::new();
    for _ in 0..proven {
        let number = miner.next_sector;
        miner.next_sector += 1;
        let sealed = sealed_cid(rng);
        // The pre-commit of an older sector gets proven; a new one is pre-committed.
        if number >= 2 {
            pre.delete(&BytesKey(sector_key(number - 2)))?;
        }
        pre.set(
            BytesKey(sector_key(number)),
            PreCommit {
                sealed_cid: sealed,
                epoch,
                deposit: bigint_bytes(rng.gen_range(1..1_000_000u128) * 10u128.pow(12)),
            },
        )?;
        sectors.set(
            number,
            SectorInfo {
                number,
                sealed_cid: sealed,
                activation: epoch,
                expiration: epoch + 1_555_200,
                deal_weight: bigint_bytes(rng.gen_range(0..1u128 << 60)),
            },
        )?;
        deals.push(DealProposal {
            piece_cid: piece_cid(rng),
            piece_size: 32 << 30,
            provider: id_address(id),
            start_epoch: epoch + 100,
            end_epoch: epoch + 518_400,
        });
    }
    miner.sectors = sectors.flush()?;
    miner.pre_commits = pre.flush()?;
    miner_actor.head = store.put_cbor(&miner)?;
    miner_actor.nonce += 1;
    set_actor(actors, id, miner_actor)?;
    add_power(store, actors, id, proven)?;
    add_deals(store, actors, deals)
}

fn sector_key(number: u64) -> Vec<u8> {
    let mut buf = unsigned_varint::encode::u64_buffer();
    unsigned_varint::encode::u64(number, &mut buf).to_vec()
}

fn add_power(
    store: &Arc<MemStore>,
    actors: &mut Actors,
    miner: u64,
    sectors: u64,
) -> Result<(), StateError> {
    let Some(mut power_actor) = get_actor(actors, POWER)? else {
        return Ok(());
    };
    let mut power: PowerState = decode(store, &power_actor.head)?;
    let mut claims =
        Hamt::<_, Claim>::load_with_bit_width(&power.claims, store.clone(), HAMT_BIT_WIDTH)?;
    let key = BytesKey(id_address(miner));
    let added = u128::from(sectors) * SECTOR_SIZE;
    let old = claims
        .get(&key)?
        .and_then(|c| bigint_value(&c.raw_power))
        .unwrap_or(0);
    claims.set(
        key,
        Claim {
            raw_power: bigint_bytes(old + added),
            qa_power: bigint_bytes((old + added) * 10),
        },
    )?;
    power.claims = claims.flush()?;
    let total = bigint_value(&power.total_raw_power).unwrap_or(0) + added;
    power.total_raw_power = bigint_bytes(total);
    power_actor.head = store.put_cbor(&power)?;
    set_actor(actors, POWER, power_actor)
}

fn add_deals(
    store: &Arc<MemStore>,
    actors: &mut Actors,
    deals: Vec<DealProposal>,
) -> Result<(), StateError> {
    let Some(mut market_actor) = get_actor(actors, MARKET)? else {
        return Ok(());
    };
    let mut market: MarketState = decode(store, &market_actor.head)?;
    let mut proposals = Amt::<DealProposal, _>::load(&market.proposals, store.clone())?;
    for deal in deals {
        proposals.set(market.next_id, deal)?;
        market.next_id += 1;
    }
    market.proposals = proposals.flush()?;
    market_actor.head = store.put_cbor(&market)?;
    set_actor(actors, MARKET, market_actor)
}

fn bump_reward(store: &Arc<MemStore>, actors: &mut Actors, epoch: i64) -> Result<(), StateError> {
    let Some(mut reward_actor) = get_actor(actors, REWARD)? else {
        return Ok(());
    };
    let mined = u128::try_from(epoch.max(0)).unwrap_or(0) * 36 * 10u128.pow(18);
    reward_actor.head = store.put_cbor(&RewardState {
        epoch,
        total_mined: bigint_bytes(mined),
    })?;
    set_actor(actors, REWARD, reward_actor)
}

/// The nonce of actor `id` in the state `root` (0 if absent).
pub fn actor_nonce(store: &Arc<MemStore>, root: Cid, id: u64) -> Result<u64, StateError> {
    let sr: StateRoot = decode(store, &root)?;
    let actors = Actors::load_with_bit_width(&sr.actors, store.clone(), HAMT_BIT_WIDTH)?;
    Ok(get_actor(&actors, id)?.map(|a| a.nonce).unwrap_or(0))
}
