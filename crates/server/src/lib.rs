//! `accord serve`: Natero's Account API v2 and Event API (existing clients work by changing only
//! the host), accord's own API (360 view, quarantine, sources), health and Prometheus metrics,
//! and the web app (`accord-web`, signed in with a session instead of the API key).
//!
//! Every route is registered through `utoipa_axum`'s `OpenApiRouter`, so the OpenAPI document at
//! `/api/openapi.json` is generated from the same code that routes requests and cannot drift.

pub mod auth;
pub mod body;
pub mod error;
pub mod events;
pub mod extract;
pub mod metrics;
pub mod natero;
pub mod own;
pub mod schedule;
pub mod state;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use accord_core::Config;
use accord_core::secret::SecretString;
use accord_engine::Hub;
use axum::Router;
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::{AppState, EventKeys};

#[derive(OpenApi)]
#[openapi(
    info(title = "accord", description = "Natero-compatible Account API v2 and Event API, and accord's own API. \
        Every route here needs the API key (`?api_key=KEY`, or HTTP Basic with user `api`), except the Event API, \
        whose key pair is in its path. The web app (`/signin`, `/accounts`, ... outside `/api`) takes a session cookie instead. \
        Open without a key: `/healthz`, `/api/openapi.json`, `/metrics` \
        unless `server.metrics_key` is set, and `/webhooks/{source}`, which takes the vendor's signature instead. A trailing slash before the query string is accepted on every route."),
    tags((name = "Account API v2", description = "Natero's Account API, field by field"),
         (name = "Event API", description = "Natero's Event API"),
         (name = "accord", description = "accord's own API")),
    components(schemas(error::ErrorBody)),
    modifiers(&KeySchemes),
    security(("api_key" = []), ("basic" = []))
)]
struct ApiDoc;

/// The Account API's two ways of passing the key.
struct KeySchemes;

impl utoipa::Modify for KeySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("api_key"))));
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("user `api`, the key as password"))
                    .build(),
            ),
        );
    }
}

/// The Event API's body, as precisely as a schema can say it: text that is not a JSON array (one
/// event per line, or one form-encoded event), or a JSON array of at least one element. Whether each
/// line or element is a valid event is answered per line (`failed_lines`), not by the status.
fn event_body(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::schema::ArrayItems;
    use utoipa::openapi::{ArrayBuilder, ContentBuilder, ObjectBuilder, RefOr, Required, Schema, Type};
    let Some(op) = openapi.paths.paths.get_mut("/v1/{auth_key}/{api_key}").and_then(|p| p.post.as_mut()) else {
        return;
    };
    let text = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(r"^\s*[^\s\[]"))
        .description(Some("one JSON event per line (NDJSON), or one form-encoded event"));
    let any = RefOr::T(Schema::Object(ObjectBuilder::new().build()));
    let array = ArrayBuilder::new().items(ArrayItems::RefOrSchema(Box::new(any))).min_items(Some(1));
    op.request_body = Some(RefOr::T(
        RequestBodyBuilder::new()
            .description(Some(
                "events, whatever the Content-Type says (the Ruby gems send a form as application/json); gzip accepted",
            ))
            .required(Some(Required::True))
            .content("text/plain", ContentBuilder::new().schema(Some(text)).build())
            .content("application/json", ContentBuilder::new().schema(Some(array)).build())
            .build(),
    ));
}

