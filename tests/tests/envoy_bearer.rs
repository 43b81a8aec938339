//! End-to-end API clients through a real Envoy running the release wasm: bearer tokens issued
//! by the Entra emulator for an allowed and a denied tenant of a multi-tenant app.

use std::time::Duration;

use entra_proxy_tests::client::{Client, Reply};
use entra_proxy_tests::emulator::{
    alice, fabrikam_user, Emulator, EmulatorConfig, ALICE_GROUPS, DEFAULT_CLIENT_ID,
    DEFAULT_TENANT_ID,
};
use entra_proxy_tests::envoy::{Envoy, EnvoyConfig};
use entra_proxy_tests::paths::TestLogs;
use entra_proxy_tests::stack::{plugin_config, Stack, READY_STAT};
use entra_proxy_tests::upstream::Upstream;
use serde_json::json;

/// A multi-tenant (`common`) app that accepts API tokens from the contoso tenant only. Built
/// here rather than with `Stack::start` because the issuer URL names the emulator's port.
fn multi_tenant_stack(test: &str) -> Stack {
    let logs = TestLogs::new(test);
    let entra = Emulator::start(EmulatorConfig::multi_tenant());
    let upstream = Upstream::start();
    let overrides = json!({
        "oidc_issuer_url": entra.issuer_url_for("common"),
        "insecure_oidc_skip_issuer_verification": true,
        "entra_id_allowed_tenants": [DEFAULT_TENANT_ID],
        "skip_jwt_bearer_tokens": true,
    });
    let config = EnvoyConfig::new(upstream.port())
        .plugin_config(plugin_config(&entra, overrides))
        .cluster("entra", entra.port())
        .concurrency(2);
    let envoy = Envoy::start(&config, &logs.subdir("envoy"));
    envoy.wait_for_counter(READY_STAT, 1, Duration::from_secs(30));
    let base = envoy.url("main");
    Stack {
        envoy,
        entra,
        upstream,
        base,
        logs,
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Send `token` and expect a 401 with an RFC 6750 challenge naming `reason`.
fn rejected(stack: &Stack, client: &mut Client, token: &str, reason: &str) -> Reply {
    let reply = client.get_url(
        &stack.url("/api/orders"),
        &[("authorization", &bearer(token))],
    );
    assert_eq!(reply.status, 401, "{}", reply.body);
    let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{reason}\"");
    assert_eq!(reply.header("www-authenticate"), Some(challenge.as_str()));
    reply
}

#[test]
fn tokens_of_the_allowed_tenant_pass_and_of_another_tenant_get_401_without_any_callout() {
    let stack = multi_tenant_stack("e2e_bearer_tenants");
    let allowed = stack
        .entra
        .mint_id_token(stack.entra.id_token_claims("alice", DEFAULT_CLIENT_ID));
    let denied = stack.entra.mint_id_token(
        stack
            .entra
            .id_token_claims(&fabrikam_user().username, DEFAULT_CLIENT_ID),
    );
    let before = stack.entra.counts();
    let mut client = Client::new();

    for i in 0..10 {
        let reply = client.get_url(
            &stack.url(&format!("/api/orders/{i}")),
            &[
                ("authorization", &bearer(&allowed)),
                ("x-forwarded-user", "mallory"),
            ],
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let requests = stack.upstream.requests();
    assert_eq!(requests.len(), 10);
    let seen = &requests[0];
    let user = alice();
    assert_eq!(seen.header("x-forwarded-user"), Some(user.oid.as_str()));
    assert_eq!(seen.header("x-forwarded-email"), user.email.as_deref());
    assert_eq!(
        seen.header("x-forwarded-groups"),
        Some(ALICE_GROUPS.join(",").as_str())
    );
    assert_eq!(
        seen.header_all("x-forwarded-user").len(),
        1,
        "the spoofed copy is gone"
    );
    assert_eq!(
        seen.header("authorization"),
        None,
        "the caller's token is not passed on"
    );

    let reply = rejected(&stack, &mut client, &denied, "tenant_not_allowed");
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(
        stack.upstream.count(),
        10,
        "the denied tenant never reaches the app"
    );

    // A Graph access token of the allowed tenant is a v1 token for another audience: refused.
    let graph = stack
        .entra
        .issue_access_token("alice", DEFAULT_CLIENT_ID, "openid User.Read");
    rejected(&stack, &mut client, &graph, "wrong_issuer");

    let after = stack.entra.counts();
    assert_eq!(
        (
            after.discovery,
            after.jwks,
            after.authorize,
            after.token,
            after.graph,
            after.other
        ),
        (
            before.discovery,
            before.jwks,
            before.authorize,
            before.token,
            before.graph,
            before.other
        ),
        "bearer requests make no callouts"
    );
    assert_eq!(stack.counter("entra_proxy.bearer.valid"), 10);
    assert_eq!(stack.counter("entra_proxy.bearer.invalid"), 2);
    assert_eq!(stack.counter("entra_proxy.login.redirect"), 0);
    stack.envoy.wait_for_log(
        "bearer token rejected (tenant_not_allowed)",
        Duration::from_secs(10),
    );
    let log = stack.envoy.log_text();
    assert!(
        !log.contains(&denied) && !log.contains(&allowed),
        "tokens are never logged"
    );
}
