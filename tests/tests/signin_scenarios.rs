//! Host-shim scenarios for the browser sign-in: the real filter on a pinned clock and RNG.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use entra_proxy_tests::scenario::*;
use entra_proxy_tests::test_idp::{self, ALICE_OID, CLIENT_ID};
use host_shim::Action;
use serde_json::json;
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn bad_configuration_is_rejected_with_every_problem_in_one_line() {
    let (scenario, ok) = Scenario::try_start(config_with(
        json!({"client_secret": null, "cookie_expire": "soon", "upstreams": ["x"]}),
    ));
    assert!(!ok);
    let logs = scenario.host.logs();
    let line = logs
        .iter()
        .find(|l| l.message.contains("invalid entra-proxy-wasm configuration"))
        .expect("error log");
    assert!(
        line.message.contains("client_secret: is required"),
        "{}",
        line.message
    );
    assert!(
        line.message
            .contains("cookie_expire: \"soon\" is not a duration"),
        "{}",
        line.message
    );
    assert!(
        line.message.contains("upstreams: not used inside Envoy"),
        "{}",
        line.message
    );
}

#[test]
fn requests_before_the_provider_is_loaded_get_503_and_the_first_tick_fetches_discovery() {
    let scenario = Scenario::start(base_config());
    let reply = scenario.get_local("/dashboard", &[]);
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("5"));
    assert!(String::from_utf8_lossy(&reply.body).contains("Request ID: req-1"));
    assert_eq!(scenario.counter("entra_proxy.provider.not_ready"), 1);
    assert!(
        scenario.host.pending_calls().is_empty(),
        "no callouts from the request path"
    );

    scenario.host.tick();
    let call = scenario.only_call();
    assert_eq!(call.cluster, "entra");
    assert_eq!(call.method(), "GET");
    assert_eq!(call.authority(), "login.microsoftonline.com");
    assert_eq!(
        call.path(),
        format!(
            "/{}/v2.0/.well-known/openid-configuration",
            test_idp::TENANT
        )
    );
    assert_eq!(call.timeout, std::time::Duration::from_secs(5));
}

#[test]
fn discovery_failure_is_retried_after_a_pause_and_then_succeeds() {
    let scenario = Scenario::start(base_config());
    scenario.host.tick();
    let call = scenario.only_call();
    scenario.host.fail(call.token);
    assert_eq!(scenario.counter("entra_proxy.provider.discovery_failed"), 1);
    scenario.host.tick();
    assert!(
        scenario.host.pending_calls().is_empty(),
        "retry waits for the back-off"
    );
    scenario.host.advance(std::time::Duration::from_secs(5));
    scenario.load_provider(&test_idp::jwks(&[test_idp::key(0)]));
    assert_eq!(scenario.counter("entra_proxy.provider.jwks_fetched"), 1);
    let reply = scenario.get_local("/dashboard", &[]);
    assert_eq!(reply.status, 302);
}

#[test]
fn unauthenticated_browser_is_redirected_with_exact_state_nonce_and_pkce() {
    let scenario = Scenario::ready(base_config());
    let reply = scenario.get_local("/dashboard?tab=1", &[]);
    assert_eq!(reply.status, 302);

    // Draw order: state, nonce, PKCE verifier (32 bytes each), then the CSRF cookie's AEAD nonce.
    let d = draws(SEED, &[32, 32, 32, 24]);
    let (state, nonce, verifier) = (b64(&d[0]), b64(&d[1]), b64(&d[2]));
    let challenge = b64(&Sha256::digest(verifier.as_bytes()));
    let expected = format!(
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize?client_id={CLIENT_ID}\
&redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth2%2Fcallback&response_type=code\
&scope=openid+email+profile&state={state}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
        tenant = test_idp::TENANT
    );
    assert_eq!(reply.header("location"), Some(expected.as_str()));
    assert_eq!(reply.header("cache-control"), Some("no-store"));

    let cookies = set_cookies(&reply);
    assert_eq!(cookies.len(), 1);
    let csrf = set_cookie_pair(&reply, "_oauth2_proxy_csrf").unwrap();
    assert!(
        csrf.starts_with(&b64(&d[3])),
        "the sealed value starts with its AEAD nonce"
    );
    assert_eq!(
        cookies[0],
        format!("_oauth2_proxy_csrf={csrf}; Path=/; Expires=Mon, 01 Jan 2024 00:15:00 GMT; Max-Age=900; HttpOnly; Secure")
    );
    assert_eq!(scenario.counter("entra_proxy.login.redirect"), 1);
}

