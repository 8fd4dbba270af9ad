use serde_json::{Value, json};

use super::model::{
    ACCOUNT_ID_FIELD, BraintreeData, Customer, Modification, PaymentMethod, Plan, Subscription, Transaction, global_id,
};
use super::{Emulator, Options};
use crate::clock::Clock;

fn customer(n: u32, created: i64) -> Customer {
    Customer {
        id: global_id("customer", &n.to_string()),
        legacy_id: n.to_string(),
        created: chrono::DateTime::from_timestamp(created, 0).unwrap(),
        email: Some(format!("c{n}@x.example")),
        company: Some(format!("Co {n}")),
        first_name: None,
        last_name: None,
        website: None,
        custom_fields: vec![(ACCOUNT_ID_FIELD.into(), format!("A{n}"))],
    }
}

fn subscription(n: i64, status: &str) -> Subscription {
    let created = chrono::DateTime::from_timestamp(1_700_000_000 + n * 60, 0).unwrap();
    Subscription {
        id: format!("sub{n}"),
        plan_id: "basic".into(),
        status: status.into(),
        price: "10.00".into(),
        payment_method_token: "tok1".into(),
        created,
        updated: created,
        first_billing_date: created.date_naive(),
        billing_period_start: Some(created.date_naive()),
        billing_period_end: None,
        next_billing_date: None,
        billing_day_of_month: 14,
        number_of_billing_cycles: None,
        current_billing_cycle: 1,
        add_ons: vec![Modification {
            id: "seat".into(),
            amount: "2.50".into(),
            quantity: 2,
            never_expires: true,
            number_of_billing_cycles: None,
            current_billing_cycle: 1,
        }],
        discounts: vec![],
        status_history: vec![(created, status.into())],
    }
}

async fn emulator(customers: u32) -> Emulator {
    let data = BraintreeData {
        customers: (1..=customers).map(|n| customer(n, 1_700_000_000 + i64::from(n) * 60)).collect(),
        transactions: vec![Transaction {
            id: global_id("transaction", "t1"),
            legacy_id: "t1".into(),
            created: chrono::DateTime::from_timestamp(1_700_000_500, 0).unwrap(),
            status: "SETTLED".into(),
            order_id: None,
            amount: "12.50".into(),
            currency: "EUR".into(),
            customer_id: Some(global_id("customer", "1")),
            custom_fields: vec![],
        }],
        custom_field_names: vec![ACCOUNT_ID_FIELD.into()],
        plans: vec![Plan {
            id: "basic".into(),
            name: "Basic".into(),
            price: "10.00".into(),
            currency: "USD".into(),
            billing_frequency: 1,
        }],
        payment_methods: vec![PaymentMethod {
            token: "tok1".into(),
            customer_legacy_id: "1".into(),
            kind: "credit-card".into(),
        }],
        subscriptions: (1..=7).map(|n| subscription(n, if n == 3 { "Canceled" } else { "Active" })).collect(),
    };
    let options = Options { rate_limited: false, search_page_size: 3, ..Options::default() };
    Emulator::start(data, options, Clock::new()).await.unwrap()
}

/// A request to the XML gateway: the status and the parsed answer (`Null` for an empty body).
async fn gateway(e: &Emulator, method: &str, rest: &str, body: Option<&str>, auth: bool) -> (u16, Value) {
    let c = e.credentials();
    let url = format!("{}/merchants/{}/{rest}", e.gateway_url(), c.merchant_id);
    let mut r = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .header("X-ApiVersion", "6")
        .header("Accept", "application/xml");
    if auth {
        r = r.basic_auth(&c.public_key, Some(&c.private_key));
    }
    if let Some(b) = body {
        r = r.header("Content-Type", "application/xml").body(b.to_owned());
    }
    let resp = r.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { accord_core::xml::parse(&text).unwrap() })
}

