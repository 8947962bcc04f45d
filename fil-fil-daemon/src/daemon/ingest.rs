//! The ingester: the only writer of the window and the store's window references.
//! It turns ChainNotify batches (or a `ChainGetPath` after a reconnect) into
//! window applies/reverts, then settles the store: links what the rules now want
//! (fetching from the node, pipelined and hash-checked), marks it held, marks and
//! unlinks what left the window, and pins scheduled epochs. A failed link rolls
//! back in the store and is retried; nothing unverified is ever held. Bootstrap
//! of an empty window is in [`super::bootstrap`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cid::Cid;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use super::blocks::Layered;
use super::entry::{entry_from_json, EntryError};
use super::follower::FollowEvent;
use super::pins::Pin;
use super::prefetch::PrefetchError;
use super::service::DaemonHandle;
use super::source::RpcSource;
use super::spill::SpillError;
use super::window::{RootKind, RootSet, WindowError};
use crate::dag::{BlockSource, LinkError, LinkKind, PartsError, RefError};
use crate::lotus::json::{HeadChange, HeadChangeType, TipSetJson};
use crate::lotus::RpcError;

/// Root sets linked per store transaction (bootstrap links thousands).
const LINK_CHUNK: usize = 64;
/// During bootstrap, a link whose DAG has this many new blocks on one level is
/// done in parts (see [`DagStore::link_in_parts`](crate::dag::DagStore::link_in_parts)).
const SPLIT_FRONTIER: usize = 4096;
/// Pause before retrying a failed settle.
const RETRY: Duration = Duration::from_secs(1);

/// Why an ingestion step failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Talking to the node.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// Not connected.
    #[error("not connected to the node")]
    Disconnected,
    /// The store refused a link (missing or corrupt block from the node).
    #[error(transparent)]
    Link(Box<LinkError>),
    /// The store refused an unlink (a bookkeeping bug).
    #[error(transparent)]
    Unlink(Box<RefError>),
    /// A header could not be read.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The head changes do not fit the window even after reconciling.
    #[error(transparent)]
    Window(#[from] WindowError),
    /// The header prefetch of a bootstrap.
    #[error("prefetching headers: {0}")]
    Prefetch(#[from] PrefetchError),
    /// The import file.
    #[error(transparent)]
    Import(#[from] SpillError),
    /// A blocking task died.
    #[error("import task failed: {0}")]
    Task(String),
}

impl From<LinkError> for IngestError {
    fn from(e: LinkError) -> Self {
        IngestError::Link(Box::new(e))
    }
}

impl From<PartsError> for IngestError {
    fn from(e: PartsError) -> Self {
        match e {
            PartsError::Link(e) => e.into(),
            PartsError::Unlink(e) => e.into(),
        }
    }
}

impl From<RefError> for IngestError {
    fn from(e: RefError) -> Self {
        IngestError::Unlink(Box::new(e))
    }
}

/// Owns ingestion; see the module docs.
pub struct Ingester {
    pub(super) handle: DaemonHandle,
    pub(super) rpc: RpcSource,
    /// References of reverted tipsets still to drop (after the next links, so
    /// blocks shared with the new branch are not freed and refetched).
    pending_unlinks: Vec<RootSet>,
    /// A settle failed; retry on the next tick.
    dirty: bool,
}

impl std::fmt::Debug for Ingester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingester").finish_non_exhaustive()
    }
}

fn link_kind(kind: RootKind) -> LinkKind {
    match kind {
        RootKind::Headers => LinkKind::Spine,
        RootKind::Messages | RootKind::State => LinkKind::Dag,
    }
}

impl Ingester {
    /// An ingester for the daemon behind `handle`, fetching through `rpc`.
    pub fn new(handle: DaemonHandle, rpc: RpcSource) -> Ingester {
        Ingester {
            handle,
            rpc,
            pending_unlinks: Vec::new(),
            dirty: false,
        }
    }

