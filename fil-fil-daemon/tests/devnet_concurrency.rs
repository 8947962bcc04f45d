//! Calls on one WebSocket overlap like go-jsonrpc's goroutine-per-request: a slow
//! call does not hold back a fast one behind it, pipelined calls all come back
//! (in any order), and a JSON-RPC batch over WebSocket answers as one array in
//! request order.

mod devnet_support;

use std::collections::HashSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use devnet_support::*;
use fil_fil::devnet::DevnetConfig;
use fil_fil::ipld::verify_block;
use serde_json::{json, Value};

#[tokio::test]
async fn a_slow_call_does_not_block_the_ones_behind_it() {
    let devnet = start(small_config(21)).await;
    let mut ws = connect(&devnet, None).await;
    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 1, "method": "Devnet.Mine", "params": [40]}),
    )
    .await;
    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 2, "method": "Filecoin.StateNetworkName", "params": []}),
    )
    .await;
    let first = recv(&mut ws).await;
    assert_eq!(first["id"], 2, "the fast call answers first: {first}");
    let second = recv(&mut ws).await;
    assert_eq!(second["id"], 1);
    assert!(second["result"].as_i64().expect("height") >= 40);
    devnet.shutdown().await;
}

#[tokio::test]
async fn pipelined_reads_and_websocket_batches() {
    let devnet = start(DevnetConfig {
        prefill_epochs: 40,
        ..small_config(22)
    })
    .await;
    let cids: Vec<cid::Cid> = devnet
        .node()
        .chain
        .read()
        .canonical()
        .iter()
        .flat_map(|e| e.tipset.cids.clone())
        .collect();
    assert!(cids.len() >= 64, "{} headers", cids.len());
    let mut ws = connect(&devnet, None).await;

    // 64+ pipelined calls before reading any answer: every one comes back.
    for (i, c) in cids.iter().enumerate() {
        send(
            &mut ws,
            json!({"jsonrpc": "2.0", "id": i, "method": "Filecoin.ChainReadObj", "params": [{"/": c.to_string()}]}),
        )
        .await;
    }
    let mut answered = HashSet::new();
    for _ in &cids {
        let v = recv(&mut ws).await;
        let i = v["id"].as_u64().expect("id") as usize;
        let bytes = STANDARD
            .decode(v["result"].as_str().expect("result"))
            .expect("base64");
        verify_block(&cids[i], &bytes).expect("right bytes for the id");
        answered.insert(i);
    }
    assert_eq!(answered.len(), cids.len());

    // A batch: one array frame, items in request order, errors in place.
    let mut batch: Vec<Value> = cids
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"jsonrpc": "2.0", "id": 1000 + i, "method": "Filecoin.ChainReadObj", "params": [{"/": c.to_string()}]}))
        .collect();
    batch.push(json!({"jsonrpc": "2.0", "id": 9999, "method": "Filecoin.Bogus", "params": []}));
    batch.push(json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": []}));
    send(&mut ws, Value::Array(batch)).await;
    let text = recv_raw(&mut ws).await.expect("batch answer");
    assert!(
        text.starts_with("[{\"id\":1000,") && text.ends_with("}\n]"),
        "{text}"
    );
    let items: Vec<Value> = serde_json::from_str(&text).expect("array");
    assert_eq!(items.len(), cids.len() + 1, "the notification gets no item");
    for (i, c) in cids.iter().enumerate() {
        assert_eq!(items[i]["id"], 1000 + i);
        let bytes = STANDARD
            .decode(items[i]["result"].as_str().expect("result"))
            .expect("base64");
        verify_block(c, &bytes).expect("right bytes");
    }
    assert_eq!(items[cids.len()]["error"]["code"], -32601);
    devnet.shutdown().await;
}
