//! Session refresh (`cookie_refresh`): past the refresh point, one request (per session, across
//! all workers) pauses, redeems the refresh token, re-validates the new ID token and re-applies
//! every rule; the response carries the new cookie. If the provider cannot be reached, the
//! still-valid session is served for a grace period and the refresh is retried later.

use crate::metrics::Metric;
use crate::oidc::id_token::{validate_id_token, Expectations, IssuerRule, TokenError};
use crate::oidc::jwks::{parse_jwks, KeySet};
use crate::oidc::token_response::TokenResponse;
use crate::oidc::token_response::{parse_token_response, refresh_token_form, TokenEndpointError};
use crate::session::Session;

use super::action::{AfterAssertion, CallResponse, LogLevel, Outcome, Pending};
use super::entropy::bytes;
use super::failure::Failure;
use super::forward::{forward_or_deny, NoSession};
use super::lease::{self, Lease};
use super::provider::{ProviderRecord, ProviderState};
use super::{
    federated, group_cache, groups, identity, issue, provider, signin, Context, Entropy, Request,
};

/// Clock skew tolerated on the refreshed ID token.
const LEEWAY_SECS: u64 = 60;

/// `Ok(None)`: serve the session as it is. `Ok(Some)`: pause and refresh. `Err`: the session
/// can no longer be served (its refresh is overdue past the grace period).
pub fn maybe_refresh(ctx: &Context, session: &Session) -> Result<Option<Outcome>, NoSession> {
    let config = ctx.config;
    let lifecycle = &config.lifecycle;
    if lifecycle.refresh_secs == 0 {
        return Ok(None);
    }
    let due_at = session.created_at.saturating_add(lifecycle.refresh_secs);
    if ctx.now < due_at {
        return Ok(None);
    }
    let Some(refresh_token) = session.refresh_token.as_deref() else {
        // Without offline_access there is nothing to refresh with: serve until cookie_expire.
        return Ok(None);
    };
    let grace_over = ctx.now >= due_at.saturating_add(lifecycle.refresh_grace_secs);
    let serve_or_expire = || {
        if grace_over {
            Err(NoSession::Expired)
        } else {
            Ok(None)
        }
    };
    if ctx.provider.is_none() {
        return serve_or_expire();
    }
    let Lease::Acquired(key) = lease::acquire(ctx.store, ctx.store_prefix, refresh_token, ctx.now)
    else {
        return serve_or_expire();
    };
    match refresh_call(ctx, session, &key, false) {
        Ok(outcome) => Ok(Some(outcome)),
        Err(_) => {
            lease::finish(ctx.store, &key, refresh_token, ctx.now, false);
            serve_or_expire()
        }
    }
}

/// The refresh request for `session` (with the secret or the current federated token).
pub fn refresh_call(
    ctx: &Context,
    session: &Session,
    lease: &str,
    retried: bool,
) -> Result<Outcome, Failure> {
    let config = ctx.config;
    let provider = ctx.provider.ok_or(Failure::ProviderNotReady)?;
    let refresh_token = session.refresh_token.as_deref().unwrap_or_default();
    let mut assertion = None;
    let credential = federated::credential(ctx, &mut assertion)?;
    let form = refresh_token_form(refresh_token, &config.client_id, &config.scope, &credential);
    let call = provider::post_form(config, &provider.record.metadata.token_endpoint, form)
        .map_err(Failure::NoCluster)?;
    let pending = Pending::Refresh {
        session: Box::new(session.clone()),
        lease: lease.to_string(),
        retried,
    };
    Ok(Outcome::call(call, pending))
}

