//! Opening a real session cookie natively with the filter's own code, to report what a sign-in
//! put into the session (how many groups survived) without trusting the upstream's echo.

use entra_proxy_wasm::config::Config;
use entra_proxy_wasm::headers::parse_cookie_header;
use entra_proxy_wasm::session::{chunks, Session};

/// The session inside a `Cookie` header value, opened with `plugin_config`'s secret.
pub fn open(
    plugin_config: &serde_json::Value,
    cookie_header: &str,
    now: u64,
) -> Result<Session, String> {
    let config = Config::from_json(plugin_config.to_string().as_bytes())
        .map_err(|e| format!("plugin configuration rejected: {}", e.problems.join("; ")))?;
    let cookies: Vec<(String, String)> = parse_cookie_header(cookie_header).collect();
    let value = chunks::join(&config.cookie.name, &cookies)
        .ok_or_else(|| "no session cookie in the header".to_string())?;
    Session::open(&config.cipher, &config.cookie.name, &value, now)
        .map_err(|e| format!("session does not open: {e:?}"))
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
