//! Bounded polling: every wait in the harnesses is "until this condition holds, at most this
//! long", never a fixed sleep, so tests are as fast as the machine allows and fail with a reason
//! instead of hanging.

use std::time::{Duration, Instant};

/// How long to sleep between two checks.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Calls `check` until it returns `Some`, for at most `timeout`; `Err` names `what` was awaited.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_first_value_and_times_out_with_the_reason() {
        let mut calls = 0;
        let got = wait_until("third call", Duration::from_secs(5), || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        assert_eq!(got, Ok(3));
        let err = wait_until("never", Duration::from_millis(30), || None::<()>).unwrap_err();
        assert!(err.contains("waiting for never"), "{err}");
    }
}
