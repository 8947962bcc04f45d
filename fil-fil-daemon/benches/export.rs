//! Export throughput on a generated chain held in a `DagStore` the way the
//! daemon holds it (each tipset linked in height order: headers into the spine,
//! messages and parent state as DAGs), so the export walks the store's id graph.
//! Targets: the walk alone (into `io::sink`), `/dev/null`, a real file (temp
//! file + fsync + rename, as the CLI does) next to a raw sequential write of the
//! same byte count in the same run, and zstd to `/dev/null`. Also reports the
//! link rate while building, store memory, and peak RSS against payload.
//!
//! Sizes come from the environment: `FIL_FIL_BENCH_ACTORS` (default 500000),
//! `FIL_FIL_BENCH_EPOCHS` (2000), `FIL_FIL_BENCH_CHURN` (20 actors per epoch),
//! `FIL_FIL_BENCH_RUNS` (3; medians are reported), `FIL_FIL_BENCH_MAP` (1: also
//! time one walk over a plain map with CID sets, the walk stores without an id
//! graph use; keeps the map, so peak RSS grows), `FIL_FIL_BENCH_ZSTD` (1: zstd
//! target on). Results are recorded in `docs/benchmarks.md`.

#[path = "support/proc_stats.rs"]
mod proc_stats;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use cid::Cid;
use fil_fil::chain::BlockHeader;
use fil_fil::daemon::blocks::header_parents;
use fil_fil::dag::{DagConfig, DagStore, LinkKind};
use fil_fil::snapshot::synthetic::{generate, SyntheticConfig};
use fil_fil::snapshot::{
    export, export_to_path, Compression, ExportOptions, WritebackFile, DEFAULT_ZSTD_LEVEL,
};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn mib_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

/// Writes `bytes` zero bytes in 1 MiB chunks (the export pipe's chunk size)
/// through the export's own [`WritebackFile`], then fsyncs: the sequential write
/// ceiling of the device for the export's byte count, with the same syscalls.
/// (Until session 7 both used 4 MiB; a standalone test found no consistent
/// difference in the kernel's CPU between the two sizes.)
fn raw_write(path: &Path, bytes: u64) -> io::Result<Duration> {
    let chunk = vec![0u8; 1 << 20];
    let start = Instant::now();
    let mut f = WritebackFile::new(File::create(path)?);
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    f.sync()?;
    Ok(start.elapsed())
}

/// [`raw_write`] with a plain `File`: the kernel holds the dirty pages until the
/// closing `fsync` (the baseline before [`WritebackFile`]).
fn raw_write_plain(path: &Path, bytes: u64) -> io::Result<Duration> {
    let chunk = vec![0u8; 1 << 20];
    let start = Instant::now();
    let mut f = File::create(path)?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    Ok(start.elapsed())
}

/// Links the chain tipset by tipset, as the daemon applies it.
fn build_store(blocks: &HashMap<Cid, Vec<u8>>) -> io::Result<DagStore> {
    let mut by_height: BTreeMap<i64, Vec<(Cid, BlockHeader)>> = BTreeMap::new();
    for (cid, data) in blocks {
        if data.first() == Some(&0x90) {
            if let Ok(h) = BlockHeader::decode(data) {
                by_height.entry(h.height).or_default().push((*cid, h));
            }
        }
    }
    let store = DagStore::new(DagConfig::default().with_spine(header_parents));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(io::Error::other)?;
    let (t, c) = (Instant::now(), proc_stats::thread_cpu());
    for tipset in by_height.values() {
        let mut roots: Vec<(Cid, LinkKind)> = Vec::new();
        for (cid, h) in tipset {
            roots.push((*cid, LinkKind::Spine));
            roots.push((h.messages, LinkKind::Dag));
            roots.push((h.parent_state_root, LinkKind::Dag));
        }
        rt.block_on(store.link_many(&roots, blocks))
            .map_err(|e| io::Error::other(e.to_string()))?;
    }
    let (wall, cpu) = (t.elapsed(), proc_stats::thread_cpu() - c);
    let n = store.len() as f64;
    println!(
        "linked {} tipsets, {} objects in {wall:.1?} (CPU {cpu:.1?}): {:.0} objects/CPU-second",
        by_height.len(),
        store.len(),
        n / cpu.as_secs_f64().max(1e-9)
    );
    Ok(store)
}

