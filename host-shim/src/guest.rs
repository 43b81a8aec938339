//! Calls into the guest: the SDK's exported `proxy_on_*` entry points.
//!
//! The shim does not depend on the SDK; these symbols are resolved when a test binary links a
//! filter built on proxy-wasm 0.2.5 (`dispatcher.rs`). Their `Action` results are `#[repr(u32)]`
//! and read here as `u32`.
//!
//! A panic inside the filter cannot unwind out of these `extern "C"` functions: it aborts the
//! test binary, as a panic kills the VM in Envoy. Set `HOST_SHIM_LOG=1` to see what led up to it.

use crate::abi::Action;
use crate::state::with_state;

extern "C" {
    fn proxy_on_context_create(context_id: u32, parent_context_id: u32);
    fn proxy_on_vm_start(context_id: u32, vm_configuration_size: usize) -> bool;
    fn proxy_on_configure(context_id: u32, plugin_configuration_size: usize) -> bool;
    fn proxy_on_tick(context_id: u32);
    fn proxy_on_request_headers(context_id: u32, num_headers: usize, end_of_stream: bool) -> u32;
    fn proxy_on_request_body(context_id: u32, body_size: usize, end_of_stream: bool) -> u32;
    fn proxy_on_request_trailers(context_id: u32, num_trailers: usize) -> u32;
    fn proxy_on_response_headers(context_id: u32, num_headers: usize, end_of_stream: bool) -> u32;
    fn proxy_on_response_body(context_id: u32, body_size: usize, end_of_stream: bool) -> u32;
    fn proxy_on_response_trailers(context_id: u32, num_trailers: usize) -> u32;
    fn proxy_on_http_call_response(
        context_id: u32,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        num_trailers: usize,
    );
    fn proxy_on_done(context_id: u32) -> bool;
    fn proxy_on_log(context_id: u32);
    fn proxy_on_delete(context_id: u32);
}

/// Runs one entry point the way proxy-wasm-cpp-host does: `context_id` is the running context
/// and no effective context is set; both are restored afterwards. No state borrow is held
/// across `call`, because the guest calls back into the host.
fn enter<R>(context_id: u32, call: impl FnOnce() -> R) -> R {
    let saved = with_state(|s| {
        let saved = (s.running, s.effective);
        s.running = context_id;
        s.effective = 0;
        saved
    });
    let result = call();
    with_state(|s| (s.running, s.effective) = saved);
    result
}

// SAFETY (all calls below): the symbols are the SDK's `#[no_mangle] pub extern "C"` functions
// with exactly these signatures; they take plain integers and have no preconditions.

pub(crate) fn context_create(context_id: u32, parent_context_id: u32) {
    enter(context_id, || unsafe {
        proxy_on_context_create(context_id, parent_context_id)
    })
}

pub(crate) fn vm_start(root_id: u32, vm_configuration_size: usize) -> bool {
    enter(root_id, || unsafe {
        proxy_on_vm_start(root_id, vm_configuration_size)
    })
}

/// Envoy exposes the plugin configuration buffer only while `on_configure` runs.
pub(crate) fn configure(root_id: u32, plugin_configuration_size: usize) -> bool {
    with_state(|s| s.configuring = true);
    let ok = enter(root_id, || unsafe {
        proxy_on_configure(root_id, plugin_configuration_size)
    });
    with_state(|s| s.configuring = false);
    ok
}

pub(crate) fn tick(root_id: u32) {
    enter(root_id, || unsafe { proxy_on_tick(root_id) })
}

pub(crate) fn request_headers(id: u32, num_headers: usize, end_of_stream: bool) -> Action {
    Action::from(enter(id, || unsafe {
        proxy_on_request_headers(id, num_headers, end_of_stream)
    }))
}

pub(crate) fn request_body(id: u32, body_size: usize, end_of_stream: bool) -> Action {
    Action::from(enter(id, || unsafe {
        proxy_on_request_body(id, body_size, end_of_stream)
    }))
}

pub(crate) fn request_trailers(id: u32, num_trailers: usize) -> Action {
    Action::from(enter(id, || unsafe {
        proxy_on_request_trailers(id, num_trailers)
    }))
}

pub(crate) fn response_headers(id: u32, num_headers: usize, end_of_stream: bool) -> Action {
    Action::from(enter(id, || unsafe {
        proxy_on_response_headers(id, num_headers, end_of_stream)
    }))
}

pub(crate) fn response_body(id: u32, body_size: usize, end_of_stream: bool) -> Action {
    Action::from(enter(id, || unsafe {
        proxy_on_response_body(id, body_size, end_of_stream)
    }))
}

pub(crate) fn response_trailers(id: u32, num_trailers: usize) -> Action {
    Action::from(enter(id, || unsafe {
        proxy_on_response_trailers(id, num_trailers)
    }))
}

/// Envoy owns every HTTP call on the root context, so the response enters there; the SDK then
/// looks up the dispatching context by token and makes it effective.
pub(crate) fn http_call_response(
    root_id: u32,
    token: u32,
    num_headers: usize,
    body_size: usize,
    num_trailers: usize,
) {
    enter(root_id, || unsafe {
        proxy_on_http_call_response(root_id, token, num_headers, body_size, num_trailers)
    })
}

pub(crate) fn done(id: u32) -> bool {
    enter(id, || unsafe { proxy_on_done(id) })
}

/// Envoy shows the final request and response headers read-only while `on_log` runs.
pub(crate) fn log(id: u32) {
    with_state(|s| s.in_log = true);
    enter(id, || unsafe { proxy_on_log(id) });
    with_state(|s| s.in_log = false);
}

pub(crate) fn delete(id: u32) {
    enter(id, || unsafe { proxy_on_delete(id) })
}
