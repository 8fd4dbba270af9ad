use accord_core::{ObjectKind, RejectReason, RuleKind};
use accord_engine::SyncOptions;
use accord_store::{AccountQuery, AccountStatus, RecordKey};

use crate::*;

pub(crate) const CRM: &str = r#"
[system_of_record]
source = "crm"
object = "accounts"
account_id = "id"
name = "name"
join_date = "joined"
filter = "status != 'churned'"

[sources.crm]
kind = "file"
[[sources.crm.objects]]
name = "accounts"
kind = "account"
path = "accounts.csv"
"#;

const SUPPORT: &str = r#"
[sources.support]
kind = "file"
[[sources.support.objects]]
name = "orgs"
kind = "organization"
path = "orgs.csv"
native_id = "org_id"
link = [{ rule = "field", field = "external_id" }]
[[sources.support.objects]]
name = "tickets"
kind = "ticket"
path = "tickets.csv"
native_id = "id"
link = [{ rule = "parent", field = "org_id", object = "orgs" }]
"#;

fn setup(accounts: &str) -> (tempfile::TempDir, accord_engine::Hub) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", accounts);
    write(dir.path(), "orgs.csv", "org_id,external_id\no1,A1\no2,A2\no3,A3\n");
    write(dir.path(), "tickets.csv", "id,org_id\nt1,o1\nt2,o2\nt3,o3\nt4,o1\n");
    let hub = hub(dir.path(), &format!("{CRM}{SUPPORT}"));
    (dir, hub)
}

#[test]
fn the_sor_filter_keeps_excluded_accounts_out_and_explains_why() {
    let (_dir, hub) = setup("id,name,joined,status\nA1,Alpha,2024-01-01,active\nA2,Beta,2024-01-01,churned\n");
    let report = sync(&hub);
    assert_eq!(counts(&report, "crm", "accounts"), (2, 1, 1));
    assert_eq!(counts(&report, "support", "orgs"), (3, 1, 2));
    let q = quarantine(&hub);
    let reason_of = |id: &str| q.iter().find(|e| e.key.native_id == id).map(|e| e.rejection.reason);
    assert_eq!(reason_of("A2"), Some(RejectReason::FilteredAccount), "the SOR row itself");
    assert_eq!(reason_of("o2"), Some(RejectReason::FilteredAccount), "a record pointing at it");
    assert_eq!(reason_of("o3"), Some(RejectReason::UnknownAccount));
    assert!(hub.store.account("A2").unwrap().is_none());
}

#[test]
fn a_late_account_relinks_its_records_and_their_children() {
    let (dir, hub) = setup("id,name,joined,status\nA1,Alpha,2024-01-01,active\n");
    let report = sync(&hub);
    assert_eq!(counts(&report, "support", "tickets"), (4, 2, 2));
    // A3 arrives in the SOR: org o3 and then its ticket t3 link without re-reading support.
    write(
        dir.path(),
        "accounts.csv",
        "id,name,joined,status\nA1,Alpha,2024-01-01,active\nA3,Gamma,2024-02-01,active\n",
    );
    let report = sync_with(&hub, SyncOptions { sources: vec!["crm".into()], full: false, ..SyncOptions::default() });
    assert_eq!(report.sources[0].relinked.linked, 2, "o3 and t3");
    let t3 = hub.store.record(ObjectKind::Ticket, &RecordKey::new("support", "tickets", "t3")).unwrap().unwrap();
    assert_eq!(t3.account_id.as_str(), "A3");
    assert_eq!(t3.provenance.rule, RuleKind::Parent);
    assert_eq!(t3.provenance.key, "o3");
    let left: Vec<_> = quarantine(&hub).into_iter().map(|e| e.key.native_id).collect();
    assert_eq!(left, vec!["o2", "t2"]);
}

#[test]
fn reimporting_the_same_files_gives_the_same_counts_and_no_duplicates() {
    let (_dir, hub) = setup("id,name,joined,status\nA1,Alpha,2024-01-01,active\nA2,Beta,2024-01-01,active\n");
    let first = sync(&hub);
    let second = sync(&hub);
    for (a, b) in first.sources.iter().zip(&second.sources) {
        for (x, y) in a.streams.iter().zip(&b.streams) {
            assert_eq!(x.counts, y.counts, "{}/{}", a.source, x.object);
        }
    }
    let tickets = hub
        .store
        .records(
            ObjectKind::Ticket,
            &accord_store::RecordQuery { account_id: Some("A1".into()), ..Default::default() },
            0,
            100,
        )
        .unwrap();
    assert_eq!(tickets.total, 2);
    let page = hub.store.accounts(&AccountQuery { page_size: 100, ..Default::default() }).unwrap();
    assert_eq!(page.total, 2);
    let q = quarantine(&hub);
    assert_eq!(q.len(), 2, "o3 and t3 once each");
    assert!(q.iter().all(|e| e.attempts == 2), "a re-seen rejection counts an attempt, not a duplicate");
}

