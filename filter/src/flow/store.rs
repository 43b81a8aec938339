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
