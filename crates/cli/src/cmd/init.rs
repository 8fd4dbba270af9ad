//! `accord init`: writes a commented example configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Ctx;
use crate::UsageError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write (default: the --config path).
    path: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

/// The example configuration `accord init` writes. It is valid as written.
pub const EXAMPLE: &str = include_str!("init_example.toml");

pub fn run(ctx: &Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let path = args.path.unwrap_or_else(|| ctx.config_path.clone());
    if path.exists() && !args.force {
        return Err(UsageError(format!("{} exists; pass --force to overwrite it", path.display())).into());
    }
    std::fs::write(&path, EXAMPLE).with_context(|| format!("cannot write {}", path.display()))?;
    if ctx.json {
        super::print_json(&serde_json::json!({ "written": path }))?;
    } else {
        println!("wrote {}: edit the sources and the system_of_record, then run `accord sync`", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_config_is_valid() {
        let c = accord_core::Config::from_toml(super::EXAMPLE, std::path::Path::new(".")).unwrap();
        accord_engine::Plan::build(&c).unwrap();
    }
}
