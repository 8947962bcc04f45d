//! Full dump: everything the canonical chain up to an epoch references, as CARv1
//! rooted at that tipset. Headers are walked newest first; after each header come
//! its messages, receipts and parent state, depth first, each block once. The
//! result is a complete offline copy (depth = chain length, all messages).

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::Path;

use cid::Cid;
use serde::Serialize;

use super::error::DevnetError;
use super::node::Node;
use crate::car::CarWriter;
use crate::ipld::{is_exported_codec, is_identity, scan_links, RAW};

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
        let head = index.head();
        let root = index
            .at_height(epoch, &head)
            .ok_or_else(|| DevnetError::Invalid(format!("no tipset at or below epoch {epoch}")))?;
        let chain: Vec<_> = index
            .canonical()
            .iter()
            .filter(|e| e.tipset.height <= root.tipset.height)
            .rev()
            .cloned()
            .collect();
        (root, chain)
    };
    let mut car = CarWriter::new(out, &root.tipset.cids)?;
    let mut seen: HashSet<Cid> = HashSet::new();
    let mut stats = ExportStats {
        height: root.tipset.height,
        blocks: 0,
        bytes: 0,
        missing: 0,
    };
    for entry in chain {
        for (cid, header) in entry.tipset.cids.iter().zip(&entry.tipset.blocks) {
            let mut objects = vec![
                header.messages,
                header.parent_message_receipts,
                header.parent_state_root,
            ];
            if header.height == 0 {
                objects.extend(header.parents.iter().copied());
            }
            walk(node, *cid, false, &mut seen, &mut car, &mut stats)?;
            for object in objects {
                walk(node, object, true, &mut seen, &mut car, &mut stats)?;
            }
        }
    }
    stats.bytes = car.bytes_written();
    car.finish()?;
    Ok(stats)
}

/// Writes `root` and (when `follow`) everything it links to, depth first.
fn walk<W: Write>(
    node: &Node,
    root: Cid,
    follow: bool,
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
        if follow && cid.codec() != RAW {
            let mut links = Vec::new();
            scan_links(&data, |c| links.push(c))
                .map_err(|e| DevnetError::Invalid(format!("block {cid}: {e}")))?;
            stack.extend(links.into_iter().rev());
        }
    }
    Ok(())
}
