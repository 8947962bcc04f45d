//! The real `fil-fil daemon` process and real signals: started against a devnet
//! with a temporary repo, found through the repo's control API, stopped with
//! SIGTERM (clean exit, checkpoint written by the shutdown, not before), then
//! restarted: it loads the checkpoint and catches up instead of re-fetching its
//! window.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod daemon_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use daemon_support::start_small_devnet;
use fil_fil::api::ControlClient;
use fil_fil::daemon::Repo;
use fil_fil::devnet::Devnet;

fn spawn_daemon(repo: &Path, devnet: &Devnet, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fil-fil"))
        .args(["daemon", "--depth", "20", "--checkpoint-interval", "1h"])
        .arg("--repo")
        .arg(repo)
        .arg("--lotus-url")
        .arg(devnet.ws_url())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Waits until the daemon in `repo` answers and has settled on the devnet's head.
async fn wait_synced(repo: &Path, devnet: &Devnet, child: &mut Child) -> ControlClient {
    let want: Vec<_> = devnet.node().head().tipset.cids.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(child.try_wait().unwrap().is_none(), "daemon exited early");
        assert!(
            tokio::time::Instant::now() < deadline,
            "daemon did not sync"
        );
        if let Ok(client) = ControlClient::from_repo(&Repo::at(repo)) {
            if let Ok(status) = client.status().await {
                let settled: Vec<_> = status.settled_head.iter().map(|c| c.0).collect();
                if settled == want && status.last_error.is_none() {
                    return client;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from\n{metrics}"))
}

async fn terminate(child: &mut Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "daemon exited with {status} after SIGTERM"
            );
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "daemon ignored SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_checkpoints_and_a_restart_resumes_from_it() {
    let devnet = start_small_devnet(5, 25).await;
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    let pointer = Repo::at(&repo).checkpoint_pointer();

    let mut first = spawn_daemon(&repo, &devnet, &work.path().join("first.log"));
    let client = wait_synced(&repo, &devnet, &mut first).await;
    let metrics = client.metrics().await.unwrap();
    let fetched_first = counter(&metrics, "fil_fil_fetched_blocks_total");
    let held = client.status().await.unwrap().objects;
    // Everything held came from the node (but the header of the tipset the
    // channel announced, which arrives with the notification).
    assert!(
        fetched_first + 8 >= held,
        "{fetched_first} fetched, {held} held"
    );
    assert!(!pointer.exists(), "no checkpoint before the signal");

    terminate(&mut first).await;
    assert!(pointer.exists(), "SIGTERM writes a checkpoint");
    let log = std::fs::read_to_string(work.path().join("first.log")).unwrap();
    assert!(log.contains("checkpoint written"), "{log}");

    // The chain moves on while the daemon is down.
    devnet.mine(2).await.unwrap();
    let mut second = spawn_daemon(&repo, &devnet, &work.path().join("second.log"));
    let client = wait_synced(&repo, &devnet, &mut second).await;
    let log = std::fs::read_to_string(work.path().join("second.log")).unwrap();
    assert!(log.contains("restored checkpoint"), "{log}");
    assert!(!log.contains("bootstrapping the window"), "{log}");
    let fetched_second = counter(
        &client.metrics().await.unwrap(),
        "fil_fil_fetched_blocks_total",
    );
    // Only the two new epochs' blocks: a small fraction of the window.
    assert!(
        fetched_second * 4 < fetched_first,
        "restart fetched {fetched_second} blocks, first start {fetched_first}"
    );
    terminate(&mut second).await;
    devnet.shutdown().await;
}
