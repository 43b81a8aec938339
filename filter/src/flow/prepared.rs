//! What forwarding a session sets, rendered once per session and worker.
//!
//! Everything here depends only on the session (with its full group list) and the
//! configuration, and both are fixed for a cached session: the configuration lives exactly as
//! long as the VM and its caches, a session's content never changes under the same cookie
//! value, and a long group list is addressed by the digest of its content. So a signed-in
//! request does not re-join 150 group ids or re-format a 9 KB `Authorization` value; it shares
//! the headers rendered for the first request of that session.

use std::rc::Rc;

use crate::config::Config;
use crate::session::Session;

use super::identity;
use super::inject;

/// Headers for the request and response of a session, and whether its groups let it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The user id, for the log line of a refusal.
    pub user: String,
    /// `allowed_groups` admits the session (always true without a group rule).
    pub allowed: bool,
    /// Identity headers and injected request headers, in the order they are set (a later one
    /// replaces an earlier one of the same name).
    pub request: Rc<[(String, String)]>,
    /// Injected request headers with `preserveRequestValue`: set only when the client did not
    /// send the header itself.
    pub preserved: Vec<(String, String)>,
    /// Injected response headers.
    pub response: Vec<(String, String)>,
}

impl Prepared {
    /// Render everything forwarding `session` sets under `config`.
    pub fn render(config: &Config, session: &Session) -> Self {
        let mut request = identity_headers(config, session);
        let mut preserved = Vec::new();
        for (name, value) in inject::render(&config.inject_request, session) {
            let preserve = config
                .inject_request
                .iter()
                .any(|h| h.preserve_request_value && h.name == name);
            if preserve {
                preserved.push((name, value));
            } else {
                request.retain(|(n, _)| *n != name);
                request.push((name, value));
            }
        }
        Prepared {
            user: session.user.clone(),
            allowed: identity::check_groups(config, &session.groups).is_ok(),
            request: request.into(),
            preserved,
            response: inject::render(&config.inject_response, session),
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
