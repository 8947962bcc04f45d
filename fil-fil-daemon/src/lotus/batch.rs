//! `Filecoin.ChainReadObj` as JSON-RPC batches over HTTP POST: one request and one
//! response body for hundreds of blocks, where a WebSocket call costs a frame,
//! a request id and a wake-up per block. go-jsonrpc (Lotus) answers batches on
//! its HTTP endpoint; a node that does not is reported as
//! [`BatchError::Unsupported`] so the caller can fall back to WebSocket calls;
//! a refused token is [`BatchError::Unauthorized`], which no fallback would fix.
//! The bytes are not verified here: callers check each against its CID.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cid::Cid;
use serde::Deserialize;

use super::ApiInfo;

const METHOD: &str = "Filecoin.ChainReadObj";

/// Why a batch failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The node does not answer JSON-RPC batches over HTTP (wrong status, or an
    /// answer that is not a JSON array).
    #[error("the node does not accept JSON-RPC batches at {url}: {reason}")]
    Unsupported {
        /// Endpoint tried.
        url: String,
        /// What it answered.
        reason: String,
    },
    /// The node refused the credentials (HTTP 401 or 403): a wrong or
    /// malformed token in `FULLNODE_API_INFO`. Not a reason to fall back to
    /// WebSocket calls, which would meet the same token.
    #[error("the node at {url} refused the API token (HTTP {status}); check FULLNODE_API_INFO")]
    Unauthorized {
        /// Endpoint tried.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The request did not get through (connection, timeout).
    #[error("batch POST to {url} failed: {reason}")]
    Transport {
        /// Endpoint tried.
        url: String,
        /// Transport error text.
        reason: String,
    },
    /// The node answered the batch but refused one of its calls.
    #[error("ChainReadObj {cid} failed: {reason}")]
    Call {
        /// Block asked for.
        cid: Cid,
        /// The node's error message.
        reason: String,
    },
    /// The batch answer could not be decoded.
    #[error("ChainReadObj batch returned malformed data: {0}")]
    Malformed(String),
}

/// Reads blocks from a node in JSON-RPC batches over HTTP.
#[derive(Debug, Clone)]
pub struct BatchReader {
    http: reqwest::Client,
    url: String,
    auth: Option<String>,
}

#[derive(Deserialize)]
struct Item<'a> {
    id: Option<u64>,
    #[serde(borrow, default)]
    result: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(default)]
    message: String,
}

