//! Daemon benchmark. Default mode, against an in-process devnet over real
//! WebSockets and HTTP: bootstrap time, per-epoch ingest latency (from the node
//! announcing a tipset to its window being fully linked) with N new state
//! objects per epoch, and the process CPU each epoch cost (daemon and devnet
//! share the process). `--import-actors N` mode, no devnet: a generated chain
//! with N actors (written to a CAR once by a child process, so its generator's
//! memory stays out of this process) is imported into a daemon; it reports the
//! import time and peak RSS against payload. Both modes then time
//! `take-snapshot` to a complete, synced file next to a raw sequential write of
//! the same byte count.
//!
//! `cargo bench --bench daemon -- [--churn N] [--prefill E] [--epochs E] [--depth D] [--fetch-batch B]`
//! `cargo bench --bench daemon -- --import-actors 7000000`

#![allow(clippy::unwrap_used)] // a benchmark: failures should abort loudly

#[path = "support/proc_stats.rs"]
mod proc_stats;

/// The `fil-fil` binary's allocator, so these figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fil_fil::api::{ControlClient, Service};
use fil_fil::daemon::control::{Control, SnapshotRequest};
use fil_fil::daemon::{DaemonConfig, Repo};
use fil_fil::devnet::{Devnet, DevnetConfig};
use fil_fil::lotus::ApiInfo;
use fil_fil::snapshot::synthetic::{generate, SyntheticConfig};
use fil_fil::snapshot::{export, ExportOptions};

/// Epochs of the generated chain an import bench uses (all of them in the window).
const IMPORT_EPOCHS: i64 = 10;

