//! The simulated node: blockstore, chain index and producer behind locks, plus the
//! operations tests and the RPC admin namespace drive (mine, reorg, faults).
//! Production runs without the chain lock held, so readers never wait on mining.

use std::collections::HashSet;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use cid::Cid;
use fvm_ipld_amt::Amtv0;
use parking_lot::{Mutex, RwLock};

use super::config::DevnetConfig;
use super::error::DevnetError;
use super::index::ChainIndex;
use super::objects::bigint_value;
use super::producer::Producer;
use super::store::MemStore;
use super::tipset::{Executed, Tipset};
use crate::car::CarReader;
use crate::chain::BlockHeader;
use crate::ipld::verify_block;

/// Faults the RPC layer injects on request.
#[derive(Debug, Default)]
pub struct Faults {
    /// `ChainReadObj` answers these CIDs with altered bytes.
    pub corrupt: RwLock<HashSet<Cid>>,
}

/// The simulated Lotus node.
#[derive(Debug)]
pub struct Node {
    /// Every block ever produced or loaded.
    pub store: Arc<MemStore>,
    /// Tipsets, canonical chain, subscriptions.
    pub chain: RwLock<ChainIndex>,
    /// Injected faults.
    pub faults: Faults,
    /// The configuration the node was built with.
    pub config: DevnetConfig,
    producer: Mutex<Producer>,
}

impl Node {
    /// Builds the node: replays `from_car`, or starts from `genesis` or a synthetic
    /// genesis, then mines `prefill_epochs`.
    pub fn build(config: DevnetConfig) -> Result<Self, DevnetError> {
        let store = Arc::new(MemStore::new());
        let mut producer = Producer::new(store.clone(), config.clone());
        let chain = if let Some(path) = &config.from_car {
            replay(&store, path, &mut producer)?
        } else if let Some(path) = &config.genesis {
            let roots = load_car(&store, path)?;
            let root = roots
                .first()
                .ok_or_else(|| DevnetError::Invalid("genesis CAR has no root".into()))?;
            let data = store
                .get(root)
                .ok_or_else(|| DevnetError::Invalid(format!("genesis root {root} not in CAR")))?;
            ChainIndex::new(producer.genesis_from_header(BlockHeader::decode(&data)?)?)
        } else {
            ChainIndex::new(producer.synthetic_genesis()?)
        };
        let node = Self {
            store,
            chain: RwLock::new(chain),
            faults: Faults::default(),
            producer: Mutex::new(producer),
            config,
        };
        node.mine(node.config.prefill_epochs)?;
        Ok(node)
    }

    /// The current head.
    pub fn head(&self) -> Arc<Executed> {
        self.chain.read().head()
    }

    /// Mines `n` tipsets (null rounds drawn in between); each is announced alone.
    pub fn mine(&self, n: u64) -> Result<(), DevnetError> {
        let mut producer = self.producer.lock();
        for _ in 0..n {
            let head = self.head();
            let gap = producer.draw_epoch_gap();
            let next = producer.produce(&head, head.tipset.height + gap, false)?;
            self.chain.write().extend(next);
        }
        Ok(())
    }

    /// Reverts the top `depth` tipsets and applies a heavier branch covering the
    /// same epochs (no null rounds), announced as one revert/apply batch.
    pub fn reorg(&self, depth: usize) -> Result<(), DevnetError> {
        let mut producer = self.producer.lock();
        let (fork, old_height) = {
            let chain = self.chain.read();
            if depth == 0 || depth >= chain.len() {
                return Err(DevnetError::Invalid(format!(
                    "cannot revert {depth} of {} tipsets (genesis stays)",
                    chain.len()
                )));
            }
            let canonical = chain.canonical();
            (
                canonical[canonical.len() - 1 - depth].clone(),
                chain.head().tipset.height,
            )
        };
        let mut branch: Vec<Executed> = Vec::new();
        for height in fork.tipset.height + 1..=old_height {
            let parent = branch.last().map_or(&*fork, |e| e);
            let next = producer.produce(parent, height, true)?;
            branch.push(next);
        }
        self.chain.write().reorg(depth, branch);
        Ok(())
    }

