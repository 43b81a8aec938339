//! Shared data and metrics.

use super::code;
use crate::abi::{MetricKind, Status};
use crate::memory::{hand_over, slice, text, write};
use crate::state::with_state;

/// `proxy_get_shared_data`: value and CAS, or `NotFound` (the SDK returns `(None, None)`).
#[no_mangle]
pub unsafe extern "C" fn proxy_get_shared_data(
    key_data: *const u8,
    key_size: usize,
    return_value_data: *mut *mut u8,
    return_value_size: *mut usize,
    return_cas: *mut u32,
) -> u32 {
    // SAFETY: see the module contract.
    let key = unsafe { text(key_data, key_size) };
    match with_state(|s| s.shared.get(&key)) {
        None => code(Status::NotFound),
        Some((value, cas)) => {
            // SAFETY: see the module contract.
            unsafe {
                hand_over(&value, return_value_data, return_value_size);
                write(return_cas, cas);
            }
            code(Status::Ok)
        }
    }
}

/// `proxy_set_shared_data`: Envoy's CAS rules (see [`crate::SharedStore`]).
#[no_mangle]
pub unsafe extern "C" fn proxy_set_shared_data(
    key_data: *const u8,
    key_size: usize,
    value_data: *const u8,
    value_size: usize,
    cas: u32,
) -> u32 {
    // SAFETY: see the module contract.
    let (key, value) = unsafe { (text(key_data, key_size), slice(value_data, value_size)) };
    code(with_state(|s| s.shared.set(&key, value, cas)))
}

/// `proxy_define_metric`: a new id (Envoy's scheme: kind in the low two bits).
#[no_mangle]
pub unsafe extern "C" fn proxy_define_metric(
    metric_type: u32,
    name_data: *const u8,
    name_size: usize,
    return_id: *mut u32,
) -> u32 {
    // SAFETY: see the module contract.
    let name = unsafe { text(name_data, name_size) };
    let id = with_state(|s| match MetricKind::from_u32(metric_type) {
        Some(kind) => Some(s.metrics.define(kind, &name)),
        None => {
            s.fatal(format!(
                "define_metric({name:?}): unknown type {metric_type}"
            ));
            None
        }
    });
    match id {
        Some(id) => {
            // SAFETY: see the module contract.
            unsafe { write(return_id, id) };
            code(Status::Ok)
        }
        None => code(Status::BadArgument),
    }
}

/// `proxy_get_metric`: counter or gauge value.
#[no_mangle]
pub unsafe extern "C" fn proxy_get_metric(metric_id: u32, return_value: *mut u64) -> u32 {
    match with_state(|s| s.metrics.get(metric_id)) {
        Ok(value) => {
            // SAFETY: see the module contract.
            unsafe { write(return_value, value) };
            code(Status::Ok)
        }
        Err(status) => code(status),
    }
}

/// `proxy_record_metric`: add to a counter, set a gauge, or record a histogram sample.
#[no_mangle]
pub extern "C" fn proxy_record_metric(metric_id: u32, value: u64) -> u32 {
    code(with_state(|s| s.metrics.record(metric_id, value)))
}

/// `proxy_increment_metric`: positive for counters, either sign for gauges.
#[no_mangle]
pub extern "C" fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32 {
    code(with_state(|s| s.metrics.increment(metric_id, offset)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::HostState;
    use std::ptr::null_mut;

    fn get(key: &str) -> (u32, Option<Vec<u8>>, u32) {
        let (mut ptr, mut len, mut cas) = (null_mut(), 0, 0);
        // SAFETY: valid key and out-pointers; the value is taken back like the SDK does.
        unsafe {
            let status =
                proxy_get_shared_data(key.as_ptr(), key.len(), &mut ptr, &mut len, &mut cas);
            (
                status,
                (!ptr.is_null()).then(|| Vec::from_raw_parts(ptr, len, len)),
                cas,
            )
        }
    }

    fn set(key: &str, value: &[u8], cas: u32) -> u32 {
        // SAFETY: valid key and value.
        unsafe { proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas) }
    }

    #[test]
    fn shared_data_round_trip_with_cas() {
        with_state(|s| *s = HostState::new());
        assert_eq!(get("k").0, code(Status::NotFound));
        assert_eq!(set("k", b"v1", 0), code(Status::Ok));
        let (status, value, cas) = get("k");
        assert_eq!((status, value), (code(Status::Ok), Some(b"v1".to_vec())));
        assert_eq!(set("k", b"v2", cas), code(Status::Ok));
        assert_eq!(set("k", b"v3", cas), code(Status::CasMismatch));
        assert_eq!(get("k").1, Some(b"v2".to_vec()));
    }

    #[test]
    fn metrics_through_the_abi() {
        with_state(|s| *s = HostState::new());
        let name = "hits";
        let mut id = 0;
        // SAFETY: valid name and out-pointer.
        let status = unsafe { proxy_define_metric(0, name.as_ptr(), name.len(), &mut id) };
        assert_eq!((status, id), (code(Status::Ok), 4));
        assert_eq!(proxy_increment_metric(id, 2), code(Status::Ok));
        let mut value = 0;
        // SAFETY: valid out-pointer.
        assert_eq!(
            unsafe { proxy_get_metric(id, &mut value) },
            code(Status::Ok)
        );
        assert_eq!(value, 2);
        // SAFETY: valid name and out-pointer.
        let status = unsafe { proxy_define_metric(3, name.as_ptr(), name.len(), &mut id) };
        assert_eq!(status, code(Status::BadArgument));
    }
}
