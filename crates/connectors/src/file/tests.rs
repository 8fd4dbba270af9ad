use std::path::Path;

use accord_core::Config;
use serde_json::{Value, json};

use super::*;

fn connector(dir: &Path, objects: &str) -> FileConnector {
    let text = format!(
        r#"
        [system_of_record]
        source = "f"
        object = "accounts"
        account_id = "id"
        [sources.f]
        kind = "file"
        [[sources.f.objects]]
        name = "accounts"
        kind = "account"
        path = "accounts.csv"
        {objects}
        "#
    );
    let config = Config::from_toml(&text, dir).unwrap();
    FileConnector::new("f", &config.raw.sources["f"], dir).unwrap()
}

fn read_all(c: &FileConnector, object: &str, cursor: Option<Value>) -> (Vec<Item>, Vec<Value>) {
    let mut stream = c.open_stream(object, cursor, false).unwrap();
    let mut items = Vec::new();
    let mut cursors = Vec::new();
    while let Some(page) = futures::executor::block_on(stream.next_page()).unwrap() {
        items.extend(page.items);
        cursors.push(page.cursor);
    }
    (items, cursors)
}

fn data(item: &Item) -> &Value {
    match item {
        Item::Record(r) => &r.data,
        other => panic!("expected a record, got {other:?}"),
    }
}

#[test]
fn csv_rows_become_records_and_bad_rows_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("accounts.csv"),
        "id,name,note\n1042,Acme,\"has, comma\"\n1043,Beta\n\"1044\",\"Multi\nline\",x\n1045,Delta,\n",
    )
    .unwrap();
    let c = connector(dir.path(), "");
    let (items, cursors) = read_all(&c, "accounts", None);
    assert_eq!(items.len(), 4);
    assert_eq!(data(&items[0]), &json!({"id": "1042", "name": "Acme", "note": "has, comma"}));
    match &items[1] {
        Item::Malformed { location, problem, raw } => {
            assert_eq!(location, "accounts.csv:3");
            assert_eq!(problem, "the row has 2 fields, the header has 3");
            assert_eq!(raw, &json!(["1043", "Beta"]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(data(&items[2]), &json!({"id": "1044", "name": "Multi\nline", "note": "x"}));
    assert_eq!(data(&items[3]), &json!({"id": "1045", "name": "Delta"}), "empty cells are absent");
    assert_eq!(cursors.last().unwrap()["complete"], json!(true));
}

#[test]
fn ndjson_keeps_good_lines_and_reports_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("accounts.csv"), "id\n").unwrap();
    std::fs::write(dir.path().join("events.ndjson"), "{\"a\":1}\r\n\n{bad json}\n[1,2]\n{\"a\":2}").unwrap();
    let c = connector(
        dir.path(),
        r#"[[sources.f.objects]]
        name = "events"
        kind = "event"
        path = "events.ndjson"
        link = [{ rule = "user_map", field = "user_id" }]"#,
    );
    let (items, _) = read_all(&c, "events", None);
    assert_eq!(items.len(), 4);
    assert_eq!(data(&items[0]), &json!({"a": 1}));
    assert!(
        matches!(&items[1], Item::Malformed { location, problem, .. } if location == "events.ndjson:3" && problem.contains("invalid JSON"))
    );
    assert!(
        matches!(&items[2], Item::Malformed { location, problem, .. } if location == "events.ndjson:4" && problem.contains("an array"))
    );
    assert_eq!(data(&items[3]), &json!({"a": 2}));
}

#[test]
fn json_documents_stream_from_a_nested_array() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("accounts.csv"), "id\n").unwrap();
    std::fs::write(
        dir.path().join("orgs.json"),
        r#"{"meta": {"count": 3}, "data": {"items": [{"id": 1}, 7, {"id": 2, "nested": {"x": [1]}}]}, "after": true}"#,
    )
    .unwrap();
    let c = connector(
        dir.path(),
        r#"[[sources.f.objects]]
        name = "orgs"
        kind = "organization"
        path = "orgs.json"
        records = "data.items"
        native_id = "id"
        link = [{ rule = "field", field = "id" }]"#,
    );
    let (items, cursors) = read_all(&c, "orgs", None);
    assert_eq!(items.len(), 3);
    assert_eq!(data(&items[0]), &json!({"id": 1}));
    assert!(matches!(&items[1], Item::Malformed { location, .. } if location == "orgs.json#1"));
    assert_eq!(cursors.last().unwrap()["index"], json!(3));
}

