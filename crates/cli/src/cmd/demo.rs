//! `accord demo`: a generated company served by emulated Salesforce, Zendesk, Intercom, Delighted,
//! Freshdesk, Capsule, JIRA and Keap APIs and a Desk export, synced into an embedded SQLite file
//! with progress, summarised, then served (the web app, with a demo user, and the
//! Natero-compatible API) until Ctrl-C.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use accord_engine::sync::{Quiet, SyncObserver};
use accord_engine::{Hub, SyncOptions};
use accord_sandbox::{Company, Sandbox, SandboxOptions};
use anyhow::Context as _;
use rand::RngExt;

use super::Ctx;
use crate::output::{Progress, reasons, table};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Accounts in the generated company (records scale with it: about 9 per account).
    #[arg(long, default_value_t = 300)]
    size: usize,
    /// Seed of the generator: the same seed gives the same company.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Folder for the demo's config, secrets and SQLite file.
    #[arg(long, default_value = "accord-demo")]
    dir: PathBuf,
    /// Address of the API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Sync, print the summary and exit instead of serving.
    #[arg(long)]
    no_serve: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let db = args.dir.join("accord-demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    eprintln!("generating a company of {} accounts (seed {})...", args.size, args.seed);
    let company = Company::generate(args.seed, args.size);
    let records = company.record_count();
    let sandbox = runtime
        .block_on(Sandbox::start(company, SandboxOptions::unlimited()))
        .context("cannot start the vendor emulators")?;
    eprintln!(
        "emulators: Salesforce {}, Zendesk {}, Intercom {}, Delighted {}, Freshdesk {}, Capsule {}, JIRA {}, Keap {}, Stripe {}, Recurly {}, Maxio {}, Chargebee {}, Zuora {}, Xero {}, Braintree {}; a Desk export ({records} records)",
        sandbox.salesforce.base_url(),
        sandbox.zendesk.base_url(),
        sandbox.intercom.base_url(),
        sandbox.delighted.base_url(),
        sandbox.freshdesk.base_url(),
        sandbox.capsule.base_url(),
        sandbox.jira.base_url(),
        sandbox.keap.base_url(),
        sandbox.stripe.base_url(),
        sandbox.recurly.base_url(),
        sandbox.maxio.base_url(),
        sandbox.chargebee.base_url(),
        sandbox.zuora.base_url(),
        sandbox.xero.base_url(),
        sandbox.braintree.base_url()
    );
    let mut toml = sandbox.accord_toml(&args.dir, false)?;
    let key: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(32).map(char::from).collect();
    let (auth, send): (String, String) = (
        rand::rng().sample_iter(rand::distr::Alphanumeric).take(24).map(char::from).collect(),
        rand::rng().sample_iter(rand::distr::Alphanumeric).take(24).map(char::from).collect(),
    );
    std::fs::write(args.dir.join("api_key"), &key)?;
    std::fs::write(args.dir.join("event_auth_key"), &auth)?;
    std::fs::write(args.dir.join("event_api_key"), &send)?;
    toml.push_str(&format!(
        "\n[server]\nlisten = \"{}\"\napi_key = {{ file = \"api_key\" }}\n[[server.event_sources]]\nsource = \"product\"\nauth_key = {{ file = \"event_auth_key\" }}\napi_key = {{ file = \"event_api_key\" }}\n",
        args.listen
    ));
    let config_path = args.dir.join("accord.toml");
    std::fs::write(&config_path, toml)?;
    let hub = Arc::new(Hub::open(accord_core::Config::load(&config_path)?)?);

    let show_progress = !ctx.json && std::io::stderr().is_terminal();
    let progress = Progress::new(show_progress);
    let observer: &dyn SyncObserver = if show_progress { &progress } else { &Quiet };
    let started = std::time::Instant::now();
    let report = accord_engine::sync(&hub, &SyncOptions::default(), observer, runtime.handle())?;
    let elapsed = started.elapsed();
    let fetched: u64 = report.sources.iter().map(|s| s.counts.fetched).sum();
    if ctx.json {
        super::print_json(&report)?;
    } else {
        let mut t = table(&["source/object", "fetched", "linked", "rejected", "rejected by reason"]);
        for s in &report.sources {
            for st in &s.streams {
                t.add_row(vec![
                    format!("{}/{}", s.source, st.object),
                    st.counts.fetched.to_string(),
                    st.counts.linked.to_string(),
                    st.counts.rejected.to_string(),
                    reasons(&st.counts.rejected_by_reason),
                ]);
            }
        }
        println!("{t}");
        let active = hub.store.accounts(&accord_store::AccountQuery { page_size: 1, ..Default::default() })?.total;
        let mut open = std::collections::BTreeMap::new();
        for (_, _, r, n) in hub.store.quarantine_summary()? {
            *open.entry(r).or_insert(0) += n;
        }
        println!(
            "synced {fetched} records in {:.1} s ({:.0} records/s): {active} active accounts; open rejections: {}",
            elapsed.as_secs_f64(),
            fetched as f64 / elapsed.as_secs_f64().max(1e-9),
            reasons(&open)
        );
        println!("explore: accord -c {} rejects list | doctor | account show <id>", config_path.display());
    }
    if args.no_serve {
        runtime.block_on(sandbox.shutdown());
        return Ok(if report.failed() { ExitCode::from(1) } else { ExitCode::SUCCESS });
    }
    let state = accord_server::state_from_config(hub.clone(), &hub.config)?;
    // A demo user for the web app, with a fresh password each run (kept beside the API key).
    let password: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(16).map(char::from).collect();
    accord_web::users::put(hub.store.as_ref(), "demo", accord_web::Role::Admin, &password)?;
    std::fs::write(args.dir.join("web_password"), &password)?;
    println!(
        "web app: http://{}/  sign in as  demo / {password}  (admin; also in {})",
        args.listen,
        args.dir.join("web_password").display()
    );
    println!("serving http://{}: try  curl 'http://{}/api/v2/accounts?api_key={key}'", args.listen, args.listen);
    println!("Event API: POST http://{}/v1/{auth}/{send}  (Ctrl-C stops)", args.listen);
    runtime.block_on(accord_server::serve(state, &args.listen, hub.config.raw.server.event_retention_days))?;
    runtime.block_on(sandbox.shutdown());
    Ok(ExitCode::SUCCESS)
}
