//! `parse_discovery` and `check_issuer` on arbitrary documents.
//!
//! Property: every endpoint of an accepted document is an absolute http(s) URL with a host and
//! without credentials, as a browser would parse it (a `javascript:` or relative endpoint would
//! turn a bad document into an open redirect).
#![no_main]

use entra_proxy_wasm::oidc::discovery::{check_issuer, parse_discovery};
use entra_proxy_wasm_fuzz::fixtures::ISSUER;
use libfuzzer_sys::fuzz_target;

fn absolute_http(field: &str, value: &str) {
    let url = url::Url::parse(value).unwrap_or_else(|e| panic!("{field} {value:?}: {e}"));
    assert!(matches!(url.scheme(), "http" | "https"), "{field} scheme");
    assert!(
        url.host_str().is_some_and(|h| !h.is_empty()),
        "{field} host"
    );
    assert!(
        url.username().is_empty() && url.password().is_none(),
        "{field} userinfo"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(meta) = parse_discovery(data) else {
        return;
    };
    absolute_http("issuer", &meta.issuer);
    absolute_http("authorization_endpoint", &meta.authorization_endpoint);
    absolute_http("token_endpoint", &meta.token_endpoint);
    absolute_http("jwks_uri", &meta.jwks_uri);
    if let Some(end) = &meta.end_session_endpoint {
        absolute_http("end_session_endpoint", end);
    }
    assert!(check_issuer(&meta, ISSUER, true).is_ok());
    if check_issuer(&meta, ISSUER, false).is_ok() {
        assert_eq!(meta.issuer.trim_end_matches('/'), ISSUER);
    }
});
