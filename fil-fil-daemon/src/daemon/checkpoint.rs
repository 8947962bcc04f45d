//! Checkpoints: the DAG store plus the window log and pins that describe it,
//! written together into a fresh directory that a pointer file then names
//! (temp file + rename), so a crash mid-write leaves the previous checkpoint.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::pins::SavedPin;
use super::repo::{write_atomic, Repo, RepoError};
use super::window::Window;
use crate::dag::{CheckpointError as DagCheckpointError, DagConfig, DagStore, PinGuard};

/// A checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Filesystem.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The DAG part.
    #[error("DAG checkpoint: {0}")]
    Dag(Box<DagCheckpointError>),
    /// The window part.
    #[error("window checkpoint {path}: {reason}")]
    Window {
        /// File.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl From<DagCheckpointError> for CheckpointError {
    fn from(e: DagCheckpointError) -> Self {
        CheckpointError::Dag(Box::new(e))
    }
}

/// The non-DAG part of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowState {
    /// The apply/revert log.
    pub window: Window,
    /// Scheduled pins.
    pub pins: Vec<SavedPin>,
}

const DAG_FILE: &str = "dag.bin";
const WINDOW_FILE: &str = "window.json";

fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> RepoError + '_ {
    move |source| RepoError {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a checkpoint of `store` and `state` (the caller guarantees they match:
/// no ingestion runs meanwhile) and removes the previous one.
pub async fn save(
    repo: &Repo,
    store: &DagStore,
    state: &WindowState,
) -> Result<(), CheckpointError> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!("checkpoint-{stamp}");
    let dir = repo.root().join(&name);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let json = serde_json::to_vec(state).map_err(|e| CheckpointError::Window {
        path: dir.join(WINDOW_FILE),
        reason: e.to_string(),
    })?;
    write_atomic(&dir.join(WINDOW_FILE), &json, 0o600)?;
    store.save_checkpoint(&dir.join(DAG_FILE)).await?;
    let previous = current_dir(repo);
    write_atomic(&repo.checkpoint_pointer(), name.as_bytes(), 0o600)?;
    if let Some(old) = previous.filter(|old| *old != dir) {
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(())
}

fn current_dir(repo: &Repo) -> Option<PathBuf> {
    let name = std::fs::read_to_string(repo.checkpoint_pointer()).ok()?;
    let name = name.trim();
    (!name.is_empty() && !name.contains('/')).then(|| repo.root().join(name))
}

/// Loads the current checkpoint, if there is one.
#[allow(clippy::type_complexity)]
pub fn load(
    repo: &Repo,
    config: DagConfig,
) -> Result<Option<(DagStore, Vec<PinGuard>, WindowState)>, CheckpointError> {
    let Some(dir) = current_dir(repo) else {
        return Ok(None);
    };
    let path = dir.join(WINDOW_FILE);
    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
    let state: WindowState =
        serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Window {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let (store, guards) = DagStore::load_checkpoint(&dir.join(DAG_FILE), config)?;
    Ok(Some((store, guards, state)))
}
