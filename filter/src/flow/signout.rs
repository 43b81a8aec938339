//! `/oauth2/sign_out`: forget the session in this browser.

use crate::headers::CookieWriter;
use crate::metrics::Metric;
use crate::session::chunks;

use super::action::{Action, LogLevel, Outcome, Response};
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
    let location = requested_redirect(ctx, req).unwrap_or_else(|| "/".to_string());
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
