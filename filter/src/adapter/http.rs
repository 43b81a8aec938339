//! The HTTP context: one per request. Reads the headers, asks the core, does what it says.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action as HostAction, MapType};

use crate::flow::{self, Action, Outcome, Pending, Request};

use super::entropy::HostEntropy;
use super::execute::{call_response, dispatch, now, record};
use super::shared::{HostStore, Shared};

/// Per-request state: the request, and the callout it waits for.
pub struct Http {
    shared: Rc<Shared>,
    request: Request,
    waiting: Option<(u32, Pending)>,
    /// Headers to add to the upstream's response (refreshed cookies, injected headers).
    response_headers: Vec<(String, String)>,
}

impl Http {
    /// A context for one request.
    pub fn new(shared: Rc<Shared>) -> Self {
        Http {
            shared,
            request: Request::default(),
            waiting: None,
            response_headers: Vec::new(),
        }
    }

    fn context<'a>(
        &self,
        provider: Option<&'a flow::ProviderState>,
        shared: &'a Shared,
    ) -> flow::Context<'a> {
        flow::Context {
            config: &shared.config,
            provider,
            now: now(),
            store: &HostStore,
            store_prefix: &shared.prefix,
            bearer_cache: &shared.bearer_cache,
        }
    }

    /// Carry out an outcome. Returns whether the request continues to the upstream now.
    fn execute(&mut self, outcome: Outcome) -> HostAction {
        record(&self.shared, &outcome);
        if let Some(state) = outcome.publish {
            self.shared.publish(state);
        }
        match outcome.action {
            Action::Forward {
                remove,
                set,
                response,
            } => {
                self.response_headers = response;
                for name in &remove {
                    let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name);
                }
                for (name, value) in &set {
                    let _ =
                        hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value));
                }
                HostAction::Continue
            }
            Action::Respond(response) => {
                let headers: Vec<(&str, &str)> = response
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let body = (!response.body.is_empty()).then_some(response.body.as_bytes());
                let _ = hostcalls::send_http_response(u32::from(response.status), headers, body);
                HostAction::Pause
            }
            Action::Call { call, pending } => match dispatch(&call) {
                Ok(token) => {
                    self.waiting = Some((token, *pending));
                    HostAction::Pause
                }
                Err(status) => {
                    // Fail closed: without the callout there is no decision, so no forward.
                    let failure = flow::failure::Failure::TokenEndpointFailure(format!(
                        "dispatch to cluster {:?} failed: {status:?}",
                        call.cluster
                    ));
                    self.execute(failure.outcome(&self.request))
                }
            },
        }
    }
}

impl Context for Http {
    fn on_http_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some((expected, pending)) = self.waiting.take() else {
            return;
        };
        if expected != token {
            self.waiting = Some((expected, pending));
            return;
        }
        let response = call_response(num_headers, body_size);
        let shared = self.shared.clone();
        let provider = shared.provider(false);
        let ctx = self.context(provider.as_deref(), &shared);
        let outcome =
            flow::on_call_response(&ctx, &self.request, pending, response, &mut HostEntropy);
        if let HostAction::Continue = self.execute(outcome) {
            let _ = hostcalls::resume_http_request();
        }
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> HostAction {
        // Bytes, not strings: the SDK's string accessor panics (killing the VM) on a header
        // value that is not UTF-8, and any client can send one.
        let headers = match hostcalls::get_map_bytes(MapType::HttpRequestHeaders) {
            Ok(pairs) => pairs
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect(),
            Err(_) => {
                let outcome = flow::bad_request(&self.request);
                return self.execute(outcome);
            }
        };
        self.request = Request::new(headers);
        let shared = self.shared.clone();
        let provider = shared.provider(false);
        let ctx = self.context(provider.as_deref(), &shared);
        let outcome = flow::on_request(&ctx, &self.request, &mut HostEntropy);
        self.execute(outcome)
    }

    fn on_http_response_headers(
        &mut self,
        _num_headers: usize,
        _end_of_stream: bool,
    ) -> HostAction {
        for (name, value) in std::mem::take(&mut self.response_headers) {
            if name == "set-cookie" {
                let _ = hostcalls::add_map_value(MapType::HttpResponseHeaders, &name, &value);
            } else {
                let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, &name, Some(&value));
            }
        }
        HostAction::Continue
    }
}
