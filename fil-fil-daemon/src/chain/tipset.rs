//! Tipsets and tipset keys. A tipset's block order is consensus-relevant: Lotus
//! sorts blocks by the blake2b digest of their ticket's VRF proof (ties broken by
//! CID bytes), and that order is the snapshot's root list and every child's
//! `parents` field, so we reproduce it exactly.

use std::cmp::Ordering;
use std::fmt;

use cid::Cid;

use super::BlockHeader;
use crate::ipld::blake2b_256;

/// The ordered CIDs of a tipset's blocks: how tipsets are named on chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TipsetKey(Vec<Cid>);

impl TipsetKey {
    /// Wraps CIDs already in tipset order (from a header's `parents` or CAR roots).
    pub fn new(cids: Vec<Cid>) -> Self {
        Self(cids)
    }

    /// The block CIDs, in tipset order.
    pub fn cids(&self) -> &[Cid] {
        &self.0
    }

    /// True for the empty key (no blocks).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for TipsetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, cid) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{cid}")?;
        }
        f.write_str("}")
    }
}

/// Why a set of headers does not form a tipset.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TipsetError {
    /// No blocks were given.
    #[error("a tipset needs at least one block")]
    Empty,
    /// Blocks disagree on height.
    #[error("block {cid} has height {found}, tipset has {expected}")]
    HeightMismatch {
        /// The disagreeing block.
        cid: Cid,
        /// Its height.
        found: i64,
        /// The first block's height.
        expected: i64,
    },
    /// Blocks disagree on parents.
    #[error("block {cid} has different parents than the rest of the tipset")]
    ParentsMismatch {
        /// The disagreeing block.
        cid: Cid,
    },
}

/// A validated tipset: headers of one height sharing parents, in Lotus order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tipset {
    key: TipsetKey,
    headers: Vec<BlockHeader>,
}

impl Tipset {
    /// Builds a tipset from `(cid, header)` pairs in any order, sorting them as
    /// Lotus `NewTipSet` does.
    pub fn new(mut blocks: Vec<(Cid, BlockHeader)>) -> Result<Self, TipsetError> {
        blocks.sort_by(|(ca, a), (cb, b)| lotus_block_order(ca, a, cb, b));
        let Some((_, first)) = blocks.first() else {
            return Err(TipsetError::Empty);
        };
        for (cid, header) in &blocks[1..] {
            if header.height != first.height {
                return Err(TipsetError::HeightMismatch {
                    cid: *cid,
                    found: header.height,
                    expected: first.height,
                });
            }
            if header.parents != first.parents {
                return Err(TipsetError::ParentsMismatch { cid: *cid });
            }
        }
        let (cids, headers) = blocks.into_iter().unzip();
        Ok(Self {
            key: TipsetKey(cids),
            headers,
        })
    }

    /// The tipset's key (block CIDs in order).
    pub fn key(&self) -> &TipsetKey {
        &self.key
    }

    /// The headers, in tipset order.
    pub fn headers(&self) -> &[BlockHeader] {
        &self.headers
    }

    /// The tipset's epoch.
    pub fn height(&self) -> i64 {
        self.headers.first().map_or(0, |h| h.height)
    }

    /// The parent tipset's key.
    pub fn parents(&self) -> TipsetKey {
        TipsetKey(
            self.headers
                .first()
                .map(|h| h.parents.clone())
                .unwrap_or_default(),
        )
    }
}

/// Lotus `tipsetSortFunc`: by blake2b-256 of the ticket's VRF proof, falling back
/// to CID bytes when tickets are equal (a missing ticket equals a missing ticket).
fn lotus_block_order(ca: &Cid, a: &BlockHeader, cb: &Cid, b: &BlockHeader) -> Ordering {
    let ta = a.ticket.as_ref().map(|t| &t.vrf_proof);
    let tb = b.ticket.as_ref().map(|t| &t.vrf_proof);
    if ta == tb {
        return ca.to_bytes().cmp(&cb.to_bytes());
    }
    let digest = |t: Option<&Vec<u8>>| blake2b_256(t.map_or(&[][..], |v| v));
    digest(ta).cmp(&digest(tb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::car::CarReader;
    use std::collections::HashMap;

    fn fixture_headers() -> HashMap<Cid, BlockHeader> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/export40.car"
        );
        let reader = CarReader::new(std::io::BufReader::new(
            std::fs::File::open(path).expect("fixture"),
        ))
        .expect("car");
        let mut headers = HashMap::new();
        for block in reader {
            let block = block.expect("block");
            if let Ok(h) = BlockHeader::decode(&block.data) {
                headers.insert(block.cid, h);
            }
        }
        headers
    }

    /// Regrouping a real chain's headers by parent key and sorting them must give
    /// back exactly the `parents` lists Lotus wrote into the children.
    #[test]
    fn sort_matches_parent_keys_in_fixture() {
        let headers = fixture_headers();
        let mut checked = 0;
        let mut multi = 0;
        for child in headers.values() {
            let Some(members): Option<Vec<_>> = child
                .parents
                .iter()
                .map(|c| headers.get(c).map(|h| (*c, h.clone())))
                .collect()
            else {
                continue;
            };
            let mut shuffled = members;
            shuffled.reverse();
            let ts = Tipset::new(shuffled).expect("valid tipset");
            assert_eq!(ts.key().cids(), &child.parents[..]);
            checked += 1;
            multi += usize::from(child.parents.len() > 1);
        }
        assert!(
            checked > 30 && multi > 0,
            "checked {checked}, multi {multi}"
        );
    }

    #[test]
    fn rejects_empty_and_mixed_blocks() {
        assert_eq!(Tipset::new(vec![]), Err(TipsetError::Empty));
        let headers = fixture_headers();
        let pick = |height: i64| {
            headers
                .iter()
                .find(|(_, h)| h.height == height)
                .map(|(c, h)| (*c, h.clone()))
                .expect("height present in fixture")
        };
        assert!(matches!(
            Tipset::new(vec![pick(1), pick(2)]),
            Err(TipsetError::HeightMismatch { .. })
        ));
    }
}
