//! `/oauth2/callback`: check the state against this browser's CSRF cookie, redeem the code,
//! validate the ID token, and issue the session cookie.

use crate::headers::CookieWriter;
use crate::metrics::Metric;
use crate::oidc::id_token::{validate_id_token, Expectations, IdClaims, IssuerRule, TokenError};
use crate::oidc::jwks::{parse_jwks, KeySet};
use crate::oidc::token_response::{
    authorization_code_form, parse_token_response, TokenEndpointError, TokenResponse,
};
use crate::session::csrf::CsrfState;
use crate::session::Session;

use super::action::AfterAssertion;
use super::action::{Action, CallResponse, LogLevel, Outcome, Pending, Response};
use super::entropy::bytes;
use super::failure::Failure;
use super::provider::{self, ProviderRecord, ProviderState};
use super::signin::{csrf_cookie_name, redirect_uri};
use super::{federated, group_cache, groups, identity, issue};
use super::{Context, Entropy, Request};

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 60;

/// First step: check the callback and send the code to the token endpoint.
pub fn begin(ctx: &Context, req: &Request) -> Outcome {
    if ctx.provider.is_none() {
        return Failure::ProviderNotReady.outcome(req);
    }
    if let Some(error) = req.query_param("error") {
        let aadsts = req
            .query_param("error_description")
            .and_then(|d| d.split(':').next().map(str::to_string))
            .filter(|code| code.starts_with("AADSTS") && code.len() < 20);
        return clearing_csrf(
            ctx,
            req,
            Failure::ProviderError {
                error: truncate(&error, 64),
                aadsts,
            }
            .outcome(req),
        );
    }
    let csrf = match check_state(ctx, req) {
        Ok(csrf) => csrf,
        Err(why) => return clearing_csrf(ctx, req, Failure::StateInvalid(why).outcome(req)),
    };
    let Some(code) = req.query_param("code").filter(|c| !c.is_empty()) else {
        return clearing_csrf(
            ctx,
            req,
            Failure::StateInvalid("callback without a code").outcome(req),
        );
    };
    redeem(ctx, req, csrf, code, false)
}

/// POST the code to the token endpoint. `retried`: this is the one retry after Entra refused
/// the workload-identity assertion.
pub fn redeem(
    ctx: &Context,
    req: &Request,
    csrf: CsrfState,
    code: String,
    retried: bool,
) -> Outcome {
    let config = ctx.config;
    let Some(provider) = ctx.provider else {
        return Failure::ProviderNotReady.outcome(req);
    };
    let mut assertion = None;
    let credential = match federated::credential(ctx, &mut assertion) {
        Ok(credential) => credential,
        Err(failure) => return clearing_csrf(ctx, req, failure.outcome(req)),
    };
    let verifier = config.pkce.then_some(csrf.code_verifier.as_str());
    let form = authorization_code_form(
        &code,
        &redirect_uri(ctx, req),
        &config.client_id,
        verifier,
        &credential,
    );
    match provider::post_form(config, &provider.record.metadata.token_endpoint, form) {
        Ok(call) => Outcome::call(
            call,
            Pending::TokenExchange {
                csrf,
                code,
                retried,
            },
        ),
        Err(authority) => clearing_csrf(ctx, req, Failure::NoCluster(authority).outcome(req)),
    }
}

/// The state must match the one sealed in this browser's CSRF cookie: that is what stops a
/// login-CSRF attack (an attacker's code injected into the victim's browser).
fn check_state(ctx: &Context, req: &Request) -> Result<CsrfState, &'static str> {
    let state = req
        .query_param("state")
        .filter(|s| !s.is_empty())
        .ok_or("callback without state")?;
    let name = csrf_cookie_name(ctx.config, &state);
    let cookie = req
        .cookies()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .ok_or("no CSRF cookie (sign-in expired, already used, or started in another browser)")?;
    let csrf = CsrfState::open(
        &ctx.config.cipher,
        &ctx.config.cookie.name,
        &cookie,
        ctx.now,
    )
    .map_err(|_| "CSRF cookie invalid or expired")?;
    if !csrf.state_matches(&state) {
        return Err("state does not match the CSRF cookie");
    }
    Ok(csrf)
}

