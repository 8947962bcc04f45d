//! `fil-fil devnet`: runs the Lotus-compatible chain simulator, or (`devnet
//! export`) writes a devnet chain's full dump as CARv1 for offline use.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::devnet::{export_car, Devnet, DevnetConfig, Node};

/// Run a simulated Lotus node serving real Filecoin chain data on /rpc/v1.
///
/// The chain is deterministic for a given --seed and set of flags. Without
/// --block-time nothing is mined after start-up except through the admin RPC
/// (`Devnet.Mine [n]`, `Devnet.Reorg [depth]`, `Devnet.DropConnections []`,
/// `Devnet.CloseChannels []`, `Devnet.CorruptObject [cid]`, `Devnet.Export [epoch, path]`).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DevnetArgs {
    #[command(subcommand)]
    action: Option<DevnetAction>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum DevnetAction {
    /// Build the chain the same flags describe and write everything up to an epoch
    /// (all headers, messages, receipts and state roots) as one CARv1 file.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to serve the Lotus API on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:1234")]
    listen: SocketAddr,
    /// Mine one epoch this often (e.g. `1s`, `30s`); omit to mine only on request.
    #[arg(long, value_parser = humantime::parse_duration)]
    block_time: Option<Duration>,
    /// Require this bearer token on every request (401 otherwise), like Lotus's JWT.
    #[arg(long, env = "FIL_FIL_DEVNET_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Epoch whose tipset roots the dump (a null round takes the one before).
    #[arg(long)]
    epoch: i64,
    /// Output CAR file (written to a temporary file, renamed when complete).
    #[arg(long)]
    output: PathBuf,
    #[command(flatten)]
    chain: ChainArgs,
}

/// Flags that shape the chain; the same values give the same bytes.
#[derive(Debug, Args)]
struct ChainArgs {
    /// Seed of every random choice (tickets, tipset sizes, null rounds, churn, reorgs).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Start from this genesis CAR (e.g. mainnet-genesis.car) instead of a synthetic one.
    #[arg(long, conflicts_with = "from_car")]
    genesis: Option<PathBuf>,
    /// Serve the chain of this CAR as it is: head = its roots, no new epochs unless mined.
    #[arg(long)]
    from_car: Option<PathBuf>,
    /// Relative weights of tipset sizes 1..=5, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "40,30,15,10,5")]
    tipset_weights: Vec<u32>,
    /// Probability that an epoch is a null round.
    #[arg(long, default_value_t = 0.05)]
    null_round_prob: f64,
    /// Probability per mined epoch (with --block-time) of a reorg instead.
    #[arg(long, default_value_t = 0.0)]
    reorg_prob: f64,
    /// Deepest automatic reorg, in tipsets.
    #[arg(long, default_value_t = 3)]
    max_reorg_depth: usize,
    /// New blocks per epoch: what the epoch's headers, messages, receipts and
    /// state root reach that the previous epoch did not (changed actors, copied
    /// HAMT/AMT paths, new actors). Mainnet sees ~20k; the default is 10× smaller.
    /// The genesis state is sized from it, so churn rewrites part of the state.
    #[arg(long, default_value_t = 2000)]
    churn_objects: usize,
    /// Most BLS (and, separately, secp) messages per block.
    #[arg(long, default_value_t = 4)]
    max_messages: u32,
    /// Simulated miners.
    #[arg(long, default_value_t = 16)]
    miners: u64,
    /// Simulated accounts.
    #[arg(long, default_value_t = 64)]
    accounts: u64,
    /// Epochs to mine before serving (builds a long chain quickly for benchmarks).
    #[arg(long, default_value_t = 0)]
    prefill_epochs: u64,
    /// Network name answered by StateNetworkName.
    #[arg(long, default_value = "fil-fil-devnet")]
    network_name: String,
    /// Print addresses with the mainnet `f` prefix instead of `t`.
    #[arg(long)]
    mainnet_addresses: bool,
}

impl ChainArgs {
    fn config(self) -> DevnetConfig {
        DevnetConfig {
            seed: self.seed,
            genesis: self.genesis,
            from_car: self.from_car,
            tipset_weights: self.tipset_weights,
            null_round_prob: self.null_round_prob,
            reorg_prob: self.reorg_prob,
            max_reorg_depth: self.max_reorg_depth,
            churn_objects: self.churn_objects,
            max_messages_per_block: self.max_messages,
            miners: self.miners,
            accounts: self.accounts,
            prefill_epochs: self.prefill_epochs,
            network_name: self.network_name,
            address_network: if self.mainnet_addresses { 'f' } else { 't' },
            ..DevnetConfig::default()
        }
    }
}

/// Runs the command.
pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    match args.action {
        Some(DevnetAction::Export(export)) => run_export(export).await,
        None => serve(args.serve).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = DevnetConfig {
        listen: args.listen,
        block_time: args.block_time,
        token: args.token,
        ..args.chain.config()
    };
    let devnet = Devnet::start(config).await.context("starting the devnet")?;
    let head = devnet.node().head();
    println!(
        "devnet: serving {} (head height {})",
        devnet.ws_url(),
        head.tipset.height
    );
    println!("FULLNODE_API_INFO={}", devnet.api_info());
    shutdown_signal().await;
    tracing::info!("devnet: shutting down");
    devnet.shutdown().await;
    Ok(())
}

async fn run_export(args: ExportArgs) -> anyhow::Result<()> {
    let config = args.chain.config();
    let replay = config.from_car.is_some();
    let (epoch, output) = (args.epoch, args.output);
    let stats = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let node = Node::build(config).context("building the devnet chain")?;
        if !replay {
            while node.head().tipset.height < epoch {
                node.mine(1).context("mining up to the export epoch")?;
            }
        }
        export_car(&node, epoch, &output)
            .with_context(|| format!("writing {}", output.display()))
            .map(|s| (s, output))
    })
    .await
    .context("export task")??;
    let (stats, output) = stats;
    println!(
        "wrote {}: root height {}, {} blocks, {} bytes{}",
        output.display(),
        stats.height,
        stats.blocks,
        stats.bytes,
        if stats.missing > 0 {
            format!(", {} referenced blocks not held", stats.missing)
        } else {
            String::new()
        }
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
