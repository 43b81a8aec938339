//! Entra's errors: the AADSTS catalogue the emulator uses and the JSON shape they travel in.
//!
//! Codes and wording follow Microsoft's published AADSTS reference where known. Real clients
//! (and our filter) must treat the text as opaque and only log `error_codes`, `trace_id` and
//! `correlation_id`, so small wording differences do not matter.

use serde_json::{json, Value};

use super::clock::entra_timestamp;

/// One error as Entra reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraError {
    /// HTTP status.
    pub status: u16,
    /// OAuth `error` value.
    pub error: &'static str,
    /// AADSTS number.
    pub code: u32,
    /// Message after `AADSTSnnnn: `.
    pub message: String,
}

/// Per-response ids Entra stamps on errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorIds {
    /// Server-side trace id.
    pub trace_id: String,
    /// The client's `client-request-id`, or a fresh id.
    pub correlation_id: String,
    /// Unix seconds.
    pub now: u64,
}

/// Where Entra's federated-credential errors send the reader.
const WORKLOAD_IDENTITY_DOC: &str =
    "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

fn err(status: u16, error: &'static str, code: u32, message: String) -> EntraError {
    EntraError {
        status,
        error,
        code,
        message,
    }
}

impl EntraError {
    /// `AADSTSnnnn: message` plus the trace lines, exactly as in `error_description`.
    pub fn description(&self, ids: &ErrorIds) -> String {
        format!(
            "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            self.code,
            self.message,
            ids.trace_id,
            ids.correlation_id,
            entra_timestamp(ids.now)
        )
    }

    /// The JSON error body of the token and discovery endpoints.
    pub fn json_body(&self, ids: &ErrorIds, base_url: &str) -> Value {
        json!({
            "error": self.error,
            "error_description": self.description(ids),
            "error_codes": [self.code],
            "timestamp": entra_timestamp(ids.now),
            "trace_id": ids.trace_id,
            "correlation_id": ids.correlation_id,
            "error_uri": format!("{base_url}/error?code={}", self.code),
        })
    }

    // ---- request shape ----

    /// AADSTS900144: a required parameter is missing.
    pub fn missing_param(name: &str) -> Self {
        err(
            400,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    /// AADSTS900561: wrong HTTP method.
    pub fn method_not_allowed(allowed: &str, got: &str) -> Self {
        err(
            400,
            "invalid_request",
            900561,
            format!("The endpoint only accepts {allowed} requests. Received a {got} request."),
        )
    }

    /// AADSTS90002: unknown tenant.
    pub fn unknown_tenant(tenant: &str) -> Self {
        err(400, "invalid_tenant", 90002, format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ))
    }

    /// AADSTS900023: the tenant segment is neither a GUID nor a domain.
    pub fn bad_tenant_identifier(tenant: &str) -> Self {
        err(400, "invalid_request", 900023, format!(
            "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain."
        ))
    }

    // ---- authorize ----

    /// AADSTS700016: no such application.
    pub fn unknown_client(client_id: &str, tenant: &str) -> Self {
        err(400, "unauthorized_client", 700016, format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ))
    }

    /// AADSTS50011: redirect URI not registered (shown as a page, never redirected to).
    pub fn redirect_uri_mismatch(uri: &str, client_id: &str) -> Self {
        err(400, "invalid_request", 50011, format!(
            "The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal."
        ))
    }

    /// AADSTS700051: response type not enabled.
    pub fn unsupported_response_type(rt: &str) -> Self {
        err(
            400,
            "unsupported_response_type",
            700051,
            format!("response_type '{rt}' is not enabled for the application."),
        )
    }

    /// AADSTS900144-style complaint about `response_mode` (number as for other bad params).
    pub fn bad_response_mode(mode: &str) -> Self {
        err(
            400,
            "invalid_request",
            900144,
            format!("The provided value for the input parameter 'response_mode' is not valid: '{mode}'."),
        )
    }

    /// AADSTS501491: code_challenge of the wrong size (RFC 7636: 43–128 characters).
    pub fn bad_code_challenge() -> Self {
        err(
            400,
            "invalid_request",
            501491,
            "Invalid size of Code_Challenge parameter.".into(),
        )
    }

