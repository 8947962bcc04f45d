//! Chain semantics: block headers and the rules deciding which objects belong in a
//! snapshot window.

mod header;

pub use header::{
    BeaconEntry, BlockHeader, ElectionProof, HeaderDecodeError, PoStProof, Signature, Ticket,
};
