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
    let mut declined =
        json!({"id": "x", "status": "PROCESSOR_DECLINED", "amount": {"value": "5", "currencyCode": "USD"}});
    derive(&mut declined);
    assert_eq!(
        (declined["accord"]["failed"].clone(), declined["accord"]["paid_at"].clone()),
        (json!(true), Value::Null)
    );
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

/// The schema tests: Braintree's official GraphQL schema (`shared/specs/braintree/schema.graphql`)
/// judges both the queries the connector sends and the emulator's answers to them.
mod schema {
    use std::sync::Arc;

    use apollo_compiler::executable::{self, Selection};
    use apollo_compiler::schema::ExtendedType;
    use apollo_compiler::validation::Valid;
    use apollo_compiler::{ExecutableDocument, Schema};
    use serde_json::{Value, json};

    const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/specs/braintree/schema.graphql");

    /// The parsed and validated schema, or `None` (the test then says it skipped) when shared/ is
    /// not beside the clone. CI sets `ACCORD_REQUIRE_SHARED=1`, which makes a missing schema fail.
    fn schema() -> Option<Valid<Schema>> {
        match std::fs::read_to_string(SCHEMA) {
            Ok(text) => {
                Some(Schema::parse_and_validate(text, "schema.graphql").expect("Braintree's schema is valid GraphQL"))
            }
            Err(e) if std::env::var_os("ACCORD_REQUIRE_SHARED").is_some() => {
                panic!("ACCORD_REQUIRE_SHARED is set, so Braintree's GraphQL schema must be at {SCHEMA}: {e}")
            }
            Err(e) => {
                eprintln!(
                    "skipping the Braintree schema check: {SCHEMA} not readable ({e}); shared/ is not beside the clone"
                );
                None
            }
        }
    }

    /// Every query the connector sends, with the variables of a full and of an incremental pass.
    fn requests() -> Vec<(&'static str, Value)> {
        let since = json!("2024-06-01T00:00:00Z");
        let mut out = Vec::new();
        for query in [super::streams::CUSTOMERS, super::streams::TRANSACTIONS] {
            for s in [None, Some(&since)] {
                out.push((query, super::streams::request(query, s, 5).body.unwrap()["variables"].clone()));
            }
        }
        out.push((super::streams::READ_CUSTOMER, json!({"id": "Y3VzdG9tZXJfMQ"})));
        // The subscriptions stream's legacy-id lookup, as built for a page of two customers.
        let ids: &'static str = Box::leak(super::subscriptions::customer_ids_query(2).into_boxed_str());
        out.push((ids, json!({"c0": "123", "c1": "456"})));
        out.push((
            super::streams::UPDATE_CUSTOMER,
            json!({"input": {"customerId": "Y3VzdG9tZXJfMQ",
            "customer": {"customFields": [{"name": "account_id", "value": "A-1"}]}}}),
        ));
        out
    }

    fn validate(schema: &Valid<Schema>, query: &str, variables: &Value) -> Valid<ExecutableDocument> {
        let doc = ExecutableDocument::parse_and_validate(schema, query, "query.graphql").unwrap_or_else(|e| {
            panic!("the query does not validate against Braintree's schema:\n{}\n{query}", e.errors)
        });
        let op = doc.operations.iter().next().expect("one operation");
        let values: apollo_compiler::response::JsonMap =
            serde_json::from_str(&variables.to_string()).expect("variables as a JSON map");
        apollo_compiler::request::coerce_variable_values(schema, op, &values)
            .unwrap_or_else(|e| panic!("the variables {variables} do not fit the query's variable types: {e:?}"));
        doc
    }

