//! The `desk` source: a preset of the [`file`](super) source for Desk.com, which shut down in
//! 2020 and lives on only as exports of its API. Each object is one JSON file shaped as Desk's
//! API answered (HAL: `{"_embedded": {"entries": [...]}, "_links": {...}}`), read in constant
//! memory by the file source with `records = "_embedded.entries"`.
//!
//! | object | file (default) | kind | default link rules, in order |
//! | --- | --- | --- | --- |
//! | `companies` | `companies.json` | organization | `field custom_fields.account_id` (the `account_id_field` setting), `domain domains` |
//! | `customers` | `customers.json` | contact | `parent _links.company.id → companies`, `email emails[0].value` |
//! | `cases` | `cases.json` | ticket | `parent _links.company.id → companies`, `parent _links.customer.id → customers` |
//!
//! Desk links records by URL (`"_links": {"customer": {"href": "/api/v2/customers/42"}}`): the
//! preset adds the id at the end of every link's `href` as `_links.<rel>.id`, so `parent` rules
//! can name it. A `[[sources.<name>.objects]]` entry named after one of the three objects
//! replaces its `link`, `normalize` or `path`, and extends its `fields`; other names are errors.
//! The `domain` rule needs a mapping from domains to account ids somewhere else (the System of
//! Record's websites, or `[[domains]]`), as the integration guide says.

use std::path::{Path, PathBuf};

use accord_core::config::{FileFormat, ObjectConfig, SourceConfig};
use accord_core::{ConfigError, FieldPath, LinkRule, ObjectKind};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};

use super::FileConnector;
use crate::{Connector, ConnectorError, Item, ObjectSpec, Page, Stream};

/// `[sources.<name>]` settings of kind `desk`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeskSettings {
    /// Folder holding the export files (default: the config file's folder).
    dir: Option<PathBuf>,
    /// The company custom field holding our account id.
    #[serde(default = "default_account_id_field")]
    account_id_field: FieldPath,
}

fn default_account_id_field() -> FieldPath {
    FieldPath::parse("custom_fields.account_id").expect("static path")
}

/// A configured `desk` source: the file source with Desk's objects, rules and link ids.
#[derive(Debug)]
pub struct DeskConnector {
    inner: FileConnector,
}

impl DeskConnector {
    /// Sets the number of records per page (tests use small pages).
    pub fn with_page_size(self, page_size: usize) -> Self {
        Self { inner: self.inner.with_page_size(page_size) }
    }
}

fn rules(json: Value) -> Vec<LinkRule> {
    serde_json::from_value(json).expect("static link rules")
}

fn fields(pairs: &[(&str, &str)]) -> accord_core::FieldMapping {
    accord_core::FieldMapping(
        pairs.iter().map(|(f, p)| ((*f).to_owned(), FieldPath::parse(p).expect("static path"))).collect(),
    )
}

/// Desk's three objects, with their default files, kinds, rules and fields.
fn defaults(account_id_field: &FieldPath) -> Vec<ObjectConfig> {
    let object = |name: &str, kind, link, mapping| ObjectConfig {
        name: name.into(),
        kind: Some(kind),
        native_id: Some(FieldPath::parse("id").expect("static path")),
        link: Some(link),
        fields: mapping,
        path: Some(PathBuf::from(format!("{name}.json"))),
        format: Some(FileFormat::Json),
        records: Some(FieldPath::parse("_embedded.entries").expect("static path")),
        ..ObjectConfig::default()
    };
    vec![
        object(
            "companies",
            ObjectKind::Organization,
            rules(json!([
                {"rule": "field", "field": account_id_field.as_str()},
                {"rule": "domain", "field": "domains"}
            ])),
            fields(&[("name", "name"), ("domain", "domains[0]")]),
        ),
        object(
            "customers",
            ObjectKind::Contact,
            rules(json!([
                {"rule": "parent", "field": "_links.company.id", "object": "companies"},
                {"rule": "email", "field": "emails[0].value"}
            ])),
            fields(&[
                ("email", "emails[0].value"),
                ("first_name", "first_name"),
                ("last_name", "last_name"),
                ("title", "title"),
            ]),
        ),
        object(
            "cases",
            ObjectKind::Ticket,
            rules(json!([
                {"rule": "parent", "field": "_links.company.id", "object": "companies"},
                {"rule": "parent", "field": "_links.customer.id", "object": "customers"}
            ])),
            fields(&[
                ("subject", "subject"),
                ("status", "status"),
                ("priority", "priority"),
                ("created_at", "created_at"),
                ("updated_at", "updated_at"),
            ]),
        ),
    ]
}

/// Builds a Desk source.
pub fn connector(name: &str, source: &SourceConfig, base_dir: &Path) -> Result<DeskConnector, ConfigError> {
    let settings: DeskSettings = source
        .settings
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::new(format!("sources.{name}"), e.message().to_owned()))?;
    let mut objects = defaults(&settings.account_id_field);
    for (i, o) in source.objects.iter().enumerate() {
        let key = format!("sources.{name}.objects[{i}]");
        let Some(def) = objects.iter_mut().find(|d| d.name == o.name) else {
            return Err(ConfigError::new(
                format!("{key}.name"),
                format!(
                    "{:?} is not an object of a desk source; its objects: \"companies\", \"customers\", \"cases\"",
                    o.name
                ),
            ));
        };
        if o.kind.is_some_and(|k| Some(k) != def.kind) {
            return Err(ConfigError::new(
                format!("{key}.kind"),
                format!("desk {} have a fixed kind; leave kind out", o.name),
            ));
        }
        if o.link.is_some() {
            def.link = o.link.clone();
        }
        if !o.normalize.is_empty() {
            def.normalize = o.normalize.clone();
        }
        if o.path.is_some() {
            def.path = o.path.clone();
        }
        for (field, path) in &o.fields.0 {
            def.fields.0.insert(field.clone(), path.clone());
        }
    }
    let mut table = toml::Table::new();
    if let Some(dir) = &settings.dir {
        table.insert("dir".into(), toml::Value::String(dir.display().to_string()));
    }
    let file =
        SourceConfig { kind: "file".into(), schedule: None, objects, webhook: None, propagate: None, settings: table };
    Ok(DeskConnector { inner: FileConnector::new(name, &file, base_dir)? })
}