#[test]
fn provider_button_page_is_shown_unless_skipped() {
    let scenario = Scenario::ready(config_with(json!({"skip_provider_button": false})));
    let reply = scenario.get_local("/dashboard?a=b", &[]);
    assert_eq!(reply.status, 403);
    let body = String::from_utf8_lossy(&reply.body);
    assert!(
        body.contains("href=\"/oauth2/start?rd=%2Fdashboard%3Fa%3Db\""),
        "{body}"
    );
    assert!(
        set_cookies(&reply).is_empty(),
        "no CSRF cookie until the user starts"
    );
}

#[test]
fn api_and_json_clients_get_401_json_instead_of_a_redirect() {
    let scenario = Scenario::ready(config_with(json!({"api_routes": ["^/api/"]})));
    for (path, headers) in [
        ("/api/items", vec![]),
        ("/page", vec![("accept", "application/json")]),
        ("/page", vec![("x-requested-with", "XMLHttpRequest")]),
    ] {
        let reply = scenario.get_local(path, &headers);
        assert_eq!(reply.status, 401, "{path} {headers:?}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["request_id"], "req-1");
    }
    assert_eq!(scenario.counter("entra_proxy.login.unauthorized"), 3);
}

#[test]
fn full_sign_in_sets_an_exact_session_cookie_and_returns_to_the_original_url() {
    let scenario = Scenario::ready(base_config());
    let redirect = scenario.get_local("/dashboard?tab=1", &[]);
    let csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").unwrap();
    let location = redirect.header("location").unwrap().to_string();
    let state = query_param(&location, "state").unwrap();
    let nonce = query_param(&location, "nonce").unwrap();
    let d = draws(SEED, &[32, 32, 32, 24, 24]);

    let cookie = format!("_oauth2_proxy_csrf={csrf}");
    let (stream, action) = scenario.request(
        "GET",
        &format!("/oauth2/callback?code=the-code&state={state}"),
        &[("cookie", &cookie)],
    );
    assert_eq!(action, Action::Pause);
    let call = scenario.only_call();
    assert_eq!(call.method(), "POST");
    assert_eq!(
        call.path(),
        format!("/{}/oauth2/v2.0/token", test_idp::TENANT)
    );
    assert_eq!(
        call.headers.get("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        call.body_text(),
        format!(
            "grant_type=authorization_code&code=the-code&redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth2%2Fcallback\
&client_id={CLIENT_ID}&code_verifier={}&client_secret=test-client-secret",
            b64(&d[2])
        )
    );
    // The token is kept here: the test checks it never reaches a log line.
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

    let reply = stream.local_response().unwrap();
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("location"), Some("/dashboard?tab=1"));
    let cookies = set_cookies(&reply);
    let session = set_cookie_pair(&reply, "_oauth2_proxy").unwrap();
    assert!(
        session.starts_with(&b64(&d[4])),
        "sealed with the next random nonce"
    );
    assert_eq!(
        cookies,
        vec![
            format!("_oauth2_proxy={session}; Path=/; Expires=Mon, 08 Jan 2024 00:00:00 GMT; Max-Age=604800; HttpOnly; Secure"),
            "_oauth2_proxy_csrf=; Path=/; Expires=Sun, 31 Dec 2023 23:00:00 GMT; Max-Age=0; HttpOnly; Secure".to_string(),
        ]
    );
    // The cookie opens with the configured secret to exactly Alice's identity and nothing more.
    let config =
        entra_proxy_wasm::config::Config::from_json(base_config().to_string().as_bytes()).unwrap();
    let opened =
        entra_proxy_wasm::session::Session::open(&config.cipher, "_oauth2_proxy", &session, START)
            .unwrap();
    assert_eq!(opened.user, ALICE_OID);
    assert_eq!(opened.email.as_deref(), Some("alice.smith@contoso.example"));
    assert_eq!(opened.groups, vec!["g-one", "g-two"]);
    assert_eq!(
        (opened.created_at, opened.expires_at),
        (START, START + 7 * 24 * 3600)
    );
    assert_eq!(
        (opened.id_token, opened.access_token, opened.refresh_token),
        (None, None, None),
        "no tokens unless a header needs them"
    );
    assert_eq!(scenario.counter("entra_proxy.callback.success"), 1);
    assert!(!scenario
        .host
        .logs()
        .iter()
        .any(|l| l.message.contains(&token)
            || l.message.contains("the-code")
            || l.message.contains(&session)));
}

#[test]
fn signed_in_request_is_forwarded_with_identity_and_without_spoofed_headers_or_our_cookies() {
    let scenario = Scenario::ready(config_with(json!({"set_xauthrequest": true})));
    let reply = scenario.sign_in("/", |_| {});
    let session = cookie_header_from(&reply);
    let calls_before = scenario.host.dispatched_calls().len();
    let cookie = format!("theme=dark; {session}; other=1");
    let (stream, action) = scenario.request(
        "GET",
        "/data",
        &[
            ("cookie", &cookie),
            ("x-forwarded-user", "mallory"),
            ("X_Forwarded_Email", "mallory@evil.example"),
            ("x-auth-request-user", "mallory"),
            ("authorization", "Bearer forged"),
            ("x-forwarded-groups", "admins"),
        ],
    );
    assert_eq!(action, Action::Continue);
    let headers = stream.request_header_map();
    assert_alice_identity(&headers);
    assert_eq!(headers.get_all("x-auth-request-user"), vec![ALICE_OID]);
    assert!(!headers.contains("x_forwarded_email"));
    assert!(
        !headers.contains("authorization"),
        "pass_authorization_header is off"
    );
    assert_eq!(headers.get_all("cookie"), vec!["theme=dark; other=1"]);
    assert_eq!(
        scenario.host.dispatched_calls().len(),
        calls_before,
        "a signed-in request makes no callout"
    );
    assert_eq!(scenario.counter("entra_proxy.session.valid"), 1);
}

#[test]
fn tampered_truncated_or_foreign_named_session_cookies_mean_a_fresh_sign_in() {
    let scenario = Scenario::ready(base_config());
    let reply = scenario.sign_in("/", |_| {});
    let value = set_cookie_pair(&reply, "_oauth2_proxy").unwrap();
    let mut flipped = value.clone().into_bytes();
    flipped[40] = if flipped[40] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let truncated = &value[..value.len() - 10];
    for cookie in [
        format!("_oauth2_proxy={flipped}"),
        format!("_oauth2_proxy={truncated}"),
        "_oauth2_proxy=garbage!!".to_string(),
    ] {
        let reply = scenario.get_local("/x", &[("cookie", &cookie)]);
        assert_eq!(reply.status, 302, "{cookie}");
        assert!(
            set_cookies(&reply)
                .iter()
                .any(|c| c.starts_with("_oauth2_proxy=; ")),
            "the dead cookie is cleared"
        );
    }
    assert_eq!(scenario.counter("entra_proxy.session.invalid"), 3);

    // A session sealed for another cookie name does not open under ours.
    let other = Scenario::ready(config_with(json!({"cookie_name": "_other"})));
    let reply = other.get_local("/x", &[("cookie", &format!("_other={value}"))]);
    assert_eq!(reply.status, 302);
    assert_eq!(other.counter("entra_proxy.session.invalid"), 1);
}

#[test]
fn expired_session_means_a_fresh_sign_in() {
    let scenario = Scenario::ready(config_with(json!({"cookie_expire": "1h"})));
    let reply = scenario.sign_in("/", |_| {});
    let cookie = cookie_header_from(&reply);
    let (_, action) = scenario.request("GET", "/x", &[("cookie", &cookie)]);
    assert_eq!(action, Action::Continue);
    scenario.host.advance(std::time::Duration::from_secs(3600));
    let reply = scenario.get_local("/x", &[("cookie", &cookie)]);
    assert_eq!(reply.status, 302);
    assert_eq!(scenario.counter("entra_proxy.session.expired"), 1);
}

#[test]
fn callback_state_problems_are_403_and_end_the_attempt() {
    let scenario = Scenario::ready(base_config());
    let redirect = scenario.get_local("/", &[]);
    let csrf = format!(
        "_oauth2_proxy_csrf={}",
        set_cookie_pair(&redirect, "_oauth2_proxy_csrf").unwrap()
    );
    let state = query_param(redirect.header("location").unwrap(), "state").unwrap();
    let cases = [
        (
            format!("/oauth2/callback?code=c&state={state}x"),
            csrf.clone(),
            "state does not match",
        ),
        (
            format!("/oauth2/callback?code=c&state={state}"),
            String::new(),
            "no CSRF cookie",
        ),
        (
            format!("/oauth2/callback?code=c&state={state}"),
            "_oauth2_proxy_csrf=forged".into(),
            "CSRF cookie invalid",
        ),
        (
            "/oauth2/callback?code=c".to_string(),
            csrf.clone(),
            "callback without state",
        ),
        (
            format!("/oauth2/callback?state={state}"),
            csrf.clone(),
            "callback without a code",
        ),
    ];
    for (path, cookie, why) in cases {
        let headers: Vec<(&str, &str)> = if cookie.is_empty() {
            vec![]
        } else {
            vec![("cookie", cookie.as_str())]
        };
        let reply = scenario.get_local(&path, &headers);
        assert_eq!(reply.status, 403, "{path}");
        assert!(
            set_cookies(&reply)
                .iter()
                .any(|c| c.starts_with("_oauth2_proxy_csrf=; ")),
            "{path}"
        );
        assert!(
            scenario.host.logs().iter().any(|l| l.message.contains(why)),
            "log should say {why:?}"
        );
    }
    assert!(
        scenario.host.pending_calls().is_empty(),
        "no code is redeemed"
    );
    assert_eq!(scenario.counter("entra_proxy.callback.state_invalid"), 5);

    // An expired attempt is refused too.
    scenario
        .host
        .advance(std::time::Duration::from_secs(15 * 60));
    let reply = scenario.get_local(
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", csrf.as_str())],
    );
    assert_eq!(reply.status, 403);
}

#[test]
fn provider_error_on_callback_is_a_clear_403_with_the_aadsts_code_logged() {
    let scenario = Scenario::ready(base_config());
    let reply = scenario.get_local(
        "/oauth2/callback?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent&state=x",
        &[],
    );
    assert_eq!(reply.status, 403);
    assert!(scenario
        .host
        .logs()
        .iter()
        .any(|l| l.message.contains("error=access_denied code=AADSTS65004")));
    assert_eq!(scenario.counter("entra_proxy.callback.provider_error"), 1);
}

#[test]
fn token_endpoint_failures_map_to_403_or_502_and_never_forward() {
    let entra_error = json!({
        "error": "invalid_grant",
        "error_description": "AADSTS54005: OAuth2 Authorization code was already redeemed. Trace ID: t Correlation ID: c Timestamp: 2024-01-01 00:00:00Z",
        "error_codes": [54005], "trace_id": "trace-1", "correlation_id": "corr-1"
    })
    .to_string();
    let client_error = json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215], "trace_id": "trace-2", "correlation_id": "corr-2"}).to_string();
    let cases: Vec<(u16, String, u32, &str)> = vec![
        (400, entra_error, 403, "AADSTS54005"),
        (401, client_error, 502, "corr-2"),
        (
            500,
            "<html>oops</html>".into(),
            502,
            "token endpoint failed",
        ),
        (200, "{not json".into(), 502, "token endpoint failed"),
        (
            200,
            json!({"access_token": "a", "token_type": "Bearer"}).to_string(),
            502,
            "id_token",
        ),
    ];
    for (status, body, expected, log) in cases {
        let scenario = Scenario::ready(base_config());
        let (stream, call, _) = scenario.callback_pending();
        scenario
            .host
            .respond(call.token, status, &[], body.as_bytes());
        let reply = stream.local_response().unwrap();
        assert_eq!(reply.status, expected, "{status} {body}");
        assert!(!stream.request_resumed());
        assert!(
            scenario.host.logs().iter().any(|l| l.message.contains(log)),
            "expected a log with {log:?}: {:?}",
            scenario.host.logs()
        );
    }
    let scenario = Scenario::ready(base_config());
    let (stream, call, _) = scenario.callback_pending();
    scenario.host.fail(call.token);
    let reply = stream.local_response().unwrap();
    assert_eq!(reply.status, 502);
    assert!(String::from_utf8_lossy(&reply.body).contains("Request ID: req-1"));
    assert_eq!(
        scenario.counter("entra_proxy.callback.token_endpoint_failure"),
        1
    );
}

