//! One HTTP stream through the filter: driving its callbacks and inspecting the result.

use crate::abi::Action;
use crate::guest;
use crate::headers::HeaderMap;
use crate::host::misuse;
use crate::records::LocalResponse;
use crate::state::{with_state, Direction, StreamState};
use std::marker::PhantomData;

/// Where a stream's request ended up, as far as the host can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The filter holds the request (paused, waiting for a call response, …).
    Pending,
    /// The request went on upstream: headers returned `Continue`, or the filter resumed it.
    Forwarded,
    /// The filter answered with a local response (the first one, if it sent several). Envoy
    /// stops the filter chain after a local response whatever the callback returned.
    Responded(LocalResponse),
    /// The filter reset the request or response.
    Reset,
}

/// Handle to one HTTP stream context, created by [`crate::Host::new_stream`].
///
/// Each callback method first installs what Envoy would hand the filter (headers, body chunk,
/// trailers), then calls the entry point with this stream as the running context, and returns
/// the filter's [`Action`]. Header maps stay writable for the filter while it holds them, as in
/// Envoy: until the callback returns `Continue` or the filter resumes the stream.
#[derive(Clone, Debug)]
pub struct Stream {
    id: u32,
    _not_send: PhantomData<*const ()>,
}

impl Stream {
    pub(crate) fn new(id: u32) -> Stream {
        Stream {
            id,
            _not_send: PhantomData,
        }
    }

    /// The stream's context id.
    pub fn id(&self) -> u32 {
        self.id
    }

    // ----- driving -----------------------------------------------------------------------

    /// Runs `proxy_on_request_headers` with `headers` (names lower-cased, order and
    /// duplicates kept) as the request header map.
    #[track_caller]
    pub fn request_headers(&self, headers: &[(&str, &str)], end_of_stream: bool) -> Action {
        self.request_header_map_callback(HeaderMap::from_pairs(headers), end_of_stream)
    }

    /// Like [`Stream::request_headers`], with values as raw bytes (to send non-UTF-8 values,
    /// which Envoy lets through).
    #[track_caller]
    pub fn request_headers_raw(&self, headers: &[(&str, &[u8])], end_of_stream: bool) -> Action {
        self.request_header_map_callback(HeaderMap::from_raw_pairs(headers), end_of_stream)
    }

    /// Runs `proxy_on_request_body` with `chunk` appended to the buffered body (if the last
    /// body callback paused) or as the whole visible body.
    #[track_caller]
    pub fn request_body(&self, chunk: &[u8], end_of_stream: bool) -> Action {
        self.body(
            chunk,
            end_of_stream,
            |s| &mut s.request,
            guest::request_body,
        )
    }

    /// Runs `proxy_on_request_trailers` with `trailers` as the request trailer map.
    #[track_caller]
    pub fn request_trailers(&self, trailers: &[(&str, &str)]) -> Action {
        self.trailers(trailers, |s| &mut s.request, guest::request_trailers)
    }

    /// Runs `proxy_on_response_headers` with `headers` as the response header map.
    #[track_caller]
    pub fn response_headers(&self, headers: &[(&str, &str)], end_of_stream: bool) -> Action {
        let count = self.live(|s| {
            s.response.headers = HeaderMap::from_pairs(headers);
            s.response.headers_open = true;
            s.response.headers.len()
        });
        let action = guest::response_headers(self.id, count, end_of_stream);
        self.update(|s| {
            if action == Action::Continue {
                s.response.headers_open = false;
            }
        });
        action
    }

    /// Runs `proxy_on_response_body`, buffering like [`Stream::request_body`].
    #[track_caller]
    pub fn response_body(&self, chunk: &[u8], end_of_stream: bool) -> Action {
        self.body(
            chunk,
            end_of_stream,
            |s| &mut s.response,
            guest::response_body,
        )
    }

    /// Runs `proxy_on_response_trailers` with `trailers` as the response trailer map.
    #[track_caller]
    pub fn response_trailers(&self, trailers: &[(&str, &str)]) -> Action {
        self.trailers(trailers, |s| &mut s.response, guest::response_trailers)
    }

    /// Ends the stream as Envoy does: `proxy_on_done`, then `proxy_on_log` (final headers
    /// readable), then `proxy_on_delete`. Returns what `on_done` returned. The stream stays
    /// inspectable afterwards.
    ///
    /// # Panics
    /// If the stream was already done.
    #[track_caller]
    pub fn done(&self) -> bool {
        self.live(|_| ());
        let result = guest::done(self.id);
        guest::log(self.id);
        guest::delete(self.id);
        self.update(|s| s.finished = true);
        result
    }

    // ----- inspection --------------------------------------------------------------------

    /// The request headers now: what goes upstream once the request is forwarded.
    pub fn request_header_map(&self) -> HeaderMap {
        self.read(|s| s.request.headers.clone())
    }

