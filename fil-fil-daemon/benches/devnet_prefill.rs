//! Devnet prefill rate: how fast the simulator builds a long chain (headers,
//! messages, receipts, state churn) for benchmarks and tests. Prints objects/s and
//! MB/s, the CPU time the process got (wall time on a shared machine measures the
//! neighbours too) and peak RSS next to the payload held. Sizes come from the
//! environment so CI can run a short version: `DEVNET_BENCH_EPOCHS` (default
//! 1000) and `DEVNET_BENCH_CHURN` (default 2000, new state objects per epoch;
//! mainnet writes ~20k). `RAYON_NUM_THREADS` sets the worker threads.

#[path = "support/proc_stats.rs"]
mod proc_stats;

/// The `fil-fil` binary's allocator, so these figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use fil_fil::devnet::{DevnetConfig, Node};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let epochs = env("DEVNET_BENCH_EPOCHS", 1000);
    let churn = env("DEVNET_BENCH_CHURN", 2000);
    let config = DevnetConfig {
        seed: 1,
        churn_objects: churn as usize,
        ..DevnetConfig::default()
    };
    let (cpu0, started) = (proc_stats::process_cpu(), Instant::now());
    let node = match Node::build(config) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("build failed: {e}");
            std::process::exit(1);
        }
    };
    let genesis_secs = started.elapsed().as_secs_f64();
    let genesis_objects = node.store.len();
    if let Err(e) = node.mine(epochs) {
        eprintln!("prefill failed: {e}");
        std::process::exit(1);
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = proc_stats::process_cpu().saturating_sub(cpu0).as_secs_f64();
    let objects = node.store.len() as f64;
    let bytes = node.store.total_bytes() as f64;
    println!(
        "devnet prefill: {epochs} tipsets (head height {}), churn {churn}/epoch, {} threads: \
         {:.0} objects, {:.1} MB in {secs:.2} s wall, {cpu:.2} s CPU = {:.0} objects/s, {:.1} MB/s \
         (genesis {genesis_objects} objects in {genesis_secs:.2} s); peak RSS {:.0} MB",
        node.head().tipset.height,
        rayon::current_num_threads(),
        objects,
        bytes / 1e6,
        objects / secs,
        bytes / 1e6 / secs,
        proc_stats::proc_status("VmHWM:") as f64 / (1 << 20) as f64,
    );
}