#[test]
fn deleted_accounts_stay_deleted_until_restored() {
    let (_dir, hub) = setup("id,name,joined,status\nA1,Alpha,2024-01-01,active\nA2,Beta,2024-01-01,active\n");
    sync(&hub);
    hub.deactivate("A2", "churned in March").unwrap();
    let report = sync(&hub);
    assert_eq!(counts(&report, "crm", "accounts"), (2, 1, 1), "the SOR does not revive A2");
    assert_eq!(hub.store.account("A2").unwrap().unwrap().status, AccountStatus::Deleted);
    let q = quarantine(&hub);
    let reason_of = |id: &str| q.iter().find(|e| e.key.native_id == id).map(|e| e.rejection.reason);
    assert_eq!(reason_of("A2"), Some(RejectReason::DeletedAccount));
    assert_eq!(reason_of("o2"), Some(RejectReason::DeletedAccount), "records pointing at it are rejected");
    let delete_list = hub.store.delete_list().unwrap();
    assert_eq!(delete_list[0].2, "churned in March");
    let relinked = hub.restore("A2").unwrap();
    assert_eq!(relinked.linked, 3, "the SOR row, then o2, then t2 (rejected through o2 by the last sync)");
    assert_eq!(hub.store.account("A2").unwrap().unwrap().status, AccountStatus::Active);
    assert!(hub.store.delete_list().unwrap().is_empty());
    assert!(quarantine(&hub).iter().all(|e| e.key.native_id == "o3" || e.key.native_id == "t3"));
}

#[test]
fn malformed_rows_are_kept_and_the_rest_loads() {
    let (dir, hub) = setup(
        "id,name,joined,status\nA1,Alpha,2024-01-01,active\nA2,Beta\nA3,,2024-01-01,active\nA4,Delta,not a date,active\n",
    );
    write(dir.path(), "tickets.csv", "id,org_id\nt1,o1\nt2,o1,extra\n,o1\nt4,o1\n");
    let report = sync(&hub);
    assert_eq!(counts(&report, "crm", "accounts"), (4, 1, 3));
    assert_eq!(counts(&report, "support", "tickets"), (4, 2, 2));
    let q = quarantine(&hub);
    let find = |loc: &str| q.iter().find(|e| e.location.as_deref() == Some(loc)).unwrap_or_else(|| panic!("{loc}"));
    let bad_row = find("accounts.csv:3");
    assert_eq!(bad_row.rejection.reason, RejectReason::InvalidField);
    assert!(
        bad_row.rejection.message.contains("the row has 2 fields, the header has 4"),
        "{}",
        bad_row.rejection.message
    );
    assert_eq!(bad_row.payload["malformed_row"], serde_json::json!(["A2", "Beta"]), "the raw row is kept");
    let no_name = find("accounts.csv:4");
    assert_eq!(no_name.rejection.reason, RejectReason::MissingRequiredField);
    assert!(no_name.rejection.message.contains("name"), "{}", no_name.rejection.message);
    let bad_date = find("accounts.csv:5");
    assert_eq!(bad_date.rejection.reason, RejectReason::InvalidField);
    assert!(bad_date.rejection.message.contains("join_date"), "{}", bad_date.rejection.message);
    let no_id = find("tickets.csv:4");
    assert_eq!(no_id.rejection.reason, RejectReason::MissingRequiredField);
    assert!(no_id.rejection.message.contains("record id"), "{}", no_id.rejection.message);
}

#[test]
fn a_duplicate_account_id_in_the_sor_is_rejected_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", "rid,id,name,joined\nr1,A1,Alpha,2024-01-01\nr2,A1,Alpha Two,2024-01-01\n");
    write(dir.path(), "orgs.csv", "org_id,external_id\n");
    write(dir.path(), "tickets.csv", "id,org_id\n");
    let toml = CRM
        .replace("path = \"accounts.csv\"", "path = \"accounts.csv\"\nnative_id = \"rid\"")
        .replace("filter = \"status != 'churned'\"", "");
    let hub = hub(dir.path(), &format!("{toml}{SUPPORT}"));
    let report = sync(&hub);
    assert_eq!(counts(&report, "crm", "accounts"), (2, 1, 1));
    let q = quarantine(&hub);
    assert_eq!(q[0].key.native_id, "r2");
    assert_eq!(q[0].rejection.reason, RejectReason::Ambiguous);
    assert_eq!(hub.store.account("A1").unwrap().unwrap().text("name"), Some("Alpha"));
}

#[test]
fn also_exists_in_filters_the_sor_through_another_source() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", "id,name,joined,zuora\nA1,Alpha,2024-01-01,Z1\nA2,Beta,2024-01-01,Z2\n");
    write(dir.path(), "zuora.csv", "zid,crm\nZ1,A1\n");
    let toml = r#"
