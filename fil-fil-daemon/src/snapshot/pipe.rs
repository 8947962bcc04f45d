//! The export's output pipeline. The walk writes CAR bytes into large chunks;
//! a gather thread fills in the blocks the walk left out, and an output thread
//! writes the chunks, so the kernel's copying (and, for files, the disk) runs
//! alongside the walk instead of after each piece of it.
//!
//! With an id graph the walk does not read leaf blocks at all (about half of
//! all blocks): it knows a leaf's length from its parent's child list, so it
//! writes the section's length and CID and leaves a hole of the block's size
//! ([`Pipe::defer_section`]), and the gather thread copies the bytes from the
//! store into the hole. Small blocks the walk reads anyway, to follow their
//! links, it writes whole ([`Pipe::write_section`]) while their bytes are in its
//! cache; larger ones it defers too. Holes are filled where they are, so every
//! byte of the output is copied once on its way to the kernel.
//! Ids stay valid because an export pins what it walks.
//!
//! Chunks travel walk → gather → output and back to the walk for reuse, so
//! steady state allocates nothing.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dag::store_view;
use crate::ipld::{BlockGraph, GraphView};

/// Output bytes per chunk (a section that does not fit starts a new chunk; a
/// block larger than a chunk gets a chunk of its own size). Small enough that
/// the dozen or so chunks in flight can stay in the shared cache between the
/// walk, the gather copy and the kernel's copy (1 MiB measured a few percent
/// faster than 4 MiB); large enough that a `write` per chunk costs little.
pub(super) const CHUNK: usize = 1 << 20;
/// Full chunks queued ahead of each of the gather and output threads (bounds
/// memory to a few chunks).
const QUEUE: usize = 4;
/// How many holes ahead of its copy the gather thread prefetches records.
const GATHER_AHEAD: usize = 8;
/// A u64 varint takes at most 10 bytes.
const MAX_VARINT: usize = 10;

/// A block's bytes the gather thread copies from the store into a chunk.
#[derive(Debug, Clone, Copy)]
struct Hole {
    /// Position in [`Chunk::bytes`] of the block's bytes.
    at: usize,
    len: usize,
    id: u64,
}

/// Output in transit: `bytes[..len]` is output, with holes the gather thread
/// fills. `bytes` keeps its size across reuse, so writing into it never
/// zeroes or reallocates; what a hole holds before it is filled is whatever an
/// earlier use left there, and the gather thread overwrites all of it.
#[derive(Debug)]
struct Chunk {
    bytes: Vec<u8>,
    len: usize,
    holes: Vec<Hole>,
}

