//! Unsigned LEB128 varints as used by CAR section framing and multiformats.

use std::io::{self, Read, Write};

/// Reads a uvarint; `Ok(None)` on clean EOF before the first byte.
/// Errors: `InvalidData` for varints over 9 bytes, `UnexpectedEof` mid-varint.
pub fn read_uvarint<R: Read>(r: &mut R) -> io::Result<Option<(u64, usize)>> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let mut byte = [0u8; 1];
        if r.read(&mut byte)? == 0 {
            return if i == 0 {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        let b = byte[0];
        if i == 9 && b > 0x01 {
            return Err(io::ErrorKind::InvalidData.into());
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // A trailing zero byte would make the encoding non-minimal.
            if b == 0 && i > 0 {
                return Err(io::ErrorKind::InvalidData.into());
            }
            return Ok(Some((value, i + 1)));
        }
    }
    Err(io::ErrorKind::InvalidData.into())
}

/// Writes `value` as a uvarint, returning the number of bytes written.
pub fn write_uvarint<W: Write>(w: &mut W, value: u64) -> io::Result<usize> {
    let mut buf = unsigned_varint::encode::u64_buffer();
    let bytes = unsigned_varint::encode::u64(value, &mut buf);
    w.write_all(bytes)?;
    Ok(bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut buf = vec![];
            let n = write_uvarint(&mut buf, v).expect("write");
            assert_eq!(read_uvarint(&mut &buf[..]).expect("read"), Some((v, n)));
        }
    }

    #[test]
    fn rejects_bad() {
        assert!(read_uvarint(&mut &[0x80u8][..]).is_err());
        assert!(read_uvarint(&mut &[0x80u8, 0x00][..]).is_err());
        assert!(read_uvarint(&mut &[0xffu8; 11][..]).is_err());
        assert_eq!(read_uvarint(&mut &[][..]).expect("eof"), None);
    }
}