#[test]
fn a_broken_json_document_keeps_what_came_before_and_reports_where() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("accounts.csv"), "id\n").unwrap();
    std::fs::write(dir.path().join("orgs.json"), "[{\"id\": 1},\n{\"id\": 2,,}]").unwrap();
    let c = connector(
        dir.path(),
        r#"[[sources.f.objects]]
        name = "orgs"
        kind = "organization"
        path = "orgs.json"
        native_id = "id"
        link = [{ rule = "field", field = "id" }]"#,
    );
    let mut stream = c.open_stream("orgs", None, false).unwrap();
    let page = futures::executor::block_on(stream.next_page()).unwrap().unwrap();
    assert_eq!(data(&page.items[0]), &json!({"id": 1}));
    assert!(matches!(&page.items[1], Item::Malformed { location, .. } if location == "orgs.json:2"));
    let err = futures::executor::block_on(stream.next_page()).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn an_interrupted_import_resumes_after_the_last_page() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,name\n");
    for i in 0..25 {
        csv.push_str(&format!("{i},n{i}\n"));
    }
    std::fs::write(dir.path().join("accounts.csv"), &csv).unwrap();
    let c = connector(dir.path(), "").with_page_size(10);
    let mut stream = c.open_stream("accounts", None, false).unwrap();
    let first = futures::executor::block_on(stream.next_page()).unwrap().unwrap();
    assert_eq!(first.items.len(), 10);
    drop(stream);
    // Resume from the first page's cursor: exactly the remaining 15 rows.
    let (rest, cursors) = read_all(&c, "accounts", Some(first.cursor.clone()));
    let ids: Vec<_> = rest.iter().map(|i| data(i)["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, (10..25).map(|i| i.to_string()).collect::<Vec<_>>());
    // A complete cursor means the next sync reads the whole file again.
    let (again, _) = read_all(&c, "accounts", Some(cursors.last().unwrap().clone()));
    assert_eq!(again.len(), 25);
    // A changed file is read from the start too.
    std::fs::write(dir.path().join("accounts.csv"), format!("{csv}25,n25\n")).unwrap();
    let (changed, _) = read_all(&c, "accounts", Some(first.cursor));
    assert_eq!(changed.len(), 26);
}

#[test]
fn ndjson_resumes_by_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("accounts.csv"), "id\n").unwrap();
    let lines: String = (0..7).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    std::fs::write(dir.path().join("e.ndjson"), lines).unwrap();
    let c = connector(
        dir.path(),
        r#"[[sources.f.objects]]
        name = "e"
        kind = "event"
        path = "e.ndjson"
        link = [{ rule = "user_map", field = "u" }]"#,
    )
    .with_page_size(3);
    let mut stream = c.open_stream("e", None, false).unwrap();
    let first = futures::executor::block_on(stream.next_page()).unwrap().unwrap();
    drop(stream);
    let (rest, _) = read_all(&c, "e", Some(first.cursor));
    let ns: Vec<_> = rest.iter().map(|i| data(i)["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, vec![3, 4, 5, 6]);
}

#[test]
fn missing_files_and_bad_headers_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let c = connector(dir.path(), "");
    let err = c.open_stream("accounts", None, false).err().unwrap();
    assert!(err.to_string().contains("accounts.csv"), "{err}");
    std::fs::write(dir.path().join("accounts.csv"), "id,id\n1,2\n").unwrap();
    let mut stream = c.open_stream("accounts", None, false).unwrap();
    let err = futures::executor::block_on(stream.next_page()).unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
}