#[tokio::test]
async fn the_gateway_searches_subscriptions_by_ids_a_page_at_a_time() {
    let e = emulator(1).await;
    let all = "<search><status type=\"array\"><item>Active</item><item>Canceled</item></status></search>";
    let (status, answer) = gateway(&e, "POST", "subscriptions/advanced_search_ids", Some(all), true).await;
    assert_eq!(status, 200, "{answer}");
    let ids: Vec<String> = serde_json::from_value(answer["search-results"]["ids"].clone()).unwrap();
    assert_eq!(ids, (1..=7).map(|n| format!("sub{n}")).collect::<Vec<_>>(), "every status asked, oldest first");
    assert_eq!(answer["search-results"]["page-size"], 3);
    let active = "<search><status type=\"array\"><item>Active</item></status></search>";
    let (_, answer) = gateway(&e, "POST", "subscriptions/advanced_search_ids", Some(active), true).await;
    assert_eq!(answer["search-results"]["ids"].as_array().unwrap().len(), 6);
    let page = "<search><ids type=\"array\"><item>sub2</item><item>sub3</item></ids></search>";
    let (status, answer) = gateway(&e, "POST", "subscriptions/advanced_search", Some(page), true).await;
    assert_eq!(status, 200);
    let subs = answer["subscriptions"].as_array().unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[1]["status"], "Canceled");
    assert_eq!(
        subs[0]["add-ons"][0],
        json!({"id": "seat", "amount": "2.50", "quantity": 2, "never-expires": true,
        "number-of-billing-cycles": null, "current-billing-cycle": 1})
    );
    assert_eq!(subs[0]["payment-method-token"], "tok1");
    let too_many = "<search><ids type=\"array\"><item>sub1</item><item>sub2</item><item>sub3</item><item>sub4</item></ids></search>";
    let (status, answer) = gateway(&e, "POST", "subscriptions/advanced_search", Some(too_many), true).await;
    assert_eq!(status, 422);
    assert!(answer["api-error-response"]["message"].as_str().unwrap().contains("at most 3"), "{answer}");
    let (status, answer) =
        gateway(&e, "POST", "subscriptions/advanced_search_ids", Some("<search><price>1</price></search>"), true).await;
    assert_eq!((status, answer["api-error-response"]["message"].as_str().unwrap().contains("price")), (422, true));
    // A cancellation is a new status with a history entry.
    e.update_subscription("sub1", |s| s.status = "Canceled".into()).unwrap();
    let s1 = e.snapshot().subscriptions.into_iter().find(|s| s.id == "sub1").unwrap();
    assert_eq!(s1.status_history.last().unwrap().1, "Canceled");
}

#[tokio::test]
async fn the_gateway_serves_plans_and_payment_method_owners_and_refuses_wrong_keys() {
    let e = emulator(1).await;
    let (status, answer) = gateway(&e, "GET", "plans", None, true).await;
    assert_eq!(status, 200);
    assert_eq!(answer["plans"][0]["billing-frequency"], 1);
    assert_eq!(answer["plans"][0]["currency-iso-code"], "USD");
    let (_, answer) = gateway(&e, "GET", "payment_methods/any/tok1", None, true).await;
    assert_eq!(answer["credit-card"]["customer-id"], "1");
    let (status, _) = gateway(&e, "GET", "payment_methods/any/nope", None, true).await;
    assert_eq!(status, 404);
    let (status, answer) = gateway(&e, "GET", "plans", None, false).await;
    assert_eq!((status, answer), (401, Value::Null));
    let c = e.credentials();
    let other = reqwest::Client::new()
        .get(format!("{}/merchants/someone-else/plans", e.gateway_url()))
        .basic_auth(&c.public_key, Some(&c.private_key))
        .header("X-ApiVersion", "6")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 403);
    let q = "query($c0: ID!) { c0: idFromLegacyId(legacyId: $c0, type: CUSTOMER) }";
    let (_, answer) = post(&e, json!({"query": q, "variables": {"c0": "1"}}), true, true).await;
    assert_eq!(answer["data"]["c0"], json!(global_id("customer", "1")));
}

async fn post(e: &Emulator, body: Value, auth: bool, version: bool) -> (u16, Value) {
    let c = e.credentials();
    let mut r = reqwest::Client::new().post(format!("{}/graphql", e.base_url())).json(&body);
    if auth {
        r = r.basic_auth(&c.public_key, Some(&c.private_key));
    }
    if version {
        r = r.header("Braintree-Version", "2025-04-29");
    }
    let resp = r.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

const SEARCH: &str = "query($input: CustomerSearchInput!, $first: Int, $after: String) {
  search { customers(input: $input, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id createdAt email mail: email customFields { name value } } } } } }";

#[tokio::test]
async fn keys_and_the_version_are_required() {
    let e = emulator(2).await;
    let body = json!({"query": "{ ping }"});
    let (status, answer) = post(&e, body.clone(), false, true).await;
    assert_eq!(status, 401);
    assert_eq!(answer["errors"][0]["extensions"]["errorClass"], "AUTHENTICATION");
    let (status, answer) = post(&e, body.clone(), true, false).await;
    assert_eq!(status, 400);
    assert!(answer["errors"][0]["message"].as_str().unwrap().contains("Braintree-Version"));
    assert_eq!(
        post(&e, body, true, true).await,
        (200, json!({"data": {"ping": "pong"}, "extensions": {"requestId": "00000000-acc0-4000-8000-000000000001"}}))
    );
}

