//! commP throughput next to the SHA-256 limit measured in the same run.
//!
//! Every 127 payload bytes cost eight 64-byte SHA-256 compressions (four nodes,
//! each one data block plus one padding block), so the best a core can do is its
//! bulk SHA-256 throughput ÷ (8·64/127 ≈ 4.03).
//!
//! Build machines are shared, so besides wall-clock GB/s this reports GB/s per
//! CPU-second the process actually got (from /proc/self/stat), which is what
//! "per core" means under contention. Measurements are interleaved round by
//! round and the best round of each is kept, so a noisy neighbour hits all alike.
//!
//! `cargo bench -p fil-fil-daemon --bench commp` (env: COMMP_BENCH_MIB, default
//! 1024; COMMP_BENCH_RUNS, default 3). Prints a Markdown table.

#[path = "support/proc_stats.rs"]
mod proc_stats;

use std::time::{Duration, Instant};

use fil_fil::commp::{CommpHasher, CommpOptions};
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default, Clone, Copy)]
struct Best {
    wall: Option<Duration>,
    cpu: Option<Duration>,
}

impl Best {
    fn record(&mut self, wall: Duration, cpu: Duration) {
        self.wall = Some(self.wall.map_or(wall, |w| w.min(wall)));
        self.cpu = Some(self.cpu.map_or(cpu, |c| c.min(cpu)));
    }
}

fn gbps(bytes: usize, d: Option<Duration>) -> f64 {
    d.map_or(0.0, |d| bytes as f64 / d.as_secs_f64().max(1e-9) / 1e9)
}

fn measure<T>(best: &mut Best, f: impl FnOnce() -> T) -> T {
    let (c0, t0) = (proc_stats::process_cpu(), Instant::now());
    let out = f();
    best.record(t0.elapsed(), proc_stats::process_cpu().saturating_sub(c0));
    out
}

fn commp(data: &[u8], threads: usize, reader: bool) -> [u8; 32] {
    let mut h = CommpHasher::new(CommpOptions::with_threads(threads)).expect("pool");
    if reader {
        h.update_from_reader(data, |_| {}).expect("read");
    } else {
        h.update(data);
    }
    h.finish().expect("commp").root
}

fn main() {
    let mib = env_usize("COMMP_BENCH_MIB", 1024);
    let runs = env_usize("COMMP_BENCH_RUNS", 3).max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut data = vec![0u8; mib << 20];
    rand_chacha::ChaCha8Rng::seed_from_u64(5).fill_bytes(&mut data);
    let len = data.len();

    let mut threads = vec![1, 2];
    if cores > 2 {
        threads.push(cores);
    }
    // Index: 0 = SHA-256, then (threads, in memory), then (threads, reader).
    let cases: Vec<(usize, bool)> = threads
        .iter()
        .map(|&t| (t, false))
        .chain(threads.iter().map(|&t| (t, true)))
        .collect();
    let mut sha = Best::default();
    let mut best = vec![Best::default(); cases.len()];
    let mut roots = Vec::new();
    for _ in 0..runs {
        measure(&mut sha, || Sha256::digest(&data));
        for (b, &(t, reader)) in best.iter_mut().zip(&cases) {
            roots.push(measure(b, || commp(&data, t, reader)));
        }
    }
    assert!(roots.windows(2).all(|w| w[0] == w[1]), "all paths agree");

    let sha_wall = gbps(len, sha.wall);
    let sha_cpu = gbps(len, sha.cpu);
    let ratio = 8.0 * 64.0 / 127.0;
    println!("payload: {mib} MiB random, best of {runs} interleaved rounds, {cores} cores");
    println!();
    println!("| measurement | threads | wall GB/s | wall GB/s per thread | GB/s per CPU-second | % of limit (CPU) |");
    println!("|---|---|---|---|---|---|");
    println!("| SHA-256 bulk | 1 | {sha_wall:.3} | {sha_wall:.3} | {sha_cpu:.3} | — |");
    println!(
        "| commP limit = SHA-256 ÷ 4.03 | 1 | {:.3} | {:.3} | {:.3} | 100% |",
        sha_wall / ratio,
        sha_wall / ratio,
        sha_cpu / ratio
    );
    for (b, &(t, reader)) in best.iter().zip(&cases) {
        let what = if reader {
            "commP, reader thread"
        } else {
            "commP, in memory"
        };
        let wall = gbps(len, b.wall);
        let cpu = gbps(len, b.cpu);
        println!(
            "| {what} | {t} | {wall:.3} | {:.3} | {cpu:.3} | {:.1}% |",
            wall / t as f64,
            100.0 * cpu / (sha_cpu / ratio)
        );
    }
}
