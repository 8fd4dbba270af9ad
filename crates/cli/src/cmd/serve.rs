//! `accord serve`: the Natero-compatible APIs and accord's own, until Ctrl-C or SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use super::Ctx;
use crate::UsageError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (default: server.listen from the config).
    #[arg(long)]
    listen: Option<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let hub = Arc::new(ctx.hub()?);
    let config = hub.config.clone();
    let state = accord_server::state_from_config(hub, &config).map_err(|e| UsageError(e.to_string()))?;
    let listen = args.listen.unwrap_or_else(|| config.raw.server.listen.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if !ctx.json {
        eprintln!("accord serve: listening on http://{listen} (Ctrl-C to stop); web app at http://{listen}/signin");
        if !config.schedules.is_empty() {
            let each: Vec<String> = config.schedules.iter().map(|(s, sch)| format!("{s} ({sch})")).collect();
            eprintln!("accord serve: syncing on schedule: {}", each.join(", "));
        }
    }
    runtime
        .block_on(accord_server::serve(state, &listen, config.raw.server.event_retention_days))
        .context("accord serve stopped with an error")?;
    Ok(ExitCode::SUCCESS)
}
