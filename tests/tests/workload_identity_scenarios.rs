//! Host-shim scenarios for workload identity: the filter authenticates to Entra with the
//! projected service-account token, fetched from a loopback listener, instead of a secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use entra_proxy_tests::scenario::*;
use entra_proxy_tests::test_idp;
use serde_json::json;

fn wi_config() -> serde_json::Value {
    config_with(json!({
        "client_secret": null,
        "entra_id_federated_token_auth": true,
        "clusters": {"login.microsoftonline.com": "entra", "127.0.0.1:14999": "federated"},
    }))
}

fn service_account_token(exp: u64, tag: &str) -> String {
    let claims = json!({"iss": "https://oidc.prod-aks.example/abc/", "sub": "system:serviceaccount:web:entra-proxy", "aud": ["api://AzureADTokenExchange"], "exp": exp, "tag": tag});
    format!(
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// First tick: the token fetch and discovery go out together; answer both, then the JWKS.
fn ready_with_token(scenario: &Scenario, token: &str) {
    scenario.host.tick();
    let calls = scenario.host.pending_calls();
    let fetch = calls
        .iter()
        .find(|c| c.cluster == "federated")
        .expect("token fetch");
    assert_eq!(fetch.path(), "/federated-token");
    assert_eq!(fetch.authority(), "127.0.0.1:14999");
    scenario
        .host
        .respond(fetch.token, 200, &[], format!("{token}\n").as_bytes());
    let discovery = scenario.only_call();
    scenario
        .host
        .respond(discovery.token, 200, &[], test_idp::discovery().as_bytes());
    let keys = scenario.only_call();
    scenario.host.respond(
        keys.token,
        200,
        &[],
        test_idp::jwks(&[test_idp::key(0)]).as_bytes(),
    );
    assert_eq!(scenario.counter("entra_proxy.federated.fetched"), 1);
}

#[test]
fn a_secret_and_workload_identity_together_are_rejected_as_ambiguous() {
    let (scenario, ok) = Scenario::try_start(config_with(
        json!({"entra_id_federated_token_auth": true, "clusters": {"login.microsoftonline.com": "entra", "127.0.0.1:14999": "f"}}),
    ));
    assert!(!ok);
    assert!(scenario.host.logs().iter().any(|l| l
        .message
        .contains("client_secret: must be absent with entra_id_federated_token_auth")));
    let (scenario, ok) = Scenario::try_start(config_with(
        json!({"client_secret": null, "entra_id_federated_token_auth": true}),
    ));
    assert!(!ok, "the token URL needs a cluster");
    assert!(scenario.host.logs().iter().any(|l| l
        .message
        .contains("no Envoy cluster for \"127.0.0.1:14999\"")));
}

#[test]
fn the_code_is_redeemed_with_the_service_account_token_instead_of_a_secret() {
    let scenario = Scenario::start(wi_config());
    let token = service_account_token(START + 3600, "first");
    ready_with_token(&scenario, &token);
    let (stream, call, nonce) = scenario.callback_pending();
    let body = call.body_text();
    assert!(body.contains("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"), "{body}");
    assert!(
        body.contains(&format!("client_assertion={token}")),
        "{body}"
    );
    assert!(!body.contains("client_secret"), "{body}");
    scenario.answer_as_alice(&call, &nonce);
    assert_eq!(stream.local_response().unwrap().status, 302);
    assert!(
        !scenario
            .host
            .logs()
            .iter()
            .any(|l| l.message.contains(&token)),
        "the token is never logged"
    );
}

#[test]
fn an_expired_assertion_is_fetched_again_and_the_redeem_retried_once() {
    let scenario = Scenario::start(wi_config());
    ready_with_token(&scenario, &service_account_token(START + 3600, "old"));
    let (stream, call, nonce) = scenario.callback_pending();
    let refused = json!({"error": "invalid_client", "error_description": "AADSTS700024: Client assertion is not within its valid time range.", "error_codes": [700024], "trace_id": "t", "correlation_id": "c"});
    scenario
        .host
        .respond(call.token, 401, &[], refused.to_string().as_bytes());
    let fetch = scenario.only_call();
    assert_eq!(fetch.cluster, "federated");
    let fresh = service_account_token(START + 7200, "new");
    scenario
        .host
        .respond(fetch.token, 200, &[], fresh.as_bytes());
    let retry = scenario.only_call();
    assert!(retry
        .body_text()
        .contains(&format!("client_assertion={fresh}")));
    assert!(retry.body_text().contains("code=c"));
    // A second refusal is not retried again.
    scenario
        .host
        .respond(retry.token, 401, &[], refused.to_string().as_bytes());
    assert_eq!(stream.local_response().unwrap().status, 502);
    assert!(scenario.host.pending_calls().is_empty());
    let _ = nonce;
}

#[test]
fn without_a_token_the_sign_in_fails_closed_with_503() {
    let scenario = Scenario::start(wi_config());
    scenario.host.tick();
    let calls = scenario.host.pending_calls();
    let fetch = calls.iter().find(|c| c.cluster == "federated").unwrap();
    scenario.host.fail(fetch.token);
    assert_eq!(scenario.counter("entra_proxy.federated.failed"), 1);
    let discovery = scenario.only_call();
    scenario
        .host
        .respond(discovery.token, 200, &[], test_idp::discovery().as_bytes());
    let keys = scenario.only_call();
    scenario.host.respond(
        keys.token,
        200,
        &[],
        test_idp::jwks(&[test_idp::key(0)]).as_bytes(),
    );
    let redirect = scenario.get_local("/", &[]);
    let csrf = format!(
        "_oauth2_proxy_csrf={}",
        set_cookie_pair(&redirect, "_oauth2_proxy_csrf").unwrap()
    );
    let state = query_param(redirect.header("location").unwrap(), "state").unwrap();
    let reply = scenario.get_local(
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", csrf.as_str())],
    );
    assert_eq!(reply.status, 503);
    assert!(scenario.host.logs().iter().any(|l| l
        .message
        .contains("workload identity: no valid federated token")));

    // An empty or expired file is refused too, and retried after the back-off.
    scenario.host.advance(std::time::Duration::from_secs(5));
    scenario.host.tick();
    let fetch = scenario.only_call();
    scenario.host.respond(
        fetch.token,
        200,
        &[],
        service_account_token(START, "stale").as_bytes(),
    );
    // Three failures: the first fetch, the sign-in it broke, and the stale file.
    assert_eq!(scenario.counter("entra_proxy.federated.failed"), 3);
    assert!(scenario
        .host
        .logs()
        .iter()
        .any(|l| l.message.contains("not being rotated")));
}
