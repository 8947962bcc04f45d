//! Lotus's permission model, so clients meet the same failures they would on a
//! real node: a request without credentials gets `read`, a valid token gets every
//! permission, a malformed or wrong token is refused with 401 before any JSON-RPC
//! happens, and a method needing more than the caller holds answers with the
//! error go-jsonrpc's `auth.PermissionedProxy` returns.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::envelope::RpcError;
use super::Shared;

/// Lotus's API permissions (`api.PermRead` … `api.PermAdmin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Chain and state reads.
    Read,
    /// Sending messages, importing data.
    Write,
    /// Signing with the node's wallet.
    Sign,
    /// Node administration; the devnet's test controls.
    Admin,
}

impl Permission {
    /// The name Lotus tags methods with.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Sign => "sign",
            Permission::Admin => "admin",
        }
    }
}

/// What the caller of one HTTP request or WebSocket connection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted(&'static [Permission]);

impl Granted {
    /// Every permission: a valid token, or a devnet without a token.
    pub const ALL: Granted = Granted(&[
        Permission::Read,
        Permission::Write,
        Permission::Sign,
        Permission::Admin,
    ]);
    /// Lotus's `DefaultPerms`, given to requests without an `Authorization` header.
    pub const DEFAULT: Granted = Granted(&[Permission::Read]);

    /// Checks the caller may invoke `method`; the error is go-jsonrpc's, which
    /// names the Go method (the part after the namespace) and comes back as an
    /// ordinary method error (code 1).
    pub fn authorize(self, method: &str) -> Result<(), RpcError> {
        let need = required(method);
        if self.0.contains(&need) {
            return Ok(());
        }
        let name = method.rsplit_once('.').map_or(method, |(_, name)| name);
        Err(RpcError::method(format!(
            "missing permission to invoke '{name}' (need '{}')",
            need.name()
        )))
    }
}

/// The permission a method needs: every Lotus method the devnet serves is tagged
/// `read`; the `Devnet.*` test controls (mining, reorgs, faults, dumps) are admin.
pub fn required(method: &str) -> Permission {
    if method.starts_with("Devnet.") {
        Permission::Admin
    } else {
        Permission::Read
    }
}

/// Middleware: decides what the request holds, as go-jsonrpc's `auth.Handler`
/// does (header first, else a `token` query parameter), and stores it in the
/// request's extensions for the HTTP and WebSocket handlers.
pub async fn middleware(
    State(shared): State<Arc<Shared>>,
    mut req: Request,
    next: Next,
) -> Response {
    let granted = match &shared.token {
        None => Granted::ALL,
        Some(token) => match presented(&req) {
            None => Granted::DEFAULT,
            Some(given) if given.strip_prefix("Bearer ") == Some(token.as_str()) => Granted::ALL,
            Some(_) => return StatusCode::UNAUTHORIZED.into_response(),
        },
    };
    req.extensions_mut().insert(granted);
    next.run(req).await
}

/// The credential as go-jsonrpc reads it: the `Authorization` header, else
/// `?token=X` treated as `Bearer X`.
fn presented(req: &Request) -> Option<String> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        return Some(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    let Query(params) = Query::<HashMap<String, String>>::try_from_uri(req.uri()).ok()?;
    params
        .get("token")
        .filter(|v| !v.is_empty())
        .map(|v| format!("Bearer {v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_permission_error_matches_go_jsonrpc() {
        assert!(Granted::DEFAULT.authorize("Filecoin.ChainHead").is_ok());
        let err = Granted::DEFAULT
            .authorize("Devnet.Mine")
            .expect_err("read cannot mine");
        assert_eq!(err.code, 1);
        assert_eq!(
            err.message,
            "missing permission to invoke 'Mine' (need 'admin')"
        );
        assert!(Granted::ALL.authorize("Devnet.Mine").is_ok());
    }
}