    #[test]
    fn every_query_the_connector_sends_validates_against_the_schema() {
        let Some(schema) = schema() else { return };
        for (query, variables) in requests() {
            validate(&schema, query, &variables);
        }
        // The check can fail: a field Braintree does not have, a wrong argument, a bad variable.
        assert!(
            ExecutableDocument::parse_and_validate(
                &schema,
                "{ search { customers(input: {}) { edges { node { updatedAt } } } } }",
                "x"
            )
            .is_err()
        );
        assert!(
            ExecutableDocument::parse_and_validate(
                &schema,
                "{ search { customers(first: 2) { edges { node { id } } } } }",
                "x"
            )
            .is_err()
        );
        let doc = validate(&schema, super::streams::CUSTOMERS, &json!({"input": {}}));
        let op = doc.operations.iter().next().unwrap();
        let bad: apollo_compiler::response::JsonMap = serde_json::from_str(r#"{"input": {"updatedAt": {}}}"#).unwrap();
        assert!(apollo_compiler::request::coerce_variable_values(&schema, op, &bad).is_err());
    }

    /// What in `value` (the answer to `set`) the schema does not allow: a field not selected, a
    /// selected field missing, a null where the type is non-null, a value of the wrong shape.
    fn check_set(
        schema: &Schema,
        set: &executable::SelectionSet,
        doc: &ExecutableDocument,
        value: &Value,
        at: &str,
        out: &mut Vec<String>,
    ) {
        let Value::Object(obj) = value else {
            out.push(format!("{at}: expected an object of type {}, found {value}", set.ty));
            return;
        };
        let mut fields = Vec::new();
        collect(set, doc, &mut fields);
        for key in obj.keys() {
            if !fields.iter().any(|f| f.response_key().as_str() == key) {
                out.push(format!("{at}.{key}: not selected"));
            }
        }
        for f in fields {
            let key = f.response_key().as_str();
            match obj.get(key) {
                None => out.push(format!("{at}.{key}: selected but missing")),
                Some(v) => check_typed(schema, f.ty(), &f.selection_set, doc, v, &format!("{at}.{key}"), out),
            }
        }
    }

    fn collect<'a>(
        set: &'a executable::SelectionSet,
        doc: &'a ExecutableDocument,
        out: &mut Vec<&'a executable::Field>,
    ) {
        for s in &set.selections {
            match s {
                Selection::Field(f) => out.push(f),
                Selection::InlineFragment(i) => collect(&i.selection_set, doc, out),
                Selection::FragmentSpread(s) => {
                    if let Some(f) = doc.fragments.get(&s.fragment_name) {
                        collect(&f.selection_set, doc, out);
                    }
                }
            }
        }
    }

