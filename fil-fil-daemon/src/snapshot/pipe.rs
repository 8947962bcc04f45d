//! The export's output pipeline. The walk appends CAR bytes to large chunks;
//! a gather thread turns them into output buffers and an output thread writes
//! those, so the kernel's copying (and, for files, the disk) runs alongside the
//! walk instead of after each piece of it.
//!
//! With an id graph the walk does not read leaf blocks at all (about half of
//! all blocks): for each it writes the section's CID and leaves a hole naming
//! the block's id ([`Pipe::defer_section`]), and the gather thread fills in the
//! section length and the bytes from the store. Small blocks the walk reads
//! anyway, to follow their links, it writes whole ([`Pipe::write_section`])
//! while their bytes are in its cache, rather than have the other core load
//! them again; larger ones it defers too.
//! Ids stay valid because an export pins what it walks.
//!
//! Empty chunks and buffers travel back for reuse, so steady state allocates
//! nothing.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;

use crate::car::write_uvarint;
use crate::ipld::{BlockGraph, GraphView};

/// Output bytes per chunk handed to the writer thread.
pub(super) const CHUNK: usize = 4 << 20;
/// Full chunks queued ahead of the writer thread (bounds memory to a few chunks).
const QUEUE: usize = 4;
/// Holes per chunk: with chain objects of a few hundred bytes, about a chunk
/// of output; the writer writes out every [`CHUNK`] bytes whatever the sizes.
const MAX_HOLES: usize = 1 << 15;
/// How many sections ahead of its copy the writer thread prefetches records.
const GATHER_AHEAD: usize = 8;

/// A CAR section whose length and block bytes the writer thread fills in
/// from the store: `varint(cid + data) ‖ cid ‖ data`.
#[derive(Debug, Clone, Copy)]
struct Hole {
    /// Position in [`Chunk::bytes`] of the section's CID (the length goes
    /// before it, the block's bytes after it).
    at: usize,
    cid_len: usize,
    id: u64,
}

/// Output in transit: literal bytes with holes for deferred sections.
#[derive(Debug, Default)]
struct Chunk {
    bytes: Vec<u8>,
    holes: Vec<Hole>,
}

impl Chunk {
    fn with_capacity() -> Self {
        Self {
            bytes: Vec::with_capacity(CHUNK),
            holes: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.holes.clear();
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.holes.is_empty()
    }
}

/// The walk's end of the pipeline.
pub(super) struct Pipe {
    chunk: Chunk,
    deferrable: bool,
    full: Option<SyncSender<Chunk>>,
    empty: Receiver<Chunk>,
    written: Arc<AtomicU64>,
}

/// Runs `body` with a [`Pipe`] whose bytes two scoped threads write out: a
/// gather thread fills deferred sections from `graph` into whole buffers, and an
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
/// of the next buffer runs while the last one is being written.
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
        let (empty_tx, empty_rx) = channel::<Chunk>();
        let (out_tx, out_rx) = sync_channel::<Vec<u8>>(QUEUE);
        let (spare_tx, spare_rx) = channel::<Vec<u8>>();
        let counter = Arc::clone(&written);
        let output = scope.spawn(move || {
            let sink = Counting(open(out)?, &counter);
            let Counting(sink, _) = write_out(sink, out_rx, spare_tx)?;
            let out = close(sink);
            tracing::debug!(cpu_ms = thread_cpu_ms(), "export output thread done");
            out
        });
        let gather = scope.spawn(move || {
            let mut buffers = Buffers {
                out: out_tx,
                spare: spare_rx,
            };
            let done = gather_all(graph, full_rx, empty_tx, &mut buffers);
            tracing::debug!(cpu_ms = thread_cpu_ms(), "export gather thread done");
            done
        });
        let pipe = Pipe {
            chunk: Chunk::with_capacity(),
            deferrable: graph.is_some(),
            full: Some(full_tx),
            empty: empty_rx,
            written: Arc::clone(&written),
        };
        let walk_started = thread_cpu_ms();
        let result = body(pipe).and_then(|(value, mut pipe)| {
            pipe.finish()?;
            Ok(value)
        });
        let cpu_ms = thread_cpu_ms() - walk_started;
        tracing::debug!(cpu_ms, "export walk done");
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
        std::time::Duration::new(t.tv_sec as u64, t.tv_nsec as u32).as_millis()
    }
    #[cfg(not(target_os = "linux"))]
    0
}

/// The gather thread's ends of the channels to the output thread: full
/// buffers go out, written ones come back for reuse.
struct Buffers {
    out: SyncSender<Vec<u8>>,
    spare: Receiver<Vec<u8>>,
}

impl Buffers {
    /// An empty buffer: a written one if the output thread has handed one
    /// back, else a new one (the output channel bounds how many exist).
    fn take(&self) -> Vec<u8> {
        self.spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK + CHUNK / 4))
    }

    /// Sends `buf` to be written, replacing it with an empty one.
    fn send(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        let full = std::mem::replace(buf, self.take());
        self.out.send(full).map_err(|_| closed())
    }
}

