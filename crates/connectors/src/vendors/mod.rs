//! One module per vendor. Each folder has the same files: `mod.rs` (settings, vendor rules and the
//! connector), `streams.rs` (the streams, as data); Salesforce adds `soql.rs`, and Capsule's `mod.rs` keeps
//! each party stream to its own party type. Conformance tests
//! against the sandbox live in `crates/connectors/tests/conformance`.

pub mod braintree;
pub mod capsule;
pub mod chargebee;
pub mod common;
pub mod delighted;
pub mod freshdesk;
pub mod intercom;
pub mod jira;
pub mod keap;
pub mod maxio;
pub mod recurly;
pub mod salesforce;
pub mod stripe;
pub mod xero;
pub mod zendesk;
pub mod zuora;
