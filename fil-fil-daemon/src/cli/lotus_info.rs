//! `fil-fil lotus-info`: checks the connection to a Lotus node and prints its
//! network and head, the first thing to run when the daemon cannot follow a node.

use anyhow::Context;
use clap::Args;

use super::node_args::NodeArgs;
use crate::lotus::LotusClient;

/// Connect to a Lotus node and print its network name and head tipset.
#[derive(Debug, Args)]
pub struct LotusInfoArgs {
    #[command(flatten)]
    node: NodeArgs,
}

/// Runs the command.
pub async fn run(args: LotusInfoArgs) -> anyhow::Result<()> {
    let info = args.node.api_info()?;
    let client = LotusClient::connect(&info).await?;
    let network = client.state_network_name().await?;
    let head = client.chain_head().await.context("reading the head")?;
    println!("endpoint: {}", info.ws_url());
    println!("network:  {network}");
    println!("height:   {}", head.height);
    for cid in head.key() {
        println!("head:     {cid}");
    }
    Ok(())
}
