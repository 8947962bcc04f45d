//! The devnet speaks Lotus's wire protocol exactly: checked with a raw WebSocket
//! and raw HTTP, not with fil-fil's own client.

mod devnet_support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use devnet_support::*;
use fil_fil::devnet::DevnetConfig;
use fil_fil::ipld::verify_block;
use serde_json::{json, Value};

const HEADER_FIELDS: [&str; 16] = [
    "Miner",
    "Ticket",
    "ElectionProof",
    "BeaconEntries",
    "WinPoStProof",
    "Parents",
    "ParentWeight",
    "Height",
    "ParentStateRoot",
    "ParentMessageReceipts",
    "Messages",
    "BLSAggregate",
    "Timestamp",
    "BlockSig",
    "ForkSignaling",
    "ParentBaseFee",
];

fn cid_of(v: &Value) -> cid::Cid {
    cid::Cid::try_from(v["/"].as_str().expect("cid string")).expect("cid")
}

#[tokio::test]
async fn chain_methods_have_lotus_shapes() {
    let devnet = start(DevnetConfig {
        prefill_epochs: 12,
        ..small_config(11)
    })
    .await;
    let mut ws = connect(&devnet, None).await;

    let head_text = call_raw(&mut ws, 1, "Filecoin.ChainHead", json!([])).await;
    assert!(
        head_text.starts_with("{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{\"Cids\":["),
        "{head_text}"
    );
    assert!(head_text.ends_with("}\n"));
    assert_key_order(&head_text, &["Cids", "Blocks"]);
    assert_key_order(&head_text, &HEADER_FIELDS);
    let head: Value = serde_json::from_str::<Value>(&head_text).expect("json")["result"].clone();
    let height = head["Height"].as_i64().expect("height");
    assert_eq!(height, devnet.node().head().tipset.height);
    let block = &head["Blocks"][0];
    assert!(block["Miner"].as_str().expect("miner").starts_with("t0"));
    assert!(block["ParentWeight"].is_string() && block["ParentBaseFee"].is_string());
    assert_eq!(block["BLSAggregate"]["Type"], 2);
    assert!(block["Ticket"]["VRFProof"].is_string());

    // Every header read back raw hashes to its CID and matches ChainGetBlock.
    for (i, c) in head["Cids"].as_array().expect("cids").iter().enumerate() {
        let b64 = call(&mut ws, 2, "Filecoin.ChainReadObj", json!([c])).await;
        let bytes = STANDARD
            .decode(b64.as_str().expect("base64"))
            .expect("decode");
        verify_block(&cid_of(c), &bytes).expect("hash matches");
        let got = call(&mut ws, 3, "Filecoin.ChainGetBlock", json!([c])).await;
        assert_eq!(got, head["Blocks"][i]);
    }
    assert_eq!(
        call(&mut ws, 4, "Filecoin.ChainHasObj", json!([head["Cids"][0]])).await,
        true
    );
    let absent = json!({"/": "bafy2bzaceaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"});
    let absent_ok = call_raw(&mut ws, 5, "Filecoin.ChainHasObj", json!([absent])).await;
    assert!(absent_ok.contains("\"result\":false") || absent_ok.contains("\"error\""));

    // Genesis, tipset by key, and by height through null rounds.
    let genesis = call(&mut ws, 6, "Filecoin.ChainGetGenesis", json!([])).await;
    assert_eq!(genesis["Height"], 0);
    assert_eq!(
        call(&mut ws, 7, "Filecoin.ChainGetTipSet", json!([head["Cids"]])).await,
        head
    );
    let heights: Vec<i64> = devnet
        .node()
        .chain
        .read()
        .canonical()
        .iter()
        .map(|e| e.tipset.height)
        .collect();
    let null_height = (1..height)
        .find(|h| !heights.contains(h))
        .expect("seeded chain has a null round");
    let before = heights
        .iter()
        .copied()
        .filter(|h| *h < null_height)
        .max()
        .expect("earlier tipset");
    let at_null = call(
        &mut ws,
        8,
        "Filecoin.ChainGetTipSetByHeight",
        json!([null_height, null]),
    )
    .await;
    assert_eq!(at_null["Height"], before);
    let at_null_from_head = call(
        &mut ws,
        9,
        "Filecoin.ChainGetTipSetByHeight",
        json!([null_height, head["Cids"]]),
    )
    .await;
    assert_eq!(at_null_from_head, at_null);

    // Parent messages: api.Message {Cid, Message{…, CID}}.
    let msgs_text = call_raw(
        &mut ws,
        10,
        "Filecoin.ChainGetParentMessages",
        json!([head["Cids"][0]]),
    )
    .await;
    let msgs: Value = serde_json::from_str::<Value>(&msgs_text).expect("json")["result"].clone();
    if let Some(first) = msgs.as_array().and_then(|m| m.first()) {
        assert_key_order(&first.to_string().replace(' ', ""), &["Cid", "Message"]);
        assert_key_order(
            &msgs_text,
            &[
                "Version",
                "To",
                "From",
                "Nonce",
                "Value",
                "GasLimit",
                "GasFeeCap",
                "GasPremium",
                "Method",
                "Params",
                "CID",
            ],
        );
    }
    let genesis_msgs = call(
        &mut ws,
        11,
        "Filecoin.ChainGetParentMessages",
        json!([genesis["Cids"][0]]),
    )
    .await;
    assert_eq!(genesis_msgs, Value::Null);

    assert_eq!(
        call(&mut ws, 12, "Filecoin.StateNetworkName", json!([])).await,
        "fil-fil-devnet"
    );
    let version = call_raw(&mut ws, 13, "Filecoin.Version", json!([])).await;
    assert_key_order(&version, &["Version", "APIVersion", "BlockDelay"]);
    assert!(version.contains("\"APIVersion\":131840"));

    let unknown = call_raw(&mut ws, 14, "Filecoin.NoSuchMethod", json!([])).await;
    assert_eq!(
        unknown,
        "{\"error\":{\"code\":-32601,\"message\":\"method 'Filecoin.NoSuchMethod' not found\"},\"id\":14,\"jsonrpc\":\"2.0\"}\n"
    );
    let wrong = call_raw(&mut ws, 15, "Filecoin.ChainHead", json!([1])).await;
    assert!(
        wrong.contains("\"code\":-32602") && wrong.contains("wrong param count"),
        "{wrong}"
    );
    devnet.shutdown().await;
}

