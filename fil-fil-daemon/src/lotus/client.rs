//! Lotus JSON-RPC client over WebSocket (jsonrpsee), including go-jsonrpc channels:
//! `Filecoin.ChainNotify` returns a channel id, then the node pushes
//! `xrpc.ch.val [id, value]` notifications and finally `xrpc.ch.close [id]`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cid::Cid;
use jsonrpsee::core::client::{ClientT, Subscription, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{HeaderMap, HeaderValue, WsClient, WsClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::json::{CidJson, HeadChange, TipSetJson, TipSetKeyJson};
use super::ApiInfo;

/// Lotus's ChainNotify buffer is 16 entries; ours is generous so a burst never
/// makes jsonrpsee drop the subscription while the consumer is busy.
const NOTIFICATION_BUFFER: usize = 1 << 16;

/// Failure talking to the node.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// Could not connect.
    #[error("cannot connect to Lotus at {url}: {reason}")]
    Connect {
        /// Endpoint tried.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// A call failed (transport or JSON-RPC error).
    #[error("{method} failed: {reason}")]
    Call {
        /// Method called.
        method: &'static str,
        /// Error text from jsonrpsee or the node.
        reason: String,
    },
    /// The node answered with something we could not decode.
    #[error("{method} returned malformed data: {reason}")]
    Malformed {
        /// Method called.
        method: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// Observer for per-call latency (the daemon feeds its histogram from it).
pub type CallObserver = Arc<dyn Fn(&'static str, Duration, bool) + Send + Sync>;

/// A connected Lotus client.
pub struct LotusClient {
    ws: WsClient,
    url: String,
    observer: Option<CallObserver>,
}

impl std::fmt::Debug for LotusClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LotusClient")
            .field("url", &self.url)
            .finish()
    }
}

impl LotusClient {
    /// Connects over WebSocket to `info.ws_url()`, sending the bearer token if any.
    pub async fn connect(info: &ApiInfo) -> Result<Self, RpcError> {
        let url = info.ws_url();
        let mut headers = HeaderMap::new();
        if let Some(token) = &info.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| {
                RpcError::Connect {
                    url: url.clone(),
                    reason: format!("token is not a valid header value: {e}"),
                }
            })?;
            headers.insert("Authorization", value);
        }
        let ws = WsClientBuilder::default()
            .set_headers(headers)
            .max_buffer_capacity_per_subscription(NOTIFICATION_BUFFER)
            .max_concurrent_requests(1024)
            .max_response_size(256 << 20)
            .request_timeout(Duration::from_secs(60))
            .build(&url)
            .await
            .map_err(|e| RpcError::Connect {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            ws,
            url,
            observer: None,
        })
    }

    /// Reports the latency and outcome of every call to `observer`.
    pub fn with_observer(mut self, observer: CallObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// True while the WebSocket is up.
    pub fn is_connected(&self) -> bool {
        self.ws.is_connected()
    }

    async fn call<R: DeserializeOwned>(
        &self,
        method: &'static str,
        params: ArrayParams,
    ) -> Result<R, RpcError> {
        let started = Instant::now();
        let result: Result<R, _> = self.ws.request(method, params).await;
        if let Some(observe) = &self.observer {
            observe(method, started.elapsed(), result.is_ok());
        }
        result.map_err(|e| RpcError::Call {
            method,
            reason: e.to_string(),
        })
    }

    /// `Filecoin.ChainHead`.
    pub async fn chain_head(&self) -> Result<TipSetJson, RpcError> {
        self.call("Filecoin.ChainHead", rpc_params![]).await
    }

    /// `Filecoin.ChainGetGenesis`.
    pub async fn chain_get_genesis(&self) -> Result<TipSetJson, RpcError> {
        self.call("Filecoin.ChainGetGenesis", rpc_params![]).await
    }

    /// `Filecoin.ChainGetTipSet`.
    pub async fn chain_get_tipset(&self, key: &[Cid]) -> Result<TipSetJson, RpcError> {
        let key = TipSetKeyJson(key.to_vec());
        self.call("Filecoin.ChainGetTipSet", rpc_params![key]).await
    }

    /// `Filecoin.ChainGetTipSetByHeight` (a null round yields the tipset before it).
    pub async fn chain_get_tipset_by_height(
        &self,
        height: i64,
        key: &[Cid],
    ) -> Result<TipSetJson, RpcError> {
        let key = TipSetKeyJson(key.to_vec());
        self.call("Filecoin.ChainGetTipSetByHeight", rpc_params![height, key])
            .await
    }

    /// `Filecoin.ChainGetPath`: reverts then applies leading from `from` to `to`.
    pub async fn chain_get_path(
        &self,
        from: &[Cid],
        to: &[Cid],
    ) -> Result<Vec<HeadChange>, RpcError> {
        let (from, to) = (TipSetKeyJson(from.to_vec()), TipSetKeyJson(to.to_vec()));
        let path: Option<Vec<HeadChange>> = self
            .call("Filecoin.ChainGetPath", rpc_params![from, to])
            .await?;
        Ok(path.unwrap_or_default())
    }

    /// `Filecoin.ChainReadObj`: the raw bytes of a block. Not verified here; callers
    /// check the hash against the CID they asked for.
    pub async fn chain_read_obj(&self, cid: &Cid) -> Result<Vec<u8>, RpcError> {
        let text: String = self
            .call("Filecoin.ChainReadObj", rpc_params![CidJson(*cid)])
            .await?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| RpcError::Malformed {
                method: "Filecoin.ChainReadObj",
                reason: format!("{cid}: invalid base64: {e}"),
            })
    }

    /// `Filecoin.StateNetworkName`.
    pub async fn state_network_name(&self) -> Result<String, RpcError> {
        self.call("Filecoin.StateNetworkName", rpc_params![]).await
    }

    /// Opens a `Filecoin.ChainNotify` channel.
    ///
    /// jsonrpsee parses a frame `{"method":"xrpc.ch.val","params":[id, value]}` as a
    /// subscription notification (a two-element array deserializes as its
    /// `{subscription, result}` struct) and routes it by id, whatever the method
    /// name. So the values are received through a jsonrpsee subscription keyed by
    /// the channel id the call returns, and `xrpc.ch.close [id]` (which does not
    /// fit that shape) through a method handler registered before the call.
    pub async fn chain_notify(&self) -> Result<ChainNotifyStream, RpcError> {
        let closes = self
            .ws
            .subscribe_to_method::<Value>("xrpc.ch.close")
            .await
            .map_err(|e| RpcError::Call {
                method: "Filecoin.ChainNotify",
                reason: format!("registering xrpc.ch.close: {e}"),
            })?;
        let started = Instant::now();
        let values = self
            .ws
            .subscribe::<Value, _>("Filecoin.ChainNotify", rpc_params![], "xrpc.cancel")
            .await;
        if let Some(observe) = &self.observer {
            observe("Filecoin.ChainNotify", started.elapsed(), values.is_ok());
        }
        let values = values.map_err(|e| RpcError::Call {
            method: "Filecoin.ChainNotify",
            reason: e.to_string(),
        })?;
        let channel = match values.kind() {
            jsonrpsee::core::client::SubscriptionKind::Subscription(id) => match id {
                jsonrpsee::types::SubscriptionId::Num(n) => Value::from(*n),
                jsonrpsee::types::SubscriptionId::Str(s) => Value::from(s.to_string()),
            },
            _ => Value::Null,
        };
        Ok(ChainNotifyStream {
            channel,
            values,
            closes,
        })
    }
}

/// The receiving end of a ChainNotify channel.
#[derive(Debug)]
pub struct ChainNotifyStream {
    channel: Value,
    values: Subscription<Value>,
    closes: Subscription<Value>,
}

impl ChainNotifyStream {
    /// Next batch of head changes; `Ok(None)` when the node closed the channel or
    /// the connection dropped (the caller reconnects and reconciles).
    pub async fn next(&mut self) -> Result<Option<Vec<HeadChange>>, RpcError> {
        loop {
            tokio::select! {
                biased;
                value = self.values.next() => {
                    let Some(value) = value else { return Ok(None) };
                    let value = value.map_err(|e| malformed(e.to_string()))?;
                    let batch: Vec<HeadChange> =
                        serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
                    return Ok(Some(batch));
                }
                close = self.closes.next() => {
                    let Some(close) = close else { return Ok(None) };
                    let close = close.map_err(|e| malformed(e.to_string()))?;
                    if close.get(0) == Some(&self.channel) {
                        return Ok(None);
                    }
                }
            }
        }
    }
}

fn malformed(reason: String) -> RpcError {
    RpcError::Malformed {
        method: "Filecoin.ChainNotify",
        reason,
    }
}
