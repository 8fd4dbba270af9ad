//! The generated company's Xero organisation, and the revenue it must show.
//!
//! A fifth of the System of Record's customer accounts (chosen by this module's own ChaCha8
//! stream, so every other system's data stays as it is) are Xero contacts: three in four carry
//! our account id as `AccountNumber` (the integration guide's advice), the others only a
//! person's email (linked through the email where one account vouches for it); one contact is
//! billing-only, known to no other system (`unknown_account`, and so are its invoices). One in
//! twelve contacts is archived: Xero never deletes a contact, and an archived one keeps its link.
//!
//! Xero has no subscriptions: a contact's recurring billing is a repeating invoice, weekly,
//! monthly or every 12 months (Xero's schedules are `WEEKLY` or `MONTHLY` with a period), in
//! USD, EUR, GBP or JPY. Most are `AUTHORISED` (they count), some are `DRAFT` or `DELETED`
//! (they never do), some carry an `EndDate` (past or to come: the revenue stops that day). Each
//! authorised template has raised its recent invoices (`RepeatingInvoiceID`, paid, the latest
//! sometimes still open); some contacts have a one-off invoice, some of them voided or deleted;
//! paid invoices have their payments, and a few payments were deleted. A couple of supplier
//! bills (`ACCPAY`) exist too, which accord's sales filter never reads. Quantities are whole.

use chrono::{Datelike, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::{Contact, Invoice, Line, Payment, RepeatingInvoice, XeroData};
use crate::billing::{Every, SeedOrg, Terms, billing_contact, date, noon};
use crate::generate::AS_OF;
use crate::truth::{Gone, Ix, Key, Ledger, Plan, RecordKey, XERO, rules};

/// The price per period of each tier by interval, in each currency.
const PRICES: [(&str, [i64; 3]); 4] = [
    ("USD", [4_900, 9_900, 29_900]),
    ("EUR", [4_500, 8_900, 27_900]),
    ("GBP", [3_900, 7_900, 23_900]),
    ("JPY", [5_000, 12_000, 38_000]),
];

fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

struct Seeder<'a> {
    rng: ChaCha8Rng,
    ledger: &'a mut Ledger,
    data: XeroData,
    terms: Vec<Terms>,
    base: u64,
    seq: u64,
}