#[tokio::test]
async fn chain_notify_channels_follow_go_jsonrpc() {
    let devnet = start(DevnetConfig {
        prefill_epochs: 6,
        ..small_config(5)
    })
    .await;
    let mut ws = connect(&devnet, None).await;

    let opened = call_raw(&mut ws, 7, "Filecoin.ChainNotify", json!([])).await;
    assert_eq!(opened, "{\"id\":7,\"jsonrpc\":\"2.0\",\"result\":1}\n");
    let first_raw = recv_raw(&mut ws).await.expect("current");
    assert!(first_raw.starts_with("{\"jsonrpc\":\"2.0\",\"method\":\"xrpc.ch.val\",\"params\":[1,[{\"Type\":\"current\",\"Val\":{\"Cids\""), "{first_raw}");
    let first: Value = serde_json::from_str(&first_raw).expect("json");
    let old_head = first["params"][1][0]["Val"].clone();
    assert_eq!(old_head["Height"], devnet.node().head().tipset.height);

    // Plain extension: one apply per tipset, in order.
    devnet.mine(2).await.expect("mine");
    let mut last = old_head.clone();
    for _ in 0..2 {
        let v = recv(&mut ws).await;
        assert_eq!(v["method"], "xrpc.ch.val");
        let batch = v["params"][1].as_array().expect("batch").clone();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0]["Type"], "apply");
        assert_eq!(batch[0]["Val"]["Blocks"][0]["Parents"], last["Cids"]);
        last = batch[0]["Val"].clone();
    }

    // Reorg: one batch, reverts newest first then applies oldest first; ChainGetPath agrees.
    devnet.reorg(2).await.expect("reorg");
    let v = recv(&mut ws).await;
    let batch = v["params"][1].as_array().expect("batch").clone();
    let kinds: Vec<&str> = batch
        .iter()
        .map(|c| c["Type"].as_str().expect("type"))
        .collect();
    assert_eq!(&kinds[..2], &["revert", "revert"]);
    assert!(kinds[2..].iter().all(|k| *k == "apply") && kinds.len() > 2);
    assert_eq!(batch[0]["Val"], last);
    let applies: Vec<i64> = batch[2..]
        .iter()
        .map(|c| c["Val"]["Height"].as_i64().expect("h"))
        .collect();
    assert!(applies.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        batch[1]["Val"]["Blocks"][0]["Parents"],
        batch[2]["Val"]["Blocks"][0]["Parents"]
    );
    let new_head = batch.last().expect("apply")["Val"].clone();
    let path = call(
        &mut ws,
        8,
        "Filecoin.ChainGetPath",
        json!([last["Cids"], new_head["Cids"]]),
    )
    .await;
    assert_eq!(path, Value::Array(batch.clone()));

    // xrpc.cancel of the ChainNotify request closes its channel.
    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "method": "xrpc.cancel", "params": [7]}),
    )
    .await;
    assert_eq!(
        recv_raw(&mut ws).await.expect("close"),
        "{\"jsonrpc\":\"2.0\",\"method\":\"xrpc.ch.close\",\"params\":[1]}\n"
    );

    // A second channel on the same connection gets id 2; the slow-reader fault closes it.
    let opened = call_raw(&mut ws, 9, "Filecoin.ChainNotify", json!([])).await;
    assert_eq!(opened, "{\"id\":9,\"jsonrpc\":\"2.0\",\"result\":2}\n");
    let current = recv(&mut ws).await;
    assert_eq!(current["params"][1][0]["Val"], new_head);
    assert_eq!(devnet.close_channels(), 1);
    assert_eq!(
        recv_raw(&mut ws).await.expect("close"),
        "{\"jsonrpc\":\"2.0\",\"method\":\"xrpc.ch.close\",\"params\":[2]}\n"
    );

    // Dropping connections ends the socket without a close handshake.
    assert_eq!(devnet.drop_connections(), 1);
    assert!(recv_raw(&mut ws).await.is_none());
    devnet.shutdown().await;
}