/// The gather thread: turns the walk's chunks into output buffers, filling
/// holes from the store, and returns each chunk for reuse.
fn gather_all(
    graph: Option<&dyn BlockGraph>,
    full: Receiver<Chunk>,
    empty: Sender<Chunk>,
    buffers: &mut Buffers,
) -> io::Result<()> {
    let mut buf = buffers.take();
    for mut chunk in full {
        match graph {
            Some(graph) if !chunk.holes.is_empty() => {
                let mut result = Ok(());
                // Not `read_views`: this view must not queue behind a writer
                // waiting on the walk's view, or the walk, blocked on a full
                // queue, would wait for this thread forever.
                graph.with_view(&mut |view| {
                    result = fill(&chunk, view, &mut buf, buffers);
                });
                result?;
            }
            // Literal bytes only: the chunk's buffer goes out as it is.
            _ => {
                if !buf.is_empty() {
                    buffers.send(&mut buf)?;
                }
                buffers.send(&mut chunk.bytes)?;
            }
        }
        chunk.clear();
        // The walk may have finished and dropped its end: nothing to reuse then.
        let _ = empty.send(chunk);
    }
    if !buf.is_empty() {
        buffers.send(&mut buf)?;
    }
    Ok(())
}

/// The output thread: writes buffers in order and hands them back.
fn write_out<S: Write>(
    mut out: S,
    bufs: Receiver<Vec<u8>>,
    spare: Sender<Vec<u8>>,
) -> io::Result<S> {
    for mut buf in bufs {
        out.write_all(&buf)?;
        buf.clear();
        // The gather thread may have finished: nothing to reuse then.
        let _ = spare.send(buf);
    }
    out.flush()?;
    Ok(out)
}

/// Appends `chunk` to `buf` with every hole filled from `view`, sending `buf`
/// to the output thread each time it reaches [`CHUNK`] bytes.
fn fill(
    chunk: &Chunk,
    view: &dyn GraphView,
    buf: &mut Vec<u8>,
    buffers: &Buffers,
) -> io::Result<()> {
    let mut from = 0;
    for (i, hole) in chunk.holes.iter().enumerate() {
        // The walk did not read leaf records, so they are cold and scattered:
        // start loading a few ahead of the copy.
        if let Some(ahead) = chunk.holes.get(i + GATHER_AHEAD) {
            view.prefetch(ahead.id);
        }
        let end = hole.at + hole.cid_len;
        let (Some(literal), Some(cid)) = (
            chunk.bytes.get(from..hole.at),
            chunk.bytes.get(hole.at..end),
        ) else {
            return Err(io::Error::other("export pipe: hole outside its chunk"));
        };
        buf.extend_from_slice(literal);
        let data = view.node(hole.id).data;
        write_uvarint(buf, (cid.len() + data.len()) as u64)?;
        buf.extend_from_slice(cid);
        buf.extend_from_slice(data);
        from = end;
        if buf.len() >= CHUNK {
            buffers.send(buf)?;
        }
    }
    buf.extend_from_slice(chunk.bytes.get(from..).unwrap_or_default());
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

    /// Appends a CAR section for the graph's block `id` (whose CID is `cid`)
    /// without reading the block here: the writer thread writes its length and
    /// copies its bytes from the store. Only valid if [`Pipe::can_defer`].
    pub(super) fn defer_section(&mut self, cid: &[u8], id: u64) -> io::Result<()> {
        if self.chunk.bytes.len() + cid.len() > CHUNK || self.chunk.holes.len() >= MAX_HOLES {
            self.send()?;
        }
        self.chunk.holes.push(Hole {
            at: self.chunk.bytes.len(),
            cid_len: cid.len(),
            id,
        });
        self.chunk.bytes.extend_from_slice(cid);
        Ok(())
    }

    /// Appends a whole CAR section, `varint(cid + data) ‖ cid ‖ data`, for a
    /// block whose bytes the walk has at hand (it read them to find links).
    pub(super) fn write_section(&mut self, cid: &[u8], data: &[u8]) -> io::Result<()> {
        let len = cid.len() + data.len();
        // A u64 varint takes at most 10 bytes.
        if self.chunk.bytes.len() + 10 + len > CHUNK {
            self.send()?;
        }
        let bytes = &mut self.chunk.bytes;
        bytes.reserve(10 + len);
        write_uvarint(bytes, len as u64)?;
        bytes.extend_from_slice(cid);
        bytes.extend_from_slice(data);
        Ok(())
    }

    /// Bytes the writer thread has written so far (behind the walk by the
    /// queued chunks).
    pub(super) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    fn send(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Chunk::with_capacity());
        let full = std::mem::replace(&mut self.chunk, next);
        let sender = self.full.as_ref().ok_or_else(closed)?;
        sender.send(full).map_err(|_| closed())
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
        if self.chunk.bytes.len() + data.len() > CHUNK {
            self.send()?;
        }
        self.chunk.bytes.extend_from_slice(data);
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
                pipe.defer_section(&cid, id as u64)?;
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
