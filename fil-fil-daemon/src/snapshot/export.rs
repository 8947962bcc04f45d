//! Snapshot export: the Lotus walk over any [`BlockGet`], written as CARv1
//! (byte-identical to `lotus chain export`), as FRC-0108 v2 (metadata root block
//! first, optional F3 blob), and optionally zstd-compressed. Files are written to
//! a temporary file beside the target and renamed into place only when complete.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use cid::Cid;

use super::metadata::{f3_blob_cid, SnapshotMetadata};
use super::pipe::with_pipe;
use super::writeback::WritebackFile;
use crate::car::CarWriter;
use crate::chain::{tipset_height, Emitted, SnapshotWalk, SnapshotWindow, TipsetKey, WalkError};
use crate::ipld::BlockGet;

/// zstd level for `--compress zstd`: level 3 (zstd's default) compresses chain
/// data to roughly a third at several hundred MB/s per core, so compression never
/// dominates an export; higher levels cost far more time for a few percent.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// zstd worker threads: one already takes compression off the walk's thread.
const ZSTD_WORKERS: u32 = 1;

/// Buffer in front of the zstd encoder.
const ZSTD_BUFFER: usize = 1 << 20;

/// How often (in CAR bytes) the progress callback fires.
const PROGRESS_STEP: u64 = 8 << 20;
/// Blocks between checks of the bytes written (a chunk holds tens of thousands).
const PROGRESS_CHECK: u64 = 1 << 12;

/// CAR layout of the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotFormat {
    /// Roots are the head tipset's CIDs (classic Lotus export).
    #[default]
    V1,
    /// FRC-0108: one root, the metadata block, written first.
    V2,
}

/// Compression applied to the CAR stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Plain CAR.
    #[default]
    None,
    /// A zstd stream at the given level.
    Zstd {
        /// zstd compression level.
        level: i32,
    },
}

/// An F3 snapshot blob to embed in a v2 snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct F3Blob {
    /// Its CID (raw, blake2b-256 of `data`).
    pub cid: Cid,
    /// The blob.
    pub data: Vec<u8>,
}

impl F3Blob {
    /// Wraps blob bytes, computing their CID.
    pub fn new(data: Vec<u8>) -> Self {
        Self {
            cid: f3_blob_cid(&data),
            data,
        }
    }
}

