//! The request flow as a state machine: a request (and, later, callout responses) go in, an
//! [`Outcome`] comes out. Nothing here calls the host or reads a clock; the adapter executes the
//! outcome.
//!
//! A request is handled in this order (the first that applies wins):
//! 1. a CORS preflight (`skip_auth_preflight`) or a `skip_auth_routes` match → forward without
//!    identity (owned headers still stripped);
//! 2. our endpoints under `proxy_prefix`: start, callback, sign_out, sign_in, userinfo, auth
//!    (others 404);
//! 3. `Authorization: Bearer` with `skip_jwt_bearer_tokens` → the token decides;
//! 4. a valid session cookie → forward with identity headers (refreshed first when due);
//! 5. otherwise: API clients get 401 JSON, browsers are sent to sign in.
//!
//! Whatever the path, headers a client could use to impersonate a user never reach the upstream:
//! every forward strips them, and every other outcome is a local reply.

pub mod action;
pub mod bearer;
pub mod callback;
pub mod cookies;
pub mod endpoints;
pub mod entropy;
pub mod exact_cache;
pub mod failure;
pub mod federated;
pub mod forward;
pub mod group_cache;
pub mod groups;
pub mod identity;
pub mod inject;
pub mod issue;
pub mod lease;
pub mod pages;
pub mod prepared;
pub mod provider;
pub mod refresh;
pub mod request;
pub mod session_cache;
pub mod signin;
pub mod signout;
pub mod store;

pub use action::{Action, CallResponse, Log, LogLevel, OutboundCall, Outcome, Pending, Response};
pub use entropy::Entropy;
pub use provider::ProviderState;
pub use request::Request;
pub use store::{NoStore, SharedStore};

use std::cell::RefCell;

use crate::config::Config;
use crate::metrics::Metric;
use failure::Failure;

/// Everything a decision may depend on besides the request.
pub struct Context<'a> {
    /// The validated configuration.
    pub config: &'a Config,
    /// Provider metadata and keys, when they have been fetched.
    pub provider: Option<&'a ProviderState>,
    /// Unix seconds.
    pub now: u64,
    /// Shared data (refresh leases).
    pub store: &'a dyn SharedStore,
    /// Prefix of this plugin's shared-data keys.
    pub store_prefix: &'a str,
    /// Per-VM cache of verified bearer tokens.
    pub bearer_cache: &'a RefCell<bearer::TokenCache>,
    /// Per-VM cache of opened session cookies.
    pub session_cache: &'a RefCell<session_cache::SessionCache>,
    /// The request's lone `Cookie` header as the adapter found it in `session_cache` before
    /// turning it into text (a hit there is what lets it skip the UTF-8 check); the flow looks
    /// it up itself when this is `None`.
    pub known_cookie: Option<session_cache::KnownHeader>,
}

/// Decide what to do with a request whose headers just arrived.
pub fn on_request(ctx: &Context, req: &Request, rng: &mut dyn Entropy) -> Outcome {
    let config = ctx.config;
    if config.skip_auth_preflight && is_preflight(req) {
        return forward::anonymous(config, req, Metric::SkippedRoute);
    }
    if config
        .skip_auth_routes
        .iter()
        .any(|rule| rule.matches(req.method(), req.path_only()))
    {
        return forward::anonymous(config, req, Metric::SkippedRoute);
    }
    let prefix = config.proxy_prefix.as_str();
    if let Some(endpoint) = req.path_only().strip_prefix(prefix) {
        match endpoint {
            "/start" => return signin::start(ctx, req, rng),
            "/callback" => return callback::begin(ctx, req),
            "/sign_out" => return signout::sign_out(ctx, req),
            "/sign_in" => return signin::sign_in_page(ctx, req, "/"),
            "/userinfo" => return endpoints::userinfo(ctx, req),
            // Envoy's ext_authz appends the original path to its path_prefix, so
            // `/oauth2/auth/<anything>` is the auth endpoint too.
            _ if endpoint == "/auth" || endpoint.starts_with("/auth/") => {
                if let Some(outcome) = bearer::authenticate(ctx, req) {
                    return outcome;
                }
                return endpoints::auth(ctx, req);
            }
            _ if endpoint.is_empty() || endpoint.starts_with('/') => {
                return Failure::NotFound.outcome(req);
            }
            _ => {}
        }
    }
    if let Some(outcome) = bearer::authenticate(ctx, req) {
        return outcome;
    }
    match forward::with_session(ctx, req) {
        Ok(outcome) => outcome,
        Err(reason) => signin::unauthenticated(ctx, req, rng, reason),
    }
}

/// A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`. Browsers send
/// them without cookies, so they can never carry a session.
fn is_preflight(req: &Request) -> bool {
    req.method() == "OPTIONS"
        && req.header("origin").is_some()
        && req.header("access-control-request-method").is_some()
}

/// Continue a paused request after a callout it made has answered.
pub fn on_call_response(
    ctx: &Context,
    req: &Request,
    pending: Pending,
    response: CallResponse,
    rng: &mut dyn Entropy,
) -> Outcome {
    match pending {
        Pending::TokenExchange {
            csrf,
            code,
            retried,
        } => callback::on_token_response(ctx, req, (csrf, code, retried), response, rng),
        Pending::Assertion { then } => federated::on_fetched(ctx, req, then, response, rng),
        Pending::JwksForToken { csrf, tokens } => {
            callback::on_jwks_response(ctx, req, csrf, tokens, response, rng)
        }
        pending @ (Pending::GraphPages { .. } | Pending::GraphCheck { .. }) => {
            groups::on_graph_response(ctx, req, pending, response, rng)
        }
        Pending::JwksForRefresh {
            session,
            lease,
            tokens,
        } => refresh::on_jwks_response(ctx, req, (*session, lease, tokens), response, rng),
        Pending::Refresh {
            session,
            lease,
            retried,
        } => refresh::on_response(ctx, req, (*session, lease, retried), response, rng),
    }
}

/// Counted and logged when a request is handled without a decision of its own (the adapter uses
/// it for requests whose headers cannot be read).
pub fn bad_request(req: &Request) -> Outcome {
    Failure::BadRequest("request headers could not be read").outcome(req)
}
