//! A small upstream app for Envoy to proxy to: it records every request it receives and answers
//! with a page showing the identity the filter passed on.
//!
//! `GET` anything → 200 HTML "Signed in as <X-Forwarded-User> / <X-Forwarded-Email>" with a table
//! of the identity headers; `/headers` (or `Accept: application/json`) → the same as JSON.
//! Token-bearing values (Authorization, Cookie, anything named `*token*`) are shown only by their
//! first 12 characters: the page is a demo and may end up in a screenshot or a log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::json;

/// How many characters of a secret header value the page shows.
const SECRET_PREFIX_CHARS: usize = 12;

/// One request as the upstream saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// Every header in arrival order, names as sent (Envoy lower-cases them).
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of a header, name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A running upstream on 127.0.0.1; stops when dropped.
pub struct Upstream {
    port: u16,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Upstream {
    /// Starts on 127.0.0.1 with an ephemeral port.
    pub fn start() -> Upstream {
        Upstream::start_on(0).unwrap_or_else(|e| panic!("upstream: cannot listen: {e}"))
    }

    /// Starts on 127.0.0.1:`port` (0 = ephemeral). One thread per connection, so any number
    /// of parallel requests is answered (tiny_http stalled under 30 parallel connections).
    pub fn start_on(port: u16) -> Result<Upstream, String> {
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let requests: Arc<Mutex<Vec<RecordedRequest>>> = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let log = requests.clone();
        let handler: crate::http::Handler = Arc::new(move |req: crate::http::Request| {
            let path = if req.query.is_empty() {
                req.path.clone()
            } else {
                format!("{}?{}", req.path, req.query)
            };
            let recorded = RecordedRequest {
                method: req.method.clone(),
                path,
                headers: req.headers.clone(),
                body: req.body.clone(),
            };
            let (content_type, page) = render(&recorded);
            log.lock().unwrap_or_else(|p| p.into_inner()).push(recorded);
            crate::http::Reply::Respond(crate::http::Response::new(200, content_type, page))
        });
        let acceptor = crate::http::serve(listener, stopping.clone(), handler);
        Ok(Upstream {
            port,
            requests,
            stopping,
            acceptor: Some(acceptor),
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    /// How many requests were received.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// The most recent request.
    pub fn last(&self) -> Option<RecordedRequest> {
        self.lock().last().cloned()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

pub fn render(req: &RecordedRequest) -> (&'static str, String) {
    let wants_json = req.path == "/headers"
        || req.path.starts_with("/headers?")
        || req
            .header("accept")
            .is_some_and(|a| a.contains("application/json"));
    if wants_json {
        ("application/json", render_json(req).to_string())
    } else {
        ("text/html; charset=utf-8", render_html(req))
    }
}

/// Headers that carry identity (what the filter adds, or must strip).
fn is_identity_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("x-forwarded-") || n.starts_with("x-auth-request-") || n == "authorization"
}

/// Header values that must never appear in full on the page.
fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization" || n == "cookie" || n.contains("token")
}

/// The value as shown: secrets cut to their first characters.
pub fn shown_value(name: &str, value: &str) -> String {
    if is_secret_header(name) && value.chars().count() > SECRET_PREFIX_CHARS {
        let prefix: String = value.chars().take(SECRET_PREFIX_CHARS).collect();
        format!("{prefix}… ({} chars)", value.chars().count())
    } else {
        value.to_string()
    }
}

fn identity(req: &RecordedRequest) -> Vec<(String, String)> {
    req.headers
        .iter()
        .filter(|(n, _)| is_identity_header(n))
        .map(|(n, v)| (n.to_ascii_lowercase(), shown_value(n, v)))
        .collect()
}

fn render_json(req: &RecordedRequest) -> serde_json::Value {
    let pairs = |list: Vec<(String, String)>| -> Vec<serde_json::Value> {
        list.into_iter().map(|(n, v)| json!([n, v])).collect()
    };
    json!({
        "method": req.method,
        "path": req.path,
        "user": req.header("x-forwarded-user"),
        "email": req.header("x-forwarded-email"),
        "authorization_present": req.header("authorization").is_some(),
        "identity_headers": pairs(identity(req)),
        "headers": pairs(req.headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), shown_value(n, v))).collect()),
    })
}

fn render_html(req: &RecordedRequest) -> String {
    let user = req.header("x-forwarded-user").unwrap_or("(none)");
    let email = req.header("x-forwarded-email").unwrap_or("(none)");
    let rows: String = identity(req)
        .iter()
        .map(|(n, v)| format!("<tr><td>{}</td><td>{}</td></tr>\n", escape(n), escape(v)))
        .collect();
    let auth = if req.header("authorization").is_some() {
        "present"
    } else {
        "absent"
    };
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>demo upstream</title>\n\
         <link rel=\"icon\" href=\"data:,\"></head>\n\
         <body>\n<h1 id=\"whoami\">Signed in as {} / {}</h1>\n\
         <p>Request: <code>{} {}</code></p>\n<p id=\"authorization\">Authorization header: {auth}</p>\n\
         <table id=\"identity\">\n<tr><th>header</th><th>value</th></tr>\n{rows}</table>\n\
         <p><a href=\"/oauth2/sign_out\">Sign out</a></p>\n</body></html>\n",
        escape(user),
        escape(email),
        escape(&req.method),
        escape(&req.path),
    )
}