#[test]
fn id_tokens_that_fail_validation_are_rejected_with_403() {
    let now = START;
    type Forge = Box<dyn Fn(&str) -> String>;
    let forged: Vec<(&str, Forge)> = vec![
        (
            "wrong issuer",
            Box::new(move |n| {
                let mut c = test_idp::alice_claims(now, n);
                c["iss"] = json!(
                    "https://login.microsoftonline.com/99999999-9999-9999-9999-999999999999/v2.0"
                );
                test_idp::sign(test_idp::key(0), &c)
            }),
        ),
        (
            "wrong audience",
            Box::new(move |n| {
                let mut c = test_idp::alice_claims(now, n);
                c["aud"] = json!("someone-else");
                test_idp::sign(test_idp::key(0), &c)
            }),
        ),
        (
            "wrong nonce",
            Box::new(move |_| {
                test_idp::sign(
                    test_idp::key(0),
                    &test_idp::alice_claims(now, "other-nonce"),
                )
            }),
        ),
        (
            "expired",
            Box::new(move |n| {
                let mut c = test_idp::alice_claims(now, n);
                c["exp"] = json!(now - 3600);
                test_idp::sign(test_idp::key(0), &c)
            }),
        ),
        (
            "bad signature",
            Box::new(move |n| {
                let t = test_idp::sign(test_idp::key(0), &test_idp::alice_claims(now, n));
                let (head, sig) = t.rsplit_once('.').unwrap();
                format!("{head}.{}", sig.chars().rev().collect::<String>())
            }),
        ),
        (
            "alg none",
            Box::new(move |n| {
                let c = test_idp::alice_claims(now, n);
                format!(
                    "{}.{}.",
                    b64(br#"{"alg":"none","kid":"test-key-0"}"#),
                    b64(c.to_string().as_bytes())
                )
            }),
        ),
        (
            "other key, same kid",
            Box::new(move |n| {
                test_idp::sign_with_header(
                    test_idp::key(1),
                    json!({"alg": "RS256", "kid": "test-key-0"}),
                    &test_idp::alice_claims(now, n),
                )
            }),
        ),
    ];
    for (name, make) in forged {
        let scenario = Scenario::ready(base_config());
        let (stream, call, nonce) = scenario.callback_pending();
        let token = make(&nonce);
        scenario.host.respond(
            call.token,
            200,
            &[],
            test_idp::token_response(&token).as_bytes(),
        );
        let reply = stream
            .local_response()
            .unwrap_or_else(|| panic!("{name}: no reply"));
        assert_eq!(reply.status, 403, "{name}");
        assert!(
            set_cookie_pair(&reply, "_oauth2_proxy").is_none(),
            "{name}: no session"
        );
        assert_eq!(
            scenario.counter("entra_proxy.callback.id_token_invalid"),
            1,
            "{name}"
        );
    }
}

#[test]
fn unknown_signing_key_triggers_one_jwks_refetch_and_the_new_keys_are_shared() {
    let scenario = Scenario::ready(base_config());
    scenario.host.advance(std::time::Duration::from_secs(120));
    let (stream, call, nonce) = scenario.callback_pending();
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
    assert!(stream.local_response().is_none(), "still waiting for keys");
    let jwks_call = scenario.only_call();
    assert_eq!(
        jwks_call.path(),
        format!("/{}/discovery/v2.0/keys", test_idp::TENANT)
    );
    let rotated = test_idp::jwks(&[test_idp::key(1), test_idp::key(0)]);
    scenario
        .host
        .respond(jwks_call.token, 200, &[], rotated.as_bytes());
    let reply = stream.local_response().unwrap();
    assert_eq!(reply.status, 302);
    assert!(set_cookie_pair(&reply, "_oauth2_proxy").is_some());
    let (record, _) = scenario
        .host
        .shared_data(&format!(
            "entra-proxy-wasm/entra/{}/provider",
            test_idp::issuer()
        ))
        .unwrap();
    assert!(
        String::from_utf8_lossy(&record).contains("test-key-1"),
        "other workers get the new keys"
    );

    // Right after a refetch, another unknown kid is refused without a callout (rate limit).
    let (stream, call, nonce) = scenario.callback_pending();
    let token = test_idp::sign(
        test_idp::key(2),
        &test_idp::alice_claims(scenario.now(), &nonce),
    );
    scenario.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response(&token).as_bytes(),
    );
    assert_eq!(stream.local_response().unwrap().status, 403);
    assert!(scenario.host.pending_calls().is_empty());
}

