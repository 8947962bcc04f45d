//! `take-snapshot`, `status` and `pins` find the daemon through `--repo` and print
//! what they promise; the file is complete and hashed.
#![allow(clippy::unwrap_used)]

mod daemon_support;

use assert_cmd::Command;
use daemon_support::*;
use fil_fil::devnet::{Devnet, DevnetConfig};
use sha2::Digest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_commands_talk_to_the_daemon_through_the_repo() {
    let devnet = Devnet::start(DevnetConfig {
        from_car: Some(fixture("export40.car")),
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    let service = start(daemon_config(&devnet, 0, false), &repo).await;
    wait_synced(&service, &devnet).await;
    let out = work.path().join("snap.car");
    let (repo_s, out_s) = (repo.clone(), out.clone());
    let snap = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("fil-fil")
            .unwrap()
            .args(["take-snapshot", "--quiet", "--epoch", "39", "--depth", "0"])
            .args(["--skip-old-msgs", "false", "--repo"])
            .arg(&repo_s)
            .arg("--output")
            .arg(&out_s)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        snap.status.success(),
        "{}",
        String::from_utf8_lossy(&snap.stderr)
    );
    let stdout = String::from_utf8(snap.stdout).unwrap();
    let want = std::fs::read(fixture("export40.car")).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), want);
    assert!(
        stdout.contains(&hex::encode(sha2::Sha256::digest(&want))),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} bytes", want.len())),
        "{stdout}"
    );
    assert!(stdout.contains("height 39"), "{stdout}");

    let repo_s = repo.clone();
    let status = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("fil-fil")
            .unwrap()
            .args(["status", "--json", "--repo"])
            .arg(&repo_s)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(status.status.success());
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["head_height"], 39);

    // An epoch outside the window is refused with a clear message and no file.
    let (repo_s, bad) = (repo.clone(), work.path().join("bad.car"));
    let bad_s = bad.clone();
    let refused = tokio::task::spawn_blocking(move || {
        Command::cargo_bin("fil-fil")
            .unwrap()
            .args(["take-snapshot", "--epoch", "39", "--depth", "5", "--repo"])
            .arg(&repo_s)
            .arg("--output")
            .arg(&bad_s)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not held"));
    assert!(!bad.exists());
    service.shutdown().await;
    devnet.shutdown().await;
}
