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
use serde_bytes::ByteBuf;

use super::genesis::{finish, load_or_migrate, DEAL_DURATION, SECTOR_LIFETIME};
use super::overlay::Overlay;
use super::types::{
    AccountState, Claim, DatacapState, DealProposal, DealState, InitState, MarketState, MinerState,
    PowerState, PreCommit, RewardState, SectorInfo,
};
use super::*;
use crate::devnet::objects::{bigint_bytes, bigint_value, Message};

/// Sizing rounds per epoch; the first usually lands within a few percent.
const MAX_ROUNDS: usize = 6;
/// A round aims this far under what is missing, so the epoch approaches the
/// target from below instead of overshooting it.
const UNDERSHOOT: f64 = 0.9;
/// Close enough: stop when less than 1/TOLERANCE of the target is missing.
const TOLERANCE: usize = 25;

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
    for round in 0..MAX_ROUNDS {
        let missing = target.saturating_sub(made);
        if missing == 0 || missing * TOLERANCE <= target {
            break;
        }
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
struct Plan {
    /// Sector extensions per miner index (miners touched also prove new sectors).
    sector_updates: Vec<usize>,
    deal_updates: usize,
    datacap_updates: usize,
    new_holders: u64,
    balance_changes: usize,
    new_actors: u64,
    seed: u64,
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

/// What churning one miner produced.
#[derive(Debug)]
struct MinerOutcome {
    id: u64,
    actor: ActorState,
    proven: u64,
    deals: Vec<DealProposal>,
}

/// One round of operations: miners, datacap and existing deals in parallel
/// (independent structures, each with its own RNG stream), then the market's
/// new deals, power claims and the actors HAMT serially.
fn churn_round(
    bs: &Overlay<'_>,
    actors: &mut Actors<&Overlay<'_>>,
    pop: Population,
    epoch: i64,
    ops: usize,
    rng: &mut ChaCha20Rng,
) -> Result<(), StateError> {
    let plan = Plan::draw(ops, pop.miners, rng);
    let mut jobs = Vec::new();
    for (i, &updates) in plan.sector_updates.iter().enumerate() {
        let id = MINER_BASE + i as u64;
        if updates > 0 {
            if let Some(a) = get_actor(actors, id)? {
                jobs.push((id, a, updates));
            }
        }
    }
    let (Some(market_actor), Some(datacap_actor)) =
        (get_actor(actors, MARKET)?, get_actor(actors, DATACAP)?)
    else {
        return Ok(());
    };
    let market: MarketState = decode(bs, &market_actor.head)?;
    let (miners, (datacap, states)) = rayon::join(
        || {
            jobs.into_par_iter()
                .map(|(id, a, n)| churn_miner(bs, id, a, n, epoch, plan.seed))
                .collect::<Result<Vec<_>, StateError>>()
        },
        || {
            rayon::join(
                || churn_datacap(bs, &datacap_actor, &plan),
                || update_deals(bs, &market, &plan, epoch),
            )
        },
    );
    let miners = miners?;
    let mut market_actor = market_actor;
    market_actor.head = add_deals(bs, market, states?, &miners)?;
    set_actor(actors, MARKET, market_actor)?;
    let mut datacap_actor = datacap_actor;
    datacap_actor.head = datacap?;
    set_actor(actors, DATACAP, datacap_actor)?;
    add_power(bs, actors, &miners)?;
    for m in miners {
        set_actor(actors, m.id, m.actor)?;
    }
    let mut rng = task_rng(plan.seed, 0);
    change_balances(bs, actors, pop, plan.balance_changes, &mut rng)?;
    create_actors(bs, actors, plan.new_actors)
}

/// Extends `updates` random sectors of a miner, proves 1–2 new ones (retiring
/// their pre-commits) and pre-commits the next: copies paths in its sectors AMT
/// and pre-commits HAMT.
fn churn_miner(
    bs: &Overlay<'_>,
    id: u64,
    mut miner_actor: ActorState,
    updates: usize,
    epoch: i64,
    seed: u64,
) -> Result<MinerOutcome, StateError> {
    let mut rng = task_rng(seed, id);
    let mut miner: MinerState = decode(bs, &miner_actor.head)?;
    let mut sectors = Amt::<SectorInfo, _>::load(&miner.sectors, bs)?;
    let mut pre =
        Hamt::<_, PreCommit>::load_with_bit_width(&miner.pre_commits, bs, HAMT_BIT_WIDTH)?;
    for _ in 0..updates {
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
    let proven = rng.gen_range(1..=2u64);
    let mut deals = Vec::new();
    for _ in 0..proven {
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
        deals.push(DealProposal {
            piece_cid: piece_cid(&mut rng),
            piece_size: 32 << 30,
            provider: id_address(id),
            start_epoch: epoch + 100,
            end_epoch: epoch + DEAL_DURATION,
        });
    }
    miner.sectors = sectors.flush()?;
    miner.pre_commits = pre.flush()?;
    miner_actor.head = put(bs, &miner)?;
    miner_actor.nonce += 1;
    Ok(MinerOutcome {
        id,
        actor: miner_actor,
        proven,
        deals,
    })
}

/// Datacap transfers between random holders, plus new holders.
fn churn_datacap(
    bs: &Overlay<'_>,
    datacap_actor: &ActorState,
    plan: &Plan,
) -> Result<Cid, StateError> {
    let mut rng = task_rng(plan.seed, DATACAP);
    let mut state: DatacapState = decode(bs, &datacap_actor.head)?;
    let mut balances =
        Hamt::<_, ByteBuf>::load_with_bit_width(&state.balances, bs, HAMT_BIT_WIDTH)?;
    for _ in 0..plan.new_holders {
        let key = BytesKey(id_address(DATACAP_HOLDER_BASE + state.holders));
        state.holders += 1;
        balances.set(
            key,
            ByteBuf::from(bigint_bytes(rng.gen_range(1..1u128 << 60))),
        )?;
    }
    if state.holders > 0 {
        for _ in 0..plan.datacap_updates {
            let holder = DATACAP_HOLDER_BASE + rng.gen_range(0..state.holders);
            balances.set(
                BytesKey(id_address(holder)),
                ByteBuf::from(bigint_bytes(rng.gen_range(1..1u128 << 70))),
            )?;
        }
    }
    state.balances = balances.flush()?;
    put(bs, &state)
}

/// Updates random existing deal states (payments, activations); the AMT comes
/// back unflushed so the round's new deals join the same flush.
fn update_deals<'s>(
    bs: &'s Overlay<'s>,
    market: &MarketState,
    plan: &Plan,
    epoch: i64,
) -> Result<Amt<DealState, &'s Overlay<'s>>, StateError> {
    let mut rng = task_rng(plan.seed, MARKET);
    let mut states = Amt::<DealState, _>::load(&market.states, bs)?;
    if market.next_id > 0 {
        for _ in 0..plan.deal_updates {
            let id = rng.gen_range(0..market.next_id);
            let start = states.get(id)?.map_or(epoch, |s| s.sector_start_epoch);
            states.set(
                id,
                DealState {
                    sector_start_epoch: start,
                    last_updated_epoch: epoch,
                    slash_epoch: -1,
                },
            )?;
        }
    }
    Ok(states)
}

fn add_deals(
    bs: &Overlay<'_>,
    mut market: MarketState,
    mut states: Amt<DealState, &Overlay<'_>>,
    miners: &[MinerOutcome],
) -> Result<Cid, StateError> {
    let mut proposals = Amt::<DealProposal, _>::load(&market.proposals, bs)?;
    for deal in miners.iter().flat_map(|m| &m.deals) {
        proposals.set(market.next_id, deal.clone())?;
        states.set(
            market.next_id,
            DealState {
                sector_start_epoch: deal.start_epoch - 100,
                last_updated_epoch: -1,
                slash_epoch: -1,
            },
        )?;
        market.next_id += 1;
    }
    market.proposals = proposals.flush()?;
    market.states = states.flush()?;
    put(bs, &market)
}

fn add_power(
    bs: &Overlay<'_>,
    actors: &mut Actors<&Overlay<'_>>,
    miners: &[MinerOutcome],
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
