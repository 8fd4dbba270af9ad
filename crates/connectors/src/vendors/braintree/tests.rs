use super::*;

fn verdict(body: Value) -> Option<Verdict> {
    graphql_verdict(&serde_json::to_vec(&body).unwrap())
}

fn error(class: &str, message: &str) -> Value {
    json!({"data": null, "errors": [{"message": message, "path": ["search", "customers"],
        "extensions": {"errorClass": class, "legacyCode": "91500"}}]})
}

#[test]
fn graphql_errors_in_a_200_are_classified() {
    assert_eq!(verdict(json!({"data": {"search": {"customers": {"edges": []}}}})), None);
    assert_eq!(verdict(json!({"data": {"ping": "pong"}, "errors": []})), None, "an empty list is no error");
    match verdict(error("AUTHENTICATION", "Invalid API keys")) {
        Some(Verdict::Fatal(m)) => assert!(m.contains("Invalid API keys") && m.contains("private_key"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(verdict(error("AUTHORIZATION", "no")), Some(Verdict::Fatal(_))));
    assert!(matches!(verdict(error("RESOURCE_LIMIT", "slow down")), Some(Verdict::RateLimited(_))));
    assert!(matches!(verdict(error("INTERNAL", "oops")), Some(Verdict::Transient(_))));
    assert!(matches!(verdict(error("SERVICE_AVAILABILITY", "down")), Some(Verdict::Transient(_))));
    match verdict(error("VALIDATION", "Variable 'input' has an invalid value")) {
        Some(Verdict::Fatal(m)) => {
            assert!(m.contains("Variable 'input' has an invalid value (at search.customers)"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // Partial data with an error is still an error: records would be missing.
    let partial = json!({"data": {"search": {"customers": {"edges": [{"node": {"id": "a"}}]}}},
        "errors": [{"message": "field failed", "extensions": {"errorClass": "INTERNAL"}}]});
    assert!(matches!(verdict(partial), Some(Verdict::Transient(_))));
    let rules = BraintreeRules;
    let body = serde_json::to_vec(&error("VALIDATION", "bad")).unwrap();
    assert!(matches!(rules.classify(StatusCode::OK, &HeaderMap::new(), &body), Verdict::Fatal(_)));
    assert_eq!(rules.classify(StatusCode::OK, &HeaderMap::new(), b"{\"data\":{}}"), Verdict::Ok);
    assert!(matches!(rules.classify(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b""), Verdict::RateLimited(_)));
    assert!(matches!(rules.classify(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b""), Verdict::Transient(_)));
}

#[test]
fn amounts_are_read_exactly_with_the_currency_exponent() {
    let v = |s: &str| json!(s);
    assert_eq!(exact_amount(Some(&v("49.99")), Some("USD")).as_deref(), Some("49.99"));
    assert_eq!(exact_amount(Some(&v("10")), Some("EUR")).as_deref(), Some("10.00"));
    assert_eq!(exact_amount(Some(&v("0.10")), Some("GBP")).as_deref(), Some("0.10"));
    assert_eq!(exact_amount(Some(&v("5000")), Some("JPY")).as_deref(), Some("5000"));
    assert_eq!(exact_amount(Some(&v("12.345")), Some("USD")), None, "finer than cents: left out, never rounded");
    assert_eq!(exact_amount(Some(&v("1.005")), Some("KWD")).as_deref(), Some("1.005"), "three decimals");
    assert_eq!(exact_amount(Some(&v("abc")), Some("USD")), None);
    assert_eq!(exact_amount(Some(&v("1.00")), None), None, "no currency, no amount");
    // 0.1 + 0.2 through a float is 0.30000000000000004: the text is read as text.
    assert_eq!(exact_amount(Some(&v("0.30")), Some("USD")).as_deref(), Some("0.30"));
}

#[test]
fn records_get_their_accord_fields() {
    let mut t = json!({"id": "dHJhbnNhY3Rpb25fYQ", "status": "SETTLED", "createdAt": "2026-01-02T03:04:05Z",
        "amount": {"value": "19.90", "currencyCode": "EUR"}, "customer": {"id": "Y3VzdG9tZXJfMQ"}});
    derive(&mut t);
    assert_eq!(t["accord"]["amount"], "19.90");
    assert_eq!(t["accord"]["status"], "settled");
    assert_eq!(t["accord"]["paid_at"], "2026-01-02T03:04:05Z");
    assert_eq!(t["accord"]["failed"], false);
    let mut declined = json!({"id": "x", "status": "PROCESSOR_DECLINED", "amount": {"value": "5", "currencyCode": "USD"}});
    derive(&mut declined);
    assert_eq!((declined["accord"]["failed"].clone(), declined["accord"]["paid_at"].clone()), (json!(true), Value::Null));
    let mut c = json!({"id": "c", "company": null, "firstName": "Ada", "lastName": "Lovelace"});
    derive(&mut c);
    assert_eq!(c["accord"]["name"], "Ada Lovelace");
    let mut c = json!({"id": "c", "company": "Acme", "firstName": "Ada"});
    derive(&mut c);
    assert_eq!(c["accord"]["name"], "Acme");
}

#[test]
fn passes_search_everything_or_what_was_created_since_the_mark() {
    assert_eq!(streams::search_input(None), json!({}));
    let since = json!("2026-03-01T10:00:00.000Z");
    assert_eq!(
        streams::search_input(Some(&since)),
        json!({"createdAt": {"greaterThanOrEqualTo": "2026-03-01T10:00:00Z"}})
    );
    let r = streams::request(streams::CUSTOMERS, Some(&since), 25);
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/graphql"));
    let body = r.body.unwrap();
    assert_eq!(body["variables"]["first"], 25);
    assert!(body["query"].as_str().unwrap().contains("customers(input: $input"));
}

#[test]
fn customers_link_by_the_named_custom_field_then_email() {
    let s = streams::streams("acct_ref", 50, None);
    let customer = json!({"id": "c1", "email": "a@x.example",
        "customFields": [{"name": "other", "value": "no"}, {"name": "acct_ref", "value": "A-17"}]});
    let field = match &s[0].object.link[0] {
        accord_core::LinkRule::Field { field, .. } => field.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(field.get(&customer), Some(&json!("A-17")));
    assert_eq!(s[1].object.name, "transactions");
    assert!(matches!(s[0].paginator, crate::http::Paginator::Relay { .. }));
}

fn config(extra: &str) -> Result<BraintreeConnector, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pk"), "pk-public").unwrap();
    std::fs::write(dir.path().join("sk"), "sk-very-secret").unwrap();
    let toml = format!(
        "[system_of_record]\nsource = \"crm\"\nobject = \"accounts\"\naccount_id = \"id\"\n\
         [sources.crm]\nkind = \"file\"\n[[sources.crm.objects]]\nname = \"accounts\"\nkind = \"account\"\n\
         path = \"a.csv\"\n[sources.bt]\nkind = \"braintree\"\npublic_key = {{ file = \"pk\" }}\n\
         private_key = {{ file = \"sk\" }}\n{extra}\n"
    );
    let config = Config::from_toml(&toml, dir.path()).unwrap();
    connector("bt", &config.raw.sources["bt"], &config, dir.path())
}

#[test]
fn settings_are_checked_and_keys_never_show() {
    let c = config("").unwrap();
    assert!(!format!("{c:?}").contains("sk-very-secret"), "the private key never shows in Debug");
    let e = config("braintree_version = \"2025/04/29\"").unwrap_err().to_string();
    assert!(e.contains("sources.bt.braintree_version") && e.contains("YYYY-MM-DD"), "{e}");
    let e = config("page_size = 500").unwrap_err().to_string();
    assert!(e.contains("page_size"), "{e}");
    let e = config("environment = \"staging\"").unwrap_err().to_string();
    assert!(e.contains("sources.bt"), "{e}");
    assert!(config("environment = \"sandbox\"\nfull_rescan = \"1d\"").is_ok());
}
