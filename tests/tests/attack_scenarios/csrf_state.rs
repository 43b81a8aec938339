//! State and CSRF cookies: replayed callbacks, missing, mixed and foreign CSRF cookies.

use super::*;

#[test]
fn a_replayed_callback_is_redeemed_again_and_refused_by_the_single_use_code() {
    let scenario = ready(base_config());
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
    let scenario = ready(config.clone());
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
    let per_request = ready(config_with(json!({"cookie_csrf_per_request": true})));
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
