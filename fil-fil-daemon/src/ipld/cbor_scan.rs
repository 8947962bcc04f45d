//! DAG-CBOR link scanning with the exact semantics of cbor-gen's `ScanForLinks`,
//! which Lotus uses to walk state during `chain export`: one top-level item is
//! visited, tag 42 byte strings (0x00 ‖ CID) are reported in document order, other
//! tags are stepped through, indefinite lengths and non-minimal headers are errors.

use cid::Cid;

/// cbor-gen refuses CIDs longer than this inside tag 42.
const MAX_CID_LEN: u64 = 100;

/// Why a block could not be scanned for links.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CborScanError {
    /// The input ended inside an item.
    #[error("truncated CBOR at byte {offset}")]
    Truncated {
        /// Byte offset where more input was needed.
        offset: usize,
    },
    /// A header used a reserved or indefinite-length encoding.
    #[error("unsupported CBOR header byte {byte:#04x} at byte {offset}")]
    BadHeader {
        /// Offending initial byte.
        byte: u8,
        /// Its offset.
        offset: usize,
    },
    /// A length or value was not minimally encoded.
    #[error("non-canonical CBOR integer at byte {offset}")]
    NotCanonical {
        /// Offset of the header.
        offset: usize,
    },
    /// Tag 42 not followed by a valid `0x00 ‖ CID` byte string.
    #[error("invalid CID link at byte {offset}: {reason}")]
    BadLink {
        /// Offset of the tag's content.
        offset: usize,
        /// What was wrong with it.
        reason: &'static str,
    },
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], CborScanError> {
        let truncated = CborScanError::Truncated { offset: self.pos };
        let n = usize::try_from(n).map_err(|_| truncated.clone())?;
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let out = self.data.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// Reads a header: (major type, argument).
    fn header(&mut self) -> Result<(u8, u64), CborScanError> {
        let at = self.pos;
        let first = self.take(1)?[0];
        let major = first >> 5;
        let low = first & 0x1f;
        let (value, min) = match low {
            0..=23 => return Ok((major, u64::from(low))),
            24 => (u64::from(self.take(1)?[0]), 24),
            25 => (u64::from(u16::from_be_bytes(self.array::<2>()?)), 0x100),
            26 => (u64::from(u32::from_be_bytes(self.array::<4>()?)), 0x1_0000),
            27 => (u64::from_be_bytes(self.array::<8>()?), 0x1_0000_0000),
            _ => {
                return Err(CborScanError::BadHeader {
                    byte: first,
                    offset: at,
                })
            }
        };
        // Floats (major 7) carry raw bits, not lengths; cbor-gen only checks ints.
        if major != 7 && value < min {
            return Err(CborScanError::NotCanonical { offset: at });
        }
        Ok((major, value))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CborScanError> {
        let bytes = self.take(N as u64)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }
}

/// Calls `on_link` for every CID linked from the first CBOR item of `data`, in
/// document order (the order Lotus's pre-order export walk visits them).
pub fn scan_links(data: &[u8], mut on_link: impl FnMut(Cid)) -> Result<(), CborScanError> {
    scan_links_at(data, |cid, _| on_link(cid))
}

/// [`scan_links`], also passing the offset of each CID's bytes in `data` (what a
/// store keeps so a later walk can read the CID without parsing again).
pub fn scan_links_at(
    data: &[u8],
    mut on_link: impl FnMut(Cid, usize),
) -> Result<(), CborScanError> {
    let mut cursor = LinkCursor::new();
    while let Some(link) = cursor.next_link(data)? {
        let cid = Cid::try_from(link.cid).map_err(|_| bad_link(link.at, "bytes are not a CID"))?;
        // go-cid's Cast (used by cbor-gen) rejects trailing bytes, and its varint
        // reader rejects over-long forms; the store also keys and re-reads links by
        // these exact bytes, so only the canonical encoding is accepted.
        if cid.encoded_len() != link.cid.len() {
            return Err(bad_link(link.at, "trailing bytes after CID"));
        }
        if !is_canonical(&cid, link.cid) {
            return Err(bad_link(
                link.at,
                "CID is not in canonical (minimal varint) form",
            ));
        }
        on_link(cid, link.offset);
    }
    Ok(())
}

/// One tag-42 link as raw bytes, before any `Cid` is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLink<'a> {
    /// Offset of the tag's content (where [`CborScanError::BadLink`] points).
    pub at: usize,
    /// Offset of the CID bytes (after the `0x00` multibase prefix).
    pub offset: usize,
    /// The binary CID.
    pub cid: &'a [u8],
}

