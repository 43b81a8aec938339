//! API clients with `Authorization: Bearer <JWT>` (`skip_jwt_bearer_tokens`). Being written.

use super::{Context, Outcome, Request};

/// Verified tokens, per VM, so repeated calls with the same token do not run RSA again.
#[derive(Debug, Default)]
pub struct TokenCache {}

/// Some(outcome) when bearer authentication is configured and the request carries a bearer
/// token; None to continue with cookies.
pub fn authenticate(ctx: &Context, req: &Request) -> Option<Outcome> {
    let _ = (ctx, req);
    None
}