#[tokio::test]
async fn http_batches_auth_channels_and_corruption() {
    let devnet = start(DevnetConfig {
        prefill_epochs: 3,
        token: Some("sekrit".into()),
        ..small_config(2)
    })
    .await;
    let head = json!({"jsonrpc": "2.0", "id": 1, "method": "Filecoin.ChainHead", "params": []});
    assert_eq!(post(&devnet, Some("wrong"), head.clone()).await.0, 401);
    let (status, body) = post(&devnet, Some("sekrit"), head).await;
    assert_eq!(status, 200);
    assert!(body.starts_with("{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{\"Cids\""));

    // Channels are refused over plain HTTP, as go-jsonrpc does.
    let notify = json!({"jsonrpc": "2.0", "id": 2, "method": "Filecoin.ChainNotify", "params": []});
    let (status, body) = post(&devnet, Some("sekrit"), notify).await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        "{\"error\":{\"code\":-32601,\"message\":\"method 'Filecoin.ChainNotify' not supported in this mode (no out channel support)\"},\"id\":2,\"jsonrpc\":\"2.0\"}\n"
    );

    // Batches answer in order, one item per request.
    let genesis = devnet.node().chain.read().genesis().tipset.cids[0];
    let batch = json!([
        {"jsonrpc": "2.0", "id": 3, "method": "Filecoin.StateNetworkName", "params": []},
        {"jsonrpc": "2.0", "id": 4, "method": "Filecoin.ChainReadObj", "params": [{"/": genesis.to_string()}]},
        {"jsonrpc": "2.0", "id": 5, "method": "Filecoin.Bogus", "params": []},
    ]);
    let (status, body) = post(&devnet, Some("sekrit"), batch.clone()).await;
    assert_eq!(status, 200);
    let items: Vec<Value> = serde_json::from_str(&body).expect("batch reply");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["id"], 3);
    assert_eq!(items[2]["error"]["code"], -32601);
    let good = STANDARD
        .decode(items[1]["result"].as_str().expect("b64"))
        .expect("base64");
    verify_block(&genesis, &good).expect("genuine bytes");

    // Corruption fault: the same object now comes back with wrong bytes.
    let corrupt = json!({"jsonrpc": "2.0", "id": 6, "method": "Devnet.CorruptObject", "params": [{"/": genesis.to_string()}]});
    assert_eq!(post(&devnet, Some("sekrit"), corrupt).await.0, 200);
    let (_, body) = post(&devnet, Some("sekrit"), batch).await;
    let items: Vec<Value> = serde_json::from_str(&body).expect("batch reply");
    let bad = STANDARD
        .decode(items[1]["result"].as_str().expect("b64"))
        .expect("base64");
    assert_eq!(bad.len(), good.len());
    assert!(verify_block(&genesis, &bad).is_err());

    // Admin mining over RPC.
    let before = devnet.node().head().tipset.height;
    let mine = json!({"jsonrpc": "2.0", "id": 7, "method": "Devnet.Mine", "params": [2]});
    let (status, body) = post(&devnet, Some("sekrit"), mine).await;
    assert_eq!(status, 200, "{body}");
    assert!(devnet.node().head().tipset.height >= before + 2);
    devnet.shutdown().await;
}