#[test]
fn email_domains_are_enforced_with_the_preferred_username_fallback() {
    let scenario = Scenario::ready(base_config());
    let reply = scenario.sign_in("/", |c| {
        c["email"] = json!("alice@elsewhere.example");
    });
    assert_eq!(reply.status, 403);
    assert_eq!(scenario.counter("entra_proxy.callback.email_denied"), 1);

    // No email claim (a work account without a mailbox): preferred_username is the address.
    let scenario = Scenario::ready(base_config());
    let reply = scenario.sign_in("/", |c| {
        c.as_object_mut().unwrap().remove("email");
    });
    assert_eq!(reply.status, 302);
    let cookie = cookie_header_from(&reply);
    let (stream, _) = scenario.request("GET", "/", &[("cookie", &cookie)]);
    assert_eq!(
        stream.request_header_map().get("x-forwarded-email"),
        Some("alice@contoso.example")
    );
}

#[test]
fn large_sessions_are_chunked_and_reassembled_from_separate_cookie_headers() {
    // Real group ids are random, so they do not compress away.
    let groups: Vec<String> = (0..150u32)
        .map(|i| {
            let h = hex(&Sha256::digest(i.to_le_bytes()));
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        })
        .collect();
    let scenario = Scenario::ready(config_with(json!({"pass_authorization_header": true})));
    let mut id_token = String::new();
    let reply = scenario.sign_in("/", |c| {
        c["groups"] = json!(groups.clone());
    });
    assert_eq!(reply.status, 302);
    let cookies = set_cookies(&reply);
    let names: Vec<&str> = cookies
        .iter()
        .map(|c| c.split('=').next().unwrap())
        .collect();
    // The ID token (with its 150 groups) rides along for the Authorization header; the groups
    // are sealed once, inside it: 2 chunks (4 when the list was sealed a second time).
    assert_eq!(
        names,
        vec!["_oauth2_proxy_0", "_oauth2_proxy_1", "_oauth2_proxy_csrf"]
    );
    assert!(
        cookies.iter().all(|c| c.len() < 4096),
        "every Set-Cookie fits the browser limit"
    );
    // HTTP/2 style: one Cookie header per cookie, in reverse order.
    let pairs: Vec<String> = cookie_header_from(&reply)
        .split("; ")
        .map(str::to_string)
        .collect();
    let headers: Vec<(&str, &str)> = pairs.iter().rev().map(|p| ("cookie", p.as_str())).collect();
    let (stream, action) = scenario.request("GET", "/", &headers);
    assert_eq!(action, Action::Continue);
    let forwarded = stream.request_header_map();
    assert_eq!(
        forwarded
            .get("x-forwarded-groups")
            .unwrap()
            .split(',')
            .count(),
        150
    );
    let bearer = forwarded.get("authorization").unwrap();
    id_token.push_str(bearer.strip_prefix("Bearer ").unwrap());
    assert_eq!(id_token.split('.').count(), 3);
    assert!(
        !forwarded.contains("cookie"),
        "only our cookies were sent, so none reach the upstream"
    );
}

