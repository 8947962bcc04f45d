//! `fil-fil snapshot validate`: load a snapshot and run the export walk over it,
//! reporting every block the window rules require that the file lacks.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{ArgAction, Args};

use crate::chain::{tipset_height, SnapshotWalk, SnapshotWindow, WalkError};
use crate::snapshot::import_to_map;

/// How many missing blocks are listed before summarising.
const LIST_LIMIT: usize = 20;

/// Arguments of `snapshot validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Snapshot file.
    file: PathBuf,
    /// Epochs of state roots the file should carry below its head.
    #[arg(long, default_value_t = 2000)]
    depth: i64,
    /// Require messages only inside the depth window (`true`) or for all heights.
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    skip_old_msgs: bool,
}

impl ValidateArgs {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let (store, summary) = import_to_map(&self.file)
            .with_context(|| format!("reading {}", self.file.display()))?;
        let head_height = tipset_height(&store, &summary.head)
            .with_context(|| format!("loading head {}", summary.head))?;
        let window = SnapshotWindow {
            head_height,
            depth: self.depth,
            skip_old_msgs: self.skip_old_msgs,
        };
        let mut walk = SnapshotWalk::new(&store, summary.head.clone(), window).collect_missing();
        let stats = walk.run(|_, _| Ok::<(), WalkError>(()))?;
        let missing = walk.missing();
        let extra = summary.blocks.saturating_sub(stats.blocks);
        if missing.is_empty() {
            println!(
                "ok: {} required blocks present (head height {head_height}, depth {}); {extra} blocks in the file are not required",
                stats.blocks, self.depth
            );
            return Ok(());
        }
        for m in missing.iter().take(LIST_LIMIT) {
            println!("{m}");
        }
        if missing.len() > LIST_LIMIT {
            println!("… and {} more", missing.len() - LIST_LIMIT);
        }
        bail!(
            "{} required blocks missing (head height {head_height}, depth {})",
            missing.len(),
            self.depth
        )
    }
}
