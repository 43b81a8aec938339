//! Host-shim attack scenarios: the real filter on a pinned clock and RNG, fed hostile input —
//! open-redirect tricks, forged and spliced cookies, replayed state, forged ID tokens, spoofed
//! identity headers and oversized requests. Every answer must be a clean refusal (or a fresh
//! sign-in), never a forwarded request with a forged identity, and never a panic (a panic in
//! the filter aborts this whole test binary).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use entra_proxy_tests::scenario::*;
use entra_proxy_tests::test_idp::{self, TestKey, ALICE_OID};
use entra_proxy_wasm::config::Config;
use entra_proxy_wasm::session::csrf::CsrfState;
use entra_proxy_wasm::session::Session;
use hmac::{Hmac, Mac};
use host_shim::{Action, HttpCall, LocalResponse, Stream};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1v15::SigningKey as RsaSigner;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A second 32-byte cookie secret (base64), the "new" one in rotation tests.
const NEW_SECRET: &str = "bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQ=";

/// Where the browser is sent back to after sign-in, as the filter's callback page lives.
const APP_ORIGIN: &str = "https://app.example.com/oauth2/callback";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn cipher_of(config: &Value) -> entra_proxy_wasm::session::crypto::CookieCipher {
    Config::from_json(config.to_string().as_bytes())
        .expect("valid config")
        .cipher
}

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

// ----- open redirect -------------------------------------------------------------------------

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
    let scenario = Scenario::ready(config.clone());
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
    let scenario = Scenario::ready(config.clone());
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
    let scenario = Scenario::ready(config.clone());
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
    let scenario = Scenario::ready(config.clone());
    let long = format!("/{}", "a".repeat(64 * 1024));
    let start = sealed_return_to(&scenario, &config, &format!("/oauth2/start?rd={long}"), &[]);
    assert_eq!(start, "/");
}

