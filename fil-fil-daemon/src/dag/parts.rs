//! Linking a huge DAG in parts, so memory stays near the payload. A single
//! [`DagStore::link_many`] stages every new block until its commit (that is what
//! makes it atomic), so bootstrapping a multi-GB state in one call holds the whole
//! payload twice plus the staging bookkeeping. Here the DAG's top levels are
//! walked (read, not stored) until a frontier of at least `frontier` not-yet-held
//! blocks is found; the frontier's subtrees are linked a slice at a time as roots
//! of their own, then the real roots (which now only add the top levels), then
//! the temporary roots are dropped, leaving exactly the counts one `link_many`
//! would. On failure every temporary root is dropped again.

use std::collections::HashSet;

use cid::Cid;

use super::edges::{push_edges, push_root};
use super::error::{LinkError, RefError};
use super::key::LinkKind;
use super::link::LinkStats;
use super::source::BlockSource;
use super::store::DagStore;
use crate::ipld::verify_block;

/// Frontier subtrees linked per `link_many` call.
const SLICES: usize = 64;
/// Levels walked at most looking for the frontier.
const MAX_DEPTH: usize = 12;

/// Why a split link failed.
#[derive(Debug, thiserror::Error)]
pub enum PartsError {
    /// A part (or the final link) failed; temporary roots were dropped.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// Dropping the temporary roots failed (a bookkeeping bug).
    #[error(transparent)]
    Unlink(#[from] RefError),
}

impl DagStore {
    /// Like [`DagStore::link_many`], but in parts whose staging holds about
    /// 1/64 of the new payload each once the DAG has `frontier` or more new
    /// blocks at some level. Not atomic as a whole: a failure leaves the store as
    /// before, but other links may observe the parts meanwhile.
    pub async fn link_in_parts(
        &self,
        roots: &[(Cid, LinkKind)],
        source: &dyn BlockSource,
        frontier: usize,
    ) -> Result<LinkStats, PartsError> {
        let found = self.find_frontier(roots, source, frontier).await?;
        let mut linked: Vec<Cid> = Vec::new();
        let mut total = LinkStats::default();
        let slice = found.len().div_ceil(SLICES).max(1);
        let mut result = Ok(());
        for part in found.chunks(slice) {
            let part_roots: Vec<_> = part.iter().map(|c| (*c, LinkKind::Dag)).collect();
            match self.link_many(&part_roots, source).await {
                Ok(stats) => {
                    add(&mut total, stats);
                    linked.extend_from_slice(part);
                }
                Err(err) => {
                    result = Err(err);
                    break;
                }
            }
        }
        if result.is_ok() {
            match self.link_many(roots, source).await {
                Ok(stats) => add(&mut total, stats),
                Err(err) => result = Err(err),
            }
        }
        self.unlink_many(&linked).await?;
        result?;
        // The temporary roots' own references are not reuse.
        total.reused = total.reused.saturating_sub(linked.len() as u64);
        Ok(total)
    }

    /// The first level below `roots` with at least `target` distinct blocks not
    /// held yet, in walk order; empty if the DAG is smaller than that.
    async fn find_frontier(
        &self,
        roots: &[(Cid, LinkKind)],
        source: &dyn BlockSource,
        target: usize,
    ) -> Result<Vec<Cid>, LinkError> {
        let spine = self.config().spine.as_deref();
        let mut level = Vec::new();
        for (cid, kind) in roots.iter().filter(|(_, k)| *k == LinkKind::Dag) {
            push_root(cid, *kind, &mut level)
                .map_err(|source| LinkError::Edges { cid: *cid, source })?;
        }
        let mut seen = HashSet::new();
        let mut edges = Vec::new();
        for _ in 0..MAX_DEPTH {
            level.retain(|(cid, _)| !self.has(cid) && seen.insert(*cid));
            if level.len() >= target {
                return Ok(level.into_iter().map(|(c, _)| c).collect());
            }
            if level.is_empty() {
                break;
            }
            let mut next = Vec::new();
            let batch = self.config().batch_size.max(1);
            for chunk in level.chunks(batch) {
                let cids: Vec<Cid> = chunk.iter().map(|(c, _)| *c).collect();
                let blocks = source
                    .get_many(&cids)
                    .await
                    .map_err(|source| LinkError::Source {
                        cid: cids[0],
                        batch: cids.len(),
                        source,
                    })?;
                for ((cid, kind), data) in chunk.iter().zip(blocks) {
                    let data = data.ok_or(LinkError::Missing { cid: *cid })?;
                    verify_block(cid, &data)
                        .map_err(|source| LinkError::Verify { cid: *cid, source })?;
                    edges.clear();
                    push_edges(cid, *kind, &data, spine, &mut edges)
                        .map_err(|source| LinkError::Edges { cid: *cid, source })?;
                    next.extend(edges.drain(..).filter(|(_, k)| *k == LinkKind::Dag));
                }
            }
            level = next;
        }
        Ok(Vec::new())
    }
}

fn add(total: &mut LinkStats, stats: LinkStats) {
    total.fetched += stats.fetched;
    total.fetched_bytes += stats.fetched_bytes;
    total.reused += stats.reused;
}
