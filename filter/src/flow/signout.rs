//! `/oauth2/sign_out`: forget the session in this browser.

use crate::headers::CookieWriter;
use crate::metrics::Metric;
use crate::session::chunks;

use super::action::{Action, LogLevel, Outcome, Response};
use super::forward::open_session;
use super::signin::requested_redirect;
use super::{Context, Request};

/// Clear every session chunk and the CSRF cookie, then redirect to a validated `rd` or "/".
pub fn sign_out(ctx: &Context, req: &Request) -> Outcome {
    let config = ctx.config;
    let writer = CookieWriter::new(&config.cookie, req.host(), ctx.now);
    let mut names = chunks::present_names(&config.cookie.name, &req.cookies());
    if !names.contains(&config.cookie.name) {
        names.insert(0, config.cookie.name.clone());
    }
    names.push(config.cookie.csrf_name());
    let target = requested_redirect(ctx, req).unwrap_or_else(|| "/".to_string());
    let location = end_session_location(ctx, req, &target).unwrap_or(target);
    let mut headers = vec![
        ("location".to_string(), location),
        ("cache-control".to_string(), "no-store".to_string()),
    ];
    headers.extend(
        names
            .iter()
            .map(|name| ("set-cookie".to_string(), writer.clear(name))),
    );
    Outcome::new(
        Action::Respond(Response {
            status: 302,
            headers,
            body: String::new(),
        }),
        Metric::SignOut,
    )
    .with_log(
        LogLevel::Info,
        format!("signed out request_id={}", req.request_id()),
    )
}

/// With `end_session_redirect`, the provider's `end_session_endpoint` with the target as
/// `post_logout_redirect_uri` (absolute, as Entra requires), and the ID token as
/// `id_token_hint` when the session kept one (Entra then skips the account picker).
fn end_session_location(ctx: &Context, req: &Request, target: &str) -> Option<String> {
    if !ctx.config.lifecycle.end_session_redirect {
        return None;
    }
    let endpoint = ctx.provider?.record.metadata.end_session_endpoint.clone()?;
    let absolute = if target.starts_with('/') {
        format!("{}://{}{target}", req.scheme(), req.authority())
    } else {
        target.to_string()
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("post_logout_redirect_uri", &absolute);
    query.append_pair("client_id", &ctx.config.client_id);
    if let Some(token) = open_session(ctx, req).ok().and_then(|s| s.id_token) {
        query.append_pair("id_token_hint", &token);
    }
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    Some(format!("{endpoint}{separator}{}", query.finish()))
}
