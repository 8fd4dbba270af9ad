//! Freshdesk read through a `kind = "http"` source, `examples/rest/freshdesk.toml`, instead of
//! the shipped connector: the harness's cases run on it unchanged and must find the same records.
//! Only the example's host, key and page size are changed here, to the emulator's.

use accord_sandbox::Sandbox;

/// The settings of the harness entry that reads Freshdesk through the example.
pub const SETTINGS: &str = "# kind = \"http\": examples/rest/freshdesk.toml\n";

const EXAMPLE: &str = include_str!("../../../../examples/rest/freshdesk.toml");

/// `toml` (the sandbox's accord.toml) with its `freshdesk` source replaced by the example, `extra`
/// settings (a rate limit) in the example's source table.
pub fn freshdesk_as_http(sb: &Sandbox, toml: &str, extra: &str) -> String {
    let header = "[sources.freshdesk]\n";
    let start = toml.find(header).expect("the sandbox config has a freshdesk source");
    let body = start + header.len();
    let end = toml[body..].find("\n[").map_or(toml.len(), |i| body + i + 1);
    let limits = if toml[start..end].contains("unthrottled = true") { "unthrottled = true\n" } else { "" };
    let mut example = EXAMPLE.to_owned();
    let mut swap = |from: &str, to: &str| {
        assert!(example.contains(from), "the example no longer has {from:?}");
        example = example.replace(from, to);
    };
    swap("https://acme.freshdesk.com", &sb.freshdesk.base_url());
    swap("{ env = \"FRESHDESK_API_KEY\" }", "{ file = \"freshdesk_api_key\" }");
    swap("custom_fields.account_id", &format!("custom_fields.{}", accord_sandbox::freshdesk::model::ACCOUNT_ID_FIELD));
    // Several pages per object at the harness's size.
    swap("per_page = 100", "per_page = 20");
    if extra.contains("rate_limit") {
        swap("rate_limit = { requests = 200, per_seconds = 60 }", "");
    }
    let example = example.replacen(header, &format!("{header}{extra}{limits}"), 1);
    let out = format!("{}{example}\n{}", &toml[..start], &toml[end..]);
    assert!(!out.contains("kind = \"freshdesk\""), "the shipped connector is out of this config");
    out
}