impl Chunk {
    fn new() -> Self {
        Self {
            bytes: vec![0; CHUNK],
            len: 0,
            holes: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.holes.clear();
    }

    fn output(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The walk's end of the pipeline.
pub(super) struct Pipe {
    chunk: Chunk,
    deferrable: bool,
    full: Option<SyncSender<Chunk>>,
    empty: Receiver<Chunk>,
    written: Arc<AtomicU64>,
    /// Time the walk waited for room in the gather thread's queue.
    blocked: Duration,
}

/// Runs `body` with a [`Pipe`] whose bytes two scoped threads write out: a
/// gather thread fills deferred blocks from `graph` into the chunks, and an
/// output thread writes those to the writer `open` makes of `out` (on that
/// thread: a zstd stream, say). Returns the finished writer with `body`'s
/// result and the bytes written to the sink. `body` must hand the pipe back (or
/// drop it) so the last chunk is flushed. An error on either thread surfaces as
/// the error of the whole call.
///
/// Gathering and writing are on separate threads because a file `write` spends
/// much of its time blocked: once the dirty pages reach the kernel's limit it
/// sleeps until the disk catches up. On one thread the next gather waited for
/// that sleep, so the walk, the gather and the disk took turns; now the gather
/// of the next chunk runs while the last one is being written.
pub(super) fn with_pipe<W, S, T, E>(
    out: W,
    graph: Option<&dyn BlockGraph>,
    open: impl FnOnce(W) -> io::Result<S> + Send,
    close: impl FnOnce(S) -> io::Result<W> + Send,
    body: impl FnOnce(Pipe) -> Result<(T, Pipe), E>,
) -> Result<(W, T, u64), E>
where
    W: Write + Send,
    S: Write,
    E: From<io::Error>,
{
    let written = Arc::new(AtomicU64::new(0));
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = sync_channel::<Chunk>(QUEUE);
        let (out_tx, out_rx) = sync_channel::<Chunk>(QUEUE);
        let (empty_tx, empty_rx) = channel::<Chunk>();
        let counter = Arc::clone(&written);
        let output = scope.spawn(move || {
            let sink = Counting(open(out)?, &counter);
            let (Counting(sink, _), write_ms) = write_out(sink, out_rx, empty_tx)?;
            let out = close(sink);
            tracing::debug!(
                cpu_ms = thread_cpu_ms(),
                write_ms,
                "export output thread done"
            );
            out
        });
        let gather = scope.spawn(move || {
            let done = gather_all(graph, full_rx, out_tx);
            tracing::debug!(cpu_ms = thread_cpu_ms(), "export gather thread done");
            done
        });
        let pipe = Pipe {
            chunk: Chunk::new(),
            deferrable: graph.is_some(),
            full: Some(full_tx),
            empty: empty_rx,
            written: Arc::clone(&written),
            blocked: Duration::ZERO,
        };
        let walk_started = thread_cpu_ms();
        let mut blocked_ms = 0;
        let result = body(pipe).and_then(|(value, mut pipe)| {
            pipe.finish()?;
            blocked_ms = pipe.blocked.as_millis();
            Ok(value)
        });
        let cpu_ms = thread_cpu_ms() - walk_started;
        tracing::debug!(cpu_ms, blocked_ms, "export walk done");
        // On error the pipe was dropped inside `body`, closing the channel, so
        // both threads end either way (the output thread once the gather
        // thread's end of its channel is gone).
        let gathered = gather
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("snapshot gather thread panicked")));
        let finished = output
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("snapshot writer thread panicked")));
        // The sink's own error explains a broken channel upstream of it, and
        // the threads' errors explain a broken pipe on this side.
        match (result, gathered, finished) {
            (_, _, Err(err)) | (_, Err(err), _) => Err(err.into()),
            (Err(err), Ok(()), Ok(_)) => Err(err),
            (Ok(value), Ok(()), Ok(out)) => Ok((out, value, written.load(Ordering::Relaxed))),
        }
    })
}

/// CPU time the calling thread has used, in milliseconds (for the debug log
/// that shows which pipeline stage limits an export).
fn thread_cpu_ms() -> u128 {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32).as_millis()
    }
    #[cfg(not(target_os = "linux"))]
    0
}

/// The gather thread: fills each chunk's holes from the store and passes the
/// chunk on to the output thread.
fn gather_all(
    graph: Option<&dyn BlockGraph>,
    full: Receiver<Chunk>,
    out: SyncSender<Chunk>,
) -> io::Result<()> {
    for mut chunk in full {
        if let Some(graph) = graph.filter(|_| !chunk.holes.is_empty()) {
            let mut result = Ok(());
            // Not `read_views`: this view must not queue behind a writer
            // waiting on the walk's view, or the walk, blocked on a full
            // queue, would wait for this thread forever.
            graph.with_view(&mut |view| {
                // Compiled for the DAG store's view, as the walk is.
                result = match store_view(view) {
                    Some(store) => fill(&mut chunk, store),
                    None => fill(&mut chunk, view),
                }
            });
            result?;
        }
        out.send(chunk).map_err(|_| closed())?;
    }
    Ok(())
}

/// The output thread: writes chunks in order and hands them back to the walk.
/// Also returns the milliseconds spent inside the sink's writes (CPU, and any
/// wait: dirty-page throttling, a full disk queue, preemption), for the debug
/// log.
fn write_out<S: Write>(
    mut out: S,
    chunks: Receiver<Chunk>,
    empty: Sender<Chunk>,
) -> io::Result<(S, u128)> {
    let mut writing = Duration::ZERO;
    for mut chunk in chunks {
        let started = Instant::now();
        out.write_all(chunk.output())?;
        writing += started.elapsed();
        chunk.clear();
        // The walk may have finished and dropped its end: nothing to reuse then.
        let _ = empty.send(chunk);
    }
    out.flush()?;
    Ok((out, writing.as_millis()))
}

