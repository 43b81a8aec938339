//! Opened sessions, per VM, keyed by the exact sealed cookie value. A signed-in browser sends
//! the same cookie on every request; opening it (base64, AEAD, inflate, JSON) and rendering its
//! headers is most of the signed-in path's cost, so it is done once per cookie value and worker.
//!
//! Only values that opened successfully are stored, the key is the whole value (compared byte
//! for byte, see [`ExactCache`]), and expiry is checked on every hit. A config change builds a
//! new VM and with it an empty cache.
//!
//! In front of it sits a second map keyed by the whole `Cookie` header: a browser sends the same
//! header again and again, and a hit there replaces the scan for our chunks (a pass over ~10 KB)
//! and the session-value comparison with one comparison. What forwarding does to that header
//! ([`CookieEdit`]) depends only on its bytes, so it is stored with it.

use std::cell::OnceCell;
use std::rc::Rc;

use crate::session::Session;

use super::cookies::CookieEdit;
use super::exact_cache::{ExactCache, KeyParts};
use super::prepared::Prepared;

/// Sessions kept per worker. An entry holds the sealed value, the session and its rendered
/// headers: ~40 KB for a 150-group session that keeps its ID token (7.3 KB of cookies, 14.7 KB
/// of headers), so at most ~10 MiB per worker, and a few KB for ordinary sessions.
pub const CAPACITY: usize = 256;

/// `Cookie` headers kept per worker: each holds the header's bytes (the session's cookies plus
/// the site's own, ~8 KB for the session above) and a handle on its session, shared with the
/// session map. A header that outlives its session's entry there keeps that session alive, so
/// the two maps together hold at most twice [`CAPACITY`] sessions (~20 MiB per worker at 150
/// groups with the ID token kept; a few MiB for ordinary sessions).
pub const HEADER_CAPACITY: usize = 256;

/// A session opened from its cookie.
#[derive(Debug)]
pub struct Opened {
    /// The session as sealed in the cookie (a long group list is only its handle there).
    pub session: Session,
    /// What forwarding it sets: rendered by the first request that forwards it, because that
    /// needs the full group list (from shared data, or Graph on a miss).
    pub prepared: OnceCell<Rc<Prepared>>,
}

impl Opened {
    /// A session that has not been forwarded yet.
    pub fn new(session: Session) -> Self {
        Opened {
            session,
            prepared: OnceCell::new(),
        }
    }
}

/// A whole `Cookie` header seen before.
#[derive(Debug, Clone)]
pub struct KnownHeader {
    /// The session its chunks open to.
    pub opened: Rc<Opened>,
    /// The `Cookie` header the upstream gets instead.
    pub edit: CookieEdit,
}

/// The cache.
#[derive(Debug)]
pub struct SessionCache {
    sessions: ExactCache<Rc<Opened>>,
    headers: ExactCache<KnownHeader>,
}

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache {
            sessions: ExactCache::new(CAPACITY),
            headers: ExactCache::new(HEADER_CAPACITY),
        }
    }
}

impl SessionCache {
    /// The session sealed in `value` (given as the cookie's chunks), if it was opened before and
    /// has not expired.
    pub fn get(&self, value: KeyParts, now: u64) -> Option<Rc<Opened>> {
        self.sessions.get(value, now).cloned()
    }

    /// Remember an opened session until it expires; the oldest entry makes room.
    pub fn insert(&mut self, value: String, opened: Rc<Opened>) {
        let expires_at = opened.session.expires_at;
        self.sessions.insert(value, opened, expires_at);
    }

    /// What exactly this `Cookie` header was found to hold, while its session has not expired.
    /// Raw header bytes are fine: a hit means they equal a stored header, which is text.
    pub fn header(&self, header: &[u8], now: u64) -> Option<KnownHeader> {
        self.headers.get(&[header], now).cloned()
    }

    /// Remember a `Cookie` header whose session opened, until that session expires.
    pub fn insert_header(&mut self, header: String, known: KnownHeader) {
        let expires_at = known.opened.session.expires_at;
        self.headers.insert(header, known, expires_at);
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Number of `Cookie` headers.
    pub fn headers_len(&self) -> usize {
        self.headers.len()
    }

    /// Whether no session is cached.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // In V8 (wasm32-unknown-unknown) the same tests run through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn opened(expires_at: u64) -> Rc<Opened> {
        Rc::new(Opened::new(Session {
            user: "u".into(),
            expires_at,
            ..Default::default()
        }))
    }

    #[test]
    fn hits_only_the_same_value_before_expiry_and_stays_bounded() {
        let mut cache = SessionCache::default();
        cache.insert("sealed-a".into(), opened(100));
        assert!(cache.get(&["sealed-a"], 99).is_some());
        assert!(cache.get(&["seal", "ed-a"], 99).is_some(), "as chunks");
        assert!(
            cache.get(&["sealed-a"], 100).is_none(),
            "expired sessions are not served"
        );
        assert!(cache.get(&["sealed-b"], 0).is_none());
        assert!(cache.get(&["sealed-"], 0).is_none());
        for i in 0..CAPACITY + 10 {
            cache.insert(format!("v{i}"), opened(100));
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(
            cache.get(&["sealed-a"], 0).is_none(),
            "the oldest entries made room"
        );
        assert!(cache.get(&[&format!("v{}", CAPACITY + 9)], 0).is_some());
    }
}
