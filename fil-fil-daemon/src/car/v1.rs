//! Streaming CARv1 reader and writer. The reader tracks byte offsets so every error
//! says where the stream went wrong, and verifies each block against its CID.

use std::io::{self, BufRead, Read, Write};

use cid::Cid;

use super::{decode_header, encode_header, read_uvarint, write_uvarint, CarError, CarHeader};
use crate::ipld::{verify_block, VerifyError};

/// No Filecoin block comes close; a larger section means a corrupt length.
pub const MAX_SECTION_LEN: u64 = 1 << 30;
/// Headers hold a handful of roots.
const MAX_HEADER_LEN: u64 = 1 << 20;

/// One block read from a CAR stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarBlock {
    /// The block's CID.
    pub cid: Cid,
    /// The block's bytes.
    pub data: Vec<u8>,
    /// Offset of the section (its length varint) in the stream.
    pub offset: u64,
}

/// Reads a CARv1 stream section by section.
#[derive(Debug)]
pub struct CarReader<R> {
    inner: R,
    offset: u64,
    header: CarHeader,
    verify: bool,
}

impl<R: BufRead> CarReader<R> {
    /// Reads and checks the header. Blocks are hash-verified unless
    /// [`CarReader::without_verification`] is used.
    pub fn new(inner: R) -> Result<Self, CarError> {
        Self::new_at(inner, 0)
    }

    /// Like [`CarReader::new`] for a CARv1 payload starting `base` bytes into a
    /// larger file (CARv2), so error offsets are file offsets.
    pub fn new_at(mut inner: R, base: u64) -> Result<Self, CarError> {
        let mut offset = base;
        let (len, n) =
            read_len(&mut inner, &mut offset, "header length")?.ok_or(CarError::Truncated {
                what: "header length",
                offset: base,
            })?;
        if len == 0 || len > MAX_HEADER_LEN {
            return Err(CarError::BadHeader {
                offset: base,
                reason: format!("header length {len} out of range"),
            });
        }
        let bytes = read_exact(&mut inner, len, &mut offset, "header")?;
        let header = decode_header(&bytes).map_err(|reason| CarError::BadHeader {
            offset: base + n as u64,
            reason,
        })?;
        Ok(Self {
            inner,
            offset,
            header,
            verify: true,
        })
    }

    /// Skips hash verification (for inputs already verified, e.g. our own output).
    pub fn without_verification(mut self) -> Self {
        self.verify = false;
        self
    }

    /// The decoded header. For a CARv2 pragma `version` is 2 and `roots` empty.
    pub fn header(&self) -> &CarHeader {
        &self.header
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Gives back the underlying reader, positioned after the last section read.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads the next block; `Ok(None)` at a clean end of stream.
    pub fn next_block(&mut self) -> Result<Option<CarBlock>, CarError> {
        let start = self.offset;
        let Some((len, _)) = read_len(&mut self.inner, &mut self.offset, "section length")? else {
            return Ok(None);
        };
        if len > MAX_SECTION_LEN {
            return Err(CarError::SectionTooLarge {
                offset: start,
                len,
                limit: MAX_SECTION_LEN,
            });
        }
        let section = read_exact(&mut self.inner, len, &mut self.offset, "section")?;
        let mut cursor = io::Cursor::new(&section[..]);
        let cid = Cid::read_bytes(&mut cursor).map_err(|_| CarError::BadCid { offset: start })?;
        let cid_len = cursor.position() as usize;
        // Blocks are keyed and re-exported by their canonical CID bytes; a section
        // spelling its CID another way would not round-trip byte for byte.
        if !crate::ipld::is_canonical(&cid, &section[..cid_len]) {
            return Err(CarError::BadCid { offset: start });
        }
        let data = section[cid_len..].to_vec();
        if self.verify {
            verify_block(&cid, &data).map_err(|e| match e {
                VerifyError::HashMismatch { cid } => CarError::HashMismatch { cid, offset: start },
                VerifyError::UnsupportedHash { cid, code } => CarError::Unverifiable {
                    cid,
                    offset: start,
                    code,
                },
            })?;
        }
        Ok(Some(CarBlock {
            cid,
            data,
            offset: start,
        }))
    }
}

impl<R: BufRead> Iterator for CarReader<R> {
    type Item = Result<CarBlock, CarError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_block().transpose()
    }
}

