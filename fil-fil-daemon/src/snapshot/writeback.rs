//! Output files written sequentially with the disk kept busy all along. Linux
//! holds dirty pages until a background threshold (a tenth of memory by
//! default) or the final `fsync`, so a snapshot smaller than that reached the
//! disk only after the export had finished: the `fsync` alone cost as much as
//! the whole walk. Every [`KICK_BYTES`] this writer asks the kernel to start
//! writing back the range just written (`posix_fadvise(DONTNEED)` starts
//! asynchronous writeback of dirty pages, as PostgreSQL's `pg_flush_data` relies
//! on where `sync_file_range` is missing), so the disk works alongside the walk
//! and the closing `fsync` finds little left to do.
//!
//! The benchmark's raw-write baseline goes through this same writer, so both
//! sides of the comparison use the same syscalls.

use std::fs::File;
use std::io::{self, Write};

/// Bytes written between writeback requests.
pub const KICK_BYTES: u64 = 8 << 20;

/// A [`File`] written front to back whose pages are pushed to the disk as it
/// grows. Hints are best effort: if the kernel refuses one (a pipe, an OS
/// without `posix_fadvise`), writing carries on without them.
#[derive(Debug)]
pub struct WritebackFile {
    file: File,
    written: u64,
    kicked: u64,
    hints: bool,
}

impl WritebackFile {
    /// Wraps `file`, positioned at its start.
    pub fn new(file: File) -> Self {
        Self {
            file,
            written: 0,
            kicked: 0,
            hints: cfg!(target_os = "linux"),
        }
    }

    /// Flushes everything to the disk (`fsync`) and returns the file.
    pub fn sync(self) -> io::Result<File> {
        self.file.sync_all()?;
        Ok(self.file)
    }

    fn kick(&mut self) {
        let len = self.written - self.kicked;
        if !self.hints || len < KICK_BYTES {
            return;
        }
        self.hints = start_writeback(&self.file, self.kicked, len);
        self.kicked = self.written;
    }
}

#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) -> bool {
    let len = std::num::NonZeroU64::new(len);
    rustix::fs::fadvise(file, offset, len, rustix::fs::Advice::DontNeed).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64) -> bool {
    false
}

impl Write for WritebackFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        self.kick();
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn bytes_land_in_order_across_writeback_requests() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("out.bin");
        let file = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut out = WritebackFile::new(file);
        let data: Vec<u8> = (0..3 * KICK_BYTES + 4097)
            .map(|i| (i % 253) as u8)
            .collect();
        for piece in data.chunks(1 << 20) {
            out.write_all(piece).unwrap_or_else(|e| panic!("{e}"));
        }
        out.sync().unwrap_or_else(|e| panic!("{e}"));
        let mut back = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut back))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(back == data, "file differs from what was written");
    }
}