impl BatchReader {
    /// A reader posting to `info.http_url()` with its bearer token, if any.
    pub fn new(info: &ApiInfo) -> Result<BatchReader, BatchError> {
        let url = info.http_url();
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| BatchError::Transport {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        Ok(BatchReader {
            http,
            url,
            auth: info.token.as_ref().map(|t| format!("Bearer {t}")),
        })
    }

    /// The endpoint posted to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `ChainReadObj` for every CID in one batch; the bytes come back in `cids`
    /// order (the node may answer in any order: items are matched by id).
    pub async fn read_objs(&self, cids: &[Cid]) -> Result<Vec<Vec<u8>>, BatchError> {
        if cids.is_empty() {
            return Ok(Vec::new());
        }
        let mut request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(request_body(cids));
        if let Some(auth) = &self.auth {
            request = request.header(reqwest::header::AUTHORIZATION, auth);
        }
        let transport = |e: reqwest::Error| BatchError::Transport {
            url: self.url.clone(),
            reason: e.to_string(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        if matches!(
            status,
            reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN
        ) {
            return Err(BatchError::Unauthorized {
                url: self.url.clone(),
                status: status.as_u16(),
            });
        }
        let body = response.bytes().await.map_err(transport)?;
        if !status.is_success() || body.first() != Some(&b'[') {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return Err(BatchError::Unsupported {
                url: self.url.clone(),
                reason: format!("HTTP {status}: {}", text.trim()),
            });
        }
        decode_answer(cids, &body)
    }
}

/// `[{"jsonrpc":"2.0","method":"Filecoin.ChainReadObj","params":[{"/":"<cid>"}],"id":i},…]`
fn request_body(cids: &[Cid]) -> String {
    let mut body = String::with_capacity(cids.len() * 140);
    for (i, cid) in cids.iter().enumerate() {
        body.push(if i == 0 { '[' } else { ',' });
        // Writing into a String cannot fail.
        let _ = write!(
            body,
            r#"{{"jsonrpc":"2.0","method":"{METHOD}","params":[{{"/":"{cid}"}}],"id":{i}}}"#
        );
    }
    body.push(']');
    body
}

/// Matches answer items to requests by id and decodes their base64 straight into
/// the output buffers.
fn decode_answer(cids: &[Cid], body: &[u8]) -> Result<Vec<Vec<u8>>, BatchError> {
    let items: Vec<Item<'_>> =
        serde_json::from_slice(body).map_err(|e| BatchError::Malformed(e.to_string()))?;
    let mut out: Vec<Option<Vec<u8>>> = vec![None; cids.len()];
    for item in items {
        let id = item
            .id
            .and_then(|id| usize::try_from(id).ok())
            .filter(|&id| id < cids.len())
            .ok_or_else(|| {
                BatchError::Malformed(format!("answer with unknown id {:?}", item.id))
            })?;
        let cid = cids[id];
        if let Some(error) = item.error {
            return Err(BatchError::Call {
                cid,
                reason: error.message,
            });
        }
        let text = item
            .result
            .ok_or_else(|| BatchError::Malformed(format!("{cid}: no result")))?;
        let mut data = Vec::with_capacity(text.len() / 4 * 3);
        STANDARD
            .decode_vec(text.as_bytes(), &mut data)
            .map_err(|e| BatchError::Malformed(format!("{cid}: invalid base64: {e}")))?;
        out[id] = Some(data);
    }
    out.into_iter()
        .zip(cids)
        .map(|(data, cid)| {
            data.ok_or_else(|| BatchError::Malformed(format!("{cid}: no answer in the batch")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(n: u8) -> Cid {
        crate::ipld::block_cid(&[0x81, n])
    }

    #[test]
    fn answers_in_any_order_are_matched_by_id() {
        let cids = [cid(1), cid(2)];
        let body = format!(
            r#"[{{"jsonrpc":"2.0","result":"{}","id":1}},{{"jsonrpc":"2.0","result":"{}","id":0}}]"#,
            STANDARD.encode([0x81, 2]),
            STANDARD.encode([0x81, 1])
        );
        let blocks = decode_answer(&cids, body.as_bytes()).unwrap();
        assert_eq!(blocks, vec![vec![0x81, 1], vec![0x81, 2]]);
    }

    #[test]
    fn missing_items_and_call_errors_are_named() {
        let cids = [cid(1), cid(2)];
        let body = format!(
            r#"[{{"jsonrpc":"2.0","result":"{}","id":0}}]"#,
            STANDARD.encode([0x81, 1])
        );
        let err = decode_answer(&cids, body.as_bytes()).unwrap_err();
        assert!(err.to_string().contains(&cids[1].to_string()), "{err}");
        let body = r#"[{"jsonrpc":"2.0","error":{"code":1,"message":"not found"},"id":1},{"jsonrpc":"2.0","result":"","id":0}]"#;
        let err = decode_answer(&cids, body.as_bytes()).unwrap_err();
        assert!(
            matches!(err, BatchError::Call { cid, .. } if cid == cids[1]),
            "{err}"
        );
    }

    #[test]
    fn request_is_a_json_array_with_ids_in_order() {
        let cids = [cid(1), cid(2)];
        let body: serde_json::Value = serde_json::from_str(&request_body(&cids)).unwrap();
        assert_eq!(body[1]["id"], 1);
        assert_eq!(body[1]["params"][0]["/"], cids[1].to_string());
        assert_eq!(body[0]["method"], METHOD);
    }
}
