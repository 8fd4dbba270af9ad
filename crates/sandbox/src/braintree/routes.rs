//! Braintree's GraphQL endpoint over HTTP: the request guard's Basic-auth and version checks,
//! the query parsed by `apollo-compiler`'s parser and executed against the vault: the searches'
//! Relay connections, `ping`, `updateCustomer`, and the answer shaped to the selection.

use std::collections::HashMap;
use std::sync::Arc;

use apollo_compiler::ast::{self, Definition, OperationType, Selection};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::State;
use super::model::Customer;
use crate::emulator::faults::Fault;
use crate::emulator::ratelimit::Limit;
use crate::emulator::respond::json as reply;
use crate::emulator::server::{Vendor, guard};
use crate::emulator::store::{Record, Store};
use crate::emulator::{Core, auth};

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/graphql", post(graphql))
        .merge(super::gateway::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::<State>))
        .with_state(state)
}

/// A GraphQL error answer: `{"data": null, "errors": [{message, extensions.errorClass}]}`.
fn errors(status: StatusCode, class: &str, message: &str) -> Response {
    reply(
        status,
        json!({
            "data": null,
            "errors": [{"message": message, "locations": [], "extensions": {"errorClass": class, "legacyCode": null}}],
            "extensions": {"requestId": "00000000-acc0-4000-8000-000000000000"},
        }),
    )
}

