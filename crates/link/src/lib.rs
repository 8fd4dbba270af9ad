//! Linking: the lookup tables (`LinkIndex`), the pure linker (`LinkSpec::link`) and the doctor's
//! id-hygiene analyses. No I/O anywhere in this crate.

pub mod doctor;
pub mod index;
pub mod linker;

pub use index::{AccountEntry, AccountState, LinkIndex, RecordLink, domain_of};
pub use linker::lower_trimmed;
pub use linker::{LinkOutcome, LinkSpec, Linked, near_misses};

#[cfg(test)]
mod tests;