/// The request path of an unauthenticated browser becomes the post-sign-in target when
/// `skip_provider_button` is on. Envoy forwards `//evil.com` as the path unless
/// `merge_slashes`/`normalize_path` are set (both off by default), so the callback would send
/// the browser to `Location: //evil.com`.
#[test]
#[ignore = "bug: the unauthenticated request path is sealed as return_to without validate_redirect (flow/signin.rs unauthenticated → begin), so GET //evil.com ends at Location: //evil.com after sign-in"]
fn an_unauthenticated_path_that_is_a_scheme_relative_url_is_not_an_open_redirect() {
    let config = base_config();
    for path in [
        "//evil.com",
        "//evil.com/%2F..",
        "/\\evil.com",
        "///evil.com/x",
    ] {
        let scenario = Scenario::ready(config.clone());
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

// ----- session cookies -----------------------------------------------------------------------

/// Asserts that `cookie` gets a fresh sign-in (302 to the authorize endpoint) and nothing is
/// forwarded.
fn assert_fresh_sign_in(scenario: &Scenario, cookie: &str, what: &str) {
    let (stream, action) = scenario.request("GET", "/private", &[("cookie", cookie)]);
    assert_eq!(action, Action::Pause, "{what}: must not be forwarded");
    let reply = stream
        .local_response()
        .unwrap_or_else(|| panic!("{what}: no reply"));
    assert_eq!(reply.status, 302, "{what}");
    let location = reply.header("location").unwrap_or_default();
    assert!(
        location.contains("/oauth2/v2.0/authorize?"),
        "{what}: {location}"
    );
}

fn assert_forwarded_as_alice(scenario: &Scenario, cookie: &str, what: &str) {
    let (stream, action) = scenario.request("GET", "/private", &[("cookie", cookie)]);
    assert_eq!(action, Action::Continue, "{what}");
    assert_eq!(
        stream.request_header_map().get_all("x-forwarded-user"),
        vec![ALICE_OID],
        "{what}"
    );
}

fn flip_char(c: u8) -> u8 {
    if c == b'A' {
        b'B'
    } else {
        b'A'
    }
}

#[test]
fn every_single_character_and_bit_flip_of_a_session_cookie_means_a_fresh_sign_in() {
    let scenario = Scenario::ready(base_config());
    let reply = scenario.sign_in("/", |_| {});
    let value = set_cookie_pair(&reply, "_oauth2_proxy").expect("session");
    assert_forwarded_as_alice(&scenario, &format!("_oauth2_proxy={value}"), "control");

    let mut tries = 0;
    for i in 0..value.len() {
        let mut bytes = value.clone().into_bytes();
        bytes[i] = flip_char(bytes[i]);
        let forged = String::from_utf8(bytes).expect("ascii");
        assert_fresh_sign_in(
            &scenario,
            &format!("_oauth2_proxy={forged}"),
            &format!("char {i}"),
        );
        tries += 1;
    }
    // Bit flips in the decoded bytes: nonce, ciphertext and tag alike.
    let raw = URL_SAFE_NO_PAD.decode(&value).expect("base64url");
    for j in 0..raw.len() {
        let mut forged = raw.clone();
        forged[j] ^= 1 << (j % 8);
        let cookie = format!("_oauth2_proxy={}", b64(&forged));
        assert_fresh_sign_in(&scenario, &cookie, &format!("byte {j} bit {}", j % 8));
        tries += 1;
    }
    // Truncated and extended values.
    for cut in [1, 2, 16, 17, 40, value.len() / 2, value.len() - 1] {
        let cookie = format!("_oauth2_proxy={}", &value[..value.len() - cut]);
        assert_fresh_sign_in(&scenario, &cookie, &format!("cut {cut}"));
        tries += 1;
    }
    for tail in ["A", "AA", "AAAA", "=", "==", "%3D"] {
        assert_fresh_sign_in(&scenario, &format!("_oauth2_proxy={value}{tail}"), tail);
        tries += 1;
    }
    assert_eq!(scenario.counter("entra_proxy.session.invalid"), tries);
    assert_eq!(scenario.counter("entra_proxy.session.valid"), 1);
}

/// 150 random-looking group ids: with the ID token kept for the Authorization header, the
/// session needs 4 cookie chunks.
fn many_groups(seed: u32) -> Vec<String> {
    (0..150u32)
        .map(|i| {
            let h: String = Sha256::digest((seed * 1000 + i).to_le_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        })
        .collect()
}

/// The chunk values of a chunked session, in index order.
fn chunk_values(reply: &LocalResponse) -> Vec<String> {
    (0..)
        .map_while(|i| set_cookie_pair(reply, &format!("_oauth2_proxy_{i}")))
        .collect()
}

fn jar(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn named(chunks: &[String]) -> Vec<(String, String)> {
    chunks
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("_oauth2_proxy_{i}"), v.clone()))
        .collect()
}

#[test]
fn reordered_dropped_spliced_or_extra_chunks_mean_a_fresh_sign_in() {
    let scenario = Scenario::ready(config_with(json!({"pass_authorization_header": true})));
    let a = chunk_values(&scenario.sign_in("/", |c| c["groups"] = json!(many_groups(1))));
    let b = chunk_values(&scenario.sign_in("/", |c| c["groups"] = json!(many_groups(2))));
    assert_eq!((a.len(), b.len()), (4, 4), "both sessions are chunked");

    // Controls: either session works, in any header order, and even joined into one cookie.
    assert_forwarded_as_alice(&scenario, &jar(&named(&a)), "A");
    assert_forwarded_as_alice(&scenario, &jar(&named(&b)), "B");
    let mut reversed = named(&a);
    reversed.reverse();
    assert_forwarded_as_alice(&scenario, &jar(&reversed), "A, cookies in reverse order");
    assert_forwarded_as_alice(
        &scenario,
        &format!("_oauth2_proxy={}", a.concat()),
        "A joined",
    );

    let swapped = vec![a[1].clone(), a[0].clone(), a[2].clone(), a[3].clone()];
    let values_reversed: Vec<String> = a.iter().rev().cloned().collect();
    let gap: Vec<(String, String)> = named(&a)
        .into_iter()
        .filter(|(n, _)| n != "_oauth2_proxy_1")
        .collect();
    let spliced_b1 = vec![a[0].clone(), b[1].clone(), a[2].clone(), a[3].clone()];
    let spliced_tail = vec![a[0].clone(), a[1].clone(), a[2].clone(), b[3].clone()];
    let spliced_head = vec![b[0].clone(), a[1].clone(), a[2].clone(), a[3].clone()];
    let mut extra = named(&a);
    extra.push(("_oauth2_proxy_4".into(), "AAAA".into()));
    let mut repeated = named(&a);
    repeated.push(("_oauth2_proxy_4".into(), a[3].clone()));
    let mut stale_whole = vec![("_oauth2_proxy".to_string(), b[0].clone())];
    stale_whole.extend(named(&a));
    let cases: Vec<(&str, String)> = vec![
        ("chunks 0 and 1 swapped", jar(&named(&swapped))),
        ("chunk values reversed", jar(&named(&values_reversed))),
        ("chunk 1 missing", jar(&gap)),
        ("last chunk missing", jar(&named(&a[..3]))),
        ("only chunk 0", jar(&named(&a[..1]))),
        ("chunk 1 from session B", jar(&named(&spliced_b1))),
        ("last chunk from session B", jar(&named(&spliced_tail))),
        ("first chunk from session B", jar(&named(&spliced_head))),
        ("an extra garbage chunk", jar(&extra)),
        ("the last chunk repeated as a fifth", jar(&repeated)),
        ("an unchunked cookie next to the chunks", jar(&stale_whole)),
    ];
    let invalid_before = scenario.counter("entra_proxy.session.invalid");
    for (what, cookie) in &cases {
        assert_fresh_sign_in(&scenario, cookie, what);
    }
    assert_eq!(
        scenario.counter("entra_proxy.session.invalid") - invalid_before,
        cases.len() as u64
    );
}

#[test]
fn a_valid_value_replayed_under_another_cookie_name_does_not_open() {
    let config = base_config();
    let scenario = Scenario::ready(config.clone());
    let redirect = scenario.get_local("/", &[]);
    let csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").expect("csrf");
    let reply = scenario.sign_in("/", |_| {});
    let session = set_cookie_pair(&reply, "_oauth2_proxy").expect("session");

    // A CSRF cookie is not a session, and a session is not a CSRF cookie.
    assert_fresh_sign_in(
        &scenario,
        &format!("_oauth2_proxy={csrf}"),
        "CSRF value as session",
    );
    let state =
        query_param(redirect.header("location").expect("location"), "state").expect("state");
    let reply = scenario.get_local(
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", &format!("_oauth2_proxy_csrf={session}"))],
    );
    assert_eq!(reply.status, 403, "session value as CSRF cookie");
    assert!(
        scenario.host.pending_calls().is_empty(),
        "no code is redeemed"
    );

    // Another app behind the same Envoy with the same secret but its own cookie name.
    let other = Scenario::ready(config_with(json!({"cookie_name": "_app_b"})));
    assert_fresh_sign_in(
        &other,
        &format!("_app_b={session}"),
        "session of app A in app B",
    );
    assert_fresh_sign_in(
        &other,
        &format!("_app_b_0={session}"),
        "as chunk 0 of app B",
    );
    let reply = other.get_local(
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", &format!("_app_b_csrf={csrf}"))],
    );
    assert_eq!(reply.status, 403, "CSRF cookie of app A in app B");
}

fn secrets(list: &[&str]) -> Value {
    config_with(json!({ "cookie_secret": list }))
}

#[test]
fn a_cookie_from_a_rotated_away_secret_means_a_fresh_sign_in() {
    let old = Scenario::ready(base_config());
    let cookie = cookie_header_from(&old.sign_in("/", |_| {}));
    let redirect = old.get_local("/", &[]);
    let csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").expect("csrf");
    let state =
        query_param(redirect.header("location").expect("location"), "state").expect("state");

    let rotated = Scenario::ready(secrets(&[NEW_SECRET]));
    assert_fresh_sign_in(&rotated, &cookie, "old session under [new]");
    assert_eq!(rotated.counter("entra_proxy.session.invalid"), 1);
    let reply = rotated.get_local(
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", &format!("_oauth2_proxy_csrf={csrf}"))],
    );
    assert_eq!(reply.status, 403, "old CSRF cookie under [new]");
}

#[test]
fn during_rotation_old_cookies_still_open_and_new_ones_are_sealed_with_the_newest_secret() {
    let old_config = base_config();
    let both = secrets(&[NEW_SECRET, COOKIE_SECRET]);
    let new_only = secrets(&[NEW_SECRET]);

    let old = Scenario::ready(old_config.clone());
    let old_cookie = set_cookie_pair(&old.sign_in("/", |_| {}), "_oauth2_proxy").expect("session");
    // A sign-in started before the rotation was deployed.
    let redirect = old.get_local("/", &[]);
    let old_csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").expect("csrf");
    let location = redirect.header("location").expect("location").to_string();

    let rotating = Scenario::ready(both.clone());
    assert_forwarded_as_alice(
        &rotating,
        &format!("_oauth2_proxy={old_cookie}"),
        "old under [new, old]",
    );
    // The attempt started under the old secret completes under [new, old] …
    let state = query_param(&location, "state").expect("state");
    let nonce = query_param(&location, "nonce").expect("nonce");
    let (stream, _) = rotating.request(
        "GET",
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", &format!("_oauth2_proxy_csrf={old_csrf}"))],
    );
    let call = rotating.only_call();
    let token = test_idp::sign(
        test_idp::key(0),
        &test_idp::alice_claims(rotating.now(), &nonce),
    );
    rotating.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response(&token).as_bytes(),
    );
    let reply = stream.local_response().expect("callback reply");
    assert_eq!(reply.status, 302, "{}", reply.body_text());
    // … and what it issues is sealed with the newest secret only.
    let issued = set_cookie_pair(&reply, "_oauth2_proxy").expect("session");
    assert!(Session::open(&cipher_of(&new_only), "_oauth2_proxy", &issued, START).is_ok());
    assert!(Session::open(&cipher_of(&old_config), "_oauth2_proxy", &issued, START).is_err());
    let fresh = set_cookie_pair(&rotating.sign_in("/", |_| {}), "_oauth2_proxy").expect("session");
    assert!(Session::open(&cipher_of(&new_only), "_oauth2_proxy", &fresh, START).is_ok());
    assert!(Session::open(&cipher_of(&old_config), "_oauth2_proxy", &fresh, START).is_err());

    // Once the old secret is dropped, what [new, old] issued still works.
    let done = Scenario::ready(new_only);
    assert_forwarded_as_alice(
        &done,
        &format!("_oauth2_proxy={issued}"),
        "issued under [new, old]",
    );
    assert_fresh_sign_in(
        &done,
        &format!("_oauth2_proxy={old_cookie}"),
        "old under [new]",
    );
}

#[test]
fn a_refresh_during_rotation_reseals_an_old_session_with_the_newest_secret() {
    let refresh = json!({"cookie_refresh": "1h", "scope": "openid email profile offline_access"});
    let mut old_config = config_with(refresh.clone());
    old_config["cookie_secret"] = json!(COOKIE_SECRET);
    let mut both = config_with(refresh);
    both["cookie_secret"] = json!([NEW_SECRET, COOKIE_SECRET]);

    let old = Scenario::ready(old_config.clone());
    old.host.tick();
    let reply = old.sign_in_with(
        "/",
        |_| {},
        |t| test_idp::token_response_with_refresh(t, "refresh-1"),
    );
    let cookie = cookie_header_from(&reply);

    let rotating = Scenario::ready(both);
    rotating.host.tick();
    rotating.host.advance(Duration::from_secs(3600));
    let (stream, action) = rotating.request("GET", "/due", &[("cookie", &cookie)]);
    assert_eq!(
        action,
        Action::Pause,
        "the old session is due for a refresh"
    );
    let call = rotating.only_call();
    assert!(
        call.body_text().contains("refresh_token=refresh-1"),
        "{}",
        call.body_text()
    );
    let mut claims = test_idp::alice_claims(rotating.now(), "unused");
    claims.as_object_mut().expect("object").remove("nonce");
    let token = test_idp::sign(test_idp::key(0), &claims);
    rotating.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response_with_refresh(&token, "refresh-2").as_bytes(),
    );
    assert!(stream.request_resumed());
    stream.response_headers(&[(":status", "200")], false);
    let resealed = stream
        .response_header_map()
        .get_all("set-cookie")
        .into_iter()
        .find_map(|c| {
            c.split(';')
                .next()?
                .strip_prefix("_oauth2_proxy=")
                .map(str::to_string)
        })
        .expect("refreshed cookie");
    let now = rotating.now();
    let new_only = {
        let mut c = old_config.clone();
        c["cookie_secret"] = json!(NEW_SECRET);
        c
    };
    let opened = Session::open(&cipher_of(&new_only), "_oauth2_proxy", &resealed, now)
        .expect("the refreshed cookie opens with the newest secret alone");
    assert_eq!(opened.refresh_token.as_deref(), Some("refresh-2"));
    assert!(Session::open(&cipher_of(&old_config), "_oauth2_proxy", &resealed, now).is_err());
}