    /// The response headers now: what goes downstream.
    pub fn response_header_map(&self) -> HeaderMap {
        self.read(|s| s.response.headers.clone())
    }

    /// Request body bytes the filter let through.
    pub fn forwarded_request_body(&self) -> Vec<u8> {
        self.read(|s| s.request.body.forwarded.clone())
    }

    /// Response body bytes the filter let through.
    pub fn forwarded_response_body(&self) -> Vec<u8> {
        self.read(|s| s.response.body.forwarded.clone())
    }

    /// The first local response the filter sent, if any.
    pub fn local_response(&self) -> Option<LocalResponse> {
        self.read(|s| s.local_responses.first().cloned())
    }

    /// Every local response the filter sent (more than one is a filter bug).
    pub fn local_responses(&self) -> Vec<LocalResponse> {
        self.read(|s| s.local_responses.clone())
    }

    /// Whether the filter called `resume_http_request`.
    pub fn request_resumed(&self) -> bool {
        self.read(|s| s.request_resumes > 0)
    }

    /// Whether the filter called `resume_http_response`.
    pub fn response_resumed(&self) -> bool {
        self.read(|s| s.response_resumes > 0)
    }

    /// Whether the filter reset the request or the response.
    pub fn was_reset(&self) -> bool {
        self.read(|s| s.request_reset || s.response_reset)
    }

    /// Where the request ended up: reset, else answered locally, else forwarded, else pending.
    pub fn outcome(&self) -> Outcome {
        self.read(|s| {
            if s.request_reset || s.response_reset {
                Outcome::Reset
            } else if let Some(response) = s.local_responses.first() {
                Outcome::Responded(response.clone())
            } else if s.request_continued {
                Outcome::Forwarded
            } else {
                Outcome::Pending
            }
        })
    }

    // ----- helpers -----------------------------------------------------------------------

    #[track_caller]
    fn request_header_map_callback(&self, headers: HeaderMap, end_of_stream: bool) -> Action {
        let count = self.live(|s| {
            s.request.headers = headers;
            s.request.headers_open = true;
            s.request.headers.len()
        });
        let action = guest::request_headers(self.id, count, end_of_stream);
        self.update(|s| {
            if action == Action::Continue {
                s.request.headers_open = false;
                s.request_continued |= s.local_responses.is_empty();
            }
        });
        action
    }

    #[track_caller]
    fn body(
        &self,
        chunk: &[u8],
        end_of_stream: bool,
        direction: fn(&mut StreamState) -> &mut Direction,
        entry: fn(u32, usize, bool) -> Action,
    ) -> Action {
        let size = self.live(|s| {
            let body = &mut direction(s).body;
            if !body.buffering {
                body.pending.clear();
            }
            body.pending.extend_from_slice(chunk);
            body.open = true;
            body.pending.len()
        });
        let action = entry(self.id, size, end_of_stream);
        self.update(|s| {
            let body = &mut direction(s).body;
            match action {
                Action::Continue => body.release(),
                Action::Pause => body.buffering = true,
                Action::Unknown(_) => {}
            }
        });
        action
    }

    #[track_caller]
    fn trailers(
        &self,
        trailers: &[(&str, &str)],
        direction: fn(&mut StreamState) -> &mut Direction,
        entry: fn(u32, usize) -> Action,
    ) -> Action {
        let count = self.live(|s| {
            let direction = direction(s);
            direction.trailers = HeaderMap::from_pairs(trailers);
            direction.trailers_open = true;
            direction.trailers.len()
        });
        let action = entry(self.id, count);
        self.update(|s| {
            if action == Action::Continue {
                direction(s).trailers_open = false;
            }
        });
        action
    }

    /// Runs `f` on the stream's state; the stream must exist and not be done.
    #[track_caller]
    fn live<R>(&self, f: impl FnOnce(&mut StreamState) -> R) -> R {
        let result = with_state(|state| match state.streams.get_mut(&self.id) {
            Some(s) if !s.finished => Ok(f(s)),
            Some(_) => Err("is done"),
            None => Err("does not exist (was the host reset?)"),
        });
        match result {
            Ok(value) => value,
            Err(why) => misuse(&format!("stream {} {why}", self.id)),
        }
    }

    /// Updates the stream's state after a callback, if it still exists.
    fn update(&self, f: impl FnOnce(&mut StreamState)) {
        with_state(|state| {
            if let Some(s) = state.streams.get_mut(&self.id) {
                f(s);
            }
        });
    }

    /// Reads the stream's state, done or not.
    #[track_caller]
    fn read<R>(&self, f: impl FnOnce(&StreamState) -> R) -> R {
        match with_state(|state| state.streams.get(&self.id).map(f)) {
            Some(value) => value,
            None => misuse(&format!(
                "stream {} does not exist (was the host reset?)",
                self.id
            )),
        }
    }
}
