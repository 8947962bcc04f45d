//! A node that answers `ChainReadObj` with wrong bytes: the daemon refuses the
//! block, counts it in `/metrics`, and serves no snapshot built on it.
#![allow(clippy::unwrap_used)]

mod daemon_support;

use std::time::Duration;

use daemon_support::*;
use fil_fil::daemon::control::{Control, SnapshotRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_blocks_are_refused_and_counted() {
    let devnet = start_small_devnet(3, 6).await;
    let head = devnet.node().head();
    let state = head.tipset.blocks[0].parent_state_root;
    devnet.corrupt_object(state);
    let repo = tempfile::tempdir().unwrap();
    let service = start(daemon_config(&devnet, 4, true), repo.path()).await;
    let handle = service.handle();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    // The counter moves before the failed step is recorded, and a later step
    // that succeeds clears `last_error`: wait until both show the refusal.
    let refused = |status: &fil_fil::daemon::control::Status| {
        status
            .last_error
            .as_ref()
            .is_some_and(|e| e.contains(&state.to_string()))
    };
    while !(handle
        .metrics_text()
        .contains("fil_fil_hash_mismatches_total")
        && !handle
            .metrics_text()
            .contains("fil_fil_hash_mismatches_total 0")
        && refused(&handle.status()))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "mismatch not counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!service.handle().store_has(&state));
    // The head's window is not held, so no snapshot of it can be produced.
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
