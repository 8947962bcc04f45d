//! Block production: turns RNG draws into well-formed headers (tickets, election
//! proofs, beacons, PoSt proofs, signatures), real message lists and receipts,
//! then executes the tipset against the state tree.

use std::collections::HashSet;
use std::sync::Arc;

use cid::Cid;
use fvm_ipld_amt::Amtv0;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::config::DevnetConfig;
use super::error::DevnetError;
use super::objects::{bigint_bytes, id_address, Message, MessageReceipt, MsgMeta, SignedMessage};
use super::state::{self, ChurnEstimate, Population, ACCOUNT_BASE, MINER_BASE};
use super::store::MemStore;
use super::tipset::{Executed, Tipset};
use crate::chain::{BeaconEntry, BlockHeader, ElectionProof, PoStProof, Signature, Ticket};

/// Lotus's `build.InitialBaseFee` (attoFIL).
const INITIAL_BASE_FEE: u128 = 100_000_000;
/// Registered proof `StackedDrgWinning32GiBV1`.
const WINNING_POST_32GIB: i64 = 3;
/// Weight every block adds; reorg branches add twice the maximum so they win.
const BLOCK_WEIGHT: u128 = 1_000;

/// Deterministic block producer: every random choice comes from one ChaCha stream.
#[derive(Debug)]
pub struct Producer {
    store: Arc<MemStore>,
    cfg: DevnetConfig,
    pop: Population,
    rng: ChaCha20Rng,
    churn: ChurnEstimate,
}

impl Producer {
    /// A producer writing into `store`, seeded from `cfg.seed`.
    pub fn new(store: Arc<MemStore>, cfg: DevnetConfig) -> Self {
        let pop = Population {
            accounts: cfg.accounts.max(2),
            miners: cfg.miners.max(5),
            churn: cfg.churn_objects,
        };
        let rng = ChaCha20Rng::seed_from_u64(cfg.seed);
        Self {
            store,
            cfg,
            pop,
            rng,
            churn: ChurnEstimate::default(),
        }
    }

    /// A synthetic genesis shaped like Lotus's: miner `f00`, a sha2-256 dummy
    /// parent block, empty message lists, zero weight, initial base fee.
    pub fn synthetic_genesis(&mut self) -> Result<Executed, DevnetError> {
        let state = state::synthetic_genesis(&*self.store, self.pop)?;
        let dummy = dummy_parent(&self.store, self.cfg.seed);
        let empty = self.empty_amt()?;
        let messages = self.store.put_cbor(&MsgMeta {
            bls_messages: empty,
            secpk_messages: empty,
        })?;
        let mut ticket = vec![0u8; 32];
        self.rng.fill_bytes(&mut ticket);
        let header = BlockHeader {
            miner: id_address(0),
            ticket: Some(Ticket { vrf_proof: ticket }),
            election_proof: Some(ElectionProof {
                win_count: 0,
                vrf_proof: Vec::new(),
            }),
            beacon_entries: vec![BeaconEntry {
                round: 0,
                data: vec![0; 32],
            }],
            win_post_proof: Vec::new(),
            parents: vec![dummy],
            parent_weight: Vec::new(),
            height: 0,
            parent_state_root: state,
            parent_message_receipts: empty,
            messages,
            bls_aggregate: None,
            timestamp: self.cfg.genesis_timestamp,
            block_sig: None,
            fork_signaling: 0,
            parent_base_fee: bigint_bytes(INITIAL_BASE_FEE),
        };
        self.genesis_from_header(header)
    }

    /// Wraps an existing genesis header (already in the store or stored here):
    /// executing it migrates its state into the devnet's layout.
    pub fn genesis_from_header(&mut self, header: BlockHeader) -> Result<Executed, DevnetError> {
        self.store.put_cbor(&header)?;
        let state_after = state::next_state(
            &self.store,
            header.parent_state_root,
            self.pop,
            0,
            &[],
            0,
            &mut self.churn,
            &mut self.rng,
        )?;
        let receipts_after = self.empty_amt()?;
        Ok(Executed {
            tipset: Arc::new(Tipset::new(vec![header])),
            state_after,
            receipts_after,
            weight: 0,
        })
    }

    /// Brings a foreign state root (a replayed chain's genesis state) into the
    /// devnet's layout so mining can continue from it.
    pub fn adopt_state(&mut self, root: Cid) -> Result<Cid, DevnetError> {
        Ok(state::next_state(
            &self.store,
            root,
            self.pop,
            0,
            &[],
            0,
            &mut self.churn,
            &mut self.rng,
        )?)
    }

