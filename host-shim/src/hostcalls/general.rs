//! Logging, time, ticks, properties, contexts and randomness.

use super::code;
use crate::abi::{LogLevel, Status};
use crate::memory::{hand_over, slice, text, write};
use crate::pairs::split_path;
use crate::records::LogRecord;
use crate::state::{eprint_line, with_state};

/// WASI `random_get` refuses more than 64 KiB per call in Envoy.
const RANDOM_GET_MAX: usize = 64 * 1024;
/// WASI errno values `random_get` can return.
const WASI_EINVAL: u32 = 28;
const WASI_EFAULT: u32 = 21;

/// `proxy_log`: stores the record; prints it when `HOST_SHIM_LOG` is set and the level is at or
/// above the host level, and always prints `Critical` (the SDK's panic hook logs panics there,
/// and the abort that follows would otherwise hide the message).
#[no_mangle]
pub unsafe extern "C" fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32 {
    // SAFETY: see the module contract.
    let message = unsafe { text(message_data, message_size) };
    with_state(|s| {
        let Some(level) = LogLevel::from_u32(level) else {
            s.fatal(format!("proxy_log: unknown level {level}"));
            return code(Status::BadArgument);
        };
        let context_id = s.acting();
        if level == LogLevel::Critical || (s.print_logs && level >= s.log_level) {
            eprint_line(&format!("[{level:?} ctx {context_id}] {message}"));
        }
        s.logs.push(LogRecord {
            level,
            message,
            context_id,
        });
        code(Status::Ok)
    })
}

/// `proxy_get_log_level`: the level set with `Host::set_log_level` (default `Info`).
#[no_mangle]
pub unsafe extern "C" fn proxy_get_log_level(return_level: *mut u32) -> u32 {
    let level = with_state(|s| s.log_level as u32);
    // SAFETY: see the module contract.
    unsafe { write(return_level, level) };
    code(Status::Ok)
}

/// `proxy_get_current_time_nanoseconds`: the pinned clock.
#[no_mangle]
pub unsafe extern "C" fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32 {
    let now = with_state(|s| s.now_nanos);
    // SAFETY: see the module contract.
    unsafe { write(return_time, now) };
    code(Status::Ok)
}

/// `proxy_set_tick_period_milliseconds`: recorded; ticks run only when a test calls
/// `Host::tick`.
#[no_mangle]
pub extern "C" fn proxy_set_tick_period_milliseconds(period: u32) -> u32 {
    with_state(|s| s.tick_period_ms = period);
    code(Status::Ok)
}

/// `proxy_get_property`: a value set with `Host::set_property`, else `NotFound` (Envoy's answer
/// for an unknown path). An empty value comes back as null, which the SDK reads as `None`.
#[no_mangle]
pub unsafe extern "C" fn proxy_get_property(
    path_data: *const u8,
    path_size: usize,
    return_value_data: *mut *mut u8,
    return_value_size: *mut usize,
) -> u32 {
    // SAFETY: see the module contract.
    let path = split_path(unsafe { slice(path_data, path_size) });
    let value = with_state(|s| s.properties.get(&path).cloned());
    match value {
        None => code(Status::NotFound),
        Some(value) => {
            // SAFETY: see the module contract.
            unsafe { hand_over(&value, return_value_data, return_value_size) };
            code(Status::Ok)
        }
    }
}

/// `proxy_set_property`: stored so a later `get_property` sees it.
#[no_mangle]
pub unsafe extern "C" fn proxy_set_property(
    path_data: *const u8,
    path_size: usize,
    value_data: *const u8,
    value_size: usize,
) -> u32 {
    // SAFETY: see the module contract.
    let (path, value) = unsafe {
        (
            split_path(slice(path_data, path_size)),
            slice(value_data, value_size).to_vec(),
        )
    };
    with_state(|s| s.properties.insert(path, value));
    code(Status::Ok)
}

/// `proxy_get_status`: `(0, "")` normally; `(BrokenConnection, "reset")` while a failed HTTP
/// call is being delivered (Envoy's `onHttpCallFailure`).
#[no_mangle]
pub unsafe extern "C" fn proxy_get_status(
    return_code: *mut u32,
    return_message_data: *mut *mut u8,
    return_message_size: *mut usize,
) -> u32 {
    let (status, message) = with_state(|s| s.status.clone());
    // SAFETY: see the module contract.
    unsafe {
        write(return_code, status);
        hand_over(message.as_bytes(), return_message_data, return_message_size);
    }
    code(Status::Ok)
}

/// `proxy_set_effective_context`: later host calls in this callback act for `context_id`.
///
/// Always `Ok`: the SDK `unwrap`s it. Envoy answers `BadArgument` for an id it does not know;
/// the shim records a warning instead and, like Envoy's `contextOrEffectiveContext`, keeps
/// acting for the running context when the id is not live.
#[no_mangle]
pub extern "C" fn proxy_set_effective_context(context_id: u32) -> u32 {
    with_state(|s| {
        s.effective = context_id;
        if s.acting() != context_id {
            s.warn(format!(
                "set_effective_context({context_id}): no such live context"
            ));
        }
    });
    code(Status::Ok)
}

/// `proxy_done`: counted (`Host::done_calls`); contexts are deleted by `Stream::done`.
#[no_mangle]
pub extern "C" fn proxy_done() -> u32 {
    with_state(|s| s.done_calls += 1);
    code(Status::Ok)
}

/// Native stand-in for WASI `random_get`, which the filter calls on non-wasm builds: fills
/// `buf` from the seeded generator and records the draw (`Host::random_draws`). Returns a WASI
/// errno: 0 on success, `EINVAL` above 64 KiB as Envoy does.
#[no_mangle]
pub unsafe extern "C" fn proxy_shim_random_get(buf: *mut u8, len: usize) -> u32 {
    if len > RANDOM_GET_MAX {
        return WASI_EINVAL;
    }
    if len == 0 {
        return 0;
    }
    if buf.is_null() {
        return WASI_EFAULT;
    }
    let bytes = with_state(|s| {
        let mut bytes = vec![0u8; len];
        s.rng.fill(&mut bytes);
        s.random_draws.push(bytes.clone());
        bytes
    });
    // SAFETY: the caller passes a buffer writable for `len` bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, len) };
    0
}