/// A resumable [`scan_links`]: yields each link's raw CID bytes and position, so a
/// walk can stop between links, keep only this 16-byte state, and go on later
/// from the same bytes. It checks the CBOR structure exactly as [`scan_links`]
/// does but not the CID bytes themselves, which is for blocks already scanned once
/// (the store scans every block when linking it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkCursor {
    pos: usize,
    remaining: u64,
}

impl Default for LinkCursor {
    fn default() -> Self {
        Self::new()
    }
}

impl LinkCursor {
    /// A cursor at the start of a block.
    pub fn new() -> Self {
        Self {
            pos: 0,
            remaining: 1,
        }
    }

    /// The next link in `data` (the same bytes on every call), or `None` at the
    /// end of the first item.
    pub fn next_link<'a>(&mut self, data: &'a [u8]) -> Result<Option<RawLink<'a>>, CborScanError> {
        let mut r = Reader {
            data,
            pos: self.pos,
        };
        let found = loop {
            if self.remaining == 0 {
                break None;
            }
            self.remaining -= 1;
            let (major, arg) = r.header()?;
            match major {
                0 | 1 | 7 => {}
                2 | 3 => {
                    r.take(arg)?;
                }
                6 if arg == 42 => {
                    let at = r.pos;
                    let (inner, len) = r.header()?;
                    if inner != 2 {
                        return Err(bad_link(at, "tag 42 content is not a byte string"));
                    }
                    if len > MAX_CID_LEN {
                        return Err(bad_link(at, "CID longer than 100 bytes"));
                    }
                    let offset = r.pos + 1;
                    match r.take(len)?.split_first() {
                        Some((0, cid)) => break Some(RawLink { at, offset, cid }),
                        _ => return Err(bad_link(at, "missing 0x00 multibase prefix")),
                    }
                }
                6 => self.remaining += 1,
                4 => self.remaining = self.remaining.saturating_add(arg),
                5 => self.remaining = self.remaining.saturating_add(arg.saturating_mul(2)),
                _ => unreachable!("major type is 3 bits"),
            }
        };
        self.pos = r.pos;
        Ok(found)
    }
}

/// Codec and multihash code of a binary CID, read from its prefix alone (CIDv0 is
/// dag-pb over sha2-256); `None` if the prefix does not parse.
pub fn cid_codec_and_hash(cid: &[u8]) -> Option<(u64, u64)> {
    if cid.len() == 34 && cid[0] == 0x12 && cid[1] == 0x20 {
        return Some((DAG_PB, super::SHA2_256));
    }
    let (version, rest) = unsigned_varint::decode::u64(cid).ok()?;
    if version != 1 {
        return None;
    }
    let (codec, rest) = unsigned_varint::decode::u64(rest).ok()?;
    let (hash, _) = unsigned_varint::decode::u64(rest).ok()?;
    Some((codec, hash))
}

/// The common Filecoin CID prefix: v1, dag-cbor, blake2b-256, 32-byte digest.
const DAG_CBOR_BLAKE2B_PREFIX: [u8; 6] = [0x01, 0x71, 0xa0, 0xe4, 0x02, 0x20];
/// The same for raw blocks (chain leaves such as actor code and some state).
const RAW_BLAKE2B_PREFIX: [u8; 6] = [0x01, 0x55, 0xa0, 0xe4, 0x02, 0x20];

/// The binary CID at the start of `bytes` and its codec, read from its prefix
/// alone (the common dag-cbor/blake2b-256 form without parsing); `None` as for
/// [`cid_len`].
#[inline]
pub fn leading_cid(bytes: &[u8]) -> Option<(&[u8], u64)> {
    const LEN: usize = DAG_CBOR_BLAKE2B_PREFIX.len() + 32;
    match bytes.get(..LEN) {
        Some(cid) if cid.starts_with(&DAG_CBOR_BLAKE2B_PREFIX) => Some((cid, super::DAG_CBOR)),
        Some(cid) if cid.starts_with(&RAW_BLAKE2B_PREFIX) => Some((cid, super::RAW)),
        _ => {
            let cid = bytes.get(..cid_len(bytes)?)?;
            Some((cid, cid_codec_and_hash(cid)?.0))
        }
    }
}

