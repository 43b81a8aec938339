//! Host-shim scenarios for API clients with `Authorization: Bearer <JWT>`
//! (`skip_jwt_bearer_tokens`): the real filter on a pinned clock, tokens minted with the test
//! IdP's keys.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use entra_proxy_tests::scenario::*;
use entra_proxy_tests::test_idp::{self, ALICE_OID, AUTHORITY, TENANT};
use hmac::{Hmac, Mac};
use host_shim::{Action, LocalResponse};
use serde_json::{json, Value};
use sha2::Sha256;

/// A second work tenant (not allowed unless a test says so).
const FABRIKAM: &str = "44444444-4444-4444-4444-444444444444";

fn bearer_config(extra: Value) -> Value {
    let mut overrides = json!({"skip_jwt_bearer_tokens": true});
    if let (Some(base), Value::Object(extra)) = (overrides.as_object_mut(), extra) {
        base.extend(extra);
    }
    config_with(overrides)
}

/// Alice's claims as an API token: an ID-token-shaped JWT for our client, without a nonce.
fn api_claims(now: u64) -> Value {
    let mut claims = test_idp::alice_claims(now, "");
    claims.as_object_mut().unwrap().remove("nonce");
    claims
}

fn token_with(now: u64, edit: impl FnOnce(&mut Value)) -> String {
    let mut claims = api_claims(now);
    edit(&mut claims);
    test_idp::sign(test_idp::key(0), &claims)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The multi-tenant (`common`) configuration with `entra_id_allowed_tenants`, keys loaded.
fn multi_tenant(extra: Value) -> Scenario {
    let mut config = json!({
        "oidc_issuer_url": format!("https://{AUTHORITY}/common/v2.0"),
        "insecure_oidc_skip_issuer_verification": true,
        "entra_id_allowed_tenants": [TENANT],
        "email_domains": ["*"],
    });
    if let (Some(base), Value::Object(extra)) = (config.as_object_mut(), extra) {
        base.extend(extra);
    }
    let scenario = Scenario::start(bearer_config(config));
    load_common_provider(&scenario);
    scenario
}

/// Answer the discovery and JWKS fetches of a `common` configuration. Entra's document for
/// `common` names the template issuer `https://login.microsoftonline.com/{tenantid}/v2.0`.
fn load_common_provider(scenario: &Scenario) {
    scenario.host.tick();
    let discovery = scenario.only_call();
    assert_eq!(
        discovery.path(),
        "/common/v2.0/.well-known/openid-configuration"
    );
    let document = test_idp::discovery()
        .replace(
            &format!("{AUTHORITY}/{TENANT}/v2.0"),
            &format!("{AUTHORITY}/{{tenantid}}/v2.0"),
        )
        .replace(TENANT, "common");
    scenario
        .host
        .respond(discovery.token, 200, &[], document.as_bytes());
    let keys = scenario.only_call();
    assert_eq!(keys.path(), "/common/discovery/v2.0/keys");
    let jwks = test_idp::jwks(&[test_idp::key(0)]);
    scenario.host.respond(keys.token, 200, &[], jwks.as_bytes());
    assert!(scenario.host.pending_calls().is_empty());
}

/// Claims of a user of another tenant, issued by Entra for our (multi-tenant) client.
fn tenant_claims(now: u64, tenant: &str) -> Value {
    let mut claims = api_claims(now);
    claims["iss"] = json!(format!("https://{AUTHORITY}/{tenant}/v2.0"));
    claims["tid"] = json!(tenant);
    claims
}

/// Replace the keys every worker uses, as a background JWKS refresh on another worker would.
fn publish_keys(scenario: &Scenario, issuer_url: &str, jwks: &str) {
    let key = format!("entra-proxy-wasm/entra/{issuer_url}/provider");
    let (record, cas) = scenario.host.shared_data(&key).unwrap();
    let mut record: Value = serde_json::from_slice(&record).unwrap();
    record["jwks"] = json!(jwks);
    let status = scenario
        .host
        .set_shared_data(&key, record.to_string().as_bytes(), cas);
    assert_eq!(status, host_shim::Status::Ok);
    scenario.host.tick();
    assert!(
        scenario.host.pending_calls().is_empty(),
        "fresh keys are not refetched"
    );
}

fn get(scenario: &Scenario, path: &str, headers: &[(&str, &str)]) -> (host_shim::Stream, Action) {
    scenario.request("GET", path, headers)
}

fn body_json(reply: &LocalResponse) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

fn assert_invalid(reply: &LocalResponse, reason: &str) {
    assert_eq!(
        reply.status,
        401,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(
        reply.headers.get("www-authenticate"),
        Some(format!("Bearer error=\"invalid_token\", error_description=\"{reason}\"").as_str())
    );
    assert_eq!(reply.headers.get("content-type"), Some("application/json"));
    let body = body_json(reply);
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(body["error_description"], reason);
}

fn assert_forbidden(reply: &LocalResponse) -> Value {
    assert_eq!(
        reply.status,
        403,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let challenge = reply.headers.get("www-authenticate").unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\", error_description=\""),
        "{challenge}"
    );
    let body = body_json(reply);
    assert_eq!(body["error"], "insufficient_scope");
    body
}

fn local(scenario: &Scenario, path: &str, headers: &[(&str, &str)]) -> LocalResponse {
    let (stream, action) = get(scenario, path, headers);
    assert_eq!(action, Action::Pause, "expected a local reply");
    stream.local_response().unwrap()
}

#[test]
fn valid_token_is_forwarded_with_identity_without_spoofed_headers_or_any_callout() {
    let scenario = Scenario::ready(bearer_config(json!({"set_xauthrequest": true})));
    let token = token_with(scenario.now(), |_| {});
    let authorization = bearer(&token);
    let calls_before = scenario.host.dispatched_calls().len();
    let (stream, action) = get(
        &scenario,
        "/api/items",
        &[
            ("authorization", &authorization),
            ("x-forwarded-user", "mallory"),
            ("X_Forwarded_Groups", "admins"),
            ("accept", "application/json"),
        ],
    );
    assert_eq!(action, Action::Continue);
    let headers = stream.request_header_map();
    assert_alice_identity(&headers);
    assert_eq!(headers.get_all("x-auth-request-user"), vec![ALICE_OID]);
    assert!(!headers.contains("x_forwarded_groups"));
    assert!(
        !headers.contains("authorization"),
        "the caller's token is stripped unless pass_authorization_header"
    );
    assert!(!headers.contains("x-forwarded-access-token"));
    assert_eq!(
        scenario.host.dispatched_calls().len(),
        calls_before,
        "no callout"
    );
    assert_eq!(scenario.counter("entra_proxy.bearer.valid"), 1);
    assert_eq!(scenario.counter("entra_proxy.session.valid"), 0);

    // The same token again: served from the worker's cache, and logged only when verified.
    let (_, action) = get(
        &scenario,
        "/api/items",
        &[("authorization", &authorization)],
    );
    assert_eq!(action, Action::Continue);
    assert_eq!(scenario.counter("entra_proxy.bearer.valid"), 2);
    let verified: Vec<String> = scenario
        .host
        .logs()
        .into_iter()
        .map(|l| l.message)
        .filter(|m| m.contains("bearer token verified"))
        .collect();
    assert_eq!(verified.len(), 1, "{verified:?}");
    assert!(
        verified[0].contains(&format!("user={ALICE_OID}")),
        "{verified:?}"
    );
    assert!(
        scenario
            .host
            .logs()
            .iter()
            .all(|l| !l.message.contains(&token)),
        "the token is never logged"
    );
}

#[test]
fn pass_authorization_header_and_pass_access_token_forward_the_same_token() {
    let scenario = Scenario::ready(bearer_config(
        json!({"pass_authorization_header": true, "pass_access_token": true}),
    ));
    let token = token_with(scenario.now(), |_| {});
    // The scheme is case-insensitive; what goes upstream is normalised.
    let authorization = format!("bEaReR {token}");
    let (stream, action) = get(&scenario, "/", &[("authorization", &authorization)]);
    assert_eq!(action, Action::Continue);
    let headers = stream.request_header_map();
    assert_eq!(
        headers.get_all("authorization"),
        vec![bearer(&token).as_str()]
    );
    assert_eq!(
        headers.get_all("x-forwarded-access-token"),
        vec![token.as_str()]
    );
}

#[test]
fn invalid_tokens_get_401_with_an_rfc6750_challenge_and_are_logged_without_the_token() {
    let scenario = Scenario::ready(bearer_config(json!({})));
    let now = scenario.now();
    let header = |alg: &str| {
        URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": alg, "kid": "test-key-0"}).to_string())
    };
    let payload = URL_SAFE_NO_PAD.encode(api_claims(now).to_string());
    let alg_none = format!("{}.{payload}.", header("none"));
    // HS256 keyed with the public modulus: the classic algorithm-confusion forgery.
    let hs256 = {
        let input = format!("{}.{payload}", header("HS256"));
        let jwks: Value = serde_json::from_str(&test_idp::jwks(&[test_idp::key(0)])).unwrap();
        let secret = jwks["keys"][0]["n"].as_str().unwrap().to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    let good = token_with(now, |_| {});
    let (head, _) = good.rsplit_once('.').unwrap();
    let tampered_signature = format!("{head}.{}", URL_SAFE_NO_PAD.encode([7u8; 256]));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            token_with(now, |c| {
                c["iat"] = json!(now - 7200);
                c["nbf"] = json!(now - 7200);
                c["exp"] = json!(now - 3600);
            }),
            "expired",
        ),
        (
            "not yet valid",
            token_with(now, |c| c["nbf"] = json!(now + 600)),
            "not_yet_valid",
        ),
        (
            "wrong audience",
            token_with(now, |c| c["aud"] = json!("api://another-app")),
            "wrong_audience",
        ),
        (
            "another issuer",
            token_with(now, |c| {
                c["iss"] = json!(format!("https://{AUTHORITY}/{FABRIKAM}/v2.0"))
            }),
            "wrong_issuer",
        ),
        ("alg none", alg_none, "bad_algorithm"),
        ("HS256", hs256, "bad_algorithm"),
        ("bad signature", tampered_signature, "bad_signature"),
        (
            "unknown kid",
            test_idp::sign(test_idp::key(2), &api_claims(now)),
            "unknown_kid",
        ),
        ("opaque token", "not-a-jwt".to_string(), "malformed"),
        ("empty credentials", String::new(), "malformed"),
    ];
    for (i, (what, token, reason)) in cases.iter().enumerate() {
        let authorization = bearer(token);
        let reply = local(&scenario, "/api", &[("authorization", &authorization)]);
        assert_invalid(&reply, reason);
        assert_eq!(
            scenario.counter("entra_proxy.bearer.invalid"),
            i as u64 + 1,
            "{what}"
        );
        let log = scenario.host.logs().last().unwrap().clone();
        assert_eq!(log.level, host_shim::LogLevel::Info, "{what}");
        assert!(
            log.message
                .contains(&format!("bearer token rejected ({reason})")),
            "{what}: {}",
            log.message
        );
        if !token.is_empty() {
            assert!(
                !log.message.contains(token.as_str()),
                "{what}: the token is never logged"
            );
        }
    }
    assert!(
        scenario.host.pending_calls().is_empty(),
        "an unknown kid makes no callout (keys refresh hourly)"
    );
    assert_eq!(scenario.counter("entra_proxy.bearer.valid"), 0);
}

