//! Permissions behave like a Lotus node's, checked on the raw wire: no
//! credentials means `read`, a wrong or malformed token is a bare 401, the
//! devnet's token (header or `?token=`) grants admin, and an admin method called
//! with `read` answers go-jsonrpc's permission error as a method error.

mod devnet_support;

use devnet_support::*;
use fil_fil::devnet::DevnetConfig;
use serde_json::{json, Value};

const MINE_DENIED: &str = "{\"error\":{\"code\":1,\"message\":\"missing permission to invoke 'Mine' (need 'admin')\"},\"id\":2,\"jsonrpc\":\"2.0\"}\n";

#[tokio::test]
async fn read_by_default_admin_with_the_token_401_otherwise() {
    let devnet = start(DevnetConfig {
        token: Some("sekrit".into()),
        ..small_config(4)
    })
    .await;
    let head = json!({"jsonrpc": "2.0", "id": 1, "method": "Filecoin.ChainHead", "params": []});
    let mine = json!({"jsonrpc": "2.0", "id": 2, "method": "Devnet.Mine", "params": [1]});

    // HTTP without credentials: reads work, admin methods get the proxy's error.
    let (status, body) = post(&devnet, None, head.clone()).await;
    assert_eq!(status, 200);
    assert!(body.starts_with("{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{\"Cids\""));
    assert_eq!(
        post(&devnet, None, mine.clone()).await,
        (200, MINE_DENIED.into())
    );
    assert_eq!(devnet.node().head().tipset.height, 0, "nothing was mined");

    // Wrong token, or a header without the Bearer prefix: 401, empty body.
    assert_eq!(
        post(&devnet, Some("wrong"), head.clone()).await,
        (401, String::new())
    );
    let resp = reqwest::Client::new()
        .post(devnet.http_url())
        .header("Authorization", "sekrit")
        .body(head.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 401);

    // The token, as a header or as go-jsonrpc's `token` query parameter: admin.
    let (status, body) = post(&devnet, Some("sekrit"), mine.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json")["result"],
        json!(devnet.node().head().tipset.height)
    );
    let resp = reqwest::Client::new()
        .post(format!("{}?token=sekrit", devnet.http_url()))
        .body(mine.to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.expect("body").contains("\"result\""));

    // WebSocket: permissions are fixed at the upgrade.
    let mut ws = connect(&devnet, None).await;
    let text = call_raw(&mut ws, 1, "Filecoin.ChainHead", json!([])).await;
    assert!(text.contains("\"result\""), "{text}");
    assert_eq!(
        call_raw(&mut ws, 2, "Devnet.Mine", json!([1])).await,
        MINE_DENIED
    );
    let mut admin = connect(&devnet, Some("sekrit")).await;
    let text = call_raw(&mut admin, 2, "Devnet.Mine", json!([1])).await;
    assert!(text.contains("\"result\""), "{text}");
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        devnet.ws_url(),
    )
    .expect("request");
    req.headers_mut()
        .insert("Authorization", "Bearer wrong".parse().expect("header"));
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 401)
        }
        other => panic!("expected 401, got {other:?}"),
    }
    devnet.shutdown().await;
}

#[tokio::test]
async fn without_a_configured_token_everything_is_allowed() {
    let devnet = start(small_config(5)).await;
    let mine = json!({"jsonrpc": "2.0", "id": 2, "method": "Devnet.Mine", "params": [1]});
    let (status, body) = post(&devnet, None, mine).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"result\""), "{body}");
    devnet.shutdown().await;
}
