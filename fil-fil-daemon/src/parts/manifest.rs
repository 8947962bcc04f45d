//! `manifest.json`: what `split` wrote and what `join` checks against.
//!
//! Field order is fixed by the struct definitions and nothing depends on time or
//! paths, so the same input always serialises to the same bytes.

use serde::{Deserialize, Serialize};

/// File name of the manifest inside the output directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The whole snapshot and its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Container format of the original (`"carv1"`).
    pub format: String,
    /// Epoch of the head tipset, if its header block is in the file.
    pub head_epoch: Option<i64>,
    /// Head tipset key: the CAR roots, as CID strings.
    pub tipset_key: Vec<String>,
    /// State-root depth the snapshot was exported with, when known.
    pub depth: Option<u64>,
    /// Size of the original file in bytes.
    pub total_size: u64,
    /// SHA-256 of the original file, hex.
    pub sha256: String,
    /// Sector size the parts were cut for.
    pub sector_size: u64,
    /// Largest size a part was allowed to have.
    pub max_part_size: u64,
    /// Parts in join order.
    pub parts: Vec<PartEntry>,
}

/// One part file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    /// File name, relative to the manifest's directory.
    pub file: String,
    /// Part size in bytes (its piece payload size).
    pub size: u64,
    /// SHA-256 of the part, hex.
    pub sha256: String,
    /// PieceCID v1 of the part.
    pub piece_cid_v1: String,
    /// Padded piece size belonging to the v1 CID.
    pub padded_size: u64,
    /// PieceCID v2 (FRC-0069) of the part.
    pub piece_cid_v2: String,
    /// Offset in the original file of the part's first block section.
    pub source_offset: u64,
    /// Number of block sections in the part.
    pub blocks: u64,
}

impl Manifest {
    /// Canonical JSON text (pretty, trailing newline).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| unreachable!("manifest always serialises: {e}"));
        text.push('\n');
        text
    }
}
