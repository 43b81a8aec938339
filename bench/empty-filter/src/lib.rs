//! The wasm floor of the benchmark: an HTTP filter that reads every request header, as any
//! filter that makes a decision must, and then lets the request through unchanged.
//!
//! Whatever entra-proxy-wasm costs above this is the price of its own work (cookie parsing,
//! decryption, header rewriting); what this costs above bare Envoy is the price of running wasm
//! at all, which no proxy-wasm filter can avoid.
//!
//! With a plugin configuration it also makes fixed header changes on every request, one per
//! line: `-name` removes a header, `name: value` sets one. The bench gives it the changes row 3
//! makes for its session, so that listener shows what those host calls cost Envoy by
//! themselves, without any decision.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { changes: Rc::default() })
    });
}}

/// One header change.
enum Change {
    Remove(String),
    Set(String, String),
}

/// The root context: creates one [`Headers`] context per request.
struct Root {
    changes: Rc<Vec<Change>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let text = self
            .get_plugin_configuration()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        let changes = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| match line.strip_prefix('-') {
                Some(name) => Change::Remove(name.trim().to_string()),
                None => {
                    let (name, value) = line.split_once(": ").unwrap_or((line, ""));
                    Change::Set(name.trim().to_string(), value.to_string())
                }
            })
            .collect();
        self.changes = Rc::new(changes);
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Headers {
            changes: Rc::clone(&self.changes),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Per-request context.
struct Headers {
    changes: Rc<Vec<Change>>,
}

impl Context for Headers {}

impl HttpContext for Headers {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Bytes, like the real filter: the same host call and the same copy into the VM, so the
        // floor is an honest baseline rather than a filter that never looks at the request.
        let headers = hostcalls::get_map_bytes(MapType::HttpRequestHeaders).unwrap_or_default();
        // Keep the copy observable so the optimiser cannot drop the call's result.
        std::hint::black_box(headers.len());
        for change in self.changes.iter() {
            let _ = match change {
                Change::Remove(name) => {
                    hostcalls::remove_map_value(MapType::HttpRequestHeaders, name)
                }
                Change::Set(name, value) => {
                    hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value))
                }
            };
        }
        Action::Continue
    }
}
