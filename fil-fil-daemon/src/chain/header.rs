//! Filecoin block headers: the 16-field CBOR tuple Lotus (cbor-gen) writes. Encoding
//! is byte-exact, so a header decoded and re-encoded keeps its CID.

use cid::Cid;
use fvm_ipld_encoding::strict_bytes;
use fvm_ipld_encoding::tuple::{Deserialize_tuple, Serialize_tuple};

use crate::ipld::block_cid;

/// Why bytes could not be read as a block header.
#[derive(Debug, thiserror::Error)]
#[error("not a Filecoin block header: {0}")]
pub struct HeaderDecodeError(String);

/// A VRF ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct Ticket {
    /// VRF proof bytes.
    #[serde(with = "strict_bytes")]
    pub vrf_proof: Vec<u8>,
}

/// Election proof: win count and VRF proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct ElectionProof {
    /// Number of wins in this round.
    pub win_count: i64,
    /// VRF proof bytes.
    #[serde(with = "strict_bytes")]
    pub vrf_proof: Vec<u8>,
}

/// A drand beacon entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct BeaconEntry {
    /// Drand round.
    pub round: u64,
    /// Beacon signature bytes.
    #[serde(with = "strict_bytes")]
    pub data: Vec<u8>,
}

/// A winning PoSt proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct PoStProof {
    /// Registered PoSt proof type.
    pub post_proof: i64,
    /// Proof bytes.
    #[serde(with = "strict_bytes")]
    pub proof_bytes: Vec<u8>,
}

/// A block header, field order as in Lotus `types.BlockHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize_tuple, Deserialize_tuple)]
pub struct BlockHeader {
    /// Miner address (address bytes).
    #[serde(with = "strict_bytes")]
    pub miner: Vec<u8>,
    /// VRF ticket (absent only at genesis).
    pub ticket: Option<Ticket>,
    /// Election proof (absent only at genesis).
    pub election_proof: Option<ElectionProof>,
    /// Drand entries.
    pub beacon_entries: Vec<BeaconEntry>,
    /// Winning PoSt proofs.
    pub win_post_proof: Vec<PoStProof>,
    /// Parent tipset's block CIDs (the tipset key).
    pub parents: Vec<Cid>,
    /// Parent weight, Filecoin big-int bytes (sign byte ‖ big-endian magnitude).
    #[serde(with = "strict_bytes")]
    pub parent_weight: Vec<u8>,
    /// Chain epoch.
    pub height: i64,
    /// State root after applying the parent tipset's messages.
    pub parent_state_root: Cid,
    /// AMT root of the parent tipset's message receipts.
    pub parent_message_receipts: Cid,
    /// `MsgMeta` CID of this block's messages.
    pub messages: Cid,
    /// BLS aggregate signature (type byte ‖ signature).
    pub bls_aggregate: Option<Signature>,
    /// Unix timestamp (seconds).
    pub timestamp: u64,
    /// Block signature (type byte ‖ signature).
    pub block_sig: Option<Signature>,
    /// Fork signaling bits.
    pub fork_signaling: u64,
    /// Parent base fee, Filecoin big-int bytes.
    #[serde(with = "strict_bytes")]
    pub parent_base_fee: Vec<u8>,
}

/// A signature as the chain stores it: one type byte then the signature bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Signature(#[serde(with = "strict_bytes")] pub Vec<u8>);

impl BlockHeader {
    /// Decodes a header from its CBOR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, HeaderDecodeError> {
        fvm_ipld_encoding::from_slice(bytes).map_err(|e| HeaderDecodeError(e.to_string()))
    }

    /// Encodes the header exactly as Lotus does.
    pub fn encode(&self) -> Vec<u8> {
        fvm_ipld_encoding::to_vec(self)
            .unwrap_or_else(|e| unreachable!("block header always encodes: {e}"))
    }

    /// The header's CID (dag-cbor, blake2b-256 of the encoding).
    pub fn cid(&self) -> Cid {
        block_cid(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::car::CarReader;

    /// Every header in a real Lotus export re-encodes to identical bytes.
    #[test]
    fn fixture_headers_roundtrip_byte_exact() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/export40.car"
        );
        let file = std::fs::File::open(path).expect("fixture present");
        let reader = CarReader::new(std::io::BufReader::new(file)).expect("car");
        let roots = reader.header().roots.clone();
        let mut headers = 0;
        for block in reader {
            let block = block.expect("valid block");
            // Headers are 16-element arrays (0x90).
            if block.data.first() == Some(&0x90) {
                if let Ok(h) = BlockHeader::decode(&block.data) {
                    assert_eq!(h.encode(), block.data);
                    assert_eq!(h.cid(), block.cid);
                    headers += 1;
                }
            }
        }
        assert!(headers >= 40, "found {headers} headers");
        assert!(!roots.is_empty());
    }
}
