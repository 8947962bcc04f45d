//! `fil-fil snapshot join`: reassemble parts into the original snapshot.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::parts::join;

/// Reassemble the parts written by `snapshot split` into the original file.
///
/// Reads DIR/manifest.json, checks every part is a CAR with the same header and
/// the recorded size and SHA-256, strips the repeated headers, and verifies the
/// joined file's SHA-256 before renaming it into place.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// Directory holding manifest.json and the part files.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Where to write the joined snapshot.
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

/// Run `fil-fil snapshot join`.
pub fn run(args: JoinArgs) -> anyhow::Result<()> {
    let manifest = join(&args.dir, &args.output)
        .with_context(|| format!("joining parts in {}", args.dir.display()))?;
    println!(
        "{}: {} bytes from {} parts, sha256 {}",
        args.output.display(),
        manifest.total_size,
        manifest.parts.len(),
        manifest.sha256
    );
    Ok(())
}