/// Copies every hole's block from `view` into `chunk`.
fn fill<V: GraphView + ?Sized>(chunk: &mut Chunk, view: &V) -> io::Result<()> {
    let Chunk { bytes, holes, .. } = chunk;
    for (i, hole) in holes.iter().enumerate() {
        // The walk did not read leaf records, so they are cold and scattered:
        // start loading a few ahead of the copy.
        if let Some(ahead) = holes.get(i + GATHER_AHEAD) {
            view.prefetch(ahead.id);
        }
        let data = view.node(hole.id).data;
        let into = bytes
            .get_mut(hole.at..hole.at + hole.len)
            .filter(|into| into.len() == data.len())
            .ok_or_else(|| {
                io::Error::other(format!(
                    "export pipe: block {} is {} bytes, but the walk left {} for it",
                    hole.id,
                    data.len(),
                    hole.len
                ))
            })?;
        into.copy_from_slice(data);
    }
    Ok(())
}

/// Counts the bytes that reach the sink, for progress and the summary.
struct Counting<'a, S>(S, &'a AtomicU64);

impl<S: Write> Write for Counting<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.0.write(buf)?;
        self.1.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Pipe {
    /// Whether [`Pipe::defer_section`] may be used (the pipe has the graph).
    pub(super) fn can_defer(&self) -> bool {
        self.deferrable
    }

    /// Appends a CAR section for the graph's block `id` (whose CID is `cid`
    /// and whose bytes are `len` long) without reading the block here: the
    /// section's length and CID go in now, and the gather thread copies the
    /// block's bytes into the hole left after them. Only valid if
    /// [`Pipe::can_defer`].
    #[inline]
    pub(super) fn defer_section(&mut self, cid: &[u8], id: u64, len: usize) -> io::Result<()> {
        self.room(MAX_VARINT + cid.len() + len)?;
        self.put_varint((cid.len() + len) as u64);
        self.put(cid);
        self.chunk.holes.push(Hole {
            at: self.chunk.len,
            len,
            id,
        });
        self.chunk.len += len;
        Ok(())
    }

    /// Appends a whole CAR section, `varint(cid + data) ‖ cid ‖ data`, for a
    /// block whose bytes the walk has at hand (it read them to find links).
    #[inline]
    pub(super) fn write_section(&mut self, cid: &[u8], data: &[u8]) -> io::Result<()> {
        self.room(MAX_VARINT + cid.len() + data.len())?;
        self.put_varint((cid.len() + data.len()) as u64);
        self.put(cid);
        self.put(data);
        Ok(())
    }

    /// Bytes the writer thread has written so far (behind the walk by the
    /// queued chunks).
    pub(super) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Makes room for `need` more bytes in the current chunk: sends it on if
    /// they would take it past [`CHUNK`], and grows it for a section larger
    /// than a chunk.
    #[inline]
    fn room(&mut self, need: usize) -> io::Result<()> {
        if self.chunk.len + need > CHUNK && self.chunk.len > 0 {
            self.send()?;
        }
        let end = self.chunk.len + need;
        if end > self.chunk.bytes.len() {
            self.chunk.bytes.resize(end, 0);
        }
        Ok(())
    }

    /// Copies `data` to the end of the chunk (after [`Pipe::room`] for it).
    #[inline]
    fn put(&mut self, data: &[u8]) {
        let at = self.chunk.len;
        if let Some(into) = self.chunk.bytes.get_mut(at..at + data.len()) {
            into.copy_from_slice(data);
            self.chunk.len += data.len();
        } else {
            debug_assert!(false, "pipe write without room");
        }
    }

    /// Appends `value` as a uvarint. Section lengths of chain blocks take one
    /// or two bytes, written here without the general encoder's loop.
    #[inline]
    fn put_varint(&mut self, value: u64) {
        if value < 0x80 {
            self.put_byte(value as u8);
        } else if value < 1 << 14 {
            self.put_byte(value as u8 | 0x80);
            self.put_byte((value >> 7) as u8);
        } else {
            let mut buf = unsigned_varint::encode::u64_buffer();
            self.put(unsigned_varint::encode::u64(value, &mut buf));
        }
    }

    #[inline]
    fn put_byte(&mut self, byte: u8) {
        self.put(&[byte]);
    }

    fn send(&mut self) -> io::Result<()> {
        if self.chunk.len == 0 {
            return Ok(());
        }
        let next = self.empty.try_recv().unwrap_or_else(|_| Chunk::new());
        let full = std::mem::replace(&mut self.chunk, next);
        let sender = self.full.as_ref().ok_or_else(closed)?;
        let started = Instant::now();
        let sent = sender.send(full).map_err(|_| closed());
        self.blocked += started.elapsed();
        sent
    }

    /// Sends the last chunk and closes the pipe.
    fn finish(&mut self) -> io::Result<()> {
        self.send()?;
        self.full = None;
        Ok(())
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "snapshot writer thread stopped")
}

