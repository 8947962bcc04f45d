//! `fil-fil take-snapshot`: asks the running daemon for a snapshot and writes it,
//! streamed over the control API, hashed as it is written.

use std::path::PathBuf;

use clap::Args;

use super::repo_args::RepoArgs;
use super::snapshot_sink::write_stream;
use crate::daemon::control::{Compress, Format, SnapshotRequest};

/// Write a snapshot from the running daemon's in-memory window.
///
/// The bytes equal `lotus chain export --tipset @EPOCH --recent-stateroots DEPTH
/// [--skip-old-msgs]` on a node with the same chain. EPOCH must be inside the
/// daemon's window (or a pinned scheduled epoch); a null-round epoch exports the
/// tipset below it. Prints the file, head tipset, size and sha256.
#[derive(Debug, Args)]
pub struct TakeSnapshotArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Epoch to export [default: the daemon's head].
    #[arg(long)]
    epoch: Option<i64>,
    /// Recent state roots to include [default: the daemon's --depth].
    #[arg(long)]
    depth: Option<i64>,
    /// Leave out messages older than the depth [default: the daemon's setting].
    #[arg(long, action = clap::ArgAction::Set)]
    skip_old_msgs: Option<bool>,
    /// CAR layout: v1 (Lotus) or v2 (FRC-0108).
    #[arg(long, value_enum, default_value_t = Format::V1)]
    format: Format,
    /// Compression of the file.
    #[arg(long, value_enum, default_value_t = Compress::None)]
    compress: Compress,
    /// Output file (written to a temp file beside it, then renamed).
    #[arg(long)]
    output: PathBuf,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Runs the command.
pub async fn run(args: TakeSnapshotArgs) -> anyhow::Result<()> {
    let client = args.repo.client()?;
    let request = SnapshotRequest {
        epoch: args.epoch,
        depth: args.depth,
        skip_old_msgs: args.skip_old_msgs,
        format: args.format,
        compress: args.compress,
    };
    let (head, response) = client.snapshot(&request).await?;
    let written = write_stream(response.bytes_stream().boxed(), &args.output, !args.quiet).await?;
    println!("file:   {}", args.output.display());
    println!("head:   {} (height {})", head_key(&head.key), head.height);
    println!(
        "depth:  {} (skip-old-msgs {})",
        head.depth, head.skip_old_msgs
    );
    println!("size:   {} bytes", written.size);
    println!("sha256: {}", written.sha256);
    Ok(())
}

use futures::StreamExt;

/// A tipset key as Lotus prints it: `{cid,cid}`.
pub fn head_key(key: &[crate::lotus::json::CidJson]) -> String {
    let cids: Vec<String> = key.iter().map(|c| c.0.to_string()).collect();
    format!("{{{}}}", cids.join(","))
}
