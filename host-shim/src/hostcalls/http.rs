//! Stream control, local responses and outgoing HTTP calls.

use super::code;
use crate::abi::{Status, StreamType};
use crate::headers::HeaderMap;
use crate::memory::{slice, text, write};
use crate::pairs;
use crate::records::{HttpCall, LocalResponse};
use crate::state::{next_token, with_state, HostState};
use std::time::Duration;

/// Parses a serialized map argument; malformed input becomes empty, as in Envoy's
/// `PairsUtil::toPairs`, with a warning.
fn parse_map(state: &mut HostState, call: &str, bytes: &[u8]) -> HeaderMap {
    match pairs::parse(bytes) {
        Some(entries) => HeaderMap::from_pairs(&entries),
        None => {
            state.warn(format!("{call}: malformed header map, treated as empty"));
            HeaderMap::new()
        }
    }
}

/// `proxy_continue_stream`: resumes a paused request or response.
///
/// Like Envoy's `continueStream`, resuming either direction drops the filter's hold on the
/// request maps and body (later writes fail, reads of single values fail): the request may
/// already be on its way upstream.
#[no_mangle]
pub extern "C" fn proxy_continue_stream(stream_type: u32) -> u32 {
    with_state(|s| {
        let kind = match StreamType::from_u32(stream_type) {
            Some(kind @ (StreamType::HttpRequest | StreamType::HttpResponse)) => kind,
            Some(other) => {
                // Envoy: no-op for Downstream on an HTTP filter, Unimplemented for Upstream.
                s.warn(format!("continue_stream({other:?}) on an HTTP filter does nothing"));
                return code(Status::Ok);
            }
            None => {
                s.fatal(format!("continue_stream: unknown stream type {stream_type}"));
                return code(Status::BadArgument);
            }
        };
        let Some(stream) = s.acting_stream() else {
            let context = s.acting();
            s.warn(format!(
                "continue_stream({kind:?}) from non-stream context {context} does nothing"
            ));
            return code(Status::Ok);
        };
        if kind == StreamType::HttpRequest {
            stream.request_resumes += 1;
            stream.request_continued = true;
            stream.request.body.release();
        } else {
            stream.response_resumes += 1;
            stream.response.body.release();
        }
        stream.request.headers_open = false;
        stream.request.trailers_open = false;
        stream.request.body.open = false;
        code(Status::Ok)
    })
}

/// `proxy_close_stream`: resets the request or response (recorded on the stream).
#[no_mangle]
pub extern "C" fn proxy_close_stream(stream_type: u32) -> u32 {
    with_state(|s| {
        let kind = StreamType::from_u32(stream_type);
        let context = s.acting();
        match (kind, s.acting_stream()) {
            (None, _) => {
                s.fatal(format!("close_stream: unknown stream type {stream_type}"));
                return code(Status::BadArgument);
            }
            (Some(StreamType::HttpRequest), Some(stream)) => stream.request_reset = true,
            (Some(StreamType::HttpResponse), Some(stream)) => stream.response_reset = true,
            (Some(kind), _) => s.warn(format!(
                "close_stream({kind:?}) from context {context} does nothing"
            )),
        }
        code(Status::Ok)
    })
}

/// `proxy_send_local_response`: records the response on the acting stream. Envoy sends it
/// after the callback returns and stops the filter chain whatever the callback returned.
#[no_mangle]
pub unsafe extern "C" fn proxy_send_local_response(
    status_code: u32,
    status_code_details_data: *const u8,
    status_code_details_size: usize,
    body_data: *const u8,
    body_size: usize,
    headers_data: *const u8,
    headers_size: usize,
    grpc_status: i32,
) -> u32 {
    // SAFETY: see the module contract.
    let (details, body, headers) = unsafe {
        (
            text(status_code_details_data, status_code_details_size),
            slice(body_data, body_size).to_vec(),
            slice(headers_data, headers_size),
        )
    };
    with_state(|s| {
        let headers = parse_map(s, "send_local_response", headers);
        let response = LocalResponse {
            status: status_code,
            headers,
            body,
            // Envoy's StringUtil::replaceAllEmptySpace on the details.
            details: details
                .chars()
                .map(|c| if c.is_whitespace() { '_' } else { c })
                .collect(),
            grpc_status,
        };
        let context = s.acting();
        match s.acting_stream() {
            Some(stream) => stream.local_responses.push(response),
            None => s.warn(format!(
                "send_local_response({status_code}) from non-stream context {context} does nothing"
            )),
        }
        code(Status::Ok)
    })
}

/// `proxy_http_call`: validates like Envoy's `Context::httpCall` and records the call.
///
/// `BadArgument` when the timeout does not fit an `int`, the cluster does not exist, or
/// `:method`, `:path` or `:authority` is missing; the SDK returns that as `Err`. The token is
/// written only on success (0 otherwise).
#[no_mangle]
pub unsafe extern "C" fn proxy_http_call(
    upstream_data: *const u8,
    upstream_size: usize,
    headers_data: *const u8,
    headers_size: usize,
    body_data: *const u8,
    body_size: usize,
    trailers_data: *const u8,
    trailers_size: usize,
    timeout: u32,
    return_token: *mut u32,
) -> u32 {
    // SAFETY: see the module contract.
    let (cluster, headers, body, trailers) = unsafe {
        write(return_token, 0);
        (
            text(upstream_data, upstream_size),
            slice(headers_data, headers_size),
            slice(body_data, body_size).to_vec(),
            slice(trailers_data, trailers_size),
        )
    };
    let result = with_state(|s| {
        let mut headers = parse_map(s, "http_call", headers);
        let trailers = parse_map(s, "http_call", trailers);
        if i32::try_from(timeout).is_err() {
            s.warn(format!("http_call: timeout {timeout} ms is negative for Envoy"));
            return Err(Status::BadArgument);
        }
        if !s.cluster_exists(&cluster) {
            s.warn(format!("http_call: unknown cluster {cluster:?}"));
            return Err(Status::BadArgument);
        }
        if let Some(missing) = [":method", ":path", ":authority"]
            .into_iter()
            .find(|name| !headers.contains(name))
        {
            s.warn(format!("http_call to {cluster:?}: missing {missing}"));
            return Err(Status::BadArgument);
        }
        if !body.is_empty() {
            headers.replace("content-length", &body.len().to_string());
        }
        let call = HttpCall {
            token: next_token(),
            context_id: s.acting(),
            cluster,
            headers,
            body,
            trailers,
            timeout: Duration::from_millis(u64::from(timeout)),
        };
        s.pending_calls.insert(call.token, call.clone());
        s.dispatched.push(call.clone());
        Ok(call.token)
    });
    match result {
        Ok(token) => {
            // SAFETY: see the module contract.
            unsafe { write(return_token, token) };
            code(Status::Ok)
        }
        Err(status) => code(status),
    }
}
