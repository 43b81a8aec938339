//! End-to-end sign-in through a real Envoy 1.40 running the release wasm, against the Entra
//! emulator, with a recording upstream that tells exactly which requests got through.

use std::time::Duration;

use entra_proxy_tests::client::Client;
use entra_proxy_tests::emulator::{alice, EmulatorConfig, Endpoint, Fault, Tamper, ALICE_GROUPS};
use entra_proxy_tests::stack::{Stack, COOKIE_SECRET};
use serde_json::json;

#[test]
fn browser_is_redirected_signs_in_and_reaches_the_upstream_with_its_identity() {
    let stack = Stack::scripted("e2e_sign_in", json!({}));
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, "/dashboard?tab=1");
    let statuses: Vec<u16> = hops.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![302, 302, 302, 200], "{hops:#?}");
    assert!(hops[0]
        .header("location")
        .unwrap()
        .starts_with(&format!("{}/", stack.entra.base_url())));
    assert_eq!(hops[2].header("location"), Some("/dashboard?tab=1"));

    let requests = stack.upstream.requests();
    assert_eq!(
        requests.len(),
        1,
        "only the signed-in request reached the app"
    );
    let seen = &requests[0];
    assert_eq!(seen.path, "/dashboard?tab=1");
    let user = alice();
    assert_eq!(seen.header("x-forwarded-user"), Some(user.oid.as_str()));
    assert_eq!(seen.header("x-forwarded-email"), user.email.as_deref());
    assert_eq!(
        seen.header("x-forwarded-preferred-username"),
        Some(user.username.as_str())
    );
    assert_eq!(
        seen.header("x-forwarded-groups"),
        Some(ALICE_GROUPS.join(",").as_str())
    );
    // Cookies are not port-scoped, so the emulator's SSO cookie rides along; ours must not.
    let cookie = seen.header("cookie").unwrap_or("");
    assert!(
        !cookie.contains("_oauth2_proxy"),
        "our cookies never reach the app: {cookie}"
    );
    assert_eq!(stack.counter("entra_proxy.callback.success"), 1);
}

#[test]
fn a_session_is_reused_without_any_callout() {
    let stack = Stack::scripted("e2e_session_reuse", json!({}));
    let mut client = Client::new();
    stack.sign_in(&mut client, "/");
    let before = stack.entra.counts();
    for i in 0..20 {
        let reply = client.get_url(&stack.url(&format!("/page/{i}")), &[]);
        assert_eq!(reply.status, 200);
    }
    let after = stack.entra.counts();
    assert_eq!(
        (after.token, after.authorize, after.jwks, after.discovery),
        (
            before.token,
            before.authorize,
            before.jwks,
            before.discovery
        )
    );
    assert_eq!(stack.upstream.count(), 21);
    assert_eq!(stack.counter("entra_proxy.session.valid"), 21);
}