/// Length of the binary CID at the start of `bytes`, read from its prefix (the
/// digest length is the last prefix varint); `None` if the prefix does not parse
/// or the digest runs past the end.
pub fn cid_len(bytes: &[u8]) -> Option<usize> {
    let len = if bytes.starts_with(&DAG_CBOR_BLAKE2B_PREFIX) {
        DAG_CBOR_BLAKE2B_PREFIX.len() + 32
    } else if bytes.len() >= 34 && bytes[0] == 0x12 && bytes[1] == 0x20 {
        34
    } else {
        let (version, rest) = unsigned_varint::decode::u64(bytes).ok()?;
        if version != 1 {
            return None;
        }
        let (_codec, rest) = unsigned_varint::decode::u64(rest).ok()?;
        let (_hash, rest) = unsigned_varint::decode::u64(rest).ok()?;
        let (digest, rest) = unsigned_varint::decode::usize(rest).ok()?;
        bytes.len() - rest.len() + digest
    };
    (len <= bytes.len()).then_some(len)
}

/// Whether `raw` is exactly the canonical binary form of `cid` (no over-long
/// varints), checked without allocating: this runs for every link of every block
/// the store links and every CAR section read.
pub fn is_canonical(cid: &Cid, raw: &[u8]) -> bool {
    let mut buf = [0u8; 2 * MAX_CID_LEN as usize];
    let mut out = &mut buf[..];
    match cid.write_bytes(&mut out) {
        Ok(n) => buf.get(..n) == Some(raw),
        Err(_) => false,
    }
}

/// Multicodec `dag-pb` (only CIDv0 implies it here).
const DAG_PB: u64 = 0x70;

