//! What would fix a rejected record, in words: shared by `accord rejects explain`, the web app's
//! quarantine page and anything else that explains a rejection.

use accord_core::{Hint, RejectReason};
use accord_store::QuarantineEntry;

/// What would fix a rejection, in words.
pub fn fixes(e: &QuarantineEntry) -> Vec<String> {
    let r = &e.rejection;
    let obj = format!("sources.{} object {:?}", e.key.source, e.key.object);
    let mut out: Vec<String> = r
        .hints
        .iter()
        .filter_map(|h| match h {
            Hint::FloatSuffix { .. } => Some(format!(
                "the source stores the id as a decimal number: store it as text there, or add normalize = [\"integer_text\"] to {obj}"
            )),
            Hint::Whitespace { .. } => {
                Some(format!("remove the spaces around the id at the source, or add normalize = [\"trim\"] to {obj}"))
            }
            Hint::CaseOnly { .. } => Some(format!(
                "make the id's letter case match the System of Record, or add normalize = [\"lowercase\"] to {obj}"
            )),
            Hint::Candidates { .. } => None,
        })
        .collect();
    out.push(match r.reason {
        RejectReason::MissingKey => {
            "fill the link field at the source, or add a link rule that this record can satisfy".into()
        }
        RejectReason::InvalidAccountId => "account ids are text or whole numbers: fix the value at the source".into(),
        RejectReason::UnknownAccount => {
            "create the account in the System of Record (it links by itself then), or fix the key at the source".into()
        }
        RejectReason::Ambiguous => {
            "the key matches several accounts: link by a field that holds the account_id, or remove the duplicate"
                .into()
        }
        RejectReason::FilteredAccount => {
            "the account is excluded by system_of_record.filter: change the filter if it should be included".into()
        }
        RejectReason::DeletedAccount => {
            "the account is on the delete list: `accord account restore ID` brings it back".into()
        }
        RejectReason::MissingRequiredField | RejectReason::InvalidField => {
            "fix the field in the source, then run `accord sync` (or `accord rejects retry` after a mapping change)"
                .into()
        }
    });
    out
}
