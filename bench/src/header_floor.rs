//! The header changes row 3 makes, for the empty filter to make too (`Row::EmptyWasmHeaders`).
//!
//! Row 3's filter removes the session cookies and sets the identity headers: ~15 KB of values
//! for the 150-group user, among them the 9 KB ID token in `Authorization`. Those host calls are
//! work Envoy does for any filter that forwards that identity, whatever decides it, so the bench
//! measures them on their own. The values are rendered by the filter's own code from an ID token
//! of the same user (the bench's bearer token), so names, order and sizes match row 3's.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use entra_proxy_wasm::config::Config;
use entra_proxy_wasm::flow::prepared::Prepared;
use entra_proxy_wasm::session::Session;
use serde_json::Value;

/// The changes in the empty filter's line format: `-cookie`, then `name: value` per header.
pub fn changes(plugin_config: &Value, id_token: &str) -> Result<String, String> {
    let config = Config::from_json(plugin_config.to_string().as_bytes())
        .map_err(|e| format!("row 3's configuration: {e}"))?;
    let payload = id_token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .ok_or("the ID token has no readable payload")?;
    let claim = |name: &str| {
        payload
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let session = Session {
        user: claim("oid").ok_or("the ID token has no oid")?,
        email: claim("email").or_else(|| claim("preferred_username")),
        preferred_username: claim("preferred_username"),
        groups: payload
            .get("groups")
            .and_then(Value::as_array)
            .map(|groups| {
                groups
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        id_token: Some(id_token.to_string()),
        ..Default::default()
    };
    let prepared = Prepared::render(&config, &session);
    let mut lines = vec!["-cookie".to_string()];
    lines.extend(prepared.request.iter().map(|(n, v)| format!("{n}: {v}")));
    Ok(lines.join("\n"))
}

/// Bytes of header values set by `changes`.
pub fn value_bytes(changes: &str) -> usize {
    changes
        .lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(_, v)| v.len())
        .sum()
}