/// What to export, besides the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// `--recent-stateroots`.
    pub depth: i64,
    /// `--skip-old-msgs`.
    pub skip_old_msgs: bool,
    /// v1 or v2 layout.
    pub format: SnapshotFormat,
    /// Compression of the output stream.
    pub compression: Compression,
    /// F3 blob for v2 snapshots (ignored for v1).
    pub f3: Option<F3Blob>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            depth: 2000,
            skip_old_msgs: true,
            format: SnapshotFormat::V1,
            compression: Compression::None,
            f3: None,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// CAR header roots.
    pub roots: Vec<Cid>,
    /// Height of the exported head tipset.
    pub head_height: i64,
    /// Blocks written (metadata and F3 sections included).
    pub blocks: u64,
    /// Uncompressed CAR bytes written.
    pub car_bytes: u64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The walk hit a missing or malformed block.
    #[error(transparent)]
    Walk(#[from] WalkError),
    /// Writing the output failed.
    #[error("writing snapshot: {0}")]
    Io(#[from] io::Error),
    /// The output file could not be created or put in place.
    #[error("snapshot file {path}: {source}")]
    File {
        /// Target path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
}

/// Exports the snapshot headed by `head` (a tipset key in tipset order) into
/// `out`. `progress` receives the running count of CAR bytes, every few MiB and
/// once at the end. Returns the writer, flushed, with the summary. The bytes are
/// written to `out` from a second thread while the walk goes on (see `pipe`).
pub fn export<S, W>(
    store: &S,
    head: &TipsetKey,
    options: &ExportOptions,
    out: W,
    progress: &mut dyn FnMut(u64),
) -> Result<(W, ExportSummary), ExportError>
where
    S: BlockGet + ?Sized,
    W: Write + Send,
{
    let head_height = tipset_height(store, head)?;
    let window = SnapshotWindow {
        head_height,
        depth: options.depth,
        skip_old_msgs: options.skip_old_msgs,
    };
    let compression = options.compression;
    let open = move |out: W| Sink::new(out, compression);
    let (out, (roots, blocks), car_bytes) =
        with_pipe(out, store.graph(), open, Sink::finish, |pipe| {
            let defer = pipe.can_defer();
            let (roots, mut car) = match options.format {
                SnapshotFormat::V1 => {
                    let roots = head.cids().to_vec();
                    let car = CarWriter::new(pipe, &roots)?;
                    (roots, car)
                }
                SnapshotFormat::V2 => {
                    let f3 = options.f3.as_ref();
                    let meta = SnapshotMetadata::v2(head.cids().to_vec(), f3.map(|b| b.cid));
                    let meta_bytes = meta.encode();
                    let roots = vec![meta.cid()];
                    let mut car = CarWriter::new(pipe, &roots)?;
                    car.write_block(&roots[0], &meta_bytes)?;
                    if let Some(blob) = f3 {
                        car.write_block(&blob.cid, &blob.data)?;
                    }
                    (roots, car)
                }
            };
            let mut blocks = u64::from(options.format == SnapshotFormat::V2)
                + u64::from(options.format == SnapshotFormat::V2 && options.f3.is_some());
            let mut next_report = PROGRESS_STEP;
            SnapshotWalk::new(store, head.clone(), window).run_with_ids(
                |cid, block| -> Result<(), ExportError> {
                    match block {
                        // The writer thread writes the section from the store.
                        Emitted::Id { id, len } if defer => {
                            car.get_mut().defer_section(cid, id, len)?
                        }
                        Emitted::Id { .. } => return Err(io::Error::other(NO_GRAPH).into()),
                        Emitted::Bytes(data) => car.get_mut().write_section(cid, data)?,
                    }
                    blocks += 1;
                    // Bytes the writer thread has written: exact, a few chunks
                    // behind the walk. Checked every few thousand blocks, as it
                    // only moves a chunk at a time.
                    if blocks % PROGRESS_CHECK == 0 {
                        let written = car.get_ref().written();
                        if written >= next_report {
                            progress(written);
                            next_report = written + PROGRESS_STEP;
                        }
                    }
                    Ok(())
                },
            )?;
            Ok::<_, ExportError>(((roots, blocks), car.finish()?))
        })?;
    progress(car_bytes);
    let summary = ExportSummary {
        roots,
        head_height,
        blocks,
        car_bytes,
    };
    Ok((out, summary))
}

/// A walk handed a block by id although the store offers no id graph.
const NO_GRAPH: &str = "export walk handed a block by id, but the store has no id graph";

/// [`export`] into `path`: written to a temporary file in the same directory
/// (its pages sent to the disk as it grows, see [`WritebackFile`]), synced, then
/// renamed over `path`. On any error nothing is left behind.
pub fn export_to_path<S: BlockGet + ?Sized>(
    store: &S,
    head: &TipsetKey,
    options: &ExportOptions,
    path: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, ExportError> {
    let file_err = |source| ExportError::File {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".fil-fil-export-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(file_err)?;
    let file = tmp.as_file().try_clone().map_err(file_err)?;
    let started = std::time::Instant::now();
    let (file, summary) = export(store, head, options, WritebackFile::new(file), progress)?;
    let written = started.elapsed();
    file.sync().map_err(file_err)?;
    // Shows whether the disk kept up: the sync waits only for what is left.
    tracing::debug!(
        export_ms = written.as_millis(),
        sync_ms = (started.elapsed() - written).as_millis(),
        "export file synced"
    );
    tmp.persist(path).map_err(|e| file_err(e.error))?;
    Ok(summary)
}

/// The byte sink on the pipe's writer thread: the output itself or a zstd
/// stream into it.
enum Sink<W: Write> {
    Plain(W),
    /// Buffered in front: the pipe's writes would each cost a zstd call
    /// otherwise.
    Zstd(BufWriter<zstd::Encoder<'static, W>>),
}

impl<W: Write> Sink<W> {
    fn new(out: W, compression: Compression) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Self::Plain(out),
            Compression::Zstd { level } => {
                let mut encoder = zstd::Encoder::new(out, level)?;
                // Compress on a worker thread so it overlaps the assembly of
                // the next chunk; the output is one ordinary frame.
                encoder.multithread(ZSTD_WORKERS)?;
                Self::Zstd(BufWriter::with_capacity(ZSTD_BUFFER, encoder))
            }
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Self::Plain(out) => Ok(out),
            Self::Zstd(buffered) => buffered.into_inner().map_err(|e| e.into_error())?.finish(),
        }
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(w) => w.write(buf),
            Self::Zstd(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(w) => w.write_all(buf),
            Self::Zstd(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(w) => w.flush(),
            Self::Zstd(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::import_reader_into;
    use crate::snapshot::synthetic::{generate, SyntheticConfig};

    fn chain() -> crate::snapshot::synthetic::SyntheticChain {
        generate(&SyntheticConfig {
            epochs: 12,
            actors: 100,
            churn: 3,
            messages_per_block: 2,
            seed: 3,
        })
    }

    #[test]
    fn progress_ends_with_the_byte_count() {
        let c = chain();
        let mut reports = vec![];
        let (bytes, summary) = export(
            &c.blocks,
            &c.head,
            &ExportOptions::default(),
            Vec::new(),
            &mut |n| reports.push(n),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reports.last(), Some(&(bytes.len() as u64)));
        assert_eq!(summary.car_bytes, bytes.len() as u64);
        assert!(reports.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn v2_carries_metadata_then_f3_blob() {
        let c = chain();
        let blob = F3Blob::new(b"f3 snapshot bytes".to_vec());
        let options = ExportOptions {
            format: SnapshotFormat::V2,
            f3: Some(blob.clone()),
            ..ExportOptions::default()
        };
        let (bytes, summary) = export(&c.blocks, &c.head, &options, Vec::new(), &mut |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        let (v1, v1_summary) = export(
            &c.blocks,
            &c.head,
            &ExportOptions::default(),
            Vec::new(),
            &mut |_| {},
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(summary.blocks, v1_summary.blocks + 2);
        // After the header and the two leading sections, v2 is the v1 body.
        let v1_header_len = crate::car::CarReader::new(&v1[..])
            .unwrap_or_else(|e| panic!("{e}"))
            .offset() as usize;
        assert!(bytes.ends_with(&v1[v1_header_len..]));
        let imported = import_reader_into(std::io::Cursor::new(bytes), |_, _| Ok(()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(imported.f3, Some(blob));
        assert_eq!(imported.head, c.head);
        assert_eq!(imported.blocks, v1_summary.blocks);
    }
}
