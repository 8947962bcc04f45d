//! Scheduled snapshots: every `snapshot-interval` epochs, pinned once
//! `confidence` deep, the newest `retain` kept; a pinned epoch can still be
//! exported byte-identically after the window has moved past it.
#![allow(clippy::unwrap_used)]

mod daemon_support;

use daemon_support::*;
use fil_fil::daemon::control::Control;
use fil_fil::devnet::{Devnet, DevnetConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_epochs_outlive_the_window() {
    let devnet = Devnet::start(DevnetConfig {
        prefill_epochs: 5,
        null_round_prob: 0.0,
        ..small_devnet(11)
    })
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut config = daemon_config(&devnet, 4, true);
    config.snapshot_interval = 10;
    config.confidence = 3;
    config.retain = 2;
    let service = start(config, &work.path().join("r")).await;
    wait_synced(&service, &devnet).await;
    for _ in 0..12 {
        devnet.mine(4).await.unwrap();
        wait_synced(&service, &devnet).await;
    }
    let head = devnet.node().head().tipset.height;
    assert!(head >= 53, "head {head}");
    let pins: Vec<i64> = service.handle().pins().iter().map(|p| p.epoch).collect();
    assert_eq!(pins, vec![40, 50], "pins at head {head}");
    // Epoch 40 is far outside the window (depth 4 + confidence 3) but pinned.
    let got = take(&client(&service), 40, 4, true).await;
    assert!(got == reference(&devnet, 40, 4, true, work.path()).await);
    // Released pins stop serving.
    client(&service).delete_pin(40).await.unwrap();
    let refused = client(&service)
        .snapshot(&fil_fil::daemon::control::SnapshotRequest {
            epoch: Some(40),
            depth: Some(4),
            ..Default::default()
        })
        .await;
    assert!(refused.is_err());
    service.shutdown().await;
    devnet.shutdown().await;
}
