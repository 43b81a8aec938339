//! `validate_redirect` on arbitrary targets and whitelists.
//!
//! Input: the target, then whitelist entries, separated by NUL bytes. Property: what it returns
//! is the target itself, and either a path starting with "/" but not "//" or "/\", or an
//! http(s) URL whose host (as a browser parses it) the whitelist admits.
#![no_main]

use entra_proxy_wasm::redirect::validate_redirect;
use entra_proxy_wasm_fuzz::oracle::check_redirect;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let target = parts.next().unwrap_or("");
    let whitelist: Vec<String> = parts.map(str::to_string).collect();
    if let Some(out) = validate_redirect(target, &whitelist) {
        assert_eq!(out, target);
        if let Err(why) = check_redirect(&out, &whitelist) {
            panic!("unsafe redirect {out:?} allowed by {whitelist:?}: {why}");
        }
    }
});
