//! The running daemon, shaped like mini-redis: [`Daemon::start`] loads the repo's
//! checkpoint (or starts empty), spawns the ChainNotify reader and the ingester,
//! and returns; [`Daemon::shutdown`] cancels, joins the tasks and writes a final
//! checkpoint. [`DaemonHandle`] is what the control API talks to.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::blocks::header_parents;
use super::checkpoint::{self, CheckpointError, WindowState};
use super::config::DaemonConfig;
use super::control::{
    Compress, Control, Format, PinInfo, SnapshotError, SnapshotHead, SnapshotRequest,
    SnapshotStream, Status,
};
use super::follower::follow;
use super::ingest::Ingester;
use super::metrics::{gauge_value, Metrics};
use super::node::NodeConn;
use super::pins::{Pin, Pins};
use super::repo::Repo;
use super::source::RpcSource;
use super::window::{Window, WindowRules};
use crate::chain::TipsetKey;
use crate::dag::{DagConfig, DagStore};
use crate::snapshot::{export, Compression, ExportOptions, SnapshotFormat, DEFAULT_ZSTD_LEVEL};

/// Epochs past the window a tipset stays revertible (Lotus finality).
pub const REORG_MARGIN: i64 = 900;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No node configured.
    #[error("no Lotus node configured")]
    NoNode,
    /// The checkpoint is unusable.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

pub(crate) struct Shared {
    pub(crate) store: DagStore,
    pub(crate) window: Mutex<Window>,
    pub(crate) pins: Mutex<Pins>,
    pub(crate) metrics: Metrics,
    pub(crate) config: DaemonConfig,
    pub(crate) node: NodeConn,
    pub(crate) node_height: Mutex<Option<i64>>,
    pub(crate) last_error: Mutex<Option<String>>,
    pub(crate) head_tx: watch::Sender<Option<i64>>,
    pub(crate) repo: Repo,
}

/// Shared handle on a running daemon (cheap to clone).
#[derive(Clone)]
pub struct DaemonHandle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for DaemonHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonHandle").finish_non_exhaustive()
    }
}

/// A running daemon.
#[derive(Debug)]
pub struct Daemon {
    handle: DaemonHandle,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

/// The store configuration the daemon uses (header spine, fetch pipelining).
pub fn dag_config(config: &DaemonConfig) -> DagConfig {
    DagConfig {
        batch_size: match config.fetch_batch {
            0 => config.fetch_concurrency,
            n => n,
        },
        max_in_flight: 4,
        ..DagConfig::default()
    }
    .with_spine(header_parents)
}

impl Daemon {
    /// Starts following `config.node` with state in `repo`.
    pub async fn start(config: DaemonConfig, repo: Repo) -> Result<Daemon, StartError> {
        let info = config.node.clone().ok_or(StartError::NoNode)?;
        let metrics = Metrics::new();
        let rules = WindowRules {
            depth: config.depth,
            skip_old_msgs: config.skip_old_msgs,
            reorg_margin: REORG_MARGIN,
        };
        let (store, window, pins) = match checkpoint::load(&repo, dag_config(&config))? {
            Some((store, old_guards, state)) => {
                let mut window = state.window;
                window.set_rules(rules);
                let mut pins = Pins::default();
                for saved in state.pins {
                    let roots: Vec<_> = saved.roots.iter().map(|c| c.0).collect();
                    match store.pin(&roots) {
                        Ok(guard) => pins.push(
                            Pin {
                                info: saved.info,
                                roots,
                                guard,
                            },
                            config.retain,
                        ),
                        Err(err) => {
                            tracing::warn!(%err, "dropping a pin the checkpoint cannot restore")
                        }
                    }
                }
                drop(old_guards);
                store.flush_releases().await;
                tracing::info!(
                    head = ?window.head().map(|h| h.height),
                    objects = store.len(),
                    "restored checkpoint"
                );
                (store, window, pins)
            }
            None => (
                DagStore::new(dag_config(&config)),
                Window::new(rules),
                Pins::default(),
            ),
        };
        let node = NodeConn::new(info, metrics.clone());
        let (head_tx, _) = watch::channel(window.head().map(|h| h.height));
        let shared = Arc::new(Shared {
            store,
            window: Mutex::new(window),
            pins: Mutex::new(pins),
            metrics: metrics.clone(),
            config: config.clone(),
            node: node.clone(),
            node_height: Mutex::new(None),
            last_error: Mutex::new(None),
            head_tx,
            repo,
        });
        let handle = DaemonHandle { shared };
        handle.refresh_gauges();
        let cancel = CancellationToken::new();
        let (tx, rx) = mpsc::unbounded_channel();
        let follower = tokio::spawn(follow(node.clone(), metrics.clone(), tx, cancel.clone()));
        let source = RpcSource::new(
            node,
            metrics,
            config.fetch_concurrency,
            config.fetch_batch > 0,
        );
        let ingester = Ingester::new(handle.clone(), source);
        let ingest = tokio::spawn(ingester.run(rx, cancel.clone()));
        Ok(Daemon {
            handle,
            cancel,
            tasks: vec![follower, ingest],
        })
    }

