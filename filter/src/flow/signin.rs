//! Starting a sign-in: the redirect to the provider's authorize endpoint with a fresh CSRF
//! cookie, the sign-in page, and what unauthenticated requests get.

use crate::headers::CookieWriter;
use crate::metrics::Metric;
use crate::redirect::validate_redirect;
use crate::session::csrf::{random_token, CsrfState};
use crate::session::{chunks, pkce};
use sha2::Digest;

use super::action::{Action, LogLevel, Outcome, Response};
use super::entropy::bytes;
use super::failure::Failure;
use super::forward::NoSession;
use super::{pages, Context, Entropy, Request};

/// `/oauth2/start?rd=…`: begin a sign-in that returns to a validated target.
pub fn start(ctx: &Context, req: &Request, rng: &mut dyn Entropy) -> Outcome {
    let return_to = requested_redirect(ctx, req).unwrap_or_else(|| "/".to_string());
    begin(ctx, req, rng, &return_to, Vec::new())
}

/// `rd` query parameter or `X-Auth-Request-Redirect` header, when it passes validation.
pub fn requested_redirect(ctx: &Context, req: &Request) -> Option<String> {
    let candidate = req
        .query_param("rd")
        .or_else(|| req.header("x-auth-request-redirect").map(str::to_string))?;
    validate_redirect(&candidate, &ctx.config.whitelist_domains)
}

/// A request without a usable session.
pub fn unauthenticated(
    ctx: &Context,
    req: &Request,
    rng: &mut dyn Entropy,
    why: NoSession,
) -> Outcome {
    let clear = stale_cookies(ctx, req, &why);
    let api = req.wants_json() || ctx.config.is_api_route(req.path_only());
    if api {
        let body = pages::json("unauthorized", "Sign-in required", req.request_id());
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("cache-control".to_string(), "no-store".to_string()),
        ];
        headers.extend(clear.into_iter().map(|c| ("set-cookie".to_string(), c)));
        return Outcome::new(
            Action::Respond(Response {
                status: 401,
                headers,
                body,
            }),
            Metric::Unauthorized,
        )
        .with_log(
            LogLevel::Debug,
            format!(
                "401 for API request ({}) request_id={}",
                why.reason(),
                req.request_id()
            ),
        );
    }
    // The request's own path becomes the post-sign-in Location: `//evil.com/x` (which Envoy
    // passes through unless merge_slashes is on) would be an open redirect, so it gets the same
    // check as an `rd` parameter.
    let return_to = validate_redirect(req.path(), &[]).unwrap_or_else(|| "/".to_string());
    let outcome = if ctx.config.skip_provider_button {
        begin(ctx, req, rng, &return_to, clear)
    } else {
        let mut page = sign_in_page(ctx, req, &return_to);
        if let Action::Respond(response) = &mut page.action {
            response
                .headers
                .extend(clear.into_iter().map(|c| ("set-cookie".to_string(), c)));
        }
        page
    };
    match why {
        NoSession::Missing => outcome,
        NoSession::Expired => Outcome {
            metric: Some(Metric::SessionExpired),
            ..outcome
        }
        .with_log(
            LogLevel::Debug,
            format!("session expired request_id={}", req.request_id()),
        ),
        NoSession::Invalid(reason) => Outcome {
            metric: Some(Metric::SessionInvalid),
            ..outcome
        }
        .with_log(
            LogLevel::Info,
            format!(
                "session cookie rejected ({reason}) request_id={}",
                req.request_id()
            ),
        ),
    }
}

/// Cookies to delete because they hold a dead session.
fn stale_cookies(ctx: &Context, req: &Request, why: &NoSession) -> Vec<String> {
    if matches!(why, NoSession::Missing) {
        return Vec::new();
    }
    let writer = CookieWriter::new(&ctx.config.cookie, req.host(), ctx.now);
    chunks::present_names(&ctx.config.cookie.name, &req.cookies())
        .iter()
        .map(|name| writer.clear(name))
        .collect()
}

/// The page with a "Sign in" button that oauth2-proxy shows when `skip_provider_button` is off.
pub fn sign_in_page(ctx: &Context, req: &Request, return_to: &str) -> Outcome {
    let start = format!(
        "{}/start?{}",
        ctx.config.proxy_prefix,
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("rd", return_to)
            .finish()
    );
    let body = pages::html(
        "Sign in",
        "You need to sign in with Microsoft Entra ID to continue.",
        req.request_id(),
        Some((&start, "Sign in with Microsoft")),
    );
    let headers = vec![
        (
            "content-type".to_string(),
            "text/html; charset=utf-8".to_string(),
        ),
        ("cache-control".to_string(), "no-store".to_string()),
    ];
    Outcome::new(
        Action::Respond(Response {
            status: 403,
            headers,
            body,
        }),
        Metric::LoginRedirect,
    )
}

