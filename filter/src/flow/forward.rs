//! The signed-in path: open the session cookie and forward with identity headers. This runs on
//! every request of every signed-in user, so it does no callouts unless a refresh is due.

use crate::config::Config;
use crate::headers::{is_owned_header, parse_cookie_header};
use crate::metrics::Metric;
use crate::session::chunks;
use crate::session::crypto::CookieError;
use crate::session::Session;

use super::action::{Action, LogLevel, Outcome};
use super::{group_cache, groups, identity, inject, refresh, Context, Request};

/// Why a request has no usable session.
#[derive(Debug)]
pub enum NoSession {
    /// No session cookie at all.
    Missing,
    /// The cookie could not be opened (tampered, truncated, foreign name, unknown key).
    Invalid(CookieError),
    /// The session's lifetime is over (or its refresh failed past the grace period).
    Expired,
}

impl NoSession {
    /// Short label for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            NoSession::Missing => "no session",
            NoSession::Invalid(_) => "invalid session",
            NoSession::Expired => "expired session",
        }
    }
}

/// Open the request's session cookie.
pub fn open_session(ctx: &Context, req: &Request) -> Result<Session, NoSession> {
    let config = ctx.config;
    let cookies = req.cookies();
    let value = chunks::join(&config.cookie.name, &cookies).ok_or(NoSession::Missing)?;
    if let Some(session) = ctx.session_cache.borrow().get(&value, ctx.now) {
        return Ok(Session::clone(&session));
    }
    match Session::open(&config.cipher, &config.cookie.name, &value, ctx.now) {
        Ok(session) => {
            ctx.session_cache
                .borrow_mut()
                .insert(value, std::rc::Rc::new(session.clone()));
            Ok(session)
        }
        Err(CookieError::Expired) => Err(NoSession::Expired),
        Err(other) => Err(NoSession::Invalid(other)),
    }
}

/// Open the session; on success, forward (or refresh first when due).
pub fn with_session(ctx: &Context, req: &Request) -> Result<Outcome, NoSession> {
    let mut session = open_session(ctx, req)?;
    if let Some(outcome) = refresh::maybe_refresh(ctx, &session)? {
        return Ok(outcome);
    }
    if group_cache::expand(ctx.store, ctx.store_prefix, &mut session).is_err() {
        return match groups::refill(ctx, session) {
            Ok(outcome) => Ok(outcome),
            Err(_) => Err(NoSession::Expired),
        };
    }
    Ok(forward_or_deny(ctx, req, &session, Vec::new()))
}

/// Forward with `session`'s identity, unless the group rule (which may have changed since
/// sign-in) refuses it. `cookies` are `Set-Cookie` values for the response (after a refresh).
pub fn forward_or_deny(
    ctx: &Context,
    req: &Request,
    session: &Session,
    cookies: Vec<String>,
) -> Outcome {
    if let Err(failure) = identity::check_groups(ctx.config, &session.groups) {
        return failure.outcome(req).with_log(
            LogLevel::Info,
            format!(
                "user={} not in allowed_groups request_id={}",
                session.user,
                req.request_id()
            ),
        );
    }
    let mut response: Vec<(String, String)> = cookies
        .into_iter()
        .map(|c| ("set-cookie".to_string(), c))
        .collect();
    response.extend(inject::render(&ctx.config.inject_response, session));
    Outcome::new(
        forward_action(ctx.config, req, session, response),
        Metric::SessionValid,
    )
}

/// Forward a request that needs no identity (skipped routes), still without spoofed headers.
pub fn anonymous(config: &Config, req: &Request, metric: Metric) -> Outcome {
    let mut remove = strip_list(config, req);
    let mut set = Vec::new();
    strip_our_cookies(config, req, &mut remove, &mut set);
    Outcome::new(
        Action::Forward {
            remove,
            set,
            response: Vec::new(),
        },
        metric,
    )
}

/// Strip what the client may not send, and set what the upstream may trust.
pub fn forward_action(
    config: &Config,
    req: &Request,
    session: &Session,
    response: Vec<(String, String)>,
) -> Action {
    let mut remove = strip_list(config, req);
    let mut set = identity_headers(config, session);
    for (name, value) in inject::render(&config.inject_request, session) {
        // preserveRequestValue: a value the client sent wins over the injected one.
        let preserved = config
            .inject_request
            .iter()
            .any(|h| h.preserve_request_value && h.name == name)
            && req.header(&name).is_some();
        if !preserved {
            set.retain(|(n, _)| *n != name);
            set.push((name, value));
        }
    }
    strip_our_cookies(config, req, &mut remove, &mut set);
    Action::Forward {
        remove,
        set,
        response,
    }
}

