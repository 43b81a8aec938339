//! Opened sessions, per VM, keyed by the exact sealed cookie value. A signed-in browser sends
//! the same cookie on every request; opening it (base64, AEAD, inflate, JSON) is most of the
//! signed-in path's cost, so it is done once per cookie value and worker.
//!
//! Only values that opened successfully are stored, the key is the whole value (compared byte
//! for byte, so no forged value can hit another session's entry), and expiry is checked on every
//! hit. A config change builds a new VM and with it an empty cache.

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use crate::session::Session;

/// Entries kept per worker (a few MB at most with large chunked sessions).
pub const CAPACITY: usize = 256;

/// The cache.
#[derive(Debug, Default)]
pub struct SessionCache {
    entries: HashMap<String, Rc<Session>>,
    order: VecDeque<String>,
}

impl SessionCache {
    /// The session sealed in `value`, if it was opened before and has not expired.
    pub fn get(&self, value: &str, now: u64) -> Option<Rc<Session>> {
        self.entries
            .get(value)
            .filter(|s| now < s.expires_at)
            .cloned()
    }

    /// Remember an opened session; the oldest entry makes room.
    pub fn insert(&mut self, value: String, session: Rc<Session>) {
        if self.entries.contains_key(&value) {
            return;
        }
        while self.entries.len() >= CAPACITY {
            match self.order.pop_front() {
                Some(old) => {
                    self.entries.remove(&old);
                }
                None => break,
            }
        }
        self.order.push_back(value.clone());
        self.entries.insert(value, session);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // In V8 (wasm32-unknown-unknown) the same tests run through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn session(expires_at: u64) -> Rc<Session> {
        Rc::new(Session {
            user: "u".into(),
            expires_at,
            ..Default::default()
        })
    }

    #[test]
    fn hits_only_the_same_value_before_expiry_and_stays_bounded() {
        let mut cache = SessionCache::default();
        cache.insert("sealed-a".into(), session(100));
        assert!(cache.get("sealed-a", 99).is_some());
        assert!(
            cache.get("sealed-a", 100).is_none(),
            "expired sessions are not served"
        );
        assert!(cache.get("sealed-b", 0).is_none());
        assert!(cache.get("sealed-", 0).is_none());
        for i in 0..CAPACITY + 10 {
            cache.insert(format!("v{i}"), session(100));
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(
            cache.get("sealed-a", 0).is_none(),
            "the oldest entries made room"
        );
        assert!(cache.get(&format!("v{}", CAPACITY + 9), 0).is_some());
    }
}
