//! `fil-fil status`: what the running daemon follows and holds.

use clap::Args;

use super::repo_args::RepoArgs;
use super::take_snapshot::head_key;

/// Show the running daemon's head, node lag, window, memory and pins.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    repo: RepoArgs,
    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command.
pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let status = args.repo.client()?.status().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    let opt = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    println!(
        "node:       {} ({})",
        status.node,
        if status.connected {
            "connected"
        } else {
            "disconnected"
        }
    );
    println!(
        "head:       {} {}",
        opt(status.head_height),
        head_key(&status.head)
    );
    println!("node head:  {}", opt(status.node_height));
    println!(
        "window:     depth {} from {}, skip-old-msgs {}",
        status.depth,
        opt(status.window_start),
        status.skip_old_msgs
    );
    println!(
        "held:       {} objects, {} bytes",
        status.objects, status.bytes
    );
    println!(
        "schedule:   every {} epochs, pinned {} deep",
        status.snapshot_interval, status.confidence
    );
    for pin in &status.pins {
        println!(
            "pin:        epoch {} (tipset {}, depth {})",
            pin.epoch, pin.height, pin.depth
        );
    }
    if let Some(err) = status.last_error {
        println!("last error: {err}");
    }
    Ok(())
}