// ----- state and CSRF ------------------------------------------------------------------------

/// Start a sign-in: (CSRF cookie value, state, nonce).
fn begin(scenario: &Scenario) -> (String, String, String) {
    let redirect = scenario.get_local("/", &[]);
    let csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").expect("csrf");
    let location = redirect.header("location").expect("location").to_string();
    (
        csrf,
        query_param(&location, "state").expect("state"),
        query_param(&location, "nonce").expect("nonce"),
    )
}

/// Send the callback and return (stream, token call) — the filter is waiting for the token
/// endpoint.
fn callback(scenario: &Scenario, csrf: &str, state: &str, code: &str) -> (Stream, HttpCall) {
    let (stream, action) = scenario.request(
        "GET",
        &format!("/oauth2/callback?code={code}&state={state}"),
        &[("cookie", &format!("_oauth2_proxy_csrf={csrf}"))],
    );
    assert_eq!(action, Action::Pause);
    (stream, scenario.only_call())
}

#[test]
fn a_replayed_callback_is_redeemed_again_and_refused_by_the_single_use_code() {
    let scenario = Scenario::ready(base_config());
    let (csrf, state, nonce) = begin(&scenario);
    let (stream, call) = callback(&scenario, &csrf, &state, "code-1");
    let first_body = call.body_text();
    let token = test_idp::sign(
        test_idp::key(0),
        &test_idp::alice_claims(scenario.now(), &nonce),
    );
    scenario.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response(&token).as_bytes(),
    );
    let reply = stream.local_response().expect("reply");
    assert_eq!(reply.status, 302);
    assert!(
        set_cookies(&reply)
            .iter()
            .any(|c| c.starts_with("_oauth2_proxy_csrf=; ")),
        "the browser's CSRF cookie is deleted after use"
    );

    // The filter keeps no server-side record of used states: an attacker who captured the
    // cookie and the callback URL makes it redeem the same code again, with the same PKCE
    // verifier. Entra refuses a code the second time (AADSTS54005), and so does the filter.
    let (stream, call) = callback(&scenario, &csrf, &state, "code-1");
    assert_eq!(
        call.body_text(),
        first_body,
        "the same code and verifier are sent"
    );
    let refusal = json!({
        "error": "invalid_grant",
        "error_description": "AADSTS54005: OAuth2 Authorization code was already redeemed.",
        "error_codes": [54005], "trace_id": "t", "correlation_id": "c"
    });
    scenario
        .host
        .respond(call.token, 400, &[], refusal.to_string().as_bytes());
    let reply = stream.local_response().expect("reply");
    assert_eq!(reply.status, 403);
    assert!(
        set_cookie_pair(&reply, "_oauth2_proxy").is_none(),
        "no session"
    );
    assert_eq!(scenario.counter("entra_proxy.callback.code_rejected"), 1);

    // The same state with another code is no better: the ID token's nonce binds the attempt,
    // so the first sign-in's ID token cannot be replayed into a new attempt either.
    let (csrf2, state2, _) = begin(&scenario);
    let (stream, call) = callback(&scenario, &csrf2, &state2, "code-2");
    scenario.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response(&token).as_bytes(),
    );
    assert_eq!(
        stream.local_response().expect("reply").status,
        403,
        "old ID token, new nonce"
    );
    assert_eq!(scenario.counter("entra_proxy.callback.id_token_invalid"), 1);
}

