//! `fil-fil snapshot split`: cut a CARv1 snapshot into sector-sized CAR parts.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::commp::CommpOptions;
use crate::parts::{split, SectorSize, SplitOptions};

/// Sector size names accepted on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum SectorArg {
    /// 32 GiB sectors: parts of at most 34,091,302,912 bytes.
    #[value(name = "32GiB")]
    S32,
    /// 64 GiB sectors: parts of at most 68,182,605,824 bytes.
    #[value(name = "64GiB")]
    S64,
}

/// Cut a CARv1 snapshot into parts that each fit one sector deal.
///
/// Every part is a valid CARv1 with the original header (roots); cuts fall only
/// between blocks. Writes part-NNNN.car files and a deterministic manifest.json
/// (sizes, SHA-256s, PieceCIDs v1/v2, head epoch, tipset key) to the output directory.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// CARv1 snapshot to split.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Sector size the parts must fit.
    #[arg(long, value_enum)]
    sector_size: SectorArg,
    /// Directory for the parts and manifest.json (created if missing).
    #[arg(long, value_name = "DIR")]
    output_dir: PathBuf,
    /// Smaller per-part limit in bytes (header included); at most the sector's maximum.
    #[arg(long, value_name = "BYTES")]
    max_part_size: Option<u64>,
    /// State-root depth the snapshot was exported with, recorded in the manifest.
    #[arg(long, value_name = "EPOCHS")]
    depth: Option<u64>,
    /// Hashing threads for piece commitments; 0 uses every core.
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
}

/// Run `fil-fil snapshot split`.
pub fn run(args: SplitArgs) -> anyhow::Result<()> {
    let opts = SplitOptions {
        sector_size: match args.sector_size {
            SectorArg::S32 => SectorSize::S32GiB,
            SectorArg::S64 => SectorSize::S64GiB,
        },
        max_part_size: args.max_part_size,
        depth: args.depth,
        commp: CommpOptions::with_threads(args.threads),
    };
    // Library errors already name the file involved.
    let manifest = split(&args.file, &args.output_dir, &opts).context("snapshot split failed")?;
    for part in &manifest.parts {
        println!("{}  {} bytes  {}", part.file, part.size, part.piece_cid_v1);
    }
    println!(
        "{} parts, {} bytes, manifest in {}",
        manifest.parts.len(),
        manifest.total_size,
        args.output_dir.join(crate::parts::MANIFEST_FILE).display()
    );
    Ok(())
}
