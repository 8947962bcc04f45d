//! `fil-fil snapshot …`: offline tools over snapshot files.

mod export;
mod inspect;
mod validate;

use clap::Subcommand;

/// Snapshot file subcommands.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Re-export snapshot files at an epoch, exactly as `lotus chain export` would.
    Export(export::ExportArgs),
    /// Show a snapshot's format, roots, head height, block count and codecs.
    Inspect(inspect::InspectArgs),
    /// Check that every block the window rules require is present.
    Validate(validate::ValidateArgs),
}

impl SnapshotCommand {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Export(args) => args.run(),
            Self::Inspect(args) => args.run(),
            Self::Validate(args) => args.run(),
        }
    }
}
