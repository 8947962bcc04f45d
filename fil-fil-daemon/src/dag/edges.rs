//! Which CIDs a stored block holds references to. Link and unlink both call
//! [`push_edges`], so freeing a block always releases exactly what linking it took.
//!
//! A block that names the same child twice holds two references (one per edge,
//! like cbor-gen's scan reports them), which keeps counting local: no per-block
//! dedup set is needed on either path.

use cid::Cid;

use super::key::LinkKind;
use crate::ipld::{
    identity_data, is_exported_codec, is_identity, scan_links_at, CborScanError, DAG_CBOR,
};

/// Identity CIDs nest inline; bound the nesting so hostile input cannot recurse
/// without limit.
const MAX_IDENTITY_DEPTH: usize = 8;

/// Chooses the outgoing edges of blocks linked as [`LinkKind::Spine`]. The daemon
/// supplies one that decodes block headers and returns their `parents`; keeping
/// the choice outside the store keeps `dag` below `chain` in the layering.
pub trait EdgeSelector: Send + Sync {
    /// Appends the CIDs `data` (the block `cid`) links to along the spine. Blocks
    /// reached on the spine that are not headers (the genesis dummy parent) should
    /// yield no edges rather than an error.
    fn edges(&self, cid: &Cid, data: &[u8], out: &mut Vec<Cid>) -> Result<(), String>;
}

impl<F> EdgeSelector for F
where
    F: Fn(&Cid, &[u8], &mut Vec<Cid>) -> Result<(), String> + Send + Sync,
{
    fn edges(&self, cid: &Cid, data: &[u8], out: &mut Vec<Cid>) -> Result<(), String> {
        self(cid, data, out)
    }
}

/// Why a block's edges could not be determined.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EdgeError {
    /// A dag-cbor block (or inline identity block) did not scan.
    #[error(transparent)]
    Scan(#[from] CborScanError),
    /// Identity CIDs nested deeper than the store accepts.
    #[error("identity CIDs nested deeper than {MAX_IDENTITY_DEPTH}")]
    IdentityTooDeep,
    /// The spine selector rejected the block.
    #[error("spine edge selector: {0}")]
    Selector(String),
    /// A spine link was requested but the store has no spine selector.
    #[error("no spine edge selector configured")]
    NoSelector,
}

/// Appends the stored (non-identity) children of `cid` with the kind they are
/// linked as. Identity children are never stored: a dag-cbor one is looked through
/// and its own links become edges of `cid`.
///
/// Returns whether the block gets a child-id list (see [`ChildIds`]): a dag-cbor
/// [`LinkKind::Dag`] block whose edges are exactly its links of exported codecs
/// and non-identity hashes, in order, i.e. one that looks through no identity
/// dag-cbor block.
///
/// [`ChildIds`]: crate::ipld::ChildIds
pub(crate) fn push_edges(
    cid: &Cid,
    kind: LinkKind,
    data: &[u8],
    spine: Option<&dyn EdgeSelector>,
    out: &mut Vec<(Cid, LinkKind)>,
) -> Result<bool, EdgeError> {
    push_edges_at(cid, kind, data, spine, out, None)
}

/// [`push_edges`], also filling `offsets` (cleared first) with where each edge's
/// CID sits in `data` when the block gets a list: what the list stores beside
/// each id.
pub(crate) fn push_edges_at(
    cid: &Cid,
    kind: LinkKind,
    data: &[u8],
    spine: Option<&dyn EdgeSelector>,
    out: &mut Vec<(Cid, LinkKind)>,
    offsets: Option<&mut Vec<usize>>,
) -> Result<bool, EdgeError> {
    match kind {
        LinkKind::Dag => {
            let mut flat = cid.codec() == DAG_CBOR;
            let mut at = offsets;
            if let Some(offsets) = at.as_deref_mut() {
                offsets.clear();
            }
            push_dag_edges(cid, data, out, 0, &mut flat, &mut at)?;
            if !flat {
                if let Some(offsets) = at {
                    offsets.clear();
                }
            }
            Ok(flat)
        }
        LinkKind::Spine => {
            let selector = spine.ok_or(EdgeError::NoSelector)?;
            let mut children = Vec::new();
            selector
                .edges(cid, data, &mut children)
                .map_err(EdgeError::Selector)?;
            out.extend(
                children
                    .into_iter()
                    .filter(|c| !is_identity(c))
                    .map(|c| (c, LinkKind::Spine)),
            );
            Ok(false)
        }
    }
}

/// Expands a root the same way: identity roots are looked through as [`LinkKind::Dag`].
pub(crate) fn push_root(
    cid: &Cid,
    kind: LinkKind,
    out: &mut Vec<(Cid, LinkKind)>,
) -> Result<(), EdgeError> {
    match identity_data(cid) {
        Some(inline) => push_dag_edges(cid, inline, out, 1, &mut false, &mut None),
        None => {
            out.push((*cid, kind));
            Ok(())
        }
    }
}

fn push_dag_edges(
    cid: &Cid,
    data: &[u8],
    out: &mut Vec<(Cid, LinkKind)>,
    depth: usize,
    flat: &mut bool,
    offsets: &mut Option<&mut Vec<usize>>,
) -> Result<(), EdgeError> {
    if cid.codec() != DAG_CBOR {
        return Ok(());
    }
    let mut links = Vec::new();
    scan_links_at(data, |c, at| links.push((c, at)))?;
    for (link, at) in links {
        if let Some(inline) = identity_data(&link) {
            if depth >= MAX_IDENTITY_DEPTH {
                return Err(EdgeError::IdentityTooDeep);
            }
            if link.codec() == DAG_CBOR {
                *flat = false;
            }
            push_dag_edges(&link, inline, out, depth + 1, flat, &mut None)?;
        } else if is_exported_codec(link.codec()) {
            out.push((link, LinkKind::Dag));
            if let Some(offsets) = offsets.as_deref_mut() {
                offsets.push(at);
            }
        }
    }
    Ok(())
}