/// HTML-escapes text: header values are attacker-controlled input.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, headers: &[(&str, &str)]) -> RecordedRequest {
        RecordedRequest {
            method: "GET".into(),
            path: path.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: vec![],
        }
    }

    #[test]
    fn shown_value_cuts_only_secrets() {
        let long = "eyJhbGciOiJSUzI1NiJ9.payload.signature";
        let cases = [
            (
                "authorization",
                "Bearer abcdefghijklmnop",
                "Bearer abcde… (23 chars)",
            ),
            ("X-Forwarded-Access-Token", long, "eyJhbGciOiJS… (38 chars)"),
            (
                "cookie",
                "_oauth2_proxy=secretsecret",
                "_oauth2_prox… (26 chars)",
            ),
            (
                "x-forwarded-user",
                "alice-with-a-long-name",
                "alice-with-a-long-name",
            ),
            ("authorization", "short", "short"),
        ];
        for (name, value, want) in cases {
            assert_eq!(shown_value(name, value), want, "{name}");
        }
    }

    #[test]
    fn html_names_the_user_and_escapes_header_values() {
        let r = req(
            "/x",
            &[
                ("x-forwarded-user", "<script>"),
                ("x-forwarded-email", "a@b.c"),
                ("host", "h"),
            ],
        );
        let (ct, page) = render(&r);
        assert!(ct.starts_with("text/html"));
        assert!(
            page.contains("Signed in as &lt;script&gt; / a@b.c"),
            "{page}"
        );
        assert!(!page.contains("<script>"));
        assert!(page.contains("Authorization header: absent"));
    }

    #[test]
    fn json_on_headers_path_or_accept() {
        let token = "Bearer 0123456789abcdefghij";
        for r in [
            req("/headers", &[("authorization", token)]),
            req(
                "/app",
                &[("accept", "application/json"), ("authorization", token)],
            ),
        ] {
            let (ct, body) = render(&r);
            assert_eq!(ct, "application/json");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["authorization_present"], true);
            assert_eq!(v["identity_headers"][0][1], "Bearer 01234… (27 chars)");
            assert!(!body.contains("abcdefghij"), "{body}");
        }
    }

    #[test]
    fn records_every_request_with_headers_in_order() {
        let up = Upstream::start();
        let resp = ureq::get(&format!("{}/headers?q=1", up.url()))
            .set("X-Forwarded-User", "alice")
            .set("X-Second", "2")
            .call()
            .unwrap();
        let v: serde_json::Value = resp.into_json().unwrap();
        assert_eq!(v["user"], "alice");
        assert_eq!(up.count(), 1);
        let got = up.last().unwrap();
        assert_eq!(
            (got.method.as_str(), got.path.as_str()),
            ("GET", "/headers?q=1")
        );
        let names: Vec<String> = got
            .headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        let user_at = names.iter().position(|n| n == "x-forwarded-user").unwrap();
        assert_eq!(names[user_at + 1], "x-second");
        up.clear();
        assert_eq!(up.count(), 0);
    }
}
