//! `parse_token_response` with an arbitrary status and body (what a broken token endpoint, or
//! one in front of it, could answer).
//!
//! Input: two bytes of status (big endian), then the body. Properties: only a 200 is a success;
//! error log lines stay on one line; `Debug` of a success never shows the tokens.
#![no_main]

use entra_proxy_wasm::oidc::token_response::{parse_token_response, TokenEndpointError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = u16::from_be_bytes(*status);
    match parse_token_response(status, body) {
        Ok(tokens) => {
            assert_eq!(status, 200);
            assert!(!tokens.access_token.is_empty());
            let shown = format!("{tokens:?}");
            let scope = tokens.scope.as_deref().unwrap_or("");
            for secret in [
                Some(&tokens.access_token),
                tokens.id_token.as_ref(),
                tokens.refresh_token.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                if secret.len() >= 16 && !scope.contains(secret.as_str()) {
                    assert!(!shown.contains(secret.as_str()), "Debug shows a token");
                }
            }
        }
        Err(TokenEndpointError::Idp(e)) => {
            let line = e.log_line();
            assert!(!line.chars().any(|c| c.is_control()), "log line {line:?}");
            if let Some(code) = e.aadsts() {
                let digits = code.strip_prefix("AADSTS").unwrap_or("");
                assert!(!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
            }
        }
        Err(other) => {
            let text = other.to_string();
            assert!(!text.chars().any(|c| c.is_control()), "error text {text:?}");
        }
    }
});