async fn not_found() -> Response {
    errors(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource could not be found")
}

fn too_many(retry_after: u64) -> Response {
    let mut r = errors(StatusCode::TOO_MANY_REQUESTS, "RESOURCE_LIMIT", "Too many requests");
    if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

impl Vendor for State {
    fn core(&self) -> &Core {
        &self.core
    }

    fn authorize(&self, req: &Request) -> Result<(), Response> {
        if super::gateway::is_gateway(req.uri().path()) {
            return super::gateway::authorize(self, req);
        }
        if req.uri().path() != "/graphql" {
            return Ok(());
        }
        match auth::basic(req) {
            Some((public, private))
                if public == self.credentials.public_key && private == self.credentials.private_key => {}
            _ => {
                return Err(errors(
                    StatusCode::UNAUTHORIZED,
                    "AUTHENTICATION",
                    "Authentication credentials are invalid",
                ));
            }
        }
        let version = req.headers().get("braintree-version").and_then(|v| v.to_str().ok()).unwrap_or("").trim();
        if chrono::NaiveDate::parse_from_str(version, "%Y-%m-%d").is_err() {
            return Err(errors(
                StatusCode::BAD_REQUEST,
                "VALIDATION",
                "The Braintree-Version header is required and must be a date (YYYY-MM-DD)",
            ));
        }
        Ok(())
    }

    fn throttle(&self, req: &Request) -> Result<HeaderMap, Response> {
        let gateway = super::gateway::is_gateway(req.uri().path());
        if req.uri().path() != "/graphql" && !gateway {
            return Ok(HeaderMap::new());
        }
        // One limit for both APIs.
        match self
            .core
            .limiter
            .acquire("requests", Limit { max: self.options.requests.max(1), window: self.options.window })
        {
            Some(v) if !v.allowed && gateway => Err(super::gateway::too_many(v.retry_after_secs())),
            Some(v) if !v.allowed => Err(too_many(v.retry_after_secs())),
            _ => Ok(HeaderMap::new()),
        }
    }

    fn fault_response_at(&self, path: &str, fault: Fault) -> Response {
        if super::gateway::is_gateway(path) {
            super::gateway::fault_response(fault)
        } else {
            self.fault_response(fault)
        }
    }

    fn fault_response(&self, fault: Fault) -> Response {
        match fault {
            Fault::RateLimited => too_many(1),
            Fault::Status(code) => errors(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "INTERNAL",
                "An unexpected error occurred",
            ),
            Fault::Delay(_) | Fault::Drop | Fault::Truncate | Fault::LoseRecord => {
                errors(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "An unexpected error occurred")
            }
        }
    }
}

/// A failure of one request: its class and message (answered as a 200 with `errors`).
struct Failure(&'static str, String);

fn invalid(message: impl Into<String>) -> Failure {
    Failure("VALIDATION", message.into())
}

type Fragments<'a> = HashMap<&'a str, &'a ast::FragmentDefinition>;

/// `POST /graphql`: `{"query", "variables", "operationName"}`.
async fn graphql(AxState(s): AxState<Arc<State>>, body: Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return errors(StatusCode::BAD_REQUEST, "VALIDATION", "The request body must be a JSON object"),
    };
    match execute(&s, &request) {
        Ok(data) => reply(
            StatusCode::OK,
            json!({"data": data, "extensions": {"requestId": "00000000-acc0-4000-8000-000000000001"}}),
        ),
        Err(Failure(class, message)) => errors(StatusCode::OK, class, &message),
    }
}

fn execute(s: &State, request: &Value) -> Result<Value, Failure> {
    let query = request.get("query").and_then(Value::as_str).ok_or_else(|| invalid("The request has no query"))?;
    let variables = match request.get("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(invalid("variables must be a JSON object")),
    };
    let document = ast::Document::parse(query, "request.graphql").map_err(|e| invalid(e.errors.to_string()))?;
    let mut operations = Vec::new();
    let mut fragments: Fragments = HashMap::new();
    for d in &document.definitions {
        match d {
            Definition::OperationDefinition(op) => operations.push(op),
            Definition::FragmentDefinition(f) => {
                fragments.insert(f.name.as_str(), f);
            }
            _ => return Err(invalid("A request holds operations and fragments only")),
        }
    }
    let wanted = request.get("operationName").and_then(Value::as_str);
    let op = match wanted {
        Some(name) => operations.iter().find(|o| o.name.as_ref().is_some_and(|n| n.as_str() == name)),
        None if operations.len() == 1 => operations.first(),
        None => return Err(invalid("Several operations: name one in operationName")),
    }
    .ok_or_else(|| invalid("No such operation"))?;
    for v in &op.variables {
        if v.ty.is_non_null() && variables.get(v.name.as_str()).is_none_or(Value::is_null) && v.default_value.is_none()
        {
            return Err(invalid(format!("Variable '{}' has an invalid value: null for a non-null type", v.name)));
        }
    }
    let cx = Cx { s, variables: &variables, fragments: &fragments };
    let mut data = Map::new();
    let root = match op.operation_type {
        OperationType::Query => "Query",
        OperationType::Mutation => "Mutation",
        OperationType::Subscription => return Err(invalid("Subscriptions are not supported")),
    };
    for field in cx.fields(&op.selection_set, root)? {
        let key = field.alias.as_ref().unwrap_or(&field.name).to_string();
        let value = match (root, field.name.as_str()) {
            (_, "__typename") => json!(root),
            ("Query", "ping") => json!("pong"),
            ("Query", "search") => {
                let mut search = Map::new();
                for f in cx.fields(&field.selection_set, "Search")? {
                    let key = f.alias.as_ref().unwrap_or(&f.name).to_string();
                    let v = match f.name.as_str() {
                        "__typename" => json!("Search"),
                        "customers" => cx.connection(f, Object::Customers)?,
                        "transactions" => cx.connection(f, Object::Transactions)?,
                        other => return Err(invalid(format!("The emulator does not serve search.{other}"))),
                    };
                    search.insert(key, v);
                }
                Value::Object(search)
            }
            ("Query", "node") => cx.node(field)?,
            ("Query", "idFromLegacyId") => cx.id_from_legacy_id(field)?,
            ("Mutation", "updateCustomer") => cx.update_customer(field)?,
            (_, other) => return Err(invalid(format!("Cannot query field \"{other}\" on type \"{root}\""))),
        };
        data.insert(key, value);
    }
    Ok(Value::Object(data))
}

#[derive(Clone, Copy, PartialEq)]
enum Object {
    Customers,
    Transactions,
}

struct Cx<'a> {
    s: &'a State,
    variables: &'a Map<String, Value>,
    fragments: &'a Fragments<'a>,
}

/// A JSON cursor value: `(created, id)` of the edge, base64.
fn cursor(created: DateTime<Utc>, id: &str) -> String {
    B64.encode(format!("{}:{id}", created.timestamp()))
}

fn decode_cursor(text: &str) -> Option<(DateTime<Utc>, String)> {
    let raw = String::from_utf8(B64.decode(text.trim_end_matches('=')).ok()?).ok()?;
    let (secs, id) = raw.split_once(':')?;
    Some((DateTime::from_timestamp(secs.parse().ok()?, 0)?, id.to_owned()))
}

fn timestamp(v: &Value, at: &str) -> Result<DateTime<Utc>, Failure> {
    v.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc)).ok_or_else(|| {
        invalid(format!("Variable 'input' has an invalid value: {at} must be a Timestamp (ISO 8601), got {v}"))
    })
}

