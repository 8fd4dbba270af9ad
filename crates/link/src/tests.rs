//! Every link rule, every rejection reason and every hint.

use std::sync::Arc;

use accord_core::{AccountId, Hint, IdMapRef, KeySpace, LinkRule, Normalizer, RejectReason, RuleKind, TriedKey};
use serde_json::{Value, json};

use crate::index::{AccountEntry, AccountState, LinkIndex, RecordLink};
use crate::linker::LinkSpec;

fn id(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

fn rules(json: Value) -> Vec<LinkRule> {
    serde_json::from_value(json).unwrap()
}

fn spec(json: Value) -> LinkSpec {
    LinkSpec::new("support", rules(json), vec![])
}

/// A small hub: accounts 1042, 1043, Acme, acme (a case collision), 9 (deleted), and 77 filtered.
fn hub() -> LinkIndex {
    let mut ix = LinkIndex::new();
    let mut a = AccountEntry::active("1042");
    a.crm_account_id = Some("001A".into());
    a.support_account_id = Some("SUP-1".into());
    a.website = Some("https://www.acme.io".into());
    ix.upsert_account(a);
    ix.upsert_account(AccountEntry::active("1043"));
    ix.upsert_account(AccountEntry::active("Acme"));
    ix.upsert_account(AccountEntry::active("acme"));
    ix.upsert_account(AccountEntry::active("9"));
    ix.set_account_state("9", AccountState::Deleted);
    let mut filtered = AccountEntry::active("77");
    filtered.crm_account_id = Some("001F".into());
    ix.set_filtered(filtered, "sf-77");
    let email = |e: &str| Some(Arc::<str>::from(e));
    ix.upsert_link(
        "support/orgs",
        "org-1",
        RecordLink { account_id: id("1042"), email: None, is_user: false, organization: None },
    );
    ix.upsert_link(
        "product/users",
        "u-1",
        RecordLink { account_id: id("1043"), email: email("ann@acme.io"), is_user: true, organization: None },
    );
    ix.upsert_link(
        "crm/contacts",
        "c-1",
        RecordLink { account_id: id("1042"), email: email("shared@corp.com"), is_user: false, organization: None },
    );
    ix.upsert_link(
        "crm/contacts",
        "c-2",
        RecordLink { account_id: id("1043"), email: email("shared@corp.com"), is_user: false, organization: None },
    );
    ix.upsert_link(
        "crm/contacts",
        "c-9",
        RecordLink { account_id: id("9"), email: email("gone@old.com"), is_user: false, organization: None },
    );
    ix.add_domain("beta.dev", &id("1043"));
    ix
}

fn linked(spec: &LinkSpec, record: Value) -> (String, RuleKind, String) {
    let l = spec.link(&hub(), &record).unwrap_or_else(|r| panic!("expected a link, got {r:?}"));
    (l.account_id.to_string(), l.provenance.rule, l.provenance.key)
}

fn rejected(spec: &LinkSpec, record: Value) -> accord_core::Rejection {
    match spec.link(&hub(), &record) {
        Ok(l) => panic!("expected a rejection, got {l:?}"),
        Err(r) => r,
    }
}

#[test]
fn field_rule_links_exact_ids_only() {
    let s = spec(json!([{"rule": "field", "field": "external_id"}]));
    assert_eq!(linked(&s, json!({"external_id": "1042"})), ("1042".into(), RuleKind::Field, "1042".into()));
    assert_eq!(linked(&s, json!({"external_id": 1042})).0, "1042");
    assert_eq!(linked(&s, json!({"external_id": 1042.0})).0, "1042");
    assert_eq!(linked(&s, json!({"external_id": "Acme"})).0, "Acme");
    assert_eq!(linked(&s, json!({"external_id": "acme"})).0, "acme");
}

#[test]
fn native_id_rule_uses_maps_and_account_fields() {
    let s = spec(json!([{"rule": "native_id", "field": "org", "map": "support/orgs"}]));
    assert_eq!(linked(&s, json!({"org": "org-1"})), ("1042".into(), RuleKind::NativeId, "org-1".into()));
    let r = rejected(&s, json!({"org": "org-2"}));
    assert_eq!(r.reason, RejectReason::UnknownAccount);
    assert_eq!(r.tried[0].space, KeySpace::Map("support/orgs".into()));
    let s = spec(json!([{"rule": "native_id", "field": "AccountId", "map": "crm_account_id"}]));
    assert_eq!(linked(&s, json!({"AccountId": "001A"})).0, "1042");
}

#[test]
fn parent_rule_follows_the_same_source() {
    let s = spec(json!([{"rule": "parent", "field": "organization_id", "object": "orgs"}]));
    assert_eq!(linked(&s, json!({"organization_id": "org-1"})), ("1042".into(), RuleKind::Parent, "org-1".into()));
}

#[test]
fn children_rule_takes_the_account_its_contacts_agree_on_and_never_picks_one() {
    let mut ix = hub();
    let contact = |account: &str, org: &str| RecordLink {
        account_id: id(account),
        email: None,
        is_user: false,
        organization: Some(Arc::from(org)),
    };
    let s = spec(json!([{"rule": "children", "field": "id", "object": "contacts"}]));
    let company = |org: &str| json!({"id": org});
    // Two contacts naming co-1 agree on 1042.
    ix.upsert_link("support/contacts", "c-1", contact("1042", "co-1"));
    let changed = ix.upsert_link("support/contacts", "c-2", contact("1042", "co-1"));
    assert!(changed.contains(&TriedKey { space: KeySpace::Children("support/contacts".into()), key: "co-1".into() }));
    let l = s.link(&ix, &company("co-1")).unwrap();
    assert_eq!((l.account_id.as_str(), l.provenance.rule), ("1042", RuleKind::Children));
    assert!(
        l.depends_on.contains(&TriedKey { space: KeySpace::Children("support/contacts".into()), key: "co-1".into() })
    );
    // A third names another account: ambiguous, with both candidates.
    ix.upsert_link("support/contacts", "c-3", contact("1043", "co-1"));
    let r = s.link(&ix, &company("co-1")).unwrap_err();
    assert_eq!(r.reason, RejectReason::Ambiguous);
    assert_eq!(r.hints, vec![Hint::Candidates { account_ids: vec![id("1042"), id("1043")] }]);
    // It moves to 1042: they agree again, and the stale candidate is gone.
    ix.upsert_link("support/contacts", "c-3", contact("1042", "co-1"));
    assert_eq!(s.link(&ix, &company("co-1")).unwrap().account_id.as_str(), "1042");
    // Contacts of the deleted account only: the company points at it.
    ix.upsert_link("support/contacts", "c-4", contact("9", "co-2"));
    assert_eq!(s.link(&ix, &company("co-2")).unwrap_err().reason, RejectReason::DeletedAccount);
    // No contact names it; and one whose contacts are all removed.
    assert_eq!(s.link(&ix, &company("co-3")).unwrap_err().reason, RejectReason::UnknownAccount);
    for c in ["c-1", "c-2", "c-3"] {
        ix.remove_link("support/contacts", c);
    }
    let r = s.link(&ix, &company("co-1")).unwrap_err();
    assert_eq!(r.reason, RejectReason::UnknownAccount);
    assert_eq!(r.tried, vec![TriedKey { space: KeySpace::Children("support/contacts".into()), key: "co-1".into() }]);
}

#[test]
fn email_rule_is_case_insensitive_and_refuses_ambiguity() {
    let s = spec(json!([{"rule": "email", "field": "email"}]));
    assert_eq!(linked(&s, json!({"email": "Ann@ACME.io"})).0, "1043");
    let r = rejected(&s, json!({"email": "shared@corp.com"}));
    assert_eq!(r.reason, RejectReason::Ambiguous);
    assert_eq!(r.hints, vec![Hint::Candidates { account_ids: vec![id("1042"), id("1043")] }]);
    assert!(r.message.contains("matches 2 accounts"), "{}", r.message);
    assert_eq!(rejected(&s, json!({"email": "nobody@corp.com"})).reason, RejectReason::UnknownAccount);
    assert_eq!(rejected(&s, json!({"email": "not an email"})).reason, RejectReason::InvalidField);
}

#[test]
fn domain_rule_uses_websites_and_explicit_entries() {
    let s = spec(json!([{"rule": "domain", "field": "email"}]));
    assert_eq!(linked(&s, json!({"email": "zed@acme.io"})), ("1042".into(), RuleKind::Domain, "zed@acme.io".into()));
    assert_eq!(linked(&s, json!({"email": "x@Beta.dev"})).0, "1043");
    assert_eq!(rejected(&s, json!({"email": "x@gmail.com"})).reason, RejectReason::InvalidField);
    assert_eq!(rejected(&s, json!({"email": "x@unknown.org"})).reason, RejectReason::UnknownAccount);
}

#[test]
fn domain_rule_over_a_list_tries_every_entry() {
    let s = spec(json!([{"rule": "domain", "field": "domain_names"}]));
    // The second entry maps; the free-mail one is skipped.
    let (account, rule, key) = linked(&s, json!({"domain_names": ["gmail.com", "acme.io"]}));
    assert_eq!((account.as_str(), rule, key.as_str()), ("1042", RuleKind::Domain, "acme.io"));
    // Two entries mapping to two accounts: ambiguous, with both candidates, never a pick.
    let r = rejected(&s, json!({"domain_names": ["acme.io", "beta.dev"]}));
    assert_eq!(r.reason, RejectReason::Ambiguous);
    assert!(r.hints.contains(&Hint::Candidates { account_ids: vec![id("1042"), id("1043")] }), "{:?}", r.hints);
    // Every entry is a tried key, so a new mapping for any of them re-links the record.
    let r = rejected(&s, json!({"domain_names": ["one.org", "two.org"]}));
    assert_eq!(r.reason, RejectReason::UnknownAccount);
    let tried: Vec<&str> = r.tried.iter().filter(|t| t.space == KeySpace::Domain).map(|t| t.key.as_str()).collect();
    assert_eq!(tried, ["one.org", "two.org"]);
    assert_eq!(rejected(&s, json!({"domain_names": ["gmail.com"]})).reason, RejectReason::InvalidField);
    assert_eq!(rejected(&s, json!({"domain_names": []})).reason, RejectReason::MissingKey);
}

#[test]
fn support_id_and_user_map_rules() {
    let s = spec(json!([{"rule": "support_id", "field": "id"}]));
    assert_eq!(linked(&s, json!({"id": "SUP-1"})), ("1042".into(), RuleKind::SupportId, "SUP-1".into()));
    let s = spec(json!([{"rule": "user_map", "field": "user_id"}]));
    assert_eq!(linked(&s, json!({"user_id": "u-1"})), ("1043".into(), RuleKind::UserMap, "u-1".into()));
    let r = rejected(&s, json!({"user_id": "u-404"}));
    assert_eq!(r.reason, RejectReason::UnknownAccount);
    assert_eq!(r.tried[0].space, KeySpace::User);
}

#[test]
fn first_resolving_rule_wins_and_is_recorded() {
    let s = spec(json!([
        {"rule": "field", "field": "external_id"},
        {"rule": "email", "field": "email"}
    ]));
    let l = s.link(&hub(), &json!({"external_id": "404", "email": "ann@acme.io"})).unwrap();
    assert_eq!((l.account_id.as_str(), l.provenance.rule, l.provenance.rule_index), ("1043", RuleKind::Email, 1));
    let l = s.link(&hub(), &json!({"external_id": "1042", "email": "ann@acme.io"})).unwrap();
    assert_eq!((l.account_id.as_str(), l.provenance.rule_index), ("1042", 0));
}

#[test]
fn missing_key_names_the_fields_tried() {
    let s = spec(json!([{"rule": "field", "field": "external_id"}, {"rule": "email", "field": "email"}]));
    let r = rejected(&s, json!({"name": "x", "external_id": ""}));
    assert_eq!(r.reason, RejectReason::MissingKey);
    assert_eq!(r.message, "no link key in the record: tried external_id, email");
    assert!(r.tried.is_empty());
}

#[test]
fn invalid_account_ids_are_refused() {
    let s = spec(json!([{"rule": "field", "field": "external_id"}]));
    let r = rejected(&s, json!({"external_id": 1042.5}));
    assert_eq!(r.reason, RejectReason::InvalidAccountId);
    assert_eq!(rejected(&s, json!({"external_id": [1]})).reason, RejectReason::InvalidAccountId);
}

#[test]
fn unknown_accounts_carry_near_miss_hints() {
    let s = spec(json!([{"rule": "field", "field": "external_id"}]));
    let r = rejected(&s, json!({"external_id": "1042.0"}));
    assert_eq!(r.reason, RejectReason::UnknownAccount);
    assert_eq!(r.hints, vec![Hint::FloatSuffix { account_id: id("1042") }]);
    let r = rejected(&s, json!({"external_id": " 1043 "}));
    assert_eq!(r.hints, vec![Hint::Whitespace { account_id: id("1043") }]);
    let r = rejected(&s, json!({"external_id": "ACME"}));
    assert_eq!(r.hints, vec![Hint::CaseOnly { account_ids: vec![id("Acme"), id("acme")] }]);
    let r = rejected(&s, json!({"external_id": "5000"}));
    assert!(r.hints.is_empty());
    assert_eq!(r.key.as_deref(), Some("5000"));
    assert_eq!(r.message, "field external_id: no account \"5000\"");
}

#[test]
fn near_miss_hints_work_when_the_system_of_record_id_is_mangled() {
    // The System of Record wrote its own ids through a float or with padding; records carry clean ids.
    let mut ix = LinkIndex::new();
    for sor in ["1042.0", "2000.00", "1050 ", " 1060", "1070\t", "-5.0"] {
        ix.upsert_account(AccountEntry::active(sor));
    }
    let s = spec(json!([{"rule": "field", "field": "external_id"}]));
    let hints = |key: Value| s.link(&ix, &json!({"external_id": key})).unwrap_err().hints;
    assert_eq!(hints(json!("1042")), vec![Hint::FloatSuffix { account_id: id("1042.0") }]);
    assert_eq!(hints(json!(1042)), vec![Hint::FloatSuffix { account_id: id("1042.0") }], "numeric keys too");
    assert_eq!(hints(json!("2000")), vec![Hint::FloatSuffix { account_id: id("2000.00") }]);
    assert_eq!(hints(json!("-5")), vec![Hint::FloatSuffix { account_id: id("-5.0") }]);
    assert_eq!(hints(json!("1050")), vec![Hint::Whitespace { account_id: id("1050 ") }]);
    assert_eq!(hints(json!("1060")), vec![Hint::Whitespace { account_id: id(" 1060") }]);
    assert_eq!(hints(json!("1070")), vec![Hint::Whitespace { account_id: id("1070\t") }]);
    assert!(hints(json!("1043")).is_empty());
    assert!(hints(json!("104")).is_empty(), "a prefix is not a near miss");
    let r = s.link(&ix, &json!({"external_id": "1042"})).unwrap_err();
    assert_eq!(r.reason, RejectReason::UnknownAccount);
    assert!(r.hints[0].describe().contains("System of Record"), "{}", r.hints[0].describe());
    assert!(hints(json!("1050")).iter().all(|h| h.describe().contains("System of Record")));
    // The record-side hints still tell the user to add a normalizer.
    let r = rejected(&s, json!({"external_id": "1042.0"}));
    assert!(r.hints[0].describe().contains("normalizer integer_text"), "{}", r.hints[0].describe());
}

#[test]
fn hints_never_link_but_normalizers_do() {
    let rule = || rules(json!([{"rule": "field", "field": "external_id"}]));
    let s = LinkSpec::new("support", rule(), vec![]);
    assert!(s.link(&hub(), &json!({"external_id": " 1042.0 "})).is_err());
    let s = LinkSpec::new("support", rule(), vec![Normalizer::Trim, Normalizer::IntegerText]);
    assert_eq!(s.link(&hub(), &json!({"external_id": " 1042.0 "})).unwrap().account_id, id("1042"));
    let s = LinkSpec::new("support", rule(), vec![Normalizer::Lowercase]);
    assert_eq!(s.link(&hub(), &json!({"external_id": "1043"})).unwrap().account_id, id("1043"));
    let r = s.link(&hub(), &json!({"external_id": "ACME"})).unwrap_err();
    assert_eq!(r.reason, RejectReason::Ambiguous);
}

#[test]
fn deleted_and_filtered_accounts_stop_the_search() {
    let s = spec(json!([{"rule": "field", "field": "external_id"}, {"rule": "email", "field": "email"}]));
    let r = rejected(&s, json!({"external_id": "9", "email": "ann@acme.io"}));
    assert_eq!(r.reason, RejectReason::DeletedAccount);
    let r = rejected(&s, json!({"external_id": "77", "email": "ann@acme.io"}));
    assert_eq!(r.reason, RejectReason::FilteredAccount);
    let s = spec(json!([{"rule": "email", "field": "email"}]));
    assert_eq!(rejected(&s, json!({"email": "gone@old.com"})).reason, RejectReason::DeletedAccount);
}

#[test]
fn an_id_map_reaching_a_filtered_account_says_so() {
    // 77 is an SOR record the filter excludes: its Salesforce id still names it.
    let s = spec(json!([{"rule": "native_id", "field": "AccountId", "map": "crm_account_id"}]));
    let r = rejected(&s, json!({"AccountId": "001F"}));
    assert_eq!(r.reason, RejectReason::FilteredAccount, "{}", r.message);
    assert!(r.message.contains("\"77\""), "{}", r.message);
    // Once the SOR record passes the filter, the same record links.
    let mut ix = hub();
    let mut now_active = AccountEntry::active("77");
    now_active.crm_account_id = Some("001F".into());
    let changed = ix.upsert_account(now_active);
    assert!(changed.contains(&TriedKey { space: KeySpace::Account, key: "77".into() }));
    assert_eq!(s.link(&ix, &json!({"AccountId": "001F"})).unwrap().account_id.as_str(), "77");
    assert!(!ix.is_filtered("77"));
}

#[test]
fn a_link_lists_the_keys_its_answer_depends_on() {
    let s = spec(json!([
        {"rule": "field", "field": "external_id"},
        {"rule": "native_id", "field": "org", "map": "support/orgs"},
        {"rule": "email", "field": "email"}
    ]));
    let ix = hub();
    // Linked by its own account id: nothing else to watch.
    assert!(s.link(&ix, &json!({"external_id": "1042"})).unwrap().depends_on.is_empty());
    // Linked by the map, after the account id missed: the miss and the map entry are watched.
    let l = s.link(&ix, &json!({"external_id": "404", "org": "org-1"})).unwrap();
    assert_eq!(l.account_id.as_str(), "1042");
    assert_eq!(
        l.depends_on,
        vec![
            TriedKey { space: KeySpace::Account, key: "404".into() },
            TriedKey { space: KeySpace::Map("support/orgs".into()), key: "org-1".into() },
        ]
    );
    // Linked by email: the email is watched (a second holder makes it ambiguous).
    let l = s.link(&ix, &json!({"email": "ann@acme.io"})).unwrap();
    assert_eq!(l.depends_on, vec![TriedKey { space: KeySpace::Email, key: "ann@acme.io".into() }]);
}

#[test]
fn account_keys_change_only_when_an_account_appears_or_changes_state() {
    let mut ix = hub();
    let account = |website: &str| {
        let mut a = AccountEntry::active("1043");
        a.website = Some(website.into());
        a
    };
    ix.upsert_account(account("beta.dev"));
    let changed = ix.upsert_account(account("gamma.dev"));
    assert!(!changed.iter().any(|k| k.space == KeySpace::Account), "{changed:?}");
    assert!(changed.contains(&TriedKey { space: KeySpace::Domain, key: "gamma.dev".into() }));
    assert!(ix.upsert_account(account("gamma.dev")).is_empty());
    let changed = ix.set_account_state("1043", AccountState::Deleted);
    assert!(changed.contains(&TriedKey { space: KeySpace::Account, key: "1043".into() }));
}

#[test]
fn the_first_rule_with_a_key_decides_the_reason() {
    let s = spec(json!([{"rule": "field", "field": "external_id"}, {"rule": "email", "field": "email"}]));
    let r = rejected(&s, json!({"external_id": "5000", "email": "shared@corp.com"}));
    assert_eq!(r.reason, RejectReason::UnknownAccount);
    assert_eq!(r.tried.len(), 2);
    assert!(r.hints.contains(&Hint::Candidates { account_ids: vec![id("1042"), id("1043")] }));
}

#[test]
fn rejection_snapshot() {
    let s = spec(json!([
        {"rule": "field", "field": "custom_fields[id=360001].value"},
        {"rule": "email", "field": "requester.email"}
    ]));
    let r = rejected(
        &s,
        json!({"custom_fields": [{"id": 360001, "value": "1042.0"}], "requester": {"email": "Shared@corp.com"}}),
    );
    insta::assert_json_snapshot!(r);
}

#[test]
fn id_map_refs_parse() {
    assert_eq!(
        IdMapRef::parse("salesforce/Account"),
        Some(IdMapRef::Object { source: "salesforce".into(), object: "Account".into() })
    );
    assert!(IdMapRef::parse("crm_account_id").is_some());
    assert!(IdMapRef::parse("nonsense").is_none());
}

proptest::proptest! {
    /// Any record and key shape gives a link or a rejection, never a panic, and a link always
    /// names an active account.
    #[test]
    fn the_linker_is_total(key in proptest::option::of("\\PC{0,12}"), num in proptest::option::of(proptest::num::f64::ANY)) {
        let s = spec(json!([
            {"rule": "field", "field": "a"},
            {"rule": "email", "field": "b"},
            {"rule": "domain", "field": "b"},
            {"rule": "user_map", "field": "c"},
            {"rule": "native_id", "field": "d", "map": "support/orgs"}
        ]));
        let record = json!({"a": key, "b": key, "c": num, "d": key});
        let ix = hub();
        if let Ok(l) = s.link(&ix, &record) {
            proptest::prop_assert_eq!(ix.account(l.account_id.as_str()).unwrap().state, AccountState::Active);
        }
    }
}
