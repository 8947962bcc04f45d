//! Genesis states: a synthetic one, or a foreign (real mainnet or calibnet)
//! genesis migrated into the devnet's layout, as a network upgrade would. Both
//! get the devnet's actors, their nested structures pre-sized from the churn
//! target so that an epoch's churn rewrites a fraction of them, as on mainnet,
//! instead of rewriting the whole (tiny) state every epoch.

use cid::Cid;
use fvm_ipld_amt::Amt;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_hamt::{BytesKey, Hamt, Hamtv0};
use rand::Rng;
use rayon::prelude::*;
use serde_bytes::ByteBuf;

use super::super::objects::{
    bigint_bytes, id_address, ActorState, LegacyActorState, StateInfo, StateRoot,
};
use super::types::{
    AccountState, Claim, DatacapState, DealProposal, DealState, InitState, MarketState, MinerState,
    PreCommit, RewardState, SectorInfo,
};
use super::*;

/// Entries each pre-sized pool (sectors, deals, datacap holders) starts with,
/// per new block of churn target.
const POOL_PER_CHURN: u64 = 24;
/// Seed of the genesis pools (the chain's own seed shapes everything after).
const GENESIS_SEED: u64 = 0x0067_656e_6573_6973;
/// Sector lifetime (540 days), as mainnet's default commitment.
pub(super) const SECTOR_LIFETIME: i64 = 1_555_200;
/// Deal duration (180 days).
pub(super) const DEAL_DURATION: i64 = 518_400;

/// Builds a synthetic genesis state into `store`; returns the state root CID.
pub fn synthetic_genesis<BS: Blockstore + Sync>(
    store: &BS,
    pop: Population,
) -> Result<Cid, StateError> {
    let mut actors = Actors::new_with_bit_width(store, HAMT_BIT_WIDTH);
    let empty = put(store, &StateInfo {})?;
    for (id, name) in [
        (0, "system"),
        (3, "cron"),
        (6, "verifiedregistry"),
        (99, "account"),
    ] {
        set_actor(&mut actors, id, actor(name, empty, 0))?;
    }
    add_devnet_actors(store, &mut actors, pop)?;
    finish(store, &mut actors)
}

/// Flushes the actors HAMT and writes the state root over it.
pub(super) fn finish<BS: Blockstore>(
    store: &BS,
    actors: &mut Actors<&BS>,
) -> Result<Cid, StateError> {
    let root = actors.flush()?;
    let info = put(store, &StateInfo {})?;
    put(
        store,
        &StateRoot {
            version: 5,
            actors: root,
            info,
        },
    )
}

/// Loads the actors HAMT of a version-5 state root; older roots (mainnet genesis
/// is version 0: a bare HAMT v0 of 4-field actors) and roots without the devnet's
/// actors are migrated first.
pub(super) fn load_or_migrate<BS: Blockstore + Sync>(
    store: &BS,
    root: Cid,
    pop: Population,
) -> Result<Actors<&BS>, StateError> {
    if let Ok(sr) = decode::<_, StateRoot>(store, &root) {
        if sr.version >= 5 {
            let actors = Actors::load_with_bit_width(&sr.actors, store, HAMT_BIT_WIDTH)?;
            if get_actor(&actors, MINER_BASE)?.is_some() {
                return Ok(actors);
            }
        }
        return migrate(store, sr.actors, sr.version, pop);
    }
    migrate(store, root, 0, pop)
}

fn migrate<BS: Blockstore + Sync>(
    store: &BS,
    old_actors: Cid,
    version: u64,
    pop: Population,
) -> Result<Actors<&BS>, StateError> {
    let mut actors = Actors::new_with_bit_width(store, HAMT_BIT_WIDTH);
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
        0 => {
            Hamtv0::<_, LegacyActorState>::load_with_bit_width(&old_actors, store, HAMT_BIT_WIDTH)?
                .for_each(|k, v| copy(k, v.clone()))?
        }
        1..=4 => {
            Hamt::<_, LegacyActorState>::load_with_bit_width(&old_actors, store, HAMT_BIT_WIDTH)?
                .for_each(|k, v| copy(k, v.clone()))?
        }
        _ => {
            Actors::load_with_bit_width(&old_actors, store, HAMT_BIT_WIDTH)?.for_each(|k, v| {
                actors.set(k.clone(), v.clone())?;
                Ok(())
            })?
        }
    }
    add_devnet_actors(store, &mut actors, pop)?;
    Ok(actors)
}

/// Pool sizes for `pop`: (sectors per miner, deals, datacap holders).
fn pool_sizes(pop: Population) -> (u64, u64, u64) {
    let pool = POOL_PER_CHURN * pop.churn as u64;
    (pool / pop.miners.max(1), pool, pool)
}

