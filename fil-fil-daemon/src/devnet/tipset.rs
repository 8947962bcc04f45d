//! Tipsets as the simulator keeps them: block headers sorted the way Lotus sorts
//! them, plus what executing the tipset produced (state, receipts, weight).

use std::sync::Arc;

use cid::Cid;

use crate::chain::BlockHeader;

/// A tipset: 1–5 headers of one height sharing parents, in Lotus order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tipset {
    /// Block CIDs in tipset order (the tipset key).
    pub cids: Vec<Cid>,
    /// The headers, same order.
    pub blocks: Vec<BlockHeader>,
    /// Chain epoch.
    pub height: i64,
}

impl Tipset {
    /// Builds a tipset from headers of one height, sorting them as Lotus's
    /// `tipsetSortFunc` does: by blake2b-256 of the ticket VRF proof, ties broken
    /// by CID bytes.
    pub fn new(mut blocks: Vec<BlockHeader>) -> Self {
        let mut keyed: Vec<([u8; 32], Vec<u8>, BlockHeader)> = blocks
            .drain(..)
            .map(|b| {
                let ticket = b
                    .ticket
                    .as_ref()
                    .map(|t| ticket_digest(&t.vrf_proof))
                    .unwrap_or_default();
                (ticket, b.cid().to_bytes(), b)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let blocks: Vec<BlockHeader> = keyed.into_iter().map(|(_, _, b)| b).collect();
        let cids = blocks.iter().map(BlockHeader::cid).collect();
        let height = blocks.first().map(|b| b.height).unwrap_or(0);
        Self {
            cids,
            blocks,
            height,
        }
    }

    /// The parents' tipset key (shared by every block).
    pub fn parents(&self) -> &[Cid] {
        self.blocks.first().map(|b| &b.parents[..]).unwrap_or(&[])
    }
}

fn ticket_digest(vrf_proof: &[u8]) -> [u8; 32] {
    let hash = blake2b_simd::Params::new().hash_length(32).hash(vrf_proof);
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.as_bytes());
    out
}

/// A tipset together with the result of executing it.
#[derive(Debug)]
pub struct Executed {
    /// The tipset.
    pub tipset: Arc<Tipset>,
    /// State root after executing it (its children's `ParentStateRoot`).
    pub state_after: Cid,
    /// Receipts AMT root of its messages (its children's `ParentMessageReceipts`).
    pub receipts_after: Cid,
    /// Chain weight including this tipset (its children's `ParentWeight`).
    pub weight: u128,
}
