//! The export's output pipeline. The walk appends CAR bytes to large chunks and
//! a second thread writes full chunks out, so the kernel's copying (and, for
//! files, the disk) runs alongside the walk instead of after each piece of it.
//!
//! With an id graph the walk does not even copy block bytes: it writes each
//! section's length and CID and leaves a hole naming the block's id
//! ([`Pipe::defer`]); the writer thread fills the holes from the store while it
//! assembles the output. Gathering ~2 GB of scattered records is a large share
//! of an export's CPU, and this way it runs on the second core. Ids stay valid
//! because an export pins what it walks.
//!
//! Empty chunks travel back for reuse, so steady state allocates nothing.

use std::io::{self, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

use crate::ipld::{BlockGraph, GraphView};

/// Output bytes per chunk handed to the writer thread.
pub(super) const CHUNK: usize = 4 << 20;
/// Full chunks queued ahead of the writer thread (bounds memory to a few chunks).
const QUEUE: usize = 4;

/// A block whose bytes the writer thread copies in from the store.
#[derive(Debug, Clone, Copy)]
struct Hole {
    /// Position in [`Chunk::bytes`] the block's bytes go before.
    at: usize,
    id: u64,
    len: usize,
}

/// Output in transit: literal bytes with holes for deferred blocks.
#[derive(Debug, Default)]
struct Chunk {
    bytes: Vec<u8>,
    holes: Vec<Hole>,
    /// Output bytes this chunk stands for (literal plus holes).
    len: usize,
}

impl Chunk {
    fn with_capacity() -> Self {
        Self {
            bytes: Vec::with_capacity(CHUNK),
            holes: Vec::new(),
            len: 0,
        }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.holes.clear();
        self.len = 0;
    }
}

/// The walk's end of the pipeline.
pub(super) struct Pipe {
    chunk: Chunk,
    deferrable: bool,
    full: Option<SyncSender<Chunk>>,
    empty: Receiver<Chunk>,
}

/// Runs `body` with a [`Pipe`] whose bytes a scoped thread writes to the
/// writer `open` makes of `out` (on that thread: a zstd stream, say), filling
/// deferred blocks from `graph`. Returns the finished writer with `body`'s
/// result. `body` must hand the pipe back (or drop it) so the last chunk is
/// flushed. An error on the thread surfaces as the error of the whole call.
pub(super) fn with_pipe<W, S, T, E>(
    out: W,
    graph: Option<&dyn BlockGraph>,
    open: impl FnOnce(W) -> io::Result<S> + Send,
    close: impl FnOnce(S) -> io::Result<W> + Send,
    body: impl FnOnce(Pipe) -> Result<(T, Pipe), E>,
) -> Result<(W, T), E>
where
    W: Write + Send,
    S: Write,
    E: From<io::Error>,
{
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = sync_channel::<Chunk>(QUEUE);
        let (empty_tx, empty_rx) = channel::<Chunk>();
        let writer = scope.spawn(move || {
            let sink = open(out)?;
            let sink = write_all(sink, graph, full_rx, empty_tx)?;
            close(sink)
        });
        let pipe = Pipe {
            chunk: Chunk::with_capacity(),
            deferrable: graph.is_some(),
            full: Some(full_tx),
            empty: empty_rx,
        };
        let result = body(pipe).and_then(|(value, mut pipe)| {
            pipe.finish()?;
            Ok(value)
        });
        // On error the pipe was dropped inside `body`, closing the channel, so
        // the thread ends either way.
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("snapshot writer thread panicked")));
        match (result, written) {
            (Ok(value), Ok(out)) => Ok((out, value)),
            // The thread's own error explains a broken pipe on this side.
            (_, Err(err)) => Err(err.into()),
            (Err(err), Ok(_)) => Err(err),
        }
    })
}

