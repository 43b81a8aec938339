//! `POST /{tenant}/oauth2/v2.0/token`: the `authorization_code` and `refresh_token` grants.
//!
//! Checks, in order: tenant → method → `grant_type` present → client authentication →
//! grant type supported → the grant itself (see [`redeem_code`] and [`redeem_refresh`]).

use serde_json::{json, Value};

use super::authorize::pkce_matches;
use super::claims::{self, Subject};
use super::client_auth;
use super::config::User;
use super::errors::EntraError;
use super::http::{Params, Request, Response};
use super::ids::random_token;
use super::jwt;
use super::scopes;
use super::state::{lock, Shared};
use super::store::{AccessGrant, RefreshGrant};
use super::tenants::Authority;

/// Handles a token request.
pub fn handle(shared: &Shared, req: &Request, segment: &str) -> Response {
    match respond(shared, req, segment) {
        Ok(body) => Response::json(200, &body),
        Err(e) => shared.json_error(req, &e),
    }
}

fn respond(shared: &Shared, req: &Request, segment: &str) -> Result<Value, EntraError> {
    Authority::resolve(&shared.cfg, segment)?;
    if req.method != "POST" {
        return Err(EntraError::method_not_allowed("POST, OPTIONS", &req.method));
    }
    let form = req.form_params();
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| EntraError::missing_param("grant_type"))?;
    let endpoint = format!("{}/{segment}/oauth2/v2.0/token", shared.base_url);
    let client = client_auth::authenticate(shared, req, &form, &endpoint)?;
    match grant_type {
        "authorization_code" => redeem_code(shared, &client.client_id, &form),
        "refresh_token" => redeem_refresh(shared, &client.client_id, &form),
        other => Err(EntraError::unsupported_grant_type(other)),
    }
}

/// Code redemption: the code must exist, be unredeemed, unexpired, issued to this client for
/// this exact redirect URI, and (if a PKCE challenge was sent) answered by the verifier. Each
/// check stops a known attack: replay, stale-code use, code injection into another client,
/// redirect swapping, and interception without the verifier.
fn redeem_code(shared: &Shared, client_id: &str, form: &Params) -> Result<Value, EntraError> {
    let code = form
        .get("code")
        .ok_or_else(|| EntraError::missing_param("code"))?;
    let redirect_uri = form
        .get("redirect_uri")
        .ok_or_else(|| EntraError::missing_param("redirect_uri"))?;
    let now = shared.clock.now();
    let grant = {
        let mut store = lock(&shared.store);
        let grant = store
            .codes
            .get_mut(code)
            .ok_or_else(EntraError::malformed_grant)?;
        if grant.redeemed {
            return Err(EntraError::code_redeemed());
        }
        if now >= grant.issued_at + shared.cfg.code_lifetime.as_secs() {
            return Err(EntraError::code_expired());
        }
        if !grant.client_id.eq_ignore_ascii_case(client_id) {
            return Err(EntraError::grant_for_other_client());
        }
        if grant.redirect_uri != redirect_uri {
            return Err(EntraError::redirect_uri_differs(
                redirect_uri,
                &grant.redirect_uri,
            ));
        }
        if let Some((challenge, method)) = &grant.challenge {
            let verifier = form
                .get("code_verifier")
                .ok_or_else(EntraError::verifier_missing)?;
            if !pkce_matches(challenge, *method, verifier) {
                return Err(EntraError::verifier_mismatch());
            }
        }
        grant.redeemed = true;
        grant.clone()
    };
    let user = find_user(shared, &grant.username)?;
    let issue = Issue {
        user: &user,
        client_id: &grant.client_id,
        scopes: &grant.scopes,
        session_id: &grant.session_id,
        nonce: grant.nonce.as_deref(),
        refresh: scopes::has(&grant.scopes, "offline_access").then_some(grant.scopes.as_slice()),
    };
    Ok(issue_tokens(shared, &issue))
}

