//! `skip_auth_routes`: requests that pass without a session (health checks, public assets).

use regex_lite::Regex;

use super::reader::Reader;

/// One `skip_auth_routes` entry: `METHOD=regex` or just `regex` (any method), as oauth2-proxy.
#[derive(Debug, Clone)]
pub struct RouteRule {
    /// Upper-case method, or None for any.
    pub method: Option<String>,
    /// Matched against the path without query.
    pub path: Regex,
}

impl RouteRule {
    /// Whether a request matches.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.is_match(path)
    }
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// Read `skip_auth_routes`.
pub fn read_skip_routes(r: &mut Reader) -> Vec<RouteRule> {
    let mut out = Vec::new();
    for entry in r.list("skip_auth_routes") {
        let (method, pattern) = match entry.split_once('=') {
            Some((m, p)) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => {
                (Some(m.to_ascii_uppercase()), p)
            }
            _ => (None, entry.as_str()),
        };
        // An unanchored pattern like "/health" would also match "/admin/x?health": anchor at
        // the start, as oauth2-proxy users usually (and mistakenly) assume it is.
        let anchored = if pattern.starts_with('^') {
            pattern.to_string()
        } else {
            format!("^{pattern}")
        };
        match Regex::new(&anchored) {
            Ok(path) => out.push(RouteRule { method, path }),
            Err(e) => r.problem(
                "skip_auth_routes",
                format!("{entry:?} is not a valid regular expression: {e}"),
            ),
        }
    }
    out
}
