//! Bootstrap of an empty window: from the node (headers prefetched by height,
//! then the spine linked from them) or from an `--import` file (spilled to disk
//! and indexed, not loaded). Either way the chain is then read back from the
//! store, applied to the window and settled with big DAGs linked in parts, so
//! memory stays near what the window holds.

use std::path::PathBuf;
use std::time::Instant;

use cid::Cid;

use super::blocks::Layered;
use super::entry::chain_from_store;
use super::ingest::{IngestError, Ingester};
use super::prefetch::prefetch_headers;
use super::spill::SpilledBlocks;
use crate::dag::{BlockSource, LinkKind};
use crate::lotus::json::TipSetJson;

impl Ingester {
    /// Links `head`'s headers temporarily (which pulls the whole header spine),
    /// reads the chain back from the store, applies it and settles.
    async fn bootstrap_chain(
        &mut self,
        head: Vec<Cid>,
        blocks: &dyn BlockSource,
    ) -> Result<(), IngestError> {
        let store = self.handle.shared.store.clone();
        let roots: Vec<_> = head.iter().map(|c| (*c, LinkKind::Spine)).collect();
        let source = Layered {
            first: blocks,
            then: &self.rpc,
        };
        let stats = store.link_many(&roots, &source).await?;
        tracing::info!(headers = stats.fetched, "header spine linked");
        let result = async {
            let chain = chain_from_store(&store, &head)?;
            {
                let mut window = self.handle.shared.window.lock();
                for entry in chain {
                    window.apply(entry)?;
                }
            }
            self.settle(blocks, true).await
        }
        .await;
        store.unlink_many(&head).await?;
        result
    }

    pub(super) async fn bootstrap_node(&mut self, target: TipSetJson) -> Result<(), IngestError> {
        tracing::info!(
            height = target.height,
            "bootstrapping the window from the node"
        );
        let started = Instant::now();
        let concurrency = self.handle.shared.config.fetch_concurrency;
        let prefetched = prefetch_headers(&*self.client()?, &target, concurrency).await?;
        tracing::info!(
            tipsets = prefetched.tipsets,
            headers = prefetched.headers.len(),
            secs = started.elapsed().as_secs_f64(),
            "headers prefetched by height"
        );
        self.bootstrap_chain(target.key(), &prefetched.headers)
            .await
    }

    pub(super) async fn bootstrap_import(&mut self, path: PathBuf) -> Result<(), IngestError> {
        tracing::info!(path = %path.display(), "importing snapshot");
        let dir = self.handle.shared.repo.root().to_path_buf();
        let started = Instant::now();
        let (blocks, summary) =
            tokio::task::spawn_blocking(move || SpilledBlocks::build(&path, &dir))
                .await
                .map_err(|e| IngestError::Task(e.to_string()))??;
        tracing::info!(
            blocks = summary.blocks,
            bytes = summary.bytes,
            secs = started.elapsed().as_secs_f64(),
            "snapshot read and spilled"
        );
        self.bootstrap_chain(summary.head.cids().to_vec(), &blocks)
            .await
    }
}
