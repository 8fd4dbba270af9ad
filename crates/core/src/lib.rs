//! accord's vocabulary, shared by every other crate: account ids, field paths, typed records, link
//! rules, rejection reasons and hints, the SOR filter language and the configuration model.
//!
//! Nothing here does I/O except reading the config file and secrets.

pub mod config;
pub mod filter;
pub mod id;
pub mod money;
pub mod path;
pub mod reason;
pub mod record;
pub mod rule;
pub mod schedule;
pub mod secret;
pub mod time;
pub mod xml;

pub use config::{Config, ConfigError};
pub use id::{AccountId, InvalidAccountId, Normalizer};
pub use money::{Currency, Money, MoneyError};
pub use path::FieldPath;
pub use reason::{Hint, KeySpace, Provenance, RejectReason, Rejection, TriedKey};
pub use record::{FieldMapping, FieldValue, ObjectKind, TypedRecord};
pub use rule::{IdMapRef, LinkRule, RuleKind};
pub use schedule::Schedule;
pub use time::Timestamp;
