//! Byte-exact CAR plumbing shared by split and join: opening a CARv1 with its
//! original header bytes, re-framing sections, and files that only appear under
//! their final name once complete.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::car::{write_uvarint, CarBlock, CarReader};

use super::PartsError;

/// Read buffer for CAR inputs: large enough that syscalls never dominate.
const READ_BUF: usize = 1 << 20;

/// An opened CARv1 file: its reader (positioned after the header) and the exact
/// header bytes (length varint included) that every part repeats.
#[derive(Debug)]
pub(crate) struct CarFile {
    pub(crate) path: PathBuf,
    pub(crate) reader: CarReader<BufReader<File>>,
    pub(crate) raw_header: Vec<u8>,
}

impl CarFile {
    /// Open `path`, rejecting empty files, non-CAR bytes and CAR versions other than 1.
    pub(crate) fn open(path: &Path) -> Result<Self, PartsError> {
        let io = |what| {
            move |error| PartsError::Io {
                path: path.to_path_buf(),
                what,
                error,
            }
        };
        let file = File::open(path).map_err(io("opening"))?;
        let meta = file.metadata().map_err(io("reading metadata"))?;
        if meta.is_dir() {
            return Err(PartsError::Io {
                path: path.to_path_buf(),
                what: "opening",
                error: std::io::Error::other("is a directory"),
            });
        }
        if meta.len() == 0 {
            return Err(PartsError::Empty {
                path: path.to_path_buf(),
            });
        }
        let reader = CarReader::new(BufReader::with_capacity(READ_BUF, file)).map_err(|error| {
            PartsError::NotCar {
                path: path.to_path_buf(),
                error: Box::new(error),
            }
        })?;
        if reader.header().version != 1 {
            return Err(PartsError::UnsupportedVersion {
                path: path.to_path_buf(),
                version: reader.header().version,
            });
        }
        // The reader decoded the header; re-read its bytes verbatim so parts repeat
        // exactly what the original had, whatever encoder wrote it.
        let mut raw_header = vec![0u8; reader.offset() as usize];
        File::open(path)
            .and_then(|mut f| f.read_exact(&mut raw_header))
            .map_err(io("re-reading header"))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            raw_header,
        })
    }

    /// Next block with its section re-framed into `section` (length varint, CID,
    /// data); `None` at the end of the file.
    pub(crate) fn next_section(
        &mut self,
        section: &mut Vec<u8>,
    ) -> Result<Option<CarBlock>, PartsError> {
        let block = self
            .reader
            .next_block()
            .map_err(|error| PartsError::NotCar {
                path: self.path.clone(),
                error: Box::new(error),
            })?;
        let Some(block) = block else {
            return Ok(None);
        };
        section.clear();
        let body = block.cid.encoded_len() + block.data.len();
        // Writing to a Vec cannot fail.
        let _ = write_uvarint(section, body as u64);
        let _ = block.cid.write_bytes(&mut *section);
        section.extend_from_slice(&block.data);
        // The reader only accepts minimal varints and canonical CIDs, so this holds
        // for every accepted file; checking keeps "byte for byte" a guarantee.
        if self.reader.offset() - block.offset != section.len() as u64 {
            return Err(PartsError::NonCanonical {
                path: self.path.clone(),
                offset: block.offset,
            });
        }
        Ok(Some(block))
    }
}

/// A file written under a temporary name in its final directory and renamed into
/// place by [`AtomicFile::commit`]; dropped uncommitted, it disappears.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    path: PathBuf,
    out: BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    pub(crate) fn create(path: &Path) -> Result<Self, PartsError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".fil-fil-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|error| PartsError::Io {
                path: dir.to_path_buf(),
                what: "creating temporary file",
                error,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(READ_BUF, tmp),
        })
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), PartsError> {
        self.out.write_all(bytes).map_err(|error| PartsError::Io {
            path: self.path.clone(),
            what: "writing",
            error,
        })
    }

    pub(crate) fn commit(self) -> Result<(), PartsError> {
        let path = self.path;
        let tmp = self.out.into_inner().map_err(|e| PartsError::Io {
            path: path.clone(),
            what: "flushing",
            error: e.into_error(),
        })?;
        tmp.persist(&path).map_err(|e| PartsError::Io {
            path: path.clone(),
            what: "renaming into place",
            error: e.error,
        })?;
        Ok(())
    }
}
