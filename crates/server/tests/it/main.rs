//! `accord serve` over real loopback HTTP: every route, the `failed_results` contract, the Event
//! API, authentication and limits.

mod api;
mod clients;
mod events;
mod natero;
mod webhooks;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use accord_core::Config;
use accord_engine::Hub;
use serde_json::Value;

pub const KEY: &str = "test-api-key-123";
pub const AUTH: &str = "auth-xyz";
pub const SEND: &str = "send-xyz";
pub const METRICS_KEY: &str = "scrape-key-456";

/// A running server on an ephemeral loopback port.
#[allow(missing_debug_implementations)]
pub struct Server {
    pub addr: SocketAddr,
    pub hub: Arc<Hub>,
    _dir: tempfile::TempDir,
    _task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(1024 * 1024).await
    }

    pub async fn start_with(body_limit: u64) -> Self {
        Self::start_config(body_limit, "").await
    }

    /// A server whose `[server]` table gets `extra` lines too (`metrics_key = ...`).
    pub async fn start_config(body_limit: u64, extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("accounts.csv"), "id,name,joined\n").unwrap();
        std::fs::write(dir.path().join("key"), KEY).unwrap();
        std::fs::write(dir.path().join("auth"), AUTH).unwrap();
        std::fs::write(dir.path().join("send"), SEND).unwrap();
        std::fs::write(dir.path().join("metrics_key"), METRICS_KEY).unwrap();
        let toml = format!(
            r#"
store = "sqlite://hub.db"
[system_of_record]
source = "crm"
object = "accounts"
account_id = "id"
name = "name"
join_date = "joined"
[sources.crm]
kind = "file"
[[sources.crm.objects]]
name = "accounts"
kind = "account"
path = "accounts.csv"
[server]
api_key = {{ file = "key" }}
body_limit_bytes = {body_limit}
{extra}
[[server.event_sources]]
source = "product"
auth_key = {{ file = "auth" }}
api_key = {{ file = "send" }}
"#
        );
        let config = Config::from_toml(&toml, dir.path()).unwrap();
        let hub = Arc::new(tokio::task::spawn_blocking(move || Hub::open(config)).await.unwrap().unwrap());
        let state = accord_server::state_from_config(hub.clone(), &hub.config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, accord_server::app(state)).await.unwrap();
        });
        Server { addr, hub, _dir: dir, _task: task }
    }

    pub fn url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("http://{}{path}{sep}api_key={KEY}", self.addr)
    }

    pub fn bare(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn events_url(&self) -> String {
        format!("http://{}/v1/{AUTH}/{SEND}", self.addr)
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub async fn get(s: &Server, path: &str) -> (u16, Value) {
    let r = client().get(s.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

pub async fn send(s: &Server, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let r = client().request(method, s.url(path)).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

pub async fn post(s: &Server, path: &str, body: Value) -> (u16, Value) {
    send(s, reqwest::Method::POST, path, body).await
}

/// A request to a full URL with a raw body (as a client library builds it), answered as JSON.
pub async fn raw(method: reqwest::Method, url: &str, content_type: &str, body: &str) -> (u16, Value) {
    let mut r = client().request(method, url);
    if !body.is_empty() {
        r = r.header("content-type", content_type).body(body.to_owned());
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

pub fn accounts_body() -> Value {
    serde_json::json!({"records": [
        {"account_id": "A1", "name": "Acme", "join_date": 1598907978483_i64, "tier": "gold", "website": "acme.io"},
        {"account_id": "A2", "name": "Beta", "join_date": "2021-01-05T00:00:00Z"},
    ]})
}

#[allow(dead_code)]
pub fn fixture(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}