fn main() -> io::Result<()> {
    // `RUST_LOG=fil_fil::snapshot=debug` shows each pipeline thread's CPU.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(io::stderr)
        .init();
    let config = SyntheticConfig {
        epochs: env_or("FIL_FIL_BENCH_EPOCHS", 2000) as i64,
        actors: env_or("FIL_FIL_BENCH_ACTORS", 500_000) as usize,
        churn: env_or("FIL_FIL_BENCH_CHURN", 20) as usize,
        messages_per_block: 5,
        seed: 1,
    };
    let runs = env_or("FIL_FIL_BENCH_RUNS", 3).max(1);
    let with_map = env_or("FIL_FIL_BENCH_MAP", 0) == 1;
    let with_zstd = env_or("FIL_FIL_BENCH_ZSTD", 1) == 1;
    let started = Instant::now();
    let chain = generate(&config);
    println!(
        "generated {} objects ({}), head height {}, in {:.1?}",
        chain.blocks.len(),
        mib(chain.blocks.values().map(|v| v.len() as u64).sum()),
        chain.head_height,
        started.elapsed()
    );
    let store = build_store(&chain.blocks)?;
    let head = chain.head.clone();
    let options = ExportOptions {
        depth: config.epochs + 1,
        skip_old_msgs: true,
        ..ExportOptions::default()
    };
    let fail = |e: fil_fil::snapshot::ExportError| io::Error::other(e.to_string());
    if with_map {
        // The same walk with hash sets over a map keyed by CID (what stores
        // without an id graph get), one run.
        let map: HashMap<Cid, Vec<u8>, ahash::RandomState> = chain.blocks.into_iter().collect();
        let (t, c) = (Instant::now(), proc_stats::thread_cpu());
        let (_, s) = export(&map, &head, &options, io::sink(), &mut |_| {}).map_err(fail)?;
        let (wall, cpu) = (t.elapsed(), proc_stats::thread_cpu() - c);
        println!(
            "map + CID sets, walk only: {wall:.2?} (CPU {cpu:.2?}), {:.0} MiB/s, {:.0} MiB/s per CPU-second",
            mib_s(s.car_bytes, wall),
            mib_s(s.car_bytes, cpu)
        );
    } else {
        drop(chain.blocks);
    }
    let m = store.memory();
    println!(
        "store: {} objects, payload {}, index {} ({:.1} B/object), child ids {} ({:.1} B/object), arena reserved {} / live {}; RSS {}, peak so far {}",
        m.objects,
        mib(m.payload_bytes),
        mib(m.index_bytes),
        m.index_bytes_per_object(),
        mib(m.child_id_bytes),
        m.child_id_bytes as f64 / m.objects.max(1) as f64,
        mib(m.arena_reserved_bytes),
        mib(m.arena_live_bytes),
        mib(proc_stats::proc_status("VmRSS:")),
        mib(proc_stats::proc_status("VmHWM:")),
    );
    let (build_peak, store_rss) = (
        proc_stats::proc_status("VmHWM:"),
        proc_stats::proc_status("VmRSS:"),
    );
    // Reset the peak (Linux ≥ 4.0) so the exports' own peak can be read apart
    // from the generator's block map, which is gone by now.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();

    let zstd = ExportOptions {
        compression: Compression::Zstd {
            level: DEFAULT_ZSTD_LEVEL,
        },
        ..options.clone()
    };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let out = dir.path().join("bench.car");
    let raw = dir.path().join("raw.bin");

    let (mut walk, mut walk_cpu, mut walk_proc) = (vec![], vec![], vec![]);
    let (mut devnull, mut file, mut raw_file, mut zstd_null) = (vec![], vec![], vec![], vec![]);
    let (mut car_bytes, mut blocks, mut zstd_bytes) = (0, 0, 0);
    let (mut plain, mut raw_plain) = (vec![], vec![]);
    for _ in 0..runs {
        let (t, c, p) = (
            Instant::now(),
            proc_stats::thread_cpu(),
            proc_stats::process_cpu(),
        );
        let (_, s) = export(&store, &head, &options, io::sink(), &mut |_| {}).map_err(fail)?;
        walk.push(t.elapsed());
        walk_cpu.push(proc_stats::thread_cpu() - c);
        walk_proc.push(proc_stats::process_cpu() - p);
        car_bytes = s.car_bytes;
        blocks = s.blocks;

        let t = Instant::now();
        let null = File::create("/dev/null")?;
        export(&store, &head, &options, null, &mut |_| {}).map_err(fail)?;
        devnull.push(t.elapsed());

        let (t, p) = (Instant::now(), proc_stats::process_cpu());
        export_to_path(&store, &head, &options, &out, &mut |_| {}).map_err(fail)?;
        let (wall, cpu) = (t.elapsed(), proc_stats::process_cpu() - p);
        std::fs::remove_file(&out)?;
        let p = proc_stats::process_cpu();
        let raw_wall = raw_write(&raw, car_bytes)?;
        let raw_cpu = proc_stats::process_cpu() - p;
        std::fs::remove_file(&raw)?;
        println!(
            "run: file {wall:.2?} (process CPU {cpu:.2?}), raw {raw_wall:.2?} (CPU {raw_cpu:.2?}): {:.0}%, load {}",
            100.0 * raw_wall.as_secs_f64() / wall.as_secs_f64(),
            proc_stats::load_average()
        );
        file.push(wall);
        raw_file.push(raw_wall);

        // The same pair without writeback hints: export into a plain `File`.
        let t = Instant::now();
        let (f, _) =
            export(&store, &head, &options, File::create(&out)?, &mut |_| {}).map_err(fail)?;
        f.sync_all()?;
        plain.push(t.elapsed());
        std::fs::remove_file(&out)?;
        raw_plain.push(raw_write_plain(&raw, car_bytes)?);
        std::fs::remove_file(&raw)?;

        if with_zstd {
            let t = Instant::now();
            let null = File::create("/dev/null")?;
            export(
                &store,
                &head,
                &zstd,
                CountingSink(null, &mut zstd_bytes),
                &mut |_| {},
            )
            .map_err(fail)?;
            zstd_null.push(t.elapsed());
        }
    }
    let (walk, devnull, file, raw_file) = (
        median(walk),
        median(devnull),
        median(file),
        median(raw_file),
    );
    let (walk_cpu, walk_proc) = (median(walk_cpu), median(walk_proc));
    println!(
        "export: {blocks} blocks, {} CAR; median of {runs} runs",
        mib(car_bytes)
    );
    println!("| target | time | MiB/s | raw write same bytes | ratio |");
    println!("|---|---|---|---|---|");
    println!(
        "| walk only (io::sink) | {walk:.2?} (walk thread CPU {walk_cpu:.2?}, process {walk_proc:.2?}) | {:.0} (per walk CPU-second {:.0}) | – | – |",
        mib_s(car_bytes, walk),
        mib_s(car_bytes, walk_cpu)
    );
    println!(
        "| /dev/null | {devnull:.2?} | {:.0} | (no-op) | – |",
        mib_s(car_bytes, devnull),
    );
    println!(
        "| file (WritebackFile, tmp+fsync+rename) | {file:.2?} | {:.0} | {raw_file:.2?}, {:.0} MiB/s | {:.0}% |",
        mib_s(car_bytes, file),
        mib_s(car_bytes, raw_file),
        100.0 * raw_file.as_secs_f64() / file.as_secs_f64()
    );
    let (plain, raw_plain) = (median(plain), median(raw_plain));
    println!(
        "| file, plain `File` (no writeback hints) | {plain:.2?} | {:.0} | {raw_plain:.2?}, {:.0} MiB/s | {:.0}% |",
        mib_s(car_bytes, plain),
        mib_s(car_bytes, raw_plain),
        100.0 * raw_plain.as_secs_f64() / plain.as_secs_f64()
    );
    if with_zstd {
        let zstd_null = median(zstd_null);
        println!(
            "| zstd level {DEFAULT_ZSTD_LEVEL} → /dev/null | {zstd_null:.2?} | {:.0} (CAR bytes in) | – | {:.1}% of CAR size |",
            mib_s(car_bytes, zstd_null),
            100.0 * (zstd_bytes / runs) as f64 / car_bytes as f64
        );
    }
    let m = store.memory();
    let export_peak = proc_stats::proc_status("VmHWM:");
    println!(
        "peak RSS (VmHWM) while generating and linking {} against payload {} ({:.2}×); store alone {} ({:.2}×)",
        mib(build_peak),
        mib(m.payload_bytes),
        build_peak as f64 / m.payload_bytes.max(1) as f64,
        mib(store_rss),
        store_rss as f64 / m.payload_bytes.max(1) as f64,
    );
    if reset {
        println!(
            "peak RSS during the exports {} ({:.2}× payload): {} above the store",
            mib(export_peak),
            export_peak as f64 / m.payload_bytes.max(1) as f64,
            mib(export_peak.saturating_sub(store_rss)),
        );
    }
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
