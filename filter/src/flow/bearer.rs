//! API clients with `Authorization: Bearer <JWT>` (`skip_jwt_bearer_tokens`): the token itself
//! authenticates the request, and the same rules as a browser session decide whether it may
//! pass.
//!
//! Cases, in the order they are checked:
//! 1. bearer authentication not configured, or no `Authorization: Bearer` (scheme compared
//!    case-insensitively; only the first `Authorization` header counts) → `None`, the cookie
//!    path carries on (and strips the header like every owned header);
//! 2. provider keys not loaded → 503 (fail closed: nothing can be verified);
//! 3. the token's digest is in the per-VM cache → its verdict, without any RSA work;
//! 4. not shaped like a JWT, no configured issuer accepts its `iss` (Entra tenant rule and
//!    `entra_id_allowed_tenants` included, unlike oauth2-proxy #2698), bad signature, unknown
//!    `kid`, wrong audience, expired → 401 `invalid_token` (never cached);
//! 5. verified: group overage while `allowed_groups` is set, an email domain outside
//!    `email_domains`, or none of `allowed_groups` → 403 `insufficient_scope`; otherwise the
//!    request is forwarded with identity headers (or `/oauth2/auth` answers 2xx).
//!
//! An unknown `kid` is not refetched here: the bearer path makes no callouts, so a key that
//! Entra starts using is accepted after the background JWKS refresh (hourly). Entra publishes
//! new keys weeks before signing with them, so real tokens do not hit this.

mod cache;

use std::cell::OnceCell;
use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::config::{BearerSettings, Config};
use crate::metrics::Metric;
use crate::oidc::id_token::{validate_bearer_token, IdClaims, IssuerRule, TokenError};
use crate::oidc::jwks::KeySet;
use crate::oidc::token_response::TokenResponse;
use crate::session::Session;

use super::action::{Action, LogLevel, Outcome, Response};
use super::cookies::RequestCookies;
use super::failure::Failure;
use super::identity::{self, TokenNeeds};
use super::prepared::Prepared;
use super::{endpoints, forward, Context, Request};

use cache::Checked;
pub use cache::TokenCache;

/// Clock skew tolerated for `exp`, `nbf` and `iat`, as for ID tokens.
const LEEWAY_SECS: u64 = 60;
/// Entra tokens are 1–3 KiB (more with 200 groups); the JWS layer refuses anything above this
/// too, but the unverified peek at `iss` must not decode an arbitrarily large payload first.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// What a verified token is allowed to do. Cached: it depends only on the token and the
/// configuration, and the cache lives exactly as long as the configuration.
#[derive(Debug, Clone)]
enum Verdict {
    /// Forward with this identity. Holds no raw token: those are attached per request from the
    /// request's own header, so the cache never stores a credential.
    Allowed(Box<Session>),
    /// Authentic, but the rules refuse the user.
    Denied {
        /// The user id (`user_id_claim`), for the log.
        user: String,
        /// Which rule.
        denial: Denial,
    },
}

/// Why a verified token may not pass.
#[derive(Debug, Clone, thiserror::Error)]
enum Denial {
    /// The token carries an overage marker instead of its groups, and `allowed_groups` needs
    /// them. Graph cannot be asked with an API caller's token (it is not a Graph token), and
    /// guessing would let users with many groups past a group rule, so this fails closed.
    #[error("group overage: the token does not list its groups and allowed_groups is set")]
    GroupOverage,
    /// The user's email domain is not in `email_domains` (the domain, or `(no email)`).
    #[error("email domain {0:?} not allowed")]
    Email(String),
    /// Another rule of the session builder refused the claims (its log text).
    #[error("{0}")]
    Refused(String),
    /// The user is in none of `allowed_groups`.
    #[error("not in allowed_groups")]
    Groups,
}

impl Denial {
    /// Metric and the `error_description` the client sees (plain ASCII without quotes, so it
    /// fits an RFC 6750 quoted string unescaped).
    fn describe(&self) -> (Metric, &'static str) {
        match self {
            Denial::GroupOverage => (
                Metric::GroupDenied,
                "the token has too many groups to list them (group overage), so allowed_groups cannot be checked; use a token with a groups claim",
            ),
            Denial::Email(_) => (Metric::EmailDenied, "the token's email domain is not allowed"),
            Denial::Refused(_) => (Metric::GroupDenied, "the token's identity is not allowed"),
            Denial::Groups => (Metric::GroupDenied, "the token's user is in none of the allowed groups"),
        }
    }
}

