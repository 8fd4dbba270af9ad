//! The web app in headless Chromium, driven over WebDriver (`fantoccini` talking to Debian's
//! `chromedriver`). Each test starts its own server and browser; they run one at a time. Every
//! page visited is photographed at 1280 and 390 px wide into `<target>/web-screenshots/`.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` the tests print why and pass, unless
//! `ACCORD_REQUIRE_BROWSER=1` (CI), where that is a failure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::fixture::{PASSWORD, Served};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One browser at a time: two cores, and Chromium is heavy.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A browser session and the chromedriver serving it (killed on drop).
struct Browser {
    client: Client,
    driver: Child,
    base: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Whether the browser tests can run here; says why not.
fn available() -> bool {
    let missing: Vec<&str> =
        [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !std::path::Path::new(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "browser tests skipped: {} not installed (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    if std::env::var("ACCORD_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("{why}, and ACCORD_REQUIRE_BROWSER=1");
    }
    eprintln!("{why}");
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The screenshots folder: `<target>/web-screenshots` (beside `debug/`).
fn shots_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let dir = target.join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    async fn start(base: &str) -> Browser {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(HttpConnector::new()).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => {
                    return Browser { client, driver, base: base.to_owned(), _profile: profile };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot reach chromedriver on {url}: {last:?}");
    }

    async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn text(&self, css: &str) -> String {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.unwrap()
    }

    async fn body(&self) -> String {
        self.text("body").await
    }

    /// Clicks what loads a new page (a link, a submit button) and waits for that page.
    async fn click(&self, css: &str) {
        let e = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        self.navigating(e).await;
    }

    async fn navigating(&self, e: fantoccini::elements::Element) {
        self.client.execute("window.__stale = true;", vec![]).await.unwrap();
        e.click().await.unwrap();
        self.wait_new_page().await;
    }

    /// Waits until the document marked `__stale` is replaced by a loaded one.
    async fn wait_new_page(&self) {
        for _ in 0..200 {
            let fresh = self
                .client
                .execute("return window.__stale === undefined && document.readyState === 'complete';", vec![])
                .await;
            if matches!(fresh, Ok(serde_json::Value::Bool(true))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page after 10 s");
    }

    async fn fill(&self, css: &str, value: &str) {
        let e = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    async fn sign_in(&self, name: &str) {
        self.goto("/signin").await;
        self.fill("#name", name).await;
        self.fill("#password", PASSWORD).await;
        self.click("form.signin button[type=submit]").await;
        assert_eq!(self.path().await, "/accounts", "{name} signs in: {}", self.body().await);
    }

    /// Photographs the page at both widths, then returns to 1280 px.
    async fn shoot(&self, name: &str) {
        for (width, height) in [(1280, 900), (390, 844)] {
            self.client.set_window_size(width, height).await.unwrap();
            if width == 390 {
                assert!(!self.overflows().await, "{name}: at 390 px the page scrolls sideways");
            }
            let png = self.client.screenshot().await.unwrap();
            assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
            std::fs::write(shots_dir().join(format!("{name}-{width}.png")), png).unwrap();
        }
        self.client.set_window_size(1280, 900).await.unwrap();
    }

    /// Whether the document is wider than the window (horizontal scrolling of the whole page).
    async fn overflows(&self) -> bool {
        let v = self
            .client
            .execute("return document.documentElement.scrollWidth > window.innerWidth + 1;", vec![])
            .await
            .unwrap();
        v.as_bool().unwrap()
    }
}

/// Runs a browser test against a fresh server, if a browser is installed.
fn with_browser<F>(test: impl FnOnce(Browser, &'static Served) -> F)
where
    F: std::future::Future<Output = ()>,
{
    if !available() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // Leaked: the runtime and data live until the process ends, after the browser is gone.
    let served: &'static Served = Box::leak(Box::new(Served::start()));
    served.runtime.block_on(async {
        let browser = Browser::start(&served.base).await;
        test(browser, served).await;
    });
}

#[test]
fn sign_in_and_sign_out() {
    with_browser(|b, _| async move {
        b.goto("/accounts").await;
        assert!(b.path().await.starts_with("/signin?next="), "signed out pages send to the sign-in form");
        b.shoot("signin").await;
        b.fill("#name", "vera").await;
        b.fill("#password", "wrong password").await;
        b.click("form.signin button[type=submit]").await;
        assert!(b.text("[role=alert]").await.contains("wrong user name or password"));
        b.fill("#password", PASSWORD).await;
        b.click("form.signin button[type=submit]").await;
        assert_eq!(b.path().await, "/accounts", "back where the user was going");
        assert!(b.text("header .who").await.contains("vera · viewer"));
        b.shoot("accounts").await;
        b.click("header .who button").await;
        assert_eq!(b.path().await, "/signin");
        b.goto("/doctor").await;
        assert!(b.path().await.starts_with("/signin"), "signed out for good");
        b.client.clone().close().await.unwrap();
    });
}

#[test]
fn a_viewer_is_refused_the_operator_actions() {
    with_browser(|b, s| async move {
        b.sign_in("vera").await;
        b.goto("/quarantine").await;
        assert!(b.body().await.contains("Retrying needs the operator role"));
        assert!(b.client.find(Locator::Css("#retry-selected")).await.is_err(), "no retry form for a viewer");
        b.goto("/integrations").await;
        assert!(b.body().await.contains("Starting a sync needs the operator role"));
        b.goto(&format!("/quarantine/{}", s.fixable)).await;
        assert!(!b.body().await.contains("Retry this record"));
        // A forged form with the viewer's own valid token: the server refuses it.
        b.client.execute("window.__stale = true;", vec![]).await.unwrap();
        b.client
            .execute(
                "const f = document.createElement('form'); f.method = 'post'; f.action = '/quarantine/retry';
                 for (const [k, v] of [['csrf', document.querySelector('input[name=csrf]').value], ['mode', 'all']]) {
                   const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
                 }
                 document.body.appendChild(f); f.submit();",
                vec![],
            )
            .await
            .unwrap();
        b.wait_new_page().await;
        let refusal = b.body().await;
        assert!(refusal.contains("403") && refusal.contains("needs the operator role"), "{refusal}");
        assert!(s.hub.store.quarantine_entry(s.fixable).unwrap().is_some(), "nothing was retried");
        b.client.clone().close().await.unwrap();
    });
}

#[test]
fn an_account_found_by_search_shows_usage_tickets_and_provenance() {
    with_browser(|b, _| async move {
        b.sign_in("vera").await;
        b.fill("input[name=q]", "acme").await;
        b.click("form.filters button[type=submit]").await;
        let list = b.text("#table-accounts").await;
        assert!(list.contains("Acme Corp") && !list.contains("Globex"), "{list}");
        assert!(!b.overflows().await);
        b.client.set_window_size(390, 844).await.unwrap();
        assert!(!b.overflows().await, "at 390 px the page does not scroll sideways (tables scroll in their box)");
        b.client.set_window_size(1280, 900).await.unwrap();
        b.shoot("accounts-search").await;
        b.navigating(b.client.find(Locator::LinkText("1001")).await.unwrap()).await;
        assert_eq!(b.path().await, "/accounts/1001");
        assert_eq!(b.text("h1").await, "Acme Corp");
        // Usage: the chart has its three lines, and the features table the acme events.
        let lines = b.client.find_all(Locator::Css("#usage-chart polyline")).await.unwrap();
        assert_eq!(lines.len(), 3, "DAU, WAU and MAU");
        assert!(b.text("#table-features").await.contains("export"));
        // Tickets on the timeline, provenance of each linked record.
        let timeline = b.text("#table-timeline").await;
        assert!(timeline.contains("Login fails after SSO change") && timeline.contains("T-1"), "{timeline}");
        let linked = b.text("#table-linked").await;
        assert!(linked.contains("T-1") && linked.contains("parent (rule 1)") && linked.contains("501"), "{linked}");
        assert!(b.text("#table-ids").await.contains("0015g00000AcmeAAA"), "the CRM id");
        assert_eq!(b.client.find_all(Locator::Css("#mrr-chart polyline")).await.unwrap().len(), 1, "the MRR chart");
        b.shoot("account-360").await;
        // Keyboard: the skip link is the first stop and leads to the content.
        b.client.execute("document.activeElement.blur();", vec![]).await.unwrap();
        b.client.find(Locator::Css("body")).await.unwrap().send_keys("\u{E004}").await.unwrap();
        let focused = b.client.execute("return document.activeElement.textContent;", vec![]).await.unwrap();
        assert_eq!(focused.as_str(), Some("Skip to content"));
        b.client.clone().close().await.unwrap();
    });
}

#[test]
fn a_rejection_is_explained_and_retried_and_leaves_the_quarantine() {
    with_browser(|b, s| async move {
        b.sign_in("otto").await;
        b.goto("/quarantine?source=product&object=users").await;
        assert!(b.text("#table-rejections").await.contains("u-420"));
        b.shoot("quarantine").await;
        b.navigating(b.client.find(Locator::LinkText(&s.fixable.to_string())).await.unwrap()).await;
        assert_eq!(b.path().await, format!("/quarantine/{}", s.fixable));
        let page = b.body().await;
        assert!(page.contains("unknown_account") && page.contains("\"1042.0\""), "{page}");
        assert!(b.text("#fixes").await.contains("integer_text"), "the fix is named");
        assert!(page.contains("Keys tried") && page.contains("\"account_id\""), "payload and keys tried");
        b.shoot("rejection-explained").await;
        b.navigating(b.client.find(Locator::XPath("//button[text()='Retry this record']")).await.unwrap()).await;
        let result = b.text("#retry-result").await;
        assert!(result.contains("1 linked"), "{result}");
        assert!(s.hub.store.quarantine_entry(s.fixable).unwrap().is_none());
        b.goto("/quarantine?source=product&object=users").await;
        assert!(!b.text("#table-rejections").await.contains("u-420"), "gone from the quarantine");
        b.goto("/accounts/1042").await;
        assert!(b.text("#table-linked").await.contains("u-420"), "linked to 1042 now");
        b.client.clone().close().await.unwrap();
    });
}

#[test]
fn an_operator_starts_a_sync_from_the_integrations_page_and_watches_it() {
    with_browser(|b, s| async move {
        let runs_before = s.hub.store.runs(Some("crm"), 10).unwrap().len();
        b.sign_in("otto").await;
        b.goto("/integrations").await;
        assert!(b.text("#table-objects").await.contains("tickets"));
        b.shoot("integrations").await;
        b.click("#sync-form button[type=submit]").await;
        assert!(b.path().await.starts_with("/integrations/sync/"));
        // The page refreshes itself while the sync runs.
        let mut state = String::new();
        for _ in 0..300 {
            state = b
                .client
                .find(Locator::Css("#sync-status"))
                .await
                .unwrap()
                .attr("data-state")
                .await
                .unwrap()
                .unwrap_or_default();
            if state != "running" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(state, "done", "{}", b.body().await);
        let progress = b.text("#table-progress").await;
        assert!(progress.contains("crm") && progress.contains("tickets") && progress.contains("done"), "{progress}");
        assert!(b.text("#sync-status").await.contains("Finished"));
        b.shoot("sync-finished").await;
        assert_eq!(s.hub.store.runs(Some("crm"), 10).unwrap().len(), runs_before + 1, "a new run of the crm source");
        b.goto("/doctor").await;
        assert!(b.text("#table-coverage").await.contains("support"));
        b.shoot("doctor").await;
        b.client.clone().close().await.unwrap();
    });
}

#[test]
fn forged_forms_and_lost_sessions_are_refused() {
    with_browser(|b, s| async move {
        b.sign_in("ada").await;
        b.goto("/users").await;
        b.shoot("users").await;
        // A form whose token was tampered with.
        b.goto(&format!("/quarantine/{}", s.fixable)).await;
        b.client
            .execute("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged');", vec![])
            .await
            .unwrap();
        b.navigating(b.client.find(Locator::XPath("//button[text()='Retry this record']")).await.unwrap()).await;
        let refusal = b.body().await;
        assert!(refusal.contains("security token"), "{refusal}");
        assert!(s.hub.store.quarantine_entry(s.fixable).unwrap().is_some(), "nothing was retried");
        // The session cookie is not readable by scripts (HttpOnly) ...
        let visible = b.client.execute("return document.cookie;", vec![]).await.unwrap();
        assert!(!visible.as_str().unwrap_or_default().contains("accord_session"), "{visible}");
        // ... and without it the browser is signed out.
        b.client.delete_cookie("accord_session").await.unwrap();
        b.goto("/accounts").await;
        assert!(b.path().await.starts_with("/signin"));
        b.client.clone().close().await.unwrap();
    });
}
