//! One scripted sign-in through Envoy and the emulator, the way a browser does it, with its wall
//! time and the callouts it caused:
//!
//! 1. GET a protected page on Envoy → 302 to the emulator's authorize endpoint;
//! 2. POST the emulator's login form for one user → 302 to Envoy's callback;
//! 3. GET the callback → Envoy redeems the code (a callout to the token endpoint) → 302 back;
//! 4. GET the page again with the new cookies → 200.
//!
//! The same script signs in through entra-proxy-wasm and through Envoy's oauth2 filter.

use std::time::{Duration, Instant};

use entra_proxy_tests::client::{Client, Reply};
use entra_proxy_tests::emulator::{Counts, Emulator};

use crate::users::PASSWORD;

/// The protected page every sign-in starts from.
pub const START_PATH: &str = "/bench";

/// What one sign-in took.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// The cookie jar afterwards.
    pub jar: Client,
    /// First GET → final 200.
    pub wall: Duration,
    /// The part of `wall` spent waiting for Envoy (steps 1, 3 and 4; step 3 includes the code
    /// redemption callout), i.e. without the identity provider's login page.
    pub proxy: Duration,
    /// Requests the proxy made to the identity provider during the sign-in (the emulator counts
    /// them; authorize requests are the browser's and not included).
    pub callouts: Callouts,
}

/// Requests to the emulator's back-channel endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Callouts {
    /// Token endpoint (code redemption).
    pub token: u64,
    /// JWKS.
    pub jwks: u64,
    /// Discovery document.
    pub discovery: u64,
    /// Microsoft Graph (group overage).
    pub graph: u64,
}

impl Callouts {
    fn between(before: Counts, after: Counts) -> Callouts {
        Callouts {
            token: after.token - before.token,
            jwks: after.jwks - before.jwks,
            discovery: after.discovery - before.discovery,
            graph: after.graph - before.graph,
        }
    }

    /// `2 (token 1, graph 1)`: the total and every kind that happened.
    pub fn describe(&self) -> String {
        let kinds = [
            ("token", self.token),
            ("jwks", self.jwks),
            ("discovery", self.discovery),
            ("graph", self.graph),
        ];
        let parts: Vec<String> = kinds
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        format!("{} ({})", self.total(), parts.join(", "))
    }

    /// All of them.
    pub fn total(&self) -> u64 {
        self.token + self.jwks + self.discovery + self.graph
    }
}

/// Signs `username` in through the listener at `base` (`http://127.0.0.1:PORT`).
pub fn sign_in(entra: &Emulator, base: &str, username: &str) -> Result<SignIn, String> {
    let mut jar = Client::new();
    let before = entra.counts();
    let started = Instant::now();
    let mut proxy = Duration::ZERO;

    let t = Instant::now();
    let first = jar.get_url(&format!("{base}{START_PATH}"), &[]);
    proxy += t.elapsed();
    let authorize = redirect_target(&first, base, "the protected page")?;
    if !authorize.starts_with(&entra.base_url()) {
        return Err(format!(
            "expected a redirect to the emulator, got {authorize}"
        ));
    }

    let callback = post_login(&authorize, username)?;

    let t = Instant::now();
    let back = jar.get_url(&callback, &[]);
    proxy += t.elapsed();
    let page = redirect_target(&back, base, "the callback")?;

    let t = Instant::now();
    let last = jar.get_url(&page, &[]);
    proxy += t.elapsed();
    let wall = started.elapsed();
    if last.status != 200 {
        return Err(format!(
            "signed-in request answered {}: {}",
            last.status,
            snippet(&last.body)
        ));
    }
    Ok(SignIn {
        jar,
        wall,
        proxy,
        callouts: Callouts::between(before, entra.counts()),
    })
}

