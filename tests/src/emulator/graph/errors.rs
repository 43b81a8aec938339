//! Microsoft Graph's error shape, and the response headers Graph puts on every answer.
//!
//! Codes follow what Graph returns for directory calls where known (`InvalidAuthenticationToken`,
//! `Authorization_RequestDenied`, `Request_BadRequest`, `Request_ResourceNotFound`,
//! `Directory_ExpiredPageToken`, `TooManyRequests`, …). Messages are close to Graph's; clients
//! must only log them, never parse them.

use serde_json::{json, Value};

use crate::emulator::clock::iso_timestamp;
use crate::emulator::http::{Request, Response};
use crate::emulator::ids::random_guid;

/// Graph's JSON content type.
const CONTENT_TYPE: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// Ids Graph stamps on each response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphIds {
    /// Server-side id of this request (`request-id`).
    pub request_id: String,
    /// The caller's `client-request-id`, or the request id when none was sent.
    pub client_request_id: String,
    /// Unix seconds.
    pub now: u64,
}

impl GraphIds {
    /// Fresh ids for `req`.
    pub fn new(req: &Request, now: u64) -> GraphIds {
        let request_id = random_guid();
        let client_request_id = req
            .header("client-request-id")
            .map(str::to_string)
            .unwrap_or_else(|| request_id.clone());
        GraphIds {
            request_id,
            client_request_id,
            now,
        }
    }

    /// Adds `request-id` and `client-request-id`, which operators quote to Microsoft.
    fn stamp(&self, resp: Response) -> Response {
        resp.with_header("request-id", &self.request_id)
            .with_header("client-request-id", &self.client_request_id)
    }
}

/// A successful Graph JSON response.
pub fn ok(body: &Value, ids: &GraphIds) -> Response {
    ids.stamp(Response::new(200, CONTENT_TYPE, body.to_string()))
        .with_header("Cache-Control", "no-cache")
}

/// One Graph error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: &'static str,
    /// `error.message`.
    pub message: String,
    /// `Retry-After` seconds (429 and 503).
    pub retry_after: Option<u32>,
}

fn err(status: u16, code: &'static str, message: &str) -> GraphError {
    GraphError {
        status,
        code,
        message: message.to_string(),
        retry_after: None,
    }
}

impl GraphError {
    /// `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
    pub fn body(&self, ids: &GraphIds) -> Value {
        json!({"error": {
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": iso_timestamp(ids.now),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            },
        }})
    }

    /// The full response: body, id headers, `WWW-Authenticate` on 401, `Retry-After`.
    pub fn response(&self, ids: &GraphIds) -> Response {
        let mut resp = ids.stamp(Response::new(
            self.status,
            CONTENT_TYPE,
            self.body(ids).to_string(),
        ));
        if self.status == 401 {
            resp = resp.with_header(
                "WWW-Authenticate",
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
            );
        }
        if let Some(secs) = self.retry_after {
            resp = resp.with_header("Retry-After", &secs.to_string());
        }
        resp
    }

    /// 401: no bearer token.
    pub fn empty_token() -> Self {
        err(401, "InvalidAuthenticationToken", "Access token is empty.")
    }

    /// 401: a token this emulator did not issue, or not for Graph.
    pub fn invalid_token(detail: &str) -> Self {
        err(
            401,
            "InvalidAuthenticationToken",
            &format!("Access token validation failure.{detail}"),
        )
    }

    /// 401: an expired token.
    pub fn expired_token() -> Self {
        err(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        )
    }

