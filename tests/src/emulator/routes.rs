//! Request routing: which endpoint a path is, counting, fault injection, then the handler.

use std::thread;
use std::time::Duration;

use super::errors::EntraError;
use super::faults::{Endpoint, Fault};
use super::http::{Reply, Request, Response};
use super::pages;
use super::state::{lock, Shared};
use super::{authorize, discovery, logout, token};

/// The endpoint a path addresses, and its `{tenant}` segment.
pub fn classify(path: &str) -> Option<(Endpoint, &str)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (tenant, rest) = segments.split_first()?;
    if tenant.is_empty() {
        return None;
    }
    let endpoint = match rest {
        ["v2.0", ".well-known", "openid-configuration"] => Endpoint::Discovery,
        ["discovery", "v2.0", "keys"] => Endpoint::Jwks,
        ["oauth2", "v2.0", "authorize"] => Endpoint::Authorize,
        ["oauth2", "v2.0", "token"] => Endpoint::Token,
        ["oauth2", "v2.0", "logout"] => Endpoint::Logout,
        _ => return None,
    };
    Some((endpoint, tenant))
}

/// Handles one request end to end.
pub fn route(shared: &Shared, req: Request) -> Reply {
    let target = classify(&req.path);
    lock(&shared.counts).record(target.map(|(e, _)| e));
    let Some((endpoint, tenant)) = target else {
        return Reply::Respond(other(&req));
    };
    let fault = lock(&shared.faults).take(endpoint);
    match fault {
        Some(Fault::Close) => return Reply::Close,
        Some(Fault::Status(status)) => {
            let e = EntraError::transient(status);
            let resp = match endpoint {
                Endpoint::Authorize | Endpoint::Logout => shared.error_page(&req, &e),
                _ => shared.json_error(&req, &e),
            };
            return Reply::Respond(resp);
        }
        Some(Fault::MalformedJson) => {
            let body = format!("{{\"issuer\": \"{}/", shared.base_url);
            return Reply::Respond(Response::new(200, "application/json; charset=utf-8", body));
        }
        Some(Fault::Delay(d)) => thread::sleep(d.min(Duration::from_secs(300))),
        None => {}
    }
    let resp = match endpoint {
        Endpoint::Discovery => discovery::serve_document(shared, &req, tenant),
        Endpoint::Jwks => discovery::serve_keys(shared, &req, tenant),
        Endpoint::Authorize => authorize::handle(shared, &req, tenant),
        Endpoint::Token => token::handle(shared, &req, tenant),
        Endpoint::Logout => logout::handle(shared, &req, tenant),
    };
    Reply::Respond(resp)
}

/// `/error?code=N` (the `error_uri` of every error) and 404 for everything else.
fn other(req: &Request) -> Response {
    if req.path == "/error" {
        let code = req.query_params().get("code").unwrap_or("").to_string();
        return Response::html(
            200,
            format!(
                "<!DOCTYPE html><html><body><h1>AADSTS{}</h1></body></html>",
                pages::escape(&code)
            ),
        );
    }
    Response::html(404, pages::not_found(&req.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        let t = "11111111-1111-1111-1111-111111111111";
        let cases = [
            (
                format!("/{t}/v2.0/.well-known/openid-configuration"),
                Some((Endpoint::Discovery, t)),
            ),
            (
                "/common/discovery/v2.0/keys".into(),
                Some((Endpoint::Jwks, "common")),
            ),
            (
                format!("/{t}/oauth2/v2.0/authorize"),
                Some((Endpoint::Authorize, t)),
            ),
            (
                format!("/{t}/oauth2/v2.0/token"),
                Some((Endpoint::Token, t)),
            ),
            (
                format!("/{t}/oauth2/v2.0/logout"),
                Some((Endpoint::Logout, t)),
            ),
            (format!("/{t}/oauth2/token"), None),
            (format!("/{t}/.well-known/openid-configuration"), None),
            ("//oauth2/v2.0/token".into(), None),
            ("/".into(), None),
        ];
        for (path, want) in cases {
            assert_eq!(classify(&path), want, "{path}");
        }
    }
}
