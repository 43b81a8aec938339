//! Request routing: which endpoint a path is, counting, fault injection, then the handler.

use std::thread;
use std::time::Duration;

use super::errors::EntraError;
use super::faults::{Endpoint, Fault};
use super::http::{Reply, Request, Response};
use super::pages;
use super::state::{lock, Shared};
use super::{authorize, discovery, graph, logout, token};

/// The endpoint a path addresses, and its `{tenant}` segment (empty for Graph, which lives
/// under `/v1.0/` at the root, where no tenant segment can be `v1.0`).
pub fn classify(path: &str) -> Option<(Endpoint, &str)> {
    if path.starts_with("/v1.0/") {
        return Some((Endpoint::Graph, ""));
    }
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
            return Reply::Respond(status_fault(shared, &req, endpoint, status, None))
        }
        Some(Fault::Throttled(secs)) => {
            return Reply::Respond(status_fault(shared, &req, endpoint, 429, Some(secs)))
        }
        Some(Fault::MalformedJson) if endpoint == Endpoint::Graph => {
            return Reply::Respond(graph::malformed(shared));
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
        Endpoint::Graph => graph::handle(shared, &req),
    };
    Reply::Respond(resp)
}

/// An injected error status, shaped like the endpoint's own errors; `retry_after` overrides
/// the default `Retry-After: 1` of 429 and 503.
fn status_fault(
    shared: &Shared,
    req: &Request,
    endpoint: Endpoint,
    status: u16,
    retry_after: Option<u32>,
) -> Response {
    let e = EntraError::transient(status);
    let mut resp = match endpoint {
        Endpoint::Graph => return graph::fault(shared, req, status, retry_after),
        Endpoint::Authorize | Endpoint::Logout => shared.error_page(req, &e),
        _ => shared.json_error(req, &e),
    };
    if let Some(secs) = retry_after {
        resp.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("retry-after"));
        resp = resp.with_header("Retry-After", &secs.to_string());
    }
    resp
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
            (
                "/v1.0/me/transitiveMemberOf".into(),
                Some((Endpoint::Graph, "")),
            ),
            (
                "/v1.0/users/x/checkMemberGroups".into(),
                Some((Endpoint::Graph, "")),
            ),
            ("/v1.0".into(), None),
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