#[test]
fn missing_mixed_or_foreign_csrf_cookies_are_refused_without_redeeming_the_code() {
    let config = base_config();
    let scenario = Scenario::ready(config.clone());
    let (csrf_a, state_a, _) = begin(&scenario);
    let (csrf_b, state_b, _) = begin(&scenario);

    // A CSRF cookie with the victim's state, sealed by another deployment (other secret).
    let forged = |cipher_config: &Value, name: &str| {
        CsrfState {
            state: state_a.clone(),
            nonce: "n".into(),
            code_verifier: "v".repeat(43),
            return_to: "/".into(),
            expires_at: START + 600,
        }
        .seal(&cipher_of(cipher_config), name, [1u8; 24])
    };
    let other_secret = forged(&secrets(&[NEW_SECRET]), "_oauth2_proxy");
    let other_name = forged(&config, "_other");
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("no CSRF cookie", state_a.clone(), None),
        (
            "attempt B's cookie with attempt A's state",
            state_a.clone(),
            Some(csrf_b.clone()),
        ),
        (
            "attempt A's cookie with attempt B's state",
            state_b.clone(),
            Some(csrf_a.clone()),
        ),
        (
            "sealed with another secret",
            state_a.clone(),
            Some(other_secret),
        ),
        (
            "sealed for another cookie name",
            state_a.clone(),
            Some(other_name),
        ),
        ("empty CSRF cookie", state_a.clone(), Some(String::new())),
        ("empty state", String::new(), Some(csrf_a.clone())),
        (
            "state with a suffix",
            format!("{state_a}A"),
            Some(csrf_a.clone()),
        ),
        (
            "state prefix only",
            state_a[..state_a.len() - 1].to_string(),
            Some(csrf_a.clone()),
        ),
    ];
    for (what, state, cookie) in &cases {
        let headers: Vec<(&str, String)> = cookie
            .iter()
            .map(|c| ("cookie", format!("_oauth2_proxy_csrf={c}")))
            .collect();
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply = scenario.get_local(&format!("/oauth2/callback?code=c&state={state}"), &headers);
        assert_eq!(reply.status, 403, "{what}");
        assert!(set_cookie_pair(&reply, "_oauth2_proxy").is_none(), "{what}");
        assert!(
            scenario.host.pending_calls().is_empty(),
            "{what}: no code is redeemed"
        );
    }
    assert_eq!(
        scenario.counter("entra_proxy.callback.state_invalid"),
        cases.len() as u64
    );

    // Per-request CSRF cookies: another attempt's cookie under its own name does not help.
    let per_request = Scenario::ready(config_with(json!({"cookie_csrf_per_request": true})));
    let first = per_request.get_local("/a", &[]);
    let second = per_request.get_local("/b", &[]);
    let state = query_param(first.header("location").expect("location"), "state").expect("state");
    let reply = per_request.get_local(
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", &cookie_header_from(&second))],
    );
    assert_eq!(reply.status, 403);
    assert!(per_request.host.pending_calls().is_empty());
}

// ----- forged ID tokens ----------------------------------------------------------------------

