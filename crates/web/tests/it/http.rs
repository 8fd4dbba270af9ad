//! The web app over plain HTTP: sign-in, cookies, CSRF, roles, sessions, the rate limit, CSV.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::fixture::{PASSWORD, Served};

/// A browser without a browser: keeps the cookies it is given, follows no redirect.
pub struct Agent {
    http: reqwest::Client,
    base: String,
    pub cookies: BTreeMap<String, String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub content_type: String,
    pub body: String,
}

/// The `value` of `name="csrf" value="..."` in a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("the page has a CSRF field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

impl Agent {
    pub fn new(base: &str) -> Agent {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Agent { http, base: base.to_owned(), cookies: BTreeMap::new() }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let req = if cookie.is_empty() { req } else { req.header(COOKIE, cookie) };
        let res = req.send().await.unwrap();
        let set_cookies: Vec<String> =
            res.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for c in &set_cookies {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        Answer {
            status: res.status(),
            location: res.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned()),
            set_cookies,
            content_type: res
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    /// Signs in through the form; returns the answer to the POST.
    pub async fn sign_in(&mut self, name: &str, password: &str) -> Answer {
        let form = self.get("/signin").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = csrf_of(&form.body);
        self.post("/signin", &[("csrf", &csrf), ("name", name), ("password", password), ("next", "/accounts")]).await
    }

    /// The CSRF token of the signed-in session, read from a page's sign-out form.
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/accounts").await;
        assert_eq!(page.status, StatusCode::OK, "signed in");
        csrf_of(&page.body)
    }
}

#[test]
fn pages_need_a_session_and_assets_do_not() {
    let s = Served::start();
    s.runtime.block_on(async {
        let mut a = Agent::new(&s.base);
        for path in ["/accounts", "/accounts/1001", "/quarantine", "/integrations", "/doctor", "/users"] {
            let r = a.get(path).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
            assert!(r.location.as_deref().unwrap().starts_with("/signin?next="), "{path}: {:?}", r.location);
        }
        let r = a.get("/assets/app.css").await;
        assert_eq!((r.status, r.content_type.as_str()), (StatusCode::OK, "text/css; charset=utf-8"));
        assert!(r.body.contains("table-wrap"));
        let r = a.post("/quarantine/retry", &[("mode", "all")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "a POST without a session is sent to sign in");
        // The API keeps its key and knows nothing of sessions.
        assert_eq!(a.get("/api/v2/accounts").await.status, StatusCode::UNAUTHORIZED);
    });
}

#[test]
fn sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_the_session() {
    let s = Served::start();
    s.runtime.block_on(async {
        let mut a = Agent::new(&s.base);
        let r = a.sign_in("vera", PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location.as_deref(), Some("/accounts"));
        let session = r.set_cookies.iter().find(|c| c.starts_with("accord_session=")).expect("a session cookie");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
            assert!(session.contains(attr), "{session} lacks {attr}");
        }
        assert!(!session.contains("Secure"), "plain HTTP on loopback: no Secure flag ({session})");
        let token = a.cookies["accord_session"].clone();
        assert_eq!(token.len(), 64, "256 random bits");
        let page = a.get("/accounts").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("vera · viewer"), "the header names the user and role");

        let csrf = csrf_of(&page.body);
        let out = a.post("/signout", &[("csrf", &csrf)]).await;
        assert_eq!((out.status, out.location.as_deref()), (StatusCode::SEE_OTHER, Some("/signin")));
        assert!(!a.cookies.contains_key("accord_session"), "the cookie is cleared");
        // The old token no longer opens anything: the session is gone from the store.
        a.cookies.insert("accord_session".into(), token);
        assert_eq!(a.get("/accounts").await.status, StatusCode::SEE_OTHER);
        a.cookies.insert("accord_session".into(), "0".repeat(64));
        assert_eq!(a.get("/accounts").await.status, StatusCode::SEE_OTHER, "a made-up token");
    });
}