impl Seeder<'_> {
    /// A uuid, unique within the organisation: `kind` names what it is (contact, invoice, ...).
    fn uuid(&mut self, kind: u16) -> String {
        self.seq += 1;
        format!("{kind:04x}{:04x}-0000-4000-8000-{:012x}", self.base % 0xffff, self.seq)
    }

    fn day_between(&mut self, from: i64, until: i64) -> NaiveDate {
        let (a, b) = (date(from), date(until));
        let span = (b - a).num_days().max(1);
        let d = a + chrono::Duration::days(self.rng.random_range(0..span));
        if d.day() > 28 { d.with_day(28).unwrap_or(d) } else { d }
    }

    fn contact(&mut self, org: Option<&SeedOrg>, k: usize) -> (Contact, Ix) {
        let id = self.uuid(0xc0);
        let (account, person) = billing_contact(&mut self.rng, org);
        let (email, email_key) = match person {
            Some((text, e)) => (text, e),
            None => {
                let text = format!("accounts{k}@xero{}.example", self.base);
                let e = self.ledger.email(text.clone());
                (text, e)
            }
        };
        let steps = rules::xero_contact(account.map(Key::Account), Some(Key::Email(email_key)));
        let ix = self.ledger.push(
            RecordKey::new(XERO, "contacts", id.clone()),
            Plan::Rules { steps, email: Some(email_key) },
            Gone::Live,
        );
        let created = match org {
            Some(o) => noon(self.day_between(o.created + 86_400, AS_OF - 400 * 86_400)),
            None => noon(self.day_between(AS_OF - 700 * 86_400, AS_OF - 400 * 86_400)),
        };
        let archived = self.rng.random_range(0..12) == 0;
        let updated = if archived { noon(self.day_between(AS_OF - 60 * 86_400, AS_OF - 86_400)) } else { created };
        let c = Contact {
            id,
            name: org.map_or_else(|| format!("Solo Buyer {k}"), |o| o.name.clone()),
            account_number: match (account, org) {
                (Some(_), Some(o)) => Some(o.account_id.clone()),
                _ => None,
            },
            email: Some(email),
            status: if archived { "ARCHIVED" } else { "ACTIVE" }.into(),
            updated: at(updated),
        };
        (c, ix)
    }

    fn child(&mut self, object: &'static str, id: &str, parent: Ix) {
        self.ledger.push(
            RecordKey::new(XERO, object, id.to_owned()),
            Plan::Rules { steps: rules::xero_child(Some(Key::Record(parent))), email: None },
            Gone::Live,
        );
    }

    /// An invoice of `contact` and, when paid, its payment (deleted one time in fifteen).
    #[allow(clippy::too_many_arguments)]
    fn invoice(
        &mut self,
        contact: &Contact,
        parent: Ix,
        currency: &str,
        line: Line,
        day: NaiveDate,
        status: &str,
        repeating: Option<&str>,
    ) {
        let id = self.uuid(0x1a);
        let issued = at(noon(day));
        let paid = status == "PAID";
        let total = line.amount();
        let updated = if paid { issued + chrono::Duration::days(3) } else { issued };
        self.child("invoices", &id, parent);
        let n = self.data.invoices.len() + 1;
        if paid {
            let pid = self.uuid(0x9a);
            self.child("payments", &pid, parent);
            let deleted = self.rng.random_range(0..15) == 0;
            self.data.payments.push(Payment {
                id: pid,
                invoice_id: id.clone(),
                invoice_number: format!("INV-{n:05}"),
                contact_id: contact.id.clone(),
                contact_name: contact.name.clone(),
                currency: currency.to_owned(),
                amount: total,
                date: updated,
                status: if deleted { "DELETED" } else { "AUTHORISED" }.into(),
                updated: if deleted { updated + chrono::Duration::days(1) } else { updated },
            });
        }
        self.data.invoices.push(Invoice {
            id,
            number: format!("INV-{n:05}"),
            kind: "ACCREC".into(),
            contact_id: contact.id.clone(),
            contact_name: contact.name.clone(),
            status: status.into(),
            currency: currency.to_owned(),
            lines: vec![line],
            date: issued,
            due: issued + chrono::Duration::days(30),
            amount_paid: if paid { total } else { 0 },
            paid_on: paid.then_some(updated),
            repeating_id: repeating.map(str::to_owned),
            updated,
        });
    }

    /// A repeating invoice of `contact`, its recent invoices, and its revenue terms.
    fn repeating(&mut self, contact: &Contact, parent: Ix, currency: &'static str) {
        let id = self.uuid(0x7e);
        self.child("repeating_invoices", &id, parent);
        let every = match self.rng.random_range(0..10) {
            0 => Every::Week,
            1 | 2 => Every::Year,
            _ => Every::Month,
        };
        let (unit, period) = match every {
            Every::Week => ("WEEKLY", 1),
            Every::Month => ("MONTHLY", 1),
            Every::Year => ("MONTHLY", 12),
        };
        let tier = self.rng.random_range(0..3);
        let monthly = PRICES.iter().find(|(c, _)| *c == currency).map_or(4_900, |(_, p)| p[tier]);
        let price = match every {
            Every::Week => monthly / 4,
            Every::Month => monthly,
            Every::Year => monthly * 10,
        };
        let quantity = self.rng.random_range(1..=3);
        let earliest = if every == Every::Week { AS_OF - 180 * 86_400 } else { AS_OF - 700 * 86_400 };
        let start = self.day_between(earliest, AS_OF - 20 * 86_400);
        let status = match self.rng.random_range(0..10) {
            0 => "DRAFT",
            1 => "DELETED",
            _ => "AUTHORISED",
        };
        let today = date(AS_OF);
        let end = (status == "AUTHORISED" && self.rng.random_range(0..4) == 0)
            .then(|| self.day_between(noon(start) + 30 * 86_400, AS_OF + 200 * 86_400));
        let item = ["BASIC", "PRO", "ENTERPRISE"][tier];
        let line = Line {
            description: format!("{item} ({unit} x{period})"),
            item_code: Some(format!(
                "{item}-{}",
                if every == Every::Year {
                    "Y"
                } else if every == Every::Week {
                    "W"
                } else {
                    "M"
                }
            )),
            quantity: format!("{quantity}.0000"),
            unit_amount: price,
        };
        // The periods invoiced so far (the last six at most), and the next one.
        let mut starts = Vec::new();
        let mut k = 0;
        loop {
            let d = every.nth(start, k);
            if d > today || end.is_some_and(|e| d >= e) {
                break;
            }
            starts.push(d);
            k += 1;
        }
        let next = every.nth(start, k);
        if status == "AUTHORISED" {
            let recent = starts.len().saturating_sub(6);
            let open_last = self.rng.random_range(0..5) == 0;
            for (n, d) in starts[recent..].iter().copied().enumerate() {
                let last = recent + n + 1 == starts.len();
                let status = if last && open_last { "AUTHORISED" } else { "PAID" };
                self.invoice(contact, parent, currency, line.clone(), d, status, Some(&id));
            }
            self.terms.push(Terms {
                subscription: RecordKey::new(XERO, "repeating_invoices", id.clone()),
                currency,
                unit_amount: line.amount(),
                quantity: 1,
                every,
                start,
                end,
                trial: None,
                trialing: false,
                metered: false,
                discount: None,
                changes: Vec::new(),
            });
        }
        self.data.repeating_invoices.push(RepeatingInvoice {
            id,
            kind: "ACCREC".into(),
            contact_id: contact.id.clone(),
            contact_name: contact.name.clone(),
            status: status.into(),
            currency: currency.to_owned(),
            unit: unit.into(),
            period,
            start: at(noon(start)),
            next: (status == "AUTHORISED" && end.is_none_or(|e| next < e)).then(|| at(noon(next))),
            end: end.map(|e| at(noon(e))),
            lines: vec![line],
            reference: Some("Subscription".into()),
            updated: at(noon(start)),
        });
    }
}

