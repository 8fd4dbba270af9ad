//! The one list of source kinds. Adding a system means adding a line here.

use accord_core::config::SourceConfig;
use accord_core::{Config, ConfigError};

use crate::Connector;
use crate::file::FileConnector;
use crate::vendors::{
    braintree, capsule, chargebee, delighted, freshdesk, intercom, jira, keap, maxio, recurly, salesforce, stripe,
    xero, zendesk, zuora,
};

/// Every source kind accord knows.
pub const KINDS: &[&str] = &[
    "file",
    "salesforce",
    "zendesk",
    "intercom",
    "delighted",
    "desk",
    "freshdesk",
    "capsule",
    "jira",
    "keap",
    "stripe",
    "recurly",
    "maxio",
    "chargify",
    "chargebee",
    "zuora",
    "xero",
    "braintree",
    "http",
];

/// Builds the connector of a configured source.
pub fn open_source(name: &str, source: &SourceConfig, config: &Config) -> Result<Box<dyn Connector>, ConfigError> {
    let base = &config.base_dir;
    Ok(match source.kind.as_str() {
        "file" => Box::new(FileConnector::new(name, source, base)?),
        "salesforce" => Box::new(salesforce::connector(name, source, config, base)?),
        "zendesk" => Box::new(zendesk::connector(name, source, config, base)?),
        "intercom" => Box::new(intercom::connector(name, source, config, base)?),
        "delighted" => Box::new(delighted::connector(name, source, config, base)?),
        "desk" => Box::new(crate::file::desk::connector(name, source, base)?),
        "freshdesk" => Box::new(freshdesk::connector(name, source, config, base)?),
        "capsule" => Box::new(capsule::connector(name, source, config, base)?),
        "jira" => Box::new(jira::connector(name, source, config, base)?),
        "keap" => Box::new(keap::connector(name, source, config, base)?),
        "http" => Box::new(crate::http::source::connector(name, source, config, base)?),
        "stripe" => Box::new(stripe::connector(name, source, config, base)?),
        "recurly" => Box::new(recurly::connector(name, source, config, base)?),
        // Maxio Advanced Billing was Chargify: both names are the same API.
        "maxio" | "chargify" => Box::new(maxio::connector(name, source, config, base)?),
        "chargebee" => Box::new(chargebee::connector(name, source, config, base)?),
        "zuora" => Box::new(zuora::connector(name, source, config, base)?),
        "xero" => Box::new(xero::connector(name, source, config, base)?),
        "braintree" => Box::new(braintree::connector(name, source, config, base)?),
        other => {
            return Err(ConfigError::new(
                format!("sources.{name}.kind"),
                format!("unknown source kind {other:?}; known kinds: {}", KINDS.join(", ")),
            ));
        }
    })
}