    /// Runs until `cancel`; then writes a final checkpoint.
    pub async fn run(
        mut self,
        mut events: UnboundedReceiver<FollowEvent>,
        cancel: CancellationToken,
    ) {
        let import = self.handle.shared.config.import.clone();
        if let Some(path) = import.filter(|_| self.handle.shared.window.lock().head().is_none()) {
            tokio::select! {
                _ = cancel.cancelled() => return,
                result = self.bootstrap_import(path) => self.record(result),
            }
        }
        let interval = self.handle.shared.config.checkpoint_interval;
        let mut checkpoints =
            tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        let mut retry = tokio::time::interval(RETRY);
        let no_blocks: HashMap<Cid, Vec<u8>> = HashMap::new();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                event = events.recv() => {
                    let Some(event) = event else { break };
                    let FollowEvent::Changes(changes) = event else { continue };
                    let started = Instant::now();
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        result = self.handle_changes(changes) => self.record(result),
                    }
                    self.handle.shared.metrics.ingest_seconds.observe(started.elapsed().as_secs_f64());
                }
                _ = retry.tick(), if self.dirty => {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        result = self.settle(&no_blocks, false) => self.record(result),
                    }
                }
                _ = checkpoints.tick() => self.checkpoint().await,
            }
        }
        self.checkpoint().await;
    }

    async fn checkpoint(&self) {
        if self.handle.shared.window.lock().head().is_none() {
            return;
        }
        let started = Instant::now();
        match self.handle.checkpoint().await {
            Ok(()) => tracing::info!(secs = started.elapsed().as_secs_f64(), "checkpoint written"),
            Err(err) => tracing::error!(%err, "checkpoint failed"),
        }
    }

    fn record(&mut self, result: Result<(), IngestError>) {
        let shared = &self.handle.shared;
        match result {
            Ok(()) => {
                self.dirty = false;
                *shared.last_error.lock() = None;
            }
            Err(err) => {
                self.dirty = true;
                if let IngestError::Link(link) = &err {
                    if let LinkError::Verify { cid, .. } = **link {
                        // The store hashes every block it is given; only the
                        // node can have sent these bytes.
                        shared.metrics.hash_mismatches.inc();
                        tracing::error!(%cid, "node returned bytes that do not hash to the CID; refused");
                    }
                }
                shared.metrics.ingest_errors.inc();
                tracing::warn!(%err, "ingestion step failed; will retry");
                *shared.last_error.lock() = Some(err.to_string());
            }
        }
        self.handle.refresh_gauges();
    }

    fn note_node_height(&self, height: i64) {
        let mut h = self.handle.shared.node_height.lock();
        *h = Some(h.map_or(height, |old| old.max(height)));
    }

    async fn handle_changes(&mut self, changes: Vec<HeadChange>) -> Result<(), IngestError> {
        let mut seeds = HashMap::new();
        let last = changes.last().map(|c| c.val.clone());
        if let Some(current) = changes.iter().find(|c| c.kind == HeadChangeType::Current) {
            // A new channel: the node's head may be anywhere relative to ours.
            *self.handle.shared.node_height.lock() = Some(current.val.height);
            self.reconcile(current.val.clone(), &mut seeds).await?;
        } else {
            let mut consistent = true;
            for change in &changes {
                if change.kind == HeadChangeType::Apply {
                    self.note_node_height(change.val.height);
                }
                if self.apply_change(change, &mut seeds).is_err() {
                    consistent = false;
                    break;
                }
            }
            if !consistent {
                tracing::info!(
                    "head changes do not follow our head; reconciling with ChainGetPath"
                );
                let target = match last.filter(|_| {
                    changes
                        .last()
                        .is_some_and(|c| c.kind == HeadChangeType::Apply)
                }) {
                    Some(ts) => ts,
                    None => self.client()?.chain_head().await?,
                };
                self.reconcile(target, &mut seeds).await?;
            }
        }
        self.settle(&seeds, false).await
    }

    pub(super) fn client(&self) -> Result<std::sync::Arc<crate::lotus::LotusClient>, IngestError> {
        self.handle
            .shared
            .node
            .client()
            .ok_or(IngestError::Disconnected)
    }

    fn apply_change(
        &mut self,
        change: &HeadChange,
        seeds: &mut HashMap<Cid, Vec<u8>>,
    ) -> Result<(), IngestError> {
        let shared = &self.handle.shared;
        match change.kind {
            HeadChangeType::Revert => {
                let key: Vec<_> = change.val.cids.clone();
                let released = shared.window.lock().revert(&key, change.val.height)?;
                shared.metrics.reverted.inc();
                self.pending_unlinks.extend(released);
            }
            HeadChangeType::Apply | HeadChangeType::Current => {
                let entry = entry_from_json(&change.val, seeds)?;
                let mut window = shared.window.lock();
                if window.head().is_some_and(|h| h.key == entry.key) {
                    return Ok(());
                }
                window.apply(entry)?;
                shared.metrics.applied.inc();
            }
        }
        Ok(())
    }

    /// Brings the window to `target`: bootstrap when empty, else the node's path.
    async fn reconcile(
        &mut self,
        target: TipSetJson,
        seeds: &mut HashMap<Cid, Vec<u8>>,
    ) -> Result<(), IngestError> {
        let head = self.handle.shared.window.lock().head().map(|h| h.cids());
        let Some(head) = head else {
            return self.bootstrap_node(target).await;
        };
        if head == target.key() {
            return Ok(());
        }
        let path = self.client()?.chain_get_path(&head, &target.key()).await?;
        tracing::info!(steps = path.len(), to = target.height, "catching up");
        for change in &path {
            self.apply_change(change, seeds)?;
        }
        Ok(())
    }

    /// Links what the rules want, unlinks what they no longer want, pins.
    /// `split` links big DAGs in parts (bootstrap: bounded memory).
    pub(super) async fn settle(
        &mut self,
        first: &dyn BlockSource,
        split: bool,
    ) -> Result<(), IngestError> {
        let shared = self.handle.shared.clone();
        let head = shared.window.lock().head().map(|h| h.height);
        if let Some(head) = head {
            let pending = self.pending_pin(head);
            shared.window.lock().set_pending_pin(Some(pending));
        }
        let plan = shared.window.lock().plan();
        let source = Layered {
            first,
            then: &self.rpc,
        };
        let mut result = Ok(());
        for chunk in plan.link.chunks(LINK_CHUNK) {
            let roots: Vec<(Cid, LinkKind)> = chunk
                .iter()
                .flat_map(|s| s.cids.iter().map(move |c| (*c, link_kind(s.kind))))
                .collect();
            let linked = if split {
                shared
                    .store
                    .link_in_parts(&roots, &source, SPLIT_FRONTIER)
                    .await
                    .map_err(IngestError::from)
            } else {
                shared
                    .store
                    .link_many(&roots, &source)
                    .await
                    .map_err(IngestError::from)
            };
            match linked {
                Ok(_) => {
                    shared.metrics.links.inc();
                    shared.window.lock().mark_linked(chunk);
                }
                Err(err) => {
                    result = Err(err);
                    break;
                }
            }
        }
        if result.is_ok() {
            // Before anything leaves the window: a scheduled epoch that just became
            // deep enough still has all of its roots held.
            self.schedule_pins();
            let mut unlinks = std::mem::take(&mut self.pending_unlinks);
            shared.window.lock().mark_unlinked(&plan.unlink);
            unlinks.extend(plan.unlink);
            let cids: Vec<Cid> = unlinks
                .iter()
                .flat_map(|s| s.cids.iter().copied())
                .collect();
            if !cids.is_empty() {
                shared.store.unlink_many(&cids).await?;
                shared.metrics.unlinks.inc();
            }
        }
        self.handle.refresh_gauges();
        result
    }

    /// The next scheduled epoch to pin: after the last pin, else the newest one
    /// already deep enough (or genesis).
    fn pending_pin(&self, head: i64) -> i64 {
        let cfg = &self.handle.shared.config;
        match self.handle.shared.pins.lock().last_epoch() {
            Some(last) => last + cfg.snapshot_interval,
            None => {
                let eligible = (head - cfg.confidence).max(0);
                eligible - eligible.rem_euclid(cfg.snapshot_interval)
            }
        }
    }

    /// Pins the pending scheduled epoch once it is `confidence` deep; its window
    /// was kept for it (see [`Window::set_pending_pin`](super::window::Window::set_pending_pin)).
    fn schedule_pins(&self) {
        let shared = &self.handle.shared;
        let cfg = &shared.config;
        let Some(head) = shared.window.lock().head().map(|h| h.height) else {
            return;
        };
        let epoch = self.pending_pin(head);
        if epoch > head - cfg.confidence {
            return;
        }
        let window = shared.window.lock();
        let mut pins = shared.pins.lock();
        let (entry, roots) = match window.snapshot_roots(epoch, cfg.depth, cfg.skip_old_msgs) {
            Ok(found) => found,
            Err(err) => {
                tracing::debug!(%err, epoch, "scheduled epoch not pinnable yet");
                return;
            }
        };
        match shared.store.pin(&roots) {
            Ok(guard) => {
                tracing::info!(epoch, height = entry.height, "pinned scheduled snapshot");
                pins.push(
                    Pin {
                        info: super::control::PinInfo {
                            epoch,
                            height: entry.height,
                            key: entry.key,
                            depth: cfg.depth,
                            skip_old_msgs: cfg.skip_old_msgs,
                        },
                        roots,
                        guard,
                    },
                    cfg.retain,
                );
            }
            Err(err) => tracing::error!(%err, epoch, "pinning a scheduled snapshot failed"),
        }
    }
}