fn add_devnet_actors<BS: Blockstore + Sync>(
    store: &BS,
    actors: &mut Actors<&BS>,
    pop: Population,
) -> Result<(), StateError> {
    let (sectors_each, deals, holders) = pool_sizes(pop);
    // A real genesis's init state decodes as ours and keeps its address map.
    let init = match get_actor(actors, INIT)? {
        Some(a) => decode::<_, InitState>(store, &a.head).ok(),
        None => None,
    };
    let init = match init {
        Some(mut s) => {
            s.next_id = s.next_id.max(NEW_ACTOR_BASE);
            s
        }
        None => InitState {
            address_map: Hamt::<_, u64>::new_with_bit_width(store, HAMT_BIT_WIDTH).flush()?,
            next_id: NEW_ACTOR_BASE,
            network_name: "fil-fil-devnet".into(),
        },
    };
    set_actor(actors, INIT, actor("init", put(store, &init)?, 0))?;

    let miners: Vec<u64> = (0..pop.miners).map(|i| MINER_BASE + i).collect();
    let heads = miners
        .par_iter()
        .map(|&id| genesis_miner(store, id, pop, sectors_each))
        .collect::<Result<Vec<_>, _>>()?;
    for (&id, head) in miners.iter().zip(heads) {
        set_actor(actors, id, actor("storageminer", head, 0))?;
    }

    let (power, (market, datacap)) = rayon::join(
        || genesis_power(store, &miners, sectors_each),
        || {
            rayon::join(
                || genesis_market(store, &miners, deals),
                || genesis_datacap(store, holders),
            )
        },
    );
    set_actor(actors, POWER, actor("storagepower", power?, 0))?;
    set_actor(actors, MARKET, actor("storagemarket", market?, 0))?;
    set_actor(actors, DATACAP, actor("datacap", datacap?, 0))?;
    let reward = put(
        store,
        &RewardState {
            epoch: 0,
            total_mined: Vec::new(),
        },
    )?;
    set_actor(actors, REWARD, actor("reward", reward, 0))?;
    for i in 0..pop.accounts {
        let head = put(
            store,
            &AccountState {
                address: key_address(ACCOUNT_BASE + i),
            },
        )?;
        set_actor(
            actors,
            ACCOUNT_BASE + i,
            actor("account", head, 1_000_000 * 10u128.pow(18)),
        )?;
    }
    Ok(())
}

fn genesis_miner<BS: Blockstore>(
    store: &BS,
    id: u64,
    pop: Population,
    sectors: u64,
) -> Result<Cid, StateError> {
    let mut rng = task_rng(GENESIS_SEED, id);
    let infos: Vec<SectorInfo> = (0..sectors)
        .map(|number| SectorInfo {
            number,
            sealed_cid: sealed_cid(&mut rng),
            activation: 0,
            expiration: SECTOR_LIFETIME,
            deal_weight: bigint_bytes(rng.gen_range(0..1u128 << 60)),
        })
        .collect();
    let sectors_root = Amt::new_from_iter_with_bit_width(store, AMT_BIT_WIDTH, infos)?;
    let pre_commits = Hamt::<_, PreCommit>::new_with_bit_width(store, HAMT_BIT_WIDTH).flush()?;
    put(
        store,
        &MinerState {
            owner: id_address(ACCOUNT_BASE + (id - MINER_BASE) % pop.accounts.max(1)),
            sectors: sectors_root,
            pre_commits,
            next_sector: sectors,
        },
    )
}

fn genesis_power<BS: Blockstore>(
    store: &BS,
    miners: &[u64],
    sectors_each: u64,
) -> Result<Cid, StateError> {
    let mut claims = Hamt::<_, Claim>::new_with_bit_width(store, HAMT_BIT_WIDTH);
    let raw = u128::from(sectors_each) * SECTOR_SIZE;
    for &id in miners {
        claims.set(
            BytesKey(id_address(id)),
            Claim {
                raw_power: bigint_bytes(raw),
                qa_power: bigint_bytes(raw * 10),
            },
        )?;
    }
    put(
        store,
        &super::types::PowerState {
            total_raw_power: bigint_bytes(raw * miners.len() as u128),
            claims: claims.flush()?,
        },
    )
}

fn genesis_market<BS: Blockstore>(
    store: &BS,
    miners: &[u64],
    deals: u64,
) -> Result<Cid, StateError> {
    let mut rng = task_rng(GENESIS_SEED, MARKET);
    let proposals: Vec<DealProposal> = (0..deals)
        .map(|i| DealProposal {
            piece_cid: piece_cid(&mut rng),
            piece_size: 32 << 30,
            provider: id_address(
                miners
                    .get(i as usize % miners.len().max(1))
                    .copied()
                    .unwrap_or(MINER_BASE),
            ),
            start_epoch: 0,
            end_epoch: DEAL_DURATION,
        })
        .collect();
    let states = (0..deals).map(|_| DealState {
        sector_start_epoch: 0,
        last_updated_epoch: -1,
        slash_epoch: -1,
    });
    let proposals = Amt::new_from_iter_with_bit_width(store, AMT_BIT_WIDTH, proposals)?;
    let states = Amt::new_from_iter_with_bit_width(store, AMT_BIT_WIDTH, states)?;
    put(
        store,
        &MarketState {
            proposals,
            states,
            next_id: deals,
        },
    )
}

fn genesis_datacap<BS: Blockstore>(store: &BS, holders: u64) -> Result<Cid, StateError> {
    let mut rng = task_rng(GENESIS_SEED, DATACAP);
    let mut balances = Hamt::<_, ByteBuf>::new_with_bit_width(store, HAMT_BIT_WIDTH);
    let mut supply = 0u128;
    for i in 0..holders {
        let amount = rng.gen_range(1..1u128 << 70);
        supply += amount;
        balances.set(
            BytesKey(id_address(DATACAP_HOLDER_BASE + i)),
            ByteBuf::from(bigint_bytes(amount)),
        )?;
    }
    put(
        store,
        &DatacapState {
            supply: bigint_bytes(supply),
            balances: balances.flush()?,
            holders,
        },
    )
}
