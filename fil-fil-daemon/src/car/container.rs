//! Opening any CAR a snapshot may come in: CARv1 or CARv2, plain or zstd
//! (a single stream, or Forest's `.forest.car.zst`: independent zstd frames plus
//! skippable index frames and a 16-byte skippable footer). The format is read
//! from magic bytes, never from the file name. zstd's streaming decoder steps
//! over skippable frames, so every compressed form decodes the same way; Forest
//! files are only told apart for reporting.
//!
//! Error offsets in compressed files count bytes of the decompressed CAR stream.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use super::{CarError, CarReader};

/// zstd frame magic (little-endian 0xFD2FB528).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// CARv2 pragma: varint(10) ‖ `{"version": 2}`.
pub const CARV2_PRAGMA: [u8; 11] = [
    0x0a, 0xa1, 0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x02,
];
/// CARv2 fixed header after the pragma: characteristics (16), data offset,
/// data size, index offset (u64 little-endian each).
const CARV2_HEADER_LEN: usize = 40;
/// Forest's footer: a skippable frame (magic 0x184D2A50) carrying 8 bytes.
const FOREST_FOOTER_PREFIX: [u8; 8] = [0x50, 0x2a, 0x4d, 0x18, 0x08, 0x00, 0x00, 0x00];
const FOREST_FOOTER_LEN: u64 = 16;
const READ_BUFFER: usize = 1 << 20;

/// How the CAR bytes are wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// Plain bytes.
    Plain,
    /// A zstd stream.
    Zstd,
    /// Forest's framed zstd with skippable index frames.
    ForestZstd,
}

/// The detected layout of a CAR file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarFormat {
    /// Outer wrapping.
    pub container: Container,
    /// CAR version (1 or 2).
    pub car_version: u64,
}

impl fmt::Display for CarFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = match self.container {
            Container::Plain => "",
            Container::Zstd => "+zstd",
            Container::ForestZstd => "+forest-zstd",
        };
        write!(f, "carv{}{}", self.car_version, suffix)
    }
}

/// A reader positioned at the first block of the CARv1 payload.
pub type AnyCarReader = CarReader<Box<dyn BufRead + Send>>;

/// Opens a CAR file of any supported layout.
pub fn open_car_file(path: &Path) -> Result<(CarFormat, AnyCarReader), CarError> {
    let mut file = File::open(path).map_err(|source| CarError::Io { offset: 0, source })?;
    let forest =
        has_forest_footer(&mut file).map_err(|source| CarError::Io { offset: 0, source })?;
    let (mut format, reader) = open_car(BufReader::with_capacity(READ_BUFFER, file))?;
    if forest && format.container == Container::Zstd {
        format.container = Container::ForestZstd;
    }
    Ok((format, reader))
}

/// Opens a CAR stream of any supported layout (Forest files read as zstd).
pub fn open_car<R: BufRead + Send + 'static>(
    mut input: R,
) -> Result<(CarFormat, AnyCarReader), CarError> {
    let magic = input
        .fill_buf()
        .map_err(|source| CarError::Io { offset: 0, source })?;
    let compressed = magic.len() >= 4 && (magic[..4] == ZSTD_MAGIC || is_skippable(&magic[..4]));
    let (container, stream): (Container, Box<dyn Read + Send>) = if compressed {
        let decoder = zstd::Decoder::with_buffer(input)
            .map_err(|source| CarError::Io { offset: 0, source })?;
        (Container::Zstd, Box::new(decoder))
    } else {
        (Container::Plain, Box::new(input))
    };
    let (car_version, reader) = open_payload(stream)?;
    Ok((
        CarFormat {
            container,
            car_version,
        },
        reader,
    ))
}

/// Reads past a CARv2 wrapper if there is one and returns the CARv1 reader.
fn open_payload(mut stream: Box<dyn Read + Send>) -> Result<(u64, AnyCarReader), CarError> {
    let mut prefix = Vec::with_capacity(CARV2_PRAGMA.len());
    (&mut stream)
        .take(CARV2_PRAGMA.len() as u64)
        .read_to_end(&mut prefix)
        .map_err(|source| CarError::Io { offset: 0, source })?;
    if prefix != CARV2_PRAGMA {
        let rejoined: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(
            READ_BUFFER,
            Cursor::new(prefix).chain(stream),
        ));
        return Ok((1, CarReader::new(rejoined)?));
    }
    let at = CARV2_PRAGMA.len() as u64;
    let mut header = [0u8; CARV2_HEADER_LEN];
    stream.read_exact(&mut header).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => CarError::Truncated {
            what: "CARv2 header",
            offset: at,
        },
        _ => CarError::Io {
            offset: at,
            source: e,
        },
    })?;
    let field = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&header[16 + 8 * i..24 + 8 * i]);
        u64::from_le_bytes(b)
    };
    let (data_offset, data_size) = (field(0), field(1));
    let header_end = at + CARV2_HEADER_LEN as u64;
    if data_offset < header_end {
        return Err(CarError::BadHeader {
            offset: at,
            reason: format!("CARv2 data offset {data_offset} lies inside the header"),
        });
    }
    let gap = data_offset - header_end;
    let skipped =
        io::copy(&mut (&mut stream).take(gap), &mut io::sink()).map_err(|source| CarError::Io {
            offset: header_end,
            source,
        })?;
    if skipped < gap {
        return Err(CarError::Truncated {
            what: "CARv2 padding",
            offset: header_end + skipped,
        });
    }
    let payload: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(
        READ_BUFFER,
        stream.take(data_size),
    ));
    Ok((2, CarReader::new_at(payload, data_offset)?))
}

fn is_skippable(magic: &[u8]) -> bool {
    magic[0] & 0xf0 == 0x50 && magic[1..4] == [0x2a, 0x4d, 0x18]
}

fn has_forest_footer(file: &mut File) -> io::Result<bool> {
    let len = file.metadata()?.len();
    if len < FOREST_FOOTER_LEN {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(len - FOREST_FOOTER_LEN))?;
    let mut footer = [0u8; 8];
    file.read_exact(&mut footer)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(footer == FOREST_FOOTER_PREFIX)
}