/// The token endpoint answered a refresh.
pub fn on_response(
    ctx: &Context,
    req: &Request,
    (old, lease_key, retried): (Session, String, bool),
    response: CallResponse,
    rng: &mut dyn Entropy,
) -> Outcome {
    let config = ctx.config;
    let old_token = old.refresh_token.clone().unwrap_or_default();
    let tokens = match parse_token_response(response.status, &response.body) {
        Ok(tokens) => tokens,
        Err(TokenEndpointError::Idp(e)) if e.error == "invalid_grant" => {
            lease::finish(ctx.store, &lease_key, &old_token, ctx.now, false);
            return rejected(
                ctx,
                req,
                format!("refresh token rejected: {}", e.log_line()),
                rng,
            );
        }
        Err(TokenEndpointError::Idp(e))
            if !retried
                && config.federated_token_url.is_some()
                && federated::assertion_rejected(&e) =>
        {
            return match federated::fetch_call(config) {
                Some(Ok(call)) => {
                    let then = AfterAssertion::Refresh {
                        session: Box::new(old),
                        lease: lease_key,
                    };
                    Outcome::call(call, Pending::Assertion { then }).with_log(
                        LogLevel::Info,
                        format!(
                            "federated token refused ({}); fetching it again",
                            e.log_line()
                        ),
                    )
                }
                _ => unavailable(
                    ctx,
                    req,
                    &old,
                    &lease_key,
                    format!("refresh failed: {}", e.log_line()),
                    rng,
                ),
            };
        }
        Err(e) => {
            return unavailable(
                ctx,
                req,
                &old,
                &lease_key,
                format!("refresh failed: {e} (status {})", response.status),
                rng,
            )
        }
    };
    let Some(provider) = ctx.provider else {
        return unavailable(
            ctx,
            req,
            &old,
            &lease_key,
            "provider metadata not loaded".into(),
            rng,
        );
    };
    let Some(id_token) = tokens.id_token.as_deref() else {
        return unavailable(
            ctx,
            req,
            &old,
            &lease_key,
            "refresh answer has no id_token".into(),
            rng,
        );
    };
    let _ = id_token;
    validated(
        ctx,
        req,
        (old, lease_key, tokens),
        &provider.keys,
        provider.may_refetch_for_unknown_kid(ctx.now),
        rng,
    )
}

/// The fresh keys asked for by an unknown `kid` on a refreshed ID token arrived.
pub fn on_jwks_response(
    ctx: &Context,
    req: &Request,
    (old, lease_key, tokens): (Session, String, TokenResponse),
    response: CallResponse,
    rng: &mut dyn Entropy,
) -> Outcome {
    let keys = if response.status == 200 {
        parse_jwks(&response.body).ok()
    } else {
        None
    };
    let (Some(keys), Some(provider)) = (keys, ctx.provider) else {
        let mut outcome = unavailable(
            ctx,
            req,
            &old,
            &lease_key,
            format!("JWKS refetch failed (status {})", response.status),
            rng,
        );
        outcome.also.push(Metric::JwksFailed);
        return outcome;
    };
    let record = ProviderRecord {
        metadata: provider.record.metadata.clone(),
        jwks: String::from_utf8_lossy(&response.body).into_owned(),
        fetched_at: ctx.now,
        kid_refetched_at: ctx.now,
    };
    let mut outcome = validated(ctx, req, (old, lease_key, tokens), &keys, false, rng);
    outcome.publish = Some(ProviderState { record, keys });
    outcome
}

/// Validate the refreshed ID token with `keys` (refetching them once for an unknown `kid`
/// when allowed), re-apply every rule, and finish the refresh.
fn validated(
    ctx: &Context,
    req: &Request,
    (old, lease_key, tokens): (Session, String, TokenResponse),
    keys: &KeySet,
    may_refetch: bool,
    rng: &mut dyn Entropy,
) -> Outcome {
    let config = ctx.config;
    let old_token = old.refresh_token.clone().unwrap_or_default();
    let Some(provider) = ctx.provider else {
        return unavailable(
            ctx,
            req,
            &old,
            &lease_key,
            "provider metadata not loaded".into(),
            rng,
        );
    };
    let id_token = tokens.id_token.clone().unwrap_or_default();
    let id_token = id_token.as_str();
    let issuer = match &config.issuer_rule {
        IssuerRule::Exact(_) => IssuerRule::Exact(provider.record.metadata.issuer.clone()),
        other => other.clone(),
    };
    let expect = Expectations {
        issuer: &issuer,
        audience: &config.client_id,
        nonce: None,
        now: ctx.now,
        leeway_secs: LEEWAY_SECS,
    };
    let claims = match validate_id_token(id_token, keys, &expect) {
        Ok(claims) => claims,
        Err(TokenError::UnknownKid(_)) if may_refetch => {
            // The signing key rotated since the keys were fetched: fetch them once, as the
            // callback does, rather than signing the user out.
            return match provider::get(config, &provider.record.metadata.jwks_uri) {
                Ok(call) => Outcome::call(
                    call,
                    Pending::JwksForRefresh {
                        session: Box::new(old),
                        lease: lease_key,
                        tokens,
                    },
                )
                .with_log(
                    LogLevel::Info,
                    "refreshed ID token signed by an unknown key; refetching JWKS",
                ),
                Err(why) => unavailable(
                    ctx,
                    req,
                    &old,
                    &lease_key,
                    format!("no cluster for the JWKS host {why:?}"),
                    rng,
                ),
            };
        }
        Err(e) => {
            lease::finish(ctx.store, &lease_key, &old_token, ctx.now, false);
            return rejected(
                ctx,
                req,
                format!("refreshed ID token rejected ({}): {e}", e.reason()),
                rng,
            );
        }
    };
    let mut session = match identity::session_from_claims(config, &claims, &tokens, ctx.now) {
        Ok(session) => session,
        Err(failure) => {
            lease::finish(ctx.store, &lease_key, &old_token, ctx.now, false);
            return deny(ctx, req, failure);
        }
    };
    // A refresh must never turn one user into another.
    if session.user != old.user {
        lease::finish(ctx.store, &lease_key, &old_token, ctx.now, false);
        return rejected(
            ctx,
            req,
            format!(
                "refresh returned another user ({} instead of {})",
                session.user, old.user
            ),
            rng,
        );
    }
    if session.refresh_token.is_none() {
        session.refresh_token = old.refresh_token.clone();
    }
    if claims.groups_overage {
        // oauth2-proxy loses overage groups on refresh (its #3230); resolve them again.
        return match groups::resolve_refresh(
            ctx,
            req,
            session,
            old,
            lease_key,
            &tokens.access_token,
            rng,
        ) {
            Ok(outcome) => outcome,
            Err(boxed) => {
                let (old, lease_key, failure) = *boxed;
                unavailable(
                    ctx,
                    req,
                    &old,
                    &lease_key,
                    format!("groups could not be refreshed: {}", failure.summary()),
                    rng,
                )
            }
        };
    }
    complete(ctx, req, session, &old, &lease_key, rng)
}