impl Write for Pipe {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.room(data.len())?;
        self.put(data);
        Ok(())
    }

    /// Chunks are sent when full or at the end; a flush in between would only
    /// make writes smaller.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::car::write_uvarint;

    fn plain<W: Write + Send>(
        out: W,
        body: impl FnOnce(Pipe) -> io::Result<((), Pipe)>,
    ) -> io::Result<W> {
        with_pipe(out, None, Ok, Ok, body).map(|(out, (), _)| out)
    }

    #[test]
    fn bytes_arrive_in_order_across_chunks() {
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let out = plain(Vec::new(), |mut pipe| {
            assert!(!pipe.can_defer());
            for piece in data.chunks(100_003) {
                pipe.write_all(piece)?;
            }
            Ok(((), pipe))
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, data);
    }

    /// Blocks by id, as an id graph hands them out.
    struct Blocks(Vec<Vec<u8>>);

    impl GraphView for Blocks {
        fn resolve(&self, _: &cid::Cid) -> Option<u64> {
            None
        }
        fn node(&self, id: u64) -> crate::ipld::GraphNode<'_> {
            let data = self.0.get(id as usize).map_or(&[][..], Vec::as_slice);
            crate::ipld::GraphNode {
                data,
                children: None,
            }
        }
        fn id_bound(&self) -> u64 {
            self.0.len() as u64
        }
        fn prefetch(&self, _: u64) {}
    }

    impl BlockGraph for Blocks {
        fn read_views(&self, f: &mut dyn FnMut(&dyn GraphView) -> bool) {
            while f(self) {}
        }
        fn with_view(&self, f: &mut dyn FnMut(&dyn GraphView)) {
            f(self)
        }
    }

    #[test]
    fn deferred_sections_are_filled_in_place_across_chunks() {
        let blocks = Blocks(
            (0..600u32)
                .map(|i| vec![i as u8; 20_000 + i as usize])
                .collect(),
        );
        let mut want = Vec::new();
        let (out, (), written) = with_pipe(Vec::new(), Some(&blocks), Ok, Ok, |mut pipe| {
            assert!(pipe.can_defer());
            for (id, data) in blocks.0.iter().enumerate() {
                let cid = [id as u8; 5];
                if id % 3 == 0 {
                    pipe.write_all(b"literal")?;
                    want.extend_from_slice(b"literal");
                }
                pipe.defer_section(&cid, id as u64, data.len())?;
                write_uvarint(&mut want, (cid.len() + data.len()) as u64)?;
                want.extend_from_slice(&cid);
                want.extend_from_slice(data);
            }
            pipe.write_all(b"end")?;
            want.extend_from_slice(b"end");
            Ok::<_, io::Error>(((), pipe))
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(want.len() > 2 * CHUNK);
        assert_eq!(written, want.len() as u64);
        assert!(out == want, "assembled output differs");
    }

    #[test]
    fn a_block_of_another_size_than_its_hole_fails_the_export() {
        let blocks = Blocks(vec![vec![1; 40], vec![2; 41]]);
        let result = with_pipe(Vec::new(), Some(&blocks), Ok, Ok, |mut pipe| {
            pipe.defer_section(b"cid", 0, 40)?;
            pipe.defer_section(b"cid", 1, 40)?;
            Ok::<_, io::Error>(((), pipe))
        });
        let err = result.err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("export pipe: block 1 is 41 bytes, but the walk left 40 for it")
        );
    }

    #[test]
    fn section_lengths_match_the_varint_encoder_at_every_width() {
        let lens = [0, 1, 90, 127, 128, 129, 16_383, 16_384, 16_385, 3 << 20];
        let mut want = Vec::new();
        let out = plain(Vec::new(), |mut pipe| {
            for len in lens {
                let data = vec![7u8; len];
                pipe.write_section(b"c", &data)?;
                write_uvarint(&mut want, len as u64 + 1)?;
                want.extend_from_slice(b"c");
                want.extend_from_slice(&data);
            }
            Ok(((), pipe))
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(out == want, "sections differ from the reference encoding");
    }

    struct Failing;
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_writer_fails_the_call_with_its_error() {
        let result = plain(Failing, |mut pipe| {
            for _ in 0..20 {
                pipe.write_all(&[0u8; CHUNK])?;
            }
            Ok(((), pipe))
        });
        let err = result.err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("disk full"));
    }
}
