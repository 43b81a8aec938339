//! `/{tenant}/v2.0/.well-known/openid-configuration` and `/{tenant}/discovery/v2.0/keys`.

use serde_json::{json, Value};

use super::http::{Request, Response};
use super::state::{lock, Shared};
use super::tenants::Authority;

/// The discovery document for `segment`, with Entra's fields. Endpoints keep the segment the
/// caller used (`common` stays `common`), the issuer follows [`Authority::discovery_issuer`].
/// Like Entra, `code_challenge_methods_supported` is absent although PKCE works.
pub fn document(base: &str, segment: &str, authority: &Authority) -> Value {
    let region = match authority {
        Authority::Single(_) => json!("NA"),
        _ => Value::Null,
    };
    json!({
        "token_endpoint": format!("{base}/{segment}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{segment}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": authority.discovery_issuer(base),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": format!("{base}/{segment}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{segment}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{segment}/oauth2/v2.0/logout"),
        "claims_supported": [
            "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
            "name", "tid", "ver", "at_hash", "c_hash", "email"
        ],
        "kerberos_endpoint": format!("{base}/{segment}/kerberos"),
        "tenant_region_scope": region,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    })
}

/// Serves the discovery document.
pub fn serve_document(shared: &Shared, req: &Request, segment: &str) -> Response {
    match Authority::resolve(&shared.cfg, segment) {
        Ok(a) => cacheable(&document(&shared.base_url, segment, &a)),
        Err(e) => shared.json_error(req, &e),
    }
}

/// Serves the JWKS: every published key, current first.
pub fn serve_keys(shared: &Shared, req: &Request, segment: &str) -> Response {
    let authority = match Authority::resolve(&shared.cfg, segment) {
        Ok(a) => a,
        Err(e) => return shared.json_error(req, &e),
    };
    let issuer = authority.discovery_issuer(&shared.base_url);
    let keys: Vec<Value> = lock(&shared.keys)
        .published()
        .iter()
        .map(|k| k.jwk(&issuer))
        .collect();
    cacheable(&json!({ "keys": keys }))
}

/// Entra lets clients cache metadata and keys for a day.
fn cacheable(body: &Value) -> Response {
    Response::new(200, "application/json; charset=utf-8", body.to_string())
        .with_header("Cache-Control", "max-age=86400, private")
        .with_header("Access-Control-Allow-Origin", "*")
}
