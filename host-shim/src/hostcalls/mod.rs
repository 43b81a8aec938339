//! The host side of every `proxy_*` import of proxy-wasm SDK 0.2.5 (`hostcalls.rs`), as
//! `#[no_mangle] extern "C"` functions over this thread's host state.
//!
//! Signatures are the SDK's, with its `#[repr(u32)]` enums taken and returned as `u32`.
//! Semantics follow Envoy (`source/extensions/common/wasm/context.cc`) and proxy-wasm-cpp-host
//! (`src/exports.cc`), because the SDK's `unwrap`s and `match`es were written against them.
//!
//! Safety contract of every function here: pointer arguments come from the SDK and are either
//! null or valid for the stated length; out-pointers are null or writable. None of these
//! functions may panic: a panic cannot unwind out of `extern "C"` and would abort the binary.

mod buffers;
mod data;
mod general;
mod http;
mod maps;
mod unsupported;

use crate::abi::Status;

/// The ABI encoding of a status.
fn code(status: Status) -> u32 {
    status as u32
}
