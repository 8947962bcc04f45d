//! Command-line front end: one file per subcommand, `anyhow` errors at this edge.

mod daemon;
mod devnet;
mod lotus_info;
mod node_args;
mod pins;
mod repo_args;
mod snapshot_sink;
mod status;
mod take_snapshot;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod commp;
pub mod snapshot;

/// fil-fil: fast, Lotus-identical Filecoin chain snapshots.
#[derive(Debug, Parser)]
#[command(name = "fil-fil", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up, so variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run a Lotus-compatible chain simulator (or export its chain as a CAR).
    Devnet(devnet::DevnetArgs),
    /// Follow a Lotus node (or the built-in devnet) and keep the snapshot window in memory.
    Daemon(daemon::DaemonArgs),
    /// Write a snapshot from the running daemon (streamed, hashed, progress bar).
    TakeSnapshot(take_snapshot::TakeSnapshotArgs),
    /// Show the running daemon's head, lag, window, memory and pins.
    Status(status::StatusArgs),
    /// List or release the daemon's scheduled-snapshot pins.
    Pins(pins::PinsArgs),
    /// Check the connection to a Lotus node: network name and head.
    LotusInfo(lotus_info::LotusInfoArgs),
    /// Compute piece commitments (PieceCID v1 and v2) of files.
    Commp(commp::CommpArgs),
    /// Work with snapshot files offline (no daemon needed).
    #[command(subcommand)]
    Snapshot(snapshot::SnapshotCommand),
}

/// Entry point used by the binary; sets up tracing (honouring `RUST_LOG`) and runs the command.
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Devnet(args) => block_on(devnet::run(args)),
        Command::Daemon(args) => block_on(daemon::run(args)),
        Command::TakeSnapshot(args) => block_on(take_snapshot::run(args)),
        Command::Status(args) => block_on(status::run(args)),
        Command::Pins(args) => block_on(pins::run(args)),
        Command::LotusInfo(args) => block_on(lotus_info::run(args)),
        Command::Commp(args) => commp::run(args),
        Command::Snapshot(cmd) => snapshot::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an async command on a fresh multi-threaded runtime (sync commands skip it).
fn block_on<T>(future: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(future)
}
