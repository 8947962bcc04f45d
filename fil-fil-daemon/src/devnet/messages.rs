//! Reading a tipset's messages back out of the store, in Lotus's
//! `MessagesForTipset` order: block by block, BLS then secp, first occurrence wins.

use std::collections::HashSet;
use std::sync::Arc;

use cid::Cid;
use fvm_ipld_amt::Amtv0;

use super::error::DevnetError;
use super::objects::{Message, MsgMeta, SignedMessage};
use super::store::MemStore;
use super::tipset::Tipset;

/// The tipset's unique messages: (chain CID, unsigned message). For secp messages
/// the CID is the signed message's, as Lotus reports it.
pub fn tipset_messages(
    store: &Arc<MemStore>,
    tipset: &Tipset,
) -> Result<Vec<(Cid, Message)>, DevnetError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for block in &tipset.blocks {
        let meta: MsgMeta = decode(store, &block.messages)?;
        for (root, signed) in [(meta.bls_messages, false), (meta.secpk_messages, true)] {
            let mut cids = Vec::new();
            Amtv0::<Cid, _>::load(&root, store.clone())?.for_each(|_, c| {
                cids.push(*c);
                Ok(())
            })?;
            for cid in cids {
                if !seen.insert(cid) {
                    continue;
                }
                let msg = if signed {
                    decode::<SignedMessage>(store, &cid)?.message
                } else {
                    decode::<Message>(store, &cid)?
                };
                out.push((cid, msg));
            }
        }
    }
    Ok(out)
}

fn decode<T: serde::de::DeserializeOwned>(store: &MemStore, cid: &Cid) -> Result<T, DevnetError> {
    let data = store
        .get(cid)
        .ok_or_else(|| DevnetError::Invalid(format!("object {cid} not in store")))?;
    fvm_ipld_encoding::from_slice(&data)
        .map_err(|e| DevnetError::Invalid(format!("object {cid}: {e}")))
}
