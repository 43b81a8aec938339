//! Plain data the host records for tests to inspect.

use crate::abi::LogLevel;
use crate::headers::HeaderMap;
use std::time::Duration;

/// One `proxy_log` call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// Level the filter logged at (stored whatever the host log level is).
    pub level: LogLevel,
    /// The message, lossily decoded as UTF-8.
    pub message: String,
    /// The context the call acted for (the effective context, else the running one).
    pub context_id: u32,
}

/// One accepted `proxy_http_call` (`dispatch_http_call` in the SDK).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpCall {
    /// The token returned to the filter; pass it to `Host::respond` / `fail` / `timeout`.
    pub token: u32,
    /// The context that dispatched the call; the SDK routes the response back to it.
    pub context_id: u32,
    /// The upstream cluster name.
    pub cluster: String,
    /// Request headers, names lower-cased. Envoy adds `content-length` when the body is not
    /// empty, and so does the shim.
    pub headers: HeaderMap,
    /// Request body (empty when the filter passed `None`).
    pub body: Vec<u8>,
    /// Request trailers.
    pub trailers: HeaderMap,
    /// The timeout the filter asked for (zero means Envoy's default: no timeout).
    pub timeout: Duration,
}

impl HttpCall {
    /// The `:method` header.
    pub fn method(&self) -> &str {
        self.headers.get(":method").unwrap_or_default()
    }

    /// The `:path` header (path and query).
    pub fn path(&self) -> &str {
        self.headers.get(":path").unwrap_or_default()
    }

    /// The `:authority` header.
    pub fn authority(&self) -> &str {
        self.headers.get(":authority").unwrap_or_default()
    }

    /// The body, lossily decoded as UTF-8.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One `proxy_send_local_response` (`send_http_response` in the SDK).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalResponse {
    /// HTTP status code.
    pub status: u32,
    /// Headers the filter added, names lower-cased, in order (several `set-cookie` allowed).
    pub headers: HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
    /// Response code details; Envoy replaces whitespace with `_`, and so does the shim.
    pub details: String,
    /// gRPC status, `-1` when not set.
    pub grpc_status: i32,
}

impl LocalResponse {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body, lossily decoded as UTF-8.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_helpers_read_pseudo_headers() {
        let call = HttpCall {
            token: 1,
            context_id: 2,
            cluster: "c".into(),
            headers: HeaderMap::from_pairs(&[
                (":method", "POST"),
                (":path", "/t"),
                (":authority", "h"),
            ]),
            body: b"x=1".to_vec(),
            trailers: HeaderMap::new(),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(
            (call.method(), call.path(), call.authority()),
            ("POST", "/t", "h")
        );
        assert_eq!(call.body_text(), "x=1");
        let empty = HttpCall {
            headers: HeaderMap::new(),
            ..call
        };
        assert_eq!(empty.method(), "");
    }
}
