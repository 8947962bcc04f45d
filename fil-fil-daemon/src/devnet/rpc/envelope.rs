//! JSON-RPC 2.0 framing exactly as go-jsonrpc writes it: responses are Go maps
//! (keys sorted: `error`/`id`/`jsonrpc`/`result`), requests and notifications are
//! structs (`jsonrpc`, `id`, `method`, `params`), and every message ends with the
//! newline `json.Encoder` appends.

use serde::Serialize;
use serde_json::Value;

/// Invalid JSON.
pub const PARSE_ERROR: i64 = -32700;
/// Not a request.
pub const INVALID_REQUEST: i64 = -32600;
/// No such method (or a channel method over plain HTTP).
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Wrong number of parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// go-jsonrpc's code for errors returned by a method.
pub const METHOD_ERROR: i64 = 1;

/// An error object: `{"code": …, "message": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("RPC error {code}: {message}")]
pub struct RpcError {
    /// JSON-RPC error code.
    pub code: i64,
    /// Human-readable message.
    pub message: String,
}

impl RpcError {
    /// An error a method returned (code 1, like go-jsonrpc's default).
    pub fn method(message: impl Into<String>) -> Self {
        Self {
            code: METHOD_ERROR,
            message: message.into(),
        }
    }

    /// go-jsonrpc's "method not found" error.
    pub fn not_found(method: &str) -> Self {
        Self {
            code: METHOD_NOT_FOUND,
            message: format!("method '{method}' not found"),
        }
    }

    /// Whether go-jsonrpc writes this error through `rpcError` (HTTP 500/400)
    /// rather than as a method result (HTTP 200).
    pub fn is_protocol(&self) -> bool {
        self.code != METHOD_ERROR
    }
}

/// A parsed request frame.
#[derive(Debug, Clone)]
pub struct Request {
    /// Request id; `None` for notifications.
    pub id: Option<Value>,
    /// Method name.
    pub method: String,
    /// Positional parameters.
    pub params: Vec<Value>,
}

impl Request {
    /// Reads a request object; parameter lists must be arrays, as in go-jsonrpc.
    pub fn parse(frame: Value) -> Result<Self, (Option<Value>, RpcError)> {
        let Value::Object(mut map) = frame else {
            return Err((None, parse_error("Parse error")));
        };
        let id = map.remove("id").filter(|v| !v.is_null());
        let method = match map.remove("method") {
            Some(Value::String(m)) => m,
            _ => String::new(),
        };
        let params = match map.remove("params") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                let msg = format!(
                    "unmarshaling param array: json: cannot unmarshal {} into Go value of type []jsonrpc.param",
                    go_kind(&other)
                );
                return Err((id, parse_error(&msg)));
            }
        };
        Ok(Self { id, method, params })
    }
}

fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "object",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        _ => "value",
    }
}

/// A parse error with `message`.
pub fn parse_error(message: &str) -> RpcError {
    RpcError {
        code: PARSE_ERROR,
        message: message.to_owned(),
    }
}

fn id_text(id: Option<&Value>) -> String {
    id.map_or_else(|| "null".to_owned(), Value::to_string)
}

/// `{"id":…,"jsonrpc":"2.0","result":…}\n` with `result` already JSON text.
pub fn ok_response(id: Option<&Value>, result: &str) -> String {
    format!(
        "{{\"id\":{},\"jsonrpc\":\"2.0\",\"result\":{result}}}\n",
        id_text(id)
    )
}

/// `{"error":{…},"id":…,"jsonrpc":"2.0"}\n`.
pub fn error_response(id: Option<&Value>, error: &RpcError) -> String {
    let error = serde_json::to_string(error)
        .unwrap_or_else(|_| format!("{{\"code\":{},\"message\":\"\"}}", error.code));
    format!(
        "{{\"error\":{error},\"id\":{},\"jsonrpc\":\"2.0\"}}\n",
        id_text(id)
    )
}

/// A server-to-client notification such as `xrpc.ch.val`, `params` already JSON.
pub fn notification(method: &str, params: &str) -> String {
    format!("{{\"jsonrpc\":\"2.0\",\"method\":\"{method}\",\"params\":{params}}}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_go_jsonrpc() {
        let id = Value::from(3);
        assert_eq!(
            ok_response(Some(&id), "1"),
            "{\"id\":3,\"jsonrpc\":\"2.0\",\"result\":1}\n"
        );
        assert_eq!(
            error_response(None, &RpcError::not_found("Filecoin.Nope")),
            "{\"error\":{\"code\":-32601,\"message\":\"method 'Filecoin.Nope' not found\"},\"id\":null,\"jsonrpc\":\"2.0\"}\n"
        );
        assert_eq!(
            notification("xrpc.ch.close", "[1]"),
            "{\"jsonrpc\":\"2.0\",\"method\":\"xrpc.ch.close\",\"params\":[1]}\n"
        );
        let req = Request::parse(serde_json::json!({"id": 1, "method": "m", "params": {"a": 1}}));
        assert!(matches!(
            req,
            Err((
                Some(_),
                RpcError {
                    code: PARSE_ERROR,
                    ..
                }
            ))
        ));
    }
}
