//! What happens after authentication: arbitrary payloads sealed with the fixed key, so the
//! inflate limit (decompression bombs) and the JSON decoding of sessions and CSRF attempts are
//! reachable. Only a key holder can produce these, but the limits must hold regardless.
//!
//! Input: one mode byte (even: the rest is deflated first; odd: the rest is taken as a raw
//! deflate stream), then the payload.
#![no_main]

use entra_proxy_wasm::session::{CookieError, CsrfState, Session};
use entra_proxy_wasm_fuzz::fixtures::{Variant, NOW};
use libfuzzer_sys::fuzz_target;

/// The filter's bound on a decompressed cookie payload (`MAX_PLAINTEXT_LEN`).
const LIMIT: usize = 64 * 1024;
/// The filter's bound on a sealed value (`MAX_SEALED_LEN`).
const SEALED_LIMIT: usize = 64 * 3800;

fuzz_target!(|data: &[u8]| {
    let Some((mode, payload)) = data.split_first() else {
        return;
    };
    let compressed = if mode % 2 == 0 {
        miniz_oxide::deflate::compress_to_vec(payload, 6)
    } else {
        payload.to_vec()
    };
    let config = Variant::A.config();
    let name = config.cookie.name.as_str();
    // Independent inflate with a higher limit: Some(length) when the stream is valid, with
    // usize::MAX for "more than 1 MiB".
    let inflated_len =
        match miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, 1 << 20) {
            Ok(v) => Some(v.len()),
            Err(e) if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                Some(usize::MAX)
            }
            Err(_) => None,
        };
    let fits = matches!(inflated_len, Some(n) if n <= LIMIT);

    let session_value = config.cipher.seal(name, &compressed, [7; 24]);
    match Session::open(&config.cipher, name, &session_value, NOW) {
        Ok(session) => assert!(NOW < session.expires_at && fits),
        Err(CookieError::TooLarge) => assert!(
            !fits || session_value.len() > SEALED_LIMIT,
            "a payload within the limit was refused"
        ),
        Err(CookieError::Malformed | CookieError::Tampered) => {
            panic!("a value sealed with the configured key must authenticate")
        }
        Err(_) => {}
    }
    let csrf_value = config
        .cipher
        .seal(&config.cookie.csrf_name(), &compressed, [8; 24]);
    if let Ok(csrf) = CsrfState::open(&config.cipher, name, &csrf_value, NOW) {
        assert!(NOW < csrf.expires_at && fits);
    }
});
