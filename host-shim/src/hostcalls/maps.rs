//! Header and trailer maps.
//!
//! Which map exists when follows Envoy's `getConstMap` (reads) and `getMap` (writes): a stream's
//! request/response maps while the filter holds them (see `state::Direction`), the final
//! request/response headers read-only during `on_log`, and the HTTP call response maps while
//! `proxy_on_http_call_response` runs. Envoy's null map means: pairs read as empty, a single
//! value read or any write fails with `BadArgument` — on which the SDK panics.

use super::code;
use crate::abi::{MapType, Status};
use crate::headers::HeaderMap;
use crate::memory::{hand_over, slice, text};
use crate::pairs;
use crate::state::{with_state, HostState};

/// Envoy's `getConstMap`.
fn readable(state: &HostState, map: MapType) -> Option<&HeaderMap> {
    let in_log = state.in_log;
    let stream = || state.streams.get(&state.acting());
    match map {
        MapType::HttpCallResponseHeaders => state.call_response.as_ref().map(|r| &r.headers),
        MapType::HttpCallResponseTrailers => state.call_response.as_ref().map(|r| &r.trailers),
        MapType::GrpcReceiveInitialMetadata | MapType::GrpcReceiveTrailingMetadata => None,
        MapType::HttpRequestHeaders => stream()
            .filter(|s| s.request.headers_open || in_log)
            .map(|s| &s.request.headers),
        MapType::HttpRequestTrailers => stream()
            .filter(|s| s.request.trailers_open)
            .map(|s| &s.request.trailers),
        MapType::HttpResponseHeaders => stream()
            .filter(|s| s.response.headers_open || in_log)
            .map(|s| &s.response.headers),
        MapType::HttpResponseTrailers => stream()
            .filter(|s| s.response.trailers_open || in_log)
            .map(|s| &s.response.trailers),
    }
}

/// Envoy's `getMap`: only a stream's own maps, and only while the filter holds them.
fn writable(state: &mut HostState, map: MapType) -> Option<&mut HeaderMap> {
    let stream = state.acting_stream()?;
    match map {
        MapType::HttpRequestHeaders if stream.request.headers_open => {
            Some(&mut stream.request.headers)
        }
        MapType::HttpRequestTrailers if stream.request.trailers_open => {
            Some(&mut stream.request.trailers)
        }
        MapType::HttpResponseHeaders if stream.response.headers_open => {
            Some(&mut stream.response.headers)
        }
        MapType::HttpResponseTrailers if stream.response.trailers_open => {
            Some(&mut stream.response.trailers)
        }
        _ => None,
    }
}

/// Applies `edit` to the writable map, or records why Envoy would answer `BadArgument`.
fn edit(call: &str, map_type: u32, edit: impl FnOnce(&mut HeaderMap)) -> u32 {
    with_state(|s| {
        let map = MapType::from_u32(map_type);
        match map.and_then(|map| writable(s, map)) {
            Some(target) => {
                edit(target);
                code(Status::Ok)
            }
            None => {
                let context = s.acting();
                s.fatal(format!(
                    "{call}: map {map:?} is not writable from context {context} now"
                ));
                code(Status::BadArgument)
            }
        }
    })
}

/// `proxy_get_header_map_pairs`: every entry, serialized; a missing map reads as empty.
#[no_mangle]
pub unsafe extern "C" fn proxy_get_header_map_pairs(
    map_type: u32,
    return_map_data: *mut *mut u8,
    return_map_size: *mut usize,
) -> u32 {
    let Some(map) = MapType::from_u32(map_type) else {
        with_state(|s| s.fatal(format!("get_header_map_pairs: unknown map {map_type}")));
        return code(Status::BadArgument);
    };
    let bytes = with_state(|s| match readable(s, map) {
        Some(m) if !m.is_empty() => pairs::serialize(&m.raw_pairs()),
        _ => Vec::new(),
    });
    // SAFETY: see the module contract.
    unsafe { hand_over(&bytes, return_map_data, return_map_size) };
    code(Status::Ok)
}

