//! Following a devnet with multi-block tipsets, null rounds, reorgs, dropped
//! WebSockets, closed channels and a daemon restart: every snapshot equals the
//! offline export of the devnet's full dump, and a second daemon bootstrapped from
//! an imported snapshot agrees byte for byte.
#![allow(clippy::unwrap_used)]

mod daemon_support;

use daemon_support::*;
use fil_fil::daemon::control::Control;
use fil_fil::devnet::Devnet;

const DEPTH: i64 = 12;

async fn check(service: &fil_fil::api::Service, devnet: &Devnet, dir: &std::path::Path) -> i64 {
    wait_synced(service, devnet).await;
    let head = devnet.node().head().tipset.height;
    let epoch = head - 2;
    let got = take(&client(service), epoch, 6, true).await;
    let want = reference(devnet, epoch, 6, true, dir).await;
    assert!(
        got == want,
        "snapshot at {epoch} (head {head}) differs from the reference"
    );
    epoch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_reorgs_drops_and_restarts_with_identical_snapshots() {
    let devnet = start_small_devnet(7, 20).await;
    let work = tempfile::tempdir().unwrap();
    let repo_a = work.path().join("a");
    let mut a = start(daemon_config(&devnet, DEPTH, true), &repo_a).await;
    check(&a, &devnet, work.path()).await;

    for round in 0..12 {
        devnet.mine(4).await.unwrap();
        match round % 4 {
            0 => devnet.reorg(1 + round % 5).await.unwrap(),
            1 => {
                devnet.drop_connections();
                devnet.mine(3).await.unwrap();
            }
            2 => {
                devnet.close_channels();
                devnet.reorg(3).await.unwrap();
            }
            _ => devnet.mine(2).await.unwrap(),
        }
        check(&a, &devnet, work.path()).await;
        if round == 5 {
            // Restart from the checkpoint while the chain moves on.
            a.shutdown().await;
            devnet.mine(6).await.unwrap();
            devnet.reorg(2).await.unwrap();
            a = start(daemon_config(&devnet, DEPTH, true), &repo_a).await;
            check(&a, &devnet, work.path()).await;
        }
    }
    let metrics = a.handle().metrics_text();
    assert!(metrics.contains("fil_fil_reconnects_total"), "{metrics}");
    assert!(!metrics.contains("fil_fil_reconnects_total 0"), "{metrics}");

    // A second daemon bootstrapped from a snapshot file, not from the node.
    wait_synced(&a, &devnet).await;
    let head = devnet.node().head().tipset.height;
    let file = work.path().join("boot.car");
    std::fs::write(&file, take(&client(&a), head, DEPTH, true).await).unwrap();
    devnet.mine(5).await.unwrap();
    let mut config_b = daemon_config(&devnet, DEPTH, true);
    config_b.import = Some(file);
    let b = start(config_b, &work.path().join("b")).await;
    devnet.mine(3).await.unwrap();
    devnet.reorg(2).await.unwrap();
    wait_synced(&a, &devnet).await;
    wait_synced(&b, &devnet).await;
    let epoch = devnet.node().head().tipset.height - 1;
    let from_a = take(&client(&a), epoch, 8, true).await;
    let from_b = take(&client(&b), epoch, 8, true).await;
    assert!(from_a == from_b, "daemons disagree at {epoch}");
    assert!(from_a == reference(&devnet, epoch, 8, true, work.path()).await);
    b.shutdown().await;
    a.shutdown().await;
    devnet.shutdown().await;
}
