//! One epoch's state transition, sized to a churn target: "N new blocks" means N
//! blocks reachable from the new state root that the parent state did not have.
//! Churn is a mix of mainnet-like operations (sector extensions and new sectors
//! in miners' AMTs, pre-commits, deal state updates, datacap transfers, balance
//! changes, new actors), each copying a path through the actors HAMT and the
//! nested structure it touches. Operations run in rounds: after each, the state
//! is flushed into an overlay and the new reachable blocks counted, until the
//! target is met; only the final state's blocks reach the store.

use std::sync::Arc;

use cid::Cid;
use fvm_ipld_amt::Amt;
use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_hamt::{BytesKey, Hamt};
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;

use super::genesis::{finish, load_or_migrate, DEAL_DURATION, SECTOR_LIFETIME};
use super::market::{churn_datacap, churn_market};
use super::overlay::Overlay;
use super::types::{
    AccountState, Claim, DealProposal, InitState, MinerState, PowerState, PreCommit, RewardState,
    SectorInfo,
};
use super::*;
use crate::devnet::objects::{bigint_bytes, bigint_value, Message};

/// Sizing rounds per epoch; the first usually lands within a few percent.
const MAX_ROUNDS: usize = 6;
/// A round aims this far under what is missing, so the epoch approaches the
/// target from below instead of overshooting it; close enough to the target
/// that a round sized from a good estimate lands within `TOLERANCE` and is the
/// epoch's only one (each extra round re-flushes the touched roots and recounts).
const UNDERSHOOT: f64 = 0.97;
/// Close enough: stop when less than 1/TOLERANCE of the target is missing.
const TOLERANCE: usize = 25;
/// RNG stream of a round's new deals (far from the actor IDs other streams use).
const NEW_DEALS_STREAM: u64 = 1 << 40;

/// New blocks one churn operation yields, learned from the previous epochs'
/// first rounds (it grows with the state's depth and shrinks as paths share).
#[derive(Debug, Clone, Copy)]
pub struct ChurnEstimate(f64);

impl Default for ChurnEstimate {
    fn default() -> Self {
        Self(1.5)
    }
}

/// Computes the state after `epoch`: applies `messages` (nonces, balances), then
/// churns until about `target` new blocks are reachable from the new root.
/// Returns the root; its new blocks are in `store`, nothing else is.
#[allow(clippy::too_many_arguments)]
pub fn next_state(
    store: &Arc<MemStore>,
    parent: Cid,
    pop: Population,
    epoch: i64,
    messages: &[Message],
    target: usize,
    estimate: &mut ChurnEstimate,
    rng: &mut ChaCha20Rng,
) -> Result<Cid, StateError> {
    let overlay = Overlay::new(store);
    let mut actors = load_or_migrate(&overlay, parent, pop)?;
    for msg in messages {
        apply_message(&mut actors, msg)?;
    }
    bump_reward(&overlay, &mut actors, epoch)?;
    let mut root = finish(&overlay, &mut actors)?;
    let mut made = overlay.count_reachable(&[root]);
    let mut per_op = estimate.0;
    let mut rounds = 0;
    for round in 0..MAX_ROUNDS {
        let missing = target.saturating_sub(made);
        if missing == 0 || missing * TOLERANCE <= target {
            break;
        }
        rounds += 1;
        let ops = ((missing as f64 * UNDERSHOOT / per_op).ceil() as usize).max(1);
        churn_round(&overlay, &mut actors, pop, epoch, ops, rng)?;
        root = finish(&overlay, &mut actors)?;
        let now = overlay.count_reachable(&[root]);
        per_op = (now.saturating_sub(made) as f64 / ops as f64).clamp(0.02, 50.0);
        if round == 0 {
            estimate.0 = per_op;
        }
        made = now;
    }
    tracing::debug!(epoch, target, made, rounds, "state churn sized");
    overlay.commit(&[root]);
    Ok(root)
}

