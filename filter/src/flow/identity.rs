//! From validated ID-token claims to a session, and the rules a session must pass: email
//! domains and allowed groups. Used by sign-in and by refresh, so both apply the same rules.

use std::collections::BTreeMap;

use crate::config::{Config, EmailDomains};
use crate::oidc::id_token::IdClaims;
use crate::oidc::token_response::TokenResponse;
use crate::session::Session;

use super::failure::Failure;

/// Build the session for `claims`, or the rule that refuses it. Groups are taken from the
/// token; with overage they are filled in from Graph afterwards.
pub fn session_from_claims(
    config: &Config,
    claims: &IdClaims,
    tokens: &TokenResponse,
    now: u64,
) -> Result<Session, Failure> {
    let email = email_of(config, claims);
    check_email(&config.email_domains, email.as_deref()).map_err(Failure::EmailDenied)?;
    let mut extra = BTreeMap::new();
    for name in &config.extra_claims {
        if let Some(value) = claim_text(claims, name) {
            extra.insert(name.clone(), value);
        }
    }
    let needs = TokenNeeds::of(config);
    Ok(Session {
        user: claim_string(claims, &config.user_id_claim).unwrap_or_else(|| claims.sub.clone()),
        email,
        preferred_username: claims.preferred_username.clone(),
        name: claims.name.clone(),
        groups: groups_of(config, claims),
        created_at: now,
        expires_at: now.saturating_add(config.cookie.expire_secs),
        id_token: needs.id_token.then(|| tokens.id_token.clone()).flatten(),
        access_token: needs.access_token.then(|| tokens.access_token.clone()),
        refresh_token: (config.lifecycle.refresh_secs > 0)
            .then(|| tokens.refresh_token.clone())
            .flatten(),
        token_expires_at: claims.exp,
        tenant: claims.tid.clone(),
        groups_ref: None,
        claims: extra,
        groups_from_token: false,
    })
}

/// Which raw tokens the session must carry: every byte of them costs cookie space on every
/// request, so only what a header, sign-out or refresh will use.
pub struct TokenNeeds {
    /// The ID token (Authorization header, injected headers, `id_token_hint`).
    pub id_token: bool,
    /// The access token (headers, Graph refills).
    pub access_token: bool,
}

impl TokenNeeds {
    /// What `config` needs.
    pub fn of(config: &Config) -> TokenNeeds {
        let injected = |claim: &str| {
            config
                .inject_request
                .iter()
                .chain(&config.inject_response)
                .flat_map(|h| &h.values)
                .any(|v| v.claim == claim)
        };
        TokenNeeds {
            id_token: config.headers.pass_authorization_header
                || injected("id_token")
                || config.lifecycle.end_session_redirect,
            access_token: config.headers.pass_access_token || injected("access_token"),
        }
    }
}

/// `oidc_email_claim`, else `preferred_username` or `upn` when it is an address: Entra work
/// accounts without a mailbox and many guests have no `email` claim (oauth2-proxy #3082).
pub fn email_of(config: &Config, claims: &IdClaims) -> Option<String> {
    let looks_like_email = |v: &String| {
        v.len() > 2 && v.matches('@').count() == 1 && !v.starts_with('@') && !v.ends_with('@')
    };
    claim_string(claims, &config.email_claim)
        .filter(looks_like_email)
        .or_else(|| claims.preferred_username.clone().filter(looks_like_email))
        .or_else(|| claims.upn.clone().filter(looks_like_email))
}

/// Ok, or Err with the domain that was refused.
pub fn check_email(rule: &EmailDomains, email: Option<&str>) -> Result<(), String> {
    let domains = match rule {
        EmailDomains::Any => return Ok(()),
        EmailDomains::List(domains) => domains,
    };
    let Some(domain) = email
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase())
    else {
        return Err("(no email)".to_string());
    };
    let allowed = domains.iter().any(|entry| match entry.strip_prefix('.') {
        Some(parent) => domain.ends_with(&format!(".{parent}")),
        None => domain == *entry,
    });
    if allowed {
        Ok(())
    } else {
        Err(domain)
    }
}

/// `allowed_groups`: Ok when there is no group rule or the user is in one of the groups.
/// Group object ids are GUIDs; compare them case-insensitively.
pub fn check_groups(config: &Config, groups: &[String]) -> Result<(), Failure> {
    if config.allowed_groups.is_empty() {
        return Ok(());
    }
    let member = groups.iter().any(|g| {
        config
            .allowed_groups
            .iter()
            .any(|a| a.eq_ignore_ascii_case(g))
    });
    if member {
        Ok(())
    } else {
        Err(Failure::GroupDenied)
    }
}

/// Whether a header or rule needs the user's full group list (not just allowed membership).
pub fn groups_header_wanted(config: &Config) -> bool {
    config.headers.pass_user_headers
        || config.headers.set_xauthrequest
        || config
            .inject_request
            .iter()
            .chain(&config.inject_response)
            .flat_map(|h| &h.values)
            .any(|v| v.claim == "groups")
}

fn claim_string(claims: &IdClaims, name: &str) -> Option<String> {
    match name {
        "email" => claims.email.clone(),
        "sub" => Some(claims.sub.clone()),
        "oid" if claims.oid.is_some() => claims.oid.clone(),
        _ => claims
            .raw
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string),
    }
}

/// A claim as header text: strings as they are, numbers and booleans printed, lists of strings
/// joined with ",".
fn claim_text(claims: &IdClaims, name: &str) -> Option<String> {
    match claims.raw.get(name)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    }
}

fn groups_of(config: &Config, claims: &IdClaims) -> Vec<String> {
    if config.groups_claim == "groups" {
        return claims.groups.clone();
    }
    match claims.raw.get(&config.groups_claim) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}
