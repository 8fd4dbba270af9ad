//! One module per command.

pub mod accounts;
pub mod demo;
pub mod doctor;
pub mod init;
pub mod propagate;
pub mod rejects;
pub mod serve;
pub mod store;
pub mod sync;
pub mod user;

use std::path::PathBuf;

use accord_core::Config;
use accord_engine::Hub;
use anyhow::Context as _;

/// What every command gets.
#[derive(Debug)]
pub struct Ctx {
    pub config_path: PathBuf,
    pub json: bool,
}

impl Ctx {
    pub fn config(&self) -> anyhow::Result<Config> {
        Ok(Config::load(&self.config_path)?)
    }

    /// Opens the hub of the config: store migrated, index loaded.
    pub fn hub(&self) -> anyhow::Result<Hub> {
        let config = self.config()?;
        let url = config.store_url();
        Hub::open(config).with_context(|| format!("cannot open the hub (store {})", redact_url(&url)))
    }
}

/// A store URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_print() {
        assert_eq!(super::redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact_url("sqlite://a.db"), "sqlite://a.db");
    }
}