/// What a search's input asks for.
#[derive(Default)]
struct Filter {
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    ids: Option<Vec<String>>,
}

impl Filter {
    fn parse(input: &Value) -> Result<Self, Failure> {
        let Value::Object(input) = input else {
            return Err(invalid("Variable 'input' has an invalid value: expected an object"));
        };
        let mut f = Filter::default();
        for (k, v) in input {
            match (k.as_str(), v) {
                (_, Value::Null) => {}
                ("createdAt", Value::Object(range)) => {
                    for (op, t) in range {
                        match op.as_str() {
                            "greaterThanOrEqualTo" => f.from = Some(timestamp(t, "createdAt.greaterThanOrEqualTo")?),
                            "lessThanOrEqualTo" => f.until = Some(timestamp(t, "createdAt.lessThanOrEqualTo")?),
                            other => {
                                return Err(invalid(format!(
                                    "Variable 'input' has an invalid value: SearchTimestampInput has no field {other}"
                                )));
                            }
                        }
                    }
                }
                ("id", Value::Object(value)) => {
                    let mut ids = Vec::new();
                    if let Some(is) = value.get("is").and_then(Value::as_str) {
                        ids.push(is.to_owned());
                    }
                    if let Some(Value::Array(list)) = value.get("in") {
                        ids.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
                    }
                    f.ids = Some(ids);
                }
                (other, _) => return Err(invalid(format!("The emulator does not filter by {other}"))),
            }
        }
        Ok(f)
    }
}