    /// 403: the token lacks a permission the call needs (no `User.Read` consent).
    pub fn denied() -> Self {
        err(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// 400: a malformed request.
    pub fn bad_request(message: &str) -> Self {
        err(400, "Request_BadRequest", message)
    }

    /// 400: a `$top` outside 1..=999.
    pub fn bad_page_size(top: &str) -> Self {
        Self::bad_request(&format!(
            "Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
        ))
    }

    /// 400: a `$skiptoken` this emulator did not hand out (or for another user).
    pub fn expired_page_token() -> Self {
        err(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        )
    }

    /// 400: a query option the emulator does not model.
    pub fn unsupported_query(option: &str) -> Self {
        err(
            400,
            "Request_UnsupportedQuery",
            &format!("Unsupported Query. The emulator does not implement '{option}'."),
        )
    }

    /// 400: an unknown path segment.
    pub fn segment_not_found(segment: &str) -> Self {
        err(
            400,
            "BadRequest",
            &format!("Resource not found for the segment '{segment}'."),
        )
    }

    /// 405: a known path with the wrong method.
    pub fn method_not_allowed(method: &str) -> Self {
        err(
            405,
            "Request_BadRequest",
            &format!("Specified HTTP method '{method}' is not allowed for the request uri."),
        )
    }

    /// 400: a POST body that is not JSON.
    pub fn unreadable_body() -> Self {
        err(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    }

    /// 404: no such user (or one in another tenant).
    pub fn no_such_object(id: &str) -> Self {
        err(
            404,
            "Request_ResourceNotFound",
            &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    /// An injected failure with this status.
    pub fn injected(status: u16, retry_after: Option<u32>) -> Self {
        let mut e = match status {
            401 => Self::invalid_token(""),
            403 => Self::denied(),
            404 => Self::no_such_object("me"),
            429 => err(429, "TooManyRequests", "Please retry again later."),
            503 => err(
                503,
                "serviceNotAvailable",
                "The service is temporarily unavailable. You may repeat the request after a delay.",
            ),
            s if s >= 500 => err(s, "generalException", "An unspecified error has occurred."),
            s => err(s, "BadRequest", "The request is malformed or incorrect."),
        };
        e.retry_after = retry_after.or(matches!(status, 429 | 503).then_some(1));
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> GraphIds {
        GraphIds {
            request_id: "r-1".into(),
            client_request_id: "c-1".into(),
            now: 1_709_210_096,
        }
    }

    #[test]
    fn error_body_and_headers_have_graph_shape() {
        let resp = GraphError::denied().response(&ids());
        assert_eq!(resp.status, 403);
        assert_eq!(resp.header("request-id"), Some("r-1"));
        assert_eq!(resp.header("client-request-id"), Some("c-1"));
        let body: Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(
            body,
            json!({"error": {
                "code": "Authorization_RequestDenied",
                "message": "Insufficient privileges to complete the operation.",
                "innerError": {"date": "2024-02-29T12:34:56", "request-id": "r-1", "client-request-id": "c-1"},
            }})
        );
    }

    #[test]
    fn injected_statuses_table() {
        // (status, explicit Retry-After, code, Retry-After header, WWW-Authenticate present)
        let cases = [
            (429, None, "TooManyRequests", Some("1"), false),
            (429, Some(7), "TooManyRequests", Some("7"), false),
            (503, None, "serviceNotAvailable", Some("1"), false),
            (500, None, "generalException", None, false),
            (401, None, "InvalidAuthenticationToken", None, true),
            (403, None, "Authorization_RequestDenied", None, false),
            (400, None, "BadRequest", None, false),
        ];
        for (status, retry, code, header, www) in cases {
            let e = GraphError::injected(status, retry);
            let resp = e.response(&ids());
            assert_eq!((resp.status, e.code), (status, code), "{status}");
            assert_eq!(resp.header("retry-after"), header, "{status}");
            assert_eq!(resp.header("www-authenticate").is_some(), www, "{status}");
        }
    }

    #[test]
    fn client_request_id_is_echoed_or_defaults_to_request_id() {
        let with = Request {
            headers: vec![("client-request-id".into(), "mine".into())],
            ..Request::default()
        };
        assert_eq!(GraphIds::new(&with, 0).client_request_id, "mine");
        let ids = GraphIds::new(&Request::default(), 0);
        assert_eq!(ids.client_request_id, ids.request_id);
    }
}
