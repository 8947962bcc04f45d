//! `fil-fil daemon`: follow a Lotus node (or the embedded devnet), keep the
//! snapshot window in memory, serve the control API until Ctrl-C / SIGTERM, then
//! checkpoint and exit.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::repo_args::RepoArgs;
use super::snapshot_sink::write_stream;
use super::take_snapshot::head_key;
use crate::api::Service;
use crate::daemon::control::{Control, SnapshotRequest};
use crate::daemon::{DaemonHandle, Settings};
use crate::devnet::{Devnet, DevnetConfig};
use crate::lotus::ApiInfo;

/// Epochs the embedded devnet builds before the daemon starts following it.
const DEVNET_PREFILL: u64 = 30;
/// Block time of the embedded devnet.
const DEVNET_BLOCK_TIME: Duration = Duration::from_secs(1);

/// Follow a Lotus node and keep the snapshot window in memory.
///
/// The node is found as Lotus tools find it (`FULLNODE_API_INFO`, or
/// `--lotus-url`/`--lotus-token`); `--devnet` runs a built-in devnet instead. Every
/// flag also has a key of the same name in `<repo>/config.toml` (precedence: flag,
/// environment, file, default). The control API (token in `<repo>/token`, address in
/// `<repo>/api`) serves `status`, `take-snapshot` and `pins`. With `--devnet` the
/// daemon writes a first snapshot into `<repo>/snapshots/` once its window is
/// populated and prints where it is.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    #[command(flatten)]
    repo: RepoArgs,
    #[command(flatten)]
    settings: Settings,
    /// Stop after the first snapshot is written (scripted runs of `--devnet`).
    #[arg(long)]
    exit_after_snapshot: bool,
}

/// Runs the command.
pub async fn run(args: DaemonArgs) -> anyhow::Result<()> {
    let repo = crate::daemon::Repo::create(args.repo.repo().root())?;
    let file = Settings::from_file(&repo.config_path())?;
    let mut config = args.settings.over(file).resolve()?;
    let devnet = if config.devnet {
        let devnet = Devnet::start(DevnetConfig {
            block_time: Some(DEVNET_BLOCK_TIME),
            prefill_epochs: DEVNET_PREFILL,
            ..DevnetConfig::default()
        })
        .await
        .context("starting the embedded devnet")?;
        eprintln!("devnet: serving the Lotus API at {}", devnet.ws_url());
        config.node = Some(ApiInfo::from_url(&devnet.ws_url(), None)?);
        Some(devnet)
    } else {
        None
    };
    let service = Service::start(config, repo.clone()).await?;
    eprintln!(
        "daemon: repo {}, control API http://{}",
        repo.root().display(),
        service.api_addr()
    );
    let handle = service.handle();
    let first_snapshot = devnet.is_some().then(|| {
        let handle = handle.clone();
        let dir = repo.snapshots_dir();
        let keep_following = !args.exit_after_snapshot;
        tokio::spawn(async move { first_snapshot(handle, dir, keep_following).await })
    });
    let exit_early = args.exit_after_snapshot && first_snapshot.is_some();
    let outcome = tokio::select! {
        _ = shutdown_signal() => Ok(()),
        done = async { match first_snapshot { Some(task) => task.await, None => std::future::pending().await } } => {
            match done {
                Ok(Ok(())) if exit_early => Ok(()),
                Ok(Ok(())) => { shutdown_signal().await; Ok(()) }
                Ok(Err(e)) => Err(e),
                Err(e) => Err(anyhow::anyhow!("snapshot task failed: {e}")),
            }
        }
    };
    eprintln!("daemon: stopping (writing a checkpoint)");
    service.shutdown().await;
    if let Some(devnet) = devnet {
        devnet.shutdown().await;
    }
    outcome
}

/// Waits for the window, then writes a snapshot of the head into `dir`.
async fn first_snapshot(
    handle: DaemonHandle,
    dir: PathBuf,
    keep_following: bool,
) -> anyhow::Result<()> {
    handle.wait_for_height(0).await;
    let stream = handle
        .snapshot(SnapshotRequest::default())
        .await
        .context("taking the first snapshot")?;
    let path = dir.join(format!("snapshot-{}.car", stream.head.height));
    let body = futures::stream::unfold(stream.body, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let written = write_stream(Box::pin(body), &path, false).await?;
    println!("snapshot written");
    println!("  file:   {}", path.display());
    println!(
        "  head:   {} (height {})",
        head_key(&stream.head.key),
        stream.head.height
    );
    println!("  size:   {} bytes", written.size);
    println!("  sha256: {}", written.sha256);
    if keep_following {
        println!("following the chain; Ctrl-C to stop");
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
