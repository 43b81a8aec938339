//! The only code that talks to the proxy-wasm host. It reads inputs (headers, time, random bytes,
//! shared data, callout responses), hands them to the pure core, and executes the outcome.

mod entropy;
mod execute;
mod http;
mod root;
mod shared;

/// Register the filter's root context with the proxy-wasm SDK. Envoy calls it through
/// `_initialize`; the host-shim tests call it directly.
pub fn register() {
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(root::Root::default()));
}
