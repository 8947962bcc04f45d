//! The devnet's blockstore: every block the simulator ever produced, kept in memory.
//! It plays the Lotus node's hot store, so orphaned branches stay readable too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cid::Cid;
use parking_lot::RwLock;
use serde::Serialize;

use crate::ipld::{block_cid, BlockGet};

/// An append-only, thread-safe map from CID to block bytes.
#[derive(Debug, Default)]
pub struct MemStore {
    blocks: RwLock<hashbrown::HashMap<Cid, Arc<[u8]>, ahash::RandomState>>,
    bytes: AtomicU64,
}

/// A value could not be CBOR-encoded (only possible for malformed in-memory values).
#[derive(Debug, thiserror::Error)]
#[error("encoding block: {0}")]
pub struct EncodeError(String);

impl EncodeError {
    /// An encoding (or in-memory store) failure described by `reason`.
    pub fn new(reason: String) -> Self {
        Self(reason)
    }
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `data` under `cid`; returns whether it was new.
    pub fn insert(&self, cid: Cid, data: &[u8]) -> bool {
        let mut blocks = self.blocks.write();
        if blocks.contains_key(&cid) {
            return false;
        }
        self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        blocks.insert(cid, Arc::from(data));
        true
    }

    /// Stores already-shared blocks under one lock (an epoch's state commit);
    /// returns how many were new.
    pub fn extend(&self, new: impl IntoIterator<Item = (Cid, Arc<[u8]>)>) -> usize {
        let mut blocks = self.blocks.write();
        let mut added = 0;
        for (cid, data) in new {
            if let hashbrown::hash_map::Entry::Vacant(slot) = blocks.entry(cid) {
                self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                slot.insert(data);
                added += 1;
            }
        }
        added
    }

    /// CBOR-encodes `value`, stores it as a dag-cbor/blake2b block and returns its CID.
    pub fn put_cbor<T: Serialize>(&self, value: &T) -> Result<Cid, EncodeError> {
        let data = fvm_ipld_encoding::to_vec(value).map_err(|e| EncodeError(e.to_string()))?;
        let cid = block_cid(&data);
        self.insert(cid, &data);
        Ok(cid)
    }

    /// The bytes of `cid`, if held.
    pub fn get(&self, cid: &Cid) -> Option<Arc<[u8]>> {
        self.blocks.read().get(cid).cloned()
    }

    /// Whether `cid` is held.
    pub fn contains(&self, cid: &Cid) -> bool {
        self.blocks.read().contains_key(cid)
    }

    /// Number of blocks held.
    pub fn len(&self) -> usize {
        self.blocks.read().len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total payload bytes held.
    pub fn total_bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl fvm_ipld_blockstore::Blockstore for MemStore {
    fn get(&self, k: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(MemStore::get(self, k).map(|b| b.to_vec()))
    }

    fn put_keyed(&self, k: &Cid, block: &[u8]) -> anyhow::Result<()> {
        self.insert(*k, block);
        Ok(())
    }

    fn has(&self, k: &Cid) -> anyhow::Result<bool> {
        Ok(self.contains(k))
    }
}

impl BlockGet for MemStore {
    fn with_block<R>(&self, cid: &Cid, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let data = MemStore::get(self, cid)?;
        Some(f(&data))
    }
}
