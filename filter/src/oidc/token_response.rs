//! The token endpoint: request bodies for the code and refresh grants, and parsing of its
//! answers, including Entra's AADSTS error bodies.

use std::fmt;

use serde_json::{Map, Value};
use url::form_urlencoded;

use super::error::loggable;
pub use super::error::TokenEndpointError;

/// Entra token responses are 3–12 KiB (three tokens, up to 200 groups); 64 KiB bounds what a
/// broken endpoint can make us parse.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Bound on the error description in log lines.
const MAX_DESCRIPTION_CHARS: usize = 200;

/// A successful token endpoint answer. `Debug` redacts the tokens so a stray `{:?}` cannot
/// put credentials into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The access token (for Graph, or `X-Forwarded-Access-Token`).
    pub access_token: String,
    /// The ID token, when `openid` was requested.
    pub id_token: Option<String>,
    /// The refresh token, when `offline_access` was requested.
    pub refresh_token: Option<String>,
    /// Access-token lifetime in seconds.
    pub expires_in: Option<u64>,
    /// The scopes granted, space-separated.
    pub scope: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// An error answer from the identity provider (Entra: `error`, `error_description`
/// "AADSTS…", `error_codes`, `trace_id`, `correlation_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpError {
    /// HTTP status of the answer.
    pub status: u16,
    /// The OAuth `error` code, e.g. `invalid_grant`.
    pub error: String,
    /// `error_description`, e.g. "AADSTS70008: The provided authorization code …".
    pub description: Option<String>,
    /// Entra's numeric `error_codes` (70008 → AADSTS70008).
    pub codes: Vec<u64>,
    /// Entra `trace_id`, which Microsoft support asks for.
    pub trace_id: Option<String>,
    /// Entra `correlation_id`, which Microsoft support asks for.
    pub correlation_id: Option<String>,
}

impl IdpError {
    /// One log-safe line: status, error, AADSTS code(s), trace and correlation ids, and the
    /// description collapsed to one line and truncated to 200 characters. Every value is
    /// sanitised, since the body came from the network.
    pub fn log_line(&self) -> String {
        let mut line = format!("status={} error={}", self.status, loggable(&self.error, 64));
        if !self.codes.is_empty() {
            let codes: Vec<String> = self
                .codes
                .iter()
                .take(8)
                .map(|c| format!("AADSTS{c}"))
                .collect();
            line.push_str(" codes=");
            line.push_str(&codes.join(","));
        }
        for (name, value) in [
            ("trace_id", &self.trace_id),
            ("correlation_id", &self.correlation_id),
        ] {
            if let Some(value) = value {
                line.push_str(&format!(" {name}={}", loggable(value, 64)));
            }
        }
        if let Some(description) = &self.description {
            let one_line = description.split_whitespace().collect::<Vec<_>>().join(" ");
            let quoted = loggable(&one_line, MAX_DESCRIPTION_CHARS).replace('"', "'");
            line.push_str(&format!(" description=\"{quoted}\""));
        }
        line
    }

    /// "AADSTS70008" style first code if any: from `error_codes`, else from a description
    /// that starts with one.
    pub fn aadsts(&self) -> Option<String> {
        if let Some(code) = self.codes.first() {
            return Some(format!("AADSTS{code}"));
        }
        let digits = self.description.as_deref()?.strip_prefix("AADSTS")?;
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        let number = digits.get(..end).filter(|d| !d.is_empty())?;
        Some(format!("AADSTS{number}"))
    }
}

/// Parse a token-endpoint answer: 200 + JSON with `access_token` → `Ok`; a JSON body with
/// `error` (whatever the status) → `Idp`; another non-200 → `UnexpectedStatus`; anything else
/// → `Malformed`. `expires_in` may be a number or a numeric string (Entra v1 sent strings);
/// `token_type`, if present, must be Bearer (case-insensitive) — another type (e.g. DPoP or
/// MAC) cannot be used as we use tokens.
pub fn parse_token_response(status: u16, body: &[u8]) -> Result<TokenResponse, TokenEndpointError> {
    let json = if body.len() <= MAX_RESPONSE_BYTES {
        match serde_json::from_slice(body) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    } else {
        None
    };
    if let Some(error) = json.as_ref().and_then(|map| idp_error(status, map)) {
        return Err(TokenEndpointError::Idp(Box::new(error)));
    }
    if status != 200 {
        return Err(TokenEndpointError::UnexpectedStatus(status));
    }
    json.and_then(|map| success(&map))
        .ok_or(TokenEndpointError::Malformed)
}

