//! The market side of an epoch's churn: datacap transfers and deal updates and
//! publications. Each runs as one task of a churn round, alongside the miners,
//! and flushes its own structures so the round's encoding and hashing spread
//! over the cores.

use cid::Cid;
use fvm_ipld_amt::Amt;
use fvm_ipld_hamt::{BytesKey, Hamt};
use rand::Rng;
use serde_bytes::ByteBuf;

use super::churn::Plan;
use super::overlay::Overlay;
use super::types::{DatacapState, DealProposal, DealState, MarketState};
use super::*;
use crate::devnet::objects::bigint_bytes;

/// Datacap transfers between random holders, plus new holders; returns the
/// datacap actor's new head.
pub(super) fn churn_datacap(
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

/// Updates random existing deal states (payments, activations), then publishes
/// `new_deals` (the round's proven sectors) as proposals with fresh states;
/// returns the market actor's new head.
pub(super) fn churn_market(
    bs: &Overlay<'_>,
    market_actor: &ActorState,
    plan: &Plan,
    new_deals: Vec<DealProposal>,
    epoch: i64,
) -> Result<Cid, StateError> {
    let mut rng = task_rng(plan.seed, MARKET);
    let mut market: MarketState = decode(bs, &market_actor.head)?;
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
    let mut proposals = Amt::<DealProposal, _>::load(&market.proposals, bs)?;
    for deal in new_deals {
        states.set(
            market.next_id,
            DealState {
                sector_start_epoch: deal.start_epoch - 100,
                last_updated_epoch: -1,
                slash_epoch: -1,
            },
        )?;
        proposals.set(market.next_id, deal)?;
        market.next_id += 1;
    }
    market.proposals = proposals.flush()?;
    market.states = states.flush()?;
    put(bs, &market)
}