/// The application: every route, with its OpenAPI document.
pub fn app(state: AppState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(natero::accounts::list, natero::accounts::post))
        .routes(routes!(natero::accounts::get, natero::accounts::put, natero::accounts::delete))
        .routes(routes!(natero::accounts::users))
        .routes(routes!(natero::accounts::contacts))
        .routes(routes!(natero::accounts::support_tickets))
        .routes(routes!(natero::accounts::subscriptions))
        .routes(routes!(natero::accounts::statements))
        .routes(routes!(natero::accounts::metrics))
        .routes(routes!(natero::accounts::delete_stage))
        .routes(routes!(natero::accounts::delete_dimension_value))
        .routes(routes!(natero::accounts::delete_dimension_label))
        .routes(routes!(natero::accounts::delete_assigned_csm))
        .routes(routes!(natero::accounts::delete_nps))
        .routes(routes!(natero::people::list_users, natero::people::post_users))
        .routes(routes!(natero::people::get_user, natero::people::put_user, natero::people::delete_user))
        .routes(routes!(natero::people::get_user_in, natero::people::put_user_in, natero::people::delete_user_in))
        .routes(routes!(natero::people::list_contacts, natero::people::post_contacts))
        .routes(routes!(natero::metrics::list, natero::metrics::post))
        .routes(routes!(natero::metrics::get_by_name, natero::metrics::put_by_name, natero::metrics::delete_by_name))
        .routes(routes!(events::post))
        .routes(routes!(own::view_360))
        .routes(routes!(own::rejections))
        .routes(routes!(own::retry))
        .routes(routes!(own::sources))
        .routes(routes!(webhooks::receive))
        .split_for_parts();
    let mut api = api;
    event_body(&mut api);
    let openapi = Arc::new(api);
    let cors = state.inner().cors.clone();
    let router = router
        .merge(accord_web::router(state.inner().web.clone()))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::serve_metrics))
        .route(
            "/api/openapi.json",
            get(move || {
                let openapi = openapi.clone();
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .fallback(|| async { error::ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { error::ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state);
    let router = match cors {
        Some(origins) => router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods(tower_http::cors::Any)
                .allow_headers(tower_http::cors::Any),
        ),
        None => router,
    };
    // Before routing: the Ruby gems put a slash before the query string (`/accounts/?api_key=K`).
    Router::new().fallback_service(tower::ServiceExt::map_request(router, trim_trailing_slash))
}

/// `/a/b/` → `/a/b` (the query string kept); `/` stays.
fn trim_trailing_slash(mut request: axum::extract::Request) -> axum::extract::Request {
    let uri = request.uri();
    let path = uri.path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let path_and_query = match uri.query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(new) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = new;
            }
        }
    }
    request
}

async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> impl axum::response::IntoResponse {
    let ok = state.blocking(|hub| hub.store.migrations().is_ok()).await.unwrap_or(false);
    let status = if ok { axum::http::StatusCode::OK } else { axum::http::StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(serde_json::json!({"status": if ok { "ok" } else { "store unavailable" }})))
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("server.api_key is required: every API needs its key (e.g. api_key = {{ env = \"ACCORD_API_KEY\" }})")]
    NoApiKey,
    #[error("{0}")]
    Secret(#[from] accord_core::secret::SecretError),
    #[error("server.cors_origins: {0:?} is not a valid origin")]
    Origin(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the state from the config: resolves the keys (from env vars or files).
pub fn state_from_config(hub: Arc<Hub>, config: &Config) -> Result<AppState, ServeError> {
    let server = &config.raw.server;
    let api_key: SecretString = server.api_key.as_ref().ok_or(ServeError::NoApiKey)?.resolve(&config.base_dir)?;
    let mut event_keys = Vec::new();
    for es in &server.event_sources {
        event_keys.push(EventKeys {
            source: es.source.clone(),
            auth_key: es.auth_key.resolve(&config.base_dir)?,
            api_key: es.api_key.resolve(&config.base_dir)?,
        });
    }
    let cors = if server.cors_origins.is_empty() {
        None
    } else {
        Some(
            server
                .cors_origins
                .iter()
                .map(|o| o.parse().map_err(|_| ServeError::Origin(o.clone())))
                .collect::<Result<Vec<_>, _>>()?,
        )
    };
    let metrics_key = server.metrics_key.as_ref().map(|k| k.resolve(&config.base_dir)).transpose()?;
    let webhooks = webhooks::Webhooks::from_config(config)?;
    Ok(AppState::new(hub, api_key, event_keys, server.body_limit_bytes, cors, metrics_key, webhooks))
}

/// Serves until SIGINT or SIGTERM, then stops accepting connections and lets requests in flight
/// finish (their data is committed before they are answered). Raw events older than the retention
/// are pruned every hour. Sources with a `schedule` are synced when due (`schedule::run`).
pub async fn serve(state: AppState, listen: &str, retention_days: u32) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServeError::Listen { addr: listen.to_owned(), source })?;
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "accord serve is listening");
    let pruner = tokio::spawn(prune_events(state.clone(), retention_days));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(schedule::run(state.hub().clone(), stopped));
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        })
        .await;
    // The scheduler stops with the server (a run in progress stops at its next page), also when
    // serving failed.
    if let Err(e) = scheduler.await {
        tracing::warn!(error = %e, "the scheduler task ended abnormally");
    }
    pruner.abort();
    served?;
    tracing::info!("accord serve stopped");
    Ok(())
}

async fn prune_events(state: AppState, retention_days: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let before = chrono::Utc::now().timestamp_millis() - i64::from(retention_days) * 86_400_000;
        match state.blocking(move |hub| hub.store.prune_events(before)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(pruned = n, retention_days, "pruned raw events"),
            Ok(Err(e)) => tracing::warn!(error = %e, "pruning raw events failed"),
            _ => {}
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
