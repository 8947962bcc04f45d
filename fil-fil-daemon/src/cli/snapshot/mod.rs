//! `fil-fil snapshot …`: commands that read or write chain snapshot files.

use clap::Subcommand;

pub mod join;
pub mod split;

/// Snapshot file operations.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Cut a CARv1 snapshot into sector-sized CAR parts with a manifest.
    Split(split::SplitArgs),
    /// Reassemble parts written by `split` into the original file.
    Join(join::JoinArgs),
}

/// Run a `snapshot` subcommand.
pub fn run(command: SnapshotCommand) -> anyhow::Result<()> {
    match command {
        SnapshotCommand::Split(args) => split::run(args),
        SnapshotCommand::Join(args) => join::run(args),
    }
}
