//! The HTTP context: one per request. Reads the headers, asks the core, does what it says.
//!
//! The per-request state lives in an [`Exchange`] behind `Rc<RefCell<…>>` so that the root
//! context can finish a request that had to wait (Graph's `Retry-After`): a wasm module cannot
//! sleep, so a waiting request is parked and the root's timer makes its next callout for it.

use std::cell::RefCell;
use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action as HostAction, MapType};

use crate::flow::cookies;
use crate::flow::session_cache::{KnownHeader, SessionCache};
use crate::flow::{self, Action, OutboundCall, Outcome, Pending, Request};

use super::entropy::HostEntropy;
use super::execute::{call_response, dispatch, now, record};
use super::shared::{HostStore, Parked, Shared};

/// What one request carries between callbacks.
pub struct Exchange {
    shared: Rc<Shared>,
    request: Request,
    /// The callout this request waits for, and what to do with its answer.
    pub waiting: Option<(u32, Pending)>,
    /// A callout to make later, at the given Unix second (set by `Action::Wait`).
    parked: Option<(u64, OutboundCall, Pending)>,
    /// Headers to add to the upstream's response (refreshed cookies, injected headers).
    response_headers: Vec<(String, String)>,
}

impl Exchange {
    fn context<'a>(
        &self,
        provider: Option<&'a flow::ProviderState>,
        shared: &'a Shared,
        now: u64,
        known_cookie: Option<KnownHeader>,
    ) -> flow::Context<'a> {
        flow::Context {
            config: &shared.config,
            provider,
            now,
            store: &HostStore,
            store_prefix: &shared.prefix,
            bearer_cache: &shared.bearer_cache,
            session_cache: &shared.session_cache,
            known_cookie,
        }
    }

    /// Carry out an outcome for the request whose context is current (or effective).
    pub fn execute(&mut self, outcome: Outcome) -> HostAction {
        record(&self.shared, &outcome);
        if let Some(state) = outcome.publish {
            self.shared.publish(state);
        }
        match outcome.action {
            Action::Forward {
                remove,
                identity,
                set,
                response,
            } => {
                self.response_headers = response;
                for name in &remove {
                    let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name);
                }
                for (name, value) in identity.iter().chain(&set) {
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
            Action::Call { call, pending } => self.call(call, *pending),
            Action::Wait {
                until,
                call,
                pending,
            } => {
                self.parked = Some((until, call, *pending));
                HostAction::Pause
            }
        }
    }

    /// Dispatch `call`, or fail closed: without the callout there is no decision.
    pub fn call(&mut self, call: OutboundCall, pending: Pending) -> HostAction {
        match dispatch(&call) {
            Ok(token) => {
                self.waiting = Some((token, pending));
                HostAction::Pause
            }
            Err(status) => {
                let failure = flow::failure::Failure::TokenEndpointFailure(format!(
                    "dispatch to cluster {:?} failed: {status:?}",
                    call.cluster
                ));
                let outcome = failure.outcome(&self.request);
                self.execute(outcome)
            }
        }
    }

    /// A callout answered; None when it was not the one this request waits for.
    pub fn on_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
    ) -> Option<HostAction> {
        let (expected, pending) = self.waiting.take()?;
        if expected != token {
            self.waiting = Some((expected, pending));
            return None;
        }
        let response = call_response(num_headers, body_size);
        let shared = self.shared.clone();
        // Re-read the shared record: another worker may have just fetched new keys (after a
        // rotation), and the unknown-kid rate limit must be the same for every worker.
        let provider = shared.provider(true);
        let ctx = self.context(provider.as_deref(), &shared, now(), None);
        let outcome =
            flow::on_call_response(&ctx, &self.request, pending, response, &mut HostEntropy);
        Some(self.execute(outcome))
    }

    /// Hand a parked callout to the root context's timer.
    pub fn park_if_waiting(me: &Rc<RefCell<Exchange>>, context_id: u32) {
        let parked = me.borrow_mut().parked.take();
        if let Some((due, call, pending)) = parked {
            let shared = me.borrow().shared.clone();
            shared.parked.borrow_mut().push(Parked {
                context_id,
                due,
                call,
                pending,
                exchange: Rc::downgrade(me),
            });
        }
    }
}

/// One request's context.
pub struct Http {
    id: u32,
    exchange: Rc<RefCell<Exchange>>,
}

