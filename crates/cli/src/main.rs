//! The `accord` binary: parses arguments, runs one command, maps errors to exit codes
//! (0 ok, 1 runtime error, 2 usage or configuration error).

mod cmd;
mod output;

/// mimalloc: ~45% faster imports than the system allocator, at lower peak memory (measured by the
/// import benchmark).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// accord links every record from every system to exactly one account, and explains what it cannot link.
#[derive(Debug, Parser)]
#[command(name = "accord", version, about, max_term_width = 100)]
struct Cli {
    /// The configuration file.
    #[arg(short, long, global = true, env = "ACCORD_CONFIG", default_value = "accord.toml")]
    config: PathBuf,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a company in the emulators of every supported system (CRM, support, chat, NPS, billing and accounting) and a Desk export; sync and serve it.
    Demo(cmd::demo::Args),
    /// Write a commented example accord.toml.
    Init(cmd::init::Args),
    /// Pull every source (System of Record first), link, and quarantine what does not link.
    Sync(cmd::sync::Args),
    /// List accounts.
    Accounts(cmd::accounts::ListArgs),
    /// One account: show it, deactivate it, restore it.
    #[command(subcommand)]
    Account(cmd::accounts::AccountCommand),
    /// The quarantine: list, explain and retry rejected records.
    #[command(subcommand)]
    Rejects(cmd::rejects::RejectsCommand),
    /// Check id hygiene per source and coverage against the System of Record.
    Doctor,
    /// Write account ids back where each system's best link rule reads them (a dry run unless --apply).
    Propagate(cmd::propagate::Args),
    /// Serve the web app, the Natero-compatible Account and Event APIs and accord's own API.
    Serve(cmd::serve::Args),
    /// The web app's users: add, list, remove, passwd.
    #[command(subcommand)]
    User(cmd::user::UserCommand),
    /// Apply the store's pending migrations (or list them with --status).
    Migrate(cmd::store::MigrateArgs),
    /// Copy a whole hub between stores (SQLite ↔ PostgreSQL), verifying row counts per table.
    Copy(cmd::store::CopyArgs),
}

/// An error that is the user's to fix in their command line or config: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let ctx = cmd::Ctx { config_path: cli.config.clone(), json: cli.json };
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(&ctx, args),
        Command::Init(args) => cmd::init::run(&ctx, args),
        Command::Sync(args) => cmd::sync::run(&ctx, args),
        Command::Accounts(args) => cmd::accounts::list(&ctx, args),
        Command::Account(c) => cmd::accounts::run(&ctx, c),
        Command::Rejects(c) => cmd::rejects::run(&ctx, c),
        Command::Doctor => cmd::doctor::run(&ctx),
        Command::Propagate(args) => cmd::propagate::run(&ctx, args),
        Command::Serve(args) => cmd::serve::run(&ctx, args),
        Command::User(c) => cmd::user::run(&ctx, c),
        Command::Migrate(args) => cmd::store::migrate(&ctx, args),
        Command::Copy(args) => cmd::store::copy(&ctx, args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if is_usage(&e) { ExitCode::from(2) } else { ExitCode::from(1) }
        }
    }
}

/// `accord ... | head` closes stdout early: stop quietly, as other command-line tools do, instead
/// of reporting a panic from `println!`.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn is_usage(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<UsageError>()
            || c.is::<accord_core::ConfigError>()
            || matches!(c.downcast_ref::<accord_engine::EngineError>(), Some(accord_engine::EngineError::Config(_)))
    })
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ACCORD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}
