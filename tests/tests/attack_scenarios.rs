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

/// `Scenario::ready`, after one start-up that no other test thread overlaps: proxy-wasm 0.2.5
/// installs its logger on the first `set_log_level` with a check-then-set that two test
/// threads starting their first VM at the same instant can both pass (`SetLoggerError`).
fn ready(config: Value) -> Scenario {
    static FIRST_START: std::sync::Once = std::sync::Once::new();
    FIRST_START.call_once(|| {
        Scenario::start(base_config());
    });
    Scenario::ready(config)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn cipher_of(config: &Value) -> entra_proxy_wasm::session::crypto::CookieCipher {
    Config::from_json(config.to_string().as_bytes())
        .expect("valid config")
        .cipher
}

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

fn secrets(list: &[&str]) -> Value {
    config_with(json!({ "cookie_secret": list }))
}

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

fn sign_raw(key: &TestKey, header: &str, claims: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let signature = RsaSigner::<Sha256>::new(key.private.clone()).sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

#[path = "attack_scenarios/cookies.rs"]
mod cookies;
#[path = "attack_scenarios/csrf_state.rs"]
mod csrf_state;
#[path = "attack_scenarios/header_spoofing.rs"]
mod header_spoofing;
#[path = "attack_scenarios/id_tokens.rs"]
mod id_tokens;
#[path = "attack_scenarios/key_rotation.rs"]
mod key_rotation;
#[path = "attack_scenarios/oversized.rs"]
mod oversized;
#[path = "attack_scenarios/redirects.rs"]
mod redirects;
