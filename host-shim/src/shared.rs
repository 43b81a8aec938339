//! Shared data with Envoy's compare-and-swap rules (proxy-wasm-cpp-host `SharedData`).

use crate::abi::Status;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// One shared-data map, like Envoy's process-wide map for one `vm_id`.
///
/// Each [`crate::Host`] starts with its own store. Cloning the handle and giving it to hosts on
/// other threads ([`crate::Host::use_shared_store`]) models several Envoy workers (one VM each)
/// sharing one map, which is how the filter's refresh "leases" are meant to be tested.
///
/// Rules, as in Envoy: every successful write gets a new CAS value (a global counter starting at
/// 1 that skips 0); a write with `cas == 0` is unconditional; a write with `cas != 0` to an
/// existing key fails with [`Status::CasMismatch`] unless it equals the stored CAS; a write with
/// any `cas` to a missing key succeeds. There is no TTL and no delete.
#[derive(Clone, Debug)]
pub struct SharedStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    entries: BTreeMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
}

impl SharedStore {
    /// An empty store.
    pub fn new() -> SharedStore {
        SharedStore {
            inner: Arc::new(Mutex::new(Inner {
                entries: BTreeMap::new(),
                next_cas: 1,
            })),
        }
    }

    /// The value and CAS stored under `key`, or `None` (the host call answers `NotFound`).
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.lock().entries.get(key).cloned()
    }

    /// Writes `value` under `key` with Envoy's CAS rules; returns [`Status::Ok`] or
    /// [`Status::CasMismatch`].
    pub fn set(&self, key: &str, value: &[u8], cas: u32) -> Status {
        let mut inner = self.lock();
        if let Some((_, stored)) = inner.entries.get(key) {
            if cas != 0 && cas != *stored {
                return Status::CasMismatch;
            }
        }
        let new_cas = inner.next_cas;
        inner.next_cas = match inner.next_cas.wrapping_add(1) {
            0 => 1,
            next => next,
        };
        inner
            .entries
            .insert(key.to_string(), (value.to_vec(), new_cas));
        Status::Ok
    }

    /// All keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.lock().entries.keys().cloned().collect()
    }

    /// A poisoned lock only means another test thread panicked mid-write; the map is still
    /// usable, and host calls must never panic (that would abort the test binary).
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for SharedStore {
    fn default() -> SharedStore {
        SharedStore::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_key_is_none() {
        assert_eq!(SharedStore::new().get("k"), None);
    }

    #[test]
    fn cas_rules_match_envoy() {
        struct Step {
            cas: CasOf,
            value: &'static [u8],
            want: Status,
        }
        enum CasOf {
            Zero,
            Current,
            Stale,
            Fixed(u32),
        }
        let steps = [
            // Writing a missing key succeeds whatever the CAS.
            Step {
                cas: CasOf::Fixed(99),
                value: b"a",
                want: Status::Ok,
            },
            Step {
                cas: CasOf::Current,
                value: b"b",
                want: Status::Ok,
            },
            Step {
                cas: CasOf::Stale,
                value: b"c",
                want: Status::CasMismatch,
            },
            Step {
                cas: CasOf::Zero,
                value: b"d",
                want: Status::Ok,
            },
            Step {
                cas: CasOf::Current,
                value: b"e",
                want: Status::Ok,
            },
        ];
        let store = SharedStore::new();
        let mut previous = 0;
        for (i, step) in steps.iter().enumerate() {
            let current = store.get("k").map_or(0, |(_, cas)| cas);
            let cas = match step.cas {
                CasOf::Zero => 0,
                CasOf::Current => current,
                CasOf::Stale => previous,
                CasOf::Fixed(cas) => cas,
            };
            assert_eq!(store.set("k", step.value, cas), step.want, "step {i}");
            let (value, new_cas) = store.get("k").unwrap();
            if step.want == Status::Ok {
                assert_eq!(value, step.value, "step {i}");
                assert_ne!(new_cas, current, "step {i}: a write bumps the CAS");
                previous = current;
            } else {
                assert_eq!(new_cas, current, "step {i}: a failed write changes nothing");
            }
        }
    }

    #[test]
    fn cas_never_is_zero_and_clones_share_the_map() {
        let store = SharedStore::new();
        store.lock().next_cas = u32::MAX;
        let other = store.clone();
        assert_eq!(store.set("a", b"1", 0), Status::Ok);
        assert_eq!(other.set("b", b"2", 0), Status::Ok);
        assert_eq!(store.get("a").unwrap().1, u32::MAX);
        assert_eq!(store.get("b").unwrap().1, 1);
        assert_eq!(store.keys(), vec!["a".to_string(), "b".to_string()]);
    }
}