/// Second step: the token endpoint answered.
pub fn on_token_response(
    ctx: &Context,
    req: &Request,
    (csrf, code, retried): (CsrfState, String, bool),
    response: CallResponse,
    rng: &mut dyn Entropy,
) -> Outcome {
    if response.status == 0 {
        return clearing_csrf(
            ctx,
            req,
            Failure::TokenEndpointFailure("no response (timeout or connection failure)".into())
                .outcome(req),
        );
    }
    let tokens = match parse_token_response(response.status, &response.body) {
        Ok(tokens) => tokens,
        Err(TokenEndpointError::Idp(e)) if e.error == "invalid_grant" => {
            return clearing_csrf(ctx, req, Failure::CodeRejected(e).outcome(req));
        }
        Err(TokenEndpointError::Idp(e))
            if !retried
                && ctx.config.federated_token_url.is_some()
                && federated::assertion_rejected(&e) =>
        {
            // The projected token expired or rotated under us: fetch it again, redeem once more.
            return match federated::fetch_call(ctx.config) {
                Some(Ok(call)) => Outcome::call(
                    call,
                    Pending::Assertion {
                        then: AfterAssertion::Redeem { csrf, code },
                    },
                )
                .with_log(
                    LogLevel::Info,
                    format!(
                        "federated token refused ({}); fetching it again",
                        e.log_line()
                    ),
                ),
                Some(Err(failure)) => clearing_csrf(ctx, req, failure.outcome(req)),
                None => clearing_csrf(ctx, req, Failure::TokenEndpointError(e).outcome(req)),
            };
        }
        Err(TokenEndpointError::Idp(e)) => {
            return clearing_csrf(ctx, req, Failure::TokenEndpointError(e).outcome(req))
        }
        Err(other) => {
            return clearing_csrf(
                ctx,
                req,
                Failure::TokenEndpointFailure(other.to_string()).outcome(req),
            )
        }
    };
    if tokens.id_token.is_none() {
        let why = "token response has no id_token (is \"openid\" in scope?)".to_string();
        return clearing_csrf(ctx, req, Failure::TokenEndpointFailure(why).outcome(req));
    }
    let Some(provider) = ctx.provider else {
        return Failure::ProviderNotReady.outcome(req);
    };
    match validate(ctx, &csrf, &tokens, &provider.keys) {
        Err(TokenError::UnknownKid(_)) if provider.may_refetch_for_unknown_kid(ctx.now) => {
            match provider::get(ctx.config, &provider.record.metadata.jwks_uri) {
                Ok(call) => Outcome::call(call, Pending::JwksForToken { csrf, tokens }).with_log(
                    LogLevel::Info,
                    "ID token signed by an unknown key; refetching JWKS",
                ),
                Err(authority) => {
                    clearing_csrf(ctx, req, Failure::NoCluster(authority).outcome(req))
                }
            }
        }
        result => finish(ctx, req, csrf, &tokens, result, rng),
    }
}

/// Third step, only after an unknown `kid`: fresh keys arrived.
pub fn on_jwks_response(
    ctx: &Context,
    req: &Request,
    csrf: CsrfState,
    tokens: TokenResponse,
    response: CallResponse,
    rng: &mut dyn Entropy,
) -> Outcome {
    let Some(provider) = ctx.provider else {
        return Failure::ProviderNotReady.outcome(req);
    };
    let keys = if response.status == 200 {
        parse_jwks(&response.body).ok()
    } else {
        None
    };
    let Some(keys) = keys else {
        let failure = Failure::TokenEndpointFailure(format!(
            "JWKS refetch failed (status {})",
            response.status
        ));
        let mut outcome = clearing_csrf(ctx, req, failure.outcome(req));
        outcome.metric = Some(Metric::JwksFailed);
        return outcome;
    };
    let result = validate(ctx, &csrf, &tokens, &keys);
    let mut outcome = finish(ctx, req, csrf, &tokens, result, rng);
    let record = ProviderRecord {
        metadata: provider.record.metadata.clone(),
        jwks: String::from_utf8_lossy(&response.body).into_owned(),
        fetched_at: ctx.now,
        kid_refetched_at: ctx.now,
    };
    outcome.publish = Some(ProviderState { record, keys });
    outcome
}

