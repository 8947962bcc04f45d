//! Turning tipsets into window entries: from the JSON a node sends (with the
//! header bytes re-encoded so they can seed the link without a round trip) or by
//! walking parents through headers already held.

use std::collections::HashMap;

use cid::Cid;

use super::window::{BlockRoots, TipsetEntry};
use crate::chain::BlockHeader;
use crate::ipld::BlockGet;
use crate::lotus::json::{CidJson, TipSetJson};

/// A tipset could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// A header is not held / not valid.
    #[error("header {cid}: {reason}")]
    Header {
        /// The header.
        cid: Cid,
        /// Why.
        reason: String,
    },
    /// The tipset has no blocks.
    #[error("empty tipset at {0}")]
    Empty(i64),
}

/// Builds the entry for decoded headers (in key order).
pub fn entry_from_headers(key: &[Cid], headers: &[BlockHeader]) -> Result<TipsetEntry, EntryError> {
    let first = headers.first().ok_or(EntryError::Empty(-1))?;
    Ok(TipsetEntry {
        key: key.iter().copied().map(CidJson).collect(),
        parents: first.parents.iter().copied().map(CidJson).collect(),
        height: first.height,
        blocks: key
            .iter()
            .zip(headers)
            .map(|(cid, h)| BlockRoots {
                header: CidJson(*cid),
                messages: CidJson(h.messages),
                state: CidJson(h.parent_state_root),
            })
            .collect(),
    })
}

/// The entry of a tipset from node JSON, plus the header bytes whose re-encoding
/// matched their CID (so the store can take them without asking the node).
pub fn entry_from_json(
    ts: &TipSetJson,
    seeds: &mut HashMap<Cid, Vec<u8>>,
) -> Result<TipsetEntry, EntryError> {
    let key = ts.key();
    if key.is_empty() {
        return Err(EntryError::Empty(ts.height));
    }
    let mut headers = Vec::with_capacity(ts.blocks.len());
    for (cid, json) in key.iter().zip(&ts.blocks) {
        let header = BlockHeader::try_from(json.clone()).map_err(|e| EntryError::Header {
            cid: *cid,
            reason: e.to_string(),
        })?;
        let bytes = header.encode();
        if crate::ipld::verify_block(cid, &bytes).is_ok() {
            seeds.insert(*cid, bytes);
        }
        headers.push(header);
    }
    entry_from_headers(&key, &headers)
}

/// Decodes the headers of `key` from `store`.
pub fn entry_from_store<S: BlockGet + ?Sized>(
    store: &S,
    key: &[Cid],
) -> Result<TipsetEntry, EntryError> {
    let mut headers = Vec::with_capacity(key.len());
    for cid in key {
        let decoded = store
            .with_block(cid, BlockHeader::decode)
            .ok_or_else(|| EntryError::Header {
                cid: *cid,
                reason: "not held".into(),
            })?
            .map_err(|e| EntryError::Header {
                cid: *cid,
                reason: e.to_string(),
            })?;
        headers.push(decoded);
    }
    entry_from_headers(key, &headers)
}

/// The chain from genesis up to `head`, oldest first, read from held headers.
pub fn chain_from_store<S: BlockGet + ?Sized>(
    store: &S,
    head: &[Cid],
) -> Result<Vec<TipsetEntry>, EntryError> {
    let mut chain = Vec::new();
    let mut key = head.to_vec();
    loop {
        let entry = entry_from_store(store, &key)?;
        let done = entry.height == 0;
        key = entry.parent_cids();
        chain.push(entry);
        if done {
            break;
        }
    }
    chain.reverse();
    Ok(chain)
}
