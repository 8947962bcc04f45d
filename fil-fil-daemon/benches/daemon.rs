//! Daemon benchmark against an in-process devnet over real WebSockets: bootstrap
//! time, per-epoch ingest latency (from the node announcing a tipset to its window
//! being fully linked) with N new state objects per epoch, `take-snapshot` time to
//! a complete file next to a raw sequential write of the same byte count, and
//! peak RSS against payload bytes (the devnet's own copy of the chain lives in
//! the same process and is included in RSS).
//!
//! `cargo bench --bench daemon -- [--churn N] [--prefill E] [--epochs E] [--depth D]`

#![allow(clippy::unwrap_used)] // a benchmark: failures should abort loudly

use std::io::Write;
use std::time::{Duration, Instant};

use fil_fil::api::{ControlClient, Service};
use fil_fil::daemon::control::{Control, SnapshotRequest};
use fil_fil::daemon::{DaemonConfig, Repo};
use fil_fil::devnet::{Devnet, DevnetConfig};
use fil_fil::lotus::ApiInfo;

struct Args {
    churn: usize,
    prefill: u64,
    epochs: usize,
    depth: i64,
}

fn args() -> Args {
    let mut a = Args {
        churn: 20_000,
        prefill: 30,
        epochs: 20,
        depth: 2000,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i + 1 < argv.len() {
        let v = &argv[i + 1];
        match argv[i].as_str() {
            "--churn" => a.churn = v.parse().unwrap(),
            "--prefill" => a.prefill = v.parse().unwrap(),
            "--epochs" => a.epochs = v.parse().unwrap(),
            "--depth" => a.depth = v.parse().unwrap(),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

async fn wait_settled(service: &Service, devnet: &Devnet) {
    let want = devnet.node().head().tipset.cids.clone();
    loop {
        let status = service.handle().status();
        let settled: Vec<_> = status.settled_head.iter().map(|c| c.0).collect();
        if settled == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    println!(
        "daemon bench: churn {} objects/epoch, prefill {} epochs, {} epochs followed, depth {}",
        a.churn, a.prefill, a.epochs, a.depth
    );
    let started = Instant::now();
    let devnet = Devnet::start(DevnetConfig {
        churn_objects: a.churn,
        prefill_epochs: a.prefill,
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    println!("devnet prefill: {:.2?}", started.elapsed());
    let work = tempfile::tempdir_in(".").unwrap();
    let config = DaemonConfig {
        depth: a.depth,
        skip_old_msgs: true,
        ..DaemonConfig::for_node(ApiInfo::from_url(&devnet.ws_url(), None).unwrap())
    };
    let started = Instant::now();
    let service = Service::start(config, Repo::at(work.path().join("repo")))
        .await
        .unwrap();
    wait_settled(&service, &devnet).await;
    let boot = started.elapsed();
    let s = service.handle().status();
    println!(
        "bootstrap over RPC: {boot:.2?} for {} objects, {:.1} MB ({:.0} objects/s)",
        s.objects,
        mb(s.bytes),
        s.objects as f64 / boot.as_secs_f64()
    );

    let mut lat = Vec::new();
    let mut objects = s.objects;
    let mut new_objects = 0;
    for _ in 0..a.epochs {
        devnet.mine(1).await.unwrap();
        let t = Instant::now();
        wait_settled(&service, &devnet).await;
        lat.push(t.elapsed());
        let now = service.handle().status().objects;
        new_objects += now.saturating_sub(objects);
        objects = now;
    }
    lat.sort();
    let mean = lat.iter().sum::<Duration>() / lat.len().max(1) as u32;
    println!(
        "ingest per epoch: mean {mean:.2?}, median {:.2?}, max {:.2?}; {:.0} new objects/epoch held",
        lat[lat.len() / 2],
        lat[lat.len() - 1],
        new_objects as f64 / a.epochs as f64
    );

    let client = ControlClient::from_repo(service.repo()).unwrap();
    let path = work.path().join("snap.car");
    let t = Instant::now();
    let (_, mut resp) = client.snapshot(&SnapshotRequest::default()).await.unwrap();
    let mut file =
        std::io::BufWriter::with_capacity(4 << 20, std::fs::File::create(&path).unwrap());
    let mut size = 0u64;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        size += chunk.len() as u64;
        file.write_all(&chunk).unwrap();
    }
    let file = file.into_inner().unwrap();
    file.sync_all().unwrap();
    let snap = t.elapsed();
    let raw_path = work.path().join("raw.bin");
    let buf = vec![0x5au8; 4 << 20];
    let t = Instant::now();
    let mut raw = std::fs::File::create(&raw_path).unwrap();
    let mut left = size;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        raw.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    raw.sync_all().unwrap();
    let raw_t = t.elapsed();
    println!(
        "take-snapshot to file (HTTP stream, synced): {:.1} MB in {snap:.2?} = {:.0} MB/s; raw sequential write of the same bytes: {raw_t:.2?} = {:.0} MB/s ({:.0}% of raw)",
        mb(size),
        mb(size) / snap.as_secs_f64(),
        mb(size) / raw_t.as_secs_f64(),
        100.0 * raw_t.as_secs_f64() / snap.as_secs_f64()
    );
    let s = service.handle().status();
    println!(
        "peak RSS {:.1} MB (devnet included) for {:.1} MB of payload held by the daemon ({} objects); devnet holds {:.1} MB",
        mb(peak_rss_bytes()),
        mb(s.bytes),
        s.objects,
        mb(devnet.node().store.total_bytes())
    );
    service.shutdown().await;
    devnet.shutdown().await;
}
