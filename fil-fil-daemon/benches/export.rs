//! Export throughput on a generated chain: the walk alone (into `io::sink`), to
//! `/dev/null`, to a real file (temp file + fsync + rename, as the CLI does), and
//! zstd to `/dev/null`, each next to a raw sequential write of the same byte
//! count in the same run. Sizes come from the environment:
//! `FIL_FIL_BENCH_ACTORS` (default 500000), `FIL_FIL_BENCH_EPOCHS` (2000),
//! `FIL_FIL_BENCH_CHURN` (20 actors per epoch), `FIL_FIL_BENCH_RUNS` (3; the
//! median is reported). Results are recorded in `docs/benchmarks.md`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use cid::Cid;
use fil_fil::snapshot::synthetic::{generate, SyntheticConfig};
use fil_fil::snapshot::{export, export_to_path, Compression, ExportOptions, DEFAULT_ZSTD_LEVEL};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system) of this thread, from `/proc` (10 ms ticks): on a
/// shared machine wall time alone says more about the neighbours than the code.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_comm
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

/// Writes `bytes` zero bytes in 4 MiB chunks, then fsyncs: the sequential
/// write ceiling of the device for the export's byte count.
fn raw_write(path: &Path, bytes: u64, sync: bool) -> io::Result<Duration> {
    let chunk = vec![0u8; 4 << 20];
    let start = Instant::now();
    let mut f = File::create(path)?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    if sync {
        f.sync_all()?;
    }
    Ok(start.elapsed())
}

fn main() -> io::Result<()> {
    let config = SyntheticConfig {
        epochs: env_or("FIL_FIL_BENCH_EPOCHS", 2000) as i64,
        actors: env_or("FIL_FIL_BENCH_ACTORS", 500_000) as usize,
        churn: env_or("FIL_FIL_BENCH_CHURN", 20) as usize,
        messages_per_block: 5,
        seed: 1,
    };
    let runs = env_or("FIL_FIL_BENCH_RUNS", 3).max(1);
    let started = Instant::now();
    let chain = generate(&config);
    // A store with a cheap CID hash, like the DAG store: SipHash lookups would
    // measure the map rather than the export.
    let store: HashMap<Cid, Vec<u8>, ahash::RandomState> = chain.blocks.into_iter().collect();
    let payload: u64 = store.values().map(|v| v.len() as u64).sum();
    println!(
        "generated {} objects ({:.1} MiB payload), head height {}, in {:.1?}",
        store.len(),
        payload as f64 / (1 << 20) as f64,
        chain.head_height,
        started.elapsed()
    );
    let options = ExportOptions {
        depth: config.epochs + 1,
        skip_old_msgs: true,
        ..ExportOptions::default()
    };
    let zstd = ExportOptions {
        compression: Compression::Zstd {
            level: DEFAULT_ZSTD_LEVEL,
        },
        ..options.clone()
    };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let out = dir.path().join("bench.car");
    let raw = dir.path().join("raw.bin");
    let fail = |e: fil_fil::snapshot::ExportError| io::Error::other(e.to_string());

    let mut walk = vec![];
    let mut walk_cpu = vec![];
    let mut devnull = vec![];
    let mut file = vec![];
    let mut raw_null = vec![];
    let mut raw_file = vec![];
    let mut zstd_null = vec![];
    let mut car_bytes = 0;
    let mut blocks = 0;
    let mut zstd_bytes = 0;
    for _ in 0..runs {
        let (t, c) = (Instant::now(), cpu_time());
        let (_, s) =
            export(&store, &chain.head, &options, io::sink(), &mut |_| {}).map_err(fail)?;
        walk.push(t.elapsed());
        walk_cpu.push(cpu_time() - c);
        car_bytes = s.car_bytes;
        blocks = s.blocks;

        let t = Instant::now();
        let null = File::create("/dev/null")?;
        export(&store, &chain.head, &options, null, &mut |_| {}).map_err(fail)?;
        devnull.push(t.elapsed());
        raw_null.push(raw_write(Path::new("/dev/null"), car_bytes, false)?);

        let t = Instant::now();
        export_to_path(&store, &chain.head, &options, &out, &mut |_| {}).map_err(fail)?;
        file.push(t.elapsed());
        std::fs::remove_file(&out)?;
        raw_file.push(raw_write(&raw, car_bytes, true)?);
        std::fs::remove_file(&raw)?;

        let t = Instant::now();
        let null = File::create("/dev/null")?;
        export(
            &store,
            &chain.head,
            &zstd,
            CountingSink(null, &mut zstd_bytes),
            &mut |_| {},
        )
        .map_err(fail)?;
        zstd_null.push(t.elapsed());
    }
    let (walk, devnull, file) = (median(walk), median(devnull), median(file));
    let (raw_null, raw_file, zstd_null) = (median(raw_null), median(raw_file), median(zstd_null));
    println!(
        "export: {blocks} blocks, {:.1} MiB CAR; median of {runs} runs",
        car_bytes as f64 / (1 << 20) as f64
    );
    println!("| target | time | MiB/s | raw write same bytes | ratio |");
    println!("|---|---|---|---|---|");
    let walk_cpu = median(walk_cpu);
    println!(
        "| walk only (io::sink) | {walk:.2?} (CPU {walk_cpu:.2?}) | {:.0} (per CPU-second {:.0}) | – | – |",
        mib_s(car_bytes, walk),
        mib_s(car_bytes, walk_cpu)
    );
    println!(
        "| /dev/null | {devnull:.2?} | {:.0} | {:.0} MiB/s | {:.0}% |",
        mib_s(car_bytes, devnull),
        mib_s(car_bytes, raw_null),
        100.0 * raw_null.as_secs_f64() / devnull.as_secs_f64()
    );
    println!(
        "| file (tmp+fsync+rename) | {file:.2?} | {:.0} | {:.0} MiB/s | {:.0}% |",
        mib_s(car_bytes, file),
        mib_s(car_bytes, raw_file),
        100.0 * raw_file.as_secs_f64() / file.as_secs_f64()
    );
    println!(
        "| zstd level {DEFAULT_ZSTD_LEVEL} → /dev/null | {zstd_null:.2?} | {:.0} (CAR bytes in) | – | {:.1}% of CAR size |",
        mib_s(car_bytes, zstd_null),
        100.0 * (zstd_bytes / runs) as f64 / car_bytes as f64
    );
    Ok(())
}

/// Counts bytes on their way to the inner writer (compressed size).
struct CountingSink<'a, W>(W, &'a mut u64);

impl<W: Write> Write for CountingSink<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.0.write(buf)?;
        *self.1 += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