    /// The handle the API and tests use.
    pub fn handle(&self) -> DaemonHandle {
        self.handle.clone()
    }

    /// A token that stops the daemon when cancelled.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops following, waits for the tasks (the ingester writes a final
    /// checkpoint on its way out).
    pub async fn shutdown(self) {
        self.cancel.cancel();
        for task in self.tasks {
            if let Err(err) = task.await {
                tracing::error!(%err, "daemon task failed");
            }
        }
    }
}

impl DaemonHandle {
    /// Height of the newest fully linked tipset, updated after every batch.
    pub fn watch_head(&self) -> watch::Receiver<Option<i64>> {
        self.shared.head_tx.subscribe()
    }

    /// Waits until the head is at least `height`.
    pub async fn wait_for_height(&self, height: i64) {
        let mut rx = self.watch_head();
        let _ = rx.wait_for(|h| h.is_some_and(|h| h >= height)).await;
    }

    /// True if the DAG store holds `cid` (tests, diagnostics).
    pub fn store_has(&self, cid: &cid::Cid) -> bool {
        self.shared.store.has(cid)
    }

    /// Metrics of this daemon.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Writes a checkpoint now (waits for a running link/unlink).
    pub async fn checkpoint(&self) -> Result<(), CheckpointError> {
        let state = WindowState {
            window: self.shared.window.lock().clone(),
            pins: self.shared.pins.lock().saved(),
        };
        checkpoint::save(&self.shared.repo, &self.shared.store, &state).await
    }

    pub(crate) fn refresh_gauges(&self) {
        let s = &self.shared;
        let m = &s.metrics;
        let mem = s.store.memory();
        m.objects.set(gauge_value(mem.objects));
        m.bytes.set(gauge_value(mem.payload_bytes));
        m.pins.set(gauge_value(s.pins.lock().len() as u64));
        let (head, settled) = {
            let window = s.window.lock();
            (
                window.head().map(|h| h.height),
                window.settled_head().map(|h| h.height),
            )
        };
        if let Some(head) = head {
            m.head_height.set(head);
            if let Some(node) = *s.node_height.lock() {
                m.node_height.set(node);
                m.lag_epochs.set((node - head).max(0));
            }
        }
        s.head_tx.send_replace(settled);
    }