fn write_all<S: Write>(
    mut out: S,
    graph: Option<&dyn BlockGraph>,
    full: Receiver<Chunk>,
    empty: Sender<Chunk>,
) -> io::Result<S> {
    let mut assembled = Vec::with_capacity(CHUNK);
    for mut chunk in full {
        match graph {
            Some(graph) if !chunk.holes.is_empty() => {
                assembled.clear();
                let mut result = Ok(());
                // Not `read_views`: this view must not queue behind a writer
                // waiting on the walk's view, or the walk, blocked on a full
                // queue, would wait for this thread forever.
                graph.with_view(&mut |view| result = fill(&chunk, view, &mut assembled));
                result?;
                out.write_all(&assembled)?;
            }
            _ => out.write_all(&chunk.bytes)?,
        }
        chunk.clear();
        // The walk may have finished and dropped its end: nothing to reuse then.
        let _ = empty.send(chunk);
    }
    out.flush()?;
    Ok(out)
}

/// Copies `chunk` into `out` with every hole filled from `view`.
fn fill(chunk: &Chunk, view: &dyn GraphView, out: &mut Vec<u8>) -> io::Result<()> {
    let mut from = 0;
    for hole in &chunk.holes {
        out.extend_from_slice(chunk.bytes.get(from..hole.at).unwrap_or_default());
        let data = view.node(hole.id).data;
        if data.len() != hole.len {
            return Err(io::Error::other(format!(
                "block id {} changed size during the export ({} → {} bytes): was it unpinned?",
                hole.id,
                hole.len,
                data.len()
            )));
        }
        out.extend_from_slice(data);
        from = hole.at;
    }
    out.extend_from_slice(chunk.bytes.get(from..).unwrap_or_default());
    Ok(())
}

impl Pipe {
    /// Whether [`Pipe::defer`] may be used (the pipe was given the graph).
    pub(super) fn can_defer(&self) -> bool {
        self.deferrable
    }

    /// Appends the `len` bytes of the graph's block `id` without copying them
    /// here: the writer thread copies them from the store. Only valid if
    /// [`Pipe::can_defer`].
    pub(super) fn defer(&mut self, id: u64, len: usize) -> io::Result<()> {
        self.chunk.holes.push(Hole {
            at: self.chunk.bytes.len(),
            id,
            len,
        });
        self.chunk.len += len;
        if self.chunk.len >= CHUNK {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> io::Result<()> {
        if self.chunk.len == 0 {
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
        if self.chunk.len + data.len() > CHUNK {
            self.send()?;
        }
        self.chunk.bytes.extend_from_slice(data);
        self.chunk.len += data.len();
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
        with_pipe(out, None, Ok, Ok, body).map(|(out, ())| out)
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
    fn deferred_blocks_are_filled_in_place_across_chunks() {
        let blocks = Blocks(
            (0..600u32)
                .map(|i| vec![i as u8; 20_000 + i as usize])
                .collect(),
        );
        let mut want = Vec::new();
        let (out, ()) = with_pipe(Vec::new(), Some(&blocks), Ok, Ok, |mut pipe| {
            assert!(pipe.can_defer());
            for (id, data) in blocks.0.iter().enumerate() {
                let frame = [id as u8; 3];
                pipe.write_all(&frame)?;
                want.extend_from_slice(&frame);
                if id % 3 == 0 {
                    pipe.write_all(data)?;
                } else {
                    pipe.defer(id as u64, data.len())?;
                }
                want.extend_from_slice(data);
            }
            pipe.write_all(b"end")?;
            want.extend_from_slice(b"end");
            Ok::<_, io::Error>(((), pipe))
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(want.len() > 2 * CHUNK);
        assert!(out == want, "assembled output differs");
    }

    #[test]
    fn a_block_that_changed_size_fails_the_export() {
        let blocks = Blocks(vec![vec![1; 10]]);
        let result = with_pipe(Vec::new(), Some(&blocks), Ok, Ok, |mut pipe| {
            pipe.defer(0, 11)?;
            Ok::<_, io::Error>(((), pipe))
        });
        let err = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("changed size"), "{err}");
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
