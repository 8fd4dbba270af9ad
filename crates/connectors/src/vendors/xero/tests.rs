use super::*;

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn the_tenant_is_the_configured_one_or_the_only_one() {
    let two = json!([
        {"id": "c1", "tenantId": "T-1", "tenantType": "ORGANISATION", "tenantName": "Acme UK"},
        {"id": "c2", "tenantId": "T-2", "tenantType": "ORGANISATION", "tenantName": "Acme US"},
        {"id": "c3", "tenantId": "P-1", "tenantType": "PRACTICEMANAGER", "tenantName": "Practice"}
    ]);
    let e = pick_tenant(&two, None).unwrap_err();
    assert!(e.contains("T-1 (Acme UK)") && e.contains("T-2 (Acme US)") && e.contains("tenant_id"), "{e}");
    assert!(!e.contains("P-1"), "only organisations hold accounting data: {e}");
    assert_eq!(pick_tenant(&two, Some("t-2")).unwrap(), "T-2");
    assert!(pick_tenant(&two, Some("T-9")).unwrap_err().contains("not among"));
    assert_eq!(pick_tenant(&json!([two[0].clone()]), None).unwrap(), "T-1");
    assert!(pick_tenant(&json!([]), None).unwrap_err().contains("no Xero organisation"));
}

#[test]
fn amounts_are_read_exactly_and_line_totals_multiply_exactly() {
    let v = parsed(r#"{"a": 49.99, "b": 0.1, "c": 5000.0, "d": 12.345}"#);
    assert_eq!(minor(v.get("a"), "USD"), Some(4999));
    assert_eq!(minor(v.get("b"), "EUR"), Some(10));
    assert_eq!(minor(v.get("c"), "JPY"), Some(5000));
    assert_eq!(minor(v.get("d"), "USD"), None, "finer than cents: left out, never rounded");
    let lines = parsed(
        r#"[{"UnitAmount": 19.99, "Quantity": 3.0000}, {"UnitAmount": 0.10, "Quantity": 1.5}, {"UnitAmount": 7}]"#,
    );
    // 59.97 + 0.15 + 7.00
    assert_eq!(lines_total(lines.as_array().unwrap(), "GBP"), Some(6712));
    let fine = parsed(r#"[{"UnitAmount": 0.01, "Quantity": 0.5}]"#);
    assert_eq!(lines_total(fine.as_array().unwrap(), "USD"), None, "half a cent is not rounded");
    assert_eq!(lines_total(&[], "USD"), Some(0));
    assert_eq!(decimal("1.5000"), Some((15000, 4)));
    assert_eq!(decimal("-2"), Some((-2, 0)));
    assert_eq!(decimal("1e2"), Some((100, 0)));
    assert_eq!(decimal("x1"), None);
}

#[test]
fn schedules_become_weeks_months_and_years() {
    assert_eq!(interval("WEEKLY", 1), Some(("week", 1)));
    assert_eq!(interval("WEEKLY", 2), Some(("week", 2)));
    assert_eq!(interval("MONTHLY", 1), Some(("month", 1)));
    assert_eq!(interval("MONTHLY", 3), Some(("month", 3)));
    assert_eq!(interval("MONTHLY", 12), Some(("year", 1)));
    assert_eq!(interval("MONTHLY", 0), None);
    assert_eq!(interval("DAILY", 1), None);
}

#[test]
fn repeating_invoices_are_subscriptions_that_count_only_when_authorised() {
    let mut r = parsed(
        r#"{"RepeatingInvoiceID": "ri-1", "Type": "ACCREC", "Status": "AUTHORISED", "CurrencyCode": "EUR",
        "Contact": {"ContactID": "c-1"},
        "Schedule": {"Period": 12, "Unit": "MONTHLY", "StartDate": "/Date(1704067200000+0000)/",
            "NextScheduledDate": "/Date(1735689600000+0000)/", "EndDate": "/Date(1767225600000+0000)/"},
        "LineItems": [{"ItemCode": "PRO-Y", "UnitAmount": 1200.00, "Quantity": 2.0000}]}"#,
    );
    derive(&mut r);
    let a = &r["accord"];
    assert_eq!(
        (a["status"].clone(), a["billing_interval"].clone(), a["interval_count"].clone()),
        (json!("active"), json!("year"), json!(1))
    );
    assert_eq!(
        (a["unit_amount"].clone(), a["quantity"].clone(), a["plan_code"].clone()),
        (json!(240_000), json!(1), json!("PRO-Y"))
    );
    assert_eq!(a["next_invoice"], json!("/Date(1735689600000+0000)/"));
    r["Status"] = json!("DRAFT");
    derive(&mut r);
    assert_eq!(
        (r["accord"]["status"].clone(), r["accord"]["next_invoice"].clone()),
        (json!("incomplete"), Value::Null)
    );
    r["Status"] = json!("DELETED");
    derive(&mut r);
    assert_eq!(r["accord"]["status"], json!("canceled"));
    assert_eq!(r["accord"]["canceled_at"], json!("/Date(1704067200000+0000)/"));
}

#[test]
fn invoices_and_payments_carry_exact_amounts_and_their_status() {
    let mut i = parsed(
        r#"{"InvoiceID": "i-1", "Type": "ACCREC", "Status": "VOIDED", "CurrencyCode": "JPY", "Total": 5000,
        "TotalTax": 0, "AmountDue": 0, "Date": "/Date(1704067200000+0000)/", "LineItems": [{"UnitAmount": 5000, "Quantity": 1}]}"#,
    );
    derive(&mut i);
    assert_eq!(
        i["accord"],
        json!({"amount": "5000", "tax": "0", "status": "voided", "failed": false, "non_recurring": true,
            "line_count": 1, "billed_from": null, "billed_unit_amount": null, "billed_quantity": null})
    );
    let mut r = parsed(
        r#"{"InvoiceID": "i-2", "Type": "ACCREC", "Status": "AUTHORISED", "CurrencyCode": "USD", "Total": 110.0,
        "TotalTax": 10, "AmountDue": 110.0, "DueDate": "/Date(1000000000000+0000)/", "Date": "/Date(999000000000+0000)/",
        "RepeatingInvoiceID": "ri-1", "LineItems": [{"UnitAmount": 50.00, "Quantity": 2}]}"#,
    );
    derive(&mut r);
    assert_eq!((r["accord"]["amount"].clone(), r["accord"]["tax"].clone()), (json!("110.00"), json!("10.00")));
    assert_eq!((r["accord"]["failed"].clone(), r["accord"]["non_recurring"].clone()), (json!(true), json!(false)));
    assert_eq!(
        (r["accord"]["billed_unit_amount"].clone(), r["accord"]["billed_from"].clone()),
        (json!(10_000), json!("/Date(999000000000+0000)/"))
    );
    let mut p = parsed(
        r#"{"PaymentID": "p-1", "Status": "DELETED", "Amount": 12.5, "Date": "/Date(1704067200000+0000)/",
        "Invoice": {"InvoiceID": "i-2", "CurrencyCode": "GBP", "Contact": {"ContactID": "c-1"}}}"#,
    );
    derive(&mut p);
    assert_eq!(p["accord"], json!({"amount": "12.50", "status": "deleted", "paid_at": null, "non_recurring": true}));
}