/// `proxy_set_header_map_pairs`: replaces the whole map.
#[no_mangle]
pub unsafe extern "C" fn proxy_set_header_map_pairs(
    map_type: u32,
    map_data: *const u8,
    map_size: usize,
) -> u32 {
    // SAFETY: see the module contract.
    let parsed = pairs::parse(unsafe { slice(map_data, map_size) });
    let entries = match parsed {
        Some(entries) => entries,
        None => {
            // Envoy's PairsUtil::toPairs yields no pairs for malformed input.
            with_state(|s| s.warn("set_header_map_pairs: malformed map, treated as empty".into()));
            Vec::new()
        }
    };
    edit("set_header_map_pairs", map_type, |m| m.set_all(&entries))
}

/// `proxy_get_header_map_value`: the first value; `NotFound` when absent (ABI 0.2.x), which the
/// SDK turns into `None`.
#[no_mangle]
pub unsafe extern "C" fn proxy_get_header_map_value(
    map_type: u32,
    key_data: *const u8,
    key_size: usize,
    return_value_data: *mut *mut u8,
    return_value_size: *mut usize,
) -> u32 {
    // SAFETY: see the module contract.
    let key = unsafe { text(key_data, key_size) };
    let found = with_state(|s| {
        let map = MapType::from_u32(map_type);
        match map.and_then(|map| readable(s, map)) {
            Some(m) => Ok(m.get_bytes(&key).map(<[u8]>::to_vec)),
            None => {
                let context = s.acting();
                s.fatal(format!(
                    "get_header_map_value({key:?}): map {map:?} is not readable from context {context} now"
                ));
                Err(())
            }
        }
    });
    match found {
        Err(()) => code(Status::BadArgument),
        Ok(None) => code(Status::NotFound),
        Ok(Some(value)) => {
            // SAFETY: see the module contract.
            unsafe { hand_over(&value, return_value_data, return_value_size) };
            code(Status::Ok)
        }
    }
}

/// `proxy_remove_header_map_value`: removes every entry of the name.
#[no_mangle]
pub unsafe extern "C" fn proxy_remove_header_map_value(
    map_type: u32,
    key_data: *const u8,
    key_size: usize,
) -> u32 {
    // SAFETY: see the module contract.
    let key = unsafe { text(key_data, key_size) };
    edit("remove_header_map_value", map_type, |m| m.remove(&key))
}

/// `proxy_replace_header_map_value`: removes every entry of the name, then appends one.
#[no_mangle]
pub unsafe extern "C" fn proxy_replace_header_map_value(
    map_type: u32,
    key_data: *const u8,
    key_size: usize,
    value_data: *const u8,
    value_size: usize,
) -> u32 {
    // SAFETY: see the module contract.
    let (key, value) = unsafe { (text(key_data, key_size), slice(value_data, value_size)) };
    edit("replace_header_map_value", map_type, |m| {
        m.replace(&key, value)
    })
}