#[test]
fn tampered_truncated_expired_or_foreign_named_cookies_mean_a_fresh_sign_in() {
    let stack = Stack::scripted("e2e_bad_cookies", json!({}));
    let mut client = Client::new();
    stack.sign_in(&mut client, "/");
    let good = client.get("_oauth2_proxy").unwrap().to_string();

    // An expired session sealed with the right key: authentic but dead.
    let config = entra_proxy_wasm::config::Config::from_json(
        entra_proxy_tests::stack::plugin_config(&stack.entra, json!({}))
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(COOKIE_SECRET.len(), 32);
    let expired = entra_proxy_wasm::session::Session {
        user: "someone".into(),
        created_at: 1_000,
        expires_at: 2_000,
        ..Default::default()
    }
    .seal(&config.cipher, "_oauth2_proxy", [9u8; 24]);
    // A valid value sealed for another cookie name, replayed under ours.
    let foreign = entra_proxy_wasm::session::Session {
        user: "mallory".into(),
        created_at: 1_000,
        expires_at: u64::MAX / 2,
        ..Default::default()
    }
    .seal(&config.cipher, "_other_cookie", [9u8; 24]);
    let mut flipped = good.clone().into_bytes();
    flipped[30] = if flipped[30] == b'x' { b'y' } else { b'x' };
    let cases = [
        ("tampered", String::from_utf8(flipped).unwrap()),
        ("truncated", good[..good.len() / 2].to_string()),
        ("expired", expired),
        ("foreign name", foreign),
    ];
    let upstream_before = stack.upstream.count();
    for (what, value) in cases {
        let mut bad = Client::new();
        bad.set("_oauth2_proxy", &value);
        let reply = bad.get_url(&stack.url("/secret"), &[]);
        assert_eq!(reply.status, 302, "{what}");
        assert!(
            reply
                .header("location")
                .unwrap()
                .contains("/oauth2/v2.0/authorize"),
            "{what}"
        );
    }
    assert_eq!(
        stack.upstream.count(),
        upstream_before,
        "none reached the app"
    );
    assert_eq!(stack.counter("entra_proxy.session.invalid"), 3);
    assert_eq!(stack.counter("entra_proxy.session.expired"), 1);
}

#[test]
fn a_session_over_4_kb_is_split_into_chunks_and_works() {
    let mut user = alice();
    user.groups = (0..150)
        .map(|i| {
            format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                i * 2654435761u64 % 0xffff_ffff,
                i * 7 % 0xffff,
                i * 13 % 0xfff,
                i * 17 % 0xfff,
                i * 0x9e37_79b9u64 % 0xffff_ffff_ffff
            )
        })
        .collect();
    let emulator = EmulatorConfig {
        auto_login: Some("alice".into()),
        users: vec![user.clone()],
        ..EmulatorConfig::default()
    };
    let stack = Stack::start(
        "e2e_chunks",
        emulator,
        json!({"pass_authorization_header": true}),
        2,
    );
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, "/");
    assert_eq!(hops.last().unwrap().status, 200);
    let names: Vec<&str> = client.cookies.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"_oauth2_proxy_0") && names.contains(&"_oauth2_proxy_1"),
        "{names:?}"
    );
    assert!(hops[2].set_cookies().iter().all(|c| c.len() < 4096));
    let seen = stack.upstream.last().unwrap();
    assert_eq!(
        seen.header("x-forwarded-groups")
            .unwrap()
            .split(',')
            .count(),
        150
    );
    assert!(seen
        .header("authorization")
        .unwrap()
        .starts_with("Bearer ey"));
}

#[test]
fn bad_or_replayed_state_is_403() {
    let stack = Stack::scripted("e2e_state", json!({}));
    let mut client = Client::new();
    let first = client.get_url(&stack.url("/"), &[]);
    let authorize = first.header("location").unwrap().to_string();
    let back = client.get_url(&authorize, &[]);
    let callback = back.header("location").unwrap().to_string();

    // Wrong state with the right CSRF cookie.
    let mut wrong = callback.replace("state=", "state=x");
    wrong.push('&');
    let mut tamper_client = client.clone();
    assert_eq!(tamper_client.get_url(&wrong, &[]).status, 403);

    // The real callback works once ...
    let csrf = client.get("_oauth2_proxy_csrf").unwrap().to_string();
    assert_eq!(client.get_url(&callback, &[]).status, 302);
    // ... and replaying it (same URL, same CSRF cookie) is refused.
    let mut replay = Client::new();
    replay.set("_oauth2_proxy_csrf", &csrf);
    let reply = replay.get_url(&callback, &[]);
    assert_eq!(reply.status, 403, "{}", reply.body);
    stack
        .envoy
        .wait_for_log("AADSTS54005", Duration::from_secs(10));
    assert_eq!(stack.upstream.count(), 0);
}

#[test]
fn id_tokens_with_a_wrong_issuer_audience_nonce_signature_or_algorithm_are_rejected() {
    let stack = Stack::scripted("e2e_bad_tokens", json!({}));
    for tamper in [
        Tamper::WrongIssuer,
        Tamper::WrongAudience,
        Tamper::WrongNonce,
        Tamper::BadSignature,
        Tamper::AlgNone,
        Tamper::Hs256WithPublicKey,
        Tamper::SignedByOtherKey,
        Tamper::Expired,
    ] {
        stack.entra.set_tamper(Some(tamper));
        let mut client = Client::new();
        let hops = stack.sign_in(&mut client, "/");
        let last = hops.last().unwrap();
        assert_eq!(last.status, 403, "{tamper:?}: {}", last.body);
        assert!(
            client.get("_oauth2_proxy").is_none(),
            "{tamper:?}: no session"
        );
    }
    assert_eq!(stack.counter("entra_proxy.callback.id_token_invalid"), 8);
    assert_eq!(stack.upstream.count(), 0);
}