fn sign_raw(key: &TestKey, header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = RsaSigner::<Sha256>::new(key.private.clone()).sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn public_jwk(key: &TestKey) -> Value {
    let public = key.private.to_public_key();
    json!({
        "kty": "RSA", "kid": key.kid, "use": "sig",
        "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()),
    })
}

/// Everything an attacker can derive from the published RSA key, as HMAC secrets.
fn public_key_encodings(key: &TestKey) -> Vec<(&'static str, Vec<u8>)> {
    let public = key.private.to_public_key();
    let spki_pem = public.to_public_key_pem(LineEnding::LF).expect("pem");
    let pkcs1_pem = public.to_pkcs1_pem(LineEnding::LF).expect("pem");
    vec![
        ("SPKI PEM", spki_pem.as_bytes().to_vec()),
        (
            "SPKI PEM without the final newline",
            spki_pem.trim_end().as_bytes().to_vec(),
        ),
        ("PKCS#1 PEM", pkcs1_pem.as_bytes().to_vec()),
        (
            "SPKI DER",
            public.to_public_key_der().expect("der").as_bytes().to_vec(),
        ),
        (
            "PKCS#1 DER",
            public.to_pkcs1_der().expect("der").as_bytes().to_vec(),
        ),
        ("modulus bytes", public.n().to_bytes_be()),
        (
            "modulus base64url",
            b64(&public.n().to_bytes_be()).into_bytes(),
        ),
        ("JWK JSON", public_jwk(key).to_string().into_bytes()),
        ("JWKS document", test_idp::jwks(&[key]).into_bytes()),
        (
            "x5c-style base64 DER",
            STANDARD
                .encode(public.to_public_key_der().expect("der").as_bytes())
                .into_bytes(),
        ),
    ]
}

type Forge = Box<dyn Fn(&str) -> String>;

/// Forged ID tokens, each made from the attempt's nonce. None may produce a session.
fn forged_tokens() -> Vec<(String, Forge)> {
    let now = START;
    let claims = move |nonce: &str| test_idp::alice_claims(now, nonce);
    let k0 = test_idp::key(0);
    let attacker = test_idp::key(2);
    let mut out: Vec<(String, Forge)> = Vec::new();

    for alg in ["none", "None", "NONE", "nOnE"] {
        out.push((
            format!("alg {alg}, empty signature"),
            Box::new(move |n| {
                let h = json!({"alg": alg, "kid": "test-key-0", "typ": "JWT"});
                format!(
                    "{}.{}.",
                    b64(h.to_string().as_bytes()),
                    b64(claims(n).to_string().as_bytes())
                )
            }),
        ));
    }
    out.push((
        "alg none carrying a real RS256 signature".into(),
        Box::new(move |n| {
            let real = test_idp::sign(k0, &claims(n));
            let sig = real.rsplit('.').next().unwrap_or_default().to_string();
            let h = json!({"alg": "none", "kid": "test-key-0"});
            format!(
                "{}.{}.{sig}",
                b64(h.to_string().as_bytes()),
                b64(claims(n).to_string().as_bytes())
            )
        }),
    ));
    for (what, secret) in public_key_encodings(k0) {
        out.push((
            format!("HS256 keyed with the RSA public key ({what})"),
            Box::new(move |n| {
                hs256(
                    &secret,
                    &json!({"alg": "HS256", "kid": "test-key-0", "typ": "JWT"}),
                    &claims(n),
                )
            }),
        ));
    }
    for alg in [
        "RS384", "RS512", "PS256", "ES256", "rs256", "RS256 ", "HS512",
    ] {
        out.push((
            format!("header alg {alg:?} over an RS256 signature"),
            Box::new(move |n| {
                let h = json!({"alg": alg, "kid": "test-key-0"}).to_string();
                sign_raw(k0, &h, &claims(n).to_string())
            }),
        ));
    }
    // kid games.
    let kid_cases: Vec<(&str, Value)> = vec![
        (
            "kid of a known key, signed by another key",
            json!({"alg": "RS256", "kid": "test-key-0"}),
        ),
        (
            "kid of an unpublished key",
            json!({"alg": "RS256", "kid": "attacker-key"}),
        ),
        ("no kid", json!({"alg": "RS256"})),
        ("empty kid", json!({"alg": "RS256", "kid": ""})),
        ("numeric kid", json!({"alg": "RS256", "kid": 0})),
        (
            "path traversal kid",
            json!({"alg": "RS256", "kid": "../../../../dev/null"}),
        ),
        (
            "kid with a NUL",
            json!({"alg": "RS256", "kid": "test-key-0\u{0}"}),
        ),
        (
            "2000-character kid",
            json!({"alg": "RS256", "kid": "k".repeat(2000)}),
        ),
        ("kid list", json!({"alg": "RS256", "kid": ["test-key-0"]})),
    ];
    for (what, header) in kid_cases {
        out.push((
            what.to_string(),
            Box::new(move |n| sign_raw(attacker, &header.to_string(), &claims(n).to_string())),
        ));
    }
    // Header parameters that name a key: never followed.
    let jwk = public_jwk(attacker);
    let key_headers: Vec<(&str, Value)> = vec![
        (
            "jku to an attacker JWKS",
            json!({"alg": "RS256", "kid": "attacker", "jku": "https://evil.example/jwks.json"}),
        ),
        (
            "x5u to an attacker certificate",
            json!({"alg": "RS256", "kid": "attacker", "x5u": "https://evil.example/cert.pem"}),
        ),
        (
            "embedded jwk of the attacker",
            json!({"alg": "RS256", "kid": "attacker", "jwk": jwk.clone()}),
        ),
        (
            "embedded jwk under a known kid",
            json!({"alg": "RS256", "kid": "test-key-0", "jwk": jwk.clone()}),
        ),
        (
            "jku under a known kid",
            json!({"alg": "RS256", "kid": "test-key-0", "jku": "https://evil.example/jwks.json"}),
        ),
        (
            "x5c of the attacker",
            json!({"alg": "RS256", "kid": "attacker", "x5c": [STANDARD.encode(b"not a certificate")]}),
        ),
    ];
    for (what, header) in key_headers {
        out.push((
            what.to_string(),
            Box::new(move |n| sign_raw(attacker, &header.to_string(), &claims(n).to_string())),
        ));
    }
    // Duplicate `kid` in the header: whichever copy a parser reads, the key is wrong or unknown.
    out.push((
        "duplicate kid (unknown, then known)".into(),
        Box::new(move |n| {
            sign_raw(
                attacker,
                r#"{"alg":"RS256","kid":"attacker","kid":"test-key-0"}"#,
                &claims(n).to_string(),
            )
        }),
    ));
    // `crit` names extensions the verifier must understand; we understand none.
    for crit in [json!(["exp"]), json!(["b64"]), json!([])] {
        out.push((
            format!("crit {crit}"),
            Box::new(move |n| {
                let h =
                    json!({"alg": "RS256", "kid": "test-key-0", "crit": crit.clone(), "b64": true});
                sign_raw(k0, &h.to_string(), &claims(n).to_string())
            }),
        ));
    }
    // Duplicate claims where the last copy (the one RFC 7519 §4 lets parsers keep) is wrong.
    let duplicated = move |name: &'static str, bad: Value| -> Forge {
        Box::new(move |n| {
            let good = claims(n);
            let body = good.to_string();
            let body = format!("{},{}:{}}}", &body[..body.len() - 1], json!(name), bad);
            sign_raw(k0, r#"{"alg":"RS256","kid":"test-key-0"}"#, &body)
        })
    };
    out.push((
        "duplicate nonce, last one wrong".into(),
        duplicated("nonce", json!("other")),
    ));
    out.push((
        "duplicate aud, last one wrong".into(),
        duplicated("aud", json!("someone-else")),
    ));
    out.push((
        "duplicate iss, last one wrong".into(),
        duplicated("iss", json!("https://evil.example/v2.0")),
    ));
    out.push((
        "duplicate exp, last one past".into(),
        duplicated("exp", json!(now - 3600)),
    ));
    out.push((
        "duplicate nbf, last one in the future".into(),
        duplicated("nbf", json!(now + 3600)),
    ));
    // Shapes that are not a signed JWT at all.
    out.push((
        "two segments".into(),
        Box::new(move |n| {
            let t = test_idp::sign(k0, &claims(n));
            t[..t.rfind('.').unwrap_or(0)].to_string()
        }),
    ));
    out.push((
        "five segments (JWE shape)".into(),
        Box::new(move |n| format!("{}.x.y", test_idp::sign(k0, &claims(n)))),
    ));
    out.push((
        "padded base64".into(),
        Box::new(move |n| {
            let t = test_idp::sign(k0, &claims(n));
            let (head, rest) = t.split_once('.').unwrap_or_default();
            format!("{head}==.{rest}")
        }),
    ));
    out.push((
        "20 KB token".into(),
        Box::new(move |n| {
            let mut c = claims(n);
            c["padding"] = json!("x".repeat(20 * 1024));
            test_idp::sign(k0, &c)
        }),
    ));
    out
}

#[test]
fn forged_id_tokens_never_produce_a_session_and_key_urls_in_headers_are_never_fetched() {
    let forged = forged_tokens();
    assert!(forged.len() >= 40, "{}", forged.len());
    for (what, make) in forged {
        let scenario = Scenario::ready(base_config());
        let (csrf, state, nonce) = begin(&scenario);
        let (stream, call) = callback(&scenario, &csrf, &state, "c");
        scenario.host.respond(
            call.token,
            200,
            &[("content-type", "application/json")],
            test_idp::token_response(&make(&nonce)).as_bytes(),
        );
        // An unknown kid may cause one JWKS refetch from the configured provider, never from a
        // URL in the token; answer it with the same keys.
        for extra in scenario.host.pending_calls() {
            assert_eq!(extra.authority(), test_idp::AUTHORITY, "{what}: {extra:?}");
            assert_eq!(
                extra.path(),
                format!("/{}/discovery/v2.0/keys", test_idp::TENANT),
                "{what}"
            );
            let jwks = test_idp::jwks(&[test_idp::key(0)]);
            scenario
                .host
                .respond(extra.token, 200, &[], jwks.as_bytes());
        }
        let reply = stream
            .local_response()
            .unwrap_or_else(|| panic!("{what}: no reply"));
        assert!(
            matches!(reply.status, 403 | 502),
            "{what}: {}",
            reply.status
        );
        assert!(
            set_cookie_pair(&reply, "_oauth2_proxy").is_none(),
            "{what}: no session"
        );
        assert!(!stream.request_resumed(), "{what}: never forwarded");
        for sent in scenario.host.dispatched_calls() {
            assert_eq!(
                sent.authority(),
                test_idp::AUTHORITY,
                "{what}: callout to {}",
                sent.authority()
            );
        }
    }
}

#[test]
fn key_url_headers_on_a_genuine_token_are_ignored_not_followed() {
    let scenario = Scenario::ready(base_config());
    let (csrf, state, nonce) = begin(&scenario);
    let (stream, call) = callback(&scenario, &csrf, &state, "c");
    let header = json!({
        "typ": "JWT", "alg": "RS256", "kid": "test-key-0",
        "jku": "https://evil.example/jwks.json", "x5u": "https://evil.example/cert.pem",
        "jwk": public_jwk(test_idp::key(2)),
    });
    let token = test_idp::sign_with_header(
        test_idp::key(0),
        header,
        &test_idp::alice_claims(scenario.now(), &nonce),
    );
    scenario.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response(&token).as_bytes(),
    );
    let reply = stream.local_response().expect("reply");
    assert_eq!(reply.status, 302, "{}", reply.body_text());
    assert!(set_cookie_pair(&reply, "_oauth2_proxy").is_some());
    assert_eq!(
        scenario.host.dispatched_calls().len(),
        3,
        "discovery, JWKS, token: nothing else"
    );
}

