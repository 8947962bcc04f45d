//! The CARv1 header: DAG-CBOR `{"roots": [CID…], "version": 1}`, encoded exactly as
//! go-car writes it (map keys in length-first order).

use cid::Cid;
use serde::{Deserialize, Serialize};

/// A decoded CARv1 header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarHeader {
    /// Root CIDs (for a chain snapshot: the head tipset's block CIDs). Absent in
    /// a CARv2 pragma, hence the default.
    #[serde(default)]
    pub roots: Vec<Cid>,
    /// Format version; 1 for CARv1 (2 marks a CARv2 pragma).
    pub version: u64,
}

/// Encodes a CARv1 header for `roots`.
pub fn encode_header(roots: &[Cid]) -> Vec<u8> {
    let header = CarHeader {
        roots: roots.to_vec(),
        version: 1,
    };
    fvm_ipld_encoding::to_vec(&header)
        .unwrap_or_else(|e| unreachable!("CAR header always encodes: {e}"))
}

/// Decodes header bytes (without the length prefix).
pub fn decode_header(bytes: &[u8]) -> Result<CarHeader, String> {
    fvm_ipld_encoding::from_slice(bytes).map_err(|e| e.to_string())
}
