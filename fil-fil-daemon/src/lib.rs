//! fil-fil: follows a Lotus node, keeps exactly the DAG a Filecoin chain snapshot
//! needs in a reference-counted in-memory store, and writes snapshots whose bytes
//! equal `lotus chain export` for the same head and depth.
//!
//! Layers, lowest first (a module only imports modules before it in this list):
//! `ipld` (CIDs, hashing, CBOR link scanning) → `car` (file formats) → `dag`
//! (refcounted store) → `chain` (headers, tipsets, window rules) → `snapshot`
//! (export/import) and `commp` (piece commitments) → `lotus` (RPC types/client)
//! → `devnet` → `daemon` → `api` → `cli`.

pub mod api;
pub mod car;
pub mod chain;
pub mod cli;
pub mod commp;
pub mod daemon;
pub mod dag;
pub mod devnet;
pub mod ipld;
pub mod lotus;
pub mod parts;
pub mod snapshot;
