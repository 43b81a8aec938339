//! The signed-in path: open the session cookie and forward with identity headers. This runs on
//! every request of every signed-in user, so it does no callouts and no allocation it can avoid.

use crate::config::Config;
use crate::headers::{is_owned_header, parse_cookie_header};
use crate::metrics::Metric;
use crate::session::chunks;
use crate::session::crypto::CookieError;
use crate::session::Session;

use super::action::{Action, Outcome};
use super::{Context, Request};

/// Why a request has no usable session.
#[derive(Debug)]
pub enum NoSession {
    /// No session cookie at all.
    Missing,
    /// The cookie could not be opened (tampered, truncated, foreign name, unknown key).
    Invalid(CookieError),
    /// The session's lifetime is over.
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

/// Open the session; on success, the forward action with identity headers.
pub fn with_session(ctx: &Context, req: &Request) -> Result<Outcome, NoSession> {
    let config = ctx.config;
    let cookies = req.cookies();
    let value = chunks::join(&config.cookie.name, &cookies).ok_or(NoSession::Missing)?;
    let session = match Session::open(&config.cipher, &config.cookie.name, &value, ctx.now) {
        Ok(session) => session,
        Err(CookieError::Expired) => return Err(NoSession::Expired),
        Err(other) => return Err(NoSession::Invalid(other)),
    };
    Ok(Outcome::new(
        forward_action(config, req, &session),
        Metric::SessionValid,
    ))
}

/// Strip what the client may not send, and set what the upstream may trust.
pub fn forward_action(config: &Config, req: &Request, session: &Session) -> Action {
    let mut remove: Vec<String> = Vec::new();
    for (name, _) in &req.headers {
        if is_owned_header(name) && !remove.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            remove.push(name.to_ascii_lowercase());
        }
    }
    let mut set = identity_headers(config, session);
    // The upstream never needs our cookies, and an upstream that logs request headers would
    // otherwise write working sessions into its logs.
    if let Some(cookie) = cookies_without_ours(config, req) {
        match cookie {
            Some(rest) => set.push(("cookie".to_string(), rest)),
            None => remove.push("cookie".to_string()),
        }
    }
    Action::Forward { remove, set }
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

/// None when the request carries none of our cookies (nothing to change); Some(None) when only
/// ours were there; Some(Some(rest)) otherwise.
fn cookies_without_ours(config: &Config, req: &Request) -> Option<Option<String>> {
    let name = config.cookie.name.as_str();
    let ours = |cookie: &str| {
        cookie == name
            || cookie
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('_'))
                .is_some_and(|rest| {
                    rest == "csrf" || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
                })
    };
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
                .is_some_and(|(n, _)| ours(&n));
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