impl Cx<'_> {
    /// The fields of a selection set on `type_name`, fragments spread in.
    fn fields<'b>(&'b self, set: &'b [Selection], type_name: &str) -> Result<Vec<&'b ast::Field>, Failure> {
        let mut out = Vec::new();
        for sel in set {
            match sel {
                Selection::Field(f) => out.push(&**f),
                Selection::InlineFragment(i) => {
                    if i.type_condition.as_ref().is_none_or(|t| t.as_str() == type_name) {
                        out.extend(self.fields(&i.selection_set, type_name)?);
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let f = self
                        .fragments
                        .get(spread.fragment_name.as_str())
                        .ok_or_else(|| invalid(format!("Unknown fragment \"{}\"", spread.fragment_name)))?;
                    if f.type_condition.as_str() == type_name {
                        out.extend(self.fields(&f.selection_set, type_name)?);
                    }
                }
            }
        }
        Ok(out)
    }

    fn value(&self, v: &ast::Value) -> Value {
        match v {
            ast::Value::Null => Value::Null,
            ast::Value::Variable(name) => self.variables.get(name.as_str()).cloned().unwrap_or(Value::Null),
            ast::Value::Enum(e) => json!(e.as_str()),
            ast::Value::String(s) => json!(s),
            ast::Value::Int(i) => i.as_str().parse::<i64>().map_or_else(|_| json!(i.as_str()), |n| json!(n)),
            ast::Value::Float(f) => f.try_to_f64().map_or(Value::Null, |n| json!(n)),
            ast::Value::Boolean(b) => json!(b),
            ast::Value::List(l) => Value::Array(l.iter().map(|x| self.value(x)).collect()),
            ast::Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.to_string(), self.value(x))).collect()),
        }
    }

    fn argument(&self, field: &ast::Field, name: &str) -> Value {
        field.arguments.iter().find(|a| a.name.as_str() == name).map_or(Value::Null, |a| self.value(&a.value))
    }

    /// A value shaped to `set`: only the selected fields, under their aliases.
    fn project(&self, value: &Value, set: &[Selection], path: &str) -> Result<Value, Failure> {
        match value {
            Value::Null => Ok(Value::Null),
            Value::Array(items) => {
                items.iter().map(|v| self.project(v, set, path)).collect::<Result<_, _>>().map(Value::Array)
            }
            Value::Object(obj) => {
                let ty = obj.get("__typename").and_then(Value::as_str).unwrap_or("Object");
                if set.is_empty() {
                    return Err(invalid(format!(
                        "Field \"{path}\" of type \"{ty}\" must have a selection of subfields"
                    )));
                }
                let mut out = Map::new();
                for f in self.fields(set, ty)? {
                    let key = f.alias.as_ref().unwrap_or(&f.name).to_string();
                    let v = match f.name.as_str() {
                        "__typename" => json!(ty),
                        name => {
                            let child = obj
                                .get(name)
                                .ok_or_else(|| invalid(format!("Cannot query field \"{name}\" on type \"{ty}\"")))?;
                            if f.selection_set.is_empty() {
                                if child.is_object() || child.as_array().is_some_and(|a| a.iter().any(Value::is_object))
                                {
                                    return Err(invalid(format!(
                                        "Field \"{name}\" of type \"{ty}\" must have a selection of subfields"
                                    )));
                                }
                                child.clone()
                            } else {
                                self.project(child, &f.selection_set, name)?
                            }
                        }
                    };
                    out.insert(key, v);
                }
                Ok(Value::Object(out))
            }
            leaf => Ok(leaf.clone()),
        }
    }

    fn page_size(&self, field: &ast::Field) -> Result<usize, Failure> {
        let max = self.s.options.max_page_size;
        match self.argument(field, "first") {
            Value::Null => Ok(max as usize),
            v => match v.as_i64() {
                Some(n) if n >= 1 && n <= i64::from(max) => Ok(n as usize),
                _ => Err(invalid(format!("first must be between 1 and {max}, got {v}"))),
            },
        }
    }

    /// A search's Relay connection, in creation order.
    fn connection(&self, field: &ast::Field, object: Object) -> Result<Value, Failure> {
        let input = self.argument(field, "input");
        if input.is_null() {
            return Err(invalid("Variable 'input' has an invalid value: null for a non-null type"));
        }
        let filter = Filter::parse(&input)?;
        let first = self.page_size(field)?;
        let after = match self.argument(field, "after") {
            Value::Null => None,
            Value::String(c) => Some(decode_cursor(&c).ok_or_else(|| invalid(format!("Invalid cursor: {c}")))?),
            other => return Err(invalid(format!("after must be a String, got {other}"))),
        };
        let customers = self.s.customers.read();
        let (nodes, more) = match object {
            Object::Customers => page(&customers, &filter, after.as_ref(), first, |c| c.json()),
            Object::Transactions => {
                let transactions = self.s.transactions.read();
                page(&transactions, &filter, after.as_ref(), first, |t| {
                    t.json(t.customer_id.as_ref().and_then(|id| customers.get(id)).map(|c: &Customer| c))
                })
            }
        };
        let (connection, edge) = match object {
            Object::Customers => ("CustomerConnection", "CustomerConnectionEdge"),
            Object::Transactions => ("TransactionConnection", "TransactionConnectionEdge"),
        };
        let edges: Vec<Value> =
            nodes.into_iter().map(|(c, node)| json!({"__typename": edge, "cursor": c, "node": node})).collect();
        let at = |i: usize| edges.get(i).map_or(Value::Null, |e| e["cursor"].clone());
        let full = json!({
            "__typename": connection,
            "pageInfo": {
                "__typename": "PageInfo",
                "hasNextPage": more,
                "hasPreviousPage": after.is_some(),
                "startCursor": at(0),
                "endCursor": if edges.is_empty() { Value::Null } else { at(edges.len() - 1) },
            },
            "edges": edges,
        });
        self.project(&full, &field.selection_set, field.name.as_str())
    }

    /// `node(id:)`: the customer or transaction with that global id, or `null`.
    fn node(&self, field: &ast::Field) -> Result<Value, Failure> {
        let id = match self.argument(field, "id") {
            Value::String(id) => id,
            other => return Err(invalid(format!("id must be an ID, got {other}"))),
        };
        let customers = self.s.customers.read();
        let full = match customers.get(&id) {
            Some(c) => c.json(),
            None => match self.s.transactions.read().get(&id) {
                Some(t) => t.json(t.customer_id.as_ref().and_then(|c| customers.get(c))),
                None => Value::Null,
            },
        };
        self.project(&full, &field.selection_set, "node")
    }

    /// `idFromLegacyId(legacyId:, type:)`: the global id of a legacy id. Like Braintree, it does
    /// not check that a customer or transaction exists.
    fn id_from_legacy_id(&self, field: &ast::Field) -> Result<Value, Failure> {
        let legacy = match self.argument(field, "legacyId") {
            Value::String(id) if !id.is_empty() => id,
            other => return Err(invalid(format!("legacyId must be an ID, got {other}"))),
        };
        let kind = match self.argument(field, "type") {
            Value::String(t) if t == "CUSTOMER" => "customer",
            Value::String(t) if t == "TRANSACTION" => "transaction",
            other => return Err(invalid(format!("The emulator does not serve idFromLegacyId for type {other}"))),
        };
        Ok(json!(super::model::global_id(kind, &legacy)))
    }

    /// `updateCustomer(input: {customerId, customer: {customFields, email, ...}})`.
    fn update_customer(&self, field: &ast::Field) -> Result<Value, Failure> {
        let input = self.argument(field, "input");
        let id =
            input.get("customerId").and_then(Value::as_str).ok_or_else(|| invalid("input.customerId is required"))?;
        let change = input.get("customer").cloned().unwrap_or(Value::Null);
        let Value::Object(change) = change else { return Err(invalid("input.customer must be an object")) };
        let defined = self.s.custom_field_names.read().clone();
        let mut fields = Vec::new();
        let mut plain = Vec::new();
        for (k, v) in &change {
            match k.as_str() {
                "customFields" => {
                    for cf in v.as_array().map_or(&[][..], Vec::as_slice) {
                        let name = cf
                            .get("name")
                            .and_then(Value::as_str)
                            .ok_or_else(|| invalid("customFields[].name is required"))?;
                        if !defined.iter().any(|d| d == name) {
                            return Err(invalid(format!("Custom field is invalid: {name}")));
                        }
                        fields.push((name.to_owned(), cf.get("value").and_then(Value::as_str).map(str::to_owned)));
                    }
                }
                "email" | "company" | "firstName" | "lastName" | "website" => {
                    plain.push((k.clone(), v.as_str().map(str::to_owned)));
                }
                other => return Err(invalid(format!("The emulator does not update {other}"))),
            }
        }
        let mut customers = self.s.customers.write();
        let updated = customers
            .update(&id.to_owned(), |c| {
                for (name, value) in fields {
                    c.custom_fields.retain(|(n, _)| *n != name);
                    if let Some(v) = value.filter(|v| !v.is_empty()) {
                        c.custom_fields.push((name, v));
                    }
                }
                for (k, v) in plain {
                    let slot = match k.as_str() {
                        "email" => &mut c.email,
                        "company" => &mut c.company,
                        "firstName" => &mut c.first_name,
                        "lastName" => &mut c.last_name,
                        _ => &mut c.website,
                    };
                    *slot = v;
                }
                c.json()
            })
            .ok_or_else(|| Failure("NOT_FOUND", "An object with this ID was not found.".into()))?;
        drop(customers);
        self.s.core.log_write("customers", id);
        let payload = json!({
            "__typename": "UpdateCustomerPayload",
            "clientMutationId": input.get("clientMutationId").cloned().unwrap_or(Value::Null),
            "customer": updated,
        });
        self.project(&payload, &field.selection_set, "updateCustomer")
    }
}

/// Up to `first` records after `after` that the filter admits, with their cursors, and whether
/// more follow. Starts at an index position: never a scan of what comes before.
fn page<R: Record<Id = String>>(
    store: &Store<R>,
    filter: &Filter,
    after: Option<&(DateTime<Utc>, String)>,
    first: usize,
    json: impl Fn(&R) -> Value,
) -> (Vec<(String, Value)>, bool) {
    let ordered = store.by_created();
    let mut start = after.map_or(0, |(t, id)| ordered.after(*t, id));
    if let Some(from) = filter.from {
        start = start.max(ordered.since(from));
    }
    let mut out = Vec::new();
    let mut more = false;
    for (key, r) in ordered.iter_from(start) {
        let (created, id) = (&key.0, &key.1);
        if filter.until.is_some_and(|u| *created > u) {
            break;
        }
        if filter.ids.as_ref().is_some_and(|ids| !ids.contains(id)) {
            continue;
        }
        if out.len() == first {
            more = true;
            break;
        }
        out.push((cursor(*created, id), json(r)));
    }
    (out, more)
}
