//! One raw cookie value through `CookieCipher::open`, `Session::open` and `CsrfState::open`
//! under both fixed configurations (B holds two secrets: rotation).
//!
//! Property: anything that opens is authentic for exactly that cookie name (independent AEAD
//! oracle), and what opens as a session is alive.
#![no_main]

use entra_proxy_wasm::session::{CsrfState, Session};
use entra_proxy_wasm_fuzz::fixtures::{Variant, NOW};
use entra_proxy_wasm_fuzz::oracle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    for variant in [Variant::A, Variant::B] {
        let config = variant.config();
        let secrets = variant.secrets();
        let name = config.cookie.name.as_str();
        let csrf_name = config.cookie.csrf_name();
        for cookie in [name, csrf_name.as_str()] {
            if let Ok(plain) = config.cipher.open(cookie, value) {
                assert_eq!(Some(plain), oracle::unseal_raw(secrets, cookie, value));
            }
        }
        if let Ok(session) = Session::open(&config.cipher, name, value, NOW) {
            assert!(NOW < session.expires_at);
            assert!(oracle::live_session(secrets, name, value, NOW));
        }
        if let Ok(csrf) = CsrfState::open(&config.cipher, name, value, NOW) {
            assert!(NOW < csrf.expires_at);
            assert!(oracle::live_csrf(secrets, name, value, NOW).is_some());
        }
    }
});