#[test]
fn duplicate_identity_claims_resolve_to_the_last_copy_or_are_refused() {
    // RFC 7519 §4: parsers must reject duplicate claim names or keep the lexically last one.
    // Whichever the filter does, the identity it forwards must be the one a compliant parser
    // reads, so a token cannot mean one user to the filter and another to a downstream check.
    for (first, last) in [("mallory-oid", ALICE_OID), (ALICE_OID, "mallory-oid")] {
        let scenario = Scenario::ready(base_config());
        let (csrf, state, nonce) = begin(&scenario);
        let (stream, call) = callback(&scenario, &csrf, &state, "c");
        let mut claims = test_idp::alice_claims(scenario.now(), &nonce);
        claims["oid"] = json!(first);
        let body = claims.to_string();
        let body = format!("{},\"oid\":{}}}", &body[..body.len() - 1], json!(last));
        let token = sign_raw(
            test_idp::key(0),
            r#"{"alg":"RS256","kid":"test-key-0"}"#,
            &body,
        );
        scenario.host.respond(
            call.token,
            200,
            &[],
            test_idp::token_response(&token).as_bytes(),
        );
        let reply = stream.local_response().expect("reply");
        if reply.status == 403 {
            continue;
        }
        assert_eq!(reply.status, 302);
        let (forwarded, action) =
            scenario.request("GET", "/", &[("cookie", &cookie_header_from(&reply))]);
        assert_eq!(action, Action::Continue);
        assert_eq!(
            forwarded.request_header_map().get_all("x-forwarded-user"),
            vec![last],
            "first {first}, last {last}"
        );
    }
}

// ----- header spoofing -----------------------------------------------------------------------

/// Lower-case with `_` as `-`: how CGI-style frameworks see a header name.
fn folded(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

const IDENTITY_NAMES: &[&str] = &[
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-groups",
    "x-forwarded-preferred-username",
    "x-forwarded-access-token",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-groups",
    "x-auth-request-preferred-username",
    "x-auth-request-access-token",
    "authorization",
];

/// Spoofed identity headers in every spelling: case, `_` for `-`, mixed, repeated.
fn spoofed_headers() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in IDENTITY_NAMES {
        let value = if *name == "authorization" {
            "Bearer forged"
        } else {
            "mallory"
        };
        let upper = name.to_ascii_uppercase();
        let underscored = name.replace('-', "_");
        let mixed: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| match (i % 3, c) {
                (_, '-') if i % 2 == 0 => '_',
                (0, c) => c.to_ascii_uppercase(),
                (_, c) => c,
            })
            .collect();
        for spelled in [
            name.to_string(),
            upper,
            underscored.clone(),
            underscored.to_ascii_uppercase(),
            mixed,
        ] {
            out.push((spelled, value.to_string()));
        }
    }
    // Two copies of the same header, one upper-case, as separate header lines.
    out.push(("x-forwarded-user".into(), "mallory-1".into()));
    out.push(("X-FORWARDED-USER".into(), "mallory-2".into()));
    out.push(("x-forwarded-groups".into(), "admins".into()));
    out.push(("X-Forwarded-Groups".into(), "admins,root".into()));
    out
}

