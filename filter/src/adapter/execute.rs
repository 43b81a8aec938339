//! Carrying out what the core decided.

use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::types::LogLevel as HostLevel;

use crate::flow::{LogLevel, OutboundCall, Outcome};

/// Write a log line through the host.
pub fn log(level: LogLevel, message: &str) {
    let level = match level {
        LogLevel::Debug => HostLevel::Debug,
        LogLevel::Info => HostLevel::Info,
        LogLevel::Warn => HostLevel::Warn,
        LogLevel::Error => HostLevel::Error,
    };
    let _ = hostcalls::log(level, message);
}

/// Log and count what an outcome says.
pub fn record(shared: &super::shared::Shared, outcome: &Outcome) {
    for metric in outcome.metric.iter().chain(&outcome.also) {
        shared.count(*metric);
    }
    if let Some(line) = &outcome.log {
        log(line.level, &line.message);
    }
}

/// Unix seconds from the host clock.
pub fn now() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Dispatch a callout; the token identifies its response.
pub fn dispatch(call: &OutboundCall) -> Result<u32, proxy_wasm::types::Status> {
    let mut headers: Vec<(&str, &str)> = vec![
        (":method", call.method),
        (":path", call.path.as_str()),
        (":authority", call.authority.as_str()),
    ];
    headers.extend(call.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    hostcalls::dispatch_http_call(
        &call.cluster,
        headers,
        call.body.as_deref(),
        Vec::new(),
        Duration::from_millis(call.timeout_ms),
    )
}

/// Status and body of the callout response being delivered; status 0 when the host reports
/// failure (no headers).
pub fn call_response(num_headers: usize, body_size: usize) -> crate::flow::CallResponse {
    if num_headers == 0 {
        return crate::flow::CallResponse::default();
    }
    let status = hostcalls::get_map_value_bytes(
        proxy_wasm::types::MapType::HttpCallResponseHeaders,
        ":status",
    )
    .ok()
    .flatten()
    .and_then(|s| String::from_utf8(s).ok())
    .and_then(|s| s.parse::<u16>().ok())
    .unwrap_or(0);
    let body = hostcalls::get_buffer(
        proxy_wasm::types::BufferType::HttpCallResponseBody,
        0,
        body_size,
    )
    .ok()
    .flatten()
    .unwrap_or_default();
    let retry_after = hostcalls::get_map_value_bytes(
        proxy_wasm::types::MapType::HttpCallResponseHeaders,
        "retry-after",
    )
    .ok()
    .flatten()
    .and_then(|v| String::from_utf8(v).ok())
    .and_then(|v| v.trim().parse::<u64>().ok());
    crate::flow::CallResponse {
        status,
        body,
        retry_after,
    }
}
