//! The node goes away and comes back (devnet restarted on the same address,
//! further along the same chain): the daemon reconnects, catches up with
//! `ChainGetPath`, and its snapshots still equal the offline reference.
#![allow(clippy::unwrap_used)]

mod daemon_support;

use daemon_support::*;
use fil_fil::devnet::{Devnet, DevnetConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catches_up_after_the_node_restarts() {
    let first = start_small_devnet(5, 10).await;
    let addr = first.addr();
    let work = tempfile::tempdir().unwrap();
    let service = start(daemon_config(&first, 8, true), &work.path().join("r")).await;
    wait_synced(&service, &first).await;
    first.shutdown().await;

    let second = Devnet::start(DevnetConfig {
        listen: addr,
        prefill_epochs: 16,
        ..small_devnet(5)
    })
    .await
    .unwrap();
    wait_synced(&service, &second).await;
    let epoch = second.node().head().tipset.height - 1;
    let got = take(&client(&service), epoch, 5, true).await;
    assert!(got == reference(&second, epoch, 5, true, work.path()).await);
    service.shutdown().await;
    second.shutdown().await;
}
