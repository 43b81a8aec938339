//! `/oauth2/auth` used the way deployments use oauth2-proxy's: by a real nginx configured like
//! the seed's ingress-nginx annotations (`auth-url`, `auth-signin`, `auth-response-headers` with
//! `Authorization`), and by a second Envoy with the HTTP `ext_authz` filter. The Envoy running
//! the filter is the auth service; a recording upstream behind nginx / the front Envoy tells
//! exactly which requests got through and with which identity.

use std::time::Duration;

use base64::Engine;
use entra_proxy_tests::client::{Client, Reply};
use entra_proxy_tests::emulator::{
    alice, EmulatorConfig, ALICE_GROUPS, DEFAULT_CLIENT_ID, DEFAULT_TENANT_ID,
};
use entra_proxy_tests::envoy::{Envoy, EnvoyConfig};
use entra_proxy_tests::nginx::{AuthLocation, Nginx, NginxConfig};
use entra_proxy_tests::stack::Stack;
use entra_proxy_tests::upstream::Upstream;
use entra_proxy_tests::wait::wait_until;
use serde_json::{json, Value};

/// A stack where alice signs in at once, with one Envoy worker: these tests send one request at
/// a time, and every worker is one more wasm VM to start on a busy machine.
fn stack(test: &str, overrides: Value) -> Stack {
    let emulator = EmulatorConfig {
        auto_login: Some("alice".into()),
        ..EmulatorConfig::default()
    };
    Stack::start(test, emulator, overrides, 1)
}

/// The seed's `auth-response-headers` annotation.
const AUTH_RESPONSE_HEADERS: [&str; 3] = [
    "Authorization",
    "X-Auth-Request-User",
    "X-Auth-Request-Email",
];
/// A group alice is not a member of.
const OTHER_GROUP: &str = "bbbbbbbb-0000-0000-0000-00000000000f";

/// The seed's `auth-signin` annotation, pointed at the filter's Envoy (`$best_http_host` is an
/// ingress-nginx variable; plain nginx has `$http_host`).
fn auth_signin(stack: &Stack) -> String {
    stack.url("/oauth2/start?rd=$scheme://$http_host$request_uri")
}

/// An nginx "ingress" in front of `backend` whose locations all use the filter's Envoy as
/// `auth-url` (with the given query) and `auth-signin`.
fn ingress(stack: &Stack, backend: &Upstream, locations: &[(&str, &str)]) -> Nginx {
    let locations = locations
        .iter()
        .map(|(path, query)| {
            AuthLocation::new(
                path,
                &stack.url(&format!("/oauth2/auth{query}")),
                Some(&auth_signin(stack)),
                &AUTH_RESPONSE_HEADERS,
            )
        })
        .collect();
    let config = NginxConfig {
        backend_port: backend.port(),
        locations,
    };
    Nginx::start(&config, stack.logs.path())
}