/// Posts the emulator's login form for the authorize request `authorize_url`; returns where the
/// emulator sends the browser (the proxy's callback with code and state).
fn post_login(authorize_url: &str, username: &str) -> Result<String, String> {
    let url = url::Url::parse(authorize_url).map_err(|e| format!("{authorize_url}: {e}"))?;
    let action = format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().map(|p| format!(":{p}")).unwrap_or_default()
    ) + url.path();
    // The form carries the original authorize parameters in `ctx`, as the emulator's page does.
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("ctx", url.query().unwrap_or(""))
        .append_pair("username", username)
        .append_pair("password", PASSWORD)
        .finish();
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .redirects(0)
        .build();
    let response = match agent
        .post(&action)
        .set("content-type", "application/x-www-form-urlencoded")
        .send_string(&body)
    {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(format!("POST {action}: {e}")),
    };
    let status = response.status();
    match response.header("location") {
        Some(location) if status == 302 => Ok(location.to_string()),
        _ => Err(format!(
            "login for {username} answered {status}: {}",
            snippet(&response.into_string().unwrap_or_default())
        )),
    }
}

/// The absolute target of a 302.
fn redirect_target(reply: &Reply, base: &str, what: &str) -> Result<String, String> {
    match (reply.status, reply.header("location")) {
        (302, Some(loc)) if loc.starts_with('/') => Ok(format!("{base}{loc}")),
        (302, Some(loc)) => Ok(loc.to_string()),
        (status, _) => Err(format!(
            "{what} answered {status} instead of a redirect: {}",
            snippet(&reply.body)
        )),
    }
}

fn snippet(body: &str) -> String {
    body.chars().take(300).collect()
}

/// The `Cookie` header a browser sends for the cookies whose names `keep` accepts, in jar order.
pub fn cookie_header(jar: &Client, keep: impl Fn(&str) -> bool) -> String {
    jar.cookies
        .iter()
        .filter(|(name, _)| keep(name))
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// entra-proxy-wasm's session cookie or one of its chunks (not the CSRF cookie).
pub fn is_session_cookie(name: &str) -> bool {
    name == "_oauth2_proxy"
        || name
            .strip_prefix("_oauth2_proxy_")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The cookies Envoy's oauth2 filter checks on every request.
pub fn is_oauth2_cookie(name: &str) -> bool {
    matches!(
        name,
        "BearerToken" | "OauthHMAC" | "OauthExpires" | "IdToken" | "RefreshToken"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callouts_name_only_what_happened() {
        let c = Callouts {
            token: 1,
            graph: 2,
            ..Callouts::default()
        };
        assert_eq!(c.describe(), "3 (token 1, graph 2)");
        assert_eq!(Callouts::default().describe(), "0 ()");
    }

    #[test]
    fn cookie_filters_keep_only_the_session() {
        let cases = [
            ("_oauth2_proxy", true, false),
            ("_oauth2_proxy_0", true, false),
            ("_oauth2_proxy_12", true, false),
            ("_oauth2_proxy_csrf", false, false),
            ("_oauth2_proxy_", false, false),
            ("ESTSAUTH", false, false),
            ("BearerToken", false, true),
            ("OauthHMAC", false, true),
            ("OauthNonce", false, false),
            ("CodeVerifier", false, false),
        ];
        for (name, session, oauth2) in cases {
            assert_eq!(is_session_cookie(name), session, "{name}");
            assert_eq!(is_oauth2_cookie(name), oauth2, "{name}");
        }
    }

    #[test]
    fn cookie_header_joins_kept_cookies_in_order() {
        let mut jar = Client::new();
        jar.set("_oauth2_proxy_0", "a");
        jar.set("ESTSAUTH", "x");
        jar.set("_oauth2_proxy_1", "b");
        assert_eq!(
            cookie_header(&jar, is_session_cookie),
            "_oauth2_proxy_0=a; _oauth2_proxy_1=b"
        );
    }

    #[test]
    fn redirect_target_resolves_relative_locations() {
        let reply = |status, loc: &str| Reply {
            status,
            headers: vec![("location".into(), loc.into())],
            body: String::new(),
        };
        assert_eq!(
            redirect_target(&reply(302, "/x?y=1"), "http://h:1", "t").unwrap(),
            "http://h:1/x?y=1"
        );
        assert_eq!(
            redirect_target(&reply(302, "http://o/p"), "http://h:1", "t").unwrap(),
            "http://o/p"
        );
        assert!(redirect_target(&reply(403, "/x"), "http://h:1", "t").is_err());
    }
}