    /// Unsupported code_challenge_method (number unverified against Entra).
    pub fn bad_code_challenge_method(method: &str) -> Self {
        err(
            400,
            "invalid_request",
            501482,
            format!(
                "The code_challenge_method '{method}' is not supported. Use 'S256' or 'plain'."
            ),
        )
    }

    /// AADSTS50058: `prompt=none` without a signed-in session.
    pub fn login_required() -> Self {
        err(400, "login_required", 50058, "A silent sign-in request was sent but no user is signed in. The cookies used to represent the user's session were not sent in the request to Azure AD.".into())
    }

    /// AADSTS50126: wrong password.
    pub fn invalid_credentials() -> Self {
        err(
            400,
            "invalid_grant",
            50126,
            "Error validating credentials due to invalid username or password.".into(),
        )
    }

    /// AADSTS50034: no such user.
    pub fn unknown_user(user: &str, tenant: &str) -> Self {
        err(400, "invalid_grant", 50034, format!(
            "The user account {user} does not exist in the {tenant} directory. To sign into this application, the account must be added to the directory."
        ))
    }

    /// AADSTS50020: user from a tenant this authority does not admit.
    pub fn user_not_in_tenant(user: &str, tenant: &str) -> Self {
        err(400, "access_denied", 50020, format!(
            "User account '{user}' from identity provider does not exist in tenant '{tenant}' and cannot access the application in that tenant. The account needs to be added as an external user in the tenant first."
        ))
    }

    // ---- token: client authentication ----

