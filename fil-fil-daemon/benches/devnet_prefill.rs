//! Devnet prefill rate: how fast the simulator builds a long chain (headers,
//! messages, receipts, state churn) for benchmarks and tests. Prints objects/s and
//! MB/s. Sizes come from the environment so CI can run a short version:
//! `DEVNET_BENCH_EPOCHS` (default 1000) and `DEVNET_BENCH_CHURN` (default 2000,
//! new state objects per epoch; mainnet writes ~20k).

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
    let started = Instant::now();
    let node = match Node::build(config) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("build failed: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = node.mine(epochs) {
        eprintln!("prefill failed: {e}");
        std::process::exit(1);
    }
    let secs = started.elapsed().as_secs_f64();
    let objects = node.store.len() as f64;
    let bytes = node.store.total_bytes() as f64;
    println!(
        "devnet prefill: {epochs} tipsets (head height {}), churn {churn}/epoch: {:.0} objects, {:.1} MB in {secs:.2} s = {:.0} objects/s, {:.1} MB/s",
        node.head().tipset.height,
        objects,
        bytes / 1e6,
        objects / secs,
        bytes / 1e6 / secs,
    );
}
