//! `fil-fil snapshot …`: offline tools over snapshot files (no daemon needed).

mod export;
mod inspect;
pub mod join;
pub mod split;
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
    /// Cut a CARv1 snapshot into sector-sized CAR parts with a manifest.
    Split(split::SplitArgs),
    /// Reassemble parts written by `split` into the original file.
    Join(join::JoinArgs),
}

/// Runs a `snapshot` subcommand.
pub fn run(command: SnapshotCommand) -> anyhow::Result<()> {
    match command {
        SnapshotCommand::Export(args) => args.run(),
        SnapshotCommand::Inspect(args) => args.run(),
        SnapshotCommand::Validate(args) => args.run(),
        SnapshotCommand::Split(args) => split::run(args),
        SnapshotCommand::Join(args) => join::run(args),
    }
}
