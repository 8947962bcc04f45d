//! The methods the devnet answers: the Lotus v1 chain methods the daemon uses and
//! the `Devnet.*` admin namespace tests drive. Results are JSON text so struct field
//! order stays Go's.

use std::path::PathBuf;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cid::Cid;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::envelope::{RpcError, INVALID_PARAMS, METHOD_NOT_FOUND, PARSE_ERROR};
use super::Shared;
use crate::chain::BlockHeader;
use crate::devnet::export::export_car;
use crate::devnet::json::{change_json, message_json, tipset_json};
use crate::devnet::messages::tipset_messages;
use crate::devnet::tipset::Executed;
use crate::lotus::json::{BlockHeaderJson, CidJson, TipSetKeyJson};

/// The channel method; only WebSocket connections can serve it.
pub const CHAIN_NOTIFY: &str = "Filecoin.ChainNotify";
/// Lotus `FullAPIVersion1` (2.3.0).
const API_VERSION: u32 = 0x0002_0300;

/// go-jsonrpc's answer to a channel method over plain HTTP.
pub fn no_channels(method: &str) -> RpcError {
    RpcError {
        code: METHOD_NOT_FOUND,
        message: format!("method '{method}' not supported in this mode (no out channel support)"),
    }
}

/// Parameter count each method takes, or `None` for unknown methods.
pub fn arity(method: &str) -> Option<usize> {
    Some(match method {
        "Filecoin.ChainHead"
        | "Filecoin.ChainGetGenesis"
        | "Filecoin.StateNetworkName"
        | "Filecoin.Version"
        | CHAIN_NOTIFY
        | "Devnet.DropConnections"
        | "Devnet.CloseChannels" => 0,
        "Filecoin.ChainGetTipSet"
        | "Filecoin.ChainReadObj"
        | "Filecoin.ChainHasObj"
        | "Filecoin.ChainGetBlock"
        | "Filecoin.ChainGetParentMessages"
        | "Devnet.Mine"
        | "Devnet.Reorg"
        | "Devnet.CorruptObject" => 1,
        "Filecoin.ChainGetTipSetByHeight" | "Filecoin.ChainGetPath" | "Devnet.Export" => 2,
        _ => return None,
    })
}

/// Checks the method exists and got the right number of parameters.
pub fn check(method: &str, params: &[Value]) -> Result<(), RpcError> {
    let want = arity(method).ok_or_else(|| RpcError::not_found(method))?;
    if params.len() != want {
        return Err(RpcError {
            code: INVALID_PARAMS,
            message: format!(
                "wrong param count (method '{method}'): {} != {want}",
                params.len()
            ),
        });
    }
    Ok(())
}

fn param<T: DeserializeOwned>(method: &str, params: &[Value], i: usize) -> Result<T, RpcError> {
    let value = params.get(i).cloned().unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| RpcError {
        code: PARSE_ERROR,
        message: format!("unmarshaling params for '{method}' (param: {i}): {e}"),
    })
}

fn json<T: Serialize>(value: &T) -> Result<String, RpcError> {
    serde_json::to_string(value).map_err(|e| RpcError::method(e.to_string()))
}

fn tipset_text(e: &Executed) -> Result<String, RpcError> {
    json(&tipset_json(&e.tipset).map_err(|e| RpcError::method(e.to_string()))?)
}

fn load_tipset(shared: &Shared, key: &[Cid]) -> Result<Arc<Executed>, RpcError> {
    shared.node.chain.read().get(key).ok_or_else(|| {
        let cids: Vec<String> = key.iter().map(ToString::to_string).collect();
        RpcError::method(format!(
            "loading tipset {{{}}}: get block {}: ipld: could not find {}",
            cids.join(","),
            cids.first().map_or("", String::as_str),
            cids.first().map_or("", String::as_str)
        ))
    })
}