#[test]
fn sign_out_clears_every_chunk_and_redirects_only_to_safe_targets() {
    let scenario = Scenario::ready(config_with(json!({"whitelist_domains": [".example.com"]})));
    let cases = [
        ("/oauth2/sign_out?rd=%2Fbye", "/bye"),
        (
            "/oauth2/sign_out?rd=https%3A%2F%2Fportal.example.com%2F",
            "https://portal.example.com/",
        ),
        ("/oauth2/sign_out?rd=%2F%2Fevil.com", "/"),
        ("/oauth2/sign_out?rd=https%3A%2F%2Fevil.com%2F", "/"),
        ("/oauth2/sign_out", "/"),
    ];
    for (path, location) in cases {
        let reply = scenario.get_local(
            path,
            &[(
                "cookie",
                "_oauth2_proxy_0=a; _oauth2_proxy_1=b; _oauth2_proxy_csrf=c",
            )],
        );
        assert_eq!(reply.status, 302);
        assert_eq!(reply.header("location"), Some(location), "{path}");
        let cleared: Vec<String> = set_cookies(&reply)
            .iter()
            .map(|c| c.split(';').next().unwrap().to_string())
            .collect();
        assert_eq!(
            cleared,
            vec![
                "_oauth2_proxy=",
                "_oauth2_proxy_0=",
                "_oauth2_proxy_1=",
                "_oauth2_proxy_csrf="
            ]
        );
    }
    assert_eq!(scenario.counter("entra_proxy.sign_out"), 5);
}

