//! Body and configuration buffers (Envoy `Context::getBuffer`, cpp-host `get_buffer_bytes`).

use super::code;
use crate::abi::{BufferType, Status};
use crate::memory::{hand_over, slice};
use crate::state::{with_state, Body, HostState};

/// The bytes Envoy would expose for `buffer`, or `None` where its buffer pointer is null.
fn readable(state: &HostState, buffer: BufferType) -> Option<Vec<u8>> {
    let body = |pick: fn(&crate::state::StreamState) -> &Body| {
        state
            .streams
            .get(&state.acting())
            .map(pick)
            .filter(|b| b.open)
            .map(|b| b.pending.clone())
    };
    match buffer {
        BufferType::VmConfiguration => Some(state.vm_config.clone()),
        // Envoy holds the plugin configuration only while `on_configure` runs.
        BufferType::PluginConfiguration => state.configuring.then(|| state.plugin_config.clone()),
        BufferType::HttpCallResponseBody => state.call_response.as_ref().map(|r| r.body.clone()),
        BufferType::HttpRequestBody => body(|s| &s.request.body),
        BufferType::HttpResponseBody => body(|s| &s.response.body),
        BufferType::DownstreamData
        | BufferType::UpstreamData
        | BufferType::GrpcReceiveBuffer
        | BufferType::CallData => None,
    }
}

/// `proxy_get_buffer_bytes`: up to `max_size` bytes from `start`; `NotFound` when the buffer
/// does not exist now (the SDK returns `None`), null/0 when the range is empty.
#[no_mangle]
pub unsafe extern "C" fn proxy_get_buffer_bytes(
    buffer_type: u32,
    start: usize,
    max_size: usize,
    return_buffer_data: *mut *mut u8,
    return_buffer_size: *mut usize,
) -> u32 {
    let Some(buffer) = BufferType::from_u32(buffer_type) else {
        with_state(|s| s.fatal(format!("get_buffer_bytes: unknown buffer {buffer_type}")));
        return code(Status::BadArgument);
    };
    let Some(bytes) = with_state(|s| readable(s, buffer)) else {
        return code(Status::NotFound);
    };
    if start.checked_add(max_size).is_none() {
        with_state(|s| s.fatal(format!("get_buffer_bytes: start {start} + size overflows")));
        return code(Status::BadArgument);
    }
    let from = start.min(bytes.len());
    let to = from.saturating_add(max_size).min(bytes.len());
    let range = bytes.get(from..to).unwrap_or_default();
    // SAFETY: see the module contract.
    unsafe { hand_over(range, return_buffer_data, return_buffer_size) };
    code(Status::Ok)
}

/// `proxy_set_buffer_bytes`: edits a body the filter holds, with Envoy's `Buffer::copyFrom`
/// rules: `(0, 0)` prepends, `(0, n >= len)` replaces, `start >= len` appends, anything else
/// is `BadArgument`.
#[no_mangle]
pub unsafe extern "C" fn proxy_set_buffer_bytes(
    buffer_type: u32,
    start: usize,
    size: usize,
    buffer_data: *const u8,
    buffer_size: usize,
) -> u32 {
    // SAFETY: see the module contract.
    let data = unsafe { slice(buffer_data, buffer_size) };
    with_state(|s| {
        let body = match BufferType::from_u32(buffer_type) {
            Some(BufferType::HttpRequestBody) => s.acting_stream().map(|st| &mut st.request.body),
            Some(BufferType::HttpResponseBody) => s.acting_stream().map(|st| &mut st.response.body),
            _ => None,
        };
        let Some(body) = body.filter(|b| b.open) else {
            s.fatal(format!(
                "set_buffer_bytes: buffer {buffer_type} is not writable now"
            ));
            return code(Status::NotFound);
        };
        let len = body.pending.len();
        if start == 0 && size == 0 {
            body.pending.splice(0..0, data.iter().copied());
        } else if start == 0 && size >= len {
            body.pending = data.to_vec();
        } else if start != 0 && start >= len {
            body.pending.extend_from_slice(data);
        } else {
            s.fatal(format!(
                "set_buffer_bytes: unsupported range start {start} size {size} of {len} bytes"
            ));
            return code(Status::BadArgument);
        }
        code(Status::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StreamState;
    use std::ptr::null_mut;

    const REQUEST_BODY: u32 = 0;
    const PLUGIN_CONFIGURATION: u32 = 7;

    fn setup(body: &[u8], open: bool) {
        with_state(|s| {
            *s = HostState::new();
            s.plugin_config = b"cfg".to_vec();
            let mut stream = StreamState::default();
            stream.request.body.pending = body.to_vec();
            stream.request.body.open = open;
            s.streams.insert(3, stream);
            s.running = 3;
        });
    }

    fn get(buffer: u32, start: usize, max: usize) -> (u32, Option<Vec<u8>>) {
        let (mut ptr, mut len) = (null_mut(), 0);
        // SAFETY: valid out-pointers; the result is taken back like the SDK does.
        unsafe {
            let status = proxy_get_buffer_bytes(buffer, start, max, &mut ptr, &mut len);
            (
                status,
                (!ptr.is_null()).then(|| Vec::from_raw_parts(ptr, len, len)),
            )
        }
    }

    fn set(start: usize, size: usize, data: &[u8]) -> u32 {
        // SAFETY: valid data.
        unsafe { proxy_set_buffer_bytes(REQUEST_BODY, start, size, data.as_ptr(), data.len()) }
    }

    #[test]
    fn reads_clamp_to_the_buffer() {
        let ok = code(Status::Ok);
        let cases: [(usize, usize, u32, Option<&[u8]>); 5] = [
            (0, 100, ok, Some(b"hello")),
            (1, 3, ok, Some(b"ell")),
            (5, 10, ok, None),
            (9, 1, ok, None),
            (1, usize::MAX, code(Status::BadArgument), None),
        ];
        for (start, max, status, want) in cases {
            setup(b"hello", true);
            assert_eq!(
                get(REQUEST_BODY, start, max),
                (status, want.map(<[u8]>::to_vec)),
                "{start}+{max}"
            );
        }
        setup(b"hello", false);
        assert_eq!(
            get(REQUEST_BODY, 0, 5).0,
            code(Status::NotFound),
            "released body"
        );
    }

    #[test]
    fn plugin_configuration_only_while_configuring() {
        setup(b"", true);
        assert_eq!(get(PLUGIN_CONFIGURATION, 0, 10).0, code(Status::NotFound));
        with_state(|s| s.configuring = true);
        assert_eq!(
            get(PLUGIN_CONFIGURATION, 0, 10),
            (code(Status::Ok), Some(b"cfg".to_vec()))
        );
    }

    #[test]
    fn writes_follow_envoy_copy_from() {
        let ok = code(Status::Ok);
        let cases: [(usize, usize, u32, &[u8]); 4] = [
            (0, 0, ok, b"XXabcd"),
            (0, 4, ok, b"XX"),
            (4, 0, ok, b"abcdXX"),
            (1, 2, code(Status::BadArgument), b"abcd"),
        ];
        for (start, size, status, want) in cases {
            setup(b"abcd", true);
            assert_eq!(set(start, size, b"XX"), status, "{start}/{size}");
            let body = with_state(|s| s.streams[&3].request.body.pending.clone());
            assert_eq!(body, want, "{start}/{size}");
        }
    }
}