/// Makes the organisation's records, records their meanings in `ledger`; returns the data, each
/// authorised repeating invoice's revenue terms, and each org's records (in `orgs` order).
pub(crate) fn seed(seed: u64, orgs: &[SeedOrg], ledger: &mut Ledger) -> (XeroData, Vec<Terms>, Vec<Vec<Ix>>) {
    let mut s = Seeder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5845_524f_0000),
        ledger,
        data: XeroData::default(),
        terms: Vec::new(),
        base: seed % 1000,
        seq: 0,
    };
    let mut per_org = vec![Vec::new(); orgs.len()];
    let mut k = 0usize;
    for (o, org) in orgs.iter().map(Some).enumerate().chain([(usize::MAX, None)]) {
        if org.is_some_and(|g| !g.customer || !s.rng.random_bool(0.2)) {
            continue;
        }
        k += 1;
        let (contact, cix) = s.contact(org, k);
        let first = s.ledger.len() as Ix;
        let currency = match s.rng.random_range(0..20) {
            0..=11 => "USD",
            12..=14 => "EUR",
            15..=17 => "GBP",
            _ => "JPY",
        };
        if s.rng.random_range(0..10) != 0 {
            s.repeating(&contact, cix, currency);
        }
        if s.rng.random_range(0..5) == 0 {
            let status = ["PAID", "VOIDED", "DELETED", "AUTHORISED"][s.rng.random_range(0..4)];
            let day = s.day_between(AS_OF - 300 * 86_400, AS_OF - 10 * 86_400);
            let fee = if currency == "JPY" { 30_000 } else { 25_000 };
            let line =
                Line { description: "Onboarding".into(), item_code: None, quantity: "1.0000".into(), unit_amount: fee };
            s.invoice(&contact, cix, currency, line, day, status, None);
        }
        s.data.contacts.push(contact);
        if org.is_some() {
            per_org[o].push(cix);
            per_org[o].extend(first..s.ledger.len() as Ix);
        }
    }
    // Supplier bills: never read by accord (its invoices are sales only).
    if let Some(c) = s.data.contacts.first().cloned() {
        for n in 0..2 {
            let id = s.uuid(0xb1);
            s.data.invoices.push(Invoice {
                id,
                number: format!("BILL-{n}"),
                kind: "ACCPAY".into(),
                contact_id: c.id.clone(),
                contact_name: c.name.clone(),
                status: "AUTHORISED".into(),
                currency: "USD".into(),
                lines: vec![Line {
                    description: "Hosting".into(),
                    item_code: None,
                    quantity: "1.0000".into(),
                    unit_amount: 12_000,
                }],
                date: at(AS_OF - 30 * 86_400),
                due: at(AS_OF),
                amount_paid: 0,
                paid_on: None,
                repeating_id: None,
                updated: at(AS_OF - 30 * 86_400),
            });
        }
    }
    let Seeder { mut data, terms, .. } = s;
    data.contacts.sort_by(|a, b| a.id.cmp(&b.id));
    data.invoices.sort_by(|a, b| a.id.cmp(&b.id));
    data.payments.sort_by(|a, b| a.id.cmp(&b.id));
    data.repeating_invoices.sort_by(|a, b| a.id.cmp(&b.id));
    (data, terms, per_org)
}

