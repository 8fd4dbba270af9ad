//! The loopback server every emulator runs on, and the request guard they all put in front of
//! their routes: injected faults first, then credentials, then the rate limit, then the handler.
//! Every answer carries a `Date` header from the sandbox clock, as a real server's carries its own
//! clock: clients that ask for windows in the server's time (Salesforce's `getDeleted`) read it.
//!
//! The server runs its own accept loop over hyper instead of `axum::serve` because a dropped
//! connection must be a real one: the guard marks the response, and the connection's service
//! fails, which makes hyper close the socket without writing anything.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use super::Core;
use super::faults::{DropConnection, Fault, dropped, lose_record, truncate};
use crate::Error;
use crate::clock::Clock;

/// What an emulator tells the shared guard.
pub(crate) trait Vendor: Send + Sync + 'static {
    fn core(&self) -> &Core;
    /// `Err` is the vendor's answer to missing or wrong credentials. Public endpoints (an OAuth
    /// token endpoint) and unknown paths answer `Ok`: the router decides those.
    fn authorize(&self, req: &Request) -> Result<(), Response>;
    /// Applies the vendor's limits: `Ok` with the headers every answer carries, or the refusal.
    fn throttle(&self, req: &Request) -> Result<HeaderMap, Response>;
    /// The vendor's answer for an injected `Fault::Status` or `Fault::RateLimited`.
    fn fault_response(&self, fault: Fault) -> Response;
    /// The same for a request to `path`, for a vendor that answers in another shape on some of
    /// its paths (Braintree's XML gateway beside its GraphQL endpoint).
    fn fault_response_at(&self, _path: &str, fault: Fault) -> Response {
        self.fault_response(fault)
    }
}

/// The middleware every emulator's router is wrapped in.
pub(crate) async fn guard<V: Vendor>(State(vendor): State<Arc<V>>, req: Request, next: Next) -> Response {
    let core = vendor.core();
    core.limiter.observe();
    let fault = core.faults.next(req.uri().path());
    match fault {
        Some(Fault::Drop) => return dropped(),
        Some(f @ (Fault::Status(_) | Fault::RateLimited)) => {
            return stamp_date(&core.clock, vendor.fault_response_at(req.uri().path(), f));
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Truncate | Fault::LoseRecord) | None => {}
    }
    if let Err(refused) = vendor.authorize(&req) {
        return stamp_date(&core.clock, refused);
    }
    let headers = match vendor.throttle(&req) {
        Ok(h) => h,
        Err(refused) => return stamp_date(&core.clock, refused),
    };
    let mut response = next.run(req).await;
    response.headers_mut().extend(headers);
    match fault {
        Some(Fault::Truncate) => response = truncate(response).await,
        Some(Fault::LoseRecord) => response = lose_record(response).await,
        _ => {}
    }
    stamp_date(&core.clock, response)
}

/// Sets `Date` from the sandbox clock (hyper adds the wall clock only when it is missing).
fn stamp_date(clock: &Clock, mut response: Response) -> Response {
    static FORMAT: super::respond::TimeFormat = super::respond::TimeFormat::new("%a, %d %b %Y %H:%M:%S GMT");
    let date = FORMAT.render(clock.now());
    if let Ok(v) = axum::http::HeaderValue::from_str(&date) {
        response.headers_mut().insert(axum::http::header::DATE, v);
    }
    response
}

/// The error a connection's service returns to make hyper close it without a response.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct Dropped;

/// A running emulator: its loopback server and the state its routes share. Each vendor's
/// `Emulator` is a `Running` of its own state (`pub type Emulator = Running<State>`), so a vendor
/// module holds only what is its own: how it starts (its data and credentials), its base URL,
/// and the changes a test can make to its data.
#[derive(Debug)]
pub struct Running<S> {
    server: Server,
    state: Arc<S>,
}

// Only this crate's vendors implement `Vendor`; the accessors are public for the tests and
// benchmarks of other crates, which hold a vendor's `Emulator` and never name the bound.
#[allow(private_bounds)]
impl<S: Vendor> Running<S> {
    /// Serves `router(state)` on an ephemeral loopback port.
    pub(crate) async fn serve(
        vendor: &'static str,
        state: Arc<S>,
        router: fn(Arc<S>) -> Router,
    ) -> Result<Self, Error> {
        let server = Server::start(vendor, router(state.clone())).await?;
        Ok(Self { server, state })
    }

    /// `http://127.0.0.1:PORT`: the server's root (each vendor's `base_url` adds its API's path).
    pub fn root_url(&self) -> String {
        self.server.base_url()
    }

    pub(crate) fn state(&self) -> &S {
        &self.state
    }

    pub fn faults(&self) -> &super::faults::FaultHandle {
        &self.state.core().faults
    }

    pub fn rate_limiter(&self) -> &super::ratelimit::RateLimiter {
        &self.state.core().limiter
    }

    /// Where the emulator sends its webhooks when its data changes (vendors that send them).
    pub fn webhooks(&self) -> &super::webhooks::Webhooks {
        &self.state.core().webhooks
    }

    /// Every write clients made through the API, in order: `(object, id)`.
    pub fn writes(&self) -> Vec<(String, String)> {
        self.state.core().writes()
    }

    /// Stops accepting, closes open connections and waits for the server to end.
    pub(crate) async fn shutdown(&mut self) {
        self.server.shutdown().await;
    }
}

/// A running emulator server on 127.0.0.1.
#[derive(Debug)]
pub(crate) struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds an ephemeral loopback port and serves `router` on it until shut down.
    pub(crate) async fn start(vendor: &'static str, router: Router) -> Result<Self, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|source| Error::Bind { vendor, source })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind { vendor, source })?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(vendor, listener, router, stopped));
        Ok(Self { addr, stop, task: Some(task) })
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes open connections and waits for the accept loop to end.
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(vendor: &'static str, listener: TcpListener, router: Router, mut stopped: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        tracing::warn!(%error, vendor, "accept failed");
                        continue;
                    }
                };
                let router = router.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                        let router = router.clone();
                        async move {
                            let response: Response = match router.oneshot(req.map(Body::new)).await {
                                Ok(r) => r,
                                Err(never) => match never {},
                            };
                            if response.extensions().get::<DropConnection>().is_some() {
                                return Err(Dropped);
                            }
                            Ok::<_, Dropped>(response)
                        }
                    });
                    // Errors here are clients going away or injected drops: nothing to report.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}
