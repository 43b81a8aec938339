//! The request flow as a state machine: a request (and, later, callout responses) go in, an
//! [`Outcome`] comes out. Nothing here calls the host or reads a clock; the adapter executes the
//! outcome.
//!
//! A request is handled in this order (the first that applies wins):
//! 1. our endpoints under `proxy_prefix`: start, callback, sign_out (others 404);
//! 2. a valid session cookie → forward with identity headers (owned headers stripped first);
//! 3. otherwise: API clients get 401 JSON, browsers are sent to sign in.
//!
//! Whatever the path, headers a client could use to impersonate a user never reach the upstream:
//! every forward strips them, and every other outcome is a local reply.

pub mod action;
pub mod callback;
pub mod entropy;
pub mod failure;
pub mod forward;
pub mod pages;
pub mod provider;
pub mod request;
pub mod signin;
pub mod signout;

pub use action::{Action, CallResponse, Log, LogLevel, OutboundCall, Outcome, Pending, Response};
pub use entropy::Entropy;
pub use provider::ProviderState;
pub use request::Request;

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
}

/// Decide what to do with a request whose headers just arrived.
pub fn on_request(ctx: &Context, req: &Request, rng: &mut dyn Entropy) -> Outcome {
    let prefix = ctx.config.proxy_prefix.as_str();
    if let Some(endpoint) = req.path_only().strip_prefix(prefix) {
        match endpoint {
            "/start" => return signin::start(ctx, req, rng),
            "/callback" => return callback::begin(ctx, req),
            "/sign_out" => return signout::sign_out(ctx, req),
            "/sign_in" => return signin::sign_in_page(ctx, req, "/"),
            _ if endpoint.is_empty() || endpoint.starts_with('/') => {
                return Failure::NotFound.outcome(req);
            }
            _ => {}
        }
    }
    match forward::with_session(ctx, req) {
        Ok(outcome) => outcome,
        Err(reason) => signin::unauthenticated(ctx, req, rng, reason),
    }
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
        Pending::TokenExchange { csrf } => {
            callback::on_token_response(ctx, req, csrf, response, rng)
        }
        Pending::JwksForToken { csrf, tokens } => {
            callback::on_jwks_response(ctx, req, csrf, tokens, response, rng)
        }
    }
}

/// Counted and logged when a request is handled without a decision of its own (the adapter uses
/// it for requests whose headers cannot be read).
pub fn bad_request(req: &Request) -> Outcome {
    Failure::BadRequest("request headers could not be read").outcome(req)
}

#[doc(hidden)]
pub fn metric_for_tests(outcome: &Outcome) -> Option<Metric> {
    outcome.metric
}
