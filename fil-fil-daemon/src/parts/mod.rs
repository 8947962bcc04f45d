//! Sector-sized snapshot parts: cutting a CARv1 snapshot into pieces that each fit
//! one sector deal, and joining them back byte for byte.
//!
//! Every part is itself a valid CARv1 carrying the original header, so each can be
//! stored, retrieved and inspected alone; cuts fall only between sections and are
//! chosen greedily, which makes the output (and its `manifest.json`) a pure
//! function of the input bytes and the part size limit.

mod error;
mod join;
mod manifest;
mod raw;
mod split;

pub use error::PartsError;
pub use join::join;
pub use manifest::{Manifest, PartEntry, MANIFEST_FILE};
pub use split::{split, SectorSize, SplitOptions};

/// File name of part `index` (0-based); zero-padded so names sort in order.
pub fn part_file_name(index: usize) -> String {
    format!("part-{:04}.car", index + 1)
}