#[test]
fn multi_tenant_tokens_pass_the_tenant_rule_unlike_oauth2_proxy() {
    let scenario = multi_tenant(json!({}));
    let now = scenario.now();
    let allowed = test_idp::sign(test_idp::key(0), &tenant_claims(now, TENANT));
    let (stream, action) = get(&scenario, "/", &[("authorization", &bearer(&allowed))]);
    assert_eq!(action, Action::Continue);
    assert_eq!(
        stream.request_header_map().get("x-forwarded-user"),
        Some(ALICE_OID)
    );

    // Entra signs every tenant's tokens with the same keys: only the tenant rule stops these.
    let denied = test_idp::sign(test_idp::key(0), &tenant_claims(now, FABRIKAM));
    let reply = local(&scenario, "/", &[("authorization", &bearer(&denied))]);
    assert_invalid(&reply, "tenant_not_allowed");
    let mut mismatch = tenant_claims(now, TENANT);
    mismatch["tid"] = json!(FABRIKAM);
    let mismatch = test_idp::sign(test_idp::key(0), &mismatch);
    let reply = local(&scenario, "/", &[("authorization", &bearer(&mismatch))]);
    assert_invalid(&reply, "tenant_mismatch");
    let mut v1 = tenant_claims(now, TENANT);
    v1["iss"] = json!(format!("https://sts.windows.net/{TENANT}/"));
    let v1 = test_idp::sign(test_idp::key(0), &v1);
    let reply = local(&scenario, "/", &[("authorization", &bearer(&v1))]);
    assert_invalid(&reply, "wrong_issuer");
    assert_eq!(scenario.counter("entra_proxy.bearer.invalid"), 3);
}

