//! State shared by the connection threads and the test-facing [`super::Emulator`] handle.

use std::sync::{Mutex, MutexGuard};

use super::clock::Clock;
use super::config::EmulatorConfig;
use super::errors::{EntraError, ErrorIds};
use super::faults::{Counts, FaultTable};
use super::http::{Request, Response};
use super::ids::{is_guid, random_guid};
use super::jwt::Tamper;
use super::keys::KeyRing;
use super::pages;
use super::store::Store;

/// Everything the handlers read and write.
#[derive(Debug)]
pub struct Shared {
    /// The directory being emulated.
    pub cfg: EmulatorConfig,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Time source (tests move it forward).
    pub clock: Clock,
    /// Published signing keys.
    pub keys: Mutex<KeyRing>,
    /// Codes, tokens and sessions.
    pub store: Mutex<Store>,
    /// Injected faults.
    pub faults: Mutex<FaultTable>,
    /// Request counters.
    pub counts: Mutex<Counts>,
    /// Corruption applied to issued ID tokens while set.
    pub tamper: Mutex<Option<Tamper>>,
}

/// Locks a mutex, carrying on after a panicked holder (a failed test must not wedge others).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// A new state around `cfg`.
    pub fn new(cfg: EmulatorConfig, base_url: String) -> Shared {
        Shared {
            cfg,
            base_url,
            clock: Clock::default(),
            keys: Mutex::new(KeyRing::new()),
            store: Mutex::new(Store::default()),
            faults: Mutex::new(FaultTable::default()),
            counts: Mutex::new(Counts::default()),
            tamper: Mutex::new(None),
        }
    }

    /// Trace and correlation ids for an error answer; like Entra, the correlation id echoes
    /// the caller's `client-request-id` when it is a GUID.
    pub fn error_ids(&self, req: &Request) -> ErrorIds {
        let correlation_id = req
            .header("client-request-id")
            .filter(|v| is_guid(v))
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(random_guid);
        ErrorIds {
            trace_id: random_guid(),
            correlation_id,
            now: self.clock.now(),
        }
    }

    /// An Entra JSON error response.
    pub fn json_error(&self, req: &Request, e: &EntraError) -> Response {
        let ids = self.error_ids(req);
        let mut resp = Response::json(e.status, &e.json_body(&ids, &self.base_url))
            .with_header("x-ms-request-id", &ids.trace_id);
        if e.status == 401 {
            resp = resp.with_header("WWW-Authenticate", "Basic realm=\"entra-emulator\"");
        }
        if matches!(e.status, 429 | 503) {
            resp = resp.with_header("Retry-After", "1");
        }
        resp
    }

    /// An Entra HTML error page.
    pub fn error_page(&self, req: &Request, e: &EntraError) -> Response {
        let ids = self.error_ids(req);
        let mut resp = Response::html(e.status, pages::error_page(e, &ids))
            .with_header("x-ms-request-id", &ids.trace_id);
        if matches!(e.status, 429 | 503) {
            resp = resp.with_header("Retry-After", "1");
        }
        resp
    }
}
