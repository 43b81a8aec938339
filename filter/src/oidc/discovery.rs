//! The OpenID provider discovery document (`/.well-known/openid-configuration`).

use super::error::loggable;
pub use super::error::OidcError;

/// Discovery documents are a few KiB (Entra's is ~1.7 KiB); anything much larger is an error
/// page or an attempt to make the VM allocate.
const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// The parts of an OpenID provider's discovery document the filter uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProviderMetadata {
    /// The provider's issuer identifier (for Entra `common`/`organizations` a template with
    /// `{tenantid}`).
    pub issuer: String,
    /// Where browsers are sent to sign in.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens are redeemed.
    pub token_endpoint: String,
    /// Where the signing keys are published.
    pub jwks_uri: String,
    /// RP-initiated logout, when the provider supports it.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// Parse and sanity-check a discovery document: every endpoint (and the issuer) must be an
/// absolute http(s) URL with a host. Plain http is allowed because local test providers use it;
/// the configuration layer decides whether to insist on https.
pub fn parse_discovery(body: &[u8]) -> Result<ProviderMetadata, OidcError> {
    const WHAT: &str = "discovery document";
    if body.len() > MAX_DISCOVERY_BYTES {
        return Err(OidcError::TooLarge {
            what: WHAT,
            limit: MAX_DISCOVERY_BYTES,
        });
    }
    let meta: ProviderMetadata = serde_json::from_slice(body).map_err(|e| OidcError::Json {
        what: WHAT,
        detail: loggable(&e.to_string(), 200),
    })?;
    check_url("issuer", &meta.issuer)?;
    check_url("authorization_endpoint", &meta.authorization_endpoint)?;
    check_url("token_endpoint", &meta.token_endpoint)?;
    check_url("jwks_uri", &meta.jwks_uri)?;
    if let Some(end_session) = &meta.end_session_endpoint {
        check_url("end_session_endpoint", end_session)?;
    }
    Ok(meta)
}

/// An endpoint we will send browsers or requests to must be an absolute http(s) URL: a
/// relative or `javascript:` URL would turn a compromised document into an open redirect or
/// script injection, and embedded credentials would leak into logs.
fn check_url(field: &'static str, value: &str) -> Result<(), OidcError> {
    let bad = || OidcError::BadEndpoint {
        field,
        value: loggable(value, 200),
    };
    let url = url::Url::parse(value).map_err(|_| bad())?;
    let scheme_ok = matches!(url.scheme(), "https" | "http");
    let has_host = url.host_str().is_some_and(|h| !h.is_empty());
    let no_credentials = url.username().is_empty() && url.password().is_none();
    if scheme_ok && has_host && no_credentials {
        Ok(())
    } else {
        Err(bad())
    }
}

