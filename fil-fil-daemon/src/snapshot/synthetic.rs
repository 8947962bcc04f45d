//! Synthetic chains for benchmarks and tests: real block-header encoding over
//! made-up content. State is a HAMT-shaped tree (32-way nodes over actor leaves,
//! each leaf linking an identity "code" CID and a per-actor state block) with
//! per-epoch churn copied up the path to a new root (every 64th actor names its
//! code by an inline identity dag-cbor block that itself links the actor's state,
//! so walks meet links through inline blocks), messages hang off a
//! `MsgMeta`-like block, and receipts exist but are never exported. Null rounds
//! and multi-block tipsets appear on a fixed pattern so walks meet both. Not
//! consensus-valid data; only the link structure matters here.

use crate::ipld::write_cbor_header as header;
use std::collections::HashMap;

use cid::Cid;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::chain::{BlockHeader, ElectionProof, Signature, Ticket, Tipset, TipsetKey};
use crate::ipld::{block_cid, RAW};

/// Fan-out of the state tree's interior nodes (a HAMT with bitwidth 5).
const FANOUT: usize = 32;

/// Shape of a generated chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticConfig {
    /// Heights 0..=epochs (null rounds included).
    pub epochs: i64,
    /// Actors in the state tree.
    pub actors: usize,
    /// Actors changed per non-null epoch.
    pub churn: usize,
    /// Messages per block.
    pub messages_per_block: usize,
    /// RNG seed; same config and seed give the same chain.
    pub seed: u64,
}

/// A generated chain: every block, and the head.
#[derive(Debug, Clone)]
pub struct SyntheticChain {
    /// All blocks by CID.
    pub blocks: HashMap<Cid, Vec<u8>>,
    /// Head tipset key.
    pub head: TipsetKey,
    /// Head height.
    pub head_height: i64,
}

/// Builds a chain for `config`.
pub fn generate(config: &SyntheticConfig) -> SyntheticChain {
    let mut g = Generator {
        rng: ChaCha8Rng::seed_from_u64(config.seed),
        blocks: HashMap::new(),
    };
    let code = identity_raw(b"fil/synthetic/account");
    let mut leaves: Vec<Cid> = (0..config.actors)
        .map(|i| g.actor_leaf(code, i as u64, 0))
        .collect();
    let mut levels = g.build_tree(&leaves);
    let mut state_root = root_of(&levels);
    let dummy = g.put(b"\x81\x60".to_vec()); // genesis's dummy parent
    let genesis_msgs = g.messages(0);
    let genesis = g.header(0, vec![dummy], state_root, genesis_msgs);
    let mut head = Tipset::new(vec![genesis]).unwrap_or_else(|e| unreachable!("{e}"));
    for height in 1..=config.epochs {
        if height % 7 == 4 {
            continue; // null round
        }
        for _ in 0..config.churn.min(leaves.len()) {
            let i = g.rng.gen_range(0..leaves.len());
            leaves[i] = g.actor_leaf(code, i as u64, height as u64);
            g.update_path(&mut levels, &leaves, i);
        }
        let n_blocks = 1 + (height % 3) as usize;
        let parents = head.key().cids().to_vec();
        let members = (0..n_blocks)
            .map(|_| {
                let msgs = g.messages(config.messages_per_block);
                g.header(height, parents.clone(), state_root, msgs)
            })
            .collect();
        head = Tipset::new(members).unwrap_or_else(|e| unreachable!("{e}"));
        state_root = root_of(&levels);
    }
    SyntheticChain {
        head: head.key().clone(),
        head_height: head.height(),
        blocks: g.blocks,
    }
}

struct Generator {
    rng: ChaCha8Rng,
    blocks: HashMap<Cid, Vec<u8>>,
}

impl Generator {
    fn put(&mut self, data: Vec<u8>) -> Cid {
        let cid = block_cid(&data);
        self.blocks.insert(cid, data);
        cid
    }

