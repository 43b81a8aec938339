//! ID-token (and bearer-token) validation: signature via [`super::jws`], then the claim rules
//! of OIDC Core 3.1.3.7 plus Entra's tenant rule.

use serde_json::{Map, Value};
use subtle::ConstantTimeEq as _;

pub use super::error::TokenError;
pub use super::issuer::{authority_of, IssuerRule};
use super::jwks::KeySet;
pub use super::jws::peek_kid;
use super::jws::verify_rs256;

/// What a valid ID token must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// How `iss` is checked.
    pub issuer: &'a IssuerRule,
    /// Our client id; `aud` must contain it.
    pub audience: &'a str,
    /// The nonce bound to this sign-in attempt (CSRF cookie), when one was sent.
    pub nonce: Option<&'a str>,
    /// The current time, seconds since the Unix epoch.
    pub now: u64,
    /// Tolerated clock skew between us and the provider, in seconds.
    pub leeway_secs: u64,
}

/// Claims the filter uses, extracted from a validated ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct IdClaims {
    /// Issuer.
    pub iss: String,
    /// Subject (pairwise per application in Entra).
    pub sub: String,
    /// Entra tenant id.
    pub tid: Option<String>,
    /// Entra object id of the user (stable across applications).
    pub oid: Option<String>,
    /// E-mail address (often absent in Entra for guests and accounts without a mailbox).
    pub email: Option<String>,
    /// Entra's sign-in name.
    pub preferred_username: Option<String>,
    /// User principal name (v1 tokens, optional claim).
    pub upn: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Group object ids from the `groups` claim (empty when absent).
    pub groups: Vec<String>,
    /// `_claim_names.groups` present or `hasgroups: true`: the user has more groups than fit
    /// in the token, so the list must come from Graph.
    pub groups_overage: bool,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issue time, when present.
    pub iat: Option<u64>,
    /// Every claim, for configurable claim lookups.
    pub raw: Map<String, Value>,
}

/// Validate an ID token: RS256 signature by a key from `keys` (see [`super::jws`] for the
/// algorithm and `kid` rules), then `iss` per the rule, `aud`/`azp`, `exp`/`nbf`/`iat` with
/// leeway, `nonce` when expected, and a `sub`.
///
/// An unknown `kid` gives [`TokenError::UnknownKid`], so the caller can refetch the JWKS.
pub fn validate_id_token(
    token: &str,
    keys: &KeySet,
    expect: &Expectations,
) -> Result<IdClaims, TokenError> {
    let raw = verify_rs256(token, keys)?;
    let rules = Rules {
        issuer: expect.issuer,
        audiences: &[expect.audience],
        nonce: expect.nonce,
        now: expect.now,
        leeway_secs: expect.leeway_secs,
    };
    rules.check(raw)
}

/// Validate a bearer token (`Authorization: Bearer`): the same checks as an ID token, but
/// `aud` may be any of `audiences` and there is no nonce. The tenant rule applies too
/// (oauth2-proxy skips it for bearer tokens, its issue #2698). An empty `audiences` accepts
/// nothing.
pub fn validate_bearer_token(
    token: &str,
    keys: &KeySet,
    issuer: &IssuerRule,
    audiences: &[String],
    now: u64,
    leeway_secs: u64,
) -> Result<IdClaims, TokenError> {
    let raw = verify_rs256(token, keys)?;
    let audiences: Vec<&str> = audiences.iter().map(String::as_str).collect();
    let rules = Rules {
        issuer,
        audiences: &audiences,
        nonce: None,
        now,
        leeway_secs,
    };
    rules.check(raw)
}

/// The claim rules shared by ID and bearer tokens.
struct Rules<'a> {
    issuer: &'a IssuerRule,
    audiences: &'a [&'a str],
    nonce: Option<&'a str>,
    now: u64,
    leeway_secs: u64,
}

