use serde_json::{Value, json};

use super::model::{ACCOUNT_ID_FIELD, BraintreeData, Customer, Transaction, global_id};
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
    };
    Emulator::start(data, Options { rate_limited: false, ..Options::default() }, Clock::new()).await.unwrap()
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
