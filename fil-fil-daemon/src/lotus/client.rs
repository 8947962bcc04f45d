//! Lotus JSON-RPC client over WebSocket (jsonrpsee) for plain calls; a channel
//! call (`Filecoin.ChainNotify`) gets a connection of its own ([`super::notify`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cid::Cid;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{HeaderMap, HeaderValue, WsClient, WsClientBuilder};
use serde::de::DeserializeOwned;

use super::json::{CidJson, HeadChange, TipSetJson, TipSetKeyJson};
use super::{ApiInfo, ChainNotifyStream};

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
    info: ApiInfo,
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
            info: info.clone(),
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

    /// Opens a `Filecoin.ChainNotify` channel on a WebSocket of its own (see
    /// [`ChainNotifyStream`]).
    pub async fn chain_notify(&self) -> Result<ChainNotifyStream, RpcError> {
        let started = Instant::now();
        let stream = ChainNotifyStream::open(&self.info).await;
        if let Some(observe) = &self.observer {
            observe("Filecoin.ChainNotify", started.elapsed(), stream.is_ok());
        }
        stream
    }
}
