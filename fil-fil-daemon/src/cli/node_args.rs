//! How every command that talks to a Lotus node finds it: `--lotus-url`/`--lotus-token`
//! or, as Lotus tools do, `FULLNODE_API_INFO=<token>:/ip4/<ip>/tcp/<port>/http`.

use anyhow::Context;
use clap::Args;

use crate::lotus::ApiInfo;

/// Lotus node connection flags.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// Lotus API info, `<token>:<multiaddr>` as printed by `lotus auth api-info`.
    #[arg(long, env = "FULLNODE_API_INFO", hide_env_values = true)]
    pub api_info: Option<String>,
    /// Lotus endpoint URL (e.g. `ws://127.0.0.1:1234/rpc/v1`); overrides `--api-info`.
    #[arg(long)]
    pub lotus_url: Option<String>,
    /// Bearer token for `--lotus-url`.
    #[arg(long, env = "FULLNODE_API_TOKEN", hide_env_values = true)]
    pub lotus_token: Option<String>,
}

impl NodeArgs {
    /// Resolves the flags into an [`ApiInfo`].
    pub fn api_info(&self) -> anyhow::Result<ApiInfo> {
        if let Some(url) = &self.lotus_url {
            return ApiInfo::from_url(url, self.lotus_token.clone()).context("--lotus-url");
        }
        let info = self
            .api_info
            .as_deref()
            .context("no Lotus node given: set FULLNODE_API_INFO or pass --lotus-url")?;
        ApiInfo::parse(info).context("FULLNODE_API_INFO")
    }
}
