//! Devnet settings: chain shape (tipset sizes, null rounds, reorgs, churn),
//! population, timing and network identity. One struct shared by the CLI and tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything that shapes a devnet. `Default` gives a small, realistic chain.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// Address the RPC server binds (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Seed of the ChaCha RNG every random choice comes from.
    pub seed: u64,
    /// Start from this genesis CAR (its root header and state) instead of a synthetic one.
    pub genesis: Option<PathBuf>,
    /// Serve the chain of this CAR as-is (head = its roots); nothing is mined unless asked.
    pub from_car: Option<PathBuf>,
    /// Mine one epoch per interval; `None` mines only on request.
    pub block_time: Option<Duration>,
    /// Bearer token required on the RPC endpoint, if set.
    pub token: Option<String>,
    /// Relative weights of tipset sizes 1, 2, 3, … (at most 5 entries used).
    pub tipset_weights: Vec<u32>,
    /// Probability that an epoch is a null round.
    pub null_round_prob: f64,
    /// Probability, per mined epoch, of a reorg instead of a plain extension.
    pub reorg_prob: f64,
    /// Deepest automatic reorg (tipsets reverted).
    pub max_reorg_depth: usize,
    /// New blocks per epoch: blocks reachable from the epoch's headers, messages,
    /// receipts and resulting state root that the previous epoch did not reach
    /// (mainnet: ~20k; the default is scaled down 10×).
    pub churn_objects: usize,
    /// Upper bound of messages per block (each of BLS and secp).
    pub max_messages_per_block: u32,
    /// Simulated accounts.
    pub accounts: u64,
    /// Simulated miners.
    pub miners: u64,
    /// Epochs mined before the server starts.
    pub prefill_epochs: u64,
    /// Name returned by `StateNetworkName`.
    pub network_name: String,
    /// Address prefix in JSON: `'f'` mainnet, `'t'` test networks.
    pub address_network: char,
    /// Seconds per epoch, for header timestamps and `Version`.
    pub block_delay_secs: u64,
    /// Timestamp of the synthetic genesis.
    pub genesis_timestamp: u64,
    /// Answer JSON-RPC batches over HTTP; `false` answers them like a go-jsonrpc
    /// without batch support (HTTP 500, parse error), for clients' fallbacks.
    pub http_batches: bool,
}

impl Default for DevnetConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 0,
            genesis: None,
            from_car: None,
            block_time: None,
            token: None,
            tipset_weights: vec![40, 30, 15, 10, 5],
            null_round_prob: 0.05,
            reorg_prob: 0.0,
            max_reorg_depth: 3,
            churn_objects: 2000,
            max_messages_per_block: 4,
            accounts: 64,
            miners: 16,
            prefill_epochs: 0,
            network_name: "fil-fil-devnet".into(),
            address_network: 't',
            block_delay_secs: 30,
            genesis_timestamp: 1_700_000_000,
            http_batches: true,
        }
    }
}