/// `proxy_add_header_map_value`: appends an entry, keeping existing ones.
#[no_mangle]
pub unsafe extern "C" fn proxy_add_header_map_value(
    map_type: u32,
    key_data: *const u8,
    key_size: usize,
    value_data: *const u8,
    value_size: usize,
) -> u32 {
    // SAFETY: see the module contract.
    let (key, value) = unsafe { (text(key_data, key_size), slice(value_data, value_size)) };
    edit("add_header_map_value", map_type, |m| m.add(&key, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StreamState;
    use std::ptr::null_mut;

    const REQUEST_HEADERS: u32 = 0;
    const CALL_RESPONSE_HEADERS: u32 = 6;

    /// A host whose running context is stream 7 with request headers `a: 1`, `a: 2`, `e: ""`.
    fn setup(open: bool, in_log: bool) {
        with_state(|s| {
            *s = HostState::new();
            let mut stream = StreamState::default();
            stream.request.headers = HeaderMap::from_pairs(&[("a", "1"), ("a", "2"), ("e", "")]);
            stream.request.headers_open = open;
            s.streams.insert(7, stream);
            s.running = 7;
            s.in_log = in_log;
        });
    }

    fn get(map: u32, name: &str) -> (u32, Option<Vec<u8>>) {
        let (mut ptr, mut len) = (null_mut(), 0);
        // SAFETY: valid key and out-pointers; the result is taken back like the SDK does.
        unsafe {
            let status =
                proxy_get_header_map_value(map, name.as_ptr(), name.len(), &mut ptr, &mut len);
            (
                status,
                (!ptr.is_null()).then(|| Vec::from_raw_parts(ptr, len, len)),
            )
        }
    }

    fn pairs(map: u32) -> (u32, Option<Vec<u8>>) {
        let (mut ptr, mut len) = (null_mut(), 0);
        // SAFETY: as in `get`.
        unsafe {
            let status = proxy_get_header_map_pairs(map, &mut ptr, &mut len);
            (
                status,
                (!ptr.is_null()).then(|| Vec::from_raw_parts(ptr, len, len)),
            )
        }
    }

    fn add(name: &str, value: &str) -> u32 {
        // SAFETY: valid key and value.
        unsafe {
            proxy_add_header_map_value(
                REQUEST_HEADERS,
                name.as_ptr(),
                name.len(),
                value.as_ptr(),
                value.len(),
            )
        }
    }

    #[test]
    fn single_value_reads_follow_envoy() {
        struct Case {
            name: &'static str,
            open: bool,
            in_log: bool,
            key: &'static str,
            status: Status,
            value: Option<&'static [u8]>,
        }
        let cases = [
            Case {
                name: "first of duplicates",
                open: true,
                in_log: false,
                key: "A",
                status: Status::Ok,
                value: Some(b"1"),
            },
            Case {
                name: "empty value is null (SDK: Some(\"\"))",
                open: true,
                in_log: false,
                key: "e",
                status: Status::Ok,
                value: None,
            },
            Case {
                name: "missing is NotFound (SDK: None)",
                open: true,
                in_log: false,
                key: "zz",
                status: Status::NotFound,
                value: None,
            },
            Case {
                name: "released map is BadArgument",
                open: false,
                in_log: false,
                key: "a",
                status: Status::BadArgument,
                value: None,
            },
            Case {
                name: "readable during on_log",
                open: false,
                in_log: true,
                key: "a",
                status: Status::Ok,
                value: Some(b"1"),
            },
            Case {
                name: "missing during on_log",
                open: false,
                in_log: true,
                key: "zz",
                status: Status::NotFound,
                value: None,
            },
        ];
        for case in cases {
            setup(case.open, case.in_log);
            let want = (code(case.status), case.value.map(<[u8]>::to_vec));
            assert_eq!(get(REQUEST_HEADERS, case.key), want, "{}", case.name);
        }
    }

    #[test]
    fn pairs_of_a_missing_map_read_as_empty() {
        setup(false, false);
        assert_eq!(pairs(REQUEST_HEADERS), (code(Status::Ok), None));
        assert_eq!(pairs(CALL_RESPONSE_HEADERS), (code(Status::Ok), None));
        assert_eq!(pairs(99).0, code(Status::BadArgument));
        setup(true, false);
        let (status, bytes) = pairs(REQUEST_HEADERS);
        assert_eq!(status, code(Status::Ok));
        let parsed = crate::pairs::parse(&bytes.unwrap()).unwrap();
        assert_eq!(parsed.len(), 3);
    }

    #[test]
    fn writes_need_a_held_map() {
        setup(true, false);
        assert_eq!(add("B", "x"), code(Status::Ok));
        let headers = with_state(|s| s.streams[&7].request.headers.clone());
        assert_eq!(headers.get("b"), Some("x"));
        for (open, in_log) in [(false, false), (false, true)] {
            setup(open, in_log);
            assert_eq!(
                add("b", "x"),
                code(Status::BadArgument),
                "open {open} log {in_log}"
            );
        }
    }

    #[test]
    fn call_response_maps_exist_only_during_delivery() {
        setup(true, false);
        assert_eq!(
            get(CALL_RESPONSE_HEADERS, ":status").0,
            code(Status::BadArgument)
        );
        with_state(|s| {
            s.call_response = Some(crate::state::CallResponse {
                headers: HeaderMap::from_pairs(&[(":status", "200")]),
                body: Vec::new(),
                trailers: HeaderMap::new(),
            })
        });
        assert_eq!(
            get(CALL_RESPONSE_HEADERS, ":status"),
            (code(Status::Ok), Some(b"200".to_vec()))
        );
    }

    #[test]
    fn effective_context_selects_the_stream() {
        setup(true, false);
        with_state(|s| {
            s.running = 1;
            s.root_id = Some(1);
        });
        assert_eq!(
            get(REQUEST_HEADERS, "a").0,
            code(Status::BadArgument),
            "root has no request"
        );
        assert_eq!(
            crate::hostcalls::general::proxy_set_effective_context(7),
            code(Status::Ok)
        );
        assert_eq!(get(REQUEST_HEADERS, "a").1, Some(b"1".to_vec()));
    }
}