/// No header the upstream could read as an identity header carries a client-supplied value.
fn assert_no_spoofed_identity(stream: &Stream, what: &str) {
    let forwarded = stream.request_header_map();
    for (name, value) in forwarded.iter() {
        if IDENTITY_NAMES.contains(&folded(name).as_str()) {
            assert!(
                !value.contains("mallory")
                    && !value.contains("forged")
                    && !value.contains("admins"),
                "{what}: {name}: {value} reached the upstream"
            );
        }
    }
}

fn with_spoofed<'a>(
    spoofed: &'a [(String, String)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    headers.extend(spoofed.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    headers
}

#[test]
fn spoofed_identity_headers_in_any_spelling_are_replaced_for_signed_in_users() {
    let spoofed = spoofed_headers();
    for config in [
        json!({"set_xauthrequest": true, "pass_access_token": true, "pass_authorization_header": true}),
        json!({}),
        json!({"pass_user_headers": false}),
    ] {
        let scenario = Scenario::ready(config_with(config.clone()));
        let cookie = cookie_header_from(&scenario.sign_in("/", |_| {}));
        let headers = with_spoofed(&spoofed, &[("cookie", &cookie)]);
        let (stream, action) = scenario.request("GET", "/data", &headers);
        assert_eq!(action, Action::Continue, "{config}");
        assert_no_spoofed_identity(&stream, &config.to_string());
        let forwarded = stream.request_header_map();
        let users = forwarded.get_all("x-forwarded-user");
        if config.get("pass_user_headers") == Some(&json!(false)) {
            assert!(users.is_empty(), "{config}: {users:?}");
        } else {
            assert_eq!(
                users,
                vec![ALICE_OID],
                "{config}: exactly one, the filter's"
            );
        }
        // Each identity header the filter set appears exactly once, in one spelling.
        for name in IDENTITY_NAMES {
            let copies = forwarded.iter().filter(|(n, _)| folded(n) == *name).count();
            assert!(copies <= 1, "{config}: {name} appears {copies} times");
        }
    }
}

#[test]
fn spoofed_identity_headers_are_stripped_on_skipped_routes_preflights_and_the_auth_endpoint() {
    let spoofed = spoofed_headers();
    let scenario = Scenario::ready(config_with(json!({
        "skip_auth_routes": ["GET=^/health$", "^/public/"],
        "skip_auth_preflight": true,
        "set_xauthrequest": true,
    })));
    let preflight = [
        ("origin", "https://spa.example.com"),
        ("access-control-request-method", "POST"),
    ];
    for (method, path, extra) in [
        ("GET", "/health", &[][..]),
        ("POST", "/public/form", &[][..]),
        ("OPTIONS", "/api/x", &preflight[..]),
    ] {
        let headers = with_spoofed(&spoofed, extra);
        let (stream, action) = scenario.request(method, path, &headers);
        assert_eq!(action, Action::Continue, "{method} {path}");
        let forwarded = stream.request_header_map();
        for (name, value) in forwarded.iter() {
            assert!(
                !IDENTITY_NAMES.contains(&folded(name).as_str()),
                "{method} {path}: {name}: {value} passed a skipped route"
            );
        }
    }
    // Without a session the spoofed headers never reach anything.
    let headers = with_spoofed(&spoofed, &[]);
    let (_, action) = scenario.request("GET", "/private", &headers);
    assert_eq!(action, Action::Pause);
    let reply = scenario.get_local("/oauth2/auth", &headers);
    assert_eq!(reply.status, 401);
    for name in IDENTITY_NAMES {
        assert!(
            reply.header(name).is_none(),
            "/oauth2/auth without a session echoed {name}"
        );
    }
    // With a session, /oauth2/auth answers the session's identity, not the request's headers.
    let cookie = cookie_header_from(&scenario.sign_in("/", |_| {}));
    let headers = with_spoofed(&spoofed, &[("cookie", &cookie)]);
    let reply = scenario.get_local("/oauth2/auth", &headers);
    assert_eq!(reply.status, 202);
    assert_eq!(
        reply.headers.get_all("x-auth-request-user"),
        vec![ALICE_OID]
    );
    assert!(reply
        .headers
        .get_all("x-auth-request-groups")
        .iter()
        .all(|g| !g.contains("admins")));
}

// ----- oversized input -----------------------------------------------------------------------

const BIG: usize = 64 * 1024;

/// Run one request and return its outcome, checking it took bounded time. The filter runs
/// unoptimized here; the bound only catches runaway (quadratic or worse) work.
fn timed_request(
    scenario: &Scenario,
    path: &str,
    headers: &[(&str, &str)],
    what: &str,
) -> (Stream, Action) {
    let started = Instant::now();
    let result = scenario.request("GET", path, headers);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{what}: took {took:?}");
    result
}

/// `len` base64url characters that do not compress (a SHA-256 chain), like real sealed data.
fn base64ish(len: usize) -> String {
    let mut out = String::with_capacity(len + 64);
    let mut block = Sha256::digest(b"seed");
    while out.len() < len {
        out.push_str(&b64(&block));
        block = Sha256::digest(block);
    }
    out.truncate(len);
    out
}

