//! A tiny proxy-wasm 0.2.5 filter that exercises every host-call path the real filter uses.
//! Each behaviour is keyed by the request path so tests can pick one.

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MetricType, Status};
use std::time::{Duration, UNIX_EPOCH};

extern "C" {
    /// Provided by host-shim, as the real filter expects on native builds.
    fn proxy_shim_random_get(buf: *mut u8, len: usize) -> u32;
}

/// What the real filter's `register()` does.
pub fn register() {
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| Box::new(Root::default()));
}

fn random_hex(len: usize) -> String {
    let mut buf = vec![0u8; len];
    // SAFETY: `buf` is writable for `len` bytes.
    let errno = unsafe { proxy_shim_random_get(buf.as_mut_ptr(), len) };
    assert_eq!(errno, 0);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn status_name(result: Result<u32, Status>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(status) => format!("{status:?}"),
    }
}

#[derive(Default)]
struct Root {
    requests: u32,
    refreshes: u32,
    lease_cas: Option<u32>,
}

impl Context for Root {
    fn on_http_call_response(&mut self, _token: u32, headers: usize, body_size: usize, _: usize) {
        if headers == 0 {
            proxy_wasm::hostcalls::log(LogLevel::Warn, "root call failed").unwrap();
            return;
        }
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        self.set_shared_data("discovery", Some(&body), None)
            .unwrap();
        proxy_wasm::hostcalls::increment_metric(self.refreshes, 1).unwrap();
    }
}

impl RootContext for Root {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        let vm = self.get_vm_configuration().unwrap_or_default();
        proxy_wasm::hostcalls::log(
            LogLevel::Info,
            &format!("vm config {}", String::from_utf8_lossy(&vm)),
        )
        .unwrap();
        vm != b"fail-vm"
    }

    fn on_configure(&mut self, size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        assert_eq!(config.len(), size);
        self.requests =
            proxy_wasm::hostcalls::define_metric(MetricType::Counter, "requests").unwrap();
        self.refreshes =
            proxy_wasm::hostcalls::define_metric(MetricType::Counter, "refreshes").unwrap();
        let gauge =
            proxy_wasm::hostcalls::define_metric(MetricType::Gauge, "config_bytes").unwrap();
        proxy_wasm::hostcalls::record_metric(gauge, config.len() as u64).unwrap();
        let histogram =
            proxy_wasm::hostcalls::define_metric(MetricType::Histogram, "sizes").unwrap();
        proxy_wasm::hostcalls::record_metric(histogram, 3).unwrap();
        self.set_tick_period(Duration::from_secs(5));
        config != b"reject"
    }

    fn on_tick(&mut self) {
        match self.lease_cas {
            // First tick: take the lease, remember its CAS, fetch discovery from the root.
            None => {
                self.set_shared_data("lease", Some(b"root"), None).unwrap();
                self.lease_cas = self.get_shared_data("lease").1;
                self.dispatch_http_call(
                    "idp",
                    vec![
                        (":method", "GET"),
                        (":path", "/.well-known"),
                        (":authority", "idp"),
                    ],
                    None,
                    vec![],
                    Duration::from_secs(2),
                )
                .unwrap();
            }
            // Later ticks: renew the lease only if nobody else wrote it.
            Some(cas) => {
                let outcome = match self.set_shared_data("lease", Some(b"renewed"), Some(cas)) {
                    Ok(()) => {
                        self.lease_cas = self.get_shared_data("lease").1;
                        "lease renewed"
                    }
                    Err(Status::CasMismatch) => "lease lost",
                    Err(_) => "lease error",
                };
                proxy_wasm::hostcalls::log(LogLevel::Info, outcome).unwrap();
            }
        }
    }

    fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http {
            requests: self.requests,
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    requests: u32,
}

impl Http {
    fn path(&self) -> String {
        self.get_http_request_header(":path").unwrap_or_default()
    }
}

