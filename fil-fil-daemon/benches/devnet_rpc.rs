//! Devnet RPC read throughput: how fast the simulator serves `Filecoin.ChainReadObj`
//! (the daemon's block fetch) as a 256-request JSON-RPC batch over HTTP, as one
//! batch frame over WebSocket, and as 256 single requests pipelined on one
//! WebSocket. Prints the median round of each (ms per 256 objects, objects/s,
//! MB/s of block payload). `DEVNET_RPC_ROUNDS` (default 50) sets the rounds.

/// The `fil-fil` binary's allocator, so these figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use base64::Engine;
use cid::Cid;
use fil_fil::devnet::{Devnet, DevnetConfig, MemStore};
use fil_fil::ipld::scan_links;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const BATCH: usize = 256;

fn rounds() -> usize {
    std::env::var("DEVNET_RPC_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

/// `BATCH` distinct state blocks reachable from `root` (the daemon's typical reads).
fn sample_cids(store: &MemStore, root: Cid) -> Vec<Cid> {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![root];
    let mut out = Vec::new();
    while let Some(cid) = stack.pop() {
        if out.len() == BATCH {
            break;
        }
        if !seen.insert(cid) {
            continue;
        }
        let Some(data) = store.get(&cid) else {
            continue;
        };
        let _ = scan_links(&data, |l| stack.push(l));
        out.push(cid);
    }
    out
}

fn requests(cids: &[Cid]) -> Vec<Value> {
    cids.iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"jsonrpc": "2.0", "id": i, "method": "Filecoin.ChainReadObj",
                   "params": [{"/": c.to_string()}]})
        })
        .collect()
}

/// Payload bytes of a batch answer; exits if an item is not a block.
fn payload(items: &[Value]) -> usize {
    items
        .iter()
        .map(|item| {
            item["result"]
                .as_str()
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                .map_or_else(
                    || {
                        eprintln!("not a block: {item}");
                        std::process::exit(1);
                    },
                    |b| b.len(),
                )
        })
        .sum()
}

fn report(name: &str, mut times: Vec<Duration>, bytes: usize) {
    times.sort();
    let median = times[times.len() / 2].as_secs_f64();
    println!(
        "{name}: {:.2} ms per {BATCH} objects (median of {}) = {:.0} objects/s, {:.1} MB/s",
        median * 1e3,
        times.len(),
        BATCH as f64 / median,
        bytes as f64 / 1e6 / median,
    );
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_text(ws: &mut Ws) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return t.to_string(),
            Some(Ok(_)) => continue,
            other => {
                eprintln!("websocket ended: {other:?}");
                std::process::exit(1);
            }
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let devnet = Devnet::start(DevnetConfig {
        seed: 1,
        prefill_epochs: 20,
        ..DevnetConfig::default()
    })
    .await?;
    let cids = sample_cids(&devnet.node().store, devnet.node().head().state_after);
    let batch = Value::Array(requests(&cids));
    let rounds = rounds();

    let http = reqwest::Client::new();
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let items: Vec<Value> = http
            .post(devnet.http_url())
            .json(&batch)
            .send()
            .await?
            .json()
            .await?;
        times.push(started.elapsed());
        bytes = payload(&items);
    }
    report("HTTP batch", times, bytes);

    let (mut ws, _) = tokio_tungstenite::connect_async(devnet.ws_url()).await?;
    let frame = batch.to_string();
    let mut times = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        ws.send(Message::text(frame.clone())).await?;
        let items: Vec<Value> = serde_json::from_str(&next_text(&mut ws).await)?;
        times.push(started.elapsed());
        bytes = payload(&items);
    }
    report("WebSocket batch", times, bytes);

    let singles: Vec<String> = requests(&cids).iter().map(Value::to_string).collect();
    let mut times = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        for s in &singles {
            ws.feed(Message::text(s.clone())).await?;
        }
        ws.flush().await?;
        let mut items = Vec::with_capacity(BATCH);
        for _ in 0..BATCH {
            items.push(serde_json::from_str::<Value>(&next_text(&mut ws).await)?);
        }
        times.push(started.elapsed());
        bytes = payload(&items);
    }
    report("WebSocket pipelined", times, bytes);
    devnet.shutdown().await;
    Ok(())
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("devnet rpc bench failed: {e}");
        std::process::exit(1);
    }
}