/// Refresh: the token must exist, belong to this client, not be revoked or expired, and the
/// requested scopes may only narrow the consented ones. The presented token is revoked when
/// [`revoke_used_refresh_tokens`] is on, so a stolen-and-used token shows up as reuse.
///
/// [`revoke_used_refresh_tokens`]: super::config::EmulatorConfig::revoke_used_refresh_tokens
fn redeem_refresh(shared: &Shared, client_id: &str, form: &Params) -> Result<Value, EntraError> {
    let token = form
        .get("refresh_token")
        .ok_or_else(|| EntraError::missing_param("refresh_token"))?;
    let now = shared.clock.now();
    let (grant, requested) = {
        let mut store = lock(&shared.store);
        let grant = store
            .refresh_tokens
            .get_mut(token)
            .ok_or_else(EntraError::malformed_grant)?;
        if !grant.client_id.eq_ignore_ascii_case(client_id) {
            return Err(EntraError::grant_for_other_client());
        }
        if grant.revoked {
            return Err(EntraError::refresh_token_revoked());
        }
        if now >= grant.issued_at + shared.cfg.refresh_token_lifetime.as_secs() {
            return Err(EntraError::refresh_token_expired());
        }
        let requested = form
            .get("scope")
            .map(scopes::parse)
            .unwrap_or_else(|| grant.scopes.clone());
        if let Some(extra) = scopes::not_consented(&requested, &grant.scopes).first() {
            return Err(EntraError::consent_required(extra));
        }
        if shared.cfg.revoke_used_refresh_tokens {
            grant.revoked = true;
        }
        (grant.clone(), requested)
    };
    let user = find_user(shared, &grant.username)?;
    let issue = Issue {
        user: &user,
        client_id: &grant.client_id,
        scopes: &requested,
        session_id: &grant.session_id,
        nonce: None,
        refresh: Some(&grant.scopes),
    };
    Ok(issue_tokens(shared, &issue))
}

fn find_user(shared: &Shared, username: &str) -> Result<User, EntraError> {
    shared
        .cfg
        .user(username)
        .cloned()
        .ok_or_else(EntraError::malformed_grant)
}

/// What a successful grant hands out.
struct Issue<'a> {
    user: &'a User,
    client_id: &'a str,
    scopes: &'a [String],
    session_id: &'a str,
    nonce: Option<&'a str>,
    /// Scopes a new refresh token carries; `None` when `offline_access` was not granted.
    refresh: Option<&'a [String]>,
}

/// Builds the token response: Graph access token always, ID token when `openid` was granted,
/// refresh token when `offline_access` was. `expires_in` is a number (v1.0 used strings).
fn issue_tokens(shared: &Shared, issue: &Issue<'_>) -> Value {
    let now = shared.clock.now();
    let lifetime = shared.cfg.token_lifetime.as_secs();
    let subject = Subject {
        user: issue.user,
        client_id: issue.client_id,
        scopes: issue.scopes,
        session_id: issue.session_id,
        now,
        lifetime,
    };
    let key = lock(&shared.keys).current();
    let access_token = mint_access_token(shared, &subject);
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scopes::response_scope(issue.scopes),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    });
    if scopes::has(issue.scopes, "openid") {
        let tamper = *lock(&shared.tamper);
        let id_claims = claims::id_token(&shared.base_url, &subject, issue.nonce);
        body["id_token"] = json!(jwt::sign(&key, &id_claims, tamper));
    }
    let mut store = lock(&shared.store);
    if let Some(refresh_scopes) = issue.refresh {
        let refresh_token = random_token(64);
        store.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshGrant {
                client_id: issue.client_id.to_string(),
                username: issue.user.username.clone(),
                scopes: refresh_scopes.to_vec(),
                session_id: issue.session_id.to_string(),
                issued_at: now,
                revoked: false,
            },
        );
        body["refresh_token"] = json!(refresh_token);
    }
    body
}

/// Signs a Graph access token for `subject` and records its grant, so the Graph endpoints
/// accept it until it expires.
pub fn mint_access_token(shared: &Shared, subject: &Subject<'_>) -> String {
    let key = lock(&shared.keys).current();
    let token = jwt::sign(&key, &claims::access_token(subject), None);
    lock(&shared.store).access_tokens.insert(
        token.clone(),
        AccessGrant {
            client_id: subject.client_id.to_string(),
            username: subject.user.username.clone(),
            oid: subject.user.oid.clone(),
            tid: subject.user.tenant.clone(),
            scopes: scopes::resource_scopes(subject.scopes),
            expires_at: subject.now + subject.lifetime,
        },
    );
    token
}
