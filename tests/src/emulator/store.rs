//! Server-side state: authorization codes, refresh tokens, access tokens and SSO sessions.

use std::collections::HashMap;

/// PKCE transformation (RFC 7636).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeMethod {
    /// `code_challenge = code_verifier`.
    Plain,
    /// `code_challenge = BASE64URL(SHA256(code_verifier))`.
    S256,
}

/// What an authorization code stands for; the token endpoint checks each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGrant {
    /// Client the code was issued to.
    pub client_id: String,
    /// Exact redirect URI of the authorize request.
    pub redirect_uri: String,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// `nonce` of the authorize request, echoed into the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge and method.
    pub challenge: Option<(String, ChallengeMethod)>,
    /// Signed-in user (UPN).
    pub username: String,
    /// SSO session id (`sid`).
    pub session_id: String,
    /// Issue time, Unix seconds.
    pub issued_at: u64,
    /// Set on first successful redemption.
    pub redeemed: bool,
}

/// What a refresh token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshGrant {
    /// Client the token was issued to.
    pub client_id: String,
    /// User (UPN).
    pub username: String,
    /// Scopes consented to in the original request.
    pub scopes: Vec<String>,
    /// SSO session id (`sid`).
    pub session_id: String,
    /// Issue time, Unix seconds.
    pub issued_at: u64,
    /// Set when redeemed (strict rotation) so reuse is detectable.
    pub revoked: bool,
}

/// What an access token authorizes; a Graph emulator looks bearer tokens up here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    /// Client the token was issued to.
    pub client_id: String,
    /// User (UPN).
    pub username: String,
    /// User object id.
    pub oid: String,
    /// Tenant id.
    pub tid: String,
    /// Granted delegated scopes (`scp`).
    pub scopes: Vec<String>,
    /// Expiry, Unix seconds.
    pub expires_at: u64,
}

/// All grants, keyed by the token string.
#[derive(Debug, Default)]
pub struct Store {
    /// Authorization codes.
    pub codes: HashMap<String, CodeGrant>,
    /// Refresh tokens.
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    /// Access tokens.
    pub access_tokens: HashMap<String, AccessGrant>,
    /// Browser sessions: `ESTSAUTH` cookie value → (user, session id).
    pub sessions: HashMap<String, (String, String)>,
}
