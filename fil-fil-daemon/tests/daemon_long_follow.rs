//! The long check: a daemon follows more than 500 epochs of a devnet with
//! multi-block tipsets, null rounds and reorgs up to 10 deep, and at several
//! epochs its snapshot equals the offline export of the devnet's full dump, byte
//! for byte. A second daemon, bootstrapped from an imported snapshot much later and
//! restarted from its checkpoint mid-way, produces the same bytes for the same
//! epochs as the first one, which bootstrapped from the node.
#![allow(clippy::unwrap_used)]

mod daemon_support;

use std::path::Path;

use daemon_support::*;
use fil_fil::api::Service;
use fil_fil::daemon::control::Control;
use fil_fil::devnet::{Devnet, DevnetConfig};

/// Window kept by both daemons: deeper than the deepest reorg.
const DEPTH: i64 = 12;
/// Epochs followed after the prefill.
const EPOCHS: i64 = 520;
/// Epochs mined between steps; a manual reorg (depth cycling 1..=10) follows each.
const STEP: u64 = 10;
/// Heights followed between two reference checks.
const CHECK_EVERY: i64 = 100;

fn head(devnet: &Devnet) -> i64 {
    devnet.node().head().tipset.height
}

/// Both the newest epoch with a short window and an older one with a tiny window
/// equal the reference.
async fn check_reference(service: &Service, devnet: &Devnet, dir: &Path) {
    wait_synced(service, devnet).await;
    let head = head(devnet);
    for (epoch, depth) in [(head - 2, 6), (head - 9, 2)] {
        let got = take(&client(service), epoch, depth, true).await;
        let want = reference(devnet, epoch, depth, true, dir).await;
        assert!(
            got == want,
            "snapshot at {epoch} (depth {depth}, head {head}) differs from the reference"
        );
    }
}

async fn check_agree(a: &Service, b: &Service, devnet: &Devnet) {
    wait_synced(a, devnet).await;
    wait_synced(b, devnet).await;
    let epoch = head(devnet) - 3;
    let from_a = take(&client(a), epoch, 8, true).await;
    let from_b = take(&client(b), epoch, 8, true).await;
    assert!(from_a == from_b, "daemons disagree at {epoch}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_500_epochs_with_reorgs_and_two_daemons_agree() {
    let devnet = Devnet::start(DevnetConfig {
        prefill_epochs: 10,
        reorg_prob: 0.02,
        max_reorg_depth: 10,
        churn_objects: 8,
        ..small_devnet(11)
    })
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let start_height = head(&devnet);
    let a = start(daemon_config(&devnet, DEPTH, true), &work.path().join("a")).await;
    let repo_b = work.path().join("b");
    let mut b: Option<Service> = None;
    let mut b_restarted = false;
    let mut step = 0usize;
    let mut checked = 0;
    // Checks go by height followed, not by step: how far one step moves the head
    // depends on the devnet's null rounds and on the branch a reorg applies.
    let mut next_check = CHECK_EVERY;
    while head(&devnet) < start_height + EPOCHS {
        devnet.mine(STEP).await.unwrap();
        devnet.reorg(1 + step % 10).await.unwrap();
        step += 1;
        let followed = head(&devnet) - start_height;
        if followed >= next_check {
            check_reference(&a, &devnet, work.path()).await;
            checked += 1;
            next_check += CHECK_EVERY;
        }
        if b.is_none() && followed >= 200 {
            // B starts late, from a snapshot file A wrote a while ago.
            wait_synced(&a, &devnet).await;
            let file = work.path().join("boot.car");
            std::fs::write(&file, take(&client(&a), head(&devnet), DEPTH, true).await).unwrap();
            devnet.mine(7).await.unwrap();
            devnet.reorg(4).await.unwrap();
            let mut config = daemon_config(&devnet, DEPTH, true);
            config.import = Some(file);
            b = Some(start(config, &repo_b).await);
        }
        if let (Some(service), false) = (b.as_ref(), b_restarted) {
            if followed >= 350 {
                check_agree(&a, service, &devnet).await;
                // Restart B from its checkpoint while the chain moves and reorgs.
                b.take().unwrap().shutdown().await;
                devnet.mine(9).await.unwrap();
                devnet.reorg(10).await.unwrap();
                b = Some(start(daemon_config(&devnet, DEPTH, true), &repo_b).await);
                b_restarted = true;
            }
        }
    }
    assert!(head(&devnet) - start_height >= 500);
    assert!(checked >= 4, "only {checked} reference checks");
    let b = b.unwrap();
    assert!(b_restarted);
    check_agree(&a, &b, &devnet).await;
    check_reference(&b, &devnet, work.path()).await;
    let metrics = a.handle().metrics_text();
    assert!(
        metrics.contains("fil_fil_tipsets_reverted_total "),
        "{metrics}"
    );
    assert!(
        !metrics.contains("fil_fil_tipsets_reverted_total 0\n"),
        "{metrics}"
    );
    b.shutdown().await;
    a.shutdown().await;
    devnet.shutdown().await;
}