impl Rules<'_> {
    fn check(&self, raw: Map<String, Value>) -> Result<IdClaims, TokenError> {
        let iss = opt_str(&raw, "iss")?.ok_or(TokenError::MissingClaim("iss"))?;
        let tid = opt_str(&raw, "tid")?;
        self.issuer.check(&iss, tid.as_deref())?;
        self.check_audience(&raw)?;
        let exp = self.check_times(&raw)?;
        self.check_nonce(&raw)?;
        let sub = opt_str(&raw, "sub")?
            .filter(|s| !s.is_empty())
            .ok_or(TokenError::MissingClaim("sub"))?;
        Ok(IdClaims {
            iss,
            sub,
            tid,
            oid: opt_str(&raw, "oid")?,
            email: opt_str(&raw, "email")?,
            preferred_username: opt_str(&raw, "preferred_username")?,
            upn: opt_str(&raw, "upn")?,
            name: opt_str(&raw, "name")?,
            groups: groups(&raw)?,
            groups_overage: groups_overage(&raw),
            exp,
            iat: opt_date(&raw, "iat")?,
            raw,
        })
    }

    /// `aud` must name us, or a token issued to another application of the same tenant (same
    /// keys, same issuer) would sign users in here. With several audiences, `azp` says which
    /// party the token was issued to, and it must be us too (OIDC Core 3.1.3.7 items 3–5).
    fn check_audience(&self, raw: &Map<String, Value>) -> Result<(), TokenError> {
        let auds: Vec<&str> = match raw.get("aud") {
            None | Some(Value::Null) => return Err(TokenError::MissingClaim("aud")),
            Some(Value::String(one)) => vec![one.as_str()],
            Some(Value::Array(many)) => many
                .iter()
                .map(|a| a.as_str().ok_or(TokenError::InvalidClaim("aud")))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(TokenError::InvalidClaim("aud")),
        };
        if !auds.iter().any(|a| self.audiences.contains(a)) {
            return Err(TokenError::Audience);
        }
        if auds.len() > 1 {
            if let Some(azp) = opt_str(raw, "azp")? {
                if !self.audiences.contains(&azp.as_str()) {
                    return Err(TokenError::Audience);
                }
            }
        }
        Ok(())
    }

    /// `exp` (required) must be later than `now - leeway`; `nbf` and `iat` (optional) must not
    /// be later than `now + leeway`. Stops replay of old tokens and use of pre-minted ones.
    fn check_times(&self, raw: &Map<String, Value>) -> Result<u64, TokenError> {
        let exp = opt_date(raw, "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
        if exp.saturating_add(self.leeway_secs) <= self.now {
            return Err(TokenError::Expired);
        }
        let latest_start = self.now.saturating_add(self.leeway_secs);
        for claim in ["nbf", "iat"] {
            if opt_date(raw, claim)?.is_some_and(|t| t > latest_start) {
                return Err(TokenError::NotYetValid);
            }
        }
        Ok(exp)
    }

    /// The nonce ties the ID token to this browser's sign-in attempt, so a token captured
    /// elsewhere cannot be injected into our callback. Compared in constant time: it is a
    /// per-attempt secret.
    fn check_nonce(&self, raw: &Map<String, Value>) -> Result<(), TokenError> {
        let Some(expected) = self.nonce else {
            return Ok(());
        };
        let got = opt_str(raw, "nonce")?.ok_or(TokenError::MissingClaim("nonce"))?;
        if bool::from(got.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(())
        } else {
            Err(TokenError::Nonce)
        }
    }
}

/// A string claim: absent or `null` → `None`; any other non-string → invalid.
fn opt_str(raw: &Map<String, Value>, name: &'static str) -> Result<Option<String>, TokenError> {
    match raw.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TokenError::InvalidClaim(name)),
    }
}

/// A NumericDate claim (RFC 7519 2: seconds, possibly fractional): absent → `None`; negative,
/// non-finite or non-numeric → invalid.
fn opt_date(raw: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, TokenError> {
    let Some(value) = raw.get(name) else {
        return Ok(None);
    };
    if let Some(secs) = value.as_u64() {
        return Ok(Some(secs));
    }
    match value.as_f64() {
        // `as` saturates for values beyond u64, which only pushes `exp` further out.
        Some(secs) if secs.is_finite() && secs >= 0.0 => Ok(Some(secs.floor() as u64)),
        _ => Err(TokenError::InvalidClaim(name)),
    }
}

/// The `groups` claim: absent → empty; otherwise an array of strings. A malformed list fails
/// the token rather than silently granting or dropping groups.
fn groups(raw: &Map<String, Value>) -> Result<Vec<String>, TokenError> {
    match raw.get("groups") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|g| {
                g.as_str()
                    .map(str::to_owned)
                    .ok_or(TokenError::InvalidClaim("groups"))
            })
            .collect(),
        Some(_) => Err(TokenError::InvalidClaim("groups")),
    }
}

/// Entra's overage markers: `_claim_names: {"groups": …}` (code flow) or `hasgroups: true`
/// (implicit flow).
fn groups_overage(raw: &Map<String, Value>) -> bool {
    let claim_names = raw
        .get("_claim_names")
        .and_then(Value::as_object)
        .is_some_and(|names| names.contains_key("groups"));
    claim_names || raw.get("hasgroups") == Some(&Value::Bool(true))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests;
