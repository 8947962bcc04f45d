//! How the daemon fetches blocks: `ChainReadObj` in JSON-RPC batches over HTTP
//! when the node takes them, pipelined WebSocket calls when it refuses them, and
//! in both cases every block checked against its CID (wrong bytes inside a
//! batch answer are refused and counted).
#![allow(clippy::unwrap_used)]

mod daemon_support;

use std::time::Duration;

use daemon_support::*;
use fil_fil::daemon::control::{Control, SnapshotRequest};
use fil_fil::devnet::{Devnet, DevnetConfig};
use fil_fil::lotus::{ApiInfo, BatchError, BatchReader};

const DEPTH: i64 = 6;

/// Calls of `method` seen by the RPC latency histogram.
fn calls(metrics: &str, method: &str) -> u64 {
    let prefix = format!("fil_fil_rpc_latency_seconds_count{{method=\"{method}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// A batch reader for the devnet's HTTP endpoint with `token`, if any.
fn reader(devnet: &Devnet, token: Option<&str>) -> BatchReader {
    let info = ApiInfo::from_url(&devnet.ws_url(), token.map(str::to_owned)).unwrap();
    BatchReader::new(&info).unwrap()
}

async fn follow_and_compare(devnet: &Devnet) -> String {
    let work = tempfile::tempdir().unwrap();
    let service = start(
        daemon_config(devnet, DEPTH, true),
        &work.path().join("repo"),
    )
    .await;
    devnet.mine(5).await.unwrap();
    wait_synced(&service, devnet).await;
    let head = devnet.node().head().tipset.height;
    let got = take(&client(&service), head, DEPTH, true).await;
    let want = reference(devnet, head, DEPTH, true, work.path()).await;
    assert!(got == want, "snapshot at {head} differs from the reference");
    let metrics = service.handle().metrics_text();
    service.shutdown().await;
    metrics
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_come_in_http_batches() {
    let devnet = start_small_devnet(11, 12).await;
    let metrics = follow_and_compare(&devnet).await;
    assert!(
        calls(&metrics, "Filecoin.ChainReadObj[batch]") > 0,
        "{metrics}"
    );
    assert_eq!(calls(&metrics, "Filecoin.ChainReadObj"), 0, "{metrics}");
    assert!(
        !metrics.contains("fil_fil_fetched_blocks_total 0"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("fil_fil_fetched_bytes_total 0"),
        "{metrics}"
    );
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refusing_batches_gets_websocket_calls() {
    let devnet = Devnet::start(DevnetConfig {
        prefill_epochs: 12,
        http_batches: false,
        ..small_devnet(12)
    })
    .await
    .unwrap();
    let reader = reader(&devnet, None);
    let state = devnet.node().head().tipset.blocks[0].parent_state_root;
    let refused = reader.read_objs(&[state]).await.unwrap_err();
    assert!(
        matches!(refused, BatchError::Unsupported { .. }),
        "{refused}"
    );
    let metrics = follow_and_compare(&devnet).await;
    assert!(calls(&metrics, "Filecoin.ChainReadObj") > 0, "{metrics}");
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_reported_not_taken_for_missing_batch_support() {
    let devnet = Devnet::start(DevnetConfig {
        token: Some("right-token".into()),
        ..small_devnet(14)
    })
    .await
    .unwrap();
    let state = devnet.node().head().tipset.blocks[0].parent_state_root;
    let refused = reader(&devnet, Some("wrong-token"))
        .read_objs(&[state])
        .await
        .unwrap_err();
    assert!(
        matches!(refused, BatchError::Unauthorized { status: 401, .. }),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("FULLNODE_API_INFO"),
        "{refused}"
    );
    let blocks = reader(&devnet, Some("right-token"))
        .read_objs(&[state])
        .await
        .unwrap();
    fil_fil::ipld::verify_block(&state, &blocks[0]).unwrap();
    devnet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_bytes_in_a_batch_are_refused_and_counted() {
    let devnet = start_small_devnet(13, 6).await;
    let head = devnet.node().head();
    let state = head.tipset.blocks[0].parent_state_root;
    let reader = reader(&devnet, None);
    let good = reader.read_objs(&[state]).await.unwrap();
    fil_fil::ipld::verify_block(&state, &good[0]).unwrap();
    devnet.corrupt_object(state);
    let bad = reader.read_objs(&[state]).await.unwrap();
    assert!(fil_fil::ipld::verify_block(&state, &bad[0]).is_err());

    let repo = tempfile::tempdir().unwrap();
    let service = start(daemon_config(&devnet, 4, true), repo.path()).await;
    let handle = service.handle();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = handle.metrics_text();
        let counted = !metrics.contains("fil_fil_hash_mismatches_total 0")
            && metrics.contains("fil_fil_hash_mismatches_total");
        let named = handle
            .status()
            .last_error
            .is_some_and(|e| e.contains(&state.to_string()));
        if counted && named {
            assert!(calls(&metrics, "Filecoin.ChainReadObj[batch]") > 0);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "mismatch not counted: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!handle.store_has(&state));
    let refused = client(&service)
        .snapshot(&SnapshotRequest {
            epoch: Some(head.tipset.height),
            ..SnapshotRequest::default()
        })
        .await;
    assert!(refused.is_err(), "snapshot served from unverified data");
    service.shutdown().await;
    devnet.shutdown().await;
}
