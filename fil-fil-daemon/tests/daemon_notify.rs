//! Our ChainNotify channel against the devnet over a real WebSocket: values, and
//! unsubscribing the go-jsonrpc way (`xrpc.cancel [request id]`), after which the
//! server-side channel is gone.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fil_fil::devnet::{Devnet, DevnetConfig};
use fil_fil::lotus::json::{HeadChange, HeadChangeType};
use fil_fil::lotus::{ApiInfo, ChainNotifyStream};

async fn next(stream: &mut ChainNotifyStream) -> Option<Vec<HeadChange>> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
}

async fn wait_open_channels(devnet: &Devnet, want: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while devnet.open_channels() != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "devnet still has {} channels open, expected {want}",
            devnet.open_channels()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn chain_notify_delivers_current_then_applies() {
    let devnet = Devnet::start(DevnetConfig {
        prefill_epochs: 3,
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let info = ApiInfo::from_url(&devnet.ws_url(), None).unwrap();
    let mut stream = ChainNotifyStream::open(&info).await.unwrap();
    let first = next(&mut stream).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].kind, HeadChangeType::Current);
    devnet.mine(1).await.unwrap();
    let batch = next(&mut stream).await.unwrap();
    assert!(batch.iter().any(|c| c.kind == HeadChangeType::Apply));
    // The node closing the channel (slow-reader fault) ends the stream.
    assert_eq!(devnet.close_channels(), 1);
    assert!(next(&mut stream).await.is_none());
    devnet.shutdown().await;
}

#[tokio::test]
async fn cancel_names_the_request_and_the_server_channel_goes_away() {
    let devnet = Devnet::start(DevnetConfig {
        prefill_epochs: 2,
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let info = ApiInfo::from_url(&devnet.ws_url(), None).unwrap();
    let mut a = ChainNotifyStream::open(&info).await.unwrap();
    let mut b = ChainNotifyStream::open(&info).await.unwrap();
    next(&mut a).await.unwrap();
    next(&mut b).await.unwrap();
    // Channel ids count per connection; request ids do not, so a cancel that
    // named the channel instead of the request would miss.
    assert_eq!(b.channel_id(), 1);
    assert_ne!(b.request_id(), 1);
    assert_eq!(devnet.open_channels(), 2);

    assert!(b.cancel().await, "the node confirms with xrpc.ch.close");
    wait_open_channels(&devnet, 1).await;

    // The other channel is untouched.
    devnet.mine(1).await.unwrap();
    let batch = next(&mut a).await.unwrap();
    assert!(batch.iter().any(|c| c.kind == HeadChangeType::Apply));

    // Dropping a stream unsubscribes too.
    drop(a);
    wait_open_channels(&devnet, 0).await;
    devnet.shutdown().await;
}