#[test]
fn sixty_four_kilobyte_cookies_get_a_fresh_sign_in_in_bounded_time() {
    let scenario = Scenario::ready(base_config());
    let many_small: String = (0..BIG / 8).map(|i| format!("c{i}=v; ")).collect();
    let many_chunks: String = (0..200)
        .map(|i| format!("_oauth2_proxy_{i}={}", base64ish(3800)))
        .collect::<Vec<_>>()
        .join("; ");
    let cases: Vec<(&str, String)> = vec![
        (
            "64 KB base64url session cookie",
            format!("_oauth2_proxy={}", base64ish(BIG)),
        ),
        (
            "64 KB non-base64 session cookie",
            format!("_oauth2_proxy={}", "!".repeat(BIG)),
        ),
        (
            "64 KB of quotes",
            format!("_oauth2_proxy=\"{}\"", "\"".repeat(BIG)),
        ),
        ("8,000 small cookies", many_small),
        ("200 chunks of 3,800 bytes", many_chunks),
        (
            "64 KB chunk 0",
            format!("_oauth2_proxy_0={}; _oauth2_proxy_1=AAAA", base64ish(BIG)),
        ),
    ];
    for (what, cookie) in &cases {
        let (stream, action) = timed_request(&scenario, "/private", &[("cookie", cookie)], what);
        assert_eq!(action, Action::Pause, "{what}");
        let reply = stream
            .local_response()
            .unwrap_or_else(|| panic!("{what}: no reply"));
        assert!(
            reply.status == 302 || (400..500).contains(&reply.status),
            "{what}: {}",
            reply.status
        );
        for set in set_cookies(&reply) {
            assert!(set.len() < 4096, "{what}: a {}-byte Set-Cookie", set.len());
        }
    }
    // A 64 KB cookie of one's own next to a valid session: the session still works and the
    // stranger cookie is passed on untouched.
    let session = cookie_header_from(&scenario.sign_in("/", |_| {}));
    let junk = format!("junk={}", "j".repeat(BIG));
    let (stream, action) = timed_request(
        &scenario,
        "/",
        &[("cookie", &junk), ("cookie", &session)],
        "junk",
    );
    assert_eq!(action, Action::Continue);
    assert_eq!(
        stream.request_header_map().get("cookie"),
        Some(junk.as_str())
    );
}

#[test]
fn sixty_four_kilobyte_headers_are_handled_cleanly() {
    let scenario = Scenario::ready(config_with(json!({"skip_jwt_bearer_tokens": true})));
    let big = "m".repeat(BIG);
    let session = cookie_header_from(&scenario.sign_in("/", |_| {}));

    // Signed in: spoofed 64 KB identity headers are dropped, other big headers pass.
    let (stream, action) = timed_request(
        &scenario,
        "/",
        &[
            ("cookie", &session),
            ("x-forwarded-user", &big),
            ("X_Auth_Request_Email", &big),
            ("x-big", &big),
            ("x-request-id", &big),
        ],
        "signed in",
    );
    assert_eq!(action, Action::Continue);
    let forwarded = stream.request_header_map();
    assert_eq!(forwarded.get_all("x-forwarded-user"), vec![ALICE_OID]);
    assert!(!forwarded.contains("x_auth_request_email"));
    assert_eq!(forwarded.get("x-big").map(str::len), Some(BIG));

    // Not signed in: a clean answer, and no 64 KB echo of a client header in it.
    let bearer = format!("Bearer {}", base64ish(BIG));
    let cases: Vec<(&str, String, Vec<(&str, &str)>)> = vec![
        (
            "64 KB request id",
            "/private".into(),
            vec![("x-request-id", big.as_str())],
        ),
        (
            "64 KB accept",
            "/private".into(),
            vec![("accept", big.as_str())],
        ),
        (
            "64 KB bearer token",
            "/api".into(),
            vec![("authorization", bearer.as_str())],
        ),
        (
            "64 KB code and state",
            format!("/oauth2/callback?code={big}&state={big}"),
            vec![],
        ),
        (
            "64 KB CSRF cookie",
            "/oauth2/callback?code=c&state=s".into(),
            vec![],
        ),
        ("64 KB rd", format!("/oauth2/start?rd=/{big}"), vec![]),
        (
            "64 KB sign-out rd",
            format!("/oauth2/sign_out?rd={big}"),
            vec![],
        ),
        ("64 KB host", "/private".into(), vec![]),
    ];
    let csrf = format!("_oauth2_proxy_csrf={}", base64ish(BIG));
    for (what, path, mut headers) in cases {
        if what == "64 KB CSRF cookie" {
            headers.push(("cookie", csrf.as_str()));
        }
        let (stream, action) = if what == "64 KB host" {
            let started = Instant::now();
            let s = scenario.host.new_stream();
            let a = s.request_headers(
                &[
                    (":method", "GET"),
                    (":path", "/private"),
                    (":authority", &big),
                    (":scheme", "https"),
                ],
                true,
            );
            assert!(started.elapsed() < Duration::from_secs(5), "{what}");
            (s, a)
        } else {
            timed_request(&scenario, &path, &headers, what)
        };
        assert_eq!(action, Action::Pause, "{what}");
        assert!(
            scenario.host.pending_calls().is_empty(),
            "{what}: no callout"
        );
        let reply = stream
            .local_response()
            .unwrap_or_else(|| panic!("{what}: no reply"));
        assert!(
            matches!(reply.status, 302 | 400..=499),
            "{what}: {}",
            reply.status
        );
        assert!(
            reply.body.len() < 16 * 1024,
            "{what}: {}-byte body",
            reply.body.len()
        );
        if what == "64 KB host" {
            // Without `redirect_url` the callback URL is built from the Host header, so a huge
            // Host comes back in the Location; Envoy bounds request headers (60 KiB) first.
            continue;
        }
        let header_bytes: usize = reply.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(
            header_bytes < 16 * 1024,
            "{what}: {header_bytes} bytes of response headers"
        );
    }
}

/// An unauthenticated request's path becomes the post-sign-in target and is sealed into the
/// CSRF cookie. A 64 KB path makes a 64 KB `Set-Cookie` that every browser drops (4096-byte
/// limit) and that Envoy may refuse to send; the sign-in can then never complete.
#[test]
#[ignore = "bug: the unauthenticated request path is sealed into the CSRF cookie without a length bound (flow/signin.rs unauthenticated → begin); a 64 KB path yields a ~64 KB Set-Cookie instead of a 4xx or a return to \"/\""]
fn a_sixty_four_kilobyte_path_does_not_make_an_oversized_csrf_cookie() {
    let scenario = Scenario::ready(base_config());
    let path = format!("/{}", base64ish(BIG));
    let (stream, action) = timed_request(&scenario, &path, &[], "64 KB path");
    assert_eq!(action, Action::Pause);
    let reply = stream.local_response().expect("reply");
    assert!(matches!(reply.status, 302 | 400..=499), "{}", reply.status);
    for set in set_cookies(&reply) {
        assert!(set.len() < 4096, "a {}-byte Set-Cookie", set.len());
    }
}
