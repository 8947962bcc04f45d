//! `fil-fil commp FILE...`: piece commitments of files or standard input.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::commp::{CommpHasher, CommpOptions, PieceCommitment};

/// Files at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// Compute Filecoin piece commitments (commP) and print both PieceCID forms.
///
/// Streams each file with bounded memory and hashes on all cores. Payloads are
/// zero-padded to the next power-of-two piece, exactly as deal making does.
#[derive(Debug, Args)]
pub struct CommpArgs {
    /// Files to commit to; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print a JSON array (file, payload_size, padded_size, piece_cid_v1, piece_cid_v2).
    #[arg(long)]
    json: bool,
    /// Hashing threads; 0 uses every core.
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
}

/// Run `fil-fil commp`.
pub fn run(args: CommpArgs) -> anyhow::Result<()> {
    let options = CommpOptions::with_threads(args.threads);
    let mut rows = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let started = Instant::now();
        let c = commp_path(path, options)
            .with_context(|| format!("computing commP of {}", path.display()))?;
        tracing::debug!(file = %path.display(), elapsed = ?started.elapsed(), "commP done");
        if args.json {
            rows.push(json_row(path, &c));
        } else {
            println!("{}", path.display());
            println!("  payload size:  {}", c.payload_size);
            println!("  padded size:   {}", c.padded_size);
            println!("  piece CID v1:  {}", c.cid_v1());
            println!("  piece CID v2:  {}", c.cid_v2());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    }
    Ok(())
}

fn json_row(path: &Path, c: &PieceCommitment) -> serde_json::Value {
    serde_json::json!({
        "file": path.display().to_string(),
        "payload_size": c.payload_size,
        "padded_size": c.padded_size,
        "piece_cid_v1": c.cid_v1().to_string(),
        "piece_cid_v2": c.cid_v2().to_string(),
    })
}

fn commp_path(path: &Path, options: CommpOptions) -> anyhow::Result<PieceCommitment> {
    if path == Path::new("-") {
        return hash_stream(std::io::stdin(), None, options);
    }
    let file = File::open(path).context("opening file")?;
    let meta = file.metadata().context("reading file metadata")?;
    anyhow::ensure!(!meta.is_dir(), "is a directory");
    // Size is only a hint for the progress bar; pipes and devices report 0.
    let len = meta.is_file().then_some(meta.len());
    hash_stream(file, len, options)
}

fn hash_stream<R: Read + Send>(
    reader: R,
    len: Option<u64>,
    options: CommpOptions,
) -> anyhow::Result<PieceCommitment> {
    let bar = match len {
        Some(n) if n >= PROGRESS_MIN_BYTES => {
            let bar = ProgressBar::new(n);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        Some(_) => ProgressBar::hidden(),
        None => {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}")
            {
                bar.set_style(style);
            }
            bar
        }
    };
    let mut hasher = CommpHasher::new(options)?;
    hasher.update_from_reader(reader, |done| bar.set_position(done))?;
    bar.finish_and_clear();
    Ok(hasher.finish()?)
}
