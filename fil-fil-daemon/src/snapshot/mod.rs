//! Chain snapshots as files: export (the Lotus walk into CARv1, FRC-0108 v2,
//! zstd), import of every CAR layout a snapshot comes in, and the FRC-0108
//! metadata block.

mod export;
mod import;
mod metadata;
mod pipe;
pub mod synthetic;
mod writeback;

pub use export::{
    export, export_to_path, Compression, ExportError, ExportOptions, ExportSummary, F3Blob,
    SnapshotFormat, DEFAULT_ZSTD_LEVEL,
};
pub use import::{import_into, import_reader_into, import_to_map, ImportError, ImportSummary};
pub use metadata::{f3_blob_cid, SnapshotMetadata, SNAPSHOT_VERSION_2};
pub use writeback::{WritebackFile, KICK_BYTES};
