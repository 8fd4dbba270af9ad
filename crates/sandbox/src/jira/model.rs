//! JIRA issues as the sandbox holds them, the site's fields (`GET /rest/api/3/field`), and the
//! issues' JSON as REST v3 returns it (`IssueBean`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::emulator::respond::TimeFormat;

/// The project every generated issue is in.
pub const PROJECT: &str = "SUP";
/// The id of the custom field "Account ID" (text), which holds our account id when set.
pub const ACCOUNT_FIELD: &str = "customfield_10050";
/// The id of the custom field "Support ID" (text): the id the account's `support_account_id` holds.
pub const SUPPORT_FIELD: &str = "customfield_10051";
/// A custom field no link uses (a number).
pub const STORY_POINTS: &str = "customfield_10016";

/// JIRA's timestamp form: `2024-01-01T10:05:37.123+0000`.
static TIME: TimeFormat = TimeFormat::new("%Y-%m-%dT%H:%M:%S%.3f+0000");

pub fn jira_time(t: DateTime<Utc>) -> String {
    TIME.render(t)
}

/// A JIRA issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// The numeric id JIRA serves as text (`"10001"`).
    pub id: u64,
    /// `SUP-1`: changes when an issue moves project, so links never use it.
    pub key: String,
    pub summary: String,
    /// `To Do`, `In Progress`, `Done`.
    pub status: String,
    pub priority: String,
    /// "Account ID" (`customfield_10050`).
    pub account_id: Option<String>,
    /// "Support ID" (`customfield_10051`).
    pub support_id: Option<String>,
    pub story_points: Option<f64>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// Everything the JIRA site holds, issues in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JiraData {
    pub issues: Vec<Issue>,
}

fn status(name: &str) -> Value {
    let (id, category) = match name {
        "Done" => ("10002", json!({"id": 3, "key": "done", "name": "Done", "colorName": "green"})),
        "In Progress" => ("3", json!({"id": 4, "key": "indeterminate", "name": "In Progress", "colorName": "yellow"})),
        _ => ("10000", json!({"id": 2, "key": "new", "name": "To Do", "colorName": "blue-gray"})),
    };
    json!({"id": id, "name": name, "statusCategory": category})
}

impl Issue {
    /// The value of every field of the issue, by field id.
    pub fn fields(&self, base: &str) -> Map<String, Value> {
        let mut f = Map::new();
        let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        f.insert("summary".into(), json!(self.summary));
        f.insert("status".into(), status(&self.status));
        f.insert("priority".into(), json!({"id": "3", "name": self.priority}));
        f.insert("issuetype".into(), json!({"id": "10001", "name": "Support", "subtask": false}));
        f.insert(
            "project".into(),
            json!({"id": "10000", "key": PROJECT, "name": "Support", "self": format!("{base}/rest/api/3/project/10000")}),
        );
        f.insert("created".into(), json!(jira_time(self.created)));
        f.insert("updated".into(), json!(jira_time(self.updated)));
        f.insert(ACCOUNT_FIELD.into(), opt(&self.account_id));
        f.insert(SUPPORT_FIELD.into(), opt(&self.support_id));
        f.insert(STORY_POINTS.into(), self.story_points.map_or(Value::Null, Value::from));
        // No comments are generated; the page of them is there, as `*all` returns it.
        f.insert(
            "comment".into(),
            json!({"comments": [], "self": format!("{base}/rest/api/3/issue/{}/comment", self.id), "maxResults": 0, "total": 0, "startAt": 0}),
        );
        f
    }

    /// The issue as `IssueBean`, with the fields `keep` accepts.
    pub fn to_json(&self, base: &str, keep: impl Fn(&str) -> bool) -> Value {
        let fields: Map<String, Value> = self.fields(base).into_iter().filter(|(k, _)| keep(k)).collect();
        json!({
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": self.id.to_string(),
            "key": self.key,
            "self": format!("{base}/rest/api/3/issue/{}", self.id),
            "fields": fields,
        })
    }
}

/// A field of the site: (id, name, custom, schema type).
pub const FIELDS: &[(&str, &str, bool, &str)] = &[
    ("summary", "Summary", false, "string"),
    ("status", "Status", false, "status"),
    ("priority", "Priority", false, "priority"),
    ("issuetype", "Issue Type", false, "issuetype"),
    ("project", "Project", false, "project"),
    ("created", "Created", false, "datetime"),
    ("updated", "Updated", false, "datetime"),
    ("comment", "Comment", false, "comments-page"),
    (STORY_POINTS, "Story point estimate", true, "number"),
    (ACCOUNT_FIELD, "Account ID", true, "string"),
    (SUPPORT_FIELD, "Support ID", true, "string"),
];

/// `GET /rest/api/3/field`: every field as `FieldDetails`.
pub fn field_list() -> Value {
    let fields: Vec<Value> = FIELDS
        .iter()
        .map(|(id, name, custom, kind)| {
            let (schema, clauses) = if *custom {
                let n: i64 = id.trim_start_matches("customfield_").parse().unwrap_or(0);
                let plugin = if *kind == "number" { "float" } else { "textfield" };
                (
                    json!({"type": kind, "custom": format!("com.atlassian.jira.plugin.system.customfieldtypes:{plugin}"), "customId": n}),
                    json!([format!("cf[{n}]"), name]),
                )
            } else {
                (json!({"type": kind, "system": id}), json!([id]))
            };
            json!({
                "id": id,
                "key": id,
                "name": name,
                "custom": custom,
                "orderable": true,
                "navigable": true,
                "searchable": true,
                "clauseNames": clauses,
                "schema": schema,
            })
        })
        .collect();
    Value::Array(fields)
}
