//! Chain semantics: block headers, tipsets, the snapshot window rules and the
//! Lotus export walk order that decides which objects a snapshot holds and in
//! what order.

mod header;
mod tipset;
mod walk;
mod walk_cid;
mod walk_graph;
mod window;

pub use header::{
    BeaconEntry, BlockHeader, ElectionProof, HeaderDecodeError, PoStProof, Signature, Ticket,
};
pub use tipset::{Tipset, TipsetError, TipsetKey};
pub use walk::{
    tipset_at_or_below, tipset_height, Emitted, LinkKind, MissingBlock, SnapshotWalk, WalkError,
    WalkStats,
};
pub use window::SnapshotWindow;