    /// AADSTS7000215: wrong client secret.
    pub fn invalid_client_secret(client_id: &str) -> Self {
        err(401, "invalid_client", 7000215, format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
        ))
    }

    /// AADSTS7000218: no client credential at all.
    pub fn missing_client_credential() -> Self {
        err(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into(),
        )
    }

    /// AADSTS50027: the client assertion is unusable.
    pub fn bad_client_assertion(why: &str) -> Self {
        err(
            401,
            "invalid_client",
            50027,
            format!("JWT token is invalid or malformed. {why}"),
        )
    }

    /// Basic-auth and body name different clients (number unverified against Entra).
    pub fn client_id_conflict() -> Self {
        err(
            400,
            "invalid_request",
            90023,
            "The client_id in the Authorization header and in the request body differ.".into(),
        )
    }

    /// A client-assertion check's own verdict.
    pub fn assertion_rejected(code: u32, message: String) -> Self {
        err(401, "invalid_client", code, message)
    }

    // ---- token: workload identity (federated credentials) ----

    /// AADSTS700211: no federated credential of the app has the assertion's issuer.
    pub fn federated_issuer_mismatch(issuer: &str) -> Self {
        err(401, "invalid_client", 700211, format!(
            "No matching federated identity record found for presented assertion issuer '{issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WORKLOAD_IDENTITY_DOC}"
        ))
    }

    /// AADSTS700213: the issuer matches but no credential has the assertion's subject
    /// (compared case-sensitively, as Entra has since 2024).
    pub fn federated_subject_mismatch(subject: &str) -> Self {
        err(401, "invalid_client", 700213, format!(
            "No matching federated identity record found for presented assertion subject '{subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WORKLOAD_IDENTITY_DOC}"
        ))
    }

    /// AADSTS70021: issuer and subject match but the audience does not; Entra's original,
    /// generic "no matching record" error, which names all three (and is `invalid_request`).
    pub fn federated_no_match(issuer: &str, subject: &str, audience: &str) -> Self {
        err(400, "invalid_request", 70021, format!(
            "No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. Assertion Subject: '{subject}'. Assertion Audience: '{audience}'. {WORKLOAD_IDENTITY_DOC}"
        ))
    }

    /// AADSTS7000272: the assertion's `kid` is not among the issuer's published keys.
    pub fn federated_key_not_found(kid: &str, issuer: &str) -> Self {
        err(401, "invalid_client", 7000272, format!(
            "The certificate with identifier {kid} used to sign the federated credential could not be found in the metadata of identity provider {issuer}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token."
        ))
    }

    /// AADSTS700027: the assertion's signature does not verify with the issuer's key.
    pub fn assertion_bad_signature() -> Self {
        err(
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation.".into(),
        )
    }

    /// AADSTS700024: the assertion is expired or not yet valid (`exp`/`nbf`); a client reading
    /// a rotated token file fresh and retrying once recovers from this.
    pub fn assertion_time_range(now: &str, valid_from: &str, expiry: &str) -> Self {
        err(401, "invalid_client", 700024, format!(
            "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {valid_from}, expiry time of assertion {expiry}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
        ))
    }

    // ---- token: grants ----

    /// AADSTS70003: unsupported grant type.
    pub fn unsupported_grant_type(gt: &str) -> Self {
        err(
            400,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{gt}'."),
        )
    }

    /// AADSTS9002313: the code or refresh token is not one the emulator issued.
    pub fn malformed_grant() -> Self {
        err(
            400,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid.".into(),
        )
    }

    /// AADSTS70008: expired code.
    pub fn code_expired() -> Self {
        err(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.".into())
    }

    /// AADSTS54005: code already redeemed.
    pub fn code_redeemed() -> Self {
        err(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.".into())
    }

    /// AADSTS70000: the grant belongs to another client.
    pub fn grant_for_other_client() -> Self {
        err(
            400,
            "invalid_grant",
            70000,
            "The request was denied because one or more grants are invalid: the grant was issued to a different client.".into(),
        )
    }

    /// AADSTS500112: token request's redirect_uri differs from the authorize request's.
    pub fn redirect_uri_differs(got: &str, want: &str) -> Self {
        err(400, "invalid_grant", 500112, format!(
            "The reply address '{got}' does not match the reply address '{want}' provided when requesting Authorization code."
        ))
    }

    /// AADSTS50148: PKCE challenge was sent but no verifier.
    pub fn verifier_missing() -> Self {
        err(400, "invalid_grant", 50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.".into())
    }

    /// AADSTS501481: verifier does not match the challenge.
    pub fn verifier_mismatch() -> Self {
        err(
            400,
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.".into(),
        )
    }

    /// AADSTS50173: refresh token revoked (already redeemed in strict mode).
    pub fn refresh_token_revoked() -> Self {
        err(
            400,
            "invalid_grant",
            50173,
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.".into(),
        )
    }

    /// AADSTS700082: refresh token past its lifetime.
    pub fn refresh_token_expired() -> Self {
        err(400, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued and was inactive for longer than allowed.".into())
    }

    /// AADSTS65001: refresh asks for scopes never consented to.
    pub fn consent_required(scope: &str) -> Self {
        err(400, "invalid_grant", 65001, format!(
            "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource. Scope: '{scope}'."
        ))
    }

    /// AADSTS90033: transient failure (used for injected status faults).
    pub fn transient(status: u16) -> Self {
        let error = if status >= 500 || status == 429 {
            "temporarily_unavailable"
        } else {
            "invalid_request"
        };
        err(
            status,
            error,
            90033,
            "A transient error has occurred. Please try again.".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_has_entra_shape() {
        let ids = ErrorIds {
            trace_id: "t-1".into(),
            correlation_id: "c-1".into(),
            now: 1_709_210_096,
        };
        let body = EntraError::code_redeemed().json_body(&ids, "http://127.0.0.1:9");
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(body["error_codes"], json!([54005]));
        assert_eq!(body["trace_id"], "t-1");
        assert_eq!(body["correlation_id"], "c-1");
        assert_eq!(body["timestamp"], "2024-02-29 12:34:56Z");
        assert_eq!(body["error_uri"], "http://127.0.0.1:9/error?code=54005");
        let desc = body["error_description"].as_str().unwrap();
        assert!(desc.starts_with("AADSTS54005: OAuth2 Authorization code was already redeemed"));
        assert!(desc.ends_with(
            "\r\nTrace ID: t-1\r\nCorrelation ID: c-1\r\nTimestamp: 2024-02-29 12:34:56Z"
        ));
    }

    #[test]
    fn client_authentication_failures_are_401_invalid_client() {
        for e in [
            EntraError::invalid_client_secret("c"),
            EntraError::missing_client_credential(),
            EntraError::bad_client_assertion("x"),
        ] {
            assert_eq!((e.status, e.error), (401, "invalid_client"), "{e:?}");
        }
    }
}
