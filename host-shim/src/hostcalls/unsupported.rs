//! Imports the filter does not use: shared queues, gRPC and foreign functions.
//!
//! They exist so the SDK links. Envoy would answer `Unimplemented` (12) to some, but SDK 0.2.5's
//! `Status` has no such variant and reading one would be undefined behaviour, so each returns
//! the nearest status the SDK maps to an `Err` (or, where it maps none, `InternalFailure`, on
//! which the SDK panics). Every call is recorded in `Host::warnings`.

use super::code;
use crate::abi::Status;
use crate::memory::write;
use crate::state::with_state;

fn unsupported(call: &str, status: Status) -> u32 {
    with_state(|s| s.warn(format!("{call}: not supported by host-shim")));
    code(status)
}

/// `proxy_register_shared_queue`: the SDK `unwrap`s this, so a filter using queues fails loudly.
#[no_mangle]
pub unsafe extern "C" fn proxy_register_shared_queue(
    _name_data: *const u8,
    _name_size: usize,
    return_id: *mut u32,
) -> u32 {
    // SAFETY: see the module contract.
    unsafe { write(return_id, 0) };
    with_state(|s| s.fatal("register_shared_queue: not supported by host-shim".into()));
    code(Status::InternalFailure)
}

/// `proxy_resolve_shared_queue`: no queue exists (the SDK returns `None`).
#[no_mangle]
pub extern "C" fn proxy_resolve_shared_queue(
    _vm_id_data: *const u8,
    _vm_id_size: usize,
    _name_data: *const u8,
    _name_size: usize,
    _return_id: *mut u32,
) -> u32 {
    unsupported("resolve_shared_queue", Status::NotFound)
}

/// `proxy_dequeue_shared_queue`: no queue exists.
#[no_mangle]
pub extern "C" fn proxy_dequeue_shared_queue(
    _queue_id: u32,
    _return_value_data: *mut *mut u8,
    _return_value_size: *mut usize,
) -> u32 {
    unsupported("dequeue_shared_queue", Status::NotFound)
}

/// `proxy_enqueue_shared_queue`: no queue exists.
#[no_mangle]
pub extern "C" fn proxy_enqueue_shared_queue(
    _queue_id: u32,
    _value_data: *const u8,
    _value_size: usize,
) -> u32 {
    unsupported("enqueue_shared_queue", Status::NotFound)
}

/// `proxy_grpc_call`: fails (the SDK returns `Err(InternalFailure)`).
#[no_mangle]
pub extern "C" fn proxy_grpc_call(
    _upstream_data: *const u8,
    _upstream_size: usize,
    _service_name_data: *const u8,
    _service_name_size: usize,
    _method_name_data: *const u8,
    _method_name_size: usize,
    _initial_metadata_data: *const u8,
    _initial_metadata_size: usize,
    _message_data_data: *const u8,
    _message_data_size: usize,
    _timeout: u32,
    _return_callout_id: *mut u32,
) -> u32 {
    unsupported("grpc_call", Status::InternalFailure)
}

/// `proxy_grpc_stream`: fails (the SDK returns `Err(InternalFailure)`).
#[no_mangle]
pub extern "C" fn proxy_grpc_stream(
    _upstream_data: *const u8,
    _upstream_size: usize,
    _service_name_data: *const u8,
    _service_name_size: usize,
    _method_name_data: *const u8,
    _method_name_size: usize,
    _initial_metadata_data: *const u8,
    _initial_metadata_size: usize,
    _return_stream_id: *mut u32,
) -> u32 {
    unsupported("grpc_stream", Status::InternalFailure)
}

/// `proxy_grpc_send`: no such stream.
#[no_mangle]
pub extern "C" fn proxy_grpc_send(
    _token: u32,
    _message_ptr: *const u8,
    _message_len: usize,
    _end_stream: bool,
) -> u32 {
    unsupported("grpc_send", Status::NotFound)
}

/// `proxy_grpc_cancel`: no such call.
#[no_mangle]
pub extern "C" fn proxy_grpc_cancel(_token_id: u32) -> u32 {
    unsupported("grpc_cancel", Status::NotFound)
}

/// `proxy_grpc_close`: no such call.
#[no_mangle]
pub extern "C" fn proxy_grpc_close(_token_id: u32) -> u32 {
    unsupported("grpc_close", Status::NotFound)
}

/// `proxy_call_foreign_function`: no function is registered, which Envoy answers `NotFound`.
#[no_mangle]
pub extern "C" fn proxy_call_foreign_function(
    _function_name_data: *const u8,
    _function_name_size: usize,
    _arguments_data: *const u8,
    _arguments_size: usize,
    _results_data: *mut *mut u8,
    _results_size: *mut usize,
) -> u32 {
    unsupported("call_foreign_function", Status::NotFound)
}
