//! Command-line front end: one file per subcommand, `anyhow` errors at this edge.

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

#[derive(Debug, Subcommand)]
enum Command {
    /// Compute piece commitments (PieceCID v1 and v2) of files.
    Commp(commp::CommpArgs),
    /// Work with chain snapshot files.
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