    fn check_typed(
        schema: &Schema,
        ty: &apollo_compiler::ast::Type,
        set: &executable::SelectionSet,
        doc: &ExecutableDocument,
        v: &Value,
        at: &str,
        out: &mut Vec<String>,
    ) {
        use apollo_compiler::ast::Type;
        if v.is_null() {
            if ty.is_non_null() {
                out.push(format!("{at}: null, but the type is {ty}"));
            }
            return;
        }
        let name = match ty {
            Type::List(inner) | Type::NonNullList(inner) => {
                match v.as_array() {
                    Some(items) => {
                        for (i, item) in items.iter().enumerate() {
                            check_typed(schema, inner, set, doc, item, &format!("{at}[{i}]"), out);
                        }
                    }
                    None => out.push(format!("{at}: expected a list ({ty}), found {v}")),
                }
                return;
            }
            Type::Named(n) | Type::NonNullNamed(n) => n,
        };
        match schema.types.get(name) {
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_)) => {
                check_set(schema, set, doc, v, at, out)
            }
            Some(ExtendedType::Enum(e)) => {
                if !v.as_str().is_some_and(|s| e.values.keys().any(|k| k.as_str() == s)) {
                    out.push(format!("{at}: {v} is not a value of enum {name}"));
                }
            }
            Some(ExtendedType::Scalar(_)) => {
                let ok = match name.as_str() {
                    "Int" => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                    "Float" => v.is_number(),
                    "Boolean" => v.is_boolean(),
                    "Timestamp" => v.as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
                    // "A whole number or exactly two or three decimal places."
                    "Amount" => v.as_str().is_some_and(|a| {
                        let (int, frac) = a.strip_prefix('-').unwrap_or(a).split_once('.').unwrap_or((a, ""));
                        !int.is_empty()
                            && int.bytes().all(|b| b.is_ascii_digit())
                            && (frac.is_empty()
                                || (2..=3).contains(&frac.len()) && frac.bytes().all(|b| b.is_ascii_digit()))
                    }),
                    _ => v.is_string(),
                };
                if !ok {
                    out.push(format!("{at}: {v} is not a {name}"));
                }
            }
            _ => out.push(format!("{at}: {name} is not an output type")),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_emulators_answers_conform_to_the_selected_fields_types() {
        let Some(schema) = schema() else { return };
        let sb = accord_sandbox::Sandbox::start(
            accord_sandbox::Company::generate(3, 80),
            accord_sandbox::SandboxOptions::unlimited(),
        )
        .await
        .unwrap();
        let c = sb.braintree.credentials();
        let http = reqwest::Client::new();
        let mut checked = 0;
        for (query, variables) in requests().into_iter().filter(|(q, _)| q.contains("search")) {
            let doc = Arc::new(validate(&schema, query, &variables));
            let op = doc.operations.iter().next().unwrap();
            let mut variables = variables;
            loop {
                let answer: Value = http
                    .post(format!("{}/graphql", sb.braintree.base_url()))
                    .basic_auth(&c.public_key, Some(&c.private_key))
                    .header("Braintree-Version", super::DEFAULT_VERSION)
                    .json(&json!({"query": query, "variables": variables}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert!(answer.get("errors").is_none(), "{answer}");
                let mut problems = Vec::new();
                check_set(&schema, &op.selection_set, &doc, &answer["data"], "data", &mut problems);
                assert!(problems.is_empty(), "the answer breaks the schema:\n{}", problems.join("\n"));
                let connection = answer["data"]["search"].as_object().unwrap().values().next().unwrap().clone();
                checked += connection["edges"].as_array().unwrap().len();
                if connection["pageInfo"]["hasNextPage"] != json!(true) {
                    break;
                }
                variables["after"] = connection["pageInfo"]["endCursor"].clone();
            }
        }
        assert!(checked > 20, "records checked: {checked}");
        // The read-back and the write of `accord propagate`.
        let id = sb.braintree.snapshot().customers[0].id.clone();
        for (query, variables) in [
            (super::streams::READ_CUSTOMER, json!({"id": id})),
            (
                super::streams::UPDATE_CUSTOMER,
                json!({"input": {"customerId": id,
                "customer": {"customFields": [{"name": "account_id", "value": "A-1"}]}}}),
            ),
        ] {
            let doc = validate(&schema, query, &variables);
            let op = doc.operations.iter().next().unwrap();
            let answer: Value = http
                .post(format!("{}/graphql", sb.braintree.base_url()))
                .basic_auth(&c.public_key, Some(&c.private_key))
                .header("Braintree-Version", super::DEFAULT_VERSION)
                .json(&json!({"query": query, "variables": variables}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert!(answer.get("errors").is_none(), "{answer}");
            assert!(answer["data"].as_object().unwrap().values().all(|v| !v.is_null()), "{answer}");
            let mut problems = Vec::new();
            check_set(&schema, &op.selection_set, &doc, &answer["data"], "data", &mut problems);
            assert!(problems.is_empty(), "the answer breaks the schema:\n{}", problems.join("\n"));
        }
        // The check can fail: an unselected field, a null in a non-null place, a bad scalar.
        let doc = validate(&schema, super::streams::TRANSACTIONS, &json!({"input": {}}));
        let op = doc.operations.iter().next().unwrap();
        let mut problems = Vec::new();
        let bad = json!({"search": {"transactions": {"pageInfo": {"hasNextPage": null, "endCursor": null, "extra": 1},
            "edges": [{"node": {"id": "x", "legacyId": "1", "createdAt": "yesterday", "status": "PAID", "orderId": null,
            "amount": {"value": "1.5", "currencyCode": "USD"}, "customer": null, "customFields": null}}]}}});
        check_set(&schema, &op.selection_set, &doc, &bad, "data", &mut problems);
        let text = problems.join("\n");
        for says in ["pageInfo.extra: not selected", "hasNextPage: null", "createdAt", "PAID", "1.5"] {
            assert!(text.contains(says), "{says}: {text}");
        }
        sb.shutdown().await;
    }
}

async fn sandbox_connector(extra: &str) -> (accord_sandbox::Sandbox, tempfile::TempDir, Box<dyn Connector>) {
    let sb = accord_sandbox::Sandbox::start(
        accord_sandbox::Company::generate(3, 80),
        accord_sandbox::SandboxOptions::unlimited(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // `extra` replaces the sandbox's own custom field name in the Braintree table.
    let toml = sb.accord_toml(dir.path(), false).unwrap();
    let at = toml.find("[sources.braintree]").unwrap();
    let (head, tail) = toml.split_at(at);
    let tail =
        if extra.is_empty() { tail.to_owned() } else { tail.replacen("account_id_field = \"account_id\"\n", extra, 1) };
    let toml = format!("{head}{tail}");
    let config = Config::from_toml(&toml, dir.path()).unwrap();
    let c = crate::open_source("braintree", &config.raw.sources["braintree"], &config).unwrap();
    (sb, dir, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_id_custom_field_is_read_back_and_written() {
    let (sb, _dir, c) = sandbox_connector("").await;
    let w = c.write_back().expect("customers are writable");
    assert_eq!(w.writable_field("customers").unwrap().as_str(), "customFields[name=account_id].value");
    assert!(w.writable_field("transactions").is_none());
    let vault = sb.braintree.snapshot();
    let by_email = vault.customers.iter().find(|c| !c.custom_fields.iter().any(|(n, _)| n == "account_id")).unwrap();
    assert_eq!(w.current("customers", &by_email.id).await.unwrap(), None);
    let said = w.write("customers", &by_email.id, "ACC-77").await.unwrap();
    assert!(said.contains("updateCustomer"), "{said}");
    assert_eq!(w.current("customers", &by_email.id).await.unwrap().as_deref(), Some("ACC-77"));
    assert_eq!(sb.braintree.writes(), vec![("customers".to_owned(), by_email.id.clone())]);
    let e = w.current("customers", "bm8gc3VjaA").await.unwrap_err().to_string();
    assert!(e.contains("not in the vault"), "{e}");
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_field_braintree_does_not_define_is_refused_with_its_message() {
    let (sb, _dir, c) = sandbox_connector("account_id_field = \"acct_ref\"\n").await;
    let w = c.write_back().unwrap();
    let id = sb.braintree.snapshot().customers[0].id.clone();
    let e = w.write("customers", &id, "ACC-1").await.unwrap_err().to_string();
    assert!(e.contains("Custom field is invalid: acct_ref"), "{e}");
    assert!(sb.braintree.writes().is_empty());
    sb.shutdown().await;
}

#[test]
fn only_a_custom_field_path_is_written() {
    assert_eq!(
        custom_field_name(&crate::vendors::common::path("customFields[name=acct].value")).as_deref(),
        Some("acct")
    );
    assert_eq!(custom_field_name(&crate::vendors::common::path("email")), None);
    assert_eq!(custom_field_name(&crate::vendors::common::path("customFields[name=acct].name")), None);
}

mod gateway {
    use std::collections::HashMap;

    use super::subscriptions::{PlanTerms, derive, plans};
    use super::*;

    fn plan_map() -> HashMap<String, PlanTerms> {
        let answer = accord_core::xml::parse(
            "<plans type=\"array\"><plan><id>m</id><billing-frequency type=\"integer\">1</billing-frequency>\
             <currency-iso-code>USD</currency-iso-code></plan><plan><id>q</id>\
             <billing-frequency type=\"integer\">3</billing-frequency><currency-iso-code>JPY</currency-iso-code>\
             </plan></plans>",
        )
        .unwrap();
        plans(&answer).unwrap()
    }

    fn modification(id: &str, amount: &str, quantity: i64, cycles: Option<i64>, current: i64) -> Value {
        json!({"id": id, "amount": amount, "quantity": quantity, "never-expires": cycles.is_none(),
            "number-of-billing-cycles": cycles, "current-billing-cycle": current})
    }

    #[test]
    fn revenue_is_the_price_plus_add_ons_less_discounts_in_force_per_plan_frequency() {
        let plans = plan_map();
        let sub = json!({
            "id": "s1", "plan-id": "m", "status": "Active", "price": "10.05",
            "first-billing-date": "2024-01-05", "created-at": "2024-01-01T10:00:00Z",
            "add-ons": [modification("seat", "2.50", 3, None, 4), modification("old", "9.99", 1, Some(3), 3)],
            "discounts": [modification("loyal", "1.10", 1, Some(12), 4)],
        });
        let d = derive(&sub, &plans).unwrap();
        // 10.05 + 3 × 2.50 − 1.10; the add-on whose three cycles are over does not count.
        assert_eq!(d["unit_amount"], 1645);
        assert_eq!((d["billing_interval"].as_str(), d["interval_count"].as_u64()), (Some("month"), Some(1)));
        assert_eq!((d["status"].as_str(), d["currency"].as_str()), (Some("active"), Some("USD")));
        assert_eq!(d["start_date"], "2024-01-05");
        let yen = json!({"id": "s2", "plan-id": "q", "status": "Canceled", "price": "3000", "add-ons": [], "discounts": [],
            "updated-at": "2024-05-01T00:00:00Z",
            "status-history": [{"status": "Active", "timestamp": "2024-01-01T00:00:00Z"},
                               {"status": "Canceled", "timestamp": "2024-03-03T12:00:00Z"}]});
        let d = derive(&yen, &plans).unwrap();
        assert_eq!((d["unit_amount"].as_i64(), d["interval_count"].as_u64()), (Some(3000), Some(3)));
        assert_eq!(d["status"], "canceled");
        assert_eq!(d["end_date"], "2024-03-03T12:00:00Z", "the status history's day, not the last update");
        for (status, accord) in [("Past Due", "past_due"), ("Pending", "future"), ("Expired", "expired")] {
            let s = json!({"plan-id": "m", "status": status, "price": "1.00"});
            assert_eq!(derive(&s, &plans).unwrap()["status"], accord, "{status}");
        }
        let e = derive(&json!({"plan-id": "q", "status": "Active", "price": "1.5"}), &plans).unwrap_err();
        assert!(e.contains("price"), "yen have no decimals: {e}");
        let e = derive(&json!({"plan-id": "nope", "status": "Active", "price": "1.00"}), &plans).unwrap_err();
        assert!(e.contains("nope"), "{e}");
        let e = derive(&json!({"plan-id": "m", "status": "Paused", "price": "1.00"}), &plans).unwrap_err();
        assert!(e.contains("Paused"), "{e}");
    }

    #[test]
    fn gateway_refusals_give_braintree_s_message_and_answers_read_as_json() {
        let rules = BraintreeRules;
        let mut xml = HeaderMap::new();
        xml.insert(reqwest::header::CONTENT_TYPE, "application/xml".parse().unwrap());
        let body = b"<?xml version=\"1.0\"?><api-error-response><errors><errors type=\"array\"/></errors>\
            <message>Plan ID is invalid.</message></api-error-response>";
        match rules.classify(StatusCode::UNPROCESSABLE_ENTITY, &xml, body) {
            Verdict::Fatal(m) => assert!(m.contains("Plan ID is invalid."), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(rules.classify(StatusCode::SERVICE_UNAVAILABLE, &xml, body), Verdict::Transient(_)));
        assert!(matches!(rules.classify(StatusCode::UNAUTHORIZED, &xml, b""), Verdict::AuthExpired));
        let ok = b"<search-results><page-size type=\"integer\">50</page-size><ids type=\"array\"/></search-results>";
        assert_eq!(rules.decode(&xml, ok).unwrap().unwrap(), json!({"search-results": {"page-size": 50, "ids": []}}));
        assert!(rules.decode(&xml, b"<search-results><ids").unwrap().is_err(), "a cut answer is a passing failure");
        assert!(rules.decode(&HeaderMap::new(), b"{\"data\": 1}").is_none(), "JSON stays JSON");
    }

    #[test]
    fn subscriptions_need_a_merchant_id() {
        let c = config("").unwrap();
        assert!(!c.objects().iter().any(|o| o.name == "subscriptions"), "no merchant id: no subscriptions");
        let c = config("merchant_id = \"m1\"").unwrap();
        let names: Vec<&str> = c.objects().iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["customers", "transactions", "subscriptions"]);
        let e = config("merchant_id = \" \"").unwrap_err().to_string();
        assert!(e.contains("sources.bt.merchant_id"), "{e}");
        let r =
            super::subscriptions::Gateway { url: "https://api.braintreegateway.com/".into(), merchant_id: "m1".into() }
                .payment_method_request("a b/c");
        assert_eq!(r.path, "https://api.braintreegateway.com/merchants/m1/payment_methods/any/a%20b%2Fc");
        assert!(r.headers.contains(&("X-ApiVersion".to_owned(), "6".to_owned())));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn subscriptions_link_to_their_payment_method_s_customer() {
        let (sb, _dir, c) = sandbox_connector("").await;
        let vault = sb.braintree.snapshot();
        let mut stream = c.open_stream("subscriptions", None, false).unwrap();
        let mut got = Vec::new();
        while let Some(page) = stream.next_page().await.unwrap() {
            for item in page.items {
                match item {
                    Item::Record(r) => got.push(r.data),
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(got.len(), vault.subscriptions.len());
        for r in &got {
            let sub = vault.subscriptions.iter().find(|s| s.id == r["id"]).unwrap();
            let owner = vault.payment_methods.iter().find(|p| p.token == sub.payment_method_token).unwrap();
            let customer = vault.customers.iter().find(|c| c.legacy_id == owner.customer_legacy_id).unwrap();
            assert_eq!(r["customer"]["id"], json!(customer.id), "the customer's GraphQL id");
            assert!(r["accord"]["unit_amount"].is_i64(), "{r}");
        }
        // A payment method no longer in the vault: its subscriptions come, unlinked.
        let orphan = &vault.subscriptions[0];
        sb.braintree.delete_payment_method(&orphan.payment_method_token).unwrap();
        let mut stream = c.open_stream("subscriptions", None, true).unwrap();
        let mut found = None;
        while let Some(page) = stream.next_page().await.unwrap() {
            for item in page.items {
                if let Item::Record(r) = item
                    && r.data["id"] == orphan.id.as_str()
                {
                    found = Some(r.data);
                }
            }
        }
        let found = found.expect("the subscription is still read");
        assert_eq!(found["customer"], json!({"id": null, "legacyId": null}));
        sb.shutdown().await;
    }
}