    /// One automatic step: a reorg with the configured probability, else one tipset.
    pub fn step(&self) -> Result<(), DevnetError> {
        let (reorg, depth) = {
            let mut producer = self.producer.lock();
            let reorg = producer.draw_reorg();
            (
                reorg,
                producer.draw_reorg_depth(self.config.max_reorg_depth),
            )
        };
        let can_reorg = self.chain.read().len() > depth;
        if reorg && can_reorg {
            self.reorg(depth)
        } else {
            self.mine(1)
        }
    }

    /// Block bytes for `ChainReadObj`, altered when the CID is marked corrupt.
    pub fn read_obj(&self, cid: &Cid) -> Option<Vec<u8>> {
        let mut data = if let Some(inline) = crate::ipld::identity_data(cid) {
            inline.to_vec()
        } else {
            self.store.get(cid)?.to_vec()
        };
        if self.faults.corrupt.read().contains(cid) {
            match data.last_mut() {
                Some(b) => *b ^= 0xff,
                None => data.push(0),
            }
        }
        Some(data)
    }

    /// Marks `cid` to be served with wrong bytes.
    pub fn corrupt(&self, cid: Cid) {
        self.faults.corrupt.write().insert(cid);
    }

    /// `ChainNotify` channels still open (a cancelled one is gone).
    pub fn open_channels(&self) -> usize {
        self.chain.read().open_subscriptions()
    }

    /// Closes every `ChainNotify` channel as Lotus does for a slow reader.
    pub fn close_channels(&self) -> usize {
        self.chain.write().close_subscriptions()
    }
}

/// Loads every block of a CAR into `store` (hash-verified), returning its roots.
pub fn load_car(store: &MemStore, path: &Path) -> Result<Vec<Cid>, DevnetError> {
    let file = std::fs::File::open(path)?;
    let reader = CarReader::new(BufReader::new(file))?;
    let roots = reader.header().roots.clone();
    for block in reader {
        let block = block?;
        store.insert(block.cid, &block.data);
    }
    Ok(roots)
}

