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
        Some(entries) => HeaderMap::from_raw_pairs(&entries),
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
                s.warn(format!(
                    "continue_stream({other:?}) on an HTTP filter does nothing"
                ));
                return code(Status::Ok);
            }
            None => {
                s.fatal(format!(
                    "continue_stream: unknown stream type {stream_type}"
                ));
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
            s.warn(format!(
                "http_call: timeout {timeout} ms is negative for Envoy"
            ));
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
            headers.replace("content-length", body.len().to_string().as_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StreamState;

    fn setup() {
        with_state(|s| {
            *s = HostState::new();
            let mut stream = StreamState::default();
            stream.request.headers_open = true;
            stream.request.body.open = true;
            stream.request.body.pending = b"buffered".to_vec();
            s.streams.insert(5, stream);
            s.running = 5;
        });
    }

    fn call(cluster: &str, headers: &[(&str, &str)], body: &[u8], timeout: u32) -> (u32, u32) {
        let raw: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
        let map = pairs::serialize(&raw);
        let mut token = 77;
        // SAFETY: all buffers are valid for their lengths.
        let status = unsafe {
            proxy_http_call(
                cluster.as_ptr(),
                cluster.len(),
                map.as_ptr(),
                map.len(),
                body.as_ptr(),
                body.len(),
                std::ptr::null(),
                0,
                timeout,
                &mut token,
            )
        };
        (status, token)
    }

    #[test]
    fn http_call_validates_like_envoy() {
        struct Case {
            name: &'static str,
            cluster: &'static str,
            headers: &'static [(&'static str, &'static str)],
            timeout: u32,
            accepted: bool,
        }
        const FULL: &[(&str, &str)] = &[(":method", "GET"), (":path", "/"), (":authority", "h")];
        let cases = [
            Case {
                name: "accepted",
                cluster: "idp",
                headers: FULL,
                timeout: 1000,
                accepted: true,
            },
            Case {
                name: "unknown cluster",
                cluster: "gone",
                headers: FULL,
                timeout: 1000,
                accepted: false,
            },
            Case {
                name: "missing :authority",
                cluster: "idp",
                headers: &FULL[..2],
                timeout: 1000,
                accepted: false,
            },
            Case {
                name: "missing :method",
                cluster: "idp",
                headers: &FULL[1..],
                timeout: 1000,
                accepted: false,
            },
            Case {
                name: "negative timeout for Envoy",
                cluster: "idp",
                headers: FULL,
                timeout: u32::MAX,
                accepted: false,
            },
        ];
        for case in cases {
            setup();
            with_state(|s| s.unknown_clusters.insert("gone".into()));
            let (status, token) = call(case.cluster, case.headers, b"", case.timeout);
            let want = if case.accepted {
                Status::Ok
            } else {
                Status::BadArgument
            };
            assert_eq!(status, code(want), "{}", case.name);
            assert_eq!(
                token != 0,
                case.accepted,
                "{}: token written only on success",
                case.name
            );
            let pending = with_state(|s| s.pending_calls.len());
            assert_eq!(pending, usize::from(case.accepted), "{}", case.name);
        }
    }

    #[test]
    fn http_call_records_body_length_and_caller() {
        setup();
        let headers = [
            (":method", "POST"),
            (":path", "/t"),
            (":authority", "h"),
            ("Content-Length", "1"),
        ];
        let (_, token) = call("idp", &headers, b"abc", 0);
        let recorded = with_state(|s| s.pending_calls[&token].clone());
        assert_eq!(recorded.headers.get_all("content-length"), vec!["3"]);
        assert_eq!((recorded.context_id, recorded.timeout), (5, Duration::ZERO));
    }

    #[test]
    fn continuing_releases_the_request() {
        setup();
        assert_eq!(proxy_continue_stream(0), code(Status::Ok));
        let (open, forwarded, continued) = with_state(|s| {
            let st = &s.streams[&5];
            (
                st.request.headers_open,
                st.request.body.forwarded.clone(),
                st.request_continued,
            )
        });
        assert!(!open);
        assert_eq!(forwarded, b"buffered");
        assert!(continued);
        assert_eq!(proxy_continue_stream(9), code(Status::BadArgument));
    }

    #[test]
    fn resuming_the_response_also_drops_request_maps() {
        setup();
        assert_eq!(proxy_continue_stream(1), code(Status::Ok));
        assert!(with_state(|s| !s.streams[&5].request.headers_open));
    }

    #[test]
    fn local_response_is_recorded_on_the_stream_only() {
        setup();
        let details = "bad thing";
        let headers = pairs::serialize(&[("Location", &b"/x"[..])]);
        // SAFETY: all buffers are valid for their lengths.
        let status = unsafe {
            proxy_send_local_response(
                302,
                details.as_ptr(),
                details.len(),
                std::ptr::null(),
                0,
                headers.as_ptr(),
                headers.len(),
                -1,
            )
        };
        assert_eq!(status, code(Status::Ok));
        let response = with_state(|s| s.streams[&5].local_responses[0].clone());
        assert_eq!(
            (response.status, response.details.as_str()),
            (302, "bad_thing")
        );
        assert_eq!(response.header("location"), Some("/x"));

        with_state(|s| s.running = 1);
        // SAFETY: null/0 arguments are allowed.
        let status = unsafe {
            proxy_send_local_response(
                500,
                std::ptr::null(),
                0,
                std::ptr::null(),
                0,
                std::ptr::null(),
                0,
                -1,
            )
        };
        assert_eq!(status, code(Status::Ok));
        assert_eq!(
            with_state(|s| s.warnings.len()),
            1,
            "ignored outside a stream, with a warning"
        );
    }

    #[test]
    fn close_stream_marks_the_reset() {
        setup();
        assert_eq!(proxy_close_stream(0), code(Status::Ok));
        assert!(with_state(|s| s.streams[&5].request_reset));
    }
}