/// OIDC Discovery 4.3: the document's `issuer` must equal the configured issuer, otherwise the
/// document (and its keys) may belong to another provider whose tokens we would then accept.
///
/// One trailing `/` of difference is tolerated (`https://idp/x` vs `https://idp/x/`): both name
/// the same authority, and operators routinely type either. Tokens carry the document's exact
/// spelling, so build `IssuerRule::Exact` from `meta.issuer`, not from the configured value.
///
/// With `skip_verification` (oauth2-proxy's `insecure_oidc_skip_issuer_verification`) nothing
/// is checked here: Entra's `common`/`organizations` documents carry the literal
/// `https://login.microsoftonline.com/{tenantid}/v2.0` template, and the per-token
/// `IssuerRule::EntraTenant` check takes over.
pub fn check_issuer(
    meta: &ProviderMetadata,
    configured_issuer: &str,
    skip_verification: bool,
) -> Result<(), OidcError> {
    if skip_verification {
        return Ok(());
    }
    let found = meta.issuer.strip_suffix('/').unwrap_or(&meta.issuer);
    let expected = configured_issuer
        .strip_suffix('/')
        .unwrap_or(configured_issuer);
    if found == expected {
        Ok(())
    } else {
        Err(OidcError::IssuerMismatch {
            expected: loggable(configured_issuer, 200),
            found: loggable(&meta.issuer, 200),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A trimmed copy of Entra's `common` v2.0 discovery document.
    const ENTRA_COMMON: &str = r#"{
        "token_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported":["client_secret_post","private_key_jwt","client_secret_basic"],
        "jwks_uri":"https://login.microsoftonline.com/common/discovery/v2.0/keys",
        "response_modes_supported":["query","fragment","form_post"],
        "subject_types_supported":["pairwise"],
        "id_token_signing_alg_values_supported":["RS256"],
        "response_types_supported":["code","id_token","code id_token","id_token token"],
        "scopes_supported":["openid","profile","email","offline_access"],
        "issuer":"https://login.microsoftonline.com/{tenantid}/v2.0",
        "request_uri_parameter_supported":false,
        "userinfo_endpoint":"https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "device_authorization_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
        "http_logout_supported":true,
        "frontchannel_logout_supported":true,
        "end_session_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/logout",
        "claims_supported":["sub","iss","aud","exp","iat","nonce","tid"],
        "kerberos_endpoint":"https://login.microsoftonline.com/common/kerberos",
        "tenant_region_scope":null,
        "cloud_instance_name":"microsoftonline.com",
        "cloud_graph_host_name":"graph.windows.net",
        "msgraph_host":"graph.microsoft.com",
        "rbac_url":"https://pas.windows.net"
    }"#;

    fn doc(issuer: &str, token_endpoint: &str) -> String {
        format!(
            r#"{{"issuer":"{issuer}","authorization_endpoint":"https://idp.example/auth",
            "token_endpoint":"{token_endpoint}","jwks_uri":"https://idp.example/keys"}}"#
        )
    }

    #[test]
    fn parses_entra_common_document_with_tenant_template() {
        let meta = parse_discovery(ENTRA_COMMON.as_bytes()).unwrap();
        assert_eq!(
            meta.issuer,
            "https://login.microsoftonline.com/{tenantid}/v2.0"
        );
        assert_eq!(
            meta.jwks_uri,
            "https://login.microsoftonline.com/common/discovery/v2.0/keys"
        );
        assert_eq!(
            meta.end_session_endpoint.as_deref(),
            Some("https://login.microsoftonline.com/common/oauth2/v2.0/logout")
        );
        let configured = "https://login.microsoftonline.com/common/v2.0";
        assert!(check_issuer(&meta, configured, true).is_ok());
        assert!(matches!(
            check_issuer(&meta, configured, false),
            Err(OidcError::IssuerMismatch { .. })
        ));
    }

    #[test]
    fn endpoint_sanity_table() {
        let cases: [(&str, &str, Option<&'static str>); 7] = [
            ("https://idp.example", "https://idp.example/token", None),
            (
                "http://localhost:8080/realms/x",
                "http://localhost:8080/t",
                None,
            ),
            ("https://idp.example", "/token", Some("token_endpoint")),
            (
                "https://idp.example",
                "javascript:alert(1)",
                Some("token_endpoint"),
            ),
            (
                "https://idp.example",
                "ftp://idp.example/t",
                Some("token_endpoint"),
            ),
            (
                "https://idp.example",
                "https://u:p@idp.example/t",
                Some("token_endpoint"),
            ),
            ("idp.example", "https://idp.example/t", Some("issuer")),
        ];
        for (issuer, token_endpoint, bad_field) in cases {
            let got = parse_discovery(doc(issuer, token_endpoint).as_bytes());
            match bad_field {
                None => assert!(got.is_ok(), "{issuer} {token_endpoint}: {got:?}"),
                Some(field) => assert!(
                    matches!(&got, Err(OidcError::BadEndpoint { field: f, .. }) if *f == field),
                    "{issuer} {token_endpoint}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn rejects_missing_fields_bad_json_and_oversize() {
        let missing =
            r#"{"issuer":"https://idp.example","token_endpoint":"https://idp.example/t"}"#;
        assert!(matches!(
            parse_discovery(missing.as_bytes()),
            Err(OidcError::Json { .. })
        ));
        assert!(matches!(
            parse_discovery(b"<html>502 Bad Gateway</html>"),
            Err(OidcError::Json { .. })
        ));
        let mut big = doc("https://idp.example", "https://idp.example/t").into_bytes();
        big.resize(MAX_DISCOVERY_BYTES + 1, b' ');
        assert!(matches!(
            parse_discovery(&big),
            Err(OidcError::TooLarge { .. })
        ));
    }

    #[test]
    fn issuer_check_table() {
        let cases = [
            (
                "https://idp.example/realm",
                "https://idp.example/realm",
                true,
            ),
            (
                "https://idp.example/realm/",
                "https://idp.example/realm",
                true,
            ),
            (
                "https://idp.example/realm",
                "https://idp.example/realm/",
                true,
            ),
            (
                "https://idp.example/realm",
                "https://idp.example/realm//",
                false,
            ),
            (
                "https://evil.example/realm",
                "https://idp.example/realm",
                false,
            ),
            (
                "https://idp.example/realm2",
                "https://idp.example/realm",
                false,
            ),
        ];
        for (in_doc, configured, ok) in cases {
            let meta = parse_discovery(doc(in_doc, "https://idp.example/t").as_bytes()).unwrap();
            assert_eq!(
                check_issuer(&meta, configured, false).is_ok(),
                ok,
                "{in_doc} vs {configured}"
            );
        }
    }
}