impl Http {
    /// A context for one request.
    pub fn new(id: u32, shared: Rc<Shared>) -> Self {
        let exchange = Exchange {
            shared,
            request: Request::default(),
            waiting: None,
            parked: None,
            response_headers: Vec::new(),
        };
        Http {
            id,
            exchange: Rc::new(RefCell::new(exchange)),
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
        let action = self
            .exchange
            .borrow_mut()
            .on_call_response(token, num_headers, body_size);
        Exchange::park_if_waiting(&self.exchange, self.id);
        if let Some(HostAction::Continue) = action {
            let _ = hostcalls::resume_http_request();
        }
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> HostAction {
        let mut exchange = self.exchange.borrow_mut();
        // Bytes, not strings: the SDK's string accessor panics (killing the VM) on a header
        // value that is not UTF-8, and any client can send one.
        let Ok(pairs) = hostcalls::get_map_bytes(MapType::HttpRequestHeaders) else {
            let outcome = flow::bad_request(&exchange.request);
            return exchange.execute(outcome);
        };
        let shared = exchange.shared.clone();
        let now = now();
        let (headers, known_cookie) = request_headers(pairs, &shared.session_cache.borrow(), now);
        exchange.request = Request::new(headers);
        let provider = shared.provider(false);
        let ctx = exchange.context(provider.as_deref(), &shared, now, known_cookie);
        let outcome = flow::on_request(&ctx, &exchange.request, &mut HostEntropy);
        let action = exchange.execute(outcome);
        drop(exchange);
        Exchange::park_if_waiting(&self.exchange, self.id);
        action
    }

    fn on_http_response_headers(
        &mut self,
        _num_headers: usize,
        _end_of_stream: bool,
    ) -> HostAction {
        for (name, value) in std::mem::take(&mut self.exchange.borrow_mut().response_headers) {
            if name == "set-cookie" {
                let _ = hostcalls::add_map_value(MapType::HttpResponseHeaders, &name, &value);
            } else {
                let _ = hostcalls::set_map_value(MapType::HttpResponseHeaders, &name, Some(&value));
            }
        }
        HostAction::Continue
    }
}

/// The request's headers as text, and what the session cache knows about its lone `Cookie`
/// header. A hit means the header's bytes equal a stored header, which is text, so they skip
/// the UTF-8 check: a signed-in browser's ~7 KB of cookies are then read once per request (by
/// the cache's comparison), not twice.
fn request_headers(
    pairs: Vec<(String, Vec<u8>)>,
    cache: &SessionCache,
    now: u64,
) -> (Vec<(String, String)>, Option<KnownHeader>) {
    let lone = cookies::lone_cookie(pairs.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
    let known = lone.and_then(|value| cache.header(value, now));
    let headers = pairs
        .into_iter()
        .map(|(name, value)| {
            let value = if known.is_some() && cookies::is_cookie_header(&name) {
                // SAFETY: the cache compared these bytes in full with a key it stores as `str`
                // (see `ExactCache::get`), so they are valid UTF-8.
                unsafe { String::from_utf8_unchecked(value) }
            } else {
                text(value)
            };
            (name, value)
        })
        .collect();
    (headers, known)
}

/// A header value as text without copying it when it is valid UTF-8 (almost always); other
/// bytes become U+FFFD, so no value can make the filter fail.
fn text(bytes: Vec<u8>) -> String {
    if crate::words::is_ascii(&bytes) {
        // SAFETY: ASCII is valid UTF-8. Checking eight bytes per step first matters because
        // every request's ~10 KB of cookies pass here, and `from_utf8`'s own check runs four
        // bytes per step on wasm32 (it was a tenth of the signed-in path's time in V8).
        return unsafe { String::from_utf8_unchecked(bytes) };
    }
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::cookies::CookieEdit;
    use crate::flow::session_cache::Opened;
    use crate::session::Session;

    const HEADER: &str = "theme=dark; _oauth2_proxy=sealed-value";

    fn cache() -> SessionCache {
        let mut cache = SessionCache::default();
        let opened = Rc::new(Opened::new(Session {
            user: "alice".into(),
            expires_at: 100,
            ..Default::default()
        }));
        let edit = CookieEdit::Set("theme=dark".into());
        cache.insert_header(HEADER.into(), KnownHeader { opened, edit });
        cache
    }

    fn pairs(cookies: &[&[u8]]) -> Vec<(String, Vec<u8>)> {
        let mut pairs = vec![(":path".to_string(), b"/".to_vec())];
        pairs.extend(cookies.iter().map(|c| ("cookie".to_string(), c.to_vec())));
        pairs
    }

    #[test]
    fn a_known_cookie_header_comes_back_with_its_session_and_as_text() {
        let (headers, known) = request_headers(pairs(&[HEADER.as_bytes()]), &cache(), 99);
        let known = known.expect("the same bytes are a hit");
        assert_eq!(known.opened.session.user, "alice");
        assert_eq!(known.edit, CookieEdit::Set("theme=dark".into()));
        assert_eq!(headers[1], ("cookie".to_string(), HEADER.to_string()));
    }

    #[test]
    fn anything_else_is_checked_as_before_and_left_to_the_flow() {
        let cache = cache();
        // Expired, two Cookie headers, other bytes (one of them not UTF-8): no hit.
        assert!(request_headers(pairs(&[HEADER.as_bytes()]), &cache, 100)
            .1
            .is_none());
        let twice = pairs(&[HEADER.as_bytes(), HEADER.as_bytes()]);
        assert!(request_headers(twice, &cache, 99).1.is_none());
        let mut bad = HEADER.as_bytes().to_vec();
        bad[3] = 0xff;
        let (headers, known) = request_headers(pairs(&[&bad]), &cache, 99);
        assert!(known.is_none());
        assert_eq!(
            headers[1].1,
            "the\u{fffd}e=dark; _oauth2_proxy=sealed-value"
        );
    }
}
