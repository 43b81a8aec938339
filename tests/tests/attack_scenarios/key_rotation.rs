//! Signing-key rotation: fast reproductions of what envoy_hardening sees.

use super::*;

/// A refresh whose new ID token is signed with a key the cached JWKS does not have yet (the
/// provider rotated its signing key) is a provider-side change, not a verdict on the user.
#[test]
fn a_refresh_signed_with_a_rotated_key_keeps_the_user_signed_in() {
    let scenario = ready(config_with(
        json!({"cookie_refresh": "1h", "scope": "openid email profile offline_access"}),
    ));
    scenario.host.tick();
    let reply = scenario.sign_in_with(
        "/",
        |_| {},
        |t| test_idp::token_response_with_refresh(t, "refresh-1"),
    );
    let cookie = cookie_header_from(&reply);
    scenario.host.advance(Duration::from_secs(3600));
    let (stream, _) = scenario.request("GET", "/due", &[("cookie", &cookie)]);
    let call = scenario.only_call();
    let mut claims = test_idp::alice_claims(scenario.now(), "unused");
    claims.as_object_mut().expect("object").remove("nonce");
    let rotated = test_idp::sign(test_idp::key(1), &claims);
    scenario.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response_with_refresh(&rotated, "refresh-2").as_bytes(),
    );
    // A JWKS refetch is the best answer; serving the current session is acceptable too.
    for refetch in scenario.host.pending_calls() {
        let jwks = test_idp::jwks(&[test_idp::key(1), test_idp::key(0)]);
        scenario
            .host
            .respond(refetch.token, 200, &[], jwks.as_bytes());
    }
    assert!(
        stream.request_resumed(),
        "{:?}",
        stream.local_response().map(|r| r.status)
    );
    assert_eq!(
        stream.request_header_map().get("x-forwarded-user"),
        Some(ALICE_OID)
    );
    assert_eq!(scenario.counter("entra_proxy.session.refresh_rejected"), 0);
}

/// Right after start-up the keys were just fetched, so the one-a-minute limit on unknown-kid
/// refetches refuses a token signed with a key rotated in since.
#[test]
fn a_new_kid_right_after_start_up_triggers_one_refetch() {
    let scenario = ready(base_config());
    let (csrf, state, nonce) = begin(&scenario);
    let (stream, call) = callback(&scenario, &csrf, &state, "c");
    let token = test_idp::sign(
        test_idp::key(1),
        &test_idp::alice_claims(scenario.now(), &nonce),
    );
    scenario.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response(&token).as_bytes(),
    );
    let refetch = scenario.only_call();
    let jwks = test_idp::jwks(&[test_idp::key(1), test_idp::key(0)]);
    scenario
        .host
        .respond(refetch.token, 200, &[], jwks.as_bytes());
    assert_eq!(stream.local_response().expect("reply").status, 302);
}