impl Connector for DeskConnector {
    fn kind(&self) -> &'static str {
        "desk"
    }

    fn objects(&self) -> &[ObjectSpec] {
        self.inner.objects()
    }

    fn open_stream(&self, object: &str, cursor: Option<Value>, full: bool) -> Result<Box<dyn Stream>, ConnectorError> {
        Ok(Box::new(DeskStream { inner: self.inner.open_stream(object, cursor, full)? }))
    }
}

/// The file stream, with each record's link ids added.
struct DeskStream {
    inner: Box<dyn Stream>,
}

impl Stream for DeskStream {
    fn next_page(&mut self) -> BoxFuture<'_, Result<Option<Page>, ConnectorError>> {
        Box::pin(async move {
            let mut page = self.inner.next_page().await?;
            if let Some(p) = &mut page {
                for item in &mut p.items {
                    if let Item::Record(r) = item {
                        add_link_ids(&mut r.data);
                    }
                }
            }
            Ok(page)
        })
    }
}

/// Sets `_links.<rel>.id` to the last segment of `_links.<rel>.href` (`/api/v2/customers/42` →
/// `"42"`), for every link that has an `href` and no `id`.
pub fn add_link_ids(record: &mut Value) {
    let Some(links) = record.get_mut("_links").and_then(Value::as_object_mut) else { return };
    for link in links.values_mut() {
        let Some(link) = link.as_object_mut() else { continue };
        if link.contains_key("id") {
            continue;
        }
        let id = link
            .get("href")
            .and_then(Value::as_str)
            .map(|h| h.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/'))
            .and_then(|h| h.rsplit('/').next())
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        if let Some(id) = id {
            link.insert("id".into(), Value::String(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_ids_come_from_the_end_of_each_href() {
        let mut r = json!({"id": 7, "_links": {
            "self": {"href": "/api/v2/cases/7", "class": "case"},
            "customer": {"href": "/api/v2/customers/42/", "class": "customer"},
            "company": {"href": "https://x.desk.com/api/v2/companies/3?embed=x", "class": "company"},
            "assigned_user": null,
            "kept": {"href": "/api/v2/users/1", "id": "own"}
        }});
        add_link_ids(&mut r);
        assert_eq!(r["_links"]["self"]["id"], "7");
        assert_eq!(r["_links"]["customer"]["id"], "42");
        assert_eq!(r["_links"]["company"]["id"], "3");
        assert_eq!(r["_links"]["kept"]["id"], "own");
        assert!(r["_links"]["assigned_user"].is_null());
    }

    #[test]
    fn a_desk_export_reads_as_three_linked_objects() {
        let dir = tempfile::tempdir().unwrap();
        let page = |entries: Value| json!({"total_entries": 1, "_links": {"self": {"href": "/x"}}, "_embedded": {"entries": entries}});
        std::fs::write(
            dir.path().join("companies.json"),
            page(json!([{"id": 1, "name": "Acme", "domains": ["acme.com"], "custom_fields": {"acct": "A-1"}}]))
                .to_string(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("customers.json"),
            page(json!([{"id": 5, "emails": [{"type": "work", "value": "a@acme.com"}],
                          "_links": {"company": {"href": "/api/v2/companies/1", "class": "company"}}}]))
            .to_string(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("cases.json"),
            page(json!([{"id": 9, "subject": "Help", "_links": {"customer": {"href": "/api/v2/customers/5"}}}]))
                .to_string(),
        )
        .unwrap();
        let toml = r#"
            [system_of_record]
            source = "desk"
            object = "companies"
            account_id = "custom_fields.acct"
            [sources.desk]
            kind = "desk"
            account_id_field = "custom_fields.acct"
        "#;
        let config = accord_core::Config::from_toml(toml, dir.path()).unwrap();
        let c = connector("desk", &config.raw.sources["desk"], dir.path()).unwrap();
        let names: Vec<_> = c.objects().iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["companies", "customers", "cases"]);
        assert_eq!(c.objects()[0].link[0].field().as_str(), "custom_fields.acct");
        let read = |object: &str| {
            let mut s = c.open_stream(object, None, false).unwrap();
            let mut out = Vec::new();
            while let Some(p) = futures::executor::block_on(s.next_page()).unwrap() {
                out.extend(p.items);
            }
            out
        };
        let cases = read("cases");
        let Item::Record(case) = &cases[0] else { panic!("{cases:?}") };
        assert_eq!(case.data["_links"]["customer"]["id"], "5");
        assert_eq!(read("customers").len(), 1);

        let bad =
            toml.replace("account_id_field = \"custom_fields.acct\"", "[[sources.desk.objects]]\nname = \"tickets\"");
        let config = accord_core::Config::from_toml(&bad, dir.path()).unwrap();
        let e = connector("desk", &config.raw.sources["desk"], dir.path()).unwrap_err().to_string();
        assert!(e.contains("sources.desk.objects[0].name") && e.contains("\"cases\""), "{e}");
    }
}
