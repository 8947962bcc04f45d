//! The control API: HTTP on loopback, every `/v0` route behind the bearer token
//! from the repo (as Lotus guards its API with the repo's token), plus an
//! unauthenticated read-only Prometheus `/metrics`. `client` is the CLI's side.

mod client;
mod server;
mod service;

pub use client::{ApiClientError, ControlClient};
pub use server::{serve, ApiServer, HEAD_HEADER};
pub use service::{Service, ServiceError};