/// The claims of a JWT, without verifying it (the filter did; this checks whose token it is).
fn jwt_claims(token: &str) -> Value {
    let payload = token
        .split('.')
        .nth(1)
        .unwrap_or_else(|| panic!("not a JWT: {token}"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Asserts `header` is `Bearer <alice's ID token from the emulator>` and returns the token.
fn assert_alice_id_token(stack: &Stack, header: Option<&str>) -> String {
    let token = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_else(|| panic!("Authorization is not a bearer token: {header:?}"));
    let claims = jwt_claims(token);
    assert_eq!(claims["oid"], alice().oid.as_str());
    assert_eq!(claims["aud"], DEFAULT_CLIENT_ID);
    assert_eq!(
        claims["iss"],
        stack.entra.issuer(DEFAULT_TENANT_ID).as_str()
    );
    token.to_string()
}

fn statuses(hops: &[Reply]) -> Vec<u16> {
    hops.iter().map(|r| r.status).collect()
}

#[test]
fn nginx_auth_request_sends_browsers_to_sign_in_and_passes_the_identity_to_the_backend() {
    let stack = stack(
        "e2e_auth_endpoint_nginx",
        json!({"pass_authorization_header": true, "whitelist_domains": ["127.0.0.1:*"]}),
    );
    let dashboard = Upstream::start();
    let nginx = ingress(
        &stack,
        &dashboard,
        &[
            ("/dashboard/", ""),
            ("/team/", &format!("?allowed_groups={}", ALICE_GROUPS[1])),
            ("/admin/", &format!("?allowed_groups={OTHER_GROUP}")),
        ],
    );
    let page = format!("{}/dashboard/?tab=1", nginx.url());

    // Not signed in: /oauth2/auth says 401 and nginx turns it into the auth-signin redirect.
    let mut client = Client::new();
    let first = client.get_url(&page, &[]);
    assert_eq!(first.status, 302, "{first:?}");
    assert_eq!(
        first.header("location"),
        Some(stack.url(&format!("/oauth2/start?rd={page}")).as_str())
    );
    assert_eq!(dashboard.count(), 0);

    // The browser signs in at the filter's Envoy and is sent back to nginx (cookies are per
    // host, not per port, so the jar carries the session to nginx, as a browser would with
    // cookie_domains in a real deployment).
    let hops = client.follow(&page, &stack.base, 10);
    assert_eq!(statuses(&hops), vec![302, 302, 302, 302, 200], "{hops:#?}");
    assert_eq!(
        hops[3].header("location"),
        Some(page.as_str()),
        "the callback returns to nginx"
    );
    let seen = dashboard.last().unwrap();
    assert_eq!(seen.path, "/dashboard/?tab=1");
    let user = alice();
    assert_alice_id_token(&stack, seen.header("authorization"));
    assert_eq!(
        seen.header_all("x-auth-request-user"),
        vec![user.oid.as_str()]
    );
    assert_eq!(seen.header("x-auth-request-email"), user.email.as_deref());

    // The same session through locations whose auth-url carries a query rule.
    let team = client.get_url(&format!("{}/team/x", nginx.url()), &[]);
    assert_eq!(team.status, 200, "alice is in the group: {team:?}");
    assert_eq!(dashboard.last().unwrap().path, "/team/x");
    let admin = client.get_url(&format!("{}/admin/x", nginx.url()), &[]);
    assert_eq!(admin.status, 403, "alice is not in the group: {admin:?}");

    let paths: Vec<String> = dashboard.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/dashboard/?tab=1", "/team/x"],
        "only allowed requests reach the backend"
    );
    assert_eq!(
        stack.upstream.count(),
        0,
        "the auth service's own upstream is never used"
    );
    assert_eq!(stack.counter("entra_proxy.auth_endpoint.allowed"), 2);
    assert_eq!(
        stack.counter("entra_proxy.auth_endpoint.denied"),
        3,
        "two 401s before sign-in, one 403"
    );
}

/// The HTTP `ext_authz` filter of a front Envoy, asking the filter's Envoy (cluster `authz`).
/// Envoy appends the original path to `path_prefix`: `/oauth2/auth/<path>`.
const EXT_AUTHZ: &str = r#"
name: envoy.filters.http.ext_authz
typed_config:
  "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
  transport_api_version: V3
  failure_mode_allow: false
  http_service:
    server_uri: {uri: "http://authz", cluster: authz, timeout: 5s}
    path_prefix: /oauth2/auth
    authorization_request:
      allowed_headers:
        patterns: [{exact: cookie}]
    authorization_response:
      allowed_upstream_headers:
        patterns: [{exact: x-auth-request-user}, {exact: x-auth-request-email}, {exact: authorization}]
"#;

/// A plain Envoy in front of `app` that asks the stack's Envoy with `ext_authz`.
fn front_envoy(stack: &Stack, app: &Upstream) -> Envoy {
    let config = EnvoyConfig::without_wasm(app.port())
        .cluster("authz", stack.envoy.port("main"))
        .extra_http_filter(EXT_AUTHZ)
        .concurrency(1);
    Envoy::start(&config, &stack.logs.subdir("front-envoy"))
}

/// Waits until the stack's Envoy access log shows a request line containing `needle`.
fn wait_for_access_log(stack: &Stack, needle: &str) {
    let path = stack.envoy.dir().join("access.log");
    wait_until(
        &format!("{needle:?} in {}", path.display()),
        Duration::from_secs(5),
        || {
            std::fs::read_to_string(&path)
                .ok()
                .filter(|t| t.contains(needle))
                .map(|_| ())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn envoy_ext_authz_with_auth_success_status_200_allows_and_forwards_the_identity() {
    let stack = stack(
        "e2e_auth_endpoint_ext_authz",
        json!({"auth_success_status": "200", "pass_authorization_header": true}),
    );
    let app = Upstream::start();
    let front = front_envoy(&stack, &app);
    let page = format!("{}/app/page", front.url("main"));

    // Without a session the filter answers 401 and ext_authz forwards that status.
    let denied = Client::new().get_url(&page, &[]);
    assert_eq!(denied.status, 401, "{denied:?}");
    assert_eq!(app.count(), 0);
    wait_for_access_log(&stack, "GET /oauth2/auth/app/page ");

    let mut client = Client::new();
    stack.sign_in(&mut client, "/");
    let allowed = client.get_url(&page, &[]);
    assert_eq!(allowed.status, 200, "{allowed:?}");
    let seen = app.last().unwrap();
    assert_eq!(seen.path, "/app/page");
    assert_eq!(
        seen.header_all("x-auth-request-user"),
        vec![alice().oid.as_str()]
    );
    assert_eq!(
        seen.header("x-auth-request-email"),
        alice().email.as_deref()
    );
    assert_alice_id_token(&stack, seen.header("authorization"));
    assert_eq!(app.count(), 1);
    assert_eq!(stack.counter("entra_proxy.auth_endpoint.allowed"), 1);
}

#[test]
fn envoy_ext_authz_denies_the_default_202_which_is_why_auth_success_status_exists() {
    let stack = stack("e2e_auth_endpoint_ext_authz_202", json!({}));
    let app = Upstream::start();
    let front = front_envoy(&stack, &app);
    let mut client = Client::new();
    stack.sign_in(&mut client, "/");

    // The session is good: asked directly, the endpoint allows with nginx's 202 ...
    let direct = client.get_url(&stack.url("/oauth2/auth"), &[]);
    assert_eq!(direct.status, 202, "{direct:?}");
    assert_eq!(
        direct.header("x-auth-request-user"),
        Some(alice().oid.as_str())
    );
    // ... but Envoy's HTTP ext_authz treats only 200 as OK (oauth2-proxy #2832) and hands the
    // 202 to the client as a denial: the app never sees the request.
    let reply = client.get_url(&format!("{}/app/page", front.url("main")), &[]);
    assert_eq!(reply.status, 202, "{reply:?}");
    assert!(reply.body.is_empty(), "{reply:?}");
    assert_eq!(app.count(), 0);
    assert_eq!(stack.counter("entra_proxy.auth_endpoint.allowed"), 2);
}

/// The seed's Kubernetes Dashboard alpha configuration in this filter's JSON: the provider's
/// oidcConfig as oauth2-proxy option names, `extraArgs` that apply inside Envoy, and
/// `injectResponseHeaders` in the alpha shape.
fn dashboard_alpha_config() -> Value {
    json!({
        "provider": "entra-id",
        "scope": "openid email profile",
        "oidc_email_claim": "email",
        "oidc_groups_claim": "groups",
        "user_id_claim": "oid",
        "injectResponseHeaders": [
            {"name": "Authorization", "values": [{"claim": "id_token", "prefix": "Bearer "}]},
            {"name": "X-Auth-Request-User", "values": [{"claim": "email"}]},
            {"name": "X-Auth-Request-Email", "values": [{"claim": "email"}]},
            {"name": "X-Auth-Request-Groups", "values": [{"claim": "groups"}]}
        ],
        // extraArgs; the seed's `.your-domain.com` is this test's 127.0.0.1 on any port.
        "whitelist_domains": ["127.0.0.1:*"],
        "email_domains": ["*"],
        "skip_provider_button": true,
        "pass_authorization_header": true,
        "set_xauthrequest": true
    })
}

#[test]
fn the_seed_dashboard_config_through_nginx_gives_the_backend_a_bearer_and_the_email() {
    let stack = stack("e2e_auth_endpoint_dashboard", dashboard_alpha_config());
    let dashboard = Upstream::start();
    let nginx = ingress(&stack, &dashboard, &[("/", "")]);
    let page = format!("{}/workloads?namespace=default", nginx.url());

    let mut client = Client::new();
    let hops = client.follow(&page, &stack.base, 10);
    assert_eq!(hops.last().unwrap().status, 200, "{hops:#?}");
    let seen = dashboard.last().unwrap();
    let email = alice().email.unwrap();
    let token = assert_alice_id_token(&stack, seen.header("authorization"));
    assert_eq!(
        seen.header_all("x-auth-request-user"),
        vec![email.as_str()],
        "user from the email claim"
    );
    assert_eq!(seen.header("x-auth-request-email"), Some(email.as_str()));
    assert_eq!(dashboard.count(), 1);

    // Groups are in the answer too; the seed's auth-response-headers just do not copy them.
    let direct = client.get_url(&stack.url("/oauth2/auth"), &[]);
    assert_eq!(direct.status, 202);
    assert_eq!(
        direct.header("x-auth-request-groups"),
        Some(ALICE_GROUPS.join(",").as_str())
    );
    assert_eq!(
        direct.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert!(seen.header("x-auth-request-groups").is_none());
}
