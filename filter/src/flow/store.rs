//! Shared data as the flow sees it: a key-value map shared by every Envoy worker, with
//! compare-and-swap writes. The adapter implements it over proxy-wasm shared data.

/// Envoy's shared data.
pub trait SharedStore {
    /// Value and version of `key`.
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)>;
    /// Write `value` if the version is still `cas` (None: unconditionally). False when another
    /// worker wrote first or the host refused.
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool;
}

/// A store that holds nothing and refuses writes (for contexts without shared state).
pub struct NoStore;

impl SharedStore for NoStore {
    fn get(&self, _key: &str) -> Option<(Vec<u8>, u32)> {
        None
    }

    fn set(&self, _key: &str, _value: &[u8], _cas: Option<u32>) -> bool {
        false
    }
}

/// An in-memory store with Envoy's CAS semantics, for unit tests.
#[cfg(test)]
#[derive(Default)]
pub struct MemoryStore(pub std::cell::RefCell<std::collections::HashMap<String, (Vec<u8>, u32)>>);

#[cfg(test)]
impl SharedStore for MemoryStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.0.borrow().get(key).cloned()
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        let mut map = self.0.borrow_mut();
        let version = map.get(key).map(|(_, v)| *v);
        if cas.is_some() && cas != version {
            return false;
        }
        map.insert(key.to_string(), (value.to_vec(), version.unwrap_or(0) + 1));
        true
    }
}
