//! The daemon bootstraps over RPC from a devnet replaying a real Lotus export and
//! reproduces it byte for byte; the control API needs the token; `/metrics` has
//! every series.
#![allow(clippy::unwrap_used)]

mod daemon_support;

use daemon_support::*;
use fil_fil::devnet::{Devnet, DevnetConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export40_over_rpc_is_byte_identical() {
    let devnet = Devnet::start(DevnetConfig {
        from_car: Some(fixture("export40.car")),
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let repo = tempfile::tempdir().unwrap();
    let service = start(daemon_config(&devnet, 0, false), repo.path()).await;
    wait_synced(&service, &devnet).await;
    let client = client(&service);
    let got = take(&client, 39, 0, false).await;
    let want = std::fs::read(fixture("export40.car")).unwrap();
    assert!(
        got == want,
        "snapshot differs from export40.car ({} vs {} bytes)",
        got.len(),
        want.len()
    );

    // No token: refused.
    let base = format!("http://{}", service.api_addr());
    let anon = reqwest::Client::new();
    let resp = anon.get(format!("{base}/v0/status")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = anon
        .get(format!("{base}/v0/status"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let status = client.status().await.unwrap();
    assert_eq!(status.head_height, Some(39));

    let metrics = client.metrics().await.unwrap();
    for series in [
        "fil_fil_head_height 39",
        "fil_fil_lag_epochs",
        "fil_fil_dag_objects",
        "fil_fil_dag_bytes",
        "fil_fil_dag_links_total",
        "fil_fil_dag_unlinks_total",
        "fil_fil_rpc_latency_seconds_bucket",
        "fil_fil_snapshot_seconds_count 1",
        "fil_fil_reconnects_total",
        "fil_fil_hash_mismatches_total 0",
    ] {
        assert!(metrics.contains(series), "missing {series}:\n{metrics}");
    }
    service.shutdown().await;
    devnet.shutdown().await;
}
