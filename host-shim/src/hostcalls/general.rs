//! Logging, time, ticks, properties, contexts and randomness.

use super::code;
use crate::abi::{LogLevel, Status};
use crate::memory::{hand_over, slice, text, write};
use crate::pairs::split_path;
use crate::records::LogRecord;
use crate::state::{eprint_line, try_with_state, with_state};

/// WASI `random_get` refuses more than 64 KiB per call in Envoy.
const RANDOM_GET_MAX: usize = 64 * 1024;
/// WASI errno values `random_get` can return.
const WASI_EINVAL: u32 = 28;
const WASI_EFAULT: u32 = 21;

/// `proxy_log`: stores the record; prints it when `HOST_SHIM_LOG` is set and the level is at or
/// above the host level, and always prints `Critical` (the SDK's panic hook logs panics there,
/// and the abort that follows would otherwise hide the message).
#[no_mangle]
pub unsafe extern "C" fn proxy_log(
    level: u32,
    message_data: *const u8,
    message_size: usize,
) -> u32 {
    // SAFETY: see the module contract.
    let message = unsafe { text(message_data, message_size) };
    let printed = message.clone();
    let stored = try_with_state(|s| {
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
    });
    stored.unwrap_or_else(|| {
        eprint_line(&format!("[{level} ctx ?] {printed}"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::HostState;
    use std::ptr::null_mut;

    #[test]
    fn random_get_is_seeded_recorded_and_bounded() {
        with_state(|s| {
            *s = HostState::new();
            s.rng = crate::rng::SplitMix64::new(9);
        });
        let mut buf = [0u8; 5];
        // SAFETY: `buf` is writable for its length.
        assert_eq!(
            unsafe { proxy_shim_random_get(buf.as_mut_ptr(), buf.len()) },
            0
        );
        let mut want = [0u8; 5];
        crate::rng::SplitMix64::new(9).fill(&mut want);
        assert_eq!(buf, want);
        assert_eq!(with_state(|s| s.random_draws.clone()), vec![want.to_vec()]);
        // SAFETY: rejected before the pointer is used.
        assert_eq!(
            unsafe { proxy_shim_random_get(buf.as_mut_ptr(), 64 * 1024 + 1) },
            WASI_EINVAL
        );
    }

    #[test]
    fn properties_status_and_log() {
        with_state(|s| *s = HostState::new());
        let (path, value) = (b"a\0b", b"v");
        let (mut ptr, mut len) = (null_mut(), 0);
        // SAFETY: valid buffers and out-pointers.
        unsafe {
            assert_eq!(
                proxy_get_property(path.as_ptr(), 3, &mut ptr, &mut len),
                code(Status::NotFound)
            );
            assert_eq!(
                proxy_set_property(path.as_ptr(), 3, value.as_ptr(), 1),
                code(Status::Ok)
            );
            assert_eq!(
                proxy_get_property(path.as_ptr(), 3, &mut ptr, &mut len),
                code(Status::Ok)
            );
            assert_eq!(Vec::from_raw_parts(ptr, len, len), b"v");
        }
        let key = vec!["a".to_string(), "b".to_string()];
        assert!(with_state(|s| s.properties.contains_key(&key)));

        with_state(|s| s.status = (11, "reset".into()));
        let mut status_code = 0;
        // SAFETY: valid out-pointers.
        unsafe {
            assert_eq!(
                proxy_get_status(&mut status_code, &mut ptr, &mut len),
                code(Status::Ok)
            );
            assert_eq!(
                (status_code, Vec::from_raw_parts(ptr, len, len)),
                (11, b"reset".to_vec())
            );
        }

        let message = "hello";
        // SAFETY: valid message.
        unsafe {
            assert_eq!(
                proxy_log(3, message.as_ptr(), message.len()),
                code(Status::Ok)
            );
            assert_eq!(
                proxy_log(6, message.as_ptr(), message.len()),
                code(Status::BadArgument)
            );
        }
        let logs = with_state(|s| s.logs.clone());
        assert_eq!(logs.len(), 1);
        assert_eq!(
            (logs[0].level, logs[0].message.as_str()),
            (LogLevel::Warn, "hello")
        );
    }

    #[test]
    fn log_survives_a_held_borrow() {
        let message = "from a panic hook";
        let status = with_state(|_| {
            // SAFETY: valid message.
            unsafe { proxy_log(5, message.as_ptr(), message.len()) }
        });
        assert_eq!(status, code(Status::Ok));
    }
}
