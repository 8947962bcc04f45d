//! Streaming, multi-threaded commP: bytes in, [`PieceCommitment`] out.
//!
//! Input is cut into fixed chunks of 2^k quads. Each chunk is an aligned,
//! independent subtree, so a batch of chunks is hashed in parallel on a rayon
//! pool and the chunk roots are folded in order by a [`TreeBuilder`]. Only the
//! current batch (plus one being read, for readers) is ever in memory.

use std::io::{ErrorKind, Read};
use std::sync::mpsc;
use std::sync::Arc;

use rayon::prelude::*;

use super::fr32::QUAD_BYTES;
use super::size::{padded_size, MAX_PAYLOAD};
use super::tree::{QuadHasher, TreeBuilder, QUAD_LEVEL};
use super::{CommpError, PieceCommitment};

/// Tuning knobs; the defaults suit files from kilobytes to 64 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommpOptions {
    /// Hashing threads; 0 means one per available core.
    pub threads: usize,
    /// log2 of quads per parallel chunk. 13 gives ~1 MiB chunks: large enough that
    /// per-chunk overhead vanishes, small enough to balance across cores.
    pub chunk_quads_log2: u32,
    /// Chunks per batch handed to the pool; 0 picks 8 per thread.
    pub chunks_per_batch: usize,
}

impl Default for CommpOptions {
    fn default() -> Self {
        Self {
            threads: 0,
            chunk_quads_log2: 13,
            chunks_per_batch: 0,
        }
    }
}

impl CommpOptions {
    /// Options using exactly `threads` hashing threads.
    pub fn with_threads(threads: usize) -> Self {
        Self {
            threads,
            ..Self::default()
        }
    }
}

/// Incremental commP over a byte stream.
#[derive(Debug)]
pub struct CommpHasher {
    pool: Option<Arc<rayon::ThreadPool>>,
    chunk_bytes: usize,
    chunk_level: usize,
    batch_bytes: usize,
    /// Bytes of an unfinished batch (always shorter than `batch_bytes`).
    pending: Vec<u8>,
    tree: TreeBuilder,
    quads: QuadHasher,
    payload: u64,
}

impl CommpHasher {
    /// A hasher with its own thread pool (none when one thread is asked for).
    pub fn new(options: CommpOptions) -> Result<Self, CommpError> {
        let threads = match options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pool = if threads > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("commp-{i}"))
                .build()
                .map_err(|e| CommpError::ThreadPool(e.to_string()))?;
            Some(Arc::new(pool))
        } else {
            None
        };
        let log2 = options.chunk_quads_log2.min(30);
        let chunk_bytes = QUAD_BYTES << log2;
        let per_batch = match options.chunks_per_batch {
            0 => (8 * threads).clamp(8, 256),
            n => n,
        };
        Ok(Self {
            pool,
            chunk_bytes,
            chunk_level: log2 as usize + QUAD_LEVEL,
            batch_bytes: chunk_bytes * per_batch,
            pending: Vec::new(),
            tree: TreeBuilder::default(),
            quads: QuadHasher::default(),
            payload: 0,
        })
    }

    /// Payload bytes consumed so far.
    pub fn payload_size(&self) -> u64 {
        self.payload
    }

    /// Feed more payload.
    pub fn update(&mut self, mut data: &[u8]) {
        self.payload = self.payload.saturating_add(data.len() as u64);
        while !data.is_empty() {
            if self.pending.is_empty() && data.len() >= self.batch_bytes {
                // Whole batches straight from the caller's buffer: no copy.
                let (batch, rest) = data.split_at(self.batch_bytes);
                self.absorb_chunks(batch);
                data = rest;
                continue;
            }
            let room = self.batch_bytes - self.pending.len();
            let (head, rest) = data.split_at(room.min(data.len()));
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(self.batch_bytes);
            }
            self.pending.extend_from_slice(head);
            data = rest;
            if self.pending.len() == self.batch_bytes {
                let batch = std::mem::take(&mut self.pending);
                self.absorb_chunks(&batch);
                self.pending = batch;
                self.pending.clear();
            }
        }
    }

    /// Feed everything `reader` yields, reading the next batch on a helper thread
    /// while the pool hashes the current one. `progress` gets the running total.
    pub fn update_from_reader<R: Read + Send>(
        &mut self,
        mut reader: R,
        mut progress: impl FnMut(u64),
    ) -> Result<(), CommpError> {
        let batch_bytes = self.batch_bytes;
        // Two buffers circulate: one being filled, one being hashed.
        let (full_tx, full_rx) = mpsc::sync_channel::<std::io::Result<(Vec<u8>, usize)>>(1);
        let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(2);
        for _ in 0..2 {
            // Cannot fail: the receiver is alive and the channel has room for both.
            let _ = free_tx.send(vec![0u8; batch_bytes]);
        }
        std::thread::scope(|scope| {
            // Owned by this closure so an early return drops both ends and the
            // reader thread stops instead of blocking the scope's join.
            let (free_tx, full_rx) = (free_tx, full_rx);
            scope.spawn(move || {
                while let Ok(mut buf) = free_rx.recv() {
                    let filled = read_full(&mut reader, &mut buf);
                    let done = !matches!(filled, Ok(n) if n == buf.len());
                    if full_tx.send(filled.map(|n| (buf, n))).is_err() || done {
                        return;
                    }
                }
            });
            loop {
                let Ok(msg) = full_rx.recv() else {
                    return Ok(());
                };
                let (buf, n) = msg?;
                self.update(&buf[..n]);
                progress(self.payload);
                if n < buf.len() {
                    return Ok(());
                }
                // The reader may already have quit after its final, short read;
                // whatever it sent is still queued, so keep draining.
                let _ = free_tx.send(buf);
            }
        })
    }

    /// The commitment of everything fed so far.
    pub fn finish(mut self) -> Result<PieceCommitment, CommpError> {
        if self.payload > MAX_PAYLOAD {
            return Err(CommpError::TooLarge(self.payload));
        }
        let padded = padded_size(self.payload).ok_or(CommpError::TooLarge(self.payload))?;
        let tail = std::mem::take(&mut self.pending);
        let whole = tail.len() / self.chunk_bytes * self.chunk_bytes;
        self.absorb_chunks(&tail[..whole]);
        let mut rest = &tail[whole..];
        while rest.len() >= QUAD_BYTES {
            let (quad, more) = rest.split_at(QUAD_BYTES);
            let node = self.quads.partial_quad(quad);
            self.tree.push(QUAD_LEVEL, node);
            rest = more;
        }
        if !rest.is_empty() {
            let node = self.quads.partial_quad(rest);
            self.tree.push(QUAD_LEVEL, node);
        }
        let target = padded.trailing_zeros() as usize - 5;
        Ok(PieceCommitment {
            payload_size: self.payload,
            padded_size: padded,
            root: self.tree.finish(target),
        })
    }

    /// Hash whole chunks (`data.len()` a multiple of `chunk_bytes`) and fold their roots.
    fn absorb_chunks(&mut self, data: &[u8]) {
        let roots: Vec<_> = match &self.pool {
            Some(pool) => pool.install(|| {
                data.par_chunks(self.chunk_bytes)
                    .map_init(QuadHasher::default, |h, chunk| h.subtree(chunk).0)
                    .collect()
            }),
            None => data
                .chunks(self.chunk_bytes)
                .map(|chunk| self.quads.subtree(chunk).0)
                .collect(),
        };
        for root in roots {
            self.tree.push(self.chunk_level, root);
        }
    }
}

/// Read until `buf` is full or the stream ends; pipes return short reads.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