/// An OAuth error body (RFC 6749 5.2): `error` is required, the rest is optional.
fn idp_error(status: u16, map: &Map<String, Value>) -> Option<IdpError> {
    let error = map
        .get("error")?
        .as_str()
        .filter(|e| !e.is_empty())?
        .to_owned();
    let text = |name: &str| map.get(name).and_then(Value::as_str).map(str::to_owned);
    let codes = map
        .get("error_codes")
        .and_then(Value::as_array)
        .map(|codes| codes.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    Some(IdpError {
        status,
        error,
        description: text("error_description"),
        codes,
        trace_id: text("trace_id"),
        correlation_id: text("correlation_id"),
    })
}

/// A success body, or `None` if any field has an unusable value.
fn success(map: &Map<String, Value>) -> Option<TokenResponse> {
    let access_token = opt_str(map, "access_token")?.filter(|t| !t.is_empty())?;
    if let Some(token_type) = opt_str(map, "token_type")? {
        if !token_type.eq_ignore_ascii_case("bearer") {
            return None;
        }
    }
    let expires_in = match map.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_u64()?),
        Some(Value::String(s)) => Some(s.trim().parse::<u64>().ok()?),
        Some(_) => return None,
    };
    Some(TokenResponse {
        access_token,
        id_token: opt_str(map, "id_token")?.filter(|t| !t.is_empty()),
        refresh_token: opt_str(map, "refresh_token")?.filter(|t| !t.is_empty()),
        expires_in,
        scope: opt_str(map, "scope")?,
    })
}

/// `Some(None)` when absent or null, `Some(Some(s))` for a string, `None` for another type.
fn opt_str(map: &Map<String, Value>, name: &str) -> Option<Option<String>> {
    match map.get(name) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => None,
    }
}

/// How the filter authenticates itself to the token endpoint. `Debug` redacts the value.
#[derive(Clone, Copy)]
pub enum ClientCredential<'a> {
    /// `client_secret` in the body (client_secret_post).
    Secret(&'a str),
    /// Workload identity: `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
    /// and `client_assertion=<projected service-account token>`.
    Assertion(&'a str),
}

impl fmt::Debug for ClientCredential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientCredential::Secret(_) => f.write_str("Secret(<redacted>)"),
            ClientCredential::Assertion(_) => f.write_str("Assertion(<redacted>)"),
        }
    }
}

/// The RFC 7523 client assertion type for a JWT bearer assertion.
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl ClientCredential<'_> {
    fn append_to(&self, form: &mut form_urlencoded::Serializer<'_, String>) {
        match self {
            ClientCredential::Secret(secret) => {
                form.append_pair("client_secret", secret);
            }
            ClientCredential::Assertion(assertion) => {
                form.append_pair("client_assertion_type", JWT_BEARER_ASSERTION);
                form.append_pair("client_assertion", assertion);
            }
        }
    }
}

/// Form body (`application/x-www-form-urlencoded`) for `grant_type=authorization_code`:
/// `code`, `redirect_uri`, `client_id`, `code_verifier` when PKCE is used, and the client
/// credential.
pub fn authorization_code_form(
    code: &str,
    redirect_uri: &str,
    client_id: &str,
    code_verifier: Option<&str>,
    cred: &ClientCredential,
) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("client_id", client_id);
    if let Some(verifier) = code_verifier {
        form.append_pair("code_verifier", verifier);
    }
    cred.append_to(&mut form);
    form.finish()
}

/// Form body for `grant_type=refresh_token`. An empty `scope` is left out (the provider then
/// keeps the original scopes).
pub fn refresh_token_form(
    refresh_token: &str,
    client_id: &str,
    scope: &str,
    cred: &ClientCredential,
) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", refresh_token)
        .append_pair("client_id", client_id);
    if !scope.is_empty() {
        form.append_pair("scope", scope);
    }
    cred.append_to(&mut form);
    form.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests;
