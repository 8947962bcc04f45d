//! Raw wire helpers for devnet tests: a plain WebSocket JSON-RPC peer and HTTP
//! posts, deliberately independent of fil-fil's own Lotus client.
#![allow(dead_code)]

use std::time::Duration;

use fil_fil::devnet::{Devnet, DevnetConfig};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A small, fast devnet: few churn objects, frequent null rounds.
pub fn small_config(seed: u64) -> DevnetConfig {
    DevnetConfig {
        seed,
        churn_objects: 30,
        null_round_prob: 0.3,
        ..DevnetConfig::default()
    }
}

pub async fn start(config: DevnetConfig) -> Devnet {
    Devnet::start(config).await.expect("devnet starts")
}

pub async fn connect(devnet: &Devnet, token: Option<&str>) -> Ws {
    let mut req = devnet.ws_url().into_client_request().expect("request");
    if let Some(t) = token {
        req.headers_mut().insert(
            "Authorization",
            format!("Bearer {t}").parse().expect("header"),
        );
    }
    tokio_tungstenite::connect_async(req)
        .await
        .expect("ws connect")
        .0
}

pub async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string()))
        .await
        .expect("send");
}

/// Next text frame, raw; `None` when the connection ended.
pub async fn recv_raw(ws: &mut Ws) -> Option<String> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("frame within 20s");
        match msg {
            Some(Ok(Message::Text(t))) => return Some(t.to_string()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => continue,
        }
    }
}

pub async fn recv(ws: &mut Ws) -> Value {
    let text = recv_raw(ws).await.expect("connection open");
    serde_json::from_str(&text).expect("json frame")
}

/// Calls `method` over the WebSocket and returns the raw response text.
pub async fn call_raw(ws: &mut Ws, id: u64, method: &str, params: Value) -> String {
    send(
        ws,
        serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .await;
    recv_raw(ws).await.expect("response")
}

pub async fn call(ws: &mut Ws, id: u64, method: &str, params: Value) -> Value {
    let v: Value = serde_json::from_str(&call_raw(ws, id, method, params).await).expect("json");
    assert!(v.get("error").is_none(), "{method} failed: {v}");
    v["result"].clone()
}

/// POSTs `body` and returns (status, body text).
pub async fn post(devnet: &Devnet, token: Option<&str>, body: Value) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = client.post(devnet.http_url()).body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("post");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// Position of each key in `text`, to assert Go's field order.
pub fn assert_key_order(text: &str, keys: &[&str]) {
    let mut last = 0;
    for k in keys {
        let needle = format!("\"{k}\":");
        let pos = text[last..]
            .find(&needle)
            .unwrap_or_else(|| panic!("key {k} missing or out of order in {text}"));
        last += pos + needle.len();
    }
}