fn apply_message<BS: Blockstore>(actors: &mut Actors<BS>, msg: &Message) -> Result<(), StateError> {
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

fn bump_reward<BS: Blockstore>(
    store: &BS,
    actors: &mut Actors<&BS>,
    epoch: i64,
) -> Result<(), StateError> {
    let Some(mut reward_actor) = get_actor(actors, REWARD)? else {
        return Ok(());
    };
    let mined = u128::try_from(epoch.max(0)).unwrap_or(0) * 36 * 10u128.pow(18);
    reward_actor.head = put(
        store,
        &RewardState {
            epoch,
            total_mined: bigint_bytes(mined),
        },
    )?;
    set_actor(actors, REWARD, reward_actor)
}

/// How one round's operations split between the kinds of churn.
#[derive(Debug)]
pub(super) struct Plan {
    /// Sector extensions per miner index (miners touched also prove new sectors).
    sector_updates: Vec<usize>,
    pub(super) deal_updates: usize,
    pub(super) datacap_updates: usize,
    pub(super) new_holders: u64,
    balance_changes: usize,
    new_actors: u64,
    pub(super) seed: u64,
}

impl Plan {
    fn draw(ops: usize, miners: u64, rng: &mut ChaCha20Rng) -> Self {
        let share = |pct: usize| ops * pct / 100;
        let slots = miners.max(1) as usize;
        let mut sector_updates = vec![0usize; slots];
        for _ in 0..share(35) {
            sector_updates[rng.gen_range(0..slots)] += 1;
        }
        let (deal_updates, datacap_updates) = (share(30), share(25));
        Self {
            sector_updates,
            deal_updates,
            datacap_updates,
            new_holders: (ops / 100) as u64,
            balance_changes: ops - share(35) - deal_updates - datacap_updates,
            new_actors: (ops / 100) as u64 + u64::from(rng.gen_bool(0.5)),
            seed: rng.gen(),
        }
    }
}

/// A miner churned this round: its sector extensions and how many new sectors
/// it proves (one deal each). `proven` is drawn before the parallel section so
/// the market can publish the deals while the miners rewrite their own state.
#[derive(Debug)]
struct MinerJob {
    id: u64,
    actor: ActorState,
    updates: usize,
    proven: u64,
}

/// One round of operations: miners, datacap and market (each an independent
/// structure with its own RNG stream) in parallel, then power claims and the
/// actors HAMT serially.
fn churn_round(
    bs: &Overlay<'_>,
    actors: &mut Actors<&Overlay<'_>>,
    pop: Population,
    epoch: i64,
    ops: usize,
    rng: &mut ChaCha20Rng,
) -> Result<(), StateError> {
    let plan = Plan::draw(ops, pop.miners, rng);
    let mut deal_rng = task_rng(plan.seed, NEW_DEALS_STREAM);
    let mut jobs = Vec::new();
    let mut new_deals = Vec::new();
    for (i, &updates) in plan.sector_updates.iter().enumerate() {
        let id = MINER_BASE + i as u64;
        if updates == 0 {
            continue;
        }
        if let Some(actor) = get_actor(actors, id)? {
            let proven = deal_rng.gen_range(1..=2u64);
            for _ in 0..proven {
                new_deals.push(DealProposal {
                    piece_cid: piece_cid(&mut deal_rng),
                    piece_size: 32 << 30,
                    provider: id_address(id),
                    start_epoch: epoch + 100,
                    end_epoch: epoch + DEAL_DURATION,
                });
            }
            jobs.push(MinerJob {
                id,
                actor,
                updates,
                proven,
            });
        }
    }
    let (Some(mut market_actor), Some(mut datacap_actor)) =
        (get_actor(actors, MARKET)?, get_actor(actors, DATACAP)?)
    else {
        return Ok(());
    };
    let (miners, (datacap, market)) = rayon::join(
        || {
            jobs.par_iter()
                .map(|job| churn_miner(bs, job, epoch, plan.seed))
                .collect::<Result<Vec<_>, StateError>>()
        },
        || {
            rayon::join(
                || churn_datacap(bs, &datacap_actor, &plan),
                || churn_market(bs, &market_actor, &plan, new_deals, epoch),
            )
        },
    );
    let miners = miners?;
    market_actor.head = market?;
    set_actor(actors, MARKET, market_actor)?;
    datacap_actor.head = datacap?;
    set_actor(actors, DATACAP, datacap_actor)?;
    add_power(bs, actors, &jobs)?;
    for (job, actor) in jobs.iter().zip(miners) {
        set_actor(actors, job.id, actor)?;
    }
    let mut rng = task_rng(plan.seed, 0);
    change_balances(bs, actors, pop, plan.balance_changes, &mut rng)?;
    create_actors(bs, actors, plan.new_actors)
}

/// Extends `job.updates` random sectors of a miner, proves `job.proven` new ones
/// (retiring their pre-commits) and pre-commits the next: copies paths in its
/// sectors AMT and pre-commits HAMT. Returns the miner's new actor entry.
fn churn_miner(
    bs: &Overlay<'_>,
    job: &MinerJob,
    epoch: i64,
    seed: u64,
) -> Result<ActorState, StateError> {
    let mut rng = task_rng(seed, job.id);
    let mut miner_actor = job.actor.clone();
    let mut miner: MinerState = decode(bs, &miner_actor.head)?;
    let mut sectors = Amt::<SectorInfo, _>::load(&miner.sectors, bs)?;
    let mut pre =
        Hamt::<_, PreCommit>::load_with_bit_width(&miner.pre_commits, bs, HAMT_BIT_WIDTH)?;
    for _ in 0..job.updates {
        if miner.next_sector == 0 {
            break;
        }
        let number = rng.gen_range(0..miner.next_sector);
        if let Some(info) = sectors.get(number)? {
            let mut info = info.clone();
            info.expiration = info.expiration.max(epoch) + rng.gen_range(1..=180) * 2880;
            sectors.set(number, info)?;
        }
    }
    for _ in 0..job.proven {
        let number = miner.next_sector;
        miner.next_sector += 1;
        let sealed = sealed_cid(&mut rng);
        if number >= 2 {
            pre.delete(&sector_key(number - 2))?;
        }
        pre.set(
            sector_key(number),
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
                expiration: epoch + SECTOR_LIFETIME,
                deal_weight: bigint_bytes(rng.gen_range(0..1u128 << 60)),
            },
        )?;
    }
    miner.sectors = sectors.flush()?;
    miner.pre_commits = pre.flush()?;
    miner_actor.head = put(bs, &miner)?;
    miner_actor.nonce += 1;
    Ok(miner_actor)
}

