//! The machinery every vendor emulator shares, so that a vendor's folder is its routes and its
//! model: the loopback server and the request guard in front of every route (`server`),
//! credential checks and OAuth token issuing ([`auth`]), the paging styles ([`paging`]), rate-limit
//! windows and the vendors' limit headers ([`ratelimit`]), fault injection ([`faults`]), response
//! helpers and error bodies ([`respond`]), indexed stores of records ([`store`]), and the
//! webhooks emulators send, signed as their vendors sign them ([`webhooks`]).
//!
//! Nothing here knows a vendor: each vendor's `routes.rs` says which paging style, header names
//! and error shape it uses.

pub mod auth;
pub mod faults;
pub mod paging;
pub mod ratelimit;
pub mod respond;
pub(crate) mod server;
pub use server::Running;
pub mod store;
pub mod webhooks;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::clock::Clock;
use faults::FaultHandle;
use ratelimit::RateLimiter;

/// What every running emulator has: the sandbox clock, its fault rules, its limiter and meter,
/// where its webhooks go, and a sequence for the ids and tokens it mints.
#[derive(Debug)]
pub(crate) struct Core {
    pub clock: Clock,
    pub faults: FaultHandle,
    pub limiter: RateLimiter,
    pub webhooks: webhooks::Webhooks,
    /// `(object, id)` of every write a client made through the API, in order.
    writes: std::sync::Mutex<Vec<(String, String)>>,
    seq: AtomicU64,
}

impl Core {
    /// `first` is the first number [`Core::next_seq`] hands out.
    pub fn new(clock: Clock, limiter: RateLimiter, first: u64) -> Self {
        Self {
            clock,
            faults: FaultHandle::default(),
            limiter,
            webhooks: webhooks::Webhooks::default(),
            writes: Default::default(),
            seq: AtomicU64::new(first),
        }
    }

    /// Notes a write a client made through the API.
    pub fn log_write(&self, object: &str, id: &str) {
        self.writes.lock().unwrap_or_else(|e| e.into_inner()).push((object.to_owned(), id.to_owned()));
    }

    /// Every write clients made through the API, in order: `(object, id)`.
    pub fn writes(&self) -> Vec<(String, String)> {
        self.writes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The next number of the emulator's sequence.
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
}

/// An emulator's data behind a lock that a panicking handler cannot poison for the others.
#[derive(Debug, Default)]
pub(crate) struct Shared<T>(RwLock<T>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Self(RwLock::new(value))
    }

    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}
