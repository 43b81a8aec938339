//! The request's cookies as forwarding needs them, read in one pass: the session's sealed value
//! (its chunks, borrowed) and the cookies that are not ours (to pass on). A signed-in browser
//! sends ~10 KB of cookies with every request, so they are scanned once, not once per question.

use crate::config::Config;
use crate::headers::cookie_pair;
use crate::session::chunks;
use crate::words;

use super::Request;

/// What one pass over every `Cookie` header found.
#[derive(Debug, Default)]
pub struct RequestCookies<'a> {
    /// The pieces of the session's sealed value, in order (see [`chunks::parts`]).
    pub session: Option<Vec<&'a str>>,
    /// Some cookie of ours (session, chunk, CSRF) was present.
    pub ours: bool,
    /// Every other cookie, trimmed, in order.
    pub others: Vec<&'a str>,
}

impl<'a> RequestCookies<'a> {
    /// Scan every `Cookie` header of `req` (HTTP/2 clients send one header per cookie).
    pub fn scan(config: &Config, req: &'a Request) -> Self {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let mut ours = false;
        let mut others = Vec::new();
        for (header, value) in &req.headers {
            if !is_cookie_header(header) {
                continue;
            }
            for piece in words::split(value, b';') {
                let trimmed = piece.trim();
                if trimmed.is_empty() {
                    continue;
                }
                match cookie_pair(trimmed) {
                    Some((name, value)) if is_our_cookie(config, name) => {
                        ours = true;
                        pairs.push((name, value));
                    }
                    _ => others.push(trimmed),
                }
            }
        }
        RequestCookies {
            session: chunks::parts(&config.cookie.name, pairs.into_iter()),
            ours,
            others,
        }
    }

    /// What forwarding does to the `Cookie` header so the upstream never sees our cookies.
    pub fn edit(&self) -> CookieEdit {
        match (self.ours, self.others.is_empty()) {
            (false, _) => CookieEdit::Keep,
            (true, true) => CookieEdit::Remove,
            (true, false) => CookieEdit::Set(self.others.join("; ")),
        }
    }
}

/// The `Cookie` header the upstream gets. It depends only on the request's `Cookie` header and
/// the cookie name, so a cached header can carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieEdit {
    /// None of our cookies were sent: nothing to change.
    Keep,
    /// Only ours were sent: the header goes.
    Remove,
    /// The other cookies, in order, without ours.
    Set(String),
}

/// The request's only `Cookie` header, when it has exactly one (what browsers send over
/// HTTP/1.1); `None` when it has none or several.
pub fn single_header(req: &Request) -> Option<&str> {
    lone_cookie(req.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
}

/// The value of the only `Cookie` header among `(name, value)` pairs, as text or as the bytes
/// the host handed over (the adapter asks before converting them). `None` for none or several:
/// the whole-header cache is keyed by one header's value.
pub fn lone_cookie<'a, V: ?Sized + 'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a V)>,
) -> Option<&'a V> {
    let mut found = None;
    for (name, value) in headers {
        if is_cookie_header(name) {
            if found.is_some() {
                return None;
            }
            found = Some(value);
        }
    }
    found
}

/// Whether a request header is a `Cookie` header.
pub fn is_cookie_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("cookie")
}

/// Whether a cookie name belongs to the filter: the session and its chunks, the CSRF cookie,
/// and per-request CSRF cookies.
pub fn is_our_cookie(config: &Config, cookie: &str) -> bool {
    let name = config.cookie.name.as_str();
    cookie == name
        || cookie
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|rest| {
                rest == "csrf"
                    || rest.starts_with("csrf_")
                    || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn config() -> Config {
        Config::from_json(
            br#"{"oidc_issuer_url":"https://login.microsoftonline.com/t/v2.0","client_id":"c","client_secret":"s",
                "cookie_secret":"0123456789abcdef","email_domains":"*","clusters":{"login.microsoftonline.com":"e"}}"#,
        )
        .unwrap()
    }

    fn request(cookie_headers: &[&str]) -> Request {
        let mut headers = vec![(":path".to_string(), "/".to_string())];
        headers.extend(
            cookie_headers
                .iter()
                .map(|v| ("cookie".to_string(), v.to_string())),
        );
        Request::new(headers)
    }

    #[test]
    fn the_upstream_gets_every_cookie_but_ours() {
        let config = config();
        let edit = |headers: &[&str]| RequestCookies::scan(&config, &request(headers)).edit();
        assert_eq!(edit(&[]), CookieEdit::Keep);
        assert_eq!(edit(&["theme=dark"]), CookieEdit::Keep);
        assert_eq!(
            edit(&["_oauth2_proxy_0=a; _oauth2_proxy_1=b; _oauth2_proxy_csrf=c"]),
            CookieEdit::Remove
        );
        assert_eq!(
            edit(&[
                "theme=dark; _oauth2_proxy=a",
                "lang=en;_oauth2_proxy_csrf_1=x"
            ]),
            CookieEdit::Set("theme=dark; lang=en".into())
        );
    }

    #[test]
    fn only_a_lone_cookie_header_is_a_cache_key() {
        assert_eq!(single_header(&request(&[])), None);
        assert_eq!(single_header(&request(&["a=1; b=2"])), Some("a=1; b=2"));
        assert_eq!(single_header(&request(&["a=1", "b=2"])), None);
        let mixed_case = Request::new(vec![("Cookie".into(), "a=1".into())]);
        assert_eq!(single_header(&mixed_case), Some("a=1"));
    }

    #[test]
    fn only_the_filters_own_cookies_are_recognised() {
        let config = Config::from_json(
            br#"{"oidc_issuer_url":"https://login.microsoftonline.com/t/v2.0","client_id":"c","client_secret":"s",
                "cookie_secret":"0123456789abcdef","email_domains":"*","clusters":{"login.microsoftonline.com":"e"}}"#,
        )
        .unwrap();
        for ours in [
            "_oauth2_proxy",
            "_oauth2_proxy_0",
            "_oauth2_proxy_12",
            "_oauth2_proxy_csrf",
            "_oauth2_proxy_csrf_0a1b2c3d",
        ] {
            assert!(is_our_cookie(&config, ours), "{ours}");
        }
        for theirs in [
            "_oauth2_proxyx",
            "_oauth2_proxy_",
            "_oauth2_proxy_1a",
            "_oauth2_proxy_session",
            "session",
            "oauth2_proxy",
        ] {
            assert!(!is_our_cookie(&config, theirs), "{theirs}");
        }
    }
}