/// Issue the refreshed session and forward the request with it.
pub fn complete(
    ctx: &Context,
    req: &Request,
    session: Session,
    old: &Session,
    lease_key: &str,
    rng: &mut dyn Entropy,
) -> Outcome {
    let old_token = old.refresh_token.as_deref().unwrap_or_default();
    lease::finish(ctx.store, lease_key, old_token, ctx.now, true);
    let session = group_cache::for_cookie(ctx.config, ctx.store, ctx.store_prefix, session);
    let Ok(nonce) = bytes(rng) else {
        return Failure::Entropy.outcome(req);
    };
    let issued = issue::session_cookies(ctx, req, &session, nonce);
    let mut outcome = forward_or_deny(ctx, req, &session, issued.set_cookies);
    if outcome.metric == Some(Metric::SessionValid) {
        outcome.also.push(Metric::SessionRefreshed);
        outcome = outcome.with_log(
            LogLevel::Info,
            format!(
                "session refreshed user={} cookie_bytes={} request_id={}",
                session.user,
                issued.sealed_len,
                req.request_id()
            ),
        );
    }
    outcome
}

/// The provider could not refresh (down, slow, broken answer): serve the current session while
/// the grace period lasts, and let a later request retry.
pub fn unavailable(
    ctx: &Context,
    req: &Request,
    old: &Session,
    lease_key: &str,
    why: String,
    rng: &mut dyn Entropy,
) -> Outcome {
    lease::finish(
        ctx.store,
        lease_key,
        old.refresh_token.as_deref().unwrap_or_default(),
        ctx.now,
        false,
    );
    let lifecycle = &ctx.config.lifecycle;
    let grace_end = old
        .created_at
        .saturating_add(lifecycle.refresh_secs)
        .saturating_add(lifecycle.refresh_grace_secs);
    let log = format!("{why} request_id={}", req.request_id());
    if ctx.now < grace_end {
        let mut outcome = forward_or_deny(ctx, req, old, Vec::new());
        outcome.also.push(Metric::RefreshFailed);
        return outcome.with_log(
            LogLevel::Warn,
            format!("{log}; serving the current session until {grace_end}"),
        );
    }
    let mut outcome = signin::unauthenticated(ctx, req, rng, NoSession::Expired);
    outcome.also.push(Metric::RefreshFailed);
    outcome.with_log(
        LogLevel::Warn,
        format!("{log}; grace period over, signing in again"),
    )
}

/// The provider said no (revoked refresh token, user disabled): the session ends now.
fn rejected(ctx: &Context, req: &Request, why: String, rng: &mut dyn Entropy) -> Outcome {
    let mut outcome = signin::unauthenticated(ctx, req, rng, NoSession::Expired);
    outcome.also.push(Metric::RefreshRejected);
    outcome.with_log(
        LogLevel::Info,
        format!("{why} request_id={}", req.request_id()),
    )
}

/// A rule refused the refreshed identity: deny and end the session.
fn deny(ctx: &Context, req: &Request, failure: Failure) -> Outcome {
    let mut outcome = failure.outcome(req);
    signin::clear_session_cookies(ctx, req, &mut outcome);
    outcome
}