/// Some(outcome) when bearer authentication is configured and the request carries a bearer
/// token; None to continue with cookies.
pub fn authenticate(ctx: &Context, req: &Request) -> Option<Outcome> {
    let settings = ctx.config.bearer.as_ref()?;
    let token = bearer_token(req)?;
    let Some(provider) = ctx.provider else {
        return Some(Failure::ProviderNotReady.outcome(req));
    };
    let cached = ctx
        .bearer_cache
        .try_borrow()
        .ok()
        .and_then(|c| c.get(token, ctx.now));
    let fresh = cached.is_none();
    let checked = match cached {
        Some(checked) => checked,
        None => match verify(ctx.config, settings, &provider.keys, token, ctx.now) {
            Ok((verdict, valid_until)) => {
                let checked = Rc::new(Checked::new(verdict));
                if let Ok(mut cache) = ctx.bearer_cache.try_borrow_mut() {
                    cache.insert(token, Rc::clone(&checked), valid_until);
                }
                checked
            }
            Err(e) => return Some(invalid(req, &e)),
        },
    };
    Some(match &checked.verdict {
        Verdict::Allowed(session) => {
            let outcome = allow(ctx, req, session, &checked.prepared, token);
            // Logged when a worker verifies the token, not on every request: formatting a line
            // per request would cost the cached path more than the rest of it.
            if fresh && outcome.log.is_none() {
                outcome.with_log(
                    LogLevel::Debug,
                    format!(
                        "bearer token verified: user={} tenant={} request_id={}",
                        session.user,
                        session.tenant.as_deref().unwrap_or("-"),
                        req.request_id()
                    ),
                )
            } else {
                outcome
            }
        }
        Verdict::Denied { user, denial } => deny(req, user, denial),
    })
}

/// The credentials of the first `Authorization` header when its scheme is `Bearer` (RFC 7235:
/// case-insensitive). Other schemes (`Basic`) are not ours to judge.
fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.header("authorization")?.trim_start();
    let is_space = |c: char| c == ' ' || c == '\t';
    let (scheme, rest) = value.split_once(is_space).unwrap_or((value, ""));
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim_matches(is_space))
}

/// Validate `token` once: its `iss` picks the issuer rule (so RSA runs at most once per
/// token), then signature and claims, then the session rules. Returns the verdict and until
/// when it may be cached.
fn verify(
    config: &Config,
    settings: &BearerSettings,
    keys: &KeySet,
    token: &str,
    now: u64,
) -> Result<(Verdict, u64), TokenError> {
    check_shape(token)?;
    let (rule, audiences) = select_issuer(settings, token)?;
    let claims = validate_bearer_token(token, keys, rule, &audiences, now, LEEWAY_SECS)?;
    // Cached no longer than a fresh check would accept it, and at most TTL_SECS, so a key
    // withdrawn from the JWKS stops working soon.
    let valid_until = claims
        .exp
        .saturating_add(LEEWAY_SECS)
        .min(now.saturating_add(cache::TTL_SECS));
    Ok((judge(config, &claims, now), valid_until))
}

/// Compact JWS: three base64url segments, header and payload non-empty (an empty signature is
/// left to the JWS layer, which names the algorithm it refuses). Opaque tokens end here.
fn check_shape(token: &str) -> Result<(), TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let segments: Vec<&str> = token.split('.').collect();
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match segments.as_slice() {
        [header, payload, _]
            if !header.is_empty()
                && !payload.is_empty()
                && segments.iter().all(|s| base64url(s)) =>
        {
            Ok(())
        }
        _ => Err(TokenError::Malformed),
    }
}