/// Name of the CSRF cookie for a sign-in with `state`: one shared name, or with
/// `cookie_csrf_per_request` one per attempt, so sign-ins started in several tabs at once do not
/// overwrite each other's cookie.
pub fn csrf_cookie_name(config: &crate::config::Config, state: &str) -> String {
    if !config.lifecycle.csrf_per_request {
        return config.cookie.csrf_name();
    }
    let digest = sha2::Sha256::digest(state.as_bytes());
    let tag: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{}_{tag}", config.cookie.csrf_name())
}

/// Add deletions of every session cookie chunk the request carries to a local reply.
pub fn clear_session_cookies(ctx: &Context, req: &Request, outcome: &mut Outcome) {
    if let Action::Respond(response) = &mut outcome.action {
        let writer = CookieWriter::new(&ctx.config.cookie, req.host(), ctx.now);
        for name in chunks::present_names(&ctx.config.cookie.name, &req.cookies()) {
            response
                .headers
                .push(("set-cookie".to_string(), writer.clear(&name)));
        }
    }
}

/// The redirect URI registered at the provider: configured, or this host's callback.
pub fn redirect_uri(ctx: &Context, req: &Request) -> String {
    match &ctx.config.redirect_url {
        Some(url) => url.clone(),
        None => format!(
            "{}://{}{}/callback",
            req.scheme(),
            req.authority(),
            ctx.config.proxy_prefix
        ),
    }
}

/// Redirect to the authorize endpoint with a fresh state, nonce and PKCE verifier, all bound to
/// this browser by the encrypted CSRF cookie.
fn begin(
    ctx: &Context,
    req: &Request,
    rng: &mut dyn Entropy,
    return_to: &str,
    mut cookies: Vec<String>,
) -> Outcome {
    let Some(provider) = ctx.provider else {
        return Failure::ProviderNotReady.outcome(req);
    };
    let Ok((state, nonce, verifier, seal_nonce)) = draw(rng) else {
        return Failure::Entropy.outcome(req);
    };
    let config = ctx.config;
    let csrf = CsrfState {
        state: random_token(&state),
        nonce: random_token(&nonce),
        code_verifier: pkce::verifier(&verifier),
        return_to: return_to.to_string(),
        expires_at: ctx.now.saturating_add(config.cookie.csrf_expire_secs),
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &redirect_uri(ctx, req))
        .append_pair("response_type", "code")
        .append_pair("scope", &config.scope)
        .append_pair("state", &csrf.state)
        .append_pair("nonce", &csrf.nonce);
    if config.pkce {
        query
            .append_pair("code_challenge", &pkce::challenge_s256(&csrf.code_verifier))
            .append_pair("code_challenge_method", "S256");
    }
    let endpoint = &provider.record.metadata.authorization_endpoint;
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    let location = format!("{endpoint}{separator}{}", query.finish());
    let csrf_name = csrf_cookie_name(config, &csrf.state);
    let writer = CookieWriter::new(&config.cookie, req.host(), ctx.now);
    cookies.push(writer.set(
        &csrf_name,
        &csrf.seal(&config.cipher, &config.cookie.name, seal_nonce),
        config.cookie.csrf_expire_secs,
    ));
    let mut headers = vec![
        ("location".to_string(), location),
        ("cache-control".to_string(), "no-store".to_string()),
    ];
    headers.extend(cookies.into_iter().map(|c| ("set-cookie".to_string(), c)));
    Outcome::new(
        Action::Respond(Response {
            status: 302,
            headers,
            body: String::new(),
        }),
        Metric::LoginRedirect,
    )
    .with_log(
        LogLevel::Debug,
        format!("redirecting to sign in request_id={}", req.request_id()),
    )
}

type Draw = (
    [u8; 32],
    [u8; 32],
    [u8; 32],
    [u8; crate::session::crypto::NONCE_LEN],
);

fn draw(rng: &mut dyn Entropy) -> Result<Draw, super::entropy::EntropyError> {
    Ok((bytes(rng)?, bytes(rng)?, bytes(rng)?, bytes(rng)?))
}
