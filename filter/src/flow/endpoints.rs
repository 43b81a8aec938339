//! `/oauth2/userinfo` and `/oauth2/auth`: answers about the session for programs, not pages.

use crate::metrics::Metric;
use crate::session::Session;

use super::action::{Action, LogLevel, Outcome, Response};
use super::forward::open_session;
use super::prepared::identity_headers;
use super::{group_cache, identity, inject, Context, Request};

/// `/oauth2/userinfo`: the session's identity as JSON, or 401.
pub fn userinfo(ctx: &Context, req: &Request) -> Outcome {
    let Ok(mut session) = open_session(ctx, req) else {
        return json(
            401,
            serde_json::json!({"error": "unauthorized", "request_id": req.request_id()}),
            Metric::Userinfo,
        );
    };
    // Best effort: on a group-cache miss the cookie's (authorization) groups are shown.
    let _ = group_cache::expand(ctx.store, ctx.store_prefix, &mut session);
    let body = serde_json::json!({
        "user": session.user,
        "email": session.email,
        "groups": session.groups,
        "preferredUsername": session.preferred_username,
    });
    json(200, body, Metric::Userinfo)
}

fn json(status: u16, body: serde_json::Value, metric: Metric) -> Outcome {
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("cache-control".to_string(), "no-store".to_string()),
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

/// `/oauth2/auth`, for nginx `auth_request` and Envoy `ext_authz`: 2xx with the identity as
/// response headers when signed in (and the query's rules pass), 401 when not, 403 when a rule
/// fails. The body is empty: the caller only reads status and headers.
pub fn auth(ctx: &Context, req: &Request) -> Outcome {
    let mut session = match open_session(ctx, req) {
        Ok(session) => session,
        Err(why) => {
            return empty(401, Vec::new(), Metric::AuthDenied).with_log(
                LogLevel::Debug,
                format!("auth: {} request_id={}", why.reason(), req.request_id()),
            )
        }
    };
    let _ = group_cache::expand(ctx.store, ctx.store_prefix, &mut session);
    answer_for(ctx, req, &session)
}

/// The `/oauth2/auth` answer for an authenticated identity (session or bearer token).
pub fn answer_for(ctx: &Context, req: &Request, session: &Session) -> Outcome {
    if let Err(why) = check_query_rules(ctx, req, session) {
        return empty(403, Vec::new(), Metric::AuthDenied).with_log(
            LogLevel::Info,
            format!(
                "auth: user={} denied: {why} request_id={}",
                session.user,
                req.request_id()
            ),
        );
    }
    let config = ctx.config;
    // These are the headers nginx copies with auth-response-headers: always the X-Auth-Request
    // set, whatever set_xauthrequest says, because that is what the endpoint is for.
    let mut headers: Vec<(String, String)> =
        vec![("x-auth-request-user".into(), session.user.clone())];
    if let Some(email) = &session.email {
        headers.push(("x-auth-request-email".into(), email.clone()));
    }
    if !session.groups.is_empty() {
        headers.push(("x-auth-request-groups".into(), session.groups.join(",")));
    }
    if let Some(name) = &session.preferred_username {
        headers.push(("x-auth-request-preferred-username".into(), name.clone()));
    }
    if config.headers.pass_access_token {
        if let Some(token) = &session.access_token {
            headers.push(("x-auth-request-access-token".into(), token.clone()));
        }
    }
    if config.headers.pass_authorization_header {
        if let Some((_, bearer)) = identity_headers(config, session)
            .into_iter()
            .find(|(n, _)| n == "authorization")
        {
            headers.push(("authorization".into(), bearer));
        }
    }
    for (name, value) in inject::render(&config.inject_response, session) {
        headers.retain(|(n, _)| *n != name);
        headers.push((name, value));
    }
    empty(config.auth_success_status, headers, Metric::AuthAllowed)
}

/// `allowed_groups`, `allowed_email_domains` and `allowed_emails` from the query (comma lists),
/// plus the configured group rule.
fn check_query_rules(ctx: &Context, req: &Request, session: &Session) -> Result<(), &'static str> {
    identity::check_groups(ctx.config, &session.groups)
        .map_err(|_| "not in allowed_groups (config)")?;
    // Behind ext_authz the path is `/oauth2/auth/<app path>` and the query is the app's own:
    // its parameters are not rules (an app parameter named allowed_emails must not deny).
    if req.path_only() != format!("{}/auth", ctx.config.proxy_prefix) {
        return Ok(());
    }
    let list = |name: &str| -> Option<Vec<String>> {
        req.query_param(name).map(|v| {
            v.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
    };
    if let Some(groups) = list("allowed_groups") {
        if !session
            .groups
            .iter()
            .any(|g| groups.contains(&g.to_ascii_lowercase()))
        {
            return Err("not in the query's allowed_groups");
        }
    }
    let email = session.email.as_deref().unwrap_or("").to_ascii_lowercase();
    if let Some(domains) = list("allowed_email_domains") {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        let ok =
            domains.iter().any(
                |d| match d.strip_prefix("*.").or_else(|| d.strip_prefix('.')) {
                    Some(parent) => domain == parent || domain.ends_with(&format!(".{parent}")),
                    None => domain == d,
                },
            );
        if domain.is_empty() || !ok {
            return Err("email domain not in the query's allowed_email_domains");
        }
    }
    if let Some(emails) = list("allowed_emails") {
        if email.is_empty() || !emails.contains(&email) {
            return Err("email not in the query's allowed_emails");
        }
    }
    Ok(())
}

fn empty(status: u16, mut headers: Vec<(String, String)>, metric: Metric) -> Outcome {
    headers.push(("cache-control".to_string(), "no-store".to_string()));
    Outcome::new(
        Action::Respond(Response {
            status,
            headers,
            body: String::new(),
        }),
        metric,
    )
}