#[test]
fn identity_provider_down_or_slow_gives_5xx_and_the_upstream_is_never_hit() {
    let stack = Stack::scripted("e2e_idp_down", json!({"http_timeout": "1s"}));
    let faults = [
        Fault::Status(500),
        Fault::Status(503),
        Fault::MalformedJson,
        Fault::Close,
        Fault::Delay(Duration::from_secs(3)),
    ];
    for fault in faults {
        stack.entra.set_fault(Endpoint::Token, fault.clone());
        let mut client = Client::new();
        let hops = stack.sign_in(&mut client, "/");
        let last = hops.last().unwrap();
        assert!(
            matches!(last.status, 502 | 503),
            "{fault:?}: {} {}",
            last.status,
            last.body
        );
        assert!(last.body.contains("Request ID:"), "{fault:?}");
    }
    stack.entra.clear_faults();
    assert_eq!(stack.upstream.count(), 0);
    assert_eq!(
        stack.counter("entra_proxy.callback.token_endpoint_failure"),
        5
    );
}

#[test]
fn discovery_down_at_start_answers_503_then_recovers_without_restart() {
    let emulator = EmulatorConfig {
        auto_login: Some("alice".into()),
        ..EmulatorConfig::default()
    };
    let logs = entra_proxy_tests::paths::TestLogs::new("e2e_discovery_down");
    let entra = entra_proxy_tests::emulator::Emulator::start(emulator);
    entra.set_fault(Endpoint::Discovery, Fault::Status(500));
    let upstream = entra_proxy_tests::upstream::Upstream::start();
    let config = entra_proxy_tests::envoy::EnvoyConfig::new(upstream.port())
        .plugin_config(entra_proxy_tests::stack::plugin_config(&entra, json!({})))
        .cluster("entra", entra.port())
        .concurrency(2);
    let envoy = entra_proxy_tests::envoy::Envoy::start(&config, &logs.subdir("envoy"));
    envoy.wait_for_counter(
        "wasmcustom.entra_proxy.provider.discovery_failed",
        1,
        Duration::from_secs(30),
    );
    let mut client = Client::new();
    let reply = client.get_url(&format!("{}/", envoy.url("main")), &[]);
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("5"));
    entra.clear_faults();
    envoy.wait_for_counter(
        "wasmcustom.entra_proxy.provider.jwks_fetched",
        1,
        Duration::from_secs(30),
    );
    let reply = client.get_url(&format!("{}/", envoy.url("main")), &[]);
    assert_eq!(reply.status, 302);
    assert_eq!(upstream.count(), 0);
}

#[test]
fn spoofed_identity_headers_are_stripped() {
    let stack = Stack::scripted("e2e_spoofing", json!({"set_xauthrequest": true}));
    let mut client = Client::new();
    stack.sign_in(&mut client, "/");
    let reply = client.get_url(
        &stack.url("/x"),
        &[
            ("X-Forwarded-User", "mallory"),
            ("X-Forwarded-Email", "mallory@evil.example"),
            ("X-Auth-Request-User", "mallory"),
            ("X-Auth-Request-Groups", "admins"),
            ("Authorization", "Bearer forged"),
            ("X-Forwarded-Access-Token", "forged"),
        ],
    );
    assert_eq!(reply.status, 200);
    let seen = stack.upstream.last().unwrap();
    assert_eq!(
        seen.header_all("x-forwarded-user"),
        vec![alice().oid.as_str()]
    );
    assert_eq!(
        seen.header_all("x-auth-request-user"),
        vec![alice().oid.as_str()]
    );
    assert!(seen.header("authorization").is_none());
    assert!(seen.header("x-forwarded-access-token").is_none());
    assert_ne!(seen.header("x-auth-request-groups"), Some("admins"));

    // Unauthenticated requests with spoofed headers never reach the app at all.
    let before = stack.upstream.count();
    let reply = Client::new().get_url(&stack.url("/x"), &[("X-Forwarded-User", "mallory")]);
    assert_eq!(reply.status, 302);
    assert_eq!(stack.upstream.count(), before);
}
