//! The CSRF cookie and the callback's `state`: `CsrfState::open` then `state_matches`.
//!
//! Input: the cookie value, a newline, the `state` query parameter. Property: an attempt only
//! opens when the oracle finds it authentic for `<name>_csrf` and unexpired, and the state
//! matches exactly when it is equal and non-empty.
#![no_main]

use entra_proxy_wasm::session::CsrfState;
use entra_proxy_wasm_fuzz::fixtures::{Variant, NOW};
use entra_proxy_wasm_fuzz::oracle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (value, state) = text.split_once('\n').unwrap_or((text, ""));
    for variant in [Variant::A, Variant::B] {
        let config = variant.config();
        let name = config.cookie.name.as_str();
        let Ok(csrf) = CsrfState::open(&config.cipher, name, value, NOW) else {
            continue;
        };
        let authentic = oracle::live_csrf(variant.secrets(), name, value, NOW);
        assert!(authentic.is_some(), "CSRF cookie opened without the key");
        assert_eq!(
            csrf.state_matches(state),
            !csrf.state.is_empty() && csrf.state == state
        );
    }
});