/// A v1.0 access token for our API, as Entra issues it when the app's manifest asks for v1
/// tokens: `sts.windows.net` issuer, `upn` instead of `preferred_username`.
fn v1_claims(now: u64) -> Value {
    json!({
        "aud": "api://orders",
        "iss": format!("https://sts.windows.net/{TENANT}/"),
        "iat": now, "nbf": now, "exp": now + 3600,
        "oid": ALICE_OID,
        "sub": "pairwise-subject-of-alice",
        "tid": TENANT,
        "upn": "alice@contoso.example",
        "unique_name": "alice@contoso.example",
        "ver": "1.0",
    })
}

#[test]
fn v1_tokens_are_accepted_only_from_a_configured_extra_jwt_issuer() {
    let scenario = Scenario::ready(bearer_config(json!({})));
    let token = test_idp::sign(test_idp::key(0), &v1_claims(scenario.now()));
    let reply = local(&scenario, "/", &[("authorization", &bearer(&token))]);
    assert_invalid(&reply, "wrong_issuer");

    let issuer = format!("https://sts.windows.net/{TENANT}/");
    let scenario = Scenario::ready(bearer_config(
        json!({"extra_jwt_issuers": [format!("{issuer}=api://orders")]}),
    ));
    let token = test_idp::sign(test_idp::key(0), &v1_claims(scenario.now()));
    let (stream, action) = get(&scenario, "/", &[("authorization", &bearer(&token))]);
    assert_eq!(action, Action::Continue);
    let headers = stream.request_header_map();
    assert_eq!(headers.get("x-forwarded-user"), Some(ALICE_OID));
    assert_eq!(
        headers.get("x-forwarded-email"),
        Some("alice@contoso.example"),
        "upn is the address"
    );

    // The extra issuer's audience is its own: a v1 token for another API stays out, and our
    // v2 issuer does not accept the extra audience.
    let other = test_idp::sign(test_idp::key(0), &{
        let mut c = v1_claims(scenario.now());
        c["aud"] = json!("api://another");
        c
    });
    assert_invalid(
        &local(&scenario, "/", &[("authorization", &bearer(&other))]),
        "wrong_audience",
    );
    let v2_for_orders = token_with(scenario.now(), |c| c["aud"] = json!("api://orders"));
    assert_invalid(
        &local(
            &scenario,
            "/",
            &[("authorization", &bearer(&v2_for_orders))],
        ),
        "wrong_audience",
    );
}