    fn resolve(
        &self,
        request: &SnapshotRequest,
    ) -> Result<(SnapshotHead, crate::dag::PinGuard), SnapshotError> {
        let s = &self.shared;
        let depth = request.depth.unwrap_or(s.config.depth);
        let skip = request.skip_old_msgs.unwrap_or(s.config.skip_old_msgs);
        if depth < 0 {
            return Err(SnapshotError::BadRequest("depth must be ≥ 0".into()));
        }
        // The pin is taken under the window lock so the log and store agree.
        let window = s.window.lock();
        let epoch = match (request.epoch, window.head()) {
            (Some(e), _) => e,
            (None, _) if window.settled_head().is_some() => {
                window.settled_head().map_or(0, |h| h.height)
            }
            (None, _) => return Err(SnapshotError::NotHeld("the daemon has no chain yet".into())),
        };
        let from_window = window.snapshot_roots(epoch, depth, skip);
        let (entry_key, height, roots) = match from_window {
            Ok((entry, roots)) => (entry.key, entry.height, roots),
            Err(err) => {
                let pins = s.pins.lock();
                let pin = pins
                    .serving(epoch, depth, skip)
                    .ok_or_else(|| SnapshotError::NotHeld(err.to_string()))?;
                (pin.info.key.clone(), pin.info.height, pin.roots.clone())
            }
        };
        let guard = s
            .store
            .pin(&roots)
            .map_err(|e| SnapshotError::Internal(format!("pinning the snapshot roots: {e}")))?;
        drop(window);
        Ok((
            SnapshotHead {
                height,
                key: entry_key,
                depth,
                skip_old_msgs: skip,
            },
            guard,
        ))
    }
}

/// Sends what the exporter writes to the HTTP body, one chunk per write (the
/// exporter already buffers into large writes).
struct ChannelWriter(mpsc::Sender<Result<Bytes, std::io::Error>>);

impl std::io::Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "reader went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Control for DaemonHandle {
    fn status(&self) -> Status {
        let s = &self.shared;
        let mem = s.store.memory();
        let window = s.window.lock();
        let window_start = window.records().next().map(|r| r.entry.height);
        Status {
            node: s
                .config
                .node
                .as_ref()
                .map(|n| n.ws_url())
                .unwrap_or_default(),
            connected: s.node.client().is_some(),
            head_height: window.head().map(|h| h.height),
            head: window.head().map(|h| h.key.clone()).unwrap_or_default(),
            settled_head: window
                .settled_head()
                .map(|h| h.key.clone())
                .unwrap_or_default(),
            node_height: *s.node_height.lock(),
            window_start,
            depth: s.config.depth,
            skip_old_msgs: s.config.skip_old_msgs,
            objects: mem.objects,
            bytes: mem.payload_bytes,
            pins: s.pins.lock().infos(),
            snapshot_interval: s.config.snapshot_interval,
            confidence: s.config.confidence,
            last_error: s.last_error.lock().clone(),
        }
    }

    async fn snapshot(&self, request: SnapshotRequest) -> Result<SnapshotStream, SnapshotError> {
        let (head, guard) = self.resolve(&request)?;
        let options = ExportOptions {
            depth: head.depth,
            skip_old_msgs: head.skip_old_msgs,
            format: match request.format {
                Format::V1 => SnapshotFormat::V1,
                Format::V2 => SnapshotFormat::V2,
            },
            compression: match request.compress {
                Compress::None => Compression::None,
                Compress::Zstd => Compression::Zstd {
                    level: DEFAULT_ZSTD_LEVEL,
                },
            },
            f3: None,
        };
        let (tx, rx) = mpsc::channel(16);
        let store = self.shared.store.clone();
        let metrics = self.shared.metrics.clone();
        let key = TipsetKey::new(head.key.iter().map(|c| c.0).collect());
        let height = head.height;
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let result = export(
                &store,
                &key,
                &options,
                ChannelWriter(tx.clone()),
                &mut |_| {},
            );
            drop(guard);
            match result {
                Ok((_, summary)) => {
                    metrics
                        .snapshot_seconds
                        .observe(started.elapsed().as_secs_f64());
                    tracing::info!(
                        height,
                        bytes = summary.car_bytes,
                        secs = started.elapsed().as_secs_f64(),
                        "snapshot written"
                    );
                }
                Err(err) => {
                    metrics.snapshot_failures.inc();
                    tracing::error!(%err, height, "snapshot failed");
                    let _ = tx.blocking_send(Err(std::io::Error::other(err.to_string())));
                }
            }
        });
        Ok(SnapshotStream { head, body: rx })
    }

    fn pins(&self) -> Vec<PinInfo> {
        self.shared.pins.lock().infos()
    }

    fn delete_pin(&self, epoch: i64) -> bool {
        let removed = self.shared.pins.lock().remove(epoch);
        self.refresh_gauges();
        removed
    }

    fn metrics_text(&self) -> String {
        self.refresh_gauges();
        self.shared.metrics.encode()
    }
}
