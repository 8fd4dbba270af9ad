//! The one list of source kinds. Adding a system means adding a line here.

use std::path::Path;

use accord_core::ConfigError;
use accord_core::config::SourceConfig;

use crate::Connector;
use crate::file::FileConnector;

/// Every source kind accord knows.
pub const KINDS: &[&str] = &["file"];

/// Builds the connector of a configured source.
pub fn open_source(name: &str, config: &SourceConfig, base_dir: &Path) -> Result<Box<dyn Connector>, ConfigError> {
    match config.kind.as_str() {
        "file" => Ok(Box::new(FileConnector::new(name, config, base_dir)?)),
        other => Err(ConfigError::new(
            format!("sources.{name}.kind"),
            format!("unknown source kind {other:?}; known kinds: {}", KINDS.join(", ")),
        )),
    }
}
