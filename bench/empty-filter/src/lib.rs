//! The wasm floor of the benchmark: an HTTP filter that reads every request header, as any
//! filter that makes a decision must, and then lets the request through unchanged.
//!
//! Whatever entra-proxy-wasm costs above this is the price of its own work (cookie parsing,
//! decryption, header rewriting); what this costs above bare Envoy is the price of running wasm
//! at all, which no proxy-wasm filter can avoid.

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
}}

/// The root context: creates one [`Headers`] context per request.
struct Root;

impl Context for Root {}

impl RootContext for Root {
    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Headers))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Per-request context.
struct Headers;

impl Context for Headers {}

impl HttpContext for Headers {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Bytes, like the real filter: the same host call and the same copy into the VM, so the
        // floor is an honest baseline rather than a filter that never looks at the request.
        let headers = hostcalls::get_map_bytes(MapType::HttpRequestHeaders).unwrap_or_default();
        // Keep the copy observable so the optimiser cannot drop the call's result.
        std::hint::black_box(headers.len());
        Action::Continue
    }
}