#[tokio::test]
async fn searches_page_as_relay_connections_with_only_the_selected_fields() {
    let e = emulator(5).await;
    let mut after = Value::Null;
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let (status, answer) =
            post(&e, json!({"query": SEARCH, "variables": {"input": {}, "first": 2, "after": after}}), true, true)
                .await;
        assert_eq!(status, 200, "{answer}");
        let c = &answer["data"]["search"]["customers"];
        for edge in c["edges"].as_array().unwrap() {
            let node = edge["node"].as_object().unwrap();
            let keys: Vec<&str> = node.keys().map(String::as_str).collect();
            assert_eq!(keys, ["createdAt", "customFields", "email", "id", "mail"], "the selection, under its aliases");
            assert_eq!(node["mail"], node["email"]);
            assert!(edge.get("cursor").is_none(), "not selected");
            ids.push(node["id"].as_str().unwrap().to_owned());
        }
        pages += 1;
        if c["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (1..=5).map(|n| global_id("customer", &n.to_string())).collect();
    assert_eq!(ids, expected, "in creation order, each once");
    // createdAt from the third customer's instant on.
    let since = super::model::timestamp(chrono::DateTime::from_timestamp(1_700_000_180, 0).unwrap());
    let input = json!({"createdAt": {"greaterThanOrEqualTo": since}});
    let (_, answer) = post(&e, json!({"query": SEARCH, "variables": {"input": input, "first": 50}}), true, true).await;
    assert_eq!(answer["data"]["search"]["customers"]["edges"].as_array().unwrap().len(), 3);
    // A hard delete: gone from every search.
    e.delete_customer(&expected[0]).unwrap();
    let (_, answer) = post(&e, json!({"query": SEARCH, "variables": {"input": {}, "first": 50}}), true, true).await;
    assert_eq!(answer["data"]["search"]["customers"]["edges"].as_array().unwrap().len(), 4);
    let q =
        "{ search { transactions(input: {}) { edges { node { amount { value currencyCode } customer { id } } } } } }";
    let (_, answer) = post(&e, json!({"query": q}), true, true).await;
    let node = &answer["data"]["search"]["transactions"]["edges"][0]["node"];
    assert_eq!(node["amount"], json!({"value": "12.50", "currencyCode": "EUR"}));
    assert_eq!(node["customer"], Value::Null, "its customer was deleted");
}

#[tokio::test]
async fn bad_queries_are_graphql_validation_errors() {
    let e = emulator(1).await;
    for (query, says) in [
        ("{ search { customers(input: {}) { edges { node { nope } } } } }", "Cannot query field \"nope\""),
        ("{ search { customers(input: {}) { edges { node { customFields } } } } }", "selection of subfields"),
        ("{ search { customers(input: {}, first: 500) { edges { node { id } } } } }", "first must be"),
        ("{ search { customers(input: {}, after: \"zzz\") { edges { node { id } } } } }", "Invalid cursor"),
        (
            "{ search { customers(input: {createdAt: {greaterThanOrEqualTo: \"yesterday\"}}) { edges { node { id } } } } }",
            "Timestamp",
        ),
        ("{ search { customers { edges { node { id } } } } }", "non-null"),
        ("{ search { customers(input: {}) { edges { node { id } } }", "expected"),
    ] {
        let (status, answer) = post(&e, json!({"query": query}), true, true).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(answer["data"], Value::Null, "{query}");
        assert_eq!(answer["errors"][0]["extensions"]["errorClass"], "VALIDATION", "{query}");
        let message = answer["errors"][0]["message"].as_str().unwrap();
        assert!(message.to_lowercase().contains(&says.to_lowercase()), "{query}: {message}");
    }
}

#[tokio::test]
async fn update_customer_sets_defined_custom_fields_and_refuses_others() {
    let e = emulator(1).await;
    let id = global_id("customer", "1");
    let m = "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { id customFields { name value } } } }";
    let input = json!({"customerId": id, "customer": {"customFields": [{"name": ACCOUNT_ID_FIELD, "value": "NEW-1"}]}});
    let (_, answer) = post(&e, json!({"query": m, "variables": {"input": input}}), true, true).await;
    assert_eq!(
        answer["data"]["updateCustomer"]["customer"]["customFields"],
        json!([{"name": ACCOUNT_ID_FIELD, "value": "NEW-1"}])
    );
    assert_eq!(e.writes(), vec![("customers".to_owned(), id.clone())]);
    let input = json!({"customerId": id, "customer": {"customFields": [{"name": "acct", "value": "X"}]}});
    let (_, answer) = post(&e, json!({"query": m, "variables": {"input": input}}), true, true).await;
    assert!(answer["errors"][0]["message"].as_str().unwrap().contains("Custom field is invalid: acct"), "{answer}");
    assert_eq!(e.snapshot().customers[0].custom_fields, vec![(ACCOUNT_ID_FIELD.to_owned(), "NEW-1".to_owned())]);
    let input = json!({"customerId": "bm9uZQ", "customer": {"email": "a@b.example"}});
    let (_, answer) = post(&e, json!({"query": m, "variables": {"input": input}}), true, true).await;
    assert_eq!(answer["errors"][0]["extensions"]["errorClass"], "NOT_FOUND");
}