/// The issuer rule that accepts the token's (still unverified) `iss` and `tid`, with the
/// audiences of every configured pair that accepts it. Choosing by the claim only decides which
/// rule the full validation applies; the signature and every claim are still checked. When no
/// rule accepts, the first pair's reason is the answer (no RSA spent on a foreign token).
fn select_issuer<'a>(
    settings: &'a BearerSettings,
    token: &str,
) -> Result<(&'a IssuerRule, Vec<String>), TokenError> {
    let payload = token.split('.').nth(1).ok_or(TokenError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    let iss = match claims.get("iss") {
        Some(Value::String(iss)) => iss.as_str(),
        None | Some(Value::Null) => return Err(TokenError::MissingClaim("iss")),
        Some(_) => return Err(TokenError::InvalidClaim("iss")),
    };
    let tid = match claims.get("tid") {
        Some(Value::String(tid)) => Some(tid.as_str()),
        None | Some(Value::Null) => None,
        Some(_) => return Err(TokenError::InvalidClaim("tid")),
    };
    let mut chosen = None;
    let mut audiences = Vec::new();
    let mut first_error = None;
    for (rule, auds) in &settings.issuers {
        match rule.check(iss, tid) {
            Ok(()) => {
                chosen.get_or_insert(rule);
                audiences.extend(auds.iter().cloned());
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match chosen {
        Some(rule) => Ok((rule, audiences)),
        None => Err(first_error.unwrap_or(TokenError::Malformed)),
    }
}

/// The session rules of a browser sign-in, applied to verified claims.
fn judge(config: &Config, claims: &IdClaims, now: u64) -> Verdict {
    // The raw tokens are attached per request; the session built here is what gets cached.
    let no_tokens = TokenResponse {
        access_token: String::new(),
        id_token: None,
        refresh_token: None,
        expires_in: None,
        scope: None,
    };
    let mut session = match identity::session_from_claims(config, claims, &no_tokens, now) {
        Ok(session) => session,
        Err(failure) => {
            let user = claims.oid.clone().unwrap_or_else(|| claims.sub.clone());
            let denial = match failure {
                Failure::EmailDenied(domain) => Denial::Email(domain),
                other => Denial::Refused(other.summary()),
            };
            return Verdict::Denied { user, denial };
        }
    };
    session.id_token = None;
    session.access_token = None;
    session.expires_at = claims.exp;
    let denial = if claims.groups_overage && !config.allowed_groups.is_empty() {
        Some(Denial::GroupOverage)
    } else if identity::check_groups(config, &session.groups).is_err() {
        Some(Denial::Groups)
    } else {
        None
    };
    match denial {
        Some(denial) => Verdict::Denied {
            user: session.user,
            denial,
        },
        None => Verdict::Allowed(Box::new(session)),
    }
}

/// Forward (or answer `/oauth2/auth`) with the token's identity. Like oauth2-proxy, the token
/// stands in for both the ID and the access token: with `pass_authorization_header` the
/// upstream gets `Authorization: Bearer <the same token>`, with `pass_access_token`
/// `X-Forwarded-Access-Token: <it>`. Without them the header is stripped like every owned
/// header, so an upstream that only trusts our identity headers never sees a credential it
/// could replay elsewhere.
fn allow(
    ctx: &Context,
    req: &Request,
    session: &Session,
    prepared: &OnceCell<Rc<Prepared>>,
    token: &str,
) -> Outcome {
    let config = ctx.config;
    let with_token = || {
        let needs = TokenNeeds::of(config);
        let mut session = session.clone();
        session.id_token = needs.id_token.then(|| token.to_string());
        session.access_token = needs.access_token.then(|| token.to_string());
        session
    };
    if req.path_only().strip_prefix(config.proxy_prefix.as_str()) == Some("/auth") {
        let mut outcome = endpoints::answer_for(ctx, req, &with_token());
        if matches!(&outcome.action, Action::Respond(r) if (200..300).contains(&r.status)) {
            outcome.also.push(Metric::BearerValid);
        }
        return outcome;
    }
    // Rendered once per token: the cache entry is keyed by this exact token, so headers that
    // carry it belong to it.
    let prepared = prepared.get_or_init(|| Rc::new(Prepared::render(config, &with_token())));
    Outcome::new(
        forward::forward_action(
            config,
            req,
            &RequestCookies::scan(config, req).edit(),
            prepared,
            prepared.response.clone(),
        ),
        Metric::BearerValid,
    )
}

/// 401 `invalid_token` (RFC 6750 3.1). The description is the reason label only: the client
/// learns what to fix, nothing from the token is echoed.
fn invalid(req: &Request, e: &TokenError) -> Outcome {
    let hint = if matches!(e, TokenError::UnknownKid(_)) {
        " (signing keys are refreshed hourly; a newly rotated key is accepted after the next refresh)"
    } else {
        ""
    };
    reply(req, 401, "invalid_token", e.reason(), Metric::BearerInvalid).with_log(
        LogLevel::Info,
        format!(
            "bearer token rejected ({}): {e}{hint} request_id={}",
            e.reason(),
            req.request_id()
        ),
    )
}

/// 403 `insufficient_scope` (RFC 6750 3.1): the token is fine, its user is not allowed.
fn deny(req: &Request, user: &str, denial: &Denial) -> Outcome {
    let (metric, description) = denial.describe();
    reply(req, 403, "insufficient_scope", description, metric).with_log(
        LogLevel::Info,
        format!(
            "bearer token refused: user={user} {denial} request_id={}",
            req.request_id()
        ),
    )
}

/// A JSON error with the matching `WWW-Authenticate` challenge. `description` must be plain
/// ASCII without `"` or `\` (every caller passes a constant or a reason label).
fn reply(req: &Request, status: u16, error: &str, description: &str, metric: Metric) -> Outcome {
    let body = serde_json::json!({"error": error, "error_description": description, "request_id": req.request_id()});
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("cache-control".to_string(), "no-store".to_string()),
        (
            "www-authenticate".to_string(),
            format!("Bearer error=\"{error}\", error_description=\"{description}\""),
        ),
    ];
    Outcome::new(
        Action::Respond(Response {
            status,
            headers,
            body: body.to_string(),
        }),
        metric,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn only_the_first_authorization_header_with_a_bearer_scheme_counts() {
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let cases: [(Headers, Option<&str>); 9] = [
            (&[("authorization", "Bearer a.b.c")], Some("a.b.c")),
            (&[("Authorization", "bearer a.b.c")], Some("a.b.c")),
            (&[("authorization", "BEARER \t a.b.c  ")], Some("a.b.c")),
            (&[("authorization", "Bearer")], Some("")),
            (&[("authorization", "Basic dXNlcjpwdw==")], None),
            (&[("authorization", "Bearerx a.b.c")], None),
            (
                &[
                    ("authorization", "Basic x"),
                    ("authorization", "Bearer a.b.c"),
                ],
                None,
            ),
            (
                &[
                    ("authorization", "Bearer a.b.c"),
                    ("authorization", "Basic x"),
                ],
                Some("a.b.c"),
            ),
            (&[("x-authorization", "Bearer a.b.c")], None),
        ];
        for (headers, want) in cases {
            let req = Request::new(
                headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            );
            assert_eq!(bearer_token(&req), want, "{headers:?}");
        }
    }

    #[test]
    fn only_compact_jws_shapes_pass_the_shape_check() {
        let big = format!("a.{}.c", "b".repeat(MAX_TOKEN_BYTES));
        let cases = [
            ("eyJh.eyJi.c2ln", Ok(())),
            ("eyJh.eyJi.", Ok(())),
            ("opaque-token", Err(TokenError::Malformed)),
            ("", Err(TokenError::Malformed)),
            ("a.b", Err(TokenError::Malformed)),
            ("a.b.c.d", Err(TokenError::Malformed)),
            (".b.c", Err(TokenError::Malformed)),
            ("a..c", Err(TokenError::Malformed)),
            ("a.b=.c", Err(TokenError::Malformed)),
            ("a.b+/.c", Err(TokenError::Malformed)),
            ("a.b c.d", Err(TokenError::Malformed)),
            (big.as_str(), Err(TokenError::TooLarge)),
        ];
        for (token, want) in cases {
            assert_eq!(check_shape(token), want, "{token:.40}");
        }
    }

    fn unsigned(claims: serde_json::Value) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.sig",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn the_unverified_issuer_picks_the_rule_and_merges_audiences() {
        let tenant = "11111111-1111-1111-1111-111111111111";
        let other = "33333333-3333-3333-3333-333333333333";
        let v2 = IssuerRule::EntraTenant {
            authority: "https://login.microsoftonline.com".into(),
            allowed_tenants: Some(vec![tenant.into()]),
        };
        let v1 = IssuerRule::Exact(format!("https://sts.windows.net/{tenant}/"));
        let v2_pinned =
            IssuerRule::Exact(format!("https://login.microsoftonline.com/{tenant}/v2.0"));
        let settings = BearerSettings {
            issuers: vec![
                (v2.clone(), vec!["app".into()]),
                (v1.clone(), vec!["api://v1".into()]),
                (v2_pinned, vec!["api://v2".into()]),
            ],
        };
        let v2_iss = format!("https://login.microsoftonline.com/{tenant}/v2.0");
        let cases = [
            (
                serde_json::json!({"iss": v2_iss, "tid": tenant}),
                Ok((v2.clone(), vec!["app", "api://v2"])),
            ),
            (
                serde_json::json!({"iss": format!("https://sts.windows.net/{tenant}/"), "tid": tenant}),
                Ok((v1, vec!["api://v1"])),
            ),
            (
                serde_json::json!({"iss": format!("https://login.microsoftonline.com/{other}/v2.0"), "tid": other}),
                Err(TokenError::TenantNotAllowed(other.into())),
            ),
            (
                serde_json::json!({"tid": tenant}),
                Err(TokenError::MissingClaim("iss")),
            ),
            (
                serde_json::json!({"iss": 7}),
                Err(TokenError::InvalidClaim("iss")),
            ),
            (
                serde_json::json!({"iss": v2_iss, "tid": [tenant]}),
                Err(TokenError::InvalidClaim("tid")),
            ),
        ];
        for (claims, want) in cases {
            let got = select_issuer(&settings, &unsigned(claims.clone()))
                .map(|(rule, auds)| (rule.clone(), auds));
            let want = want
                .map(|(rule, auds)| (rule, auds.into_iter().map(String::from).collect::<Vec<_>>()));
            assert_eq!(got, want, "{claims}");
        }
        assert_eq!(
            select_issuer(&settings, "a.!!!.c").unwrap_err(),
            TokenError::Malformed
        );
    }
}
