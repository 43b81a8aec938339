//! Error enums of the OIDC module: one for provider documents (discovery, JWKS), one for
//! token validation, one for token-endpoint answers.

use super::token_response::IdpError;

/// A discovery document or JWKS was unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The body is larger than the bound for its kind; a provider never sends that much, so it
    /// is an error page or an attempt to exhaust the VM's memory.
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// Which document ("discovery document", "JWKS").
        what: &'static str,
        /// The bound in bytes.
        limit: usize,
    },
    /// The body is not the JSON shape the document must have.
    #[error("{what} is not valid JSON of the expected shape: {detail}")]
    Json {
        /// Which document.
        what: &'static str,
        /// The parser's message (provider documents are public; nothing secret is echoed).
        detail: String,
    },
    /// An endpoint in the discovery document is not an absolute http(s) URL with a host.
    #[error("discovery field {field} is not an absolute http(s) URL: {value:?}")]
    BadEndpoint {
        /// The offending field name.
        field: &'static str,
        /// The offending value, truncated for logging.
        value: String,
    },
    /// The discovery document names another issuer than the one configured (OIDC Discovery
    /// 4.3): the document may belong to another provider, whose tokens must not be accepted.
    #[error("discovery issuer {found:?} does not match the configured issuer {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The document's issuer, truncated for logging.
        found: String,
    },
    /// The JWKS lists more keys than the bound; no real provider publishes that many.
    #[error("JWKS lists {count} keys, more than the bound of {limit}")]
    TooManyKeys {
        /// How many entries `keys` had.
        count: usize,
        /// The bound.
        limit: usize,
    },
    /// No key in the JWKS can verify RS256 signatures, so no token could ever validate.
    #[error("JWKS holds no usable RSA signing key")]
    NoUsableKeys,
}

/// Why a JWT (ID token or bearer token) was rejected. Every message is safe to log: tokens
/// are never echoed, only bounded and sanitised header/claim values that are not secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is larger than the bound (16 KiB); nothing legitimate is that large.
    #[error("token is too large")]
    TooLarge,
    /// Not three base64url segments, or the header or claims are not a JSON object.
    #[error("token is malformed")]
    Malformed,
    /// The header's `alg` is not RS256 (value sanitised and truncated).
    #[error("token algorithm {0:?} is not accepted")]
    Algorithm(String),
    /// The header lists `crit` extensions, which this validator does not implement; RFC 7515
    /// 4.1.11 requires rejecting such tokens.
    #[error("token header has critical extensions")]
    UnsupportedCritical,
    /// The header has no `kid`, so the signing key cannot be selected.
    #[error("token header has no kid")]
    MissingKid,
    /// No key in the key set has this `kid`; the provider may have rotated keys, so the caller
    /// may refetch the JWKS (rate-limited) and try again.
    #[error("no signing key with kid {0:?}")]
    UnknownKid(String),
    /// The RSA signature does not verify under the key named by `kid`.
    #[error("token signature is invalid")]
    Signature,
    /// A required claim is absent.
    #[error("token has no {0} claim")]
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type or an impossible value.
    #[error("token claim {0} has an invalid value")]
    InvalidClaim(&'static str),
    /// The `iss` claim does not satisfy the issuer rule.
    #[error("token issuer {found:?} is not accepted")]
    Issuer {
        /// The token's `iss`, sanitised and truncated (issuers are public URLs).
        found: String,
    },
    /// The tenant in `iss` differs from the `tid` claim.
    #[error("token tenant in iss does not match tid")]
    TenantMismatch,
    /// The tenant is valid but not in `entra_id_allowed_tenants`.
    #[error("tenant {0} is not allowed")]
    TenantNotAllowed(String),
    /// The token is not meant for this client (`aud`/`azp`).
    #[error("token audience is not accepted")]
    Audience,
    /// `exp` is in the past (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("token is not yet valid")]
    NotYetValid,
    /// The `nonce` differs from the one bound to this sign-in attempt.
    #[error("token nonce does not match")]
    Nonce,
}

impl TokenError {
    /// A short snake_case label for metrics and log fields.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::TooLarge => "too_large",
            TokenError::Malformed => "malformed",
            TokenError::Algorithm(_) => "bad_algorithm",
            TokenError::UnsupportedCritical => "unsupported_crit",
            TokenError::MissingKid => "missing_kid",
            TokenError::UnknownKid(_) => "unknown_kid",
            TokenError::Signature => "bad_signature",
            TokenError::MissingClaim(_) => "missing_claim",
            TokenError::InvalidClaim(_) => "invalid_claim",
            TokenError::Issuer { .. } => "wrong_issuer",
            TokenError::TenantMismatch => "tenant_mismatch",
            TokenError::TenantNotAllowed(_) => "tenant_not_allowed",
            TokenError::Audience => "wrong_audience",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::Nonce => "bad_nonce",
        }
    }
}

/// The token endpoint did not give us tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenEndpointError {
    /// The identity provider answered with an OAuth error body (`error`, Entra's AADSTS codes).
    /// Boxed to keep the `Result` small.
    #[error("identity provider error: {}", .0.log_line())]
    Idp(Box<IdpError>),
    /// A 200 answer that is not a usable token response (not JSON, no `access_token`, a
    /// `token_type` other than Bearer, a bad `expires_in`, or too large).
    #[error("token response is malformed")]
    Malformed,
    /// A non-200 answer without an OAuth error body (an HTML error page, a proxy's 502, …).
    #[error("token endpoint answered status {0}")]
    UnexpectedStatus(u16),
}

/// Bound and sanitise an untrusted string before it goes into an error message or a log line:
/// control characters (log injection, terminal escapes) and non-ASCII become `?`, and at most
/// `max` characters are kept.
pub(crate) fn loggable(value: &str, max: usize) -> String {
    let mut out: String = value
        .chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if value.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn loggable_strips_control_characters_and_truncates() {
        let cases = [
            ("plain", 10, "plain"),
            ("a\r\nb", 10, "a??b"),
            ("abcdef", 3, "abc…"),
            ("é\u{1b}[31m", 10, "??[31m"),
        ];
        for (input, max, want) in cases {
            assert_eq!(loggable(input, max), want, "{input:?}");
        }
    }

    #[test]
    fn reasons_are_distinct() {
        let all = [
            TokenError::TooLarge,
            TokenError::Malformed,
            TokenError::Algorithm(String::new()),
            TokenError::UnsupportedCritical,
            TokenError::MissingKid,
            TokenError::UnknownKid(String::new()),
            TokenError::Signature,
            TokenError::MissingClaim("x"),
            TokenError::InvalidClaim("x"),
            TokenError::Issuer {
                found: String::new(),
            },
            TokenError::TenantMismatch,
            TokenError::TenantNotAllowed(String::new()),
            TokenError::Audience,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::Nonce,
        ];
        let mut labels: Vec<&str> = all.iter().map(TokenError::reason).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), all.len());
    }
}
