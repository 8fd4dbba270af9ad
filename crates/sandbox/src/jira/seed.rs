//! The generated company's JIRA site: support issues of its customers, with the integration
//! guide's problem: issues that carry only the id support knows the account by (the "Support ID"
//! custom field, equal to the Salesforce account's `Support_ID__c`, which accord maps to
//! `support_account_id`), beside issues carrying our account id in "Account ID".
//!
//! Fates come in a fixed rotation over the issues (so each occurs once there are 20 issues), dates
//! from their own ChaCha8 stream: adding JIRA leaves every other system's data unchanged.

use chrono::{DateTime, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Issue, JiraData, PROJECT};
use crate::generate::{AS_OF, Intent, Planted, Problem};
use crate::truth::{AccountIx, By, Expected, Gone, Ix, JIRA, Key, Ledger, Plan, RecordKey, reason, rules};

/// A company as JIRA needs it.
#[derive(Debug, Clone)]
pub(crate) struct SeedOrg {
    pub account: AccountIx,
    pub account_id: String,
    /// The Salesforce account record (and so the holder of the support id it carries).
    pub holder: Ix,
    pub support_id: String,
    /// Its Salesforce account holds an active account.
    pub customer: bool,
    pub created: i64,
}

/// The support id of the `n`th Salesforce account.
pub(crate) fn support_id(n: usize) -> String {
    format!("SUP-{:05}", 10_000 + n)
}

const SUMMARIES: &[&str] = &[
    "Customer reports login loop after SSO change",
    "Bulk export stuck at 99%",
    "Webhook retries flood the endpoint",
    "Invoice PDF renders blank",
    "API returns 500 on large filters",
    "Dashboard widget shows stale numbers",
    "Request: audit log export",
    "Mobile app crashes on launch",
];

/// What one issue carries, by its place in the rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    AccountField,
    Both,
    SupportOnly,
    MangledAccountAndSupport,
    NoKeys,
    UnknownSupport,
}

const ROTATION: [Fate; 20] = {
    use Fate::*;
    [
        AccountField,
        SupportOnly,
        AccountField,
        Both,
        AccountField,
        SupportOnly,
        AccountField,
        NoKeys,
        AccountField,
        SupportOnly,
        AccountField,
        MangledAccountAndSupport,
        AccountField,
        SupportOnly,
        Both,
        AccountField,
        UnknownSupport,
        AccountField,
        SupportOnly,
        AccountField,
    ]
};

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Makes the issues of `orgs`, records their meanings in `ledger` and plants the problems;
/// returns each org's issues (in `orgs` order).
pub(crate) fn seed(
    seed: u64,
    orgs: &[SeedOrg],
    ledger: &mut Ledger,
    planted: &mut Vec<Planted>,
) -> (JiraData, Vec<Vec<Ix>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4a49_5241);
    let mut data = JiraData::default();
    let mut per_org = vec![Vec::new(); orgs.len()];
    let mut n = 0usize;
    for (o, org) in orgs.iter().enumerate() {
        for _ in 0..rng.random_range(0..=2u32) {
            let fate = ROTATION[n % ROTATION.len()];
            n += 1;
            let id = 10_000 + n as u64;
            let created = rng.random_range(org.created.min(AS_OF - 3) + 1..AS_OF - 1);
            let updated = rng.random_range(created..AS_OF);
            let mangled = if org.account_id.starts_with("EU-") {
                (format!("{} ", org.account_id), Problem::TrailingSpace)
            } else {
                (format!("{}.0", org.account_id), Problem::FloatFormattedId)
            };
            let (account_id, support_id, account_key, support_key) = match fate {
                Fate::AccountField => (Some(org.account_id.clone()), None, Some(Key::Account(org.account)), None),
                Fate::Both => (
                    Some(org.account_id.clone()),
                    Some(org.support_id.clone()),
                    Some(Key::Account(org.account)),
                    Some(Key::Support(org.holder)),
                ),
                Fate::SupportOnly => (None, Some(org.support_id.clone()), None, Some(Key::Support(org.holder))),
                Fate::MangledAccountAndSupport => (
                    Some(mangled.0.clone()),
                    Some(org.support_id.clone()),
                    Some(Key::NoAccount),
                    Some(Key::Support(org.holder)),
                ),
                Fate::NoKeys => (None, None, None, None),
                Fate::UnknownSupport => (None, Some(format!("SUP-9{:04}", n)), None, Some(Key::NoAccount)),
            };
            let key = RecordKey::new(JIRA, "issues", id.to_string());
            let plan = Plan::Rules { steps: rules::jira_issue(account_key, support_key), email: None };
            let ix = ledger.push(key.clone(), plan, Gone::Live);
            per_org[o].push(ix);
            let by_support = || Intent::Outcome(Expected::linked(org.account_id.clone(), By::new("support_id", 1)));
            let problem = match fate {
                Fate::SupportOnly if org.customer => Some((Problem::JiraSupportIdOnly, by_support())),
                Fate::MangledAccountAndSupport if org.customer => Some((mangled.1, by_support())),
                Fate::NoKeys => Some((Problem::NoLinkKeys, Intent::Outcome(Expected::rejected(reason::MISSING_KEY)))),
                Fate::UnknownSupport => {
                    Some((Problem::JiraUnknownSupportId, Intent::Outcome(Expected::rejected(reason::UNKNOWN_ACCOUNT))))
                }
                _ => None,
            };
            if let Some((problem, intent)) = problem {
                planted.push(Planted { problem, record: key, intent });
            }
            data.issues.push(Issue {
                id,
                key: format!("{PROJECT}-{n}"),
                summary: SUMMARIES[rng.random_range(0..SUMMARIES.len())].to_owned(),
                status: ["To Do", "In Progress", "Done"][rng.random_range(0..3)].to_owned(),
                priority: ["Low", "Medium", "High"][rng.random_range(0..3)].to_owned(),
                account_id,
                support_id,
                story_points: rng.random_bool(0.3).then(|| f64::from(rng.random_range(1..9u32))),
                created: at(created),
                updated: at(updated),
            });
        }
    }
    (data, per_org)
}
