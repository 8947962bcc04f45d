//! Helpers for daemon tests: a devnet and daemons on port 0 over real WebSockets,
//! snapshots taken through the control API, and offline reference exports.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use fil_fil::api::{ControlClient, Service};
use fil_fil::chain::TipsetKey;
use fil_fil::daemon::control::{Control, SnapshotRequest};
use fil_fil::daemon::{DaemonConfig, Repo};
use fil_fil::devnet::{Devnet, DevnetConfig};
use fil_fil::lotus::ApiInfo;
use fil_fil::snapshot::{export, import_to_map, ExportOptions};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures"
    ))
    .join(name)
}

/// Small chain: multi-block tipsets, frequent null rounds, little churn.
pub fn small_devnet(seed: u64) -> DevnetConfig {
    DevnetConfig {
        seed,
        churn_objects: 20,
        null_round_prob: 0.2,
        max_messages_per_block: 2,
        ..DevnetConfig::default()
    }
}

/// A [`small_devnet`] with `prefill_epochs` of chain, started on a free port.
pub async fn start_small_devnet(seed: u64, prefill_epochs: u64) -> Devnet {
    Devnet::start(DevnetConfig {
        prefill_epochs,
        ..small_devnet(seed)
    })
    .await
    .unwrap()
}

pub fn daemon_config(devnet: &Devnet, depth: i64, skip_old_msgs: bool) -> DaemonConfig {
    DaemonConfig {
        depth,
        skip_old_msgs,
        fetch_concurrency: 16,
        ..DaemonConfig::for_node(ApiInfo::from_url(&devnet.ws_url(), None).unwrap())
    }
}

pub async fn start(config: DaemonConfig, repo: &Path) -> Service {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    Service::start(config, Repo::at(repo))
        .await
        .expect("daemon starts")
}

pub fn client(service: &Service) -> ControlClient {
    ControlClient::from_repo(service.repo()).unwrap()
}

/// Waits until the daemon's settled head is the devnet's head.
pub async fn wait_synced(service: &Service, devnet: &Devnet) {
    let want = devnet.node().head().tipset.cids.clone();
    let handle = service.handle();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = handle.status();
        let settled: Vec<_> = status.settled_head.iter().map(|c| c.0).collect();
        if settled == want && status.last_error.is_none() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "daemon did not reach the devnet head {want:?}; status {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `take-snapshot` through the control API, as bytes.
pub async fn take(client: &ControlClient, epoch: i64, depth: i64, skip: bool) -> Vec<u8> {
    let request = SnapshotRequest {
        epoch: Some(epoch),
        depth: Some(depth),
        skip_old_msgs: Some(skip),
        ..SnapshotRequest::default()
    };
    let (_, mut resp) = client.snapshot(&request).await.expect("snapshot accepted");
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.expect("snapshot stream") {
        out.extend_from_slice(&chunk);
    }
    out
}

/// What `lotus chain export` would write: the devnet's full dump at `epoch`,
/// re-exported offline with the window rules.
pub async fn reference(devnet: &Devnet, epoch: i64, depth: i64, skip: bool, dir: &Path) -> Vec<u8> {
    let dump = dir.join(format!("dump-{epoch}.car"));
    devnet.export(epoch, &dump).await.unwrap();
    let (map, summary) = import_to_map(&dump).unwrap();
    let options = ExportOptions {
        depth,
        skip_old_msgs: skip,
        ..ExportOptions::default()
    };
    let head = TipsetKey::new(summary.head.cids().to_vec());
    let (out, _) = export(&map, &head, &options, Vec::new(), &mut |_| {}).unwrap();
    out
}
