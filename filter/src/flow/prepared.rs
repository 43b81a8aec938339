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

/// The identity headers for a session, per configuration, in oauth2-proxy's order:
/// `X-Forwarded-*`, `X-Forwarded-Access-Token`, `X-Auth-Request-*`, `Authorization`.
pub fn identity_headers(config: &Config, session: &Session) -> Vec<(String, String)> {
    let h = config.headers;
    let groups = session.groups.join(",");
    let access_token = session.access_token.as_deref();
    // (prefix, suffix, value) for the headers each enabled family sets.
    let family = |prefix: &'static str, with_token: bool| {
        [
            ("user", Some(session.user.as_str())),
            ("email", session.email.as_deref()),
            ("groups", Some(groups.as_str())),
            ("preferred-username", session.preferred_username.as_deref()),
            ("access-token", access_token.filter(|_| with_token)),
        ]
        .map(move |(suffix, value)| (prefix, suffix, value))
    };
    let mut wanted = Vec::new();
    if h.pass_user_headers {
        wanted.extend(family("x-forwarded-", false));
    }
    if h.pass_access_token {
        wanted.push(("x-forwarded-", "access-token", access_token));
    }
    if h.set_xauthrequest {
        wanted.extend(family("x-auth-request-", h.pass_access_token));
    }
    let mut set: Vec<(String, String)> = wanted
        .into_iter()
        .filter_map(|(prefix, suffix, value)| {
            let value = value.filter(|v| !v.is_empty())?;
            Some((format!("{prefix}{suffix}"), value.to_string()))
        })
        .collect();
    if h.pass_authorization_header {
        if let Some(token) = session.id_token.as_deref() {
            set.push(("authorization".to_string(), format!("Bearer {token}")));
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn config(flags: &str) -> Config {
        let json = format!(
            r#"{{"oidc_issuer_url":"https://login.microsoftonline.com/t/v2.0","client_id":"c",
                "client_secret":"s","cookie_secret":"0123456789abcdef","email_domains":"*",
                "clusters":{{"login.microsoftonline.com":"e"}}{flags}}}"#
        );
        match Config::from_json(json.as_bytes()) {
            Ok(config) => config,
            Err(e) => panic!("{e}"),
        }
    }

    fn names(config: &Config, session: &Session) -> Vec<String> {
        identity_headers(config, session)
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect()
    }

    #[test]
    fn identity_headers_follow_each_flag_in_oauth2_proxys_order() {
        let session = Session {
            user: "oid".into(),
            email: Some("a@example.com".into()),
            preferred_username: Some(String::new()),
            groups: vec!["g1".into(), "g2".into()],
            access_token: Some("at".into()),
            id_token: Some("it".into()),
            ..Default::default()
        };
        let everything = config(
            r#","pass_access_token":true,"set_xauthrequest":true,"pass_authorization_header":true"#,
        );
        assert_eq!(
            names(&everything, &session),
            [
                "x-forwarded-user=oid",
                "x-forwarded-email=a@example.com",
                "x-forwarded-groups=g1,g2",
                "x-forwarded-access-token=at",
                "x-auth-request-user=oid",
                "x-auth-request-email=a@example.com",
                "x-auth-request-groups=g1,g2",
                "x-auth-request-access-token=at",
                "authorization=Bearer it",
            ],
            "empty values (preferred_username here) are not sent"
        );
        let token_only = config(r#","pass_user_headers":false,"pass_access_token":true"#);
        assert_eq!(
            names(&token_only, &session),
            ["x-forwarded-access-token=at"]
        );
        let xauth_without_token = config(r#","pass_user_headers":false,"set_xauthrequest":true"#);
        assert_eq!(
            names(&xauth_without_token, &session),
            [
                "x-auth-request-user=oid",
                "x-auth-request-email=a@example.com",
                "x-auth-request-groups=g1,g2",
            ]
        );
    }
}
