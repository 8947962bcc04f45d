//! Finding a Lotus node the way Lotus tools do: `FULLNODE_API_INFO=<token>:<multiaddr>`
//! (e.g. `eyJ…:/ip4/127.0.0.1/tcp/1234/http`), or an explicit URL and token.

use std::fmt;

/// Where the node is and how to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiInfo {
    /// `host:port` (IPv6 hosts bracketed).
    pub host_port: String,
    /// Whether the multiaddr asked for TLS (`https`/`wss`).
    pub tls: bool,
    /// Bearer token (JWT) if any.
    pub token: Option<String>,
}

impl fmt::Debug for ApiInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the token.
        f.debug_struct("ApiInfo")
            .field("host_port", &self.host_port)
            .field("tls", &self.tls)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why an API info string or URL could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiInfoError {
    /// The multiaddr is not `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/http|https|ws|wss]`.
    #[error("unsupported multiaddr {0:?} (expected /ip4/<ip>/tcp/<port>/http)")]
    Multiaddr(String),
    /// The URL is not `http(s)://` or `ws(s)://` with a host and port.
    #[error("unsupported Lotus URL {0:?} (expected ws://host:port/rpc/v1 or http://…)")]
    Url(String),
}

impl ApiInfo {
    /// Parses `FULLNODE_API_INFO` (`[token:]multiaddr`).
    pub fn parse(info: &str) -> Result<Self, ApiInfoError> {
        let info = info.trim();
        let (token, addr) = match info.split_once(":/") {
            Some((token, rest)) => (Some(token.to_owned()), format!("/{rest}")),
            None => (None, info.to_owned()),
        };
        let parts: Vec<&str> = addr.split('/').collect();
        let bad = || ApiInfoError::Multiaddr(addr.clone());
        let (kind, host, tcp, port) = match parts.as_slice() {
            ["", kind, host, tcp, port, ..] => (*kind, *host, *tcp, *port),
            _ => return Err(bad()),
        };
        if tcp != "tcp" || port.parse::<u16>().is_err() {
            return Err(bad());
        }
        let host_port = match kind {
            "ip4" | "dns" | "dns4" | "dns6" => format!("{host}:{port}"),
            "ip6" => format!("[{host}]:{port}"),
            _ => return Err(bad()),
        };
        let tls = match parts.get(5).copied() {
            None | Some("http") | Some("ws") => false,
            Some("https") | Some("wss") => true,
            Some(_) => return Err(bad()),
        };
        Ok(Self {
            host_port,
            tls,
            token: token.filter(|t| !t.is_empty()),
        })
    }

    /// Builds from a URL such as `ws://127.0.0.1:1234/rpc/v1` and an optional token.
    pub fn from_url(url: &str, token: Option<String>) -> Result<Self, ApiInfoError> {
        let bad = || ApiInfoError::Url(url.to_owned());
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let tls = match scheme {
            "http" | "ws" => false,
            "https" | "wss" => true,
            _ => return Err(bad()),
        };
        let host_port = rest
            .split('/')
            .next()
            .filter(|h| h.contains(':'))
            .ok_or_else(bad)?;
        Ok(Self {
            host_port: host_port.to_owned(),
            tls,
            token,
        })
    }

    /// WebSocket endpoint of the v1 API.
    pub fn ws_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/rpc/v1", self.host_port)
    }

    /// HTTP endpoint of the v1 API.
    pub fn http_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/rpc/v1", self.host_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lotus_forms() {
        let a = ApiInfo::parse("abc.def:/ip4/127.0.0.1/tcp/1234/http").expect("parse");
        assert_eq!(a.token.as_deref(), Some("abc.def"));
        assert_eq!(a.ws_url(), "ws://127.0.0.1:1234/rpc/v1");
        let b = ApiInfo::parse("/ip6/::1/tcp/1234/ws").expect("no token");
        assert_eq!(b.token, None);
        assert_eq!(b.http_url(), "http://[::1]:1234/rpc/v1");
        assert!(ApiInfo::parse("tok:/ip4/1.2.3.4/udp/1").is_err());
        assert!(ApiInfo::from_url("ftp://x:1", None).is_err());
        let c = ApiInfo::from_url("ws://127.0.0.1:9/rpc/v1", None).expect("url");
        assert_eq!(c.host_port, "127.0.0.1:9");
    }
}
