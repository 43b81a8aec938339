//! A scripted browser for end-to-end tests: plain HTTP with a cookie jar and no automatic
//! redirects, so every hop of a sign-in can be inspected.

use std::time::Duration;

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
}

impl Reply {
    /// First value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Cookies by name (one origin: the tests use 127.0.0.1 only).
#[derive(Debug, Default, Clone)]
pub struct Client {
    /// Current cookies.
    pub cookies: Vec<(String, String)>,
}

impl Client {
    /// An empty jar.
    pub fn new() -> Client {
        Client::default()
    }

    /// The `Cookie` header value for the jar, if any.
    pub fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Set or replace one cookie.
    pub fn set(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(n, _)| n != name);
        self.cookies.push((name.to_string(), value.to_string()));
    }

    /// Value of a cookie.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// GET `url` with the jar and `extra` headers; `Set-Cookie` answers update the jar.
    pub fn get_url(&mut self, url: &str, extra: &[(&str, &str)]) -> Reply {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(20))
            .redirects(0)
            .build();
        let mut request = agent.get(url);
        if let Some(cookie) = self.cookie_header() {
            request = request.set("cookie", &cookie);
        }
        for (name, value) in extra {
            request = request.set(name, value);
        }
        let response = match request.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("GET {url}: {e}"),
        };
        let status = response.status();
        let mut headers = Vec::new();
        let mut names = response.headers_names();
        names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        names.sort_unstable();
        names.dedup();
        for name in names {
            for value in response.all(&name) {
                headers.push((name.to_ascii_lowercase(), value.to_string()));
            }
        }
        let body = response.into_string().unwrap_or_default();
        let reply = Reply {
            status,
            headers,
            body,
        };
        for cookie in reply.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                let expired = cookie.contains("Max-Age=0");
                self.cookies.retain(|(n, _)| n != name);
                if !expired && !value.is_empty() {
                    self.cookies.push((name.to_string(), value.to_string()));
                }
            }
        }
        reply
    }

    /// Follow redirects (relative ones against `base`) until a non-redirect, at most `limit`
    /// hops; returns every reply in order.
    pub fn follow(&mut self, url: &str, base: &str, limit: usize) -> Vec<Reply> {
        let mut replies = Vec::new();
        let mut next = url.to_string();
        for _ in 0..limit {
            let reply = self.get_url(&next, &[]);
            let location = reply.header("location").map(str::to_string);
            let redirect = matches!(reply.status, 301 | 302 | 303 | 307 | 308);
            replies.push(reply);
            match (redirect, location) {
                (true, Some(loc)) if loc.starts_with('/') => next = format!("{base}{loc}"),
                (true, Some(loc)) => next = loc,
                _ => return replies,
            }
        }
        panic!("more than {limit} redirects starting at {url}");
    }
}
