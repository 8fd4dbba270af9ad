//! A served hub for the tests: the `examples/acme` company synced with its own config, then served
//! with a changed config (product users get `normalize = ["integer_text"]`), so the quarantine
//! holds a rejection that a retry links. Three web users, one per role.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use accord_core::Config;
use accord_engine::Hub;
use accord_engine::sync::Quiet;
use accord_store::RecordKey;
use accord_web::Role;

pub const PASSWORD: &str = "a long enough password";

/// A server on a loopback port, with its runtime and data folder.
pub struct Served {
    pub runtime: tokio::runtime::Runtime,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub hub: Arc<Hub>,
    /// The quarantine id of `product/users/u-420`, whose `"1042.0"` links once the server's config
    /// normalizes it.
    pub fixable: i64,
}

fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

/// The config of the served hub: acme's, with its store in `dir` and, when `fixed`, the
/// normalizer that repairs u-420's account id.
fn config(dir: &Path, fixed: bool) -> Config {
    let mut text = std::fs::read_to_string(acme().join("accord.toml")).expect("examples/acme/accord.toml");
    text = text
        .replace("store = \"sqlite://accord.db\"", &format!("store = \"sqlite://{}\"", dir.join("hub.db").display()));
    if fixed {
        text = text.replace(
            "path = \"product_users.csv\"\nnative_id = \"user_id\"",
            "path = \"product_users.csv\"\nnative_id = \"user_id\"\nnormalize = [\"integer_text\"]",
        );
        assert!(text.contains("integer_text"), "the acme config changed: update the fixture");
    }
    for entry in std::fs::read_dir(acme()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "accord.toml" {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    let path = dir.join(if fixed { "served.toml" } else { "synced.toml" });
    std::fs::write(&path, text).unwrap();
    Config::load(&path).expect("the fixture's config loads")
}

impl Served {
    pub fn start() -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        {
            let hub = Hub::open(config(dir.path(), false)).unwrap();
            let report = accord_engine::sync(&hub, &Default::default(), &Quiet, runtime.handle()).unwrap();
            assert!(!report.failed(), "the acme sync fails: {report:?}");
        }
        let hub = Arc::new(Hub::open(config(dir.path(), true)).unwrap());
        let fixable = hub
            .store
            .quarantined(&RecordKey::new("product", "users", "u-420"))
            .unwrap()
            .expect("u-420 is quarantined by the unnormalized sync")
            .id;
        for (name, role) in [("vera", Role::Viewer), ("otto", Role::Operator), ("ada", Role::Admin)] {
            accord_web::users::add(hub.store.as_ref(), name, role, PASSWORD).unwrap();
        }
        let base = serve(&runtime, hub.clone());
        Served { runtime, base, dir, hub, fixable }
    }

    /// Another server on the same store (another process, or this one after a restart).
    pub fn restart(&self) -> String {
        let hub = Arc::new(Hub::open(config(self.dir.path(), true)).unwrap());
        serve(&self.runtime, hub)
    }
}

fn serve(runtime: &tokio::runtime::Runtime, hub: Arc<Hub>) -> String {
    let _guard = runtime.enter();
    let state = accord_server::AppState::new(
        hub,
        accord_core::secret::SecretString::new("test-api-key"),
        vec![],
        1 << 20,
        None,
        None,
        accord_server::webhooks::Webhooks::default(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    runtime.spawn(async move { axum::serve(listener, accord_server::app(state)).await });
    format!("http://{addr}")
}
