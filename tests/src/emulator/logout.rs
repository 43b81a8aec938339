//! `/{tenant}/oauth2/v2.0/logout`: ends the SSO session, then returns to a registered
//! `post_logout_redirect_uri` or shows Entra's signed-out page.

use url::Url;

use super::authorize::{cookie, SESSION_COOKIE};
use super::config::Client;
use super::http::{Request, Response};
use super::jwt::decode_unverified;
use super::pages;
use super::redirect;
use super::state::{lock, Shared};
use super::tenants::Authority;

/// Handles a logout request (GET query or POST form).
pub fn handle(shared: &Shared, req: &Request, segment: &str) -> Response {
    if let Err(e) = Authority::resolve(&shared.cfg, segment) {
        return shared.error_page(req, &e);
    }
    let params = if req.method == "POST" {
        req.form_params()
    } else {
        req.query_params()
    };
    if let Some(value) = cookie(req, SESSION_COOKIE) {
        lock(&shared.store).sessions.remove(&value);
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    let target = params.get("post_logout_redirect_uri").and_then(|uri| {
        let hint_aud = params
            .get("id_token_hint")
            .and_then(decode_unverified)
            .and_then(|(_, claims)| claims["aud"].as_str().map(str::to_string));
        let client_id = params.get("client_id").map(str::to_string).or(hint_aud);
        allowed(shared, client_id.as_deref(), uri).then(|| uri.to_string())
    });
    match target.and_then(|t| Url::parse(&t).ok()) {
        Some(mut url) => {
            if let Some(state) = params.get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            Response::redirect(url.as_str()).with_header("Set-Cookie", &clear)
        }
        None => Response::html(200, pages::signed_out()).with_header("Set-Cookie", &clear),
    }
}

/// A post-logout URI must be registered for the app named by `client_id` or the
/// `id_token_hint`'s `aud`; with neither, for any app (Entra then goes by the session's apps).
/// Unregistered targets are ignored so logout cannot be used as an open redirect.
fn allowed(shared: &Shared, client_id: Option<&str>, uri: &str) -> bool {
    let registered = |c: &Client| redirect::any_matches(&c.redirect_uris, uri);
    match client_id {
        Some(id) => shared.cfg.client(id).is_some_and(registered),
        None => shared.cfg.clients.iter().any(registered),
    }
}