impl Context for Http {
    fn on_http_call_response(&mut self, _token: u32, headers: usize, body_size: usize, _: usize) {
        if headers == 0 {
            // Zero headers: the call failed; Envoy tells why through get_status.
            let (code, message) = self.get_grpc_status();
            let body = format!("{code} {}", message.unwrap_or_default());
            self.send_http_response(502, vec![], Some(body.as_bytes()));
            return;
        }
        let status = self
            .get_http_call_response_header(":status")
            .unwrap_or_default();
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        if status == "200" {
            self.set_http_request_header("x-upstream-body", Some(&String::from_utf8_lossy(&body)));
            self.resume_http_request();
        } else {
            self.send_http_response(
                401,
                vec![
                    ("Set-Cookie", "a=1"),
                    ("set-cookie", "b=2"),
                    ("x-status", &status),
                ],
                Some(&body),
            );
        }
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _eos: bool) -> Action {
        proxy_wasm::hostcalls::increment_metric(self.requests, 1).unwrap();
        let path = self.path();
        match path.as_str() {
            "/edit" => {
                let cookies = self
                    .get_http_request_headers()
                    .iter()
                    .filter(|(k, _)| k == "cookie")
                    .count();
                self.set_http_request_header("x-cookies", Some(&cookies.to_string()));
                self.set_http_request_header("x-remove", None);
                self.add_http_request_header("x-added", "1");
                self.add_http_request_header("x-added", "2");
                let missing = self.get_http_request_header("x-missing").is_none();
                self.set_http_request_header("x-missing-is-none", Some(&missing.to_string()));
                let empty = self.get_http_request_header("x-empty");
                self.set_http_request_header("x-empty-is", Some(&format!("{empty:?}")));
                let plugin = self.get_property(vec!["plugin_name"]).unwrap_or_default();
                self.set_http_request_header("x-plugin", Some(&String::from_utf8_lossy(&plugin)));
                let unset = self.get_property(vec!["no", "such"]).is_none();
                self.set_http_request_header("x-unset-property-is-none", Some(&unset.to_string()));
                let secs = self
                    .get_current_time()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                self.set_http_request_header("x-time", Some(&secs.to_string()));
                self.set_http_request_header("x-rand", Some(&random_hex(12)));
                proxy_wasm::hostcalls::log(LogLevel::Debug, "edited").unwrap();
                Action::Continue
            }
            "/call" => {
                let token = self.dispatch_http_call(
                    "idp",
                    vec![
                        (":method", "POST"),
                        (":path", "/token"),
                        (":authority", "login.example"),
                        ("content-type", "application/x-www-form-urlencoded"),
                    ],
                    Some(b"grant_type=x"),
                    vec![],
                    Duration::from_millis(1500),
                );
                self.set_http_request_header("x-token", Some(&status_name(token)));
                Action::Pause
            }
            "/bad-calls" => {
                let unknown = self.dispatch_http_call(
                    "nowhere",
                    vec![(":method", "GET"), (":path", "/"), (":authority", "a")],
                    None,
                    vec![],
                    Duration::from_secs(1),
                );
                let no_authority = self.dispatch_http_call(
                    "idp",
                    vec![(":method", "GET"), (":path", "/")],
                    None,
                    vec![],
                    Duration::from_secs(1),
                );
                self.set_http_request_header("x-unknown", Some(&status_name(unknown)));
                self.set_http_request_header("x-no-authority", Some(&status_name(no_authority)));
                Action::Continue
            }
            "/bytes" => {
                let raw = self
                    .get_http_request_header_bytes("x-raw")
                    .unwrap_or_default();
                self.set_http_request_header("x-raw-len", Some(&raw.len().to_string()));
                self.set_http_request_header_bytes("x-raw-copy", Some(&raw));
                Action::Continue
            }
            "/deny" => {
                self.send_http_response(403, vec![("content-type", "text/plain")], Some(b"no"));
                Action::Pause
            }
            "/unsupported" => {
                let queue = self.resolve_shared_queue("vm", "q").is_none();
                let foreign = self.call_foreign_function("f", None).is_err();
                self.set_http_request_header("x-unsupported", Some(&format!("{queue} {foreign}")));
                Action::Continue
            }
            _ => Action::Continue,
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        let mut upper = body.to_ascii_uppercase();
        upper.extend_from_slice(b"!");
        self.set_http_request_body(0, body_size, &upper);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _eos: bool) -> Action {
        let status = self.get_http_response_header(":status").unwrap_or_default();
        self.add_http_response_header("x-seen-status", &status);
        Action::Continue
    }

    fn on_log(&mut self) {
        // Envoy shows the final request headers read-only while on_log runs.
        let path = self.path();
        proxy_wasm::hostcalls::log(LogLevel::Info, &format!("log {path}")).unwrap();
    }
}
