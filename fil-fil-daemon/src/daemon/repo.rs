//! The repo directory (`--repo`, default `~/.fil-fil`): `config.toml`, the control
//! API `token` and `api` address files (Lotus-style, so every command finds the
//! daemon through the repo alone), checkpoints and written snapshots.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A repo path could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("repo {path}: {source}")]
pub struct RepoError {
    /// File or directory concerned.
    pub path: PathBuf,
    /// Cause.
    #[source]
    pub source: std::io::Error,
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> RepoError + '_ {
    move |source| RepoError {
        path: path.to_path_buf(),
        source,
    }
}

/// Layout of a repo directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// `$FIL_FIL_REPO`, else `~/.fil-fil`.
    pub fn default_path() -> PathBuf {
        if let Some(dir) = std::env::var_os("FIL_FIL_REPO") {
            return PathBuf::from(dir);
        }
        dirs::home_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".fil-fil")
    }

    /// A handle on `root`; nothing is created.
    pub fn at(root: impl Into<PathBuf>) -> Repo {
        Repo { root: root.into() }
    }

    /// Creates the directory tree (owner-only, like Lotus's repo).
    pub fn create(root: impl Into<PathBuf>) -> Result<Repo, RepoError> {
        let repo = Repo::at(root);
        for dir in [repo.root.clone(), repo.snapshots_dir()] {
            std::fs::create_dir_all(&dir).map_err(at(&dir))?;
        }
        restrict(&repo.root, 0o700)?;
        Ok(repo)
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// Bearer token of the control API.
    pub fn token_path(&self) -> PathBuf {
        self.root.join("token")
    }

    /// Base URL of the running daemon's control API.
    pub fn api_path(&self) -> PathBuf {
        self.root.join("api")
    }

    /// Names the current checkpoint directory (switched atomically by rename).
    pub fn checkpoint_pointer(&self) -> PathBuf {
        self.root.join("checkpoint")
    }

    /// Where the daemon writes snapshot files it takes on its own.
    pub fn snapshots_dir(&self) -> PathBuf {
        self.root.join("snapshots")
    }

    /// The existing token, or a new random one written (mode 0600).
    pub fn ensure_token(&self) -> Result<String, RepoError> {
        let path = self.token_path();
        match std::fs::read_to_string(&path) {
            Ok(token) if !token.trim().is_empty() => return Ok(token.trim().to_owned()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(at(&path)(e)),
        }
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| at(&path)(std::io::Error::other(e.to_string())))?;
        let token = hex::encode(bytes);
        write_atomic(&path, token.as_bytes(), 0o600)?;
        Ok(token)
    }

    /// The token, for clients.
    pub fn read_token(&self) -> Result<String, RepoError> {
        let path = self.token_path();
        std::fs::read_to_string(&path)
            .map(|t| t.trim().to_owned())
            .map_err(at(&path))
    }

    /// Records where the control API listens.
    pub fn write_api_addr(&self, addr: SocketAddr) -> Result<(), RepoError> {
        write_atomic(
            &self.api_path(),
            format!("http://{addr}\n").as_bytes(),
            0o600,
        )
    }

    /// The control API base URL of the running daemon.
    pub fn read_api_url(&self) -> Result<String, RepoError> {
        let path = self.api_path();
        std::fs::read_to_string(&path)
            .map(|t| t.trim().to_owned())
            .map_err(at(&path))
    }

    /// Removes the `api` file on shutdown so clients do not dial a dead daemon.
    pub fn clear_api_addr(&self) {
        let _ = std::fs::remove_file(self.api_path());
    }
}

/// Writes `data` to a temp file beside `path` and renames it into place.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), RepoError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(at(path))?;
    tmp.write_all(data).map_err(at(path))?;
    tmp.as_file().sync_all().map_err(at(path))?;
    restrict(tmp.path(), mode)?;
    tmp.persist(path).map_err(|e| at(path)(e.error))?;
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> Result<(), RepoError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(at(path))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> Result<(), RepoError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_stable_and_api_file_roundtrips() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::create(dir.path().join("r")).unwrap();
        let token = repo.ensure_token().unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(repo.ensure_token().unwrap(), token);
        assert_eq!(repo.read_token().unwrap(), token);
        repo.write_api_addr("127.0.0.1:4567".parse().unwrap())
            .unwrap();
        assert_eq!(repo.read_api_url().unwrap(), "http://127.0.0.1:4567");
        repo.clear_api_addr();
        assert!(repo.read_api_url().is_err());
    }
}
