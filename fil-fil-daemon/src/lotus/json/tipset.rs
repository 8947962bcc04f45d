//! Tipsets and block headers in Lotus JSON, convertible to and from the chain's
//! CBOR `BlockHeader` without loss.

use cid::Cid;
use serde::{Deserialize, Serialize};

use super::{
    address_from_string, address_to_string, base64_bytes, bigint_bytes_to_decimal,
    decimal_to_bigint_bytes, CidJson,
};
use crate::chain::{BeaconEntry, BlockHeader, ElectionProof, PoStProof, Signature, Ticket};

/// Why a JSON header could not become a chain header (or back).
#[derive(Debug, thiserror::Error)]
#[error("block header JSON: {0}")]
pub struct JsonConvertError(String);

/// `{"Type": 2, "Data": "…"}`; chain form is one type byte then the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignatureJson {
    /// 1 = secp256k1, 2 = BLS, 3 = delegated.
    #[serde(rename = "Type")]
    pub kind: u8,
    /// Signature bytes.
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TicketJson {
    #[serde(rename = "VRFProof", with = "base64_bytes")]
    vrf_proof: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ElectionProofJson {
    win_count: i64,
    #[serde(rename = "VRFProof", with = "base64_bytes")]
    vrf_proof: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BeaconEntryJson {
    round: u64,
    #[serde(with = "base64_bytes")]
    data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PoStProofJson {
    #[serde(rename = "PoStProof")]
    post_proof: i64,
    #[serde(with = "base64_bytes")]
    proof_bytes: Vec<u8>,
}

/// A block header with Lotus's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BlockHeaderJson {
    miner: String,
    ticket: Option<TicketJson>,
    election_proof: Option<ElectionProofJson>,
    beacon_entries: Option<Vec<BeaconEntryJson>>,
    win_po_st_proof: Option<Vec<PoStProofJson>>,
    parents: Vec<CidJson>,
    parent_weight: String,
    height: i64,
    parent_state_root: CidJson,
    parent_message_receipts: CidJson,
    messages: CidJson,
    #[serde(rename = "BLSAggregate")]
    bls_aggregate: Option<SignatureJson>,
    timestamp: u64,
    block_sig: Option<SignatureJson>,
    fork_signaling: u64,
    parent_base_fee: String,
}

/// A tipset: `{"Cids": [...], "Blocks": [...], "Height": n}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TipSetJson {
    /// Block CIDs, the tipset key.
    pub cids: Vec<CidJson>,
    /// The block headers, in the same order.
    pub blocks: Vec<BlockHeaderJson>,
    /// Epoch of the tipset.
    pub height: i64,
}

impl TipSetJson {
    /// The tipset key as plain CIDs.
    pub fn key(&self) -> Vec<Cid> {
        self.cids.iter().map(|c| c.0).collect()
    }

    /// Parent tipset key (from the first block; all blocks share parents).
    pub fn parents(&self) -> Vec<Cid> {
        self.blocks
            .first()
            .map(|b| b.parents.iter().map(|c| c.0).collect())
            .unwrap_or_default()
    }
}

fn non_empty<T, U>(items: &[T], f: impl Fn(&T) -> U) -> Option<Vec<U>> {
    (!items.is_empty()).then(|| items.iter().map(f).collect())
}

fn sig_to_json(sig: &Option<Signature>) -> Result<Option<SignatureJson>, JsonConvertError> {
    sig.as_ref()
        .map(|s| match s.0.split_first() {
            Some((&kind, data)) => Ok(SignatureJson {
                kind,
                data: data.to_vec(),
            }),
            None => Err(JsonConvertError("empty signature".into())),
        })
        .transpose()
}

fn sig_from_json(sig: Option<SignatureJson>) -> Option<Signature> {
    sig.map(|s| Signature([&[s.kind][..], &s.data].concat()))
}

impl TryFrom<&BlockHeader> for BlockHeaderJson {
    type Error = JsonConvertError;

    fn try_from(h: &BlockHeader) -> Result<Self, Self::Error> {
        let err = |e: String| JsonConvertError(e);
        Ok(Self {
            miner: address_to_string(&h.miner).map_err(|e| err(e.to_string()))?,
            ticket: h.ticket.as_ref().map(|t| TicketJson {
                vrf_proof: t.vrf_proof.clone(),
            }),
            election_proof: h.election_proof.as_ref().map(|e| ElectionProofJson {
                win_count: e.win_count,
                vrf_proof: e.vrf_proof.clone(),
            }),
            // cbor-gen decodes an empty array to a nil slice, which Go prints as null.
            beacon_entries: non_empty(&h.beacon_entries, |b| BeaconEntryJson {
                round: b.round,
                data: b.data.clone(),
            }),
            win_po_st_proof: non_empty(&h.win_post_proof, |p| PoStProofJson {
                post_proof: p.post_proof,
                proof_bytes: p.proof_bytes.clone(),
            }),
            parents: h.parents.iter().map(|c| CidJson(*c)).collect(),
            parent_weight: bigint_bytes_to_decimal(&h.parent_weight).map_err(err)?,
            height: h.height,
            parent_state_root: CidJson(h.parent_state_root),
            parent_message_receipts: CidJson(h.parent_message_receipts),
            messages: CidJson(h.messages),
            bls_aggregate: sig_to_json(&h.bls_aggregate)?,
            timestamp: h.timestamp,
            block_sig: sig_to_json(&h.block_sig)?,
            fork_signaling: h.fork_signaling,
            parent_base_fee: bigint_bytes_to_decimal(&h.parent_base_fee).map_err(err)?,
        })
    }
}

impl TryFrom<BlockHeaderJson> for BlockHeader {
    type Error = JsonConvertError;

    fn try_from(j: BlockHeaderJson) -> Result<Self, Self::Error> {
        let err = |e: String| JsonConvertError(e);
        Ok(Self {
            miner: address_from_string(&j.miner).map_err(|e| err(e.to_string()))?,
            ticket: j.ticket.map(|t| Ticket {
                vrf_proof: t.vrf_proof,
            }),
            election_proof: j.election_proof.map(|e| ElectionProof {
                win_count: e.win_count,
                vrf_proof: e.vrf_proof,
            }),
            beacon_entries: j
                .beacon_entries
                .unwrap_or_default()
                .into_iter()
                .map(|b| BeaconEntry {
                    round: b.round,
                    data: b.data,
                })
                .collect(),
            win_post_proof: j
                .win_po_st_proof
                .unwrap_or_default()
                .into_iter()
                .map(|p| PoStProof {
                    post_proof: p.post_proof,
                    proof_bytes: p.proof_bytes,
                })
                .collect(),
            parents: j.parents.into_iter().map(|c| c.0).collect(),
            parent_weight: decimal_to_bigint_bytes(&j.parent_weight).map_err(err)?,
            height: j.height,
            parent_state_root: j.parent_state_root.0,
            parent_message_receipts: j.parent_message_receipts.0,
            messages: j.messages.0,
            bls_aggregate: sig_from_json(j.bls_aggregate),
            timestamp: j.timestamp,
            block_sig: sig_from_json(j.block_sig),
            fork_signaling: j.fork_signaling,
            parent_base_fee: decimal_to_bigint_bytes(&j.parent_base_fee).map_err(err)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::car::CarReader;

    /// Real headers survive CBOR → Lotus JSON → CBOR with identical bytes.
    #[test]
    fn fixture_headers_roundtrip_through_json() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/export40.car"
        );
        let file = std::fs::File::open(path).expect("fixture present");
        let mut n = 0;
        for block in CarReader::new(std::io::BufReader::new(file)).expect("car") {
            let block = block.expect("block");
            let Ok(h) = BlockHeader::decode(&block.data) else {
                continue;
            };
            let json = serde_json::to_string(&BlockHeaderJson::try_from(&h).expect("to json"))
                .expect("serialize");
            let back: BlockHeaderJson = serde_json::from_str(&json).expect("parse");
            let back = BlockHeader::try_from(back).expect("from json");
            assert_eq!(back.encode(), block.data, "{json}");
            n += 1;
        }
        assert!(n >= 40);
    }
}