#[test]
fn a_minute_limit_waits_and_a_day_limit_stops_saying_when_to_resume() {
    let rules = XeroRules::default();
    let left = |r: &XeroRules| r.budget.lock().unwrap().day.remaining;
    let mut h = HeaderMap::new();
    h.insert("x-daylimit-remaining", "4321".parse().unwrap());
    assert_eq!(rules.classify(StatusCode::OK, &h, b"{}"), Verdict::Ok);
    assert_eq!(left(&rules), Some(4321));
    h.insert("x-rate-limit-problem", "minute".parse().unwrap());
    h.insert("retry-after", "7".parse().unwrap());
    assert_eq!(rules.classify(StatusCode::TOO_MANY_REQUESTS, &h, b""), Verdict::RateLimited(Duration::from_secs(7)));
    h.insert("x-rate-limit-problem", "day".parse().unwrap());
    h.insert("retry-after", "3600".parse().unwrap());
    h.insert("x-daylimit-remaining", "0".parse().unwrap());
    match rules.classify(StatusCode::TOO_MANY_REQUESTS, &h, b"") {
        Verdict::Fatal(why) => {
            assert!(
                why.contains("daily limit") && why.contains("Retry-After: 3600s") && why.contains("resumes"),
                "{why}"
            );
        }
        other => panic!("{other:?}"),
    }
    let day = rules.budget.lock().unwrap().day.clone();
    assert_eq!(day.remaining, Some(0));
    let (at, resets) = (day.at.unwrap(), day.resets_at.unwrap());
    assert_eq!(resets - at, chrono::TimeDelta::seconds(3600), "the refill is the 429's time plus Retry-After");
    // Spent: the next data call is refused before it is sent; /connections is no data call.
    let why = rules.before_send(&RequestSpec::get("/api.xro/2.0/Contacts")).unwrap_err();
    assert!(why.contains("daily limit") && why.contains("no call was made") && why.contains(&at_text(resets)), "{why}");
    assert_eq!(rules.before_send(&RequestSpec::get("/connections")), Ok(()));
}

