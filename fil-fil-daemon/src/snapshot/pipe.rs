//! The export's output pipeline: the walk appends CAR bytes to large buffers and
//! a second thread writes full buffers out, so the kernel's copying (and, for
//! files, the disk) runs alongside the walk instead of after each chunk of it.
//! Empty buffers travel back for reuse, so steady state allocates nothing.

use std::io::{self, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// Bytes per buffer handed to the writer thread.
pub(super) const CHUNK: usize = 4 << 20;
/// Full buffers queued ahead of the writer thread (bounds memory to a few chunks).
const QUEUE: usize = 4;

/// The walk's end of the pipeline.
pub(super) struct Pipe {
    buf: Vec<u8>,
    full: Option<SyncSender<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
}

/// Runs `body` with a [`Pipe`] whose bytes a scoped thread writes to `out`, and
/// returns `out` with `body`'s result. `body` must hand the pipe back (or drop
/// it) so the last buffer is flushed. A write error on the thread surfaces as
/// the error of the whole call.
pub(super) fn with_pipe<W, T, E>(
    out: W,
    body: impl FnOnce(Pipe) -> Result<(T, Pipe), E>,
) -> Result<(W, T), E>
where
    W: Write + Send,
    E: From<io::Error>,
{
    std::thread::scope(|scope| {
        let (full_tx, full_rx) = sync_channel::<Vec<u8>>(QUEUE);
        let (empty_tx, empty_rx) = channel::<Vec<u8>>();
        let writer = scope.spawn(move || write_all(out, full_rx, empty_tx));
        let pipe = Pipe {
            buf: Vec::with_capacity(CHUNK),
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

fn write_all<W: Write>(
    mut out: W,
    full: Receiver<Vec<u8>>,
    empty: Sender<Vec<u8>>,
) -> io::Result<W> {
    for mut buf in full {
        out.write_all(&buf)?;
        buf.clear();
        // The walk may have finished and dropped its end: nothing to reuse then.
        let _ = empty.send(buf);
    }
    out.flush()?;
    Ok(out)
}

impl Pipe {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.buf, next);
        let sender = self.full.as_ref().ok_or_else(closed)?;
        sender.send(full).map_err(|_| closed())
    }

    /// Sends the last buffer and closes the pipe.
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
        if self.buf.len() + data.len() > CHUNK {
            self.send()?;
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Buffers are sent when full or at the end; a flush in between would only
    /// make writes smaller.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_in_order_across_chunks() {
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let (out, n) = with_pipe(Vec::new(), |mut pipe| {
            for piece in data.chunks(100_003) {
                pipe.write_all(piece)?;
            }
            Ok::<_, io::Error>((7, pipe))
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((out, n), (data, 7));
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
        let result = with_pipe(Failing, |mut pipe| {
            for _ in 0..20 {
                pipe.write_all(&[0u8; CHUNK])?;
            }
            Ok::<_, io::Error>(((), pipe))
        });
        let err = result.err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("disk full"));
    }
}
