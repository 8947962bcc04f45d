//! Full dump: the Lotus export walk (`chain::SnapshotWalk`) over the devnet's store
//! with every message kept and depth = every epoch whose state the devnet holds
//! (all of them, except for a replayed CAR without old state), so it holds all
//! headers, messages and state roots up to an epoch in `lotus chain export` order.
//! Receipt DAGs, which Lotus exports never carry, follow at the end, so the dump
//! is everything the devnet holds for that chain.

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use super::error::DevnetError;
use super::node::Node;
use crate::car::CarWriter;
use crate::chain::{SnapshotWalk, SnapshotWindow, TipsetKey, WalkError};
use crate::ipld::{is_exported_codec, is_identity, scan_links, DAG_CBOR};
use cid::Cid;

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExportStats {
    /// Height of the root tipset.
    pub height: i64,
    /// Blocks written.
    pub blocks: u64,
    /// Bytes written, CAR framing included.
    pub bytes: u64,
    /// Referenced blocks the devnet does not hold (a replayed CAR without state).
    pub missing: u64,
}

/// Writes the dump of the chain at `epoch` (a null round takes the tipset before)
/// to `path`, through a temporary file renamed into place when complete.
pub fn export_car(node: &Node, epoch: i64, path: &Path) -> Result<ExportStats, DevnetError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::NamedTempFile::new_in(dir)?;
    let stats = export_to(node, epoch, BufWriter::new(tmp.as_file()))?;
    tmp.persist(path).map_err(|e| DevnetError::Io(e.error))?;
    Ok(stats)
}

/// Writes the dump of the chain at `epoch` to `out`.
pub fn export_to<W: Write>(node: &Node, epoch: i64, out: W) -> Result<ExportStats, DevnetError> {
    let (root, chain) = {
        let index = node.chain.read();
        let root = index
            .at_height(epoch, &index.head())
            .ok_or_else(|| DevnetError::Invalid(format!("no tipset at or below epoch {epoch}")))?;
        let chain: Vec<_> = index
            .canonical()
            .iter()
            .rev()
            .filter(|e| e.tipset.height <= root.tipset.height)
            .cloned()
            .collect();
        (root, chain)
    };
    let height = root.tipset.height;
    // States are walked for heights above the first one (from the top) the store lacks.
    let first_missing = chain.iter().find(|e| {
        e.tipset
            .blocks
            .iter()
            .any(|b| !node.store.contains(&b.parent_state_root))
    });
    let window = SnapshotWindow {
        head_height: height,
        depth: first_missing.map_or(height + 1, |e| height - e.tipset.height),
        skip_old_msgs: false,
    };
    let mut car = CarWriter::new(out, &root.tipset.cids)?;
    let store = &*node.store;
    let mut seen: HashSet<Cid> = HashSet::new();
    let mut walk = SnapshotWalk::new(store, TipsetKey::new(root.tipset.cids.clone()), window)
        .collect_missing();
    let mut write_err = None;
    let walked = walk.run(|cid, data| {
        seen.insert(*cid);
        car.write_block(cid, data).map_err(|e| {
            write_err = Some(e);
            WalkError::EmptyTipset
        })
    });
    if let Some(e) = write_err {
        return Err(e.into());
    }
    let walked = walked.map_err(|e| DevnetError::Invalid(format!("walking the chain: {e}")))?;
    let mut stats = ExportStats {
        height,
        blocks: walked.blocks,
        bytes: 0,
        missing: walk.missing().len() as u64,
    };
    for entry in &chain {
        for header in &entry.tipset.blocks {
            append_dag(
                node,
                header.parent_message_receipts,
                &mut seen,
                &mut car,
                &mut stats,
            )?;
        }
    }
    stats.bytes = car.bytes_written();
    car.finish()?;
    Ok(stats)
}

/// Appends the unseen blocks of the DAG at `root`, pre-order depth first.
fn append_dag<W: Write>(
    node: &Node,
    root: Cid,
    seen: &mut HashSet<Cid>,
    car: &mut CarWriter<W>,
    stats: &mut ExportStats,
) -> Result<(), DevnetError> {
    let mut stack = vec![root];
    while let Some(cid) = stack.pop() {
        if is_identity(&cid) || !is_exported_codec(cid.codec()) || !seen.insert(cid) {
            continue;
        }
        let Some(data) = node.store.get(&cid) else {
            stats.missing += 1;
            continue;
        };
        car.write_block(&cid, &data)?;
        stats.blocks += 1;
        if cid.codec() == DAG_CBOR {
            let mut links = Vec::new();
            scan_links(&data, |c| links.push(c))
                .map_err(|e| DevnetError::Invalid(format!("block {cid}: {e}")))?;
            stack.extend(links.into_iter().rev());
        }
    }
    Ok(())
}
