//! Open-redirect tricks through `rd`, `X-Auth-Request-Redirect` and the request path.

use super::*;

/// Where the browser is sent back to after sign-in, as the filter's callback page lives.
const APP_ORIGIN: &str = "https://app.example.com/oauth2/callback";

fn open_csrf(config: &Value, value: &str) -> CsrfState {
    CsrfState::open(&cipher_of(config), "_oauth2_proxy", value, START).expect("CSRF cookie opens")
}

/// The `return_to` sealed in the CSRF cookie of a sign-in started at `path`.
fn sealed_return_to(
    scenario: &Scenario,
    config: &Value,
    path: &str,
    extra: &[(&str, &str)],
) -> String {
    let reply = scenario.get_local(path, extra);
    assert_eq!(reply.status, 302, "{path}: {}", reply.body_text());
    let csrf = set_cookie_pair(&reply, "_oauth2_proxy_csrf").expect("CSRF cookie");
    open_csrf(config, &csrf).return_to
}

/// Whether a browser that follows `Location: target` from the callback stays on the app's own
/// origin or goes to an explicitly allowed host. Resolved with the WHATWG URL parser (the `url`
/// crate), which treats `\` as `/` and drops tabs and newlines exactly as browsers do.
fn lands_on_allowed_host(target: &str, allowed: &[&str]) -> bool {
    let Ok(base) = url::Url::parse(APP_ORIGIN) else {
        return false;
    };
    match base.join(target) {
        Ok(url) => {
            matches!(url.scheme(), "http" | "https")
                && url.username().is_empty()
                && url
                    .host_str()
                    .is_some_and(|h| h == "app.example.com" || allowed.contains(&h))
        }
        Err(_) => false,
    }
}

fn redirect_config() -> Value {
    config_with(json!({
        "whitelist_domains": ["app.example.com", ".trusted.example", "ports.example:8443"],
    }))
}

/// Hosts `redirect_config` admits for absolute targets.
const ALLOWED_HOSTS: &[&str] = &["sub.trusted.example", "trusted.example", "ports.example"];

/// `rd` values exactly as an attacker writes them into a link (the query is percent-decoded
/// once by the filter). Every one must end at "/".
const REDIRECT_TRICKS: &[&str] = &[
    // scheme-relative and slash games
    "//evil.com",
    "%2F%2Fevil.com",
    "///evil.com",
    "////evil.com",
    "%2F%2F%2Fevil.com",
    "//evil.com%2F%2E%2E",
    "//evil.com%252f%252e%252e",
    "/%252F%252Fevil.com",
    "/%252f/evil.com",
    "//app.example.com@evil.com",
    "//evil.com/https://app.example.com/",
    // backslashes (browsers read them as slashes), raw and encoded
    "/%5Cevil.com",
    "%5C%5Cevil.com",
    "/%5C/evil.com",
    "%5C/evil.com",
    "%5C%2F%5C%2Fevil.com",
    "%5C%5C%2F%5C%5C%2Fevil.com",
    "/%255Cevil.com",
    "http:%5C%5Cevil.com",
    "https:/%5Cevil.com",
    // whitespace and control characters (browsers strip tab/CR/LF inside URLs)
    "/%09/evil.com",
    "/%0A/evil.com",
    "/%0D/evil.com",
    "%09//evil.com",
    "%20//evil.com",
    "+//evil.com",
    "/%00//evil.com",
    "%00//evil.com",
    "/%0B/evil.com",
    "/%7F/evil.com",
    // dangerous schemes
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    "%6Aavascript:alert(1)",
    "java%09script:alert(1)",
    "%20javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://app.example.com/",
    // malformed or unlisted absolute URLs
    "https:evil.com",
    "https:/evil.com",
    "https:%2F%2Fevil.com",
    "https:///evil.com",
    "https://evil.com",
    "http://evil.com/",
    "HTTPS://EVIL.COM/",
    "evil.com",
    ".evil.com",
    "https://app.example.com.evil.com/",
    "https://APP.EXAMPLE.COM.evil.com/",
    "https://eviltrusted.example/",
    "https://trusted.example.evil.com/",
    "https://evil.com/https://app.example.com/",
    "https://evil.com?https://app.example.com/",
    "https://evil.com#https://app.example.com/",
    "https://evil.com%2F.app.example.com/",
    "https://evil.com%252F.app.example.com/",
    // userinfo `@`
    "https://app.example.com@evil.com/",
    "https://app.example.com%40evil.com/",
    "https://app.example.com%2540evil.com/",
    "https://app.example.com:443@evil.com/",
    "https://user:pass@app.example.com/",
    "https://evil.com%23@app.example.com/",
    "https://evil.com%3F@app.example.com/",
    "https://evil.com%5C@app.example.com/",
    // ports and trailing dots
    "https://app.example.com:8443/",
    "https://ports.example/",
    "https://ports.example:9443/",
    "https://evil.com:443/",
    "https://app.example.com./",
    "https://evil.com./",
    // IDN, punycode, fullwidth characters and lookalike dots
    "https://xn--pple-43d.com/",
    "https://%D0%B0pp.example.com/",
    "https://app.example.com%E3%80%82evil.com/",
    "%EF%BC%8F%EF%BC%8Fevil.com",
    "/%EF%BC%8Fevil.com",
    "https://app%E2%80%A4example.com/",
    // NUL, tab and newline inside absolute URLs
    "https://app.example.com%00.evil.com/",
    "https://app.example.com%09.evil.com/",
    "https://evil.com%0A.app.example.com/",
    // numeric and IPv6 hosts
    "https://2130706433/",
    "https://0x7f.0.0.1/",
    "https://[::1]/",
];