fn add_power(
    bs: &Overlay<'_>,
    actors: &mut Actors<&Overlay<'_>>,
    miners: &[MinerJob],
) -> Result<(), StateError> {
    let Some(mut power_actor) = get_actor(actors, POWER)? else {
        return Ok(());
    };
    let mut power: PowerState = decode(bs, &power_actor.head)?;
    let mut claims = Hamt::<_, Claim>::load_with_bit_width(&power.claims, bs, HAMT_BIT_WIDTH)?;
    let mut total = bigint_value(&power.total_raw_power).unwrap_or(0);
    for m in miners {
        let key = BytesKey(id_address(m.id));
        let added = u128::from(m.proven) * SECTOR_SIZE;
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
        total += added;
    }
    power.claims = claims.flush()?;
    power.total_raw_power = bigint_bytes(total);
    power_actor.head = put(bs, &power)?;
    set_actor(actors, POWER, power_actor)
}

/// Balance changes of random accounts and churn-created actors (implicit
/// transfers: gas, rewards, burns).
fn change_balances(
    bs: &Overlay<'_>,
    actors: &mut Actors<&Overlay<'_>>,
    pop: Population,
    changes: usize,
    rng: &mut ChaCha20Rng,
) -> Result<(), StateError> {
    let created = match get_actor(actors, INIT)? {
        Some(a) => decode::<_, InitState>(bs, &a.head)?
            .next_id
            .saturating_sub(NEW_ACTOR_BASE),
        None => 0,
    };
    let population = pop.accounts + created;
    if population == 0 {
        return Ok(());
    }
    for _ in 0..changes {
        let pick = rng.gen_range(0..population);
        let id = if pick < pop.accounts {
            ACCOUNT_BASE + pick
        } else {
            NEW_ACTOR_BASE + (pick - pop.accounts)
        };
        if let Some(mut a) = get_actor(actors, id)? {
            a.balance = bigint_bytes(rng.gen_range(0..1u128 << 80));
            set_actor(actors, id, a)?;
        }
    }
    Ok(())
}

/// New account actors: an ID from the init actor, an address-map entry, an
/// actors-HAMT entry.
fn create_actors(
    bs: &Overlay<'_>,
    actors: &mut Actors<&Overlay<'_>>,
    count: u64,
) -> Result<(), StateError> {
    if count == 0 {
        return Ok(());
    }
    let Some(mut init_actor) = get_actor(actors, INIT)? else {
        return Ok(());
    };
    let mut init: InitState = decode(bs, &init_actor.head)?;
    let mut map = Hamt::<_, u64>::load_with_bit_width(&init.address_map, bs, HAMT_BIT_WIDTH)?;
    for _ in 0..count {
        let id = init.next_id;
        init.next_id += 1;
        let address = key_address(id);
        map.set(BytesKey(address.clone()), id)?;
        let head = put(bs, &AccountState { address })?;
        set_actor(actors, id, actor("account", head, 0))?;
    }
    init.address_map = map.flush()?;
    init_actor.head = put(bs, &init)?;
    set_actor(actors, INIT, init_actor)
}
