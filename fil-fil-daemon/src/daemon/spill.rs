//! `--import` without holding the snapshot in memory. One pass reads the file (any
//! layout the importer takes: CARv1/v2, zstd, Forest), hash-checks every block,
//! appends its bytes to an anonymous spill file next to the repo and indexes it
//! by the last 8 bytes of its digest (24 bytes per block, sorted, with a
//! directory on the top bits). The window's links then read blocks back with
//! positioned reads, so memory holds the index, not the payload; the page cache,
//! which the kernel can drop, holds the rest. The spill file disappears when
//! the source is dropped (it is unlinked from the start).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use cid::Cid;

use crate::dag::{BlockSource, SourceError};
use crate::ipld::verify_block;
use crate::snapshot::{import_into, ImportError, ImportSummary};

/// Bits of the index key used for the directory (65,536 buckets).
const DIRECTORY_BITS: u32 = 16;

/// Why the spill could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    /// The snapshot file.
    #[error("import {path}: {source}")]
    Import {
        /// File.
        path: PathBuf,
        /// What was wrong with it (boxed: keeps the error small).
        #[source]
        source: Box<ImportError>,
    },
    /// The spill file.
    #[error("spill file in {dir}: {source}")]
    Io {
        /// Directory of the spill file.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u64,
    offset: u64,
    len: u32,
}

/// Blocks of an imported snapshot, on disk, indexed in memory.
#[derive(Debug)]
pub struct SpilledBlocks {
    file: File,
    entries: Vec<Entry>,
    /// `directory[b]..directory[b + 1]` are the entries whose key's top bits are `b`.
    directory: Vec<u32>,
}

fn key_of(cid: &Cid) -> u64 {
    let digest = cid.hash().digest();
    let mut tail = [0u8; 8];
    let n = digest.len().min(8);
    tail[..n].copy_from_slice(&digest[digest.len() - n..]);
    u64::from_le_bytes(tail)
}

impl SpilledBlocks {
    /// Reads `path` into a spill file created in `dir`.
    pub fn build(path: &Path, dir: &Path) -> Result<(SpilledBlocks, ImportSummary), SpillError> {
        let io = |source| SpillError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = tempfile::tempfile_in(dir).map_err(io)?;
        let mut out = BufWriter::with_capacity(4 << 20, file.try_clone().map_err(io)?);
        let mut entries = Vec::new();
        let mut offset = 0u64;
        let summary = import_into(path, |cid, data| {
            let len = u32::try_from(data.len())
                .map_err(|_| format!("block {cid} is larger than 4 GiB"))?;
            out.write_all(&data)?;
            entries.push(Entry {
                key: key_of(&cid),
                offset,
                len,
            });
            offset += u64::from(len);
            Ok(())
        })
        .map_err(|source| SpillError::Import {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        out.flush().map_err(io)?;
        drop(out);
        entries.sort_unstable_by_key(|e| e.key);
        entries.shrink_to_fit();
        let directory = directory_of(&entries);
        Ok((
            SpilledBlocks {
                file,
                entries,
                directory,
            },
            summary,
        ))
    }

    /// Blocks indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the snapshot had no blocks.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The block `cid`, if the snapshot had it. Several blocks may share a key;
    /// the one whose bytes hash to `cid` is returned.
    pub fn get(&self, cid: &Cid) -> std::io::Result<Option<Vec<u8>>> {
        let key = key_of(cid);
        let bucket = (key >> (64 - DIRECTORY_BITS)) as usize;
        let (start, end) = (
            self.directory[bucket] as usize,
            self.directory[bucket + 1] as usize,
        );
        let slice = &self.entries[start..end];
        let first = slice.partition_point(|e| e.key < key);
        for entry in slice[first..].iter().take_while(|e| e.key == key) {
            let mut data = vec![0u8; entry.len as usize];
            self.file.read_exact_at(&mut data, entry.offset)?;
            if verify_block(cid, &data).is_ok() {
                return Ok(Some(data));
            }
        }
        Ok(None)
    }
}

fn directory_of(entries: &[Entry]) -> Vec<u32> {
    let buckets = 1usize << DIRECTORY_BITS;
    let mut directory = Vec::with_capacity(buckets + 1);
    let mut i = 0usize;
    for bucket in 0..buckets {
        directory.push(i as u32);
        while i < entries.len() && (entries[i].key >> (64 - DIRECTORY_BITS)) as usize == bucket {
            i += 1;
        }
    }
    directory.push(i as u32);
    directory
}

#[async_trait]
impl BlockSource for SpilledBlocks {
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        // Page-cache reads of a few hundred small blocks: cheaper inline than a
        // hop to the blocking pool.
        cids.iter()
            .map(|cid| self.get(cid).map_err(SourceError::new))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_block_of_a_fixture_reads_back() {
        let fixture = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/chain4.car.zst"
        ));
        let dir = tempfile::tempdir().unwrap();
        let (spilled, summary) = SpilledBlocks::build(fixture, dir.path()).unwrap();
        assert_eq!(spilled.len() as u64, summary.blocks);
        let (map, _) = crate::snapshot::import_to_map(fixture).unwrap();
        for (cid, data) in &map {
            assert_eq!(spilled.get(cid).unwrap().as_ref(), Some(data), "{cid}");
        }
        let absent = crate::ipld::block_cid(b"not a block of any fixture");
        assert_eq!(spilled.get(&absent).unwrap(), None);
    }
}
