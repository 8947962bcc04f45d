//! Hash verification: a block is only trusted once its bytes hash to its CID.

use cid::Cid;
use sha2::Digest;

use super::{BLAKE2B_256, DAG_CBOR, IDENTITY, SHA2_256};

/// Why a block failed verification against its CID.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The bytes hash to something else than the CID's digest.
    #[error("block bytes do not hash to {cid}")]
    HashMismatch {
        /// The CID the bytes claimed to be.
        cid: Cid,
    },
    /// The CID uses a multihash this implementation cannot compute.
    #[error("unsupported multihash code {code:#x} in {cid}")]
    UnsupportedHash {
        /// The offending CID.
        cid: Cid,
        /// Its multihash code.
        code: u64,
    },
}

/// Checks that `data` is the block named by `cid`.
pub fn verify_block(cid: &Cid, data: &[u8]) -> Result<(), VerifyError> {
    let mh = cid.hash();
    let ok = match mh.code() {
        BLAKE2B_256 => blake2b_256(data)[..] == *mh.digest(),
        SHA2_256 => sha2::Sha256::digest(data)[..] == *mh.digest(),
        IDENTITY => data == mh.digest(),
        code => return Err(VerifyError::UnsupportedHash { cid: *cid, code }),
    };
    if ok {
        Ok(())
    } else {
        Err(VerifyError::HashMismatch { cid: *cid })
    }
}

/// Blake2b-256 digest, the hash of Filecoin chain objects.
pub fn blake2b_256(data: &[u8]) -> [u8; 32] {
    let hash = blake2b_simd::Params::new().hash_length(32).hash(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.as_bytes());
    out
}

/// The CID Filecoin gives a DAG-CBOR block: CIDv1, dag-cbor, blake2b-256.
pub fn block_cid(data: &[u8]) -> Cid {
    let digest = blake2b_256(data);
    // A 32-byte digest always fits the 64-byte multihash.
    let mh = cid::multihash::Multihash::<64>::wrap(BLAKE2B_256, &digest)
        .unwrap_or_else(|_| unreachable!("32-byte digest fits a 64-byte multihash"));
    Cid::new_v1(DAG_CBOR, mh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_mismatch() {
        let data = b"\x82\x01\x02";
        let cid = block_cid(data);
        assert_eq!(verify_block(&cid, data), Ok(()));
        assert_eq!(
            verify_block(&cid, b"\x82\x01\x03"),
            Err(VerifyError::HashMismatch { cid })
        );
    }
}