fn validate(
    ctx: &Context,
    csrf: &CsrfState,
    tokens: &TokenResponse,
    keys: &KeySet,
) -> Result<IdClaims, TokenError> {
    let config = ctx.config;
    let id_token = tokens
        .id_token
        .as_deref()
        .ok_or(TokenError::MissingClaim("id_token"))?;
    let nonce = (!config.skip_nonce).then_some(csrf.nonce.as_str());
    // Tokens carry the issuer exactly as the discovery document spells it (which was checked
    // against the configured one at fetch time, give or take a trailing slash).
    let document_issuer = match (&config.issuer_rule, ctx.provider) {
        (IssuerRule::Exact(_), Some(provider)) => {
            Some(IssuerRule::Exact(provider.record.metadata.issuer.clone()))
        }
        _ => None,
    };
    let expect = Expectations {
        issuer: document_issuer.as_ref().unwrap_or(&config.issuer_rule),
        audience: &config.client_id,
        nonce,
        now: ctx.now,
        leeway_secs: LEEWAY_SECS,
    };
    validate_id_token(id_token, keys, &expect)
}

fn finish(
    ctx: &Context,
    req: &Request,
    csrf: CsrfState,
    tokens: &TokenResponse,
    claims: Result<IdClaims, TokenError>,
    rng: &mut dyn Entropy,
) -> Outcome {
    let config = ctx.config;
    let claims = match claims {
        Ok(claims) => claims,
        Err(e) => return clearing_csrf(ctx, req, Failure::IdToken(e).outcome(req)),
    };
    let session = match identity::session_from_claims(config, &claims, tokens, ctx.now) {
        Ok(session) => session,
        Err(failure) => return clearing_csrf(ctx, req, failure.outcome(req)),
    };
    if claims.groups_overage {
        return match groups::resolve(ctx, req, csrf, session, &tokens.access_token, rng) {
            Ok(outcome) => outcome,
            Err(failure) => clearing_csrf(ctx, req, failure.outcome(req)),
        };
    }
    complete(ctx, req, &csrf, session, rng)
}

/// The last step of every successful sign-in: apply the group rule, then issue the cookie.
pub fn complete(
    ctx: &Context,
    req: &Request,
    csrf: &CsrfState,
    session: Session,
    rng: &mut dyn Entropy,
) -> Outcome {
    if let Err(failure) = identity::check_groups(ctx.config, &session.groups) {
        return clearing_csrf(ctx, req, failure.outcome(req));
    }
    let session = group_cache::for_cookie(ctx.config, ctx.store, ctx.store_prefix, session);
    let Ok(seal_nonce) = bytes(rng) else {
        return clearing_csrf(ctx, req, Failure::Entropy.outcome(req));
    };
    let issued = issue::session_cookies(ctx, req, &session, seal_nonce);
    let mut headers = vec![
        // Checked again here, not only when the attempt started: the Location header is the
        // last line of defence against an open redirect.
        (
            "location".to_string(),
            crate::redirect::validate_redirect(&csrf.return_to, &ctx.config.whitelist_domains)
                .unwrap_or_else(|| "/".to_string()),
        ),
        ("cache-control".to_string(), "no-store".to_string()),
    ];
    headers.extend(
        issued
            .set_cookies
            .into_iter()
            .map(|c| ("set-cookie".to_string(), c)),
    );
    let outcome = Outcome::new(
        Action::Respond(Response {
            status: 302,
            headers,
            body: String::new(),
        }),
        Metric::CallbackSuccess,
    )
    .with_log(
        LogLevel::Info,
        format!(
            "signed in user={} tenant={} groups={} cookie_bytes={} chunks={} request_id={}",
            session.user,
            session.tenant.as_deref().unwrap_or("-"),
            session.groups.len(),
            issued.sealed_len,
            issued.chunks,
            req.request_id()
        ),
    );
    clearing_csrf(ctx, req, outcome)
}

/// Fail a sign-in step: the local reply for `failure`, ending the attempt.
pub fn fail(ctx: &Context, req: &Request, failure: Failure) -> Outcome {
    clearing_csrf(ctx, req, failure.outcome(req))
}

/// A failed callback also ends the sign-in attempt: the CSRF cookie is single use.
fn clearing_csrf(ctx: &Context, req: &Request, mut outcome: Outcome) -> Outcome {
    if let Action::Respond(response) = &mut outcome.action {
        let writer = CookieWriter::new(&ctx.config.cookie, req.host(), ctx.now);
        response.headers.push((
            "set-cookie".into(),
            writer.clear(&csrf_cookie_name(
                ctx.config,
                &req.query_param("state").unwrap_or_default(),
            )),
        ));
    }
    outcome
}

fn truncate(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(max)
        .collect()
}