#[test]
fn behind_https_the_cookie_is_secure() {
    let s = Served::start();
    s.runtime.block_on(async {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let form = http.get(format!("{}/signin", s.base)).header("x-forwarded-proto", "https").send().await.unwrap();
        let seed = form.headers().get(SET_COOKIE).unwrap().to_str().unwrap().to_owned();
        assert!(seed.ends_with("; Secure"), "{seed}");
        let seed_value = seed.split(';').next().unwrap().to_owned();
        let csrf = csrf_of(&form.text().await.unwrap());
        let r = http
            .post(format!("{}/signin", s.base))
            .header("x-forwarded-proto", "https")
            .header(COOKIE, seed_value)
            .form(&[("csrf", csrf.as_str()), ("name", "vera"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let session: Vec<_> = r.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        assert!(session.iter().any(|c| c.starts_with("accord_session=") && c.ends_with("; Secure")), "{session:?}");
    });
}

#[test]
fn wrong_passwords_and_forged_sign_in_forms_are_refused() {
    let s = Served::start();
    s.runtime.block_on(async {
        let mut a = Agent::new(&s.base);
        let r = a.sign_in("vera", "not the password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("wrong user name or password"));
        assert!(!a.cookies.contains_key("accord_session"));
        let r = a.sign_in("nobody", PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "an unknown name gets the same answer");
        assert!(r.body.contains("wrong user name or password"));
        // CSRF on the sign-in form: the token must match the sign-in cookie.
        let r = a.post("/signin", &[("csrf", "0123"), ("name", "vera"), ("password", PASSWORD)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let mut fresh = Agent::new(&s.base);
        let csrf = csrf_of(&a.get("/signin").await.body);
        let r = fresh.post("/signin", &[("csrf", &csrf), ("name", "vera"), ("password", PASSWORD)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "a token without its cookie (another browser's form)");
        assert!(!fresh.cookies.contains_key("accord_session"));
    });
}

#[test]
fn repeated_failures_lock_the_name_and_the_lock_is_stored() {
    let s = Served::start();
    s.runtime.block_on(async {
        let mut a = Agent::new(&s.base);
        for i in 0..5 {
            let r = a.sign_in("otto", "guess").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        }
        let r = a.sign_in("otto", PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the right password is refused too while locked");
        assert!(r.body.contains("too many failed sign-ins"), "{}", r.body);
        assert!(!a.cookies.contains_key("accord_session"));
        // Another server on the same store (another process, or after a restart) holds the lock.
        let mut b = Agent::new(&s.restart());
        assert_eq!(b.sign_in("otto", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
        // Other names are not affected.
        assert_eq!(b.sign_in("ada", PASSWORD).await.status, StatusCode::SEE_OTHER);
    });
}

#[test]
fn sessions_survive_a_restart() {
    let s = Served::start();
    s.runtime.block_on(async {
        let mut a = Agent::new(&s.base);
        assert_eq!(a.sign_in("vera", PASSWORD).await.status, StatusCode::SEE_OTHER);
        let mut b = Agent::new(&s.restart());
        b.cookies = a.cookies.clone();
        let page = b.get("/accounts").await;
        assert_eq!(page.status, StatusCode::OK, "the session is in the store, not in the process");
        assert!(page.body.contains("vera · viewer"));
    });
}

#[test]
fn every_post_checks_the_csrf_token_of_its_session() {
    let s = Served::start();
    s.runtime.block_on(async {
        let mut otto = Agent::new(&s.base);
        assert_eq!(otto.sign_in("otto", PASSWORD).await.status, StatusCode::SEE_OTHER);
        let mut ada = Agent::new(&s.base);
        assert_eq!(ada.sign_in("ada", PASSWORD).await.status, StatusCode::SEE_OTHER);
        let ada_csrf = ada.csrf().await;
        let id = s.fixable.to_string();
        for form in [
            vec![("mode", "selected"), ("id", id.as_str())],
            vec![("mode", "selected"), ("id", id.as_str()), ("csrf", ada_csrf.as_str())],
        ] {
            let r = otto.post("/quarantine/retry", &form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{form:?}");
            assert!(r.body.contains("security token"), "{}", r.body);
        }
        for path in ["/signout", "/integrations/sync", "/accounts/1001/deactivate", "/users"] {
            assert_eq!(otto.post(path, &[("csrf", "forged")]).await.status, StatusCode::FORBIDDEN, "{path}");
        }
        assert!(s.hub.store.quarantine_entry(s.fixable).unwrap().is_some(), "nothing was retried");
        assert_eq!(s.hub.store.account("1001").unwrap().unwrap().status, accord_store::AccountStatus::Active);
        // With its own token the same request goes through.
        let csrf = otto.csrf().await;
        let r = otto.post("/quarantine/retry", &[("mode", "selected"), ("id", &id), ("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    });
}

#[test]
fn roles_decide_who_retries_syncs_deactivates_and_manages_users() {
    let s = Served::start();
    s.runtime.block_on(async {
        let mut vera = Agent::new(&s.base);
        assert_eq!(vera.sign_in("vera", PASSWORD).await.status, StatusCode::SEE_OTHER);
        let csrf = vera.csrf().await;
        let id = s.fixable.to_string();
        let attempts: [(&str, Vec<(&str, &str)>); 4] = [
            ("/quarantine/retry", vec![("mode", "selected"), ("id", &id)]),
            ("/integrations/sync", vec![]),
            ("/accounts/1001/deactivate", vec![("reason", "test")]),
            ("/users", vec![("name", "mallory"), ("role", "admin"), ("password", PASSWORD)]),
        ];
        for (path, mut form) in attempts {
            form.push(("csrf", &csrf));
            let r = vera.post(path, &form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
            assert!(r.body.contains("vera is a viewer"), "{path}: {}", r.body);
        }
        assert_eq!(vera.get("/users").await.status, StatusCode::FORBIDDEN);
        let q = vera.get("/quarantine").await;
        assert!(!q.body.contains("Retry selected") && q.body.contains("Retrying needs the operator role"));
        assert!(s.hub.store.quarantine_entry(s.fixable).unwrap().is_some());
        assert!(s.hub.store.web_user("mallory").unwrap().is_none());
        assert_eq!(s.hub.store.account("1001").unwrap().unwrap().status, accord_store::AccountStatus::Active);

        // An operator may retry and deactivate, not manage users.
        let mut otto = Agent::new(&s.base);
        assert_eq!(otto.sign_in("otto", PASSWORD).await.status, StatusCode::SEE_OTHER);
        let csrf = otto.csrf().await;
        let r = otto.post("/quarantine/retry", &[("mode", "selected"), ("id", &id), ("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("1 linked"), "{}", r.body);
        assert!(s.hub.store.quarantine_entry(s.fixable).unwrap().is_none(), "u-420 left the quarantine");
        assert_eq!(otto.get("/users").await.status, StatusCode::FORBIDDEN);
        let r = otto.post("/accounts/1002/deactivate", &[("reason", "churned"), ("csrf", &csrf)]).await;
        assert_eq!((r.status, r.location.as_deref()), (StatusCode::SEE_OTHER, Some("/accounts/1002")));
        assert_eq!(s.hub.store.account("1002").unwrap().unwrap().status, accord_store::AccountStatus::Deleted);
        let r = otto.post("/accounts/1002/restore", &[("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(s.hub.store.account("1002").unwrap().unwrap().status, accord_store::AccountStatus::Active);

        // An admin adds users.
        let mut ada = Agent::new(&s.base);
        assert_eq!(ada.sign_in("ada", PASSWORD).await.status, StatusCode::SEE_OTHER);
        let csrf = ada.csrf().await;
        let r = ada
            .post("/users", &[("name", "nina"), ("role", "operator"), ("password", PASSWORD), ("csrf", &csrf)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(s.hub.store.web_user("nina").unwrap().unwrap().role, "operator");
        let r =
            ada.post("/users", &[("name", "short"), ("role", "viewer"), ("password", "short"), ("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.body.contains("at least 10 characters"));
    });
}

#[test]
fn pages_show_the_hub_and_every_table_downloads_as_csv() {
    let s = Served::start();
    s.runtime.block_on(async {
        let mut a = Agent::new(&s.base);
        assert_eq!(a.sign_in("vera", PASSWORD).await.status, StatusCode::SEE_OTHER);
        let list = a.get("/accounts?q=glob").await;
        assert!(list.body.contains("Globex") && !list.body.contains("Acme Corp"), "search by name");
        let list = a.get("/accounts?f=a%3APlan&v=Enterprise").await;
        assert!(list.body.contains("Acme Corp") && !list.body.contains("Globex"), "filter by a SOR field");
        let csv = a.get("/accounts?csv=accounts").await;
        assert_eq!(csv.content_type, "text/csv; charset=utf-8");
        let mut lines = csv.body.lines();
        assert_eq!(
            lines.next(),
            Some("Account id,Name,Join date,Status,MRR,Last activity,Active users (30 d),Open tickets,Rejections near")
        );
        // The fixture has a billing source: the list shows each account's MRR as the 360 view does.
        assert!(csv.body.contains("1001,Acme Corp,2021-03-04,active,5039.50,"), "{}", csv.body);

        let view = a.get("/accounts/1001").await;
        assert_eq!(view.status, StatusCode::OK);
        for expected in ["<polyline", "Login fails after SSO change", "parent (rule 1)", "Top features"] {
            assert!(view.body.contains(expected), "the 360 page lacks {expected:?}");
        }
        let tickets = a.get("/accounts/1001?csv=timeline").await;
        assert!(tickets.body.starts_with("When,Kind,Summary,Status,Source,Record\n"));
        assert!(
            tickets.body.contains(",ticket,Login fails after SSO change,open,support/tickets,T-1"),
            "{}",
            tickets.body
        );
        let mrr = a.get("/accounts/1001?csv=mrr").await;
        let now = mrr.body.lines().nth(1).unwrap_or_default().to_owned();
        assert!(now.ends_with(",5039.50"), "MRR now, as the 360 view counts it: {}", mrr.body);
        assert_eq!(mrr.body.lines().count(), 1 + 13, "12 month starts and now");
        let missing = a.get("/accounts/1001?csv=nope").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.body.contains("its tables: ids, features"));
        assert_eq!(a.get("/accounts/no-such-id").await.status, StatusCode::NOT_FOUND);

        for (page, table, expect) in [
            ("/quarantine", "rejections", "u-420"),
            ("/quarantine", "summary", "unknown_account"),
            ("/integrations", "objects", "support,tickets,ticket"),
            ("/integrations", "runs", "crm,file"),
            ("/integrations", "runs", "error,schedule,next run"),
            ("/doctor", "coverage", "support,tickets,ticket"),
            ("/doctor", "hygiene", "float"),
            ("/doctor", "shared-emails", "pat@agency.io"),
        ] {
            let r = a.get(&format!("{page}?csv={table}")).await;
            assert_eq!(r.status, StatusCode::OK, "{page} {table}");
            assert!(r.body.to_lowercase().contains(&expect.to_lowercase()), "{page} {table}: {}", r.body);
        }
        let explain = a.get(&format!("/quarantine/{}", s.fixable)).await;
        assert!(explain.body.contains("integer_text") && explain.body.contains("1042.0"), "{}", explain.body);
        let hinted = a.get("/quarantine?hint=whitespace").await;
        assert!(hinted.body.contains("503") && !hinted.body.contains("u-420"), "the hint filter");
    });
}
