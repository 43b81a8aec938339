//! ID-token and bearer-token validation against the fixed JWKS (`k1`, `k2`): arbitrary token
//! strings through `validate_id_token` (exact issuer with nonce, Entra tenant rule with and
//! without an allow-list), `validate_bearer_token` and `peek_kid`.
//!
//! Property: an accepted token was signed by a fixture key over these exact header and payload
//! bytes (independent RSA check), names our client, and has not expired.
#![no_main]

use entra_proxy_wasm::oidc::id_token::{
    peek_kid, validate_bearer_token, validate_id_token, Expectations, IdClaims, IssuerRule,
};
use entra_proxy_wasm_fuzz::fixtures::{provider_recent, CLIENT_ID, ISSUER, NOW, TENANT};
use entra_proxy_wasm_fuzz::oracle;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const LEEWAY: u64 = 60;

fn check_accepted(token: &str, claims: &IdClaims, audiences: &[&str]) {
    assert!(
        oracle::rs256_signed(token),
        "accepted a token no fixture key signed"
    );
    assert!(claims.exp + LEEWAY > NOW, "accepted an expired token");
    let raw = oracle::jwt_claims(token).unwrap_or(Value::Null);
    let aud_ok = match raw.get("aud") {
        Some(Value::String(a)) => audiences.contains(&a.as_str()),
        Some(Value::Array(list)) => list
            .iter()
            .any(|a| a.as_str().is_some_and(|a| audiences.contains(&a))),
        _ => false,
    };
    assert!(aud_ok, "accepted a token for another audience");
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = peek_kid(token);
    let keys = &provider_recent().keys;
    let rules = [
        (IssuerRule::Exact(ISSUER.to_string()), Some("fuzz-nonce")),
        (
            IssuerRule::EntraTenant {
                authority: "https://login.microsoftonline.com".to_string(),
                allowed_tenants: None,
            },
            None,
        ),
        (
            IssuerRule::EntraTenant {
                authority: "https://login.microsoftonline.com".to_string(),
                allowed_tenants: Some(vec![TENANT.to_string()]),
            },
            Some("fuzz-nonce"),
        ),
    ];
    for (issuer, nonce) in &rules {
        let expect = Expectations {
            issuer,
            audience: CLIENT_ID,
            nonce: *nonce,
            now: NOW,
            leeway_secs: LEEWAY,
        };
        if let Ok(claims) = validate_id_token(token, keys, &expect) {
            check_accepted(token, &claims, &[CLIENT_ID]);
            if let Some(nonce) = nonce {
                let raw = oracle::jwt_claims(token).unwrap_or(Value::Null);
                assert_eq!(raw.get("nonce").and_then(Value::as_str), Some(*nonce));
            }
        }
    }
    let audiences = [CLIENT_ID.to_string(), "api://fuzz".to_string()];
    let issuer = IssuerRule::Exact(ISSUER.to_string());
    if let Ok(claims) = validate_bearer_token(token, keys, &issuer, &audiences, NOW, LEEWAY) {
        check_accepted(token, &claims, &[CLIENT_ID, "api://fuzz"]);
    }
});