#[test]
fn oidc_extra_audiences_are_accepted_from_the_main_issuer() {
    let scenario = Scenario::ready(bearer_config(
        json!({"oidc_extra_audiences": ["api://orders"]}),
    ));
    let token = token_with(scenario.now(), |c| c["aud"] = json!("api://orders"));
    let (_, action) = get(&scenario, "/", &[("authorization", &bearer(&token))]);
    assert_eq!(action, Action::Continue);
}

#[test]
fn a_cached_token_skips_verification_until_the_cache_ttl_or_its_expiry() {
    let scenario = Scenario::ready(bearer_config(json!({})));
    let issuer_url = test_idp::issuer();
    let now = scenario.now();
    let cached = token_with(now, |_| {});
    let short_lived = token_with(now, |c| c["exp"] = json!(now + 30));
    for token in [&cached, &short_lived] {
        assert_eq!(
            get(&scenario, "/", &[("authorization", &bearer(token))]).1,
            Action::Continue
        );
    }

    // Key 0 disappears from the key set. A token it signed that was never seen is refused; the
    // cached ones pass, which shows they are not verified again.
    publish_keys(&scenario, &issuer_url, &test_idp::jwks(&[test_idp::key(1)]));
    let fresh = token_with(now, |c| c["jti"] = json!("another token"));
    assert_invalid(
        &local(&scenario, "/", &[("authorization", &bearer(&fresh))]),
        "unknown_kid",
    );
    for token in [&cached, &short_lived] {
        let (stream, action) = get(&scenario, "/", &[("authorization", &bearer(token))]);
        assert_eq!(action, Action::Continue);
        assert_eq!(
            stream.request_header_map().get("x-forwarded-user"),
            Some(ALICE_OID)
        );
    }
    assert_eq!(scenario.counter("entra_proxy.bearer.valid"), 4);

    // Past exp (+60 s leeway) the short-lived token is checked again, and refused.
    scenario.host.advance(Duration::from_secs(91));
    assert_eq!(
        get(&scenario, "/", &[("authorization", &bearer(&cached))]).1,
        Action::Continue
    );
    assert_eq!(
        local(&scenario, "/", &[("authorization", &bearer(&short_lived))]).status,
        401
    );
    // After the cache TTL (300 s) every token is verified again.
    scenario.host.advance(Duration::from_secs(300 - 91));
    assert_invalid(
        &local(&scenario, "/", &[("authorization", &bearer(&cached))]),
        "unknown_kid",
    );
}