struct Args {
    churn: usize,
    prefill: u64,
    epochs: usize,
    depth: i64,
    fetch_batch: Option<usize>,
    import_actors: usize,
    generate_car: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        churn: 20_000,
        prefill: 30,
        epochs: 20,
        depth: 2000,
        fetch_batch: None,
        import_actors: 0,
        generate_car: None,
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
            "--fetch-batch" => a.fetch_batch = Some(v.parse().unwrap()),
            "--import-actors" => a.import_actors = v.parse().unwrap(),
            "--generate-car" => a.generate_car = Some(PathBuf::from(v)),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

async fn wait_settled(service: &Service, want: Option<Vec<cid::Cid>>) {
    loop {
        let status = service.handle().status();
        let settled: Vec<_> = status.settled_head.iter().map(|c| c.0).collect();
        let done = match &want {
            Some(want) => &settled == want,
            None => !settled.is_empty(),
        };
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    let mean = v.iter().sum::<Duration>() / v.len().max(1) as u32;
    format!(
        "mean {mean:.2?}, median {:.2?}, max {:.2?}",
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    if let Some(path) = &a.generate_car {
        generate_car(a.import_actors, path);
        return;
    }
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let service = if a.import_actors > 0 {
        import_bench(&a, work.path()).await
    } else {
        follow_bench(&a, work.path()).await
    };
    time_snapshot(&service, work.path()).await;
    let s = service.handle().status();
    println!(
        "peak RSS {:.1} MB for {:.1} MB of payload held by the daemon ({} objects)",
        mb(proc_stats::proc_status("VmHWM:")),
        mb(s.bytes),
        s.objects,
    );
    service.shutdown().await;
}

async fn follow_bench(a: &Args, work: &Path) -> Service {
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
    let mut config = DaemonConfig {
        depth: a.depth,
        skip_old_msgs: true,
        ..DaemonConfig::for_node(ApiInfo::from_url(&devnet.ws_url(), None).unwrap())
    };
    if let Some(batch) = a.fetch_batch {
        config.fetch_batch = batch;
    }
    println!(
        "fetch: {}",
        match config.fetch_batch {
            0 => format!(
                "WebSocket calls, {} in flight per batch",
                config.fetch_concurrency
            ),
            n => format!("HTTP JSON-RPC batches of {n}, 4 in flight"),
        }
    );
    let head = |devnet: &Devnet| Some(devnet.node().head().tipset.cids.clone());
    let (started, cpu) = (Instant::now(), proc_stats::process_cpu());
    let service = Service::start(config, Repo::at(work.join("repo")))
        .await
        .unwrap();
    wait_settled(&service, head(&devnet)).await;
    let (boot, boot_cpu) = (started.elapsed(), proc_stats::process_cpu() - cpu);
    let s = service.handle().status();
    println!(
        "bootstrap over RPC: {boot:.2?} (process CPU {boot_cpu:.2?}) for {} objects, {:.1} MB ({:.0} objects/s)",
        s.objects,
        mb(s.bytes),
        s.objects as f64 / boot.as_secs_f64()
    );

    let (mut lat, mut cpus) = (Vec::new(), Vec::new());
    let mut objects = s.objects;
    let mut new_objects = 0;
    for _ in 0..a.epochs {
        devnet.mine(1).await.unwrap();
        let (t, cpu) = (Instant::now(), proc_stats::process_cpu());
        wait_settled(&service, head(&devnet)).await;
        lat.push(t.elapsed());
        cpus.push(proc_stats::process_cpu() - cpu);
        let now = service.handle().status().objects;
        new_objects += now.saturating_sub(objects);
        objects = now;
    }
    println!(
        "ingest per epoch: {}; {:.0} new objects/epoch held",
        summary(lat),
        new_objects as f64 / a.epochs as f64
    );
    println!(
        "process CPU per epoch (daemon + devnet serving it): {}",
        summary(cpus)
    );
    println!(
        "devnet holds {:.1} MB (in this process's RSS)",
        mb(devnet.node().store.total_bytes())
    );
    // The devnet stays up only as long as the snapshot needs nothing from it.
    devnet.shutdown().await;
    service
}

async fn import_bench(a: &Args, work: &Path) -> Service {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("daemon-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let car = dir.join(format!(
        "import-{}-actors-{IMPORT_EPOCHS}-epochs.car",
        a.import_actors
    ));
    if !car.exists() {
        let t = Instant::now();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--import-actors")
            .arg(a.import_actors.to_string())
            .arg("--generate-car")
            .arg(&car)
            .status()
            .unwrap();
        assert!(status.success(), "generating {} failed", car.display());
        println!("generated {} in {:.1?}", car.display(), t.elapsed());
    }
    let size = std::fs::metadata(&car).unwrap().len();
    println!(
        "import bench: {} ({:.1} MB, {} actors, {IMPORT_EPOCHS} epochs)",
        car.display(),
        mb(size),
        a.import_actors
    );
    // No node: the daemon bootstraps from the file alone (the follower keeps
    // retrying a closed port meanwhile).
    let config = DaemonConfig {
        import: Some(car),
        ..DaemonConfig::for_node(ApiInfo::from_url("ws://127.0.0.1:9/rpc/v1", None).unwrap())
    };
    let rss_before = proc_stats::proc_status("VmRSS:");
    let (t, cpu) = (Instant::now(), proc_stats::process_cpu());
    let service = Service::start(config, Repo::at(work.join("repo")))
        .await
        .unwrap();
    wait_settled(&service, None).await;
    let (took, took_cpu) = (t.elapsed(), proc_stats::process_cpu() - cpu);
    let s = service.handle().status();
    let peak = proc_stats::proc_status("VmHWM:");
    println!(
        "import: {took:.2?} (process CPU {took_cpu:.2?}) for {} objects, {:.1} MB payload; RSS before {:.1} MB, peak {:.1} MB = {:.2}x payload",
        s.objects,
        mb(s.bytes),
        mb(rss_before),
        mb(peak),
        peak as f64 / s.bytes.max(1) as f64
    );
    service
}

/// Child-process mode: writes the generated chain's snapshot to `path`.
fn generate_car(actors: usize, path: &Path) {
    let chain = generate(&SyntheticConfig {
        epochs: IMPORT_EPOCHS,
        actors,
        churn: 20,
        messages_per_block: 5,
        seed: 1,
    });
    let options = ExportOptions {
        depth: IMPORT_EPOCHS + 1,
        skip_old_msgs: true,
        ..ExportOptions::default()
    };
    let tmp = path.with_extension("tmp");
    let file = std::io::BufWriter::with_capacity(4 << 20, std::fs::File::create(&tmp).unwrap());
    let (file, _) = export(&chain.blocks, &chain.head, &options, file, &mut |_| {}).unwrap();
    file.into_inner().unwrap().sync_all().unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn time_snapshot(service: &Service, work: &Path) {
    let client = ControlClient::from_repo(service.repo()).unwrap();
    let path = work.join("snap.car");
    let (t, cpu) = (Instant::now(), proc_stats::process_cpu());
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
    let (snap, snap_cpu) = (t.elapsed(), proc_stats::process_cpu() - cpu);
    std::fs::remove_file(&path).unwrap();
    let raw_path = work.join("raw.bin");
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
    std::fs::remove_file(&raw_path).unwrap();
    println!(
        "take-snapshot to file (HTTP stream, synced): {:.1} MB in {snap:.2?} (process CPU {snap_cpu:.2?}) = {:.0} MB/s; raw sequential write of the same bytes: {raw_t:.2?} = {:.0} MB/s ({:.0}% of raw)",
        mb(size),
        mb(size) / snap.as_secs_f64(),
        mb(size) / raw_t.as_secs_f64(),
        100.0 * raw_t.as_secs_f64() / snap.as_secs_f64()
    );
}
