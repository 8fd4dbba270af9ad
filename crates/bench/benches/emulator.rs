//! What one page costs the vendor emulators, at two sizes of data.
//!
//! `cargo bench -p accord-bench --bench emulator` prints, for each paging style the connectors
//! use, the emulators' CPU time per page (their threads, measured as in the `sync` bench) when the
//! generated company has 5,000 and 50,000 accounts: a page costs in proportion to the page when
//! the two figures are close, and to the data set when the second is about ten times the first.
//! Each style reads 200 pages of 50 records from the middle of its list (Freshdesk's and Capsule's
//! page-numbered lists, whose next page the `Link` header names, are read by page number).

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use accord_bench::threads_cpu_secs;
use accord_sandbox::{Company, Sandbox, SandboxOptions};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

const EMULATOR_THREAD: &str = "accord-emulator";
const PAGES: usize = 200;

fn main() {
    let emulators = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(EMULATOR_THREAD)
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for accounts in [5_000, 50_000] {
        let company = Company::generate(5, accounts);
        let records = company.record_count();
        let sandbox = emulators.block_on(Sandbox::start(company, SandboxOptions::unlimited())).unwrap();
        let client = reqwest::Client::new();
        let ic = format!("Bearer {}", sandbox.intercom.credentials().access_token);
        let zd = sandbox.zendesk.credentials();
        let measure = |name: &str, pages: &mut dyn FnMut() -> bool| {
            let before = threads_cpu_secs(EMULATOR_THREAD).unwrap_or(0.0);
            let mut served = 0;
            while served < PAGES && pages() {
                served += 1;
            }
            let cpu = threads_cpu_secs(EMULATOR_THREAD).unwrap_or(0.0) - before;
            println!(
                "emulator ({records} records): {name}: {:.3} ms of emulator CPU per page ({served} pages)",
                1000.0 * cpu / served.max(1) as f64
            );
        };
        let get = |url: String, auth: &str| -> Value {
            client_rt.block_on(async {
                client.get(url).header("authorization", auth).send().await.unwrap().json().await.unwrap()
            })
        };
        let post = |url: String, auth: &str, body: &Value| -> Value {
            client_rt.block_on(async {
                client.post(url).header("authorization", auth).json(body).send().await.unwrap().json().await.unwrap()
            })
        };

        // Intercom /companies: page number over companies by last update.
        let mut page = 10;
        measure("Intercom /companies?page=N (page number)", &mut || {
            page += 1;
            let body = get(format!("{}/companies?per_page=50&page={page}", sandbox.intercom.base_url()), &ic);
            !body["data"].as_array().unwrap().is_empty()
        });

        // Intercom /contacts: starting_after cursors.
        let mut after: Option<String> = None;
        measure("Intercom /contacts?starting_after= (cursor)", &mut || {
            let cursor = after.as_ref().map_or(String::new(), |c| format!("&starting_after={c}"));
            let body = get(format!("{}/contacts?per_page=50{cursor}", sandbox.intercom.base_url()), &ic);
            after = body["pages"]["next"]["starting_after"].as_str().map(str::to_owned);
            after.is_some()
        });

        // Intercom /contacts/search by updated_at, as an incremental read asks.
        let mut search = json!({
            "query": { "field": "updated_at", "operator": ">", "value": 0 },
            "pagination": { "per_page": 50 },
        });
        measure("Intercom /contacts/search updated_at > t (search cursor)", &mut || {
            let body = post(format!("{}/contacts/search", sandbox.intercom.base_url()), &ic, &search);
            match body["pages"]["next"]["starting_after"].as_str() {
                Some(next) => {
                    search["pagination"]["starting_after"] = json!(next);
                    true
                }
                None => false,
            }
        });

        // Zendesk incremental ticket export: cursor.
        let basic = format!("Basic {}", BASE64.encode(format!("{}/token:{}", zd.email, zd.api_token)));
        let mut url =
            format!("{}/api/v2/incremental/tickets/cursor.json?start_time=0&per_page=50", sandbox.zendesk.base_url());
        measure("Zendesk incremental tickets (export cursor)", &mut || {
            let body = get(url.clone(), &basic);
            url = body["after_url"].as_str().unwrap().to_owned();
            body["end_of_stream"] != json!(true)
        });

        // Zendesk incremental organizations: time-based export.
        let mut url =
            format!("{}/api/v2/incremental/organizations.json?start_time=0&per_page=50", sandbox.zendesk.base_url());
        measure("Zendesk incremental organizations (time window)", &mut || {
            let body = get(url.clone(), &basic);
            url = body["next_page"].as_str().unwrap().to_owned();
            body["end_of_stream"] != json!(true)
        });
        // Freshdesk tickets by updated_since in updated_at order, page by page (the pages the
        // `Link` headers name).
        let fd = format!("Basic {}", BASE64.encode(format!("{}:X", sandbox.freshdesk.credentials().api_key)));
        let mut page = 10;
        measure("Freshdesk /tickets?updated_since=&page=N (Link header)", &mut || {
            page += 1;
            let url = format!(
                "{}/api/v2/tickets?updated_since=1970-01-01T00:00:00Z&order_by=updated_at&order_type=asc&per_page=50&page={page}",
                sandbox.freshdesk.base_url()
            );
            !get(url, &fd).as_array().unwrap().is_empty()
        });

        // Capsule parties changed since a time, page by page.
        let cp = format!("Bearer {}", sandbox.capsule.credentials().access_token);
        let mut page = 10;
        measure("Capsule /parties?since=&page=N (Link header)", &mut || {
            page += 1;
            let url = format!(
                "{}/api/v2/parties?since=2019-06-01T00:00:00Z&embed=fields&perPage=50&page={page}",
                sandbox.capsule.base_url()
            );
            !get(url, &cp)["parties"].as_array().unwrap().is_empty()
        });
        emulators.block_on(sandbox.shutdown());
    }
}
