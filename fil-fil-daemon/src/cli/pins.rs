//! `fil-fil pins`: list or release the daemon's scheduled-snapshot pins.

use clap::{Args, Subcommand};

use super::repo_args::RepoArgs;
use super::take_snapshot::head_key;

/// List or release scheduled-snapshot pins.
#[derive(Debug, Args)]
pub struct PinsArgs {
    #[command(flatten)]
    repo: RepoArgs,
    #[command(subcommand)]
    action: Option<PinsAction>,
}

#[derive(Debug, Subcommand)]
enum PinsAction {
    /// List pins (the default).
    List,
    /// Release the pin of a scheduled epoch.
    Delete {
        /// The scheduled epoch.
        epoch: i64,
    },
}

/// Runs the command.
pub async fn run(args: PinsArgs) -> anyhow::Result<()> {
    let client = args.repo.client()?;
    match args.action.unwrap_or(PinsAction::List) {
        PinsAction::List => {
            for pin in client.pins().await? {
                println!(
                    "{}\theight {}\tdepth {}\tskip-old-msgs {}\t{}",
                    pin.epoch,
                    pin.height,
                    pin.depth,
                    pin.skip_old_msgs,
                    head_key(&pin.key)
                );
            }
        }
        PinsAction::Delete { epoch } => {
            client.delete_pin(epoch).await?;
            println!("released pin {epoch}");
        }
    }
    Ok(())
}