#[test]
fn allowed_groups_apply_to_bearer_tokens() {
    let scenario = Scenario::ready(bearer_config(json!({"allowed_groups": ["g-two"]})));
    let member = token_with(scenario.now(), |_| {});
    assert_eq!(
        get(&scenario, "/", &[("authorization", &bearer(&member))]).1,
        Action::Continue
    );

    let outsider = token_with(scenario.now(), |c| c["groups"] = json!(["g-three"]));
    for _ in 0..2 {
        let reply = local(&scenario, "/", &[("authorization", &bearer(&outsider))]);
        let body = assert_forbidden(&reply);
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("allowed groups"));
    }
    assert_eq!(scenario.counter("entra_proxy.authz.group_denied"), 2);
    assert_eq!(
        scenario.counter("entra_proxy.bearer.invalid"),
        0,
        "the token itself was fine"
    );
    let log = scenario.host.logs().last().unwrap().message.clone();
    assert!(
        log.contains(&format!("user={ALICE_OID}")) && log.contains("allowed_groups"),
        "{log}"
    );
}

/// Entra's overage marker: the token names a claim source instead of listing the groups.
fn overage(claims: &mut Value) {
    let claims = claims.as_object_mut().unwrap();
    claims.remove("groups");
    claims.insert("_claim_names".into(), json!({"groups": "src1"}));
    claims.insert(
        "_claim_sources".into(),
        json!({"src1": {"endpoint": format!("https://graph.windows.net/{TENANT}/users/{ALICE_OID}/getMemberObjects")}}),
    );
}

#[test]
fn group_overage_with_allowed_groups_fails_closed_with_403_and_no_graph_call() {
    let scenario = Scenario::ready(bearer_config(json!({
        "allowed_groups": ["g-two"],
        "clusters": {AUTHORITY: "entra", "graph.microsoft.com": "graph"},
    })));
    let token = token_with(scenario.now(), overage);
    let reply = local(&scenario, "/", &[("authorization", &bearer(&token))]);
    let body = assert_forbidden(&reply);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("group overage"),
        "{body}"
    );
    assert!(
        scenario.host.pending_calls().is_empty(),
        "Graph is not called with an API token"
    );

    // Without a group rule the groups do not matter, and the token passes (without groups).
    let scenario = Scenario::ready(bearer_config(json!({})));
    let token = token_with(scenario.now(), overage);
    let (stream, action) = get(&scenario, "/", &[("authorization", &bearer(&token))]);
    assert_eq!(action, Action::Continue);
    assert!(!stream.request_header_map().contains("x-forwarded-groups"));
}