/// Every incoming header the filter owns: identity headers (any case, `_` for `-`) and the
/// names `injectRequestHeaders` sets, unless they preserve the client's value.
fn strip_list(config: &Config, req: &Request) -> Vec<String> {
    let mut remove: Vec<String> = Vec::new();
    for (name, _) in &req.headers {
        let injected = config
            .inject_request
            .iter()
            .any(|h| !h.preserve_request_value && same_header(&h.name, name));
        if (is_owned_header(name) || injected)
            && !remove.iter().any(|n| n.eq_ignore_ascii_case(name))
        {
            remove.push(name.to_ascii_lowercase());
        }
    }
    remove
}

fn same_header(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| {
            x.eq_ignore_ascii_case(&y) || matches!((x, y), (b'-', b'_') | (b'_', b'-'))
        })
}

/// The upstream never needs our cookies, and an upstream that logs request headers would
/// otherwise write working sessions into its logs.
fn strip_our_cookies(
    config: &Config,
    req: &Request,
    remove: &mut Vec<String>,
    set: &mut Vec<(String, String)>,
) {
    if let Some(cookie) = cookies_without_ours(config, req) {
        match cookie {
            Some(rest) => set.push(("cookie".to_string(), rest)),
            None => remove.push("cookie".to_string()),
        }
    }
}

/// The identity headers for a session, per configuration.
pub fn identity_headers(config: &Config, session: &Session) -> Vec<(String, String)> {
    let h = config.headers;
    let mut set = Vec::new();
    let groups = session.groups.join(",");
    let mut push = |name: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            set.push((name.to_string(), value.to_string()));
        }
    };
    if h.pass_user_headers {
        push("x-forwarded-user", Some(&session.user));
        push("x-forwarded-email", session.email.as_deref());
        push("x-forwarded-groups", Some(&groups));
        push(
            "x-forwarded-preferred-username",
            session.preferred_username.as_deref(),
        );
    }
    if h.pass_access_token {
        push("x-forwarded-access-token", session.access_token.as_deref());
    }
    if h.set_xauthrequest {
        push("x-auth-request-user", Some(&session.user));
        push("x-auth-request-email", session.email.as_deref());
        push("x-auth-request-groups", Some(&groups));
        push(
            "x-auth-request-preferred-username",
            session.preferred_username.as_deref(),
        );
        if h.pass_access_token {
            push(
                "x-auth-request-access-token",
                session.access_token.as_deref(),
            );
        }
    }
    if h.pass_authorization_header {
        if let Some(token) = session.id_token.as_deref() {
            set.push(("authorization".to_string(), format!("Bearer {token}")));
        }
    }
    set
}

/// Whether a cookie name belongs to the filter: the session and its chunks, the CSRF cookie,
/// and per-request CSRF cookies.
pub fn is_our_cookie(config: &Config, cookie: &str) -> bool {
    let name = config.cookie.name.as_str();
    cookie == name
        || cookie
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|rest| {
                rest == "csrf"
                    || rest.starts_with("csrf_")
                    || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
            })
}

/// None when the request carries none of our cookies (nothing to change); Some(None) when only
/// ours were there; Some(Some(rest)) otherwise.
fn cookies_without_ours(config: &Config, req: &Request) -> Option<Option<String>> {
    let mut found = false;
    let mut kept: Vec<String> = Vec::new();
    for (header, value) in &req.headers {
        if !header.eq_ignore_ascii_case("cookie") {
            continue;
        }
        for piece in value.split(';') {
            let trimmed = piece.trim();
            if trimmed.is_empty() {
                continue;
            }
            let is_ours = parse_cookie_header(trimmed)
                .next()
                .is_some_and(|(n, _)| is_our_cookie(config, &n));
            if is_ours {
                found = true;
            } else {
                kept.push(trimmed.to_string());
            }
        }
    }
    if !found {
        return None;
    }
    Some((!kept.is_empty()).then(|| kept.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn only_the_filters_own_cookies_are_recognised() {
        let config = Config::from_json(
            br#"{"oidc_issuer_url":"https://login.microsoftonline.com/t/v2.0","client_id":"c","client_secret":"s",
                "cookie_secret":"0123456789abcdef","email_domains":"*","clusters":{"login.microsoftonline.com":"e"}}"#,
        )
        .unwrap();
        for ours in [
            "_oauth2_proxy",
            "_oauth2_proxy_0",
            "_oauth2_proxy_12",
            "_oauth2_proxy_csrf",
            "_oauth2_proxy_csrf_0a1b2c3d",
        ] {
            assert!(is_our_cookie(&config, ours), "{ours}");
        }
        for theirs in [
            "_oauth2_proxyx",
            "_oauth2_proxy_",
            "_oauth2_proxy_1a",
            "_oauth2_proxy_session",
            "session",
            "oauth2_proxy",
        ] {
            assert!(!is_our_cookie(&config, theirs), "{theirs}");
        }
    }
}