/// Runs a checked, non-channel method and returns its result as JSON text.
pub async fn call(
    shared: &Arc<Shared>,
    method: &str,
    params: &[Value],
) -> Result<String, RpcError> {
    let node = &shared.node;
    match method {
        "Filecoin.ChainHead" => tipset_text(&node.head()),
        "Filecoin.ChainGetGenesis" => tipset_text(&node.chain.read().genesis()),
        "Filecoin.ChainGetTipSet" => {
            let key: TipSetKeyJson = param(method, params, 0)?;
            tipset_text(&*load_tipset(shared, &key.0)?)
        }
        "Filecoin.ChainGetTipSetByHeight" => {
            let height: i64 = param(method, params, 0)?;
            let key: TipSetKeyJson = param(method, params, 1)?;
            let from = load_tipset(shared, &key.0)?;
            if height < 0 {
                return Err(RpcError::method("negative height"));
            }
            if height > from.tipset.height {
                return Err(RpcError::method(
                    "looking for tipset with height greater than start point",
                ));
            }
            let found = node.chain.read().at_height(height, &from);
            tipset_text(&*found.ok_or_else(|| RpcError::method("tipset not found"))?)
        }
        "Filecoin.ChainGetPath" => {
            let from: TipSetKeyJson = param(method, params, 0)?;
            let to: TipSetKeyJson = param(method, params, 1)?;
            load_tipset(shared, &from.0)?;
            load_tipset(shared, &to.0)?;
            let path = node
                .chain
                .read()
                .path(&from.0, &to.0)
                .ok_or_else(|| RpcError::method("no path between tipsets"))?;
            let path = path
                .iter()
                .map(change_json)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| RpcError::method(e.to_string()))?;
            json(&path)
        }
        "Filecoin.ChainReadObj" => {
            let cid: CidJson = param(method, params, 0)?;
            let data = node.read_obj(&cid.0).ok_or_else(|| {
                RpcError::method(format!(
                    "failed to read object: ipld: could not find {}",
                    cid.0
                ))
            })?;
            json(&STANDARD.encode(data))
        }
        "Filecoin.ChainHasObj" => {
            let cid: CidJson = param(method, params, 0)?;
            json(&node.store.contains(&cid.0))
        }
        "Filecoin.ChainGetBlock" => {
            let cid: CidJson = param(method, params, 0)?;
            let header = block(shared, &cid.0)?;
            json(&BlockHeaderJson::try_from(&header).map_err(|e| RpcError::method(e.to_string()))?)
        }
        "Filecoin.ChainGetParentMessages" => {
            let cid: CidJson = param(method, params, 0)?;
            let header = block(shared, &cid.0)?;
            if header.height == 0 {
                return Ok("null".into());
            }
            let parent = load_tipset(shared, &header.parents)?;
            let msgs = tipset_messages(&node.store, &parent.tipset)
                .map_err(|e| RpcError::method(e.to_string()))?;
            let msgs = msgs
                .iter()
                .map(|(c, m)| message_json(*c, m))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| RpcError::method(e.to_string()))?;
            json(&msgs)
        }
        "Filecoin.StateNetworkName" => json(&node.config.network_name),
        "Filecoin.Version" => Ok(format!(
            "{{\"Version\":\"{}+fil-fil-devnet\",\"APIVersion\":{API_VERSION},\"BlockDelay\":{}}}",
            env!("CARGO_PKG_VERSION"),
            node.config.block_delay_secs
        )),
        "Devnet.Mine" => {
            let n: u64 = param(method, params, 0)?;
            let node = node.clone();
            blocking(move || node.mine(n).map(|()| node.head().tipset.height)).await
        }
        "Devnet.Reorg" => {
            let depth: usize = param(method, params, 0)?;
            let node = node.clone();
            blocking(move || node.reorg(depth).map(|()| node.head().tipset.height)).await
        }
        "Devnet.DropConnections" => json(&shared.drop_connections()),
        "Devnet.CloseChannels" => json(&node.close_channels()),
        "Devnet.CorruptObject" => {
            let cid: CidJson = param(method, params, 0)?;
            node.corrupt(cid.0);
            Ok("null".into())
        }
        "Devnet.Export" => {
            let epoch: i64 = param(method, params, 0)?;
            let path: PathBuf = param(method, params, 1)?;
            let node = node.clone();
            blocking(move || export_car(&node, epoch, &path)).await
        }
        _ => Err(RpcError::not_found(method)),
    }
}

fn block(shared: &Shared, cid: &Cid) -> Result<BlockHeader, RpcError> {
    let data = shared
        .node
        .store
        .get(cid)
        .ok_or_else(|| RpcError::method(format!("ipld: could not find {cid}")))?;
    BlockHeader::decode(&data).map_err(|e| RpcError::method(e.to_string()))
}

async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<String, RpcError>
where
    T: Serialize + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let out = tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RpcError::method(e.to_string()))?;
    json(&out.map_err(|e| RpcError::method(e.to_string()))?)
}
