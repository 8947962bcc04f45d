//! Bootstrap's header prefetch: every tipset from genesis to the head asked for by
//! height (`ChainGetTipSetByHeight` anchored at the head, so all answers lie on
//! the head's chain), many calls in flight, instead of linking the header spine
//! parent by parent, which costs one round trip per epoch. The headers arrive
//! as JSON and are re-encoded; only those whose bytes hash to their CID seed the
//! link (the rest are fetched with `ChainReadObj` as usual).

use std::collections::HashMap;

use cid::Cid;
use futures::{StreamExt, TryStreamExt};

use super::entry::{entry_from_json, EntryError};
use crate::lotus::json::TipSetJson;
use crate::lotus::{LotusClient, RpcError};

/// Why the prefetch failed.
#[derive(Debug, thiserror::Error)]
pub enum PrefetchError {
    /// A call failed.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// A tipset's headers could not be read.
    #[error(transparent)]
    Entry(#[from] EntryError),
}

/// What the prefetch found.
#[derive(Debug, Default)]
pub struct Prefetched {
    /// Header bytes by CID, each checked against its CID.
    pub headers: HashMap<Cid, Vec<u8>>,
    /// Distinct tipsets seen (null rounds answer with the tipset before them).
    pub tipsets: usize,
}

/// Fetches the headers of every tipset of `head`'s chain, `concurrency` calls
/// in flight.
pub async fn prefetch_headers(
    client: &LotusClient,
    head: &TipSetJson,
    concurrency: usize,
) -> Result<Prefetched, PrefetchError> {
    let key = head.key();
    let mut found = Prefetched::default();
    entry_from_json(head, &mut found.headers)?;
    let mut seen = std::collections::HashSet::new();
    seen.insert(key.clone());
    let mut answers = futures::stream::iter(0..head.height)
        .map(|height| client.chain_get_tipset_by_height(height, &key))
        .buffer_unordered(concurrency.max(1))
        .map_err(PrefetchError::from);
    while let Some(tipset) = answers.try_next().await? {
        if seen.insert(tipset.key()) {
            entry_from_json(&tipset, &mut found.headers)?;
        }
    }
    found.tipsets = seen.len();
    Ok(found)
}
