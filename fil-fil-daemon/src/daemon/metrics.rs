//! Prometheus metrics of the daemon. The registry lives here (not in `api`) because
//! the follower, fetcher and window code update it; `api` only serves the text.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Label of the RPC latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabel {
    /// JSON-RPC method name.
    pub method: String,
}

/// Every series the daemon exports (cheap to clone: shared handles).
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Height of the tipset the window is at.
    pub head_height: Gauge,
    /// Height of the node's head when last heard of.
    pub node_height: Gauge,
    /// Node head minus our head.
    pub lag_epochs: Gauge,
    /// Blocks held by the DAG store.
    pub objects: Gauge,
    /// Payload bytes held by the DAG store.
    pub bytes: Gauge,
    /// Link operations done.
    pub links: Counter,
    /// Unlink operations done.
    pub unlinks: Counter,
    /// Tipsets applied.
    pub applied: Counter,
    /// Tipsets reverted.
    pub reverted: Counter,
    /// Latency of calls to the node, by method.
    pub rpc_latency: Family<MethodLabel, Histogram>,
    /// Time to apply one batch of head changes.
    pub ingest_seconds: Histogram,
    /// Time to write one snapshot.
    pub snapshot_seconds: Histogram,
    /// Snapshots that failed.
    pub snapshot_failures: Counter,
    /// Reconnections to the node.
    pub reconnects: Counter,
    /// Blocks refused because their bytes did not hash to their CID.
    pub hash_mismatches: Counter,
    /// Blocks fetched from the node (the store verifies each before use).
    pub fetched_blocks: Counter,
    /// Bytes of those blocks.
    pub fetched_bytes: Counter,
    /// Ingestion steps that failed (retried).
    pub ingest_errors: Counter,
    /// Live scheduled-snapshot pins.
    pub pins: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every series registered under `fil_fil_`.
    pub fn new() -> Metrics {
        let mut reg = Registry::with_prefix("fil_fil");
        let m = Metrics {
            registry: Arc::new(Registry::default()),
            head_height: Gauge::default(),
            node_height: Gauge::default(),
            lag_epochs: Gauge::default(),
            objects: Gauge::default(),
            bytes: Gauge::default(),
            links: Counter::default(),
            unlinks: Counter::default(),
            applied: Counter::default(),
            reverted: Counter::default(),
            rpc_latency: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 2.0, 18))
            }),
            ingest_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            snapshot_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 16)),
            snapshot_failures: Counter::default(),
            reconnects: Counter::default(),
            hash_mismatches: Counter::default(),
            fetched_blocks: Counter::default(),
            fetched_bytes: Counter::default(),
            ingest_errors: Counter::default(),
            pins: Gauge::default(),
        };
        reg.register(
            "head_height",
            "Height of the daemon's head tipset",
            m.head_height.clone(),
        );
        reg.register(
            "node_head_height",
            "Height of the node's head",
            m.node_height.clone(),
        );
        reg.register(
            "lag_epochs",
            "Node head height minus daemon head height",
            m.lag_epochs.clone(),
        );
        reg.register(
            "dag_objects",
            "Blocks held in the DAG store",
            m.objects.clone(),
        );
        reg.register(
            "dag_bytes",
            "Payload bytes held in the DAG store",
            m.bytes.clone(),
        );
        reg.register(
            "dag_links",
            "Link operations on the DAG store",
            m.links.clone(),
        );
        reg.register(
            "dag_unlinks",
            "Unlink operations on the DAG store",
            m.unlinks.clone(),
        );
        reg.register(
            "tipsets_applied",
            "Tipsets applied to the window",
            m.applied.clone(),
        );
        reg.register(
            "tipsets_reverted",
            "Tipsets reverted from the window",
            m.reverted.clone(),
        );
        reg.register(
            "rpc_latency_seconds",
            "Latency of Lotus JSON-RPC calls",
            m.rpc_latency.clone(),
        );
        reg.register(
            "ingest_seconds",
            "Time to apply one batch of head changes",
            m.ingest_seconds.clone(),
        );
        reg.register(
            "snapshot_seconds",
            "Time to write one snapshot",
            m.snapshot_seconds.clone(),
        );
        reg.register(
            "snapshot_failures",
            "Snapshots that failed",
            m.snapshot_failures.clone(),
        );
        reg.register(
            "reconnects",
            "Reconnections to the Lotus node",
            m.reconnects.clone(),
        );
        reg.register(
            "hash_mismatches",
            "Blocks refused because their bytes do not hash to their CID",
            m.hash_mismatches.clone(),
        );
        reg.register(
            "fetched_blocks",
            "Blocks fetched from the node (each verified by the store before use)",
            m.fetched_blocks.clone(),
        );
        reg.register(
            "fetched_bytes",
            "Bytes of the blocks fetched from the node",
            m.fetched_bytes.clone(),
        );
        reg.register(
            "ingest_errors",
            "Ingestion steps that failed and were retried",
            m.ingest_errors.clone(),
        );
        reg.register("pins", "Live scheduled-snapshot pins", m.pins.clone());
        Metrics {
            registry: Arc::new(reg),
            ..m
        }
    }

    /// Records one call to the node.
    pub fn observe_rpc(&self, method: &str, elapsed: Duration) {
        self.rpc_latency
            .get_or_create(&MethodLabel {
                method: method.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Saturating conversion for gauges fed from unsigned counts.
pub fn gauge_value(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_every_series() {
        let m = Metrics::new();
        m.observe_rpc("Filecoin.ChainReadObj", Duration::from_millis(3));
        m.hash_mismatches.inc();
        let text = m.encode();
        for series in [
            "fil_fil_head_height",
            "fil_fil_lag_epochs",
            "fil_fil_dag_objects",
            "fil_fil_dag_bytes",
            "fil_fil_dag_links_total",
            "fil_fil_dag_unlinks_total",
            "fil_fil_rpc_latency_seconds_bucket",
            "fil_fil_snapshot_seconds",
            "fil_fil_reconnects_total",
            "fil_fil_hash_mismatches_total 1",
        ] {
            assert!(text.contains(series), "missing {series} in\n{text}");
        }
    }
}
