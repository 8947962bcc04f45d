//! Our Lotus client's ChainNotify against the devnet over a real WebSocket.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fil_fil::devnet::{Devnet, DevnetConfig};
use fil_fil::lotus::json::HeadChangeType;
use fil_fil::lotus::{ApiInfo, LotusClient};

#[tokio::test]
async fn chain_notify_delivers_current_then_applies() {
    let devnet = Devnet::start(DevnetConfig {
        prefill_epochs: 3,
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let client = LotusClient::connect(&ApiInfo::from_url(&devnet.ws_url(), None).unwrap())
        .await
        .unwrap();
    let mut stream = client.chain_notify().await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].kind, HeadChangeType::Current);
    devnet.mine(1).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(next.iter().any(|c| c.kind == HeadChangeType::Apply));
    devnet.shutdown().await;
}
