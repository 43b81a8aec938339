use super::*;
// `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
use serde_json::json;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn minimal() -> serde_json::Value {
    json!({
        "provider": "entra-id",
        "oidc_issuer_url": "https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0/",
        "client_id": "22222222-2222-2222-2222-222222222222",
        "client_secret": "secret",
        "cookie_secret": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "email_domains": "*",
        "clusters": {"login.microsoftonline.com": "entra"}
    })
}

fn load(value: serde_json::Value) -> Result<Config, ConfigError> {
    Config::from_json(value.to_string().as_bytes())
}

#[test]
fn minimal_config_gets_oauth2_proxy_defaults() {
    let config = load(minimal()).unwrap();
    assert_eq!(
        config.issuer_url,
        "https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0"
    );
    assert_eq!(config.cookie.name, "_oauth2_proxy");
    assert_eq!(config.cookie.csrf_name(), "_oauth2_proxy_csrf");
    assert_eq!(config.cookie.expire_secs, 168 * 3600);
    assert_eq!(config.cookie.csrf_expire_secs, 15 * 60);
    assert!(config.cookie.secure && config.cookie.httponly);
    assert_eq!(config.cookie.samesite, None);
    assert_eq!(config.scope, "openid email profile");
    assert_eq!(config.proxy_prefix, "/oauth2");
    assert!(config.pkce);
    assert!(!config.skip_nonce);
    assert!(!config.skip_provider_button);
    assert_eq!(config.user_id_claim, "oid");
    assert_eq!(config.email_domains, EmailDomains::Any);
    assert!(config.headers.pass_user_headers && !config.headers.pass_authorization_header);
    assert_eq!(config.http_timeout_ms, 5000);
    assert_eq!(
        config.cluster_for("LOGIN.microsoftonline.com"),
        Some("entra")
    );
    assert_eq!(
        config.issuer_rule,
        IssuerRule::Exact(config.issuer_url.clone())
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let err = load(json!({
        "provider": "google",
        "client_id": "",
        "cookie_secret": "short",
        "cookie_expire": "ten days",
        "cookie_samesite": "sometimes",
        "code_challenge_method": "plain",
        "pass_user_headers": "yes",
        "api_routes": ["("],
        "http_address": "0.0.0.0:4180",
        "allowed_roles": ["r"],
        "not_an_option": 1
    }))
    .unwrap_err();
    let text = err.problems.join("\n");
    for expected in [
        "provider: \"google\" is not supported",
        "oidc_issuer_url: is required",
        "client_id: must not be empty",
        "client_secret: is required",
        "cookie_secret: entry 0 must be 16, 24 or 32 bytes",
        "cookie_expire: \"ten days\" is not a duration",
        "cookie_samesite: \"sometimes\"",
        "code_challenge_method: \"plain\" is not supported",
        "pass_user_headers: expected true or false, got \"yes\"",
        "api_routes: \"(\" is not a valid regular expression",
        "email_domains: is required",
        "http_address: not used inside Envoy",
        "allowed_roles: this oauth2-proxy option is not implemented yet",
        "not_an_option: unknown option",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_eq!(err.problems.len(), 14, "{text}");
}

#[test]
fn cookie_secret_decoding_matches_oauth2_proxy() {
    assert_eq!(decode_secret("0123456789abcdef").map(|s| s.len()), Some(16));
    assert_eq!(
        decode_secret("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").map(|s| s.len()),
        Some(32)
    );
    assert_eq!(
        decode_secret("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY").map(|s| s.len()),
        Some(32)
    );
    assert_eq!(decode_secret("too-short"), None);
}

#[test]
fn issuer_cluster_is_required() {
    let mut value = minimal();
    value["clusters"] = json!({"graph.microsoft.com": "graph"});
    let err = load(value).unwrap_err();
    assert!(
        err.problems[0].contains("no Envoy cluster for \"login.microsoftonline.com\""),
        "{err}"
    );
}

#[test]
fn multi_tenant_uses_the_tenant_rule() {
    let mut value = minimal();
    value["oidc_issuer_url"] = json!("https://login.microsoftonline.com/common/v2.0");
    value["insecure_oidc_skip_issuer_verification"] = json!(true);
    let config = load(value.clone()).unwrap();
    assert_eq!(
        config.issuer_rule,
        IssuerRule::EntraTenant {
            authority: "https://login.microsoftonline.com".into(),
            allowed_tenants: None
        }
    );
    value["provider"] = json!("oidc");
    assert!(
        load(value).unwrap_err().problems[0].starts_with("insecure_oidc_skip_issuer_verification")
    );
}

#[test]
fn not_json_or_not_an_object_is_rejected() {
    assert!(Config::from_json(b"{").unwrap_err().problems[0].contains("not valid JSON"));
    assert!(Config::from_json(b"[]").unwrap_err().problems[0].contains("must be a JSON object"));
}