fn bad_link(offset: usize, reason: &'static str) -> CborScanError {
    CborScanError::BadLink { offset, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::{block_cid, BLAKE2B_256, DAG_CBOR, RAW, SHA2_256};

    fn link_bytes(cid: &Cid) -> Vec<u8> {
        let raw = cid.to_bytes();
        let mut out = vec![0xd8, 0x2a, 0x58, (raw.len() + 1) as u8, 0x00];
        out.extend_from_slice(&raw);
        out
    }

    #[test]
    fn finds_links_in_order_and_skips_other_tags() {
        let a = block_cid(b"a");
        let b = block_cid(b"b");
        let mut doc = vec![0x83];
        doc.extend(link_bytes(&a));
        doc.extend([0xc2, 0x41, 0x05]); // tag 2 bignum
        doc.push(0xa1);
        doc.extend([0x61, b'k']);
        doc.extend(link_bytes(&b));
        let mut seen = vec![];
        scan_links(&doc, |c| seen.push(c)).expect("scan");
        assert_eq!(seen, vec![a, b]);
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            scan_links(&[0x82, 0x01], |_| {}),
            Err(CborScanError::Truncated { offset: 2 })
        );
        assert_eq!(
            scan_links(&[0x9f], |_| {}),
            Err(CborScanError::BadHeader {
                byte: 0x9f,
                offset: 0
            })
        );
        assert_eq!(
            scan_links(&[0x18, 0x05], |_| {}),
            Err(CborScanError::NotCanonical { offset: 0 })
        );
        assert!(matches!(
            scan_links(&[0xd8, 0x2a, 0x41, 0x01], |_| {}),
            Err(CborScanError::BadLink { .. })
        ));
    }

    #[test]
    fn trailing_bytes_after_cid_are_rejected() {
        let raw = block_cid(b"a").to_bytes();
        let mut doc = vec![0xd8, 0x2a, 0x58, (raw.len() + 2) as u8, 0x00];
        doc.extend_from_slice(&raw);
        doc.push(0x00);
        assert!(matches!(
            scan_links(&doc, |_| {}),
            Err(CborScanError::BadLink { .. })
        ));
    }

    #[test]
    fn overflowing_varints_in_cids_are_rejected() {
        // CIDv1 whose version varint is written in two bytes (0x81 0x00 is an
        // over-long 1), the rest a valid dag-cbor/blake2b-256 CID.
        let canonical = block_cid(b"a").to_bytes();
        let mut raw = vec![0x81, 0x00];
        raw.extend_from_slice(&canonical[1..]);
        let mut doc = vec![0xd8, 0x2a, 0x58, (raw.len() + 1) as u8, 0x00];
        doc.extend_from_slice(&raw);
        assert!(matches!(
            scan_links(&doc, |_| {}),
            Err(CborScanError::BadLink { .. })
        ));
        // A 10-byte varint that overflows u64 in the multihash length.
        let mut raw = canonical[..3].to_vec();
        raw.extend_from_slice(&[0xff; 9]);
        raw.push(0x7f);
        let mut doc = vec![0xd8, 0x2a, 0x58, (raw.len() + 1) as u8, 0x00];
        doc.extend_from_slice(&raw);
        assert!(scan_links(&doc, |_| {}).is_err());
    }

    #[test]
    fn cursor_yields_the_scanned_links_and_resumes() {
        let a = block_cid(b"a");
        let b = crate::ipld::Cid::new_v1(crate::ipld::RAW, *block_cid(b"b").hash());
        let mut doc = vec![0x83];
        doc.extend(link_bytes(&a));
        doc.extend([0x81, 0xc2, 0x41, 0x05]);
        let b_at = doc.len();
        doc.extend(link_bytes(&b));
        let mut cursor = LinkCursor::new();
        let first = cursor.next_link(&doc).expect("scan").expect("a link");
        assert_eq!(first.cid, &a.to_bytes()[..]);
        assert_eq!(
            &doc[first.offset..first.offset + first.cid.len()],
            first.cid
        );
        let saved = cursor;
        let second = cursor.next_link(&doc).expect("scan").expect("a link");
        assert_eq!((second.at, second.cid), (b_at + 2, &b.to_bytes()[..]));
        assert_eq!(cursor.next_link(&doc), Ok(None));
        assert_eq!(cursor.next_link(&doc), Ok(None));
        let mut again = saved;
        assert_eq!(again.next_link(&doc), Ok(Some(second)));
        assert_eq!(cid_codec_and_hash(first.cid), Some((DAG_CBOR, BLAKE2B_256)));
        assert_eq!(cid_codec_and_hash(second.cid), Some((RAW, BLAKE2B_256)));
        let v0 = [&[0x12, 0x20][..], &[7; 32]].concat();
        assert_eq!(cid_codec_and_hash(&v0), Some((DAG_PB, SHA2_256)));
        assert_eq!(cid_codec_and_hash(&[0x80]), None);
    }

    #[test]
    fn huge_lengths_do_not_overflow() {
        let doc = [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(scan_links(&doc, |_| {}).is_err());
        let doc = [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(scan_links(&doc, |_| {}).is_err());
    }

    #[test]
    fn cid_len_reads_the_prefix() {
        let blake = block_cid(b"x");
        let sha = Cid::new_v1(
            RAW,
            cid::multihash::Multihash::wrap(SHA2_256, &[9; 32]).unwrap(),
        );
        for cid in [blake, sha] {
            let mut bytes = cid.to_bytes();
            let len = bytes.len();
            bytes.extend_from_slice(b"trailing");
            assert_eq!(cid_len(&bytes), Some(len), "{cid}");
            assert_eq!(cid_len(&bytes[..len - 1]), None, "{cid} truncated");
        }
        assert_eq!(cid_len(&[0x02, 0x71]), None);
        assert_eq!(cid_len(&[]), None);
        let mut bytes = sha.to_bytes();
        bytes.push(0);
        assert_eq!(leading_cid(&bytes), Some((&bytes[..36], RAW)));
        let mut bytes = blake.to_bytes();
        bytes.push(0);
        assert_eq!(leading_cid(&bytes), Some((&bytes[..38], DAG_CBOR)));
        assert_eq!(leading_cid(&bytes[..37]), None);
        let raw = Cid::new_v1(RAW, *blake.hash());
        let mut bytes = raw.to_bytes();
        bytes.push(0);
        assert_eq!(leading_cid(&bytes), Some((&bytes[..38], RAW)));
        assert_eq!(leading_cid(&bytes[..37]), None);
    }
}
