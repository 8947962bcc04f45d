//! Persisting the store across daemon restarts: every block with its count and
//! kind, plus live pins, in a framed stream restored exactly.
//!
//! Format (all integers little-endian):
//! `"FILFILDG" ‖ version u32 ‖ entries u64 ‖ entries × (kind u8 ‖ count u64 ‖
//! cid_len u32 ‖ cid ‖ data_len u32 ‖ data) ‖ pins u64 ‖ pins × (n u64 ‖ n ×
//! (cid_len u32 ‖ cid)) ‖ blake2b-256 of everything before it`.
//! Loading verifies the checksum, every block's hash, and that every edge and pin
//! names a held block, before handing the store out, so a bad file never yields a half-loaded store.

use std::io::{self, Read, Write};
use std::path::Path;

use cid::Cid;

use super::arena::ArenaFull;
use super::edges::push_edges;
use super::integrity::IntegrityError;
use super::key::{Key, LinkKind};
use super::refs::PinGuard;
use super::state::State;
use super::store::{DagConfig, DagStore};
use crate::ipld::{is_exported_codec, is_identity, scan_links_at, verify_block, VerifyError};

const MAGIC: &[u8; 8] = b"FILFILDG";
const VERSION: u32 = 1;

/// Why a checkpoint could not be written or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing failed (including a truncated file).
    #[error("checkpoint I/O: {0}")]
    Io(#[from] io::Error),
    /// Not a checkpoint file.
    #[error("not a fil-fil DAG checkpoint (bad magic)")]
    BadMagic,
    /// Written by an incompatible version.
    #[error("unsupported checkpoint version {0}")]
    Version(u32),
    /// The trailing checksum does not match the content.
    #[error("checkpoint checksum mismatch")]
    Checksum,
    /// A record is malformed.
    #[error("corrupt checkpoint: {0}")]
    Corrupt(String),
    /// A block's bytes do not match its CID.
    #[error("checkpoint block {cid}: {source}")]
    Verify {
        /// The block.
        cid: Cid,
        /// Why.
        #[source]
        source: VerifyError,
    },
    /// The restored store violates an invariant.
    #[error("checkpoint is inconsistent: {0}")]
    Integrity(#[from] IntegrityError),
    /// The arena cannot hold the checkpoint.
    #[error(transparent)]
    Full(#[from] ArenaFull),
}

struct Hashing<T> {
    inner: T,
    state: blake2b_simd::State,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Hashing {
            inner,
            state: blake2b_simd::Params::new().hash_length(32).to_state(),
        }
    }

    fn digest(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.state.finalize().as_bytes());
        out
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.state.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.state.update(&buf[..n]);
        Ok(n)
    }
}

