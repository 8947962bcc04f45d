//! `split`: cut a CARv1 into parts of at most one sector's unpadded piece size.
//!
//! One pass over the input: each section goes to the current part (and to that
//! part's SHA-256 and commP hashers) unless it would overflow the limit, in which
//! case the part is sealed and a new one starts with the same header. Greedy
//! cutting is what makes the result deterministic.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::manifest::{Manifest, PartEntry, MANIFEST_FILE};
use super::raw::{AtomicFile, CarFile};
use super::{part_file_name, PartsError};
use crate::chain::BlockHeader;
use crate::commp::{unpadded_size, CommpHasher, CommpOptions};

/// Sector sizes a part can be cut for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectorSize {
    /// 32 GiB sectors.
    S32GiB,
    /// 64 GiB sectors.
    S64GiB,
}

impl SectorSize {
    /// Sector size in bytes (the padded piece size it holds).
    pub fn bytes(self) -> u64 {
        match self {
            Self::S32GiB => 32 << 30,
            Self::S64GiB => 64 << 30,
        }
    }

    /// Largest payload one piece of this sector can carry.
    pub fn max_payload(self) -> u64 {
        unpadded_size(self.bytes())
    }
}

/// How to split.
#[derive(Debug, Clone)]
pub struct SplitOptions {
    /// Target sector size.
    pub sector_size: SectorSize,
    /// Smaller part limit (tests, small deals); defaults to the sector's maximum.
    pub max_part_size: Option<u64>,
    /// State-root depth to record in the manifest, if the caller knows it.
    pub depth: Option<u64>,
    /// Hashing options for the parts' piece commitments.
    pub commp: CommpOptions,
}

/// The part being written, with its running digests.
struct OpenPart {
    file: AtomicFile,
    name: String,
    sha: Sha256,
    commp: CommpHasher,
    size: u64,
    source_offset: u64,
    blocks: u64,
}

impl OpenPart {
    fn create(
        dir: &Path,
        index: usize,
        car: &CarFile,
        opts: &SplitOptions,
        at: u64,
    ) -> Result<Self, PartsError> {
        let name = part_file_name(index);
        let mut part = Self {
            file: AtomicFile::create(&dir.join(&name))?,
            name,
            sha: Sha256::new(),
            commp: CommpHasher::new(opts.commp)?,
            size: 0,
            source_offset: at,
            blocks: 0,
        };
        part.write(&car.raw_header)?;
        Ok(part)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), PartsError> {
        self.file.write_all(bytes)?;
        self.sha.update(bytes);
        self.commp.update(bytes);
        self.size += bytes.len() as u64;
        Ok(())
    }

    fn seal(self) -> Result<PartEntry, PartsError> {
        self.file.commit()?;
        let piece = self.commp.finish()?;
        tracing::info!(part = %self.name, size = self.size, piece_cid = %piece.cid_v1(), "part written");
        Ok(PartEntry {
            file: self.name,
            size: self.size,
            sha256: hex::encode(self.sha.finalize()),
            piece_cid_v1: piece.cid_v1().to_string(),
            padded_size: piece.padded_size,
            piece_cid_v2: piece.cid_v2().to_string(),
            source_offset: self.source_offset,
            blocks: self.blocks,
        })
    }
}

/// Split `input` into parts plus `manifest.json` in `out_dir` (created if missing).
pub fn split(input: &Path, out_dir: &Path, opts: &SplitOptions) -> Result<Manifest, PartsError> {
    let sector_limit = opts.sector_size.max_payload();
    let limit = opts.max_part_size.unwrap_or(sector_limit);
    if limit > sector_limit {
        return Err(PartsError::PartSizeTooLarge {
            requested: limit,
            limit: sector_limit,
        });
    }
    let mut car = CarFile::open(input)?;
    std::fs::create_dir_all(out_dir).map_err(|error| PartsError::Io {
        path: out_dir.to_path_buf(),
        what: "creating output directory",
        error,
    })?;
    let roots = car.reader.header().roots.clone();
    let header_len = car.raw_header.len() as u64;
    let mut whole = Sha256::new();
    whole.update(&car.raw_header);
    let mut total = header_len;
    let mut head_epoch = None;
    let mut parts = Vec::new();
    let mut open: Option<OpenPart> = None;
    let mut section = Vec::new();

    while let Some(block) = car.next_section(&mut section)? {
        let len = section.len() as u64;
        whole.update(&section);
        total += len;
        if head_epoch.is_none() && roots.contains(&block.cid) {
            head_epoch = BlockHeader::decode(&block.data).ok().map(|h| h.height);
        }
        if header_len + len > limit {
            return Err(PartsError::BlockTooLarge {
                path: input.to_path_buf(),
                cid: block.cid.to_string(),
                offset: block.offset,
                needed: header_len + len,
                limit,
            });
        }
        if open.as_ref().is_some_and(|p| p.size + len > limit) {
            if let Some(done) = open.take() {
                parts.push(done.seal()?);
            }
        }
        let part = match &mut open {
            Some(part) => part,
            None => open.insert(OpenPart::create(
                out_dir,
                parts.len(),
                &car,
                opts,
                block.offset,
            )?),
        };
        part.write(&section)?;
        part.blocks += 1;
    }
    // A CAR without blocks still becomes one (header-only) part, so join restores it.
    if open.is_none() && parts.is_empty() {
        open = Some(OpenPart::create(out_dir, 0, &car, opts, header_len)?);
    }
    if let Some(done) = open.take() {
        parts.push(done.seal()?);
    }

    let manifest = Manifest {
        format: "carv1".to_string(),
        head_epoch,
        tipset_key: roots.iter().map(ToString::to_string).collect(),
        depth: opts.depth,
        total_size: total,
        sha256: hex::encode(whole.finalize()),
        sector_size: opts.sector_size.bytes(),
        max_part_size: limit,
        parts,
    };
    let mut file = AtomicFile::create(&out_dir.join(MANIFEST_FILE))?;
    file.write_all(manifest.to_json().as_bytes())?;
    file.commit()?;
    Ok(manifest)
}