#[test]
fn email_domains_apply_to_bearer_tokens() {
    let scenario = Scenario::ready(bearer_config(json!({})));
    let token = token_with(scenario.now(), |c| {
        c["email"] = json!("alice@elsewhere.example");
    });
    assert_forbidden(&local(
        &scenario,
        "/",
        &[("authorization", &bearer(&token))],
    ));
    assert_eq!(scenario.counter("entra_proxy.callback.email_denied"), 1);
}

#[test]
fn auth_endpoint_answers_for_a_bearer_token() {
    let scenario = Scenario::ready(bearer_config(json!({})));
    let token = token_with(scenario.now(), |_| {});
    let reply = local(
        &scenario,
        "/oauth2/auth",
        &[("authorization", &bearer(&token))],
    );
    assert_eq!(reply.status, 202);
    assert_eq!(reply.headers.get("x-auth-request-user"), Some(ALICE_OID));
    assert_eq!(
        reply.headers.get("x-auth-request-email"),
        Some("alice.smith@contoso.example")
    );
    assert_eq!(
        reply.headers.get("x-auth-request-groups"),
        Some("g-one,g-two")
    );
    assert_eq!(scenario.counter("entra_proxy.auth_endpoint.allowed"), 1);
    assert_eq!(scenario.counter("entra_proxy.bearer.valid"), 1);

    let reply = local(
        &scenario,
        "/oauth2/auth?allowed_groups=g-admins",
        &[("authorization", &bearer(&token))],
    );
    assert_eq!(reply.status, 403);
    let expired = token_with(scenario.now(), |c| c["exp"] = json!(1));
    assert_invalid(
        &local(
            &scenario,
            "/oauth2/auth",
            &[("authorization", &bearer(&expired))],
        ),
        "expired",
    );
    assert_eq!(
        scenario.counter("entra_proxy.bearer.valid"),
        1,
        "only the admitted answer counts"
    );
}

#[test]
fn requests_without_a_usable_bearer_go_down_the_cookie_path() {
    let scenario = Scenario::ready(bearer_config(json!({})));
    let token = token_with(scenario.now(), |_| {});
    let cases: [&[(&str, &str)]; 3] = [
        &[("authorization", "Basic YWxpY2U6cHc=")],
        // Only the first Authorization header counts.
        &[
            ("authorization", "Basic YWxpY2U6cHc="),
            ("authorization", &bearer(&token)),
        ],
        &[],
    ];
    for headers in cases {
        assert_eq!(local(&scenario, "/", headers).status, 302, "{headers:?}");
    }
    // Without skip_jwt_bearer_tokens a valid token means nothing either.
    let scenario = Scenario::ready(base_config());
    let reply = local(&scenario, "/", &[("authorization", &bearer(&token))]);
    assert_eq!(reply.status, 302);
    assert_eq!(
        scenario.counter("entra_proxy.bearer.valid")
            + scenario.counter("entra_proxy.bearer.invalid"),
        0
    );
}

#[test]
fn a_bearer_before_the_keys_are_loaded_is_503() {
    let scenario = Scenario::start(bearer_config(json!({})));
    let token = token_with(scenario.now(), |_| {});
    let reply = local(&scenario, "/", &[("authorization", &bearer(&token))]);
    assert_eq!(reply.status, 503);
    assert_eq!(scenario.counter("entra_proxy.provider.not_ready"), 1);
}

#[test]
fn a_signed_in_browser_session_is_ignored_when_a_bearer_is_present() {
    // A bearer decides on its own: an invalid one is not rescued by a valid cookie, so an API
    // client learns its token is broken instead of silently riding a browser session.
    let scenario = Scenario::ready(bearer_config(json!({})));
    let reply = scenario.sign_in("/", |_| {});
    let cookie = cookie_header_from(&reply);
    let expired = token_with(scenario.now(), |c| c["exp"] = json!(1));
    let reply = local(
        &scenario,
        "/",
        &[("cookie", &cookie), ("authorization", &bearer(&expired))],
    );
    assert_invalid(&reply, "expired");
    let (_, action) = get(&scenario, "/", &[("cookie", &cookie)]);
    assert_eq!(action, Action::Continue);
}
