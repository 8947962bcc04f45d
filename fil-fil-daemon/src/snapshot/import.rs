//! Snapshot import: streams every block of a CARv1/CARv2 file, plain or zstd
//! (Forest's framed form included), hash-verifying each, into a caller-supplied
//! sink. FRC-0108 metadata and the F3 blob are recognised and kept out of the
//! block stream. [`import_to_map`] loads into a fresh map and hands it over only
//! when the whole file was read, so a corrupt file leaves nothing half-loaded.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

use cid::Cid;

use super::{F3Blob, SnapshotMetadata, SNAPSHOT_VERSION_2};
use crate::car::{open_car, open_car_file, AnyCarReader, CarBlock, CarError, CarFormat};
use crate::chain::TipsetKey;

/// Error type a sink may return; it aborts the import.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// What an import read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Detected layout.
    pub format: CarFormat,
    /// CAR header roots.
    pub roots: Vec<Cid>,
    /// FRC-0108 metadata, for v2 snapshots.
    pub metadata: Option<SnapshotMetadata>,
    /// The F3 blob of a v2 snapshot, if it carries one.
    pub f3: Option<F3Blob>,
    /// Head tipset key: the metadata's, else the roots.
    pub head: TipsetKey,
    /// Blocks handed to the sink.
    pub blocks: u64,
    /// Their payload bytes.
    pub bytes: u64,
    /// Block count per multicodec.
    pub codecs: BTreeMap<u64, u64>,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not a readable, intact CAR (offset and CID in the message).
    #[error(transparent)]
    Car(#[from] CarError),
    /// The CAR header names no roots, so there is no head to import.
    #[error("CAR header has no roots")]
    NoRoots,
    /// Metadata announces an F3 blob that is not the next section.
    #[error("snapshot metadata names F3 blob {expected}, but the next section is {found}")]
    MissingF3 {
        /// CID the metadata names (boxed: keeps the error small).
        expected: Box<Cid>,
        /// What came instead: a CID, or "end of file".
        found: String,
    },
    /// The sink refused a block.
    #[error("storing block {cid} (byte {offset}): {source}")]
    Sink {
        /// The block.
        cid: Cid,
        /// Its section offset.
        offset: u64,
        /// The sink's error.
        #[source]
        source: SinkError,
    },
}

/// Imports the file at `path` into `sink`, one verified block at a time.
pub fn import_into(
    path: &Path,
    sink: impl FnMut(Cid, Vec<u8>) -> Result<(), SinkError>,
) -> Result<ImportSummary, ImportError> {
    let (format, reader) = open_car_file(path)?;
    drain(format, reader, sink)
}

/// [`import_into`] for a stream (Forest files are reported as plain zstd).
pub fn import_reader_into<R: BufRead + Send + 'static>(
    input: R,
    sink: impl FnMut(Cid, Vec<u8>) -> Result<(), SinkError>,
) -> Result<ImportSummary, ImportError> {
    let (format, reader) = open_car(input)?;
    drain(format, reader, sink)
}

/// Loads the whole file into a new map; on error the partial map is dropped.
pub fn import_to_map(path: &Path) -> Result<(HashMap<Cid, Vec<u8>>, ImportSummary), ImportError> {
    let mut map = HashMap::new();
    let summary = import_into(path, |cid, data| {
        map.insert(cid, data);
        Ok(())
    })?;
    Ok((map, summary))
}

fn drain(
    format: CarFormat,
    mut reader: AnyCarReader,
    mut sink: impl FnMut(Cid, Vec<u8>) -> Result<(), SinkError>,
) -> Result<ImportSummary, ImportError> {
    let roots = reader.header().roots.clone();
    if roots.is_empty() {
        return Err(ImportError::NoRoots);
    }
    let mut summary = ImportSummary {
        format,
        head: TipsetKey::new(roots.clone()),
        roots,
        metadata: None,
        f3: None,
        blocks: 0,
        bytes: 0,
        codecs: BTreeMap::new(),
    };
    let mut pending = None;
    if let [root] = summary.roots[..] {
        if let Some(first) = reader.next_block()? {
            match metadata_of(&first, &root) {
                Some(meta) => {
                    if let Some(expected) = meta.f3_data {
                        let blob = reader.next_block()?;
                        match blob {
                            Some(b) if b.cid == expected => {
                                summary.f3 = Some(F3Blob {
                                    cid: b.cid,
                                    data: b.data,
                                })
                            }
                            other => {
                                return Err(ImportError::MissingF3 {
                                    expected: Box::new(expected),
                                    found: other.map_or_else(
                                        || "end of file".into(),
                                        |b| b.cid.to_string(),
                                    ),
                                })
                            }
                        }
                    }
                    summary.head = TipsetKey::new(meta.head_tipset_key.clone());
                    summary.metadata = Some(meta);
                }
                None => pending = Some(first),
            }
        }
    }
    let mut put = |block: CarBlock, summary: &mut ImportSummary| -> Result<(), ImportError> {
        summary.blocks += 1;
        summary.bytes += block.data.len() as u64;
        *summary.codecs.entry(block.cid.codec()).or_default() += 1;
        let (cid, offset) = (block.cid, block.offset);
        sink(block.cid, block.data).map_err(|source| ImportError::Sink {
            cid,
            offset,
            source,
        })
    };
    if let Some(block) = pending {
        put(block, &mut summary)?;
    }
    while let Some(block) = reader.next_block()? {
        put(block, &mut summary)?;
    }
    Ok(summary)
}

/// The block's metadata if it is the single root and decodes as FRC-0108 v2.
fn metadata_of(block: &CarBlock, root: &Cid) -> Option<SnapshotMetadata> {
    if block.cid != *root {
        return None;
    }
    SnapshotMetadata::decode(&block.data).filter(|m| m.version == SNAPSHOT_VERSION_2)
}
