//! FRC-0108 (snapshot v2) metadata: the CAR's single root names this block, which
//! holds the head tipset key and, optionally, the CID of an F3 snapshot blob that
//! follows it. Encoded as Lotus's cbor-gen map encoder writes it (keys in
//! length-first order: `F3Data`, `Version`, `HeadTipsetKey`), so our v2 files
//! hash like Lotus's.

use crate::ipld::write_cbor_header as header;
use cid::Cid;
use serde::Deserialize;

use crate::ipld::{blake2b_256, block_cid, RAW};

/// `SnapshotMetadata.Version` for FRC-0108 snapshots.
pub const SNAPSHOT_VERSION_2: u64 = 2;

/// Decoded snapshot metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotMetadata {
    /// Snapshot format version (2).
    pub version: u64,
    /// The head tipset's block CIDs.
    pub head_tipset_key: Vec<Cid>,
    /// CID of the F3 blob section, if the snapshot carries one.
    pub f3_data: Option<Cid>,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "Version")]
    version: u64,
    #[serde(rename = "HeadTipsetKey")]
    head_tipset_key: Vec<Cid>,
    #[serde(rename = "F3Data", default)]
    f3_data: Option<Cid>,
}

impl SnapshotMetadata {
    /// Metadata for a v2 snapshot of `head`.
    pub fn v2(head: Vec<Cid>, f3_data: Option<Cid>) -> Self {
        Self {
            version: SNAPSHOT_VERSION_2,
            head_tipset_key: head,
            f3_data,
        }
    }

    /// The block bytes, byte-identical to Lotus.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0xa3];
        text(&mut out, "F3Data");
        match &self.f3_data {
            None => out.push(0xf6),
            Some(cid) => link(&mut out, cid),
        }
        text(&mut out, "Version");
        header(&mut out, 0, self.version);
        text(&mut out, "HeadTipsetKey");
        header(&mut out, 4, self.head_tipset_key.len() as u64);
        for cid in &self.head_tipset_key {
            link(&mut out, cid);
        }
        out
    }

    /// The metadata block's CID (dag-cbor, blake2b-256).
    pub fn cid(&self) -> Cid {
        block_cid(&self.encode())
    }

    /// Decodes metadata; `None` if the block is something else (Lotus then
    /// treats a single root as a plain v1 head).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let wire: Wire = fvm_ipld_encoding::from_slice(bytes).ok()?;
        Some(Self {
            version: wire.version,
            head_tipset_key: wire.head_tipset_key,
            f3_data: wire.f3_data,
        })
    }
}

/// The CID FRC-0108 gives an F3 blob: raw codec, blake2b-256.
pub fn f3_blob_cid(data: &[u8]) -> Cid {
    let digest = blake2b_256(data);
    let mh = cid::multihash::Multihash::<64>::wrap(crate::ipld::BLAKE2B_256, &digest)
        .unwrap_or_else(|_| unreachable!("32-byte digest fits a 64-byte multihash"));
    Cid::new_v1(RAW, mh)
}

fn text(out: &mut Vec<u8>, s: &str) {
    header(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn link(out: &mut Vec<u8>, cid: &Cid) {
    let bytes = cid.to_bytes();
    out.extend([0xd8, 0x2a]);
    header(out, 2, bytes.len() as u64 + 1);
    out.push(0x00);
    out.extend_from_slice(&bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_cbor_gen_and_roundtrips() {
        let head = vec![block_cid(b"a"), block_cid(b"b")];
        let meta = SnapshotMetadata::v2(head.clone(), None);
        let bytes = meta.encode();
        // map(3) "F3Data" null "Version" 2 "HeadTipsetKey" array(2) ...
        let mut prefix = vec![0xa3, 0x66];
        prefix.extend(b"F3Data");
        prefix.extend([0xf6, 0x67]);
        prefix.extend(b"Version");
        prefix.extend([0x02, 0x6d]);
        prefix.extend(b"HeadTipsetKey");
        prefix.extend([0x82, 0xd8, 0x2a, 0x58, 0x27, 0x00]);
        assert_eq!(&bytes[..prefix.len()], &prefix[..]);
        assert_eq!(SnapshotMetadata::decode(&bytes), Some(meta));
        let with_f3 = SnapshotMetadata::v2(head, Some(f3_blob_cid(b"f3")));
        assert_eq!(SnapshotMetadata::decode(&with_f3.encode()), Some(with_f3));
    }

    #[test]
    fn headers_are_not_metadata() {
        assert_eq!(SnapshotMetadata::decode(&[0x83, 0x01, 0x02, 0x03]), None);
    }
}
