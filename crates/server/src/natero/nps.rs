//! NPS answers synced from survey tools (Delighted's survey responses, or any `nps_response`
//! object) as Natero's account fields: each linked, live answer is an entry of the account's
//! `nps_history` (`nps_score`, `date` in epoch ms, `username` the respondent's email,
//! `survey_name` the source and object, `comments`), merged with the entries the Account API
//! wrote, oldest first; and `current_nps_score` is the score of the latest synced answer (the
//! value the Account API wrote stays when the account has none). Synced entries carry
//! [`shape::ORIGIN`](super::shape::ORIGIN), the record they come from; they change only by
//! syncing, so `DELETE .../nps_history/{timestamp}` removes API-written entries only.

use accord_core::{FieldValue, ObjectKind};
use accord_store::{RecordQuery, RecordRow, Store};
use serde_json::{Map, Value, json};

use super::shape::ORIGIN;

/// The most answers served per account.
const MAX_ANSWERS: u32 = 10_000;

/// The live NPS answers linked to each account, oldest first, in the order of `account_ids`.
pub fn answers(store: &dyn Store, account_ids: &[String]) -> accord_store::Result<Vec<Vec<RecordRow>>> {
    account_ids
        .iter()
        .map(|id| {
            let query = RecordQuery {
                account_id: Some(id.clone()),
                order_by: Some("responded_at".into()),
                ..RecordQuery::default()
            };
            store.records(ObjectKind::NpsResponse, &query, 0, MAX_ANSWERS).map(|p| p.items)
        })
        .collect()
}

/// The answer's date in epoch ms: when it was given, else when accord first saw it.
fn date_ms(r: &RecordRow) -> i64 {
    match r.field("responded_at") {
        FieldValue::Time(t) => t.timestamp_millis(),
        _ => r.first_seen.timestamp_millis(),
    }
}

/// One answer as a Natero `nps_history` entry, or `None` without a score.
pub fn entry(r: &RecordRow) -> Option<Value> {
    let FieldValue::Int(score) = r.field("score") else { return None };
    let text = |name: &str| match r.field(name) {
        FieldValue::Text(s) => json!(s),
        _ => Value::Null,
    };
    Some(json!({
        "nps_score": score,
        "date": date_ms(r),
        "username": text("email"),
        "survey_name": format!("{}/{}", r.key.source, r.key.object),
        "comments": text("comment"),
        ORIGIN: r.key.to_string(),
    }))
}

/// An API-written entry's `date`, read as its entry key is.
fn entry_date(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(super::nested::path_timestamp))
}

/// Adds an account's synced answers to its JSON: into `nps_history` when the field is present
/// (the caller asked for it), and as `current_nps_score`.
pub fn apply(out: &mut Map<String, Value>, answers: &[RecordRow]) {
    let mut synced: Vec<(i64, Value)> = answers.iter().filter_map(|r| Some((date_ms(r), entry(r)?))).collect();
    synced.sort_by_key(|(d, _)| *d);
    if let Some((_, latest)) = synced.last() {
        out.insert("current_nps_score".into(), latest["nps_score"].clone());
    }
    if let Some(Value::Array(history)) = out.get_mut("nps_history") {
        let mut merged: Vec<(i64, Value)> =
            history.drain(..).map(|e| (e.get("date").and_then(entry_date).unwrap_or(0), e)).chain(synced).collect();
        // Stable: entries of one instant keep API-written first.
        merged.sort_by_key(|(d, _)| *d);
        history.extend(merged.into_iter().map(|(_, e)| e));
    }
}
