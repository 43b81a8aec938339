//! The refresh lease: many parallel requests of one browser (a dashboard loads 30 assets at
//! once, spread over every worker) must cause at most one refresh, because Entra rotates
//! refresh tokens and a second redemption of the old one can fail.
//!
//! Leases live in a fixed number of shared-data slots, chosen by a hash of the refresh token,
//! so memory stays bounded however many sessions refresh (shared data has no expiry or delete).
//! Two sessions that share a slot just take turns.

use sha2::{Digest, Sha256};

use super::store::SharedStore;

/// Number of slots.
pub const SLOTS: u64 = 1024;
/// How long a refresh may take before another request may try again.
pub const BUSY_SECS: u64 = 30;
/// After a failed refresh, requests keep using the current session this long before retrying.
pub const BACKOFF_SECS: u64 = 30;
/// After a successful refresh, requests still carrying the old cookie use it this long
/// instead of redeeming the (now rotated) refresh token again.
pub const DONE_SECS: u64 = 120;

/// What the slot says about this session's refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// This request holds the lease (key to release with): it refreshes.
    Acquired(String),
    /// Another request is refreshing, just did, or failed a moment ago: use the current session.
    Elsewhere,
}

/// The identity of a refresh: a hash of the refresh token, so the slot never holds the token.
pub fn token_id(refresh_token: &str) -> String {
    let digest = Sha256::digest(refresh_token.as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Create every slot that does not exist yet. Envoy's CAS cannot guard a key that does not
/// exist, so the root context creates them (before sign-ins can happen) and every later
/// acquisition is a real compare-and-swap.
pub fn ensure_slots(store: &dyn SharedStore, prefix: &str) {
    for slot in 0..SLOTS {
        let key = format!("{prefix}/refresh/{slot}");
        if store.get(&key).is_none() {
            let _ = store.set(&key, b"-|0|free", None);
        }
    }
}

fn slot_key(prefix: &str, id: &str) -> String {
    let slot = u64::from_str_radix(id.get(..8).unwrap_or("0"), 16).unwrap_or(0) % SLOTS;
    format!("{prefix}/refresh/{slot}")
}

/// Parse `<id>|<until>|<state>`.
fn parse(value: &[u8]) -> Option<(String, u64, String)> {
    let text = std::str::from_utf8(value).ok()?;
    let mut parts = text.split('|');
    let id = parts.next()?.to_string();
    let until = parts.next()?.parse().ok()?;
    let state = parts.next()?.to_string();
    Some((id, until, state))
}

/// Try to become the one request that refreshes the session with this refresh token.
pub fn acquire(store: &dyn SharedStore, prefix: &str, refresh_token: &str, now: u64) -> Lease {
    let id = token_id(refresh_token);
    let key = slot_key(prefix, &id);
    let current = store.get(&key);
    if let Some((value, _)) = &current {
        if let Some((_, until, _)) = parse(value) {
            if now < until {
                return Lease::Elsewhere;
            }
        }
    }
    let value = format!("{id}|{}|busy", now + BUSY_SECS);
    let cas = current.map(|(_, cas)| cas);
    if store.set(&key, value.as_bytes(), cas) {
        Lease::Acquired(key)
    } else {
        Lease::Elsewhere
    }
}

/// Record the end of a refresh: success keeps others off the old token for a while, failure
/// makes them wait before trying again.
pub fn finish(store: &dyn SharedStore, key: &str, refresh_token: &str, now: u64, succeeded: bool) {
    let (state, hold) = if succeeded {
        ("done", DONE_SECS)
    } else {
        ("failed", BACKOFF_SECS)
    };
    let value = format!("{}|{}|{state}", token_id(refresh_token), now + hold);
    let _ = store.set(key, value.as_bytes(), None);
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    use crate::flow::store::MemoryStore;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn one_refresh_at_a_time_then_done_then_free_again() {
        let store = MemoryStore::default();
        let Lease::Acquired(key) = acquire(&store, "p", "rt-1", 100) else {
            panic!("first request refreshes")
        };
        assert_eq!(
            acquire(&store, "p", "rt-1", 101),
            Lease::Elsewhere,
            "others wait for it"
        );
        finish(&store, &key, "rt-1", 102, true);
        assert_eq!(
            acquire(&store, "p", "rt-1", 150),
            Lease::Elsewhere,
            "the old token is not redeemed again"
        );
        assert!(matches!(
            acquire(&store, "p", "rt-1", 102 + DONE_SECS),
            Lease::Acquired(_)
        ));
    }

    #[test]
    fn a_stuck_refresh_expires_and_a_failure_backs_off() {
        let store = MemoryStore::default();
        let Lease::Acquired(key) = acquire(&store, "p", "rt", 0) else {
            panic!()
        };
        assert!(
            matches!(acquire(&store, "p", "rt", BUSY_SECS), Lease::Acquired(_)),
            "a lost refresh does not block forever"
        );
        finish(&store, &key, "rt", 40, false);
        assert_eq!(acquire(&store, "p", "rt", 41), Lease::Elsewhere);
        assert!(matches!(
            acquire(&store, "p", "rt", 40 + BACKOFF_SECS),
            Lease::Acquired(_)
        ));
    }

    #[test]
    fn slots_never_contain_the_token() {
        let store = MemoryStore::default();
        acquire(&store, "p", "secret-refresh-token", 0);
        let values: Vec<String> = store
            .0
            .borrow()
            .values()
            .map(|(v, _)| String::from_utf8_lossy(v).into_owned())
            .collect();
        assert!(values.iter().all(|v| !v.contains("secret")));
    }

    #[test]
    fn a_racing_writer_loses_the_cas() {
        struct Racy(MemoryStore);
        impl SharedStore for Racy {
            fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
                let seen = self.0.get(key);
                // Another worker writes between our read and our write.
                self.0.set(key, b"other|999|busy", None);
                seen.or(Some((Vec::new(), 0)))
            }
            fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
                self.0.set(key, value, cas)
            }
        }
        let store = Racy(MemoryStore::default());
        assert_eq!(acquire(&store, "p", "rt", 0), Lease::Elsewhere);
    }
}
