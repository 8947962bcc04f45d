//! `fil-fil snapshot …`: offline tools over snapshot files.

mod export;
mod inspect;
mod validate;

use clap::Subcommand;

/// Snapshot file subcommands.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Re-export snapshot files at an epoch, exactly as `lotus chain export` would.
    ///
    /// Loads one or more snapshot files (CARv1/CARv2, plain, zstd or Forest
    /// .forest.car.zst; the format is detected from the bytes) into memory, finds the
    /// tipset at EPOCH (or the last tipset before it when EPOCH is a null round) on the
    /// chain of the highest input head, and writes the snapshot `lotus chain export
    /// --tipset @EPOCH --recent-stateroots DEPTH [--skip-old-msgs]` would write, byte for
    /// byte for v1 output.
    Export(export::ExportArgs),
    /// Show a snapshot's format, roots, head height, block count and codecs.
    ///
    /// Reads a snapshot file (any supported CAR layout, detected from its bytes), verifies
    /// every block's hash and prints its format, CAR roots, head tipset and height, block
    /// and byte counts and blocks per codec. Exits non-zero on a corrupt file, naming the
    /// byte offset and CID.
    Inspect(inspect::InspectArgs),
    /// Check that every block the window rules require is present.
    ///
    /// Loads a snapshot file (every block hash-verified) and walks it from its head exactly
    /// as an export would: all headers back to genesis, messages and parent state for
    /// heights above head - DEPTH, genesis state. Lists every required block the file lacks
    /// and exits non-zero if there is any.
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