#[test]
fn start_endpoint_validates_the_return_target() {
    let scenario = Scenario::ready(config_with(
        json!({"whitelist_domains": ["app.example.com"]}),
    ));
    for (rd, expected) in [
        ("%2Freports", "/reports"),
        ("https%3A%2F%2Fevil.com", "/"),
        ("%2F%5Cevil.com", "/"),
        (
            "https%3A%2F%2Fapp.example.com%2Fx",
            "https://app.example.com/x",
        ),
    ] {
        let redirect = scenario.get_local(&format!("/oauth2/start?rd={rd}"), &[]);
        let csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").unwrap();
        let config =
            entra_proxy_wasm::config::Config::from_json(base_config().to_string().as_bytes())
                .unwrap();
        let opened = entra_proxy_wasm::session::csrf::CsrfState::open(
            &config.cipher,
            "_oauth2_proxy",
            &csrf,
            START,
        )
        .unwrap();
        assert_eq!(opened.return_to, expected, "{rd}");
    }
}

#[test]
fn unknown_endpoints_under_the_prefix_are_404() {
    let scenario = Scenario::ready(base_config());
    assert_eq!(scenario.get_local("/oauth2/nope", &[]).status, 404);
}

#[test]
fn a_header_value_that_is_not_utf8_does_not_kill_the_vm() {
    let scenario = Scenario::ready(base_config());
    let stream = scenario.host.new_stream();
    let action = stream.request_headers_raw(
        &[
            (":method", b"GET"),
            (":path", b"/"),
            (":authority", b"app.example.com"),
            ("x-name", b"caf\xe9"),
            ("cookie", b"_oauth2_proxy=\xff\xfe"),
        ],
        true,
    );
    assert_eq!(action, Action::Pause);
    assert_eq!(stream.local_response().unwrap().status, 302);
}