    /// Epochs until the next non-null tipset (1 plus drawn null rounds, at most 10).
    pub fn draw_epoch_gap(&mut self) -> i64 {
        let mut gap = 1;
        while gap < 10 && self.rng.gen_bool(self.cfg.null_round_prob.clamp(0.0, 0.9)) {
            gap += 1;
        }
        gap
    }

    /// A reorg depth in `1..=max`.
    pub fn draw_reorg_depth(&mut self, max: usize) -> usize {
        self.rng.gen_range(1..=max.max(1))
    }

    /// Whether the next automatic epoch should be a reorg.
    pub fn draw_reorg(&mut self) -> bool {
        self.cfg.reorg_prob > 0.0 && self.rng.gen_bool(self.cfg.reorg_prob.clamp(0.0, 1.0))
    }

    fn draw_tipset_size(&mut self) -> usize {
        let weights: Vec<u32> = self.cfg.tipset_weights.iter().take(5).copied().collect();
        let total: u32 = weights.iter().sum();
        if total == 0 {
            return 1;
        }
        let mut pick = self.rng.gen_range(0..total);
        for (i, w) in weights.iter().enumerate() {
            if pick < *w {
                return i + 1;
            }
            pick -= w;
        }
        1
    }

    fn empty_amt(&self) -> Result<Cid, DevnetError> {
        Ok(Amtv0::<Cid, _>::new(self.store.clone()).flush()?)
    }