/// Targets that must pass unchanged.
const ALLOWED_TARGETS: &[(&str, &str)] = &[
    ("%2Fdashboard%3Ftab%3D1", "/dashboard?tab=1"),
    ("/reports/2024", "/reports/2024"),
    ("/a/b//c", "/a/b//c"),
    ("/search%3Fq%3D%252F%252Fx", "/search?q=%2F%2Fx"),
    (
        "https%3A%2F%2Fapp.example.com%2Fx",
        "https://app.example.com/x",
    ),
    (
        "https://APP.Example.com/Mixed",
        "https://APP.Example.com/Mixed",
    ),
    ("http://app.example.com/", "http://app.example.com/"),
    ("https://trusted.example/", "https://trusted.example/"),
    (
        "https://sub.trusted.example/p?q=1",
        "https://sub.trusted.example/p?q=1",
    ),
    (
        "https://ports.example:8443/x",
        "https://ports.example:8443/x",
    ),
];

/// Same-origin relative paths that look like hosts: harmless (they stay on this host), so the
/// filter may keep them or fall back to "/".
const LOOKALIKE_PATHS: &[&str] = &["/.evil.com", "/evil.com", "/%2e%2e/evil.com", "/@evil.com"];

#[test]
fn open_redirect_tricks_through_start_and_sign_out_all_end_at_the_root() {
    assert!(REDIRECT_TRICKS.len() >= 50, "{}", REDIRECT_TRICKS.len());
    let config = redirect_config();
    let scenario = ready(config.clone());
    for raw in REDIRECT_TRICKS {
        let start = sealed_return_to(&scenario, &config, &format!("/oauth2/start?rd={raw}"), &[]);
        assert_eq!(start, "/", "start rd={raw}");
        let out = scenario.get_local(&format!("/oauth2/sign_out?rd={raw}"), &[]);
        assert_eq!(out.status, 302, "sign_out rd={raw}");
        assert_eq!(out.header("location"), Some("/"), "sign_out rd={raw}");
    }
}

#[test]
fn allowed_redirect_targets_pass_unchanged_and_lookalike_paths_stay_on_this_host() {
    let config = redirect_config();
    let scenario = ready(config.clone());
    for (raw, want) in ALLOWED_TARGETS {
        let start = sealed_return_to(&scenario, &config, &format!("/oauth2/start?rd={raw}"), &[]);
        assert_eq!(start, *want, "start rd={raw}");
        let out = scenario.get_local(&format!("/oauth2/sign_out?rd={raw}"), &[]);
        assert_eq!(out.header("location"), Some(*want), "sign_out rd={raw}");
        assert!(lands_on_allowed_host(want, ALLOWED_HOSTS), "{want}");
    }
    for raw in LOOKALIKE_PATHS {
        let start = sealed_return_to(&scenario, &config, &format!("/oauth2/start?rd={raw}"), &[]);
        assert!(
            lands_on_allowed_host(&start, &[]),
            "start rd={raw} → {start}"
        );
        let out = scenario.get_local(&format!("/oauth2/sign_out?rd={raw}"), &[]);
        let location = out.header("location").unwrap_or_default();
        assert!(
            lands_on_allowed_host(location, &[]),
            "sign_out rd={raw} → {location}"
        );
    }
}

#[test]
fn the_x_auth_request_redirect_header_is_validated_like_rd() {
    let config = redirect_config();
    let scenario = ready(config.clone());
    for (value, want) in [
        ("//evil.com", "/"),
        ("/\\evil.com", "/"),
        ("https://evil.com/", "/"),
        ("javascript:alert(1)", "/"),
        ("/next", "/next"),
        (
            "https://sub.trusted.example/",
            "https://sub.trusted.example/",
        ),
    ] {
        let header = [("x-auth-request-redirect", value)];
        let start = sealed_return_to(&scenario, &config, "/oauth2/start", &header);
        assert_eq!(start, want, "{value}");
        let out = scenario.get_local("/oauth2/sign_out", &header);
        assert_eq!(out.header("location"), Some(want), "{value}");
    }
}

#[test]
fn an_oversized_rd_ends_at_the_root() {
    let config = redirect_config();
    let scenario = ready(config.clone());
    let long = format!("/{}", "a".repeat(64 * 1024));
    let start = sealed_return_to(&scenario, &config, &format!("/oauth2/start?rd={long}"), &[]);
    assert_eq!(start, "/");
}

/// The request path of an unauthenticated browser becomes the post-sign-in target when
/// `skip_provider_button` is on. Envoy forwards `//evil.com` as the path unless
/// `merge_slashes`/`normalize_path` are set (both off by default), so the callback would send
/// the browser to `Location: //evil.com`.
#[test]
fn an_unauthenticated_path_that_is_a_scheme_relative_url_is_not_an_open_redirect() {
    let config = base_config();
    for path in [
        "//evil.com",
        "//evil.com/%2F..",
        "/\\evil.com",
        "///evil.com/x",
    ] {
        let scenario = ready(config.clone());
        let return_to = sealed_return_to(&scenario, &config, path, &[]);
        assert!(
            lands_on_allowed_host(&return_to, &[]),
            "GET {path} would return to {return_to:?}"
        );
        let reply = scenario.sign_in(path, |_| {});
        let location = reply.header("location").unwrap_or_default();
        assert!(
            lands_on_allowed_host(location, &[]),
            "callback after GET {path}: Location {location:?}"
        );
    }
}