#[cfg(test)]
mod tests {
    use crate::Company;

    #[test]
    fn the_book_has_every_kind_of_record_the_connector_reads() {
        let c = Company::generate(11, 300);
        let x = &c.xero;
        assert!(x.contacts.len() > 20, "{} contacts", x.contacts.len());
        assert!(x.contacts.iter().any(|c| c.status == "ARCHIVED"));
        assert!(x.contacts.iter().any(|c| c.account_number.is_some()));
        assert!(x.contacts.iter().any(|c| c.account_number.is_none() && c.email.is_some()));
        assert!(x.contacts.iter().any(|c| c.name.starts_with("Solo Buyer")), "a billing-only contact");
        let r = &x.repeating_invoices;
        for (unit, period) in [("WEEKLY", 1), ("MONTHLY", 1), ("MONTHLY", 12)] {
            assert!(r.iter().any(|x| x.unit == unit && x.period == period), "{unit} x{period}");
        }
        for status in ["AUTHORISED", "DRAFT", "DELETED"] {
            assert!(r.iter().any(|x| x.status == status), "{status}");
        }
        assert!(r.iter().any(|x| x.end.is_some()));
        let currencies: std::collections::BTreeSet<&str> = r.iter().map(|x| x.currency.as_str()).collect();
        assert!(currencies.len() >= 3, "{currencies:?}");
        for status in ["PAID", "VOIDED", "DELETED"] {
            assert!(x.invoices.iter().any(|i| i.status == status), "{status} invoices");
        }
        assert!(x.invoices.iter().any(|i| i.kind == "ACCPAY"), "bills accord never reads");
        assert!(x.payments.iter().any(|p| p.status == "DELETED"));
        let authorised = r.iter().filter(|x| x.status == "AUTHORISED").count();
        let terms = c.billing.iter().filter(|t| t.subscription.source == crate::truth::XERO).count();
        assert_eq!(terms, authorised, "every authorised template, and only those, is revenue");
    }
}
