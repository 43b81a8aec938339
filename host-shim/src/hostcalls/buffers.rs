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
        BufferType::PluginConfiguration => {
            state.configuring.then(|| state.plugin_config.clone())
        }
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
            s.fatal(format!("set_buffer_bytes: buffer {buffer_type} is not writable now"));
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