[system_of_record]
source = "crm"
object = "accounts"
account_id = "id"
name = "name"
join_date = "joined"
also_exists_in = { source = "billing", object = "accounts", sor_field = "zuora" }
[sources.crm]
kind = "file"
[[sources.crm.objects]]
name = "accounts"
kind = "account"
path = "accounts.csv"
[sources.billing]
kind = "file"
[[sources.billing.objects]]
name = "accounts"
kind = "organization"
path = "zuora.csv"
native_id = "zid"
link = [{ rule = "field", field = "crm" }]
"#;
    let hub = hub(dir.path(), toml);
    let report = sync(&hub);
    assert_eq!(report.sources[0].source, "billing", "the filter's source is read before the SOR");
    assert_eq!(counts(&report, "crm", "accounts"), (2, 1, 1));
    assert_eq!(report.sources[1].relinked.linked, 1, "Z1 linked once A1 arrived");
    let q = quarantine(&hub);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].rejection.reason, RejectReason::FilteredAccount);
    assert!(q[0].rejection.message.contains("\"Z2\" not found in billing/accounts"), "{}", q[0].rejection.message);
}

#[test]
fn an_interrupted_sync_resumes_from_its_checkpoint_without_duplicates() {
    use accord_connectors::Connector;
    use accord_connectors::file::FileConnector;
    use accord_engine::{PageContext, Plan};
    use accord_store::Checkpoint;

    let dir = tempfile::tempdir().unwrap();
    let mut accounts = String::from("id,name,joined,status\n");
    for i in 0..50 {
        accounts.push_str(&format!("A{i},Name {i},2024-01-01,active\n"));
    }
    write(dir.path(), "accounts.csv", &accounts);
    write(dir.path(), "orgs.csv", "org_id,external_id\n");
    write(dir.path(), "tickets.csv", "id,org_id\n");
    let text = format!("store = \"sqlite://hub.db\"\n{CRM}{SUPPORT}");
    let config = accord_core::Config::from_toml(&text, dir.path()).unwrap();
    let connectors: Vec<(String, Box<dyn Connector>)> = config
        .raw
        .sources
        .iter()
        .map(|(n, s)| {
            (
                n.clone(),
                Box::new(FileConnector::new(n, s, dir.path()).unwrap().with_page_size(20)) as Box<dyn Connector>,
            )
        })
        .collect();
    let plan = Plan::from_connectors(&config, connectors).unwrap();
    let store = accord_store::open_and_migrate(&config.store_url()).unwrap();
    let hub = accord_engine::Hub::with_parts(config, plan, store).unwrap();

    // A sync that dies after its first page: the page and its checkpoint are committed together.
    let stream_plan = hub.plan.stream("crm", "accounts").unwrap().clone();
    let source = &hub.plan.sources.iter().find(|s| s.name == "crm").unwrap();
    let mut stream = source.connector.open_stream("accounts", None, false).unwrap();
    let page = futures::executor::block_on(stream.next_page()).unwrap().unwrap();
    let cp = Checkpoint { source: "crm".into(), stream: "accounts".into(), cursor: page.cursor };
    hub.ingest(&stream_plan, page.items, PageContext { checkpoint: Some(cp), ..Default::default() }).unwrap();
    drop(stream);
    assert_eq!(hub.store.accounts(&AccountQuery { page_size: 100, ..Default::default() }).unwrap().total, 20);

    let report = sync_with(&hub, SyncOptions { sources: vec!["crm".into()], full: false, ..SyncOptions::default() });
    let st = &report.sources[0].streams[0];
    assert!(st.resumed);
    assert_eq!(st.counts.fetched, 30, "only the rows after the checkpoint");
    assert_eq!(hub.store.accounts(&AccountQuery { page_size: 100, ..Default::default() }).unwrap().total, 50);
    // The next sync reads the finished file whole again, idempotently.
    let again = sync_with(&hub, SyncOptions { sources: vec!["crm".into()], full: false, ..SyncOptions::default() });
    assert_eq!(again.sources[0].streams[0].counts.fetched, 50);
    assert_eq!(hub.store.accounts(&AccountQuery { page_size: 100, ..Default::default() }).unwrap().total, 50);
}

#[test]
fn retry_applies_a_new_normalizer() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", "id,name,joined,status\n1042,Wayne,2024-01-01,active\n");
    write(dir.path(), "orgs.csv", "org_id,external_id\no1,1042.0\n");
    write(dir.path(), "tickets.csv", "id,org_id\nt1,o1\n");
    let first = hub(dir.path(), &format!("{CRM}{SUPPORT}"));
    sync(&first);
    assert_eq!(quarantine(&first).len(), 2);
    drop(first);
    let fixed = SUPPORT.replace("path = \"orgs.csv\"", "path = \"orgs.csv\"\nnormalize = [\"integer_text\"]");
    let second = hub(dir.path(), &format!("{CRM}{fixed}"));
    let report = second.retry(&Default::default()).unwrap();
    assert_eq!((report.retried, report.linked), (2, 2), "o1 with the normalizer, then t1 through it");
    assert!(quarantine(&second).is_empty());
}