    fn random_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.rng.fill(&mut v[..]);
        v
    }

    /// `[code, head, nonce, balance]`, the head a small per-actor state block.
    fn actor_leaf(&mut self, code: Cid, id: u64, version: u64) -> Cid {
        let mut state = vec![0x83];
        uint(&mut state, id);
        uint(&mut state, version);
        let payload = self.random_bytes(48);
        bytes(&mut state, &payload);
        let head = self.put(state);
        let mut leaf = vec![0x84];
        if id % 64 == 0 {
            let mut inline = vec![0x81];
            link(&mut inline, &head);
            link(&mut leaf, &identity(crate::ipld::DAG_CBOR, &inline));
        } else {
            link(&mut leaf, &code);
        }
        link(&mut leaf, &head);
        uint(&mut leaf, version);
        let balance = self.random_bytes(9);
        bytes(&mut leaf, &balance);
        self.put(leaf)
    }

    /// `[bitfield, [links…]]` per interior node, leaves at level 0.
    fn node(&mut self, children: &[Cid]) -> Cid {
        let mut out = vec![0x82];
        bytes(&mut out, &[0xff, 0xff, 0xff, 0xff]);
        array(&mut out, children.len());
        for c in children {
            link(&mut out, c);
        }
        self.put(out)
    }

    fn build_tree(&mut self, leaves: &[Cid]) -> Vec<Vec<Cid>> {
        let mut levels = vec![leaves.to_vec()];
        loop {
            let below = levels.last().map(Vec::as_slice).unwrap_or_default();
            if below.len() <= 1 && levels.len() > 1 {
                return levels;
            }
            let next: Vec<Cid> = below
                .to_vec()
                .chunks(FANOUT)
                .map(|c| self.node(c))
                .collect();
            levels.push(next);
        }
    }

    /// Re-hashes the interior nodes above leaf `i` (path copying).
    fn update_path(&mut self, levels: &mut [Vec<Cid>], leaves: &[Cid], mut i: usize) {
        levels[0][i] = leaves[i];
        for level in 1..levels.len() {
            let parent = i / FANOUT;
            let start = parent * FANOUT;
            let end = (start + FANOUT).min(levels[level - 1].len());
            let children = levels[level - 1][start..end].to_vec();
            levels[level][parent] = self.node(&children);
            i = parent;
        }
    }

    /// A `MsgMeta`-like `[bls, secp]` pair of message lists; also a receipt
    /// block. Returns (msg meta, receipts).
    fn messages(&mut self, n: usize) -> (Cid, Cid) {
        let mut lists = [Vec::new(), Vec::new()];
        for k in 0..n {
            let mut msg = vec![0x8a];
            for f in 0..10u64 {
                if f == 5 {
                    let params = self.random_bytes(64);
                    bytes(&mut msg, &params);
                } else {
                    uint(&mut msg, f + k as u64);
                }
            }
            let cid = self.put(msg);
            lists[k % 2].push(cid);
        }
        let mut meta = vec![0x82];
        for list in &lists {
            let mut node = vec![];
            array(&mut node, list.len());
            for c in list {
                link(&mut node, c);
            }
            let cid = self.put(node);
            link(&mut meta, &cid);
        }
        let meta = self.put(meta);
        let receipts = self.put(vec![0x83, 0x00, 0x40, 0x00]);
        (meta, receipts)
    }

    fn header(
        &mut self,
        height: i64,
        parents: Vec<Cid>,
        state: Cid,
        (messages, receipts): (Cid, Cid),
    ) -> (Cid, BlockHeader) {
        let header = BlockHeader {
            miner: vec![0x00, 0xe8, 0x07],
            ticket: (height > 0).then(|| Ticket {
                vrf_proof: self.random_bytes(96),
            }),
            election_proof: (height > 0).then(|| ElectionProof {
                win_count: 1,
                vrf_proof: self.random_bytes(96),
            }),
            beacon_entries: vec![],
            win_post_proof: vec![],
            parents,
            parent_weight: vec![0x00, 0x10],
            height,
            parent_state_root: state,
            parent_message_receipts: receipts,
            messages,
            bls_aggregate: Some(Signature(vec![0x02])),
            timestamp: 1_600_000_000 + 30 * height as u64,
            block_sig: Some(Signature(vec![0x02])),
            fork_signaling: 0,
            parent_base_fee: vec![0x00, 0x64],
        };
        let cid = self.put(header.encode());
        (cid, header)
    }
}

fn root_of(levels: &[Vec<Cid>]) -> Cid {
    levels
        .last()
        .and_then(|l| l.first())
        .copied()
        .unwrap_or_else(|| unreachable!("a tree always has a root"))
}

fn identity_raw(data: &[u8]) -> Cid {
    identity(RAW, data)
}

fn identity(codec: u64, data: &[u8]) -> Cid {
    let mh = cid::multihash::Multihash::<64>::wrap(crate::ipld::IDENTITY, data)
        .unwrap_or_else(|_| unreachable!("short identity data fits"));
    Cid::new_v1(codec, mh)
}

fn uint(out: &mut Vec<u8>, v: u64) {
    header(out, 0, v);
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    header(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

fn array(out: &mut Vec<u8>, n: usize) {
    header(out, 4, n as u64);
}

fn link(out: &mut Vec<u8>, cid: &Cid) {
    let raw = cid.to_bytes();
    out.extend([0xd8, 0x2a]);
    header(out, 2, raw.len() as u64 + 1);
    out.push(0x00);
    out.extend_from_slice(&raw);
}
