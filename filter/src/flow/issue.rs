//! Turning a session into `Set-Cookie` headers: seal, split into chunks, and clear the chunks of
//! an older, larger session that would otherwise be glued onto the new one.

use crate::headers::CookieWriter;
use crate::session::crypto::NONCE_LEN;
use crate::session::{chunks, Session};

use super::{Context, Request};

/// The cookies for one session.
pub struct Issued {
    /// `Set-Cookie` values: the chunks, then deletions of stale chunks.
    pub set_cookies: Vec<String>,
    /// Length of the sealed value (for logs and the cookie-size budget).
    pub sealed_len: usize,
    /// Number of chunks.
    pub chunks: usize,
}

/// Seal `session` and render its cookies for this request's host.
pub fn session_cookies(
    ctx: &Context,
    req: &Request,
    session: &Session,
    nonce: [u8; NONCE_LEN],
) -> Issued {
    let config = ctx.config;
    let name = &config.cookie.name;
    let sealed = session.seal(&config.cipher, name, nonce);
    let parts = chunks::split(name, &sealed, chunks::MAX_CHUNK_VALUE);
    let writer = CookieWriter::new(&config.cookie, req.host(), ctx.now);
    let max_age = session.expires_at.saturating_sub(ctx.now);
    let mut set_cookies: Vec<String> = parts
        .iter()
        .map(|(n, v)| writer.set(n, v, max_age))
        .collect();
    for stale in chunks::present_names(name, &req.cookies()) {
        if !parts.iter().any(|(n, _)| *n == stale) {
            set_cookies.push(writer.clear(&stale));
        }
    }
    Issued {
        set_cookies,
        sealed_len: sealed.len(),
        chunks: parts.len(),
    }
}
