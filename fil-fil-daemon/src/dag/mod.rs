//! The DAG store: a reference-counted, content-addressed block store holding
//! exactly what the snapshot window needs (saaf-style indirect counting: a block's
//! count is the edges into it from held blocks plus direct links and pins).
//!
//! - [`DagStore::link`] / [`DagStore::link_many`]: take references, fetching what
//!   is missing from an async batch [`BlockSource`]; atomic.
//! - [`DagStore::link_in_parts`]: the same for multi-GB DAGs (bootstrap), in
//!   slices so staging stays small.
//! - [`DagStore::unlink`]: drop references, freeing blocks that reach zero.
//! - [`DagStore::pin`]: snapshot isolation for exports ([`PinGuard`]).
//! - [`LinkKind::Spine`]: headers linked into the spine hold only their parents.
//! - Checkpoints restore the exact store on daemon restart.
//!
//! How the daemon drives it (one writer; readers run concurrently):
//! - apply a tipset: `link_many` with each header as [`LinkKind::Spine`] and its
//!   messages and parent state root as [`LinkKind::Dag`], in one call;
//! - a tipset leaves the window: `unlink_many` its state root (and messages);
//! - revert: `unlink_many` exactly what the reverted apply linked;
//! - snapshot: `pin` every root the export will walk (the head headers hold all
//!   ancestor headers, but *not* their messages or state, so pin those roots
//!   too), export through [`BlockGet`](crate::ipld::BlockGet), drop the guard.
//!
//! Layout for ~10^8 objects: digests in a sharded ordered-probing index
//! (`table`), other CID forms in a side map, payloads in 64 MiB arena segments
//! with size-class free lists (`arena`).

// Errors carry whole CIDs (~100 bytes) so they can name the block; they are
// cold paths, so their size does not matter.
#![allow(clippy::result_large_err)]

mod arena;
mod checkpoint;
mod edges;
mod error;
mod integrity;
mod key;
mod link;
mod memory;
mod parts;
mod refs;
mod source;
mod state;
mod store;
mod table;

pub use arena::{ArenaFull, MAX_SEGMENT_BYTES};
pub use checkpoint::CheckpointError;
pub use edges::{EdgeError, EdgeSelector};
pub use error::{LinkError, RefError};
pub use integrity::{IntegrityError, IntegrityReport};
pub use key::LinkKind;
pub use link::LinkStats;
pub use parts::PartsError;
pub use refs::{PinGuard, UnlinkStats};
pub use source::{BlockGetSource, BlockSource, SourceError};
/// The DAG store's read view, the concrete type behind its
/// [`GraphView`](crate::ipld::GraphView)s (the export walk is compiled for it).
pub(crate) use state::State as StoreView;

/// `view` as the DAG store's own view, if it is one: for readers with a path
/// compiled for it, so record reads inline instead of going through the vtable.
pub(crate) fn store_view(view: &dyn crate::ipld::GraphView) -> Option<&StoreView> {
    view.as_any()?.downcast_ref()
}
pub use store::{Counters, DagConfig, DagStore, MemoryStats};
