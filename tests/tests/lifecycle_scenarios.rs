//! Host-shim scenarios for everything after the first sign-in: refresh, endpoints, skipped
//! routes, header injection, group rules and Graph overage.

use std::time::Duration;

use entra_proxy_tests::scenario::*;
use entra_proxy_tests::test_idp::{self, ALICE_OID};
use host_shim::{Action, Outcome};
use serde_json::json;

fn signed_in(scenario: &Scenario) -> String {
    let reply = scenario.sign_in("/", |_| {});
    assert_eq!(
        reply.status,
        302,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    cookie_header_from(&reply)
}

#[test]
fn skipped_routes_and_preflights_pass_without_a_session_but_never_with_spoofed_identity() {
    let scenario = Scenario::ready(config_with(json!({
        "skip_auth_routes": ["GET=^/health$", "^/public/"],
        "skip_auth_preflight": true,
    })));
    for (method, path, extra) in [
        ("GET", "/health", vec![]),
        ("POST", "/public/form", vec![]),
        (
            "OPTIONS",
            "/api/x",
            vec![
                ("origin", "https://spa.example.com"),
                ("access-control-request-method", "POST"),
            ],
        ),
    ] {
        let mut headers = extra.clone();
        headers.push(("x-forwarded-user", "mallory"));
        let (stream, action) = scenario.request(method, path, &headers);
        assert_eq!(action, Action::Continue, "{method} {path}");
        assert!(
            !stream.request_header_map().contains("x-forwarded-user"),
            "{method} {path}"
        );
    }
    for (method, path) in [
        ("POST", "/health"),
        ("GET", "/healthz/../admin"),
        ("OPTIONS", "/api/x"),
    ] {
        let (_, action) = scenario.request(method, path, &[]);
        assert_eq!(action, Action::Pause, "{method} {path} needs a session");
    }
    assert_eq!(scenario.counter("entra_proxy.route.skipped"), 3);
}

#[test]
fn userinfo_answers_the_identity_or_401() {
    let scenario = Scenario::ready(base_config());
    let reply = scenario.get_local("/oauth2/userinfo", &[]);
    assert_eq!(reply.status, 401);
    let cookie = signed_in(&scenario);
    let reply = scenario.get_local("/oauth2/userinfo", &[("cookie", &cookie)]);
    assert_eq!(reply.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        body,
        json!({"user": ALICE_OID, "email": "alice.smith@contoso.example", "groups": ["g-one", "g-two"], "preferredUsername": "alice@contoso.example"})
    );
}

#[test]
fn auth_endpoint_answers_like_nginx_auth_request_expects() {
    let scenario = Scenario::ready(config_with(json!({"pass_authorization_header": true})));
    assert_eq!(scenario.get_local("/oauth2/auth", &[]).status, 401);
    let cookie = signed_in(&scenario);
    let reply = scenario.get_local("/oauth2/auth", &[("cookie", &cookie)]);
    assert_eq!(reply.status, 202);
    assert!(reply.body.is_empty());
    assert_eq!(reply.header("x-auth-request-user"), Some(ALICE_OID));
    assert_eq!(
        reply.header("x-auth-request-email"),
        Some("alice.smith@contoso.example")
    );
    assert_eq!(reply.header("x-auth-request-groups"), Some("g-one,g-two"));
    assert_eq!(
        reply.header("x-auth-request-preferred-username"),
        Some("alice@contoso.example")
    );
    assert!(reply
        .header("authorization")
        .unwrap()
        .starts_with("Bearer ey"));
    let cases = [
        ("?allowed_groups=g-two,other", 202),
        ("?allowed_groups=other", 403),
        ("?allowed_email_domains=contoso.example", 202),
        ("?allowed_email_domains=evil.example", 403),
        ("?allowed_emails=alice.smith@contoso.example", 202),
        ("?allowed_emails=bob@contoso.example", 403),
    ];
    for (query, status) in cases {
        let reply = scenario.get_local(&format!("/oauth2/auth{query}"), &[("cookie", &cookie)]);
        assert_eq!(reply.status, status, "{query}");
    }
    // Behind ext_authz the app's own path and query are appended: they are not rules.
    let reply = scenario.get_local(
        "/oauth2/auth/app/page?allowed_emails=nobody@x.example",
        &[("cookie", &cookie)],
    );
    assert_eq!(reply.status, 202);
    assert_eq!(scenario.counter("entra_proxy.auth_endpoint.allowed"), 5);
    assert_eq!(scenario.counter("entra_proxy.auth_endpoint.denied"), 4);

    // Envoy's ext_authz treats any 2xx other than 200 as a denial (oauth2-proxy #2832).
    let ext_authz = Scenario::ready(config_with(json!({"auth_success_status": "200"})));
    let cookie = signed_in(&ext_authz);
    assert_eq!(
        ext_authz
            .get_local("/oauth2/auth", &[("cookie", &cookie)])
            .status,
        200
    );
}

#[test]
fn the_dashboard_example_header_injection_is_one_config_block() {
    // The seed's Kubernetes Dashboard alpha config, as JSON.
    let scenario = Scenario::ready(config_with(json!({
        "injectRequestHeaders": [
            {"name": "Authorization", "values": [{"claim": "id_token", "prefix": "Bearer "}]},
            {"name": "X-Tenant", "values": [{"claim": "tid"}]},
            {"name": "X-Client-Tag", "values": [{"claim": "email"}], "preserveRequestValue": true},
        ],
        "injectResponseHeaders": [
            {"name": "X-Auth-Request-User", "values": [{"claim": "email"}]},
            {"name": "X-Auth-Request-Groups", "values": [{"claim": "groups"}]},
        ],
    })));
    let cookie = signed_in(&scenario);
    let (stream, action) = scenario.request(
        "GET",
        "/api/v1/namespaces",
        &[
            ("cookie", &cookie),
            ("authorization", "Bearer forged"),
            ("x_tenant", "evil"),
            ("x-client-tag", "kept"),
        ],
    );
    assert_eq!(action, Action::Continue);
    let headers = stream.request_header_map();
    let bearer = headers.get_all("authorization");
    assert_eq!(bearer.len(), 1);
    assert!(bearer[0].starts_with("Bearer ey") && bearer[0] != "Bearer forged");
    assert_eq!(headers.get_all("x-tenant"), vec![test_idp::TENANT]);
    assert!(!headers.contains("x_tenant"));
    assert_eq!(
        headers.get_all("x-client-tag"),
        vec!["kept"],
        "preserveRequestValue keeps the client's value"
    );
    stream.response_headers(&[(":status", "200")], false);
    let response = stream.response_header_map();
    assert_eq!(
        response.get("x-auth-request-user"),
        Some("alice.smith@contoso.example")
    );
    assert_eq!(response.get("x-auth-request-groups"), Some("g-one,g-two"));

    let auth = scenario.get_local("/oauth2/auth", &[("cookie", &cookie)]);
    assert_eq!(
        auth.header("x-auth-request-user"),
        Some("alice.smith@contoso.example"),
        "injected values win on /oauth2/auth"
    );
}

#[test]
fn allowed_groups_are_enforced_at_sign_in() {
    let scenario = Scenario::ready(config_with(json!({"allowed_groups": ["G-TWO"]})));
    assert_eq!(
        scenario.sign_in("/", |_| {}).status,
        302,
        "group ids compare case-insensitively"
    );
    let scenario = Scenario::ready(config_with(json!({"allowed_groups": ["admins"]})));
    let reply = scenario.sign_in("/", |_| {});
    assert_eq!(reply.status, 403);
    assert!(String::from_utf8_lossy(&reply.body).contains("allowed_groups"));
    assert!(set_cookie_pair(&reply, "_oauth2_proxy").is_none());
    assert_eq!(scenario.counter("entra_proxy.authz.group_denied"), 1);
}

#[test]
fn a_group_rule_added_after_sign_in_refuses_existing_sessions_on_every_request() {
    // Alice (groups g-one, g-two) signs in while there is no group rule.
    let before = Scenario::ready(config_with(json!({})));
    let cookie = cookie_header_from(&before.sign_in("/", |_| {}));
    // The rule changes (a new VM, empty caches); her cookie is still valid but she is not in
    // it. The first request decides, the second is served from the worker's session cache:
    // both must refuse, and neither reaches the upstream.
    let after = Scenario::ready(config_with(json!({"allowed_groups": ["admins"]})));
    for attempt in ["first", "cached"] {
        let (stream, action) = after.request("GET", "/report", &[("cookie", &cookie)]);
        assert_eq!(action, Action::Pause, "{attempt}");
        assert_eq!(stream.local_response().unwrap().status, 403, "{attempt}");
    }
    assert_eq!(after.counter("entra_proxy.authz.group_denied"), 2);
    assert_eq!(after.counter("entra_proxy.session.valid"), 0);
    // A rule she is in lets the same cookie through.
    let member = Scenario::ready(config_with(json!({"allowed_groups": ["G-TWO"]})));
    let (_, action) = member.request("GET", "/report", &[("cookie", &cookie)]);
    assert_eq!(action, Action::Continue);
}

fn overage(claims: &mut serde_json::Value) {
    let object = claims.as_object_mut().unwrap();
    object.remove("groups");
    object.insert("_claim_names".into(), json!({"groups": "src1"}));
    object.insert(
        "_claim_sources".into(),
        json!({"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}),
    );
}

fn graph_config(extra: serde_json::Value) -> serde_json::Value {
    let mut config = config_with(json!({
        "allowed_groups": ["g-250"],
        "clusters": {"login.microsoftonline.com": "entra", "graph.microsoft.com": "graph"},
    }));
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config
}

fn page(ids: std::ops::Range<u32>, next: Option<&str>) -> String {
    let mut value: Vec<serde_json::Value> = ids
        .map(|i| json!({"@odata.type": "#microsoft.graph.group", "id": format!("g-{i}")}))
        .collect();
    value.push(json!({"@odata.type": "#microsoft.graph.directoryRole", "id": "role-1"}));
    let mut body = json!({"value": value});
    if let Some(next) = next {
        body["@odata.nextLink"] = json!(next);
    }
    body.to_string()
}

#[test]
fn group_overage_is_resolved_from_graph_pages_with_the_access_token() {
    let scenario = Scenario::ready(graph_config(json!({})));
    let (stream, ()) = scenario.sign_in_until_token("/", overage, test_idp::token_response);
    let first = scenario.only_call();
    assert_eq!(first.cluster, "graph");
    assert_eq!(first.authority(), "graph.microsoft.com");
    assert_eq!(
        first.path(),
        "/v1.0/me/transitiveMemberOf?$select=id&$top=999"
    );
    assert_eq!(
        first.headers.get("authorization"),
        Some("Bearer access-token-for-alice")
    );
    assert_eq!(first.headers.get("consistencylevel"), Some("eventual"));
    let next =
        "https://graph.microsoft.com/v1.0/me/transitiveMemberOf?$select=id&$top=999&$skiptoken=p2";
    scenario
        .host
        .respond(first.token, 200, &[], page(0..200, Some(next)).as_bytes());
    let second = scenario.only_call();
    assert_eq!(
        second.path(),
        "/v1.0/me/transitiveMemberOf?$select=id&$top=999&$skiptoken=p2"
    );
    scenario
        .host
        .respond(second.token, 200, &[], page(200..260, None).as_bytes());
    let reply = stream.local_response().unwrap();
    assert_eq!(
        reply.status,
        302,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let cookie = cookie_header_from(&reply);
    let (forwarded, _) = scenario.request("GET", "/", &[("cookie", &cookie)]);
    let groups = forwarded
        .request_header_map()
        .get("x-forwarded-groups")
        .unwrap()
        .to_string();
    // All 260 groups reach the app, though the cookie holds only the allowed one (plus a
    // handle to the list in the per-Envoy group cache, and the access token to refill it).
    let expected: Vec<String> = (0..260).map(|i| format!("g-{i}")).collect();
    assert_eq!(groups, expected.join(","));
    assert!(
        cookie.len() < 4096,
        "one small cookie: {} bytes",
        cookie.len()
    );
    let config =
        entra_proxy_wasm::config::Config::from_json(graph_config(json!({})).to_string().as_bytes())
            .unwrap();
    let value = cookie.strip_prefix("_oauth2_proxy=").unwrap();
    let session =
        entra_proxy_wasm::session::Session::open(&config.cipher, "_oauth2_proxy", value, START)
            .unwrap();
    assert_eq!(session.groups, vec!["g-250"]);
    assert!(session.groups_ref.is_some());
    assert_eq!(scenario.counter("entra_proxy.graph.groups_resolved"), 1);

    // Another list takes the slot in shared data: this worker rendered the session's headers
    // already, and the handle names the list's content, so it goes on without asking Graph.
    let handle = session.groups_ref.unwrap();
    let slot =
        u64::from_str_radix(&handle[..8], 16).unwrap() % entra_proxy_wasm::flow::group_cache::SLOTS;
    let key = format!(
        "entra-proxy-wasm/entra/{}/groups/{slot}",
        test_idp::issuer()
    );
    assert!(scenario.host.shared_data(&key).is_some());
    scenario.host.set_shared_data(&key, b"someone-else\ng-x", 0);
    let (same_worker, action) = scenario.request("GET", "/same-worker", &[("cookie", &cookie)]);
    assert_eq!(action, Action::Continue);
    assert_eq!(
        same_worker
            .request_header_map()
            .get("x-forwarded-groups")
            .unwrap(),
        expected.join(",")
    );
    assert!(scenario.host.pending_calls().is_empty());

    // A restart (or another replica) has neither the list nor the headers: it reads the list
    // again from Graph with the session's access token, and the request goes through with all
    // groups.
    let scenario = Scenario::ready(graph_config(json!({})));
    let (stream, action) = scenario.request("GET", "/after-restart", &[("cookie", &cookie)]);
    assert_eq!(action, Action::Pause);
    let refill = scenario.only_call();
    assert_eq!(
        refill.headers.get("authorization"),
        Some("Bearer access-token-for-alice")
    );
    scenario
        .host
        .respond(refill.token, 200, &[], page(0..300, None).as_bytes());
    assert!(stream.request_resumed());
    assert_eq!(
        stream
            .request_header_map()
            .get("x-forwarded-groups")
            .unwrap()
            .split(',')
            .count(),
        300
    );
    let (again, action) = scenario.request("GET", "/again", &[("cookie", &cookie)]);
    assert_eq!(
        action,
        Action::Continue,
        "the refilled cache serves the next request"
    );
    assert_eq!(
        again
            .request_header_map()
            .get("x-forwarded-groups")
            .unwrap()
            .split(',')
            .count(),
        300
    );
}

#[test]
fn group_overage_uses_check_member_groups_when_no_groups_header_is_wanted() {
    let scenario = Scenario::ready(graph_config(json!({"pass_user_headers": false})));
    let (stream, ()) = scenario.sign_in_until_token("/", overage, test_idp::token_response);
    let call = scenario.only_call();
    assert_eq!(call.method(), "POST");
    assert_eq!(call.path(), "/v1.0/me/checkMemberGroups");
    assert_eq!(call.body_text(), r#"{"groupIds":["g-250"]}"#);
    scenario
        .host
        .respond(call.token, 200, &[], br#"{"value":["g-250"]}"#);
    assert_eq!(stream.local_response().unwrap().status, 302);
}

#[test]
fn graph_failures_fail_the_sign_in_closed_instead_of_zero_groups() {
    let cases = [
        (
            403,
            r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"r-1"}}}"#,
            403,
            "Authorization_RequestDenied",
        ),
        (
            429,
            r#"{"error":{"code":"TooManyRequests","message":"slow down","innerError":{"request-id":"r-2"}}}"#,
            503,
            "TooManyRequests",
        ),
        (500, "oops", 502, "status=500"),
    ];
    for (status, body, expected, log) in cases {
        let scenario = Scenario::ready(graph_config(json!({})));
        let (stream, ()) = scenario.sign_in_until_token("/", overage, test_idp::token_response);
        let call = scenario.only_call();
        // A throttle longer than the filter waits out fails closed like any other error.
        scenario.host.respond(
            call.token,
            status,
            &[("retry-after", "120")],
            body.as_bytes(),
        );
        let reply = stream.local_response().unwrap();
        assert_eq!(reply.status, expected, "{status}");
        assert!(
            set_cookie_pair(&reply, "_oauth2_proxy").is_none(),
            "never a session with silently zero groups"
        );
        assert!(
            scenario.host.logs().iter().any(|l| l.message.contains(log)),
            "{log}"
        );
        assert_eq!(scenario.counter("entra_proxy.graph.failure"), 1);
    }
    // A forged nextLink cannot send the user's token to another host.
    let scenario = Scenario::ready(graph_config(json!({})));
    let (stream, ()) = scenario.sign_in_until_token("/", overage, test_idp::token_response);
    let call = scenario.only_call();
    scenario.host.respond(
        call.token,
        200,
        &[],
        page(0..1, Some("https://evil.example/steal")).as_bytes(),
    );
    assert_eq!(stream.local_response().unwrap().status, 502);
    assert!(scenario.host.pending_calls().is_empty());
}

fn refresh_config() -> serde_json::Value {
    config_with(json!({"cookie_refresh": "1h", "scope": "openid email profile offline_access"}))
}

fn signed_in_with_refresh(scenario: &Scenario) -> String {
    let reply = scenario.sign_in_with(
        "/",
        |_| {},
        |t| test_idp::token_response_with_refresh(t, "refresh-1"),
    );
    assert_eq!(reply.status, 302);
    cookie_header_from(&reply)
}

#[test]
fn a_due_session_is_refreshed_once_and_the_response_carries_the_new_cookie() {
    let scenario = Scenario::ready(refresh_config());
    scenario.host.tick();
    let cookie = signed_in_with_refresh(&scenario);
    let (_, action) = scenario.request("GET", "/early", &[("cookie", &cookie)]);
    assert_eq!(action, Action::Continue, "not due yet: no callout");
    scenario.host.advance(Duration::from_secs(3600));

    let (stream, action) = scenario.request("GET", "/due", &[("cookie", &cookie)]);
    assert_eq!(action, Action::Pause);
    let call = scenario.only_call();
    assert_eq!(
        call.path(),
        format!("/{}/oauth2/v2.0/token", test_idp::TENANT)
    );
    assert!(
        call.body_text()
            .starts_with("grant_type=refresh_token&refresh_token=refresh-1&client_id="),
        "{}",
        call.body_text()
    );

    // A parallel request of the same browser does not refresh again: it uses the session it has.
    let (parallel, action) = scenario.request("GET", "/parallel", &[("cookie", &cookie)]);
    assert_eq!(action, Action::Continue);
    assert_eq!(
        parallel.request_header_map().get("x-forwarded-user"),
        Some(ALICE_OID)
    );
    assert_eq!(scenario.host.pending_calls().len(), 1);

    let claims = test_idp::alice_claims(scenario.now(), "unused");
    let mut claims = claims;
    claims.as_object_mut().unwrap().remove("nonce");
    claims["groups"] = json!(["g-one", "g-three"]);
    let token = test_idp::sign(test_idp::key(0), &claims);
    scenario.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response_with_refresh(&token, "refresh-2").as_bytes(),
    );
    assert!(stream.request_resumed());
    assert_eq!(
        stream.request_header_map().get("x-forwarded-groups"),
        Some("g-one,g-three"),
        "rules and headers use the new token"
    );
    stream.response_headers(&[(":status", "200")], false);
    let set_cookie: Vec<String> = stream
        .response_header_map()
        .get_all("set-cookie")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(set_cookie.len(), 1);
    assert!(set_cookie[0].starts_with("_oauth2_proxy="));
    assert_eq!(scenario.counter("entra_proxy.session.refreshed"), 1);

    // The new cookie is good for another hour without a callout.
    let fresh = set_cookie[0].split(';').next().unwrap().to_string();
    let (_, action) = scenario.request("GET", "/after", &[("cookie", &fresh)]);
    assert_eq!(action, Action::Continue);
    assert!(scenario.host.pending_calls().is_empty());
}

#[test]
fn a_revoked_refresh_token_ends_the_session() {
    let scenario = Scenario::ready(refresh_config());
    scenario.host.tick();
    let cookie = signed_in_with_refresh(&scenario);
    scenario.host.advance(Duration::from_secs(3601));
    let (stream, _) = scenario.request("GET", "/", &[("cookie", &cookie)]);
    let call = scenario.only_call();
    let body = json!({"error": "invalid_grant", "error_description": "AADSTS50173: The provided grant has expired due to it being revoked.", "error_codes": [50173]});
    scenario
        .host
        .respond(call.token, 400, &[], body.to_string().as_bytes());
    let reply = stream.local_response().unwrap();
    assert_eq!(reply.status, 302);
    assert!(
        set_cookies(&reply)
            .iter()
            .any(|c| c.starts_with("_oauth2_proxy=; ")),
        "the session is cleared"
    );
    assert_eq!(scenario.counter("entra_proxy.session.refresh_rejected"), 1);
}

#[test]
fn provider_down_during_refresh_serves_the_valid_session_within_grace_only() {
    let scenario = Scenario::ready(config_with(json!({
        "cookie_refresh": "1h",
        "cookie_refresh_grace": "10m",
        "scope": "openid email profile offline_access"
    })));
    scenario.host.tick();
    let cookie = signed_in_with_refresh(&scenario);
    scenario.host.advance(Duration::from_secs(3600));
    let (stream, _) = scenario.request("GET", "/", &[("cookie", &cookie)]);
    scenario.host.fail(scenario.only_call().token);
    assert!(stream.request_resumed(), "served with the current session");
    assert_eq!(
        stream.request_header_map().get("x-forwarded-user"),
        Some(ALICE_OID)
    );
    assert_eq!(scenario.counter("entra_proxy.session.refresh_failed"), 1);

    // Retried only after the back-off, not on every request.
    let (_, action) = scenario.request("GET", "/", &[("cookie", &cookie)]);
    assert_eq!(action, Action::Continue);
    assert!(scenario.host.pending_calls().is_empty());

    // Past the grace period a session whose refresh keeps failing is not served.
    scenario.host.advance(Duration::from_secs(600));
    let (stream, _) = scenario.request("GET", "/", &[("cookie", &cookie)]);
    match scenario.host.pending_calls().first() {
        Some(call) => {
            scenario.host.fail(call.token);
            assert_eq!(stream.local_response().unwrap().status, 302);
        }
        None => assert!(matches!(stream.outcome(), Outcome::Responded(r) if r.status == 302)),
    }
}

#[test]
fn parallel_sign_ins_in_several_tabs_work_with_per_request_csrf_cookies() {
    let scenario = Scenario::ready(config_with(json!({"cookie_csrf_per_request": true})));
    let first = scenario.get_local("/tab-1", &[]);
    let second = scenario.get_local("/tab-2", &[]);
    let name =
        |r: &host_shim::LocalResponse| set_cookies(r)[0].split('=').next().unwrap().to_string();
    assert_ne!(name(&first), name(&second));
    assert!(name(&first).starts_with("_oauth2_proxy_csrf_"));
    let jar = format!(
        "{}; {}",
        cookie_header_from(&first),
        cookie_header_from(&second)
    );
    let state = query_param(first.header("location").unwrap(), "state").unwrap();
    let nonce = query_param(first.header("location").unwrap(), "nonce").unwrap();
    let (stream, _) = scenario.request(
        "GET",
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", &jar)],
    );
    let call = scenario.only_call();
    scenario.answer_as_alice(&call, &nonce);
    let reply = stream.local_response().unwrap();
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("location"), Some("/tab-1"));
    assert!(
        set_cookies(&reply)
            .iter()
            .any(|c| c.starts_with(&format!("{}=; ", name(&first)))),
        "only this tab's CSRF cookie is cleared"
    );
    assert!(!set_cookies(&reply)
        .iter()
        .any(|c| c.starts_with(&format!("{}=; ", name(&second)))));
}

#[test]
fn sign_out_can_continue_to_the_providers_end_session_endpoint() {
    let scenario = Scenario::ready(config_with(
        json!({"end_session_redirect": true, "whitelist_domains": ["app.example.com"]}),
    ));
    let cookie = signed_in(&scenario);
    let reply = scenario.get_local("/oauth2/sign_out?rd=%2Fbye", &[("cookie", &cookie)]);
    let location = reply.header("location").unwrap();
    assert!(
        location.starts_with(&format!(
            "https://login.microsoftonline.com/{}/oauth2/v2.0/logout?",
            test_idp::TENANT
        )),
        "{location}"
    );
    assert_eq!(
        query_param(location, "post_logout_redirect_uri").as_deref(),
        Some("https://app.example.com/bye")
    );
    assert!(query_param(location, "id_token_hint")
        .unwrap()
        .starts_with("ey"));
}

#[test]
fn graph_throttling_is_waited_out_for_the_retry_after_then_the_sign_in_completes() {
    let scenario = Scenario::ready(graph_config(json!({})));
    let (stream, ()) = scenario.sign_in_until_token("/", overage, test_idp::token_response);
    let first = scenario.only_call();
    let throttled = r#"{"error":{"code":"TooManyRequests","message":"slow down","innerError":{"request-id":"r-9"}}}"#;
    scenario.host.respond(
        first.token,
        429,
        &[("retry-after", "2")],
        throttled.as_bytes(),
    );
    assert!(stream.local_response().is_none(), "the request waits");
    assert!(
        scenario.host.pending_calls().is_empty(),
        "nothing is asked before Retry-After"
    );
    scenario.host.tick();
    assert!(scenario.host.pending_calls().is_empty(), "still waiting");
    scenario.host.advance(Duration::from_secs(2));
    scenario.host.tick();
    let again = scenario.only_call();
    assert_eq!(again.path(), first.path(), "the same page is asked again");
    assert_eq!(
        again.headers.get("authorization"),
        Some("Bearer access-token-for-alice")
    );
    scenario
        .host
        .respond(again.token, 200, &[], page(245..255, None).as_bytes());
    let reply = stream
        .local_response()
        .expect("the waiting request got its answer");
    assert_eq!(
        reply.status,
        302,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert!(set_cookie_pair(&reply, "_oauth2_proxy").is_some());
    assert_eq!(scenario.counter("entra_proxy.graph.throttled"), 1);

    // Throttled again and again: after two waits the sign-in fails closed.
    let scenario = Scenario::ready(graph_config(json!({})));
    let (stream, ()) = scenario.sign_in_until_token("/", overage, test_idp::token_response);
    for _ in 0..2 {
        let call = scenario.only_call();
        scenario.host.respond(
            call.token,
            429,
            &[("retry-after", "1")],
            throttled.as_bytes(),
        );
        scenario.host.advance(Duration::from_secs(1));
        scenario.host.tick();
    }
    let call = scenario.only_call();
    scenario.host.respond(
        call.token,
        429,
        &[("retry-after", "1")],
        throttled.as_bytes(),
    );
    let reply = stream.local_response().unwrap();
    assert_eq!(reply.status, 503);
    assert!(set_cookie_pair(&reply, "_oauth2_proxy").is_none());
}

#[test]
fn a_refresh_resolves_overage_groups_again_instead_of_dropping_them() {
    // oauth2-proxy loses overage groups on refresh (its #3230). Here the refreshed token's
    // overage is resolved from Graph again, and the refreshed session keeps the groups.
    let mut config = graph_config(json!({}));
    config["cookie_refresh"] = json!("1h");
    config["scope"] = json!("openid email profile offline_access User.Read");
    let scenario = Scenario::ready(config);
    scenario.host.tick();
    let (stream, ()) = scenario.sign_in_until_token("/", overage, |t| {
        test_idp::token_response_with_refresh(t, "refresh-1")
    });
    let call = scenario.only_call();
    scenario
        .host
        .respond(call.token, 200, &[], page(240..260, None).as_bytes());
    let reply = stream.local_response().unwrap();
    assert_eq!(reply.status, 302);
    let cookie = cookie_header_from(&reply);

    scenario.host.advance(Duration::from_secs(3600));
    let (stream, action) = scenario.request("GET", "/later", &[("cookie", &cookie)]);
    assert_eq!(action, Action::Pause);
    let refresh = scenario.only_call();
    let mut claims = test_idp::alice_claims(scenario.now(), "unused");
    claims.as_object_mut().unwrap().remove("nonce");
    overage(&mut claims);
    let token = test_idp::sign(test_idp::key(0), &claims);
    scenario.host.respond(
        refresh.token,
        200,
        &[],
        test_idp::token_response_with_refresh(&token, "refresh-2").as_bytes(),
    );
    let graph = scenario.only_call();
    assert_eq!(
        graph.path(),
        "/v1.0/me/transitiveMemberOf?$select=id&$top=999"
    );
    scenario
        .host
        .respond(graph.token, 200, &[], page(245..255, None).as_bytes());
    assert!(stream.request_resumed());
    let expected: Vec<String> = (245..255).map(|i| format!("g-{i}")).collect();
    assert_eq!(
        stream.request_header_map().get("x-forwarded-groups"),
        Some(expected.join(",").as_str())
    );
    stream.response_headers(&[(":status", "200")], false);
    assert_eq!(
        stream.response_header_map().get_all("set-cookie").len(),
        1,
        "the refreshed cookie"
    );
    assert_eq!(scenario.counter("entra_proxy.session.refreshed"), 1);
    assert_eq!(
        scenario.counter("entra_proxy.graph.groups_resolved"),
        2,
        "at sign-in and again at the refresh"
    );
}
