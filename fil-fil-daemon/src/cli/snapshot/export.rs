//! `fil-fil snapshot export`: load snapshot files into memory and write the
//! snapshot Lotus would export at an epoch.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use cid::Cid;
use clap::{ArgAction, Args, ValueEnum};

use crate::chain::{tipset_at_or_below, tipset_height, TipsetKey};
use crate::snapshot::{
    export_to_path, import_into, Compression, ExportOptions, F3Blob, SnapshotFormat,
    DEFAULT_ZSTD_LEVEL,
};

/// Arguments of `snapshot export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Snapshot files to read; their blocks are combined. Repeat or list several.
    #[arg(long, required = true, num_args = 1..)]
    input: Vec<PathBuf>,
    /// Epoch of the exported head tipset.
    #[arg(long)]
    epoch: i64,
    /// Epochs of state roots (and, with --skip-old-msgs, messages) to keep.
    #[arg(long, default_value_t = 2000)]
    depth: i64,
    /// Drop messages older than the depth window (`true` or `false`).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    skip_old_msgs: bool,
    /// v1: roots are the head tipset; v2: FRC-0108 metadata root.
    #[arg(long, value_enum, default_value_t = FormatArg::V1)]
    format: FormatArg,
    /// Compress the output stream.
    #[arg(long, value_enum, default_value_t = CompressArg::None)]
    compress: CompressArg,
    /// zstd level when --compress zstd.
    #[arg(long, default_value_t = DEFAULT_ZSTD_LEVEL)]
    zstd_level: i32,
    /// F3 snapshot blob to embed (v2 only).
    #[arg(long)]
    f3: Option<PathBuf>,
    /// Output file; written to a temporary file beside it, then renamed.
    #[arg(long)]
    output: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    V1,
    V2,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CompressArg {
    None,
    Zstd,
}

impl ExportArgs {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let (store, heads) = load_inputs(&self.input)?;
        let chain_head = highest_head(&store, heads)?;
        let (head, height) = tipset_at_or_below(&store, &chain_head, self.epoch)
            .with_context(|| format!("finding the tipset at epoch {}", self.epoch))?;
        let f3 = match (&self.f3, self.format) {
            (None, _) => None,
            (Some(path), FormatArg::V2) => Some(F3Blob::new(
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            )),
            (Some(_), FormatArg::V1) => bail!("--f3 needs --format v2"),
        };
        let options = ExportOptions {
            depth: self.depth,
            skip_old_msgs: self.skip_old_msgs,
            format: match self.format {
                FormatArg::V1 => SnapshotFormat::V1,
                FormatArg::V2 => SnapshotFormat::V2,
            },
            compression: match self.compress {
                CompressArg::None => Compression::None,
                CompressArg::Zstd => Compression::Zstd {
                    level: self.zstd_level,
                },
            },
            f3,
        };
        let started = std::time::Instant::now();
        let summary = export_to_path(&store, &head, &options, &self.output, &mut |bytes| {
            tracing::debug!(bytes, "export progress");
        })
        .with_context(|| format!("exporting to {}", self.output.display()))?;
        println!(
            "exported {} blocks ({} CAR bytes) at height {} (epoch {}) to {} in {:.2?}",
            summary.blocks,
            summary.car_bytes,
            height,
            self.epoch,
            self.output.display(),
            started.elapsed()
        );
        Ok(())
    }
}

/// aHash: CIDs are already hashes; SipHash would slow loading and the walk.
type Store = HashMap<Cid, Vec<u8>, ahash::RandomState>;

/// Reads every input into one map; returns it with each input's head.
fn load_inputs(inputs: &[PathBuf]) -> anyhow::Result<(Store, Vec<TipsetKey>)> {
    let mut store = Store::default();
    let mut heads = Vec::new();
    for path in inputs {
        let summary = import_into(path, |cid, data| {
            store.insert(cid, data);
            Ok(())
        })
        .with_context(|| format!("reading {}", path.display()))?;
        tracing::info!(file = %path.display(), blocks = summary.blocks, format = %summary.format, "loaded");
        heads.push(summary.head);
    }
    Ok((store, heads))
}

/// The input head with the greatest height (the first one on ties).
fn highest_head(store: &Store, heads: Vec<TipsetKey>) -> anyhow::Result<TipsetKey> {
    let mut best: Option<(i64, TipsetKey)> = None;
    for head in heads {
        let height = tipset_height(store, &head).with_context(|| format!("loading head {head}"))?;
        if best.as_ref().is_none_or(|(h, _)| height > *h) {
            best = Some((height, head));
        }
    }
    best.map(|(_, head)| head).context("no input files")
}