#[test]
fn a_callout_to_an_unknown_cluster_fails_closed() {
    let scenario = Scenario::ready(base_config());
    scenario.host.set_cluster_unknown("entra");
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
    assert_eq!(reply.status, 502);
}

#[test]
fn a_sign_in_started_from_a_scheme_relative_path_returns_home() {
    // Found by the flow_request fuzz target: `https://app.example.com//evil.com/x` must not
    // send the user to evil.com after signing in.
    let scenario = Scenario::ready(base_config());
    let config =
        entra_proxy_wasm::config::Config::from_json(base_config().to_string().as_bytes()).unwrap();
    for path in ["//", "//evil.com/x", "/\\evil.com", "/%2F%2Fevil.com"] {
        let redirect = scenario.get_local(path, &[]);
        let csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").unwrap();
        let opened = entra_proxy_wasm::session::csrf::CsrfState::open(
            &config.cipher,
            "_oauth2_proxy",
            &csrf,
            START,
        )
        .unwrap();
        assert_eq!(opened.return_to, "/", "{path}");
    }
    let redirect = scenario.get_local("/ok/path?x=1", &[]);
    let csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").unwrap();
    let opened = entra_proxy_wasm::session::csrf::CsrfState::open(
        &config.cipher,
        "_oauth2_proxy",
        &csrf,
        START,
    )
    .unwrap();
    assert_eq!(opened.return_to, "/ok/path?x=1");
}
