//! Workload identity (`entra_id_federated_token_auth`): instead of a client secret, the filter
//! authenticates to Entra's token endpoint with the Kubernetes service-account token that Azure
//! Workload Identity projects into the pod. A wasm module cannot read files in Envoy, so the
//! token is fetched from a loopback listener (see `envoy-config/workload-identity/`) and shared
//! by every worker through shared data, with its expiry.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::config::Config;
use crate::oidc::token_response::{ClientCredential, IdpError};

use super::action::OutboundCall;
use super::failure::Failure;
use super::store::SharedStore;
use super::{provider, Context};

/// Refetch this long before the token expires (Kubernetes rotates projected tokens at 80% of
/// their lifetime, so a fresh one is already on disk by then).
pub const REFRESH_MARGIN_SECS: u64 = 300;
/// A token file larger than this is not a service-account token.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Shared-data key of the current token.
pub fn key(prefix: &str) -> String {
    format!("{prefix}/federated-token")
}

/// The current token, if one is stored and has not expired.
pub fn current(store: &dyn SharedStore, prefix: &str, now: u64) -> Option<String> {
    let (value, _) = store.get(&key(prefix))?;
    let text = String::from_utf8(value).ok()?;
    let (exp, token) = text.split_once('|')?;
    let exp: u64 = exp.parse().ok()?;
    (now < exp).then(|| token.to_string())
}

/// Whether the stored token is missing or close to expiry.
pub fn needs_refresh(store: &dyn SharedStore, prefix: &str, now: u64) -> bool {
    current(store, prefix, now.saturating_add(REFRESH_MARGIN_SECS)).is_none()
}

/// Validate the shape of a fetched token and store it; returns its `exp`. The token is our own
/// credential, so it is decoded, not verified: Entra verifies it.
pub fn store_token(
    store: &dyn SharedStore,
    prefix: &str,
    body: &[u8],
    now: u64,
) -> Result<u64, String> {
    if body.len() > MAX_TOKEN_BYTES {
        return Err(format!(
            "token source answered {} bytes; not a token",
            body.len()
        ));
    }
    let token = std::str::from_utf8(body)
        .map_err(|_| "token is not text".to_string())?
        .trim();
    if token.is_empty() {
        return Err("token source answered an empty body".into());
    }
    let exp = expiry(token).ok_or("token is not a JWT with an exp claim")?;
    if exp <= now {
        return Err(format!(
            "token expired at {exp} (the projected token file is not being rotated?)"
        ));
    }
    if !store.set(&key(prefix), format!("{exp}|{token}").as_bytes(), None) {
        return Err("could not write shared data".into());
    }
    Ok(exp)
}

/// `exp` of a JWT, unverified.
pub fn expiry(token: &str) -> Option<u64> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("exp")?.as_u64()
}

/// The GET that fetches the token.
pub fn fetch_call(config: &Config) -> Option<Result<OutboundCall, Failure>> {
    let url = config.federated_token_url.as_deref()?;
    Some(
        provider::get(config, url)
            .map(|mut call| {
                call.headers = vec![("accept".into(), "application/jwt, text/plain".into())];
                call
            })
            .map_err(Failure::NoCluster),
    )
}

/// How this request authenticates to the token endpoint: the secret, or the stored token.
pub fn credential<'a>(
    ctx: &Context<'a>,
    assertion: &'a mut Option<String>,
) -> Result<ClientCredential<'a>, Failure> {
    if ctx.config.federated_token_url.is_none() {
        return Ok(ClientCredential::Secret(&ctx.config.client_secret));
    }
    *assertion = current(ctx.store, ctx.store_prefix, ctx.now);
    match assertion.as_deref() {
        Some(token) => Ok(ClientCredential::Assertion(token)),
        None => Err(Failure::FederatedToken(
            "no valid federated token yet (token source unreachable or file not rotated)".into(),
        )),
    }
}

/// Entra's answers that mean "the assertion itself is bad": expired (AADSTS700024), signature
/// not verifiable (AADSTS700027, e.g. the cluster's signing key rotated), or unparsable
/// (AADSTS50027). A fresh token can fix those; issuer/subject mismatches (AADSTS700211,
/// AADSTS700213, AADSTS70021) are configuration errors and are not retried.
pub fn assertion_rejected(error: &IdpError) -> bool {
    error
        .codes
        .iter()
        .any(|c| matches!(c, 700024 | 700027 | 50027))
}

/// A fresh token arrived after Entra refused the stored one: store it and repeat the call once.
pub fn on_fetched(
    ctx: &Context,
    req: &super::Request,
    then: super::action::AfterAssertion,
    response: super::CallResponse,
    rng: &mut dyn super::Entropy,
) -> super::Outcome {
    use super::action::AfterAssertion;
    let stored = match response.status {
        200 => store_token(ctx.store, ctx.store_prefix, &response.body, ctx.now),
        0 => Err("token source did not answer".to_string()),
        status => Err(format!("token source answered {status}")),
    };
    match (then, stored) {
        (AfterAssertion::Redeem { csrf, code }, Ok(_)) => {
            super::callback::redeem(ctx, req, csrf, code, true)
        }
        (AfterAssertion::Redeem { .. }, Err(why)) => {
            super::callback::fail(ctx, req, Failure::FederatedToken(why))
        }
        (AfterAssertion::Refresh { session, lease }, Ok(_)) => {
            match super::refresh::refresh_call(ctx, &session, &lease, true) {
                Ok(outcome) => outcome,
                Err(failure) => {
                    super::refresh::unavailable(ctx, req, &session, &lease, failure.summary(), rng)
                }
            }
        }
        (AfterAssertion::Refresh { session, lease }, Err(why)) => {
            super::refresh::unavailable(ctx, req, &session, &lease, why, rng)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    use crate::flow::store::MemoryStore;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn jwt(exp: u64) -> String {
        let claims = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"iss":"k8s","sub":"system:serviceaccount:ns:sa","exp":{exp}}}"#
        ));
        format!("eyJhbGciOiJSUzI1NiJ9.{claims}.c2ln")
    }

    #[test]
    fn tokens_are_stored_with_their_expiry_and_refreshed_before_it() {
        let store = MemoryStore::default();
        assert!(needs_refresh(&store, "p", 0));
        let token = jwt(10_000);
        assert_eq!(
            store_token(&store, "p", format!("{token}\n").as_bytes(), 100),
            Ok(10_000)
        );
        assert_eq!(current(&store, "p", 9_999).as_deref(), Some(token.as_str()));
        assert_eq!(current(&store, "p", 10_000), None);
        assert!(!needs_refresh(
            &store,
            "p",
            10_000 - REFRESH_MARGIN_SECS - 1
        ));
        assert!(needs_refresh(&store, "p", 10_000 - REFRESH_MARGIN_SECS));
    }

    #[test]
    fn bad_token_bodies_are_refused() {
        let store = MemoryStore::default();
        for (body, why) in [
            (String::new(), "empty"),
            ("not-a-jwt".to_string(), "not a JWT"),
            (jwt(50), "expired"),
            ("x".repeat(MAX_TOKEN_BYTES + 1), "bytes"),
        ] {
            let err = store_token(&store, "p", body.as_bytes(), 100).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
        assert!(current(&store, "p", 0).is_none());
    }
}
