//! The request as the flow sees it.

use crate::headers::{header, parse_cookies};

/// Request headers, pseudo-headers included.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Every header in order, names as received.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// Wrap the request's headers.
    pub fn new(headers: Vec<(String, String)>) -> Self {
        Request { headers }
    }

    /// First value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// `:path` with query.
    pub fn path(&self) -> &str {
        self.header(":path").unwrap_or("/")
    }

    /// `:path` without query or fragment.
    pub fn path_only(&self) -> &str {
        let path = self.path();
        let end = path.find(['?', '#']).unwrap_or(path.len());
        path.get(..end).unwrap_or(path)
    }

    /// `:method`.
    pub fn method(&self) -> &str {
        self.header(":method").unwrap_or("GET")
    }

    /// `:authority` (host and optional port).
    pub fn authority(&self) -> &str {
        self.header(":authority")
            .or_else(|| self.header("host"))
            .unwrap_or("")
    }

    /// Host without port, for cookie domains.
    pub fn host(&self) -> &str {
        let authority = self.authority();
        if authority.starts_with('[') {
            return authority
                .split(']')
                .next()
                .map(|h| h.trim_start_matches('['))
                .unwrap_or("");
        }
        authority.split(':').next().unwrap_or(authority)
    }

    /// Scheme the client used: `x-forwarded-proto` when a front proxy set it, else `:scheme`.
    pub fn scheme(&self) -> &str {
        match self.header("x-forwarded-proto") {
            Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
            Some(proto) if proto.eq_ignore_ascii_case("http") => "http",
            _ => self.header(":scheme").unwrap_or("https"),
        }
    }

    /// A query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.path().split_once('?')?.1;
        let query = query.split('#').next().unwrap_or(query);
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// Every cookie from every `Cookie` header.
    pub fn cookies(&self) -> Vec<(String, String)> {
        parse_cookies(&self.headers)
    }

    /// Envoy's `x-request-id`, so error pages and logs can be matched to access logs.
    pub fn request_id(&self) -> &str {
        self.header("x-request-id")
            .filter(|id| id.len() <= 128)
            .unwrap_or("-")
    }

    /// Whether the client wants JSON rather than a page: XHR, or an Accept header that prefers
    /// JSON and does not ask for HTML.
    pub fn wants_json(&self) -> bool {
        if self
            .header("x-requested-with")
            .is_some_and(|v| v.eq_ignore_ascii_case("xmlhttprequest"))
        {
            return true;
        }
        let accept = self.header("accept").unwrap_or("").to_ascii_lowercase();
        accept.contains("application/json") && !accept.contains("text/html")
    }
}