const KEAP_LIKE: &str = r#"
[sources.keap]
kind = "file"
[[sources.keap.objects]]
name = "companies"
kind = "organization"
path = "companies.csv"
native_id = "id"
link = [{ rule = "field", field = "company_account" }, { rule = "children", field = "id", object = "contacts" }]
[[sources.keap.objects]]
name = "contacts"
kind = "contact"
path = "contacts.csv"
native_id = "id"
fields = { organization_id = "company" }
link = [{ rule = "field", field = "contact_account" }, { rule = "parent", field = "company", object = "companies" }]
"#;

/// The guide's warning about Keap: several contacts can match one company. A company without
/// its own account id takes the one its contacts agree on, is `ambiguous` (with the candidates)
/// when they disagree, and never picks one; contacts without an id follow their company.
#[test]
fn a_company_takes_the_account_its_contacts_agree_on_and_never_picks_one() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts.csv", "id,name,joined,status\nA1,Alpha,2024-01-01,active\nA2,Beta,2024-01-01,active\n");
    write(dir.path(), "companies.csv", "id,company_account\nc1,\nc2,\nc3,\nc4,A2\n");
    write(
        dir.path(),
        "contacts.csv",
        "id,company,contact_account\n\
         p1,c1,A1\np2,c1,A1\np3,c1,\n\
         p4,c2,A1\np5,c2,A2\np6,c2,\n\
         p7,c3,\n\
         p8,c4,A1\n",
    );
    let hub = hub(dir.path(), &format!("{CRM}{KEAP_LIKE}"));
    sync(&hub);
    let org = |id: &str| hub.store.record(ObjectKind::Organization, &RecordKey::new("keap", "companies", id)).unwrap();
    let contact = |id: &str| hub.store.record(ObjectKind::Contact, &RecordKey::new("keap", "contacts", id)).unwrap();
    let c1 = org("c1").expect("c1 links");
    assert_eq!((c1.account_id.as_str(), c1.provenance.rule), ("A1", RuleKind::Children));
    assert_eq!(contact("p3").expect("p3 follows c1").provenance.rule, RuleKind::Parent);
    // c4's own id wins over its contact's.
    assert_eq!(org("c4").unwrap().account_id.as_str(), "A2");
    assert!(org("c2").is_none() && org("c3").is_none() && contact("p6").is_none() && contact("p7").is_none());
    let q = quarantine(&hub);
    let reason = |id: &str| q.iter().find(|e| e.key.native_id == id).map(|e| e.rejection.clone()).unwrap();
    let c2 = reason("c2");
    assert_eq!(c2.reason, RejectReason::Ambiguous);
    assert_eq!(
        c2.hints,
        vec![accord_core::Hint::Candidates {
            account_ids: vec![accord_core::AccountId::new("A1").unwrap(), accord_core::AccountId::new("A2").unwrap()]
        }]
    );
    assert_eq!(reason("c3").reason, RejectReason::UnknownAccount);
    assert_eq!(reason("p6").reason, RejectReason::UnknownAccount);

    // p4 is corrected to A2: c2's contacts agree, and c2 and p6 link without a retry.
    write(
        dir.path(),
        "contacts.csv",
        "id,company,contact_account\np1,c1,A1\np2,c1,A1\np3,c1,\np4,c2,A2\np5,c2,A2\np6,c2,\np7,c3,\np8,c4,A1\n",
    );
    sync(&hub);
    assert_eq!(org("c2").expect("c2 links").account_id.as_str(), "A2");
    assert_eq!(contact("p6").expect("p6 follows c2").account_id.as_str(), "A2");
}

#[test]
fn a_children_rule_needs_its_contacts_direct_rules_first() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!("{CRM}{KEAP_LIKE}").replace(
        r#"link = [{ rule = "field", field = "contact_account" }, { rule = "parent", field = "company", object = "companies" }]"#,
        r#"link = [{ rule = "parent", field = "company", object = "companies" }, { rule = "field", field = "contact_account" }]"#,
    );
    let config = accord_core::Config::from_toml(&toml, dir.path()).unwrap();
    let Err(err) = accord_engine::Hub::open(config) else {
        panic!("a children rule over contacts listing parent first is refused")
    };
    let err = err.to_string();
    assert!(err.contains("sources.keap.objects.companies.link[1]") && err.contains("before their parent"), "{err}");
}