fn read_len<R: BufRead>(
    r: &mut R,
    offset: &mut u64,
    what: &'static str,
) -> Result<Option<(u64, usize)>, CarError> {
    let at = *offset;
    match read_uvarint(r) {
        Ok(Some((v, n))) => {
            *offset += n as u64;
            Ok(Some((v, n)))
        }
        Ok(None) => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            Err(CarError::Truncated { what, offset: at })
        }
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(CarError::BadVarint { offset: at }),
        Err(source) => Err(CarError::Io { offset: at, source }),
    }
}

fn read_exact<R: BufRead>(
    r: &mut R,
    len: u64,
    offset: &mut u64,
    what: &'static str,
) -> Result<Vec<u8>, CarError> {
    let mut buf = Vec::with_capacity(len as usize);
    let got = r
        .take(len)
        .read_to_end(&mut buf)
        .map_err(|source| CarError::Io {
            offset: *offset,
            source,
        })?;
    if (got as u64) < len {
        return Err(CarError::Truncated {
            what,
            offset: *offset + got as u64,
        });
    }
    *offset += len;
    Ok(buf)
}

/// Writes a CARv1 stream: the header first, then one section per block.
#[derive(Debug)]
pub struct CarWriter<W> {
    inner: W,
    written: u64,
    cid_buf: Vec<u8>,
}

impl<W: Write> CarWriter<W> {
    /// Writes the header for `roots`.
    pub fn new(mut inner: W, roots: &[Cid]) -> io::Result<Self> {
        let header = encode_header(roots);
        let mut written = write_uvarint(&mut inner, header.len() as u64)? as u64;
        inner.write_all(&header)?;
        written += header.len() as u64;
        Ok(Self {
            inner,
            written,
            cid_buf: Vec::with_capacity(64),
        })
    }

    /// Appends one block section.
    pub fn write_block(&mut self, cid: &Cid, data: &[u8]) -> io::Result<()> {
        self.cid_buf.clear();
        cid.write_bytes(&mut self.cid_buf)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let len = (self.cid_buf.len() + data.len()) as u64;
        self.written += write_uvarint(&mut self.inner, len)? as u64;
        self.inner.write_all(&self.cid_buf)?;
        self.inner.write_all(data)?;
        self.written += len;
        Ok(())
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer, for writes this writer does not count (see
    /// [`CarWriter::bytes_written`]).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Bytes written so far, header included.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::block_cid;

    #[test]
    fn write_then_read() {
        let data = b"\x80".to_vec();
        let cid = block_cid(&data);
        let mut w = CarWriter::new(Vec::new(), &[cid]).expect("header");
        w.write_block(&cid, &data).expect("block");
        let bytes = w.finish().expect("finish");
        let mut r = CarReader::new(&bytes[..]).expect("read header");
        assert_eq!(r.header().roots, vec![cid]);
        let block = r.next_block().expect("block").expect("some");
        assert_eq!((block.cid, block.data), (cid, data));
        assert!(r.next_block().expect("eof").is_none());
    }

    #[test]
    fn truncation_and_corruption_are_located() {
        let data = b"\x80".to_vec();
        let cid = block_cid(&data);
        let mut w = CarWriter::new(Vec::new(), &[cid]).expect("header");
        w.write_block(&cid, &data).expect("block");
        let bytes = w.finish().expect("finish");
        let cut = &bytes[..bytes.len() - 1];
        let mut r = CarReader::new(cut).expect("header");
        assert!(matches!(r.next_block(), Err(CarError::Truncated { .. })));
        let mut bad = bytes.clone();
        *bad.last_mut().expect("nonempty") = 0x81;
        let mut r = CarReader::new(&bad[..]).expect("header");
        assert!(matches!(r.next_block(), Err(CarError::HashMismatch { .. })));
    }

    #[test]
    fn non_canonical_cids_are_refused() {
        let data = b"\x80".to_vec();
        let cid = block_cid(&data);
        let header = CarWriter::new(Vec::new(), &[cid])
            .expect("header")
            .finish()
            .expect("finish");
        // The same CID with its version varint spelled over-long (0x81 0x00).
        let mut section = vec![0x81, 0x00];
        section.extend_from_slice(&cid.to_bytes()[1..]);
        section.extend_from_slice(&data);
        let mut bytes = header.clone();
        write_uvarint(&mut bytes, section.len() as u64).expect("varint");
        bytes.extend_from_slice(&section);
        let mut r = CarReader::new(&bytes[..]).expect("header");
        let offset = header.len() as u64;
        assert!(matches!(r.next_block(), Err(CarError::BadCid { offset: o }) if o == offset));
    }
}