fn write_bytes(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| io::Error::other("record over 4 GiB"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(bytes)
}

fn read_array<const N: usize>(r: &mut impl Read) -> io::Result<[u8; N]> {
    let mut out = [0u8; N];
    r.read_exact(&mut out)?;
    Ok(out)
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    Ok(u64::from_le_bytes(read_array(r)?))
}

fn read_bytes(r: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<()> {
    let len = u32::from_le_bytes(read_array(r)?) as usize;
    buf.clear();
    // `take` bounds the allocation by what the input actually holds.
    r.take(len as u64).read_to_end(buf)?;
    if buf.len() != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn read_cid(r: &mut impl Read, buf: &mut Vec<u8>) -> Result<Cid, CheckpointError> {
    read_bytes(r, buf)?;
    Cid::try_from(buf.as_slice()).map_err(|e| CheckpointError::Corrupt(format!("bad CID: {e}")))
}

impl DagStore {
    /// Writes the whole store to `w`. Waits for a running link/unlink, then holds
    /// the read lock while writing (reads continue, mutations wait).
    pub async fn write_checkpoint(
        &self,
        w: &mut (impl Write + Send),
    ) -> Result<(), CheckpointError> {
        let _writer = self.shared.writer.lock().await;
        self.apply_deferred();
        let state = self.shared.state.read();
        // Buffer *before* hashing so the hash sees large chunks, not 1-byte fields.
        let mut out = io::BufWriter::with_capacity(1 << 20, Hashing::new(w));
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&(state.len() as u64).to_le_bytes())?;
        for (key, entry) in state.iter() {
            out.write_all(&[entry.kind.bits() as u8])?;
            out.write_all(&entry.rc.to_le_bytes())?;
            write_bytes(&mut out, &key.to_cid().to_bytes())?;
            write_bytes(&mut out, state.data(&entry))?;
        }
        out.write_all(&(state.pins.len() as u64).to_le_bytes())?;
        let mut pins: Vec<_> = state.pins.iter().collect();
        pins.sort_by_key(|(id, _)| **id);
        for (_, cids) in pins {
            out.write_all(&(cids.len() as u64).to_le_bytes())?;
            for cid in cids {
                write_bytes(&mut out, &cid.to_bytes())?;
            }
        }
        let hashed = out.into_inner().map_err(|e| e.into_error())?;
        let digest = hashed.digest();
        hashed.inner.write_all(&digest)?;
        hashed.inner.flush()?;
        Ok(())
    }

    /// Writes a checkpoint to `path` via a temporary file in the same directory,
    /// renamed into place once complete.
    pub async fn save_checkpoint(&self, path: &Path) -> Result<(), CheckpointError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = tempfile::NamedTempFile::new_in(dir)?;
        let mut w = io::BufWriter::new(tmp);
        self.write_checkpoint(&mut w).await?;
        let tmp = w.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Restores a store written by [`DagStore::write_checkpoint`], returning the
    /// pins that were live then as guards (drop them to release).
    pub fn read_checkpoint(
        r: impl Read,
        config: DagConfig,
    ) -> Result<(DagStore, Vec<PinGuard>), CheckpointError> {
        let mut r = Hashing::new(r);
        if &read_array::<8>(&mut r)? != MAGIC {
            return Err(CheckpointError::BadMagic);
        }
        let version = u32::from_le_bytes(read_array(&mut r)?);
        if version != VERSION {
            return Err(CheckpointError::Version(version));
        }
        let mut state = State::new(config.segment_bytes);
        let spine = config.spine.clone();
        let spine = spine.as_deref();
        let mut buf = Vec::new();
        let mut edges = Vec::new();
        let entries = read_u64(&mut r)?;
        for _ in 0..entries {
            let [kind] = read_array::<1>(&mut r)?;
            let kind = LinkKind::from_bits(u64::from(kind))
                .ok_or_else(|| CheckpointError::Corrupt(format!("unknown kind {kind}")))?;
            let rc = read_u64(&mut r)?;
            let cid = read_cid(&mut r, &mut buf)?;
            read_bytes(&mut r, &mut buf)?;
            let key = Key::of(&cid);
            if rc == 0 || is_identity(&cid) || state.get(&key).is_some() {
                return Err(CheckpointError::Corrupt(format!("bad entry for {cid}")));
            }
            verify_block(&cid, &buf).map_err(|source| CheckpointError::Verify { cid, source })?;
            edges.clear();
            let listed = push_edges(&cid, kind, &buf, spine, &mut edges)
                .map_err(|source| IntegrityError::Edges { cid, source })?;
            let loc = state.alloc_record(&buf, listed.then_some(edges.len()))?;
            state.index(&key, kind, rc, loc);
        }
        fill_child_ids(&mut state)?;
        let mut pins = Vec::new();
        for _ in 0..read_u64(&mut r)? {
            let n = read_u64(&mut r)?;
            let cids = (0..n)
                .map(|_| read_cid(&mut r, &mut buf))
                .collect::<Result<Vec<_>, _>>()?;
            pins.push(cids);
        }
        let expected = r.digest();
        if read_array::<32>(&mut r.inner)? != expected {
            return Err(CheckpointError::Checksum);
        }
        // Counts on disk include the pins: register them without adding again.
        let ids: Vec<u64> = (1..=pins.len() as u64).collect();
        state.pins.extend(ids.iter().copied().zip(pins));
        let store = DagStore::from_state(config, state);
        store.check(false)?;
        store
            .shared
            .next_pin
            .store(ids.len() as u64 + 1, std::sync::atomic::Ordering::Relaxed);
        let guards = ids.into_iter().map(|id| store.guard(id)).collect();
        Ok((store, guards))
    }

    /// Restores a checkpoint file.
    pub fn load_checkpoint(
        path: &Path,
        config: DagConfig,
    ) -> Result<(DagStore, Vec<PinGuard>), CheckpointError> {
        let file = std::fs::File::open(path)?;
        DagStore::read_checkpoint(io::BufReader::new(file), config)
    }
}

/// Writes every restored block's child list: its children's new locations (only
/// known once every block is in) and where their CIDs sit in its bytes. A child that is not held gets id 0 here and is
/// reported as dangling by the integrity check that follows.
fn fill_child_ids(state: &mut State) -> Result<(), IntegrityError> {
    let lists: Vec<u64> = state
        .iter()
        .map(|(_, entry)| entry.loc)
        .filter(|loc| state.node(*loc).children.is_some())
        .collect();
    let mut ids = Vec::new();
    for loc in lists {
        ids.clear();
        // Listed blocks are dag-cbor DAG nodes without inline dag-cbor links, so
        // their edges are their stored-codec, non-identity links.
        let data = state.node(loc).data;
        scan_links_at(data, |c, at| {
            if !is_identity(&c) && is_exported_codec(c.codec()) {
                ids.push((state.get(&Key::of(&c)).map_or(0, |e| e.loc), at));
            }
        })
        .map_err(|source| IntegrityError::Edges {
            cid: Cid::default(),
            source: source.into(),
        })?;
        state.set_children(loc, ids.iter().copied());
    }
    Ok(())
}
