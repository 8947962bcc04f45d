//! Writing a streamed snapshot to disk: into a temp file beside the target,
//! hashing (SHA-256) as the bytes arrive, with a progress bar (bytes, rate), then
//! synced and renamed into place. A stream error leaves nothing behind.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// File size.
    pub size: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// Streams `body` into `path`.
pub async fn write_stream<E: std::fmt::Display>(
    mut body: impl Stream<Item = Result<Bytes, E>> + Unpin,
    path: &Path,
    show_progress: bool,
) -> anyhow::Result<Written> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".fil-fil-snapshot-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let mut out = std::io::BufWriter::with_capacity(4 << 20, tmp);
    let mut hasher = Sha256::new();
    let bar = if show_progress {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {bytes} written ({binary_bytes_per_sec}) {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| anyhow::anyhow!("snapshot stream failed: {e}"))?;
        hasher.update(&chunk);
        out.write_all(&chunk).context("writing the snapshot")?;
        size += chunk.len() as u64;
        bar.set_position(size);
    }
    bar.finish_and_clear();
    let tmp = out
        .into_inner()
        .map_err(|e| e.into_error())
        .context("flushing")?;
    tmp.as_file().sync_all().context("syncing the snapshot")?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(Written {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}
