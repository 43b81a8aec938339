//! PKCE (RFC 7636) with the S256 method: the verifier stays in the sealed CSRF cookie, only the
//! challenge goes to the authorization endpoint, so a stolen authorization code cannot be
//! redeemed by anyone who lacks the browser's cookie.

use sha2::{Digest, Sha256};

use super::crypto::b64url;

/// RFC 7636 verifier: base64url-no-pad of 32 random bytes (43 chars).
pub fn verifier(bytes: &[u8; 32]) -> String {
    b64url(bytes)
}

/// S256 challenge: base64url-no-pad(SHA-256(verifier)).
pub fn challenge_s256(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// RFC 7636 appendix B.
    const RFC_BYTES: [u8; 32] = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
        77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];

    #[test]
    fn rfc7636_appendix_b_vector() {
        let v = verifier(&RFC_BYTES);
        assert_eq!(v, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            challenge_s256(&v),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_is_43_unreserved_chars() {
        for bytes in [[0u8; 32], [0xFF; 32], RFC_BYTES] {
            let v = verifier(&bytes);
            assert_eq!(v.len(), 43);
            // RFC 7636 §4.1: ALPHA / DIGIT / "-" / "." / "_" / "~".
            assert!(v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)));
        }
    }
}