#[test]
fn the_budget_is_judged_by_xeros_clock_and_the_newest_saved_one_wins() {
    let rules = XeroRules::default();
    // Xero's clock is two days ahead of ours (the sandbox's clock, or a skewed host).
    let ahead = Utc::now() + chrono::TimeDelta::days(2);
    let mut h = HeaderMap::new();
    h.insert("date", ahead.format("%a, %d %b %Y %H:%M:%S GMT").to_string().parse().unwrap());
    h.insert("x-daylimit-remaining", "0".parse().unwrap());
    assert_eq!(rules.classify(StatusCode::OK, &h, b"{}"), Verdict::Ok);
    let day = rules.budget.lock().unwrap().day.clone();
    let seen = day.at.unwrap();
    assert!((seen - ahead).num_seconds().abs() <= 1, "seen at Xero's time: {seen} vs {ahead}");
    assert!(rules.before_send(&RequestSpec::get("/api.xro/2.0/Invoices")).is_err(), "spent, no Retry-After: a day");
    assert_eq!(day.spent_until(seen + chrono::TimeDelta::hours(23)), Some(seen + chrono::TimeDelta::hours(24)));
    assert_eq!(day.spent_until(seen + chrono::TimeDelta::hours(24)), None, "refilled after a day");
    assert_eq!(day.left(seen + chrono::TimeDelta::hours(25)), None, "yesterday's count says nothing of today");

    let mut b = Budget::default();
    let old = DayBudget { remaining: Some(900), at: Some(seen - chrono::TimeDelta::hours(1)), resets_at: None };
    let new = DayBudget { remaining: Some(3), at: Some(seen), resets_at: None };
    b.merge(&new);
    b.merge(&old);
    assert_eq!(b.day, new, "an older checkpoint's budget does not replace a newer one");
    assert_eq!(serde_json::from_value::<DayBudget>(serde_json::to_value(&new).unwrap()).unwrap(), new);
}

#[test]
fn a_validation_error_names_its_messages() {
    let body = br#"{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": "Account Number already exists."}]}]}"#;
    assert_eq!(validation_errors(body).as_deref(), Some("ValidationException: Account Number already exists."));
    match XeroRules::default().classify(StatusCode::BAD_REQUEST, &HeaderMap::new(), body) {
        Verdict::Fatal(why) => assert_eq!(why, "HTTP 400: ValidationException: Account Number already exists."),
        other => panic!("{other:?}"),
    }
    assert_eq!(validation_errors(b"not json"), None);
}

#[test]
fn requests_name_the_tenant_and_the_modified_since_instant() {
    let tenant = Tenant::default();
    let _ = tenant.0.set("T-1".into());
    let defs = streams::streams(&tenant, 1000, None);
    let since = json!("/Date(1439434356790+0000)/");
    let r = (defs[0].first_request)(Some(&since));
    assert_eq!(r.path, "/api.xro/2.0/Contacts");
    assert!(r.headers.contains(&("xero-tenant-id".into(), "T-1".into())));
    assert!(r.headers.contains(&("If-Modified-Since".into(), "2015-08-13T02:52:36".into())));
    assert!(
        r.query.contains(&("includeArchived".into(), "true".into()))
            && r.query.contains(&("pageSize".into(), "1000".into()))
    );
    let full = (defs[1].first_request)(None);
    assert!(full.headers.iter().all(|(n, _)| n != "If-Modified-Since"));
    assert!(full.query.contains(&("where".into(), "Type==\"ACCREC\"".into())));
    let repeating = (defs[3].first_request)(Some(&since));
    assert!(repeating.query.iter().all(|(n, _)| n != "page"), "repeating invoices are not paged");
}

#[test]
fn the_write_back_posts_the_account_number_to_the_tenant() {
    let tenant = Tenant::default();
    let _ = tenant.0.set("T-1".into());
    let def = streams::contact_account_number(&tenant);
    let w = (def.write)("c-1", "acct-9");
    assert_eq!((w.method.as_str(), w.path.as_str()), ("POST", "/api.xro/2.0/Contacts/c-1"));
    assert_eq!(w.body, Some(json!({"Contacts": [{"ContactID": "c-1", "AccountNumber": "acct-9"}]})));
    assert!(w.headers.contains(&("xero-tenant-id".into(), "T-1".into())));
    let r = (def.read)("c-1");
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/api.xro/2.0/Contacts/c-1"));
    assert!(r.headers.contains(&("xero-tenant-id".into(), "T-1".into())));
    let answer = json!({"Contacts": [{"ContactID": "c-1", "AccountNumber": "acct-9"}]});
    assert_eq!(def.read_value.get(&answer), Some(&json!("acct-9")));
    assert_eq!(def.confirm, crate::http::Confirm::Answer);
}