    fn bytes(&mut self, prefix: Option<u8>, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 1);
        out.extend(prefix);
        let start = out.len();
        out.resize(start + len, 0);
        self.rng.fill_bytes(&mut out[start..]);
        out
    }

    /// Produces and executes a tipset at `height` on top of `parent`. `heavy`
    /// tipsets carry extra weight so a reorg branch overtakes the old head.
    pub fn produce(
        &mut self,
        parent: &Executed,
        height: i64,
        heavy: bool,
    ) -> Result<Executed, DevnetError> {
        let stored_before = self.store.len();
        let size = self.draw_tipset_size();
        let mut miners: Vec<u64> = Vec::with_capacity(size);
        while miners.len() < size {
            let m = MINER_BASE + self.rng.gen_range(0..self.pop.miners);
            if !miners.contains(&m) {
                miners.push(m);
            }
        }
        let mut senders = HashSet::new();
        let mut executed: Vec<Message> = Vec::new();
        let mut headers = Vec::with_capacity(size);
        for miner in miners {
            let meta = self.block_messages(parent.state_after, &mut senders, &mut executed)?;
            headers.push(self.header(parent, height, miner, meta));
        }
        for h in &headers {
            self.store.put_cbor(h)?;
        }
        let tipset = Tipset::new(headers);
        let receipts: Vec<MessageReceipt> = executed
            .iter()
            .map(|m| MessageReceipt {
                exit_code: 0,
                return_data: Vec::new(),
                gas_used: m.gas_limit / 2,
                events_root: None,
            })
            .collect();
        let receipts_after = Amtv0::new_from_iter(self.store.clone(), receipts)?;
        // The churn target counts every new block of the epoch: headers, messages
        // and receipts are already written, the state makes up the rest.
        let chain_blocks = self.store.len().saturating_sub(stored_before);
        let state_after = state::next_state(
            &self.store,
            parent.state_after,
            self.pop,
            height,
            &executed,
            self.cfg.churn_objects.saturating_sub(chain_blocks),
            &mut self.churn,
            &mut self.rng,
        )?;
        let per_block = if heavy {
            20 * BLOCK_WEIGHT
        } else {
            BLOCK_WEIGHT
        };
        let weight = parent.weight
            + per_block * tipset.blocks.len() as u128
            + self.rng.gen_range(0..BLOCK_WEIGHT);
        Ok(Executed {
            tipset: Arc::new(tipset),
            state_after,
            receipts_after,
            weight,
        })
    }

    fn header(&mut self, parent: &Executed, height: i64, miner: u64, messages: Cid) -> BlockHeader {
        let base_fee = INITIAL_BASE_FEE + self.rng.gen_range(0..1_000_000u128);
        let delay = self.cfg.block_delay_secs;
        let timestamp = self.cfg.genesis_timestamp + delay * u64::try_from(height).unwrap_or(0);
        BlockHeader {
            miner: id_address(miner),
            ticket: Some(Ticket {
                vrf_proof: self.bytes(None, 96),
            }),
            election_proof: Some(ElectionProof {
                win_count: 1 + i64::from(self.rng.gen_bool(0.1)),
                vrf_proof: self.bytes(None, 96),
            }),
            beacon_entries: vec![BeaconEntry {
                round: 1_000_000 + u64::try_from(height).unwrap_or(0),
                data: self.bytes(None, 96),
            }],
            win_post_proof: vec![PoStProof {
                post_proof: WINNING_POST_32GIB,
                proof_bytes: self.bytes(None, 192),
            }],
            parents: parent.tipset.cids.clone(),
            parent_weight: bigint_bytes(parent.weight),
            height,
            parent_state_root: parent.state_after,
            parent_message_receipts: parent.receipts_after,
            messages,
            bls_aggregate: Some(Signature(self.bytes(Some(2), 96))),
            timestamp,
            block_sig: Some(Signature(self.bytes(Some(2), 96))),
            fork_signaling: 0,
            parent_base_fee: bigint_bytes(base_fee),
        }
    }

    /// Draws one block's BLS and secp messages from senders not yet used in this
    /// tipset (so nonces follow the parent state), stores them and their `MsgMeta`.
    fn block_messages(
        &mut self,
        parent_state: Cid,
        senders: &mut HashSet<u64>,
        executed: &mut Vec<Message>,
    ) -> Result<Cid, DevnetError> {
        let max = self.cfg.max_messages_per_block;
        let (n_bls, n_secp) = (self.rng.gen_range(0..=max), self.rng.gen_range(0..=max));
        let mut bls = Vec::new();
        let mut secp = Vec::new();
        for i in 0..n_bls + n_secp {
            let from = ACCOUNT_BASE + self.rng.gen_range(0..self.pop.accounts);
            if !senders.insert(from) {
                continue;
            }
            let msg = self.message(parent_state, from)?;
            if i < n_bls {
                bls.push(self.store.put_cbor(&msg)?);
            } else {
                let signed = SignedMessage {
                    message: msg.clone(),
                    signature: self.bytes(Some(1), 65),
                };
                secp.push(self.store.put_cbor(&signed)?);
            }
            executed.push(msg);
        }
        let meta = MsgMeta {
            bls_messages: Amtv0::new_from_iter(self.store.clone(), bls)?,
            secpk_messages: Amtv0::new_from_iter(self.store.clone(), secp)?,
        };
        Ok(self.store.put_cbor(&meta)?)
    }

    fn message(&mut self, parent_state: Cid, from: u64) -> Result<Message, DevnetError> {
        let nonce = state::actor_nonce(&self.store, parent_state, from)?;
        let to_miner = self.rng.gen_bool(0.5);
        let to = if to_miner {
            MINER_BASE + self.rng.gen_range(0..self.pop.miners)
        } else {
            ACCOUNT_BASE + self.rng.gen_range(0..self.pop.accounts)
        };
        let (method, params) = if to_miner {
            let len = self.rng.gen_range(8..128);
            (self.rng.gen_range(2..30), self.bytes(None, len))
        } else {
            (0, Vec::new())
        };
        Ok(Message {
            version: 0,
            to: id_address(to),
            from: id_address(from),
            nonce,
            value: bigint_bytes(self.rng.gen_range(0..10u128.pow(18))),
            gas_limit: self.rng.gen_range(1_000_000..50_000_000),
            gas_fee_cap: bigint_bytes(self.rng.gen_range(100_000_000..10_000_000_000u128)),
            gas_premium: bigint_bytes(self.rng.gen_range(100_000..1_000_000u128)),
            method,
            params,
        })
    }
}

/// Lotus genesis blocks point at a sha2-256 dag-cbor "filecoin genesis" block;
/// ours carries the seed so distinct devnets have distinct genesis CIDs.
fn dummy_parent(store: &MemStore, seed: u64) -> Cid {
    use sha2::Digest;
    let data = fvm_ipld_encoding::to_vec(&format!("fil-fil devnet genesis {seed}"))
        .unwrap_or_else(|e| unreachable!("a string always encodes: {e}"));
    let digest = sha2::Sha256::digest(&data);
    let mh = cid::multihash::Multihash::<64>::wrap(crate::ipld::SHA2_256, &digest)
        .unwrap_or_else(|_| unreachable!("32-byte digest fits"));
    let cid = Cid::new_v1(crate::ipld::DAG_CBOR, mh);
    store.insert(cid, &data);
    cid
}