/// Rebuilds the canonical chain of a CAR from its roots down to genesis.
fn replay(
    store: &Arc<MemStore>,
    path: &Path,
    producer: &mut Producer,
) -> Result<ChainIndex, DevnetError> {
    let roots = load_car(store, path)?;
    let header = |cid: &Cid| -> Result<BlockHeader, DevnetError> {
        let data = store
            .get(cid)
            .ok_or_else(|| DevnetError::Invalid(format!("header {cid} missing from CAR")))?;
        verify_block(cid, &data).map_err(|e| DevnetError::Invalid(e.to_string()))?;
        Ok(BlockHeader::decode(&data)?)
    };
    let mut tipsets: Vec<Tipset> = Vec::new();
    let mut key = roots;
    loop {
        let blocks = key.iter().map(header).collect::<Result<Vec<_>, _>>()?;
        // Keep the key's own order: it is the order the node announced.
        let height = blocks.first().map(|b| b.height).unwrap_or(0);
        let parents = blocks
            .first()
            .map(|b| b.parents.clone())
            .unwrap_or_default();
        tipsets.push(Tipset {
            cids: key,
            blocks,
            height,
        });
        if height == 0 {
            break;
        }
        key = parents;
    }
    tipsets.reverse();
    let empty_receipts = Amtv0::<Cid, _>::new(store.clone()).flush()?;
    let genesis_state = producer.adopt_state(tipsets[0].blocks[0].parent_state_root)?;
    let mut chain = Vec::with_capacity(tipsets.len());
    for (i, ts) in tipsets.iter().enumerate() {
        // What the chain says this tipset produced, read off its child; the head's
        // child does not exist yet, so mining on a replay continues from the genesis
        // state (the only state a plain export is sure to hold).
        let child = tipsets.get(i + 1).and_then(|c| c.blocks.first());
        let (state_after, receipts_after, weight) = match child {
            Some(c) => (
                c.parent_state_root,
                c.parent_message_receipts,
                bigint_value(&c.parent_weight).unwrap_or(0),
            ),
            None => {
                let parent_weight = ts
                    .blocks
                    .first()
                    .map(|b| &b.parent_weight[..])
                    .unwrap_or(&[]);
                (
                    genesis_state,
                    empty_receipts,
                    bigint_value(parent_weight).unwrap_or(0) + 1,
                )
            }
        };
        chain.push(Executed {
            tipset: Arc::new(ts.clone()),
            state_after,
            receipts_after,
            weight,
        });
    }
    ChainIndex::from_chain(chain).ok_or_else(|| DevnetError::Invalid("empty chain".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(seed: u64) -> DevnetConfig {
        DevnetConfig {
            seed,
            churn_objects: 30,
            ..DevnetConfig::default()
        }
    }

    fn head_key(node: &Node) -> Vec<Cid> {
        node.head().tipset.cids.clone()
    }

    #[test]
    fn same_seed_same_chain_and_reorg_replaces_top() {
        let a = Node::build(small(7)).expect("build");
        let b = Node::build(small(7)).expect("build");
        a.mine(12).expect("mine");
        b.mine(12).expect("mine");
        assert_eq!(head_key(&a), head_key(&b));
        assert_eq!(a.store.len(), b.store.len());
        let before = a.head();
        a.reorg(3).expect("reorg");
        let after = a.head();
        assert_eq!(after.tipset.height, before.tipset.height);
        assert_ne!(after.tipset.cids, before.tipset.cids);
        assert!(after.weight > before.weight);
        let path = a
            .chain
            .read()
            .path(&before.tipset.cids, &after.tipset.cids)
            .expect("path");
        let reverts = path
            .iter()
            .filter(|c| c.kind == super::super::ChangeKind::Revert)
            .count();
        assert_eq!(reverts, 3);
        let c = Node::build(small(8)).expect("build");
        c.mine(12).expect("mine");
        assert_ne!(head_key(&c), head_key(&b));
    }

    #[test]
    fn headers_are_well_formed_and_sorted() {
        let node = Node::build(small(1)).expect("build");
        node.mine(20).expect("mine");
        let chain = node.chain.read();
        for pair in chain.canonical().windows(2) {
            let (parent, child) = (&pair[0], &pair[1]);
            for b in &child.tipset.blocks {
                assert_eq!(b.parents, parent.tipset.cids);
                assert_eq!(b.parent_state_root, parent.state_after);
                assert!(node.store.contains(&b.cid()));
                assert!(node.store.contains(&b.messages));
                assert!(node.store.contains(&b.parent_state_root));
                assert!(node.store.contains(&b.parent_message_receipts));
            }
            assert_eq!(
                Tipset::new(child.tipset.blocks.clone()).cids,
                child.tipset.cids
            );
        }
    }

    #[test]
    fn starts_from_mainnet_genesis() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/mainnet-genesis.car"
        );
        let cfg = DevnetConfig {
            genesis: Some(path.into()),
            ..small(3)
        };
        let node = Node::build(cfg).expect("build");
        let genesis = node.chain.read().genesis();
        assert_eq!(genesis.tipset.height, 0);
        node.mine(3).expect("mine on top of mainnet genesis");
        assert!(node.head().tipset.height >= 3);
    }

    #[test]
    fn replays_a_car_chain() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/export40.car"
        );
        let cfg = DevnetConfig {
            from_car: Some(path.into()),
            ..small(3)
        };
        let node = Node::build(cfg).expect("build");
        assert_eq!(node.head().tipset.height, 39);
        assert_eq!(node.chain.read().genesis().tipset.height, 0);
        node.mine(2).expect("mine on a replay");
    }
}
