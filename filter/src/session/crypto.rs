//! Cookie sealing: XChaCha20-Poly1305 with the cookie name as associated data, plus the
//! JSON → deflate codec shared by the session and CSRF cookies.
//!
//! Wire format of a sealed value: base64url-no-pad of `nonce (24 bytes) || ciphertext || tag`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};

/// Error opening or sealing a cookie.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CookieError {
    /// The value is not base64url-no-pad, or too short to hold a nonce and a tag. Usually a
    /// stale cookie from another proxy or a client mangling it.
    #[error("cookie value is malformed")]
    Malformed,
    /// AEAD authentication failed: the value was modified, sealed under another cookie name, or
    /// sealed with a key we no longer hold (secret rotated out).
    #[error("cookie value failed authentication")]
    Tampered,
    /// The value is authentic but its `expires_at` has passed.
    #[error("cookie has expired")]
    Expired,
    /// The sealed value or its decompressed payload exceeds our size bounds (bounds the work an
    /// attacker can make us do, e.g. a decompression bomb).
    #[error("cookie value is too large")]
    TooLarge,
    /// The authentic payload is not valid raw deflate data.
    #[error("cookie payload failed to decompress")]
    Decompress,
    /// The authentic, decompressed payload is not the JSON shape we expect.
    #[error("cookie payload has an unexpected encoding")]
    Encoding,
}

/// Nonce length of XChaCha20-Poly1305. 192-bit random nonces make collisions negligible even
/// after billions of seals under one key, so callers can simply pass fresh random bytes.
pub const NONCE_LEN: usize = 24;

/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;

/// Largest decompressed payload we accept. Real sessions are a few KiB; the cap stops a
/// decompression bomb (only possible with a key, but cheap to bound) from exhausting the VM.
pub const MAX_PLAINTEXT_LEN: usize = 64 * 1024;

/// Largest encoded value `open` looks at: 64 chunks of the largest chunk, the most `join` ever
/// reassembles. Anything longer is rejected before any base64 or AEAD work.
pub const MAX_SEALED_LEN: usize = 64 * super::chunks::MAX_CHUNK_VALUE;

/// Domain-separation label for key derivation. Hashing the label with the secret (1) turns the
/// 16/24/32-byte `cookie_secret` into the 256-bit key the AEAD needs and (2) makes the key
/// independent of any other use of the same secret (oauth2-proxy uses it directly as an AES key;
/// a future purpose here gets its own label), so a weakness in one use cannot leak into another.
const KEY_LABEL: &[u8] = b"entra-proxy-wasm/cookie-aead/v1\0";

/// Raw deflate level used for cookie payloads; sealing happens only at sign-in and refresh, so
/// the best ratio is worth the CPU.
const DEFLATE_LEVEL: u8 = 9;

/// Seals and opens cookie values. Holds one derived key per configured secret, newest first.
#[derive(Clone)]
pub struct CookieCipher {
    keys: Vec<XChaCha20Poly1305>,
}

impl std::fmt::Debug for CookieCipher {
    // Keys must never reach a log, so Debug shows only how many there are.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieCipher")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl CookieCipher {
    /// secrets: the decoded cookie_secret bytes (16, 24 or 32 bytes), newest first (rotation:
    /// the first seals, all open). Lengths are checked by config validation; with no secrets at
    /// all, `seal` returns an empty string and `open` rejects everything (fails closed).
    pub fn new(secrets: &[Vec<u8>]) -> CookieCipher {
        let keys = secrets
            .iter()
            .map(|secret| {
                let key = Sha256::new()
                    .chain_update(KEY_LABEL)
                    .chain_update(secret)
                    .finalize();
                XChaCha20Poly1305::new(&key)
            })
            .collect();
        CookieCipher { keys }
    }

    /// Seal `plaintext` for the cookie called `name` (the name is AEAD associated data so a
    /// value cannot be replayed under another cookie name). Output: base64url-no-pad of
    /// (nonce || ciphertext+tag).
    pub fn seal(&self, name: &str, plaintext: &[u8], nonce: [u8; NONCE_LEN]) -> String {
        let Some(key) = self.keys.first() else {
            return String::new();
        };
        let payload = Payload {
            msg: plaintext,
            aad: name.as_bytes(),
        };
        // Encryption only fails for plaintexts beyond ~256 GiB; an empty ciphertext then makes
        // the value unopenable rather than panicking.
        let sealed = key
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        b64url(&out)
    }

    /// Open a value produced by seal with any configured key.
    pub fn open(&self, name: &str, value: &str) -> Result<Vec<u8>, CookieError> {
        if value.len() > MAX_SEALED_LEN {
            return Err(CookieError::TooLarge);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| CookieError::Malformed)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(CookieError::Malformed);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = XNonce::from_slice(nonce);
        self.keys
            .iter()
            .find_map(|key| {
                let payload = Payload {
                    msg: sealed,
                    aad: name.as_bytes(),
                };
                key.decrypt(nonce, payload).ok()
            })
            .ok_or(CookieError::Tampered)
    }
}

/// base64url without padding: the encoding of every cookie value, token and PKCE string we
/// emit (cookie- and URL-safe without escaping).
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Serialize `value` as JSON, raw-deflate it and seal it for cookie `name`.
pub fn seal_json<T: Serialize>(
    cipher: &CookieCipher,
    name: &str,
    value: &T,
    nonce: [u8; NONCE_LEN],
) -> String {
    // Our cookie types hold only strings and integers, which always serialize; an empty payload
    // (never expected) would fail to open as Encoding rather than panic here.
    let json = serde_json::to_vec(value).unwrap_or_default();
    let compressed = miniz_oxide::deflate::compress_to_vec(&json, DEFLATE_LEVEL);
    cipher.seal(name, &compressed, nonce)
}

/// Open a value sealed by [`seal_json`]: authenticate, inflate with a hard output limit, parse.
/// Expiry is the caller's check (each type knows its own deadline field).
pub fn open_json<T: DeserializeOwned>(
    cipher: &CookieCipher,
    name: &str,
    value: &str,
) -> Result<T, CookieError> {
    let compressed = cipher.open(name, value)?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, MAX_PLAINTEXT_LEN)
        .map_err(|err| match err.status {
        miniz_oxide::inflate::TINFLStatus::HasMoreOutput => CookieError::TooLarge,
        _ => CookieError::Decompress,
    })?;
    serde_json::from_slice(&json).map_err(|_| CookieError::Encoding)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const NONCE: [u8; NONCE_LEN] = [7; NONCE_LEN];

    fn cipher(secret: &[u8]) -> CookieCipher {
        CookieCipher::new(&[secret.to_vec()])
    }

    fn decode(value: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(value).unwrap()
    }

    #[test]
    fn round_trips_for_every_secret_length_and_payload() {
        for secret_len in [16, 24, 32] {
            for plaintext in [&b""[..], b"x", &[0xAB; 5000][..]] {
                let c = cipher(&vec![1; secret_len]);
                let sealed = c.seal("_oauth2_proxy", plaintext, NONCE);
                let raw_len = NONCE_LEN + plaintext.len() + TAG_LEN;
                assert_eq!(decode(&sealed).len(), raw_len);
                assert_eq!(
                    c.open("_oauth2_proxy", &sealed).unwrap(),
                    plaintext,
                    "len {secret_len}"
                );
            }
        }
    }

    #[test]
    fn value_starts_with_the_nonce_and_differs_per_nonce() {
        let c = cipher(&[1; 32]);
        let a = c.seal("n", b"same", [1; NONCE_LEN]);
        let b = c.seal("n", b"same", [2; NONCE_LEN]);
        assert_ne!(a, b);
        assert_eq!(decode(&a)[..NONCE_LEN], [1; NONCE_LEN]);
    }

    #[test]
    fn bit_flip_anywhere_is_tampered() {
        let c = cipher(&[1; 32]);
        let raw = decode(&c.seal("n", b"hello session", NONCE));
        for byte in 0..raw.len() {
            for bit in 0..8 {
                let mut flipped = raw.clone();
                flipped[byte] ^= 1 << bit;
                assert_eq!(
                    c.open("n", &b64url(&flipped)),
                    Err(CookieError::Tampered),
                    "byte {byte} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn changed_characters_never_open() {
        let c = cipher(&[1; 32]);
        let sealed = c.seal("n", b"hello session", NONCE);
        for i in 0..sealed.len() {
            let mut chars: Vec<char> = sealed.chars().collect();
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let changed: String = chars.into_iter().collect();
            assert!(c.open("n", &changed).is_err(), "position {i}");
        }
    }

    #[test]
    fn value_sealed_under_one_name_fails_under_another() {
        let c = cipher(&[1; 32]);
        let sealed = c.seal("_oauth2_proxy", b"v", NONCE);
        for other in ["_oauth2_proxy_csrf", "_oauth2_proxy_0", "", "_OAUTH2_PROXY"] {
            assert_eq!(
                c.open(other, &sealed),
                Err(CookieError::Tampered),
                "{other}"
            );
        }
    }

    #[test]
    fn wrong_key_is_tampered() {
        let sealed = cipher(&[1; 32]).seal("n", b"v", NONCE);
        assert_eq!(
            cipher(&[2; 32]).open("n", &sealed),
            Err(CookieError::Tampered)
        );
    }

    #[test]
    fn rotation_new_key_seals_old_key_still_opens() {
        let old = cipher(&[1; 16]);
        let rotated = CookieCipher::new(&[vec![2; 32], vec![1; 16]]);
        let from_old = old.seal("n", b"old", NONCE);
        assert_eq!(rotated.open("n", &from_old).unwrap(), b"old");
        let from_new = rotated.seal("n", b"new", NONCE);
        assert_eq!(cipher(&[2; 32]).open("n", &from_new).unwrap(), b"new");
        assert_eq!(old.open("n", &from_new), Err(CookieError::Tampered));
    }

    #[test]
    fn no_secrets_fails_closed() {
        let none = CookieCipher::new(&[]);
        assert_eq!(none.seal("n", b"v", NONCE), "");
        let sealed = cipher(&[1; 32]).seal("n", b"v", NONCE);
        assert_eq!(none.open("n", &sealed), Err(CookieError::Tampered));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let c = cipher(&[1; 32]);
        let short = b64url(&[0; NONCE_LEN + TAG_LEN - 1]);
        let huge = "A".repeat(MAX_SEALED_LEN + 1);
        let cases: &[(&str, CookieError)] = &[
            ("", CookieError::Malformed),
            ("not base64!", CookieError::Malformed),
            ("AAAA====", CookieError::Malformed),
            ("é", CookieError::Malformed),
            (&short, CookieError::Malformed),
            (&huge, CookieError::TooLarge),
            (&"A".repeat(64), CookieError::Tampered),
        ];
        for (value, want) in cases {
            assert_eq!(c.open("n", value).as_ref(), Err(want), "{value:.20}");
        }
    }

    #[test]
    fn truncated_value_is_an_error() {
        let c = cipher(&[1; 32]);
        let sealed = c.seal("n", b"some plaintext here", NONCE);
        for len in 0..sealed.len() {
            assert!(c.open("n", &sealed[..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn keys_are_derived_with_the_label_not_used_raw() {
        // A value sealed with the raw secret as key must not open: proves the derivation step.
        let secret = [9u8; 32];
        let raw_key = XChaCha20Poly1305::new(&secret.into());
        let payload = Payload {
            msg: b"v",
            aad: b"n",
        };
        let mut raw = NONCE.to_vec();
        raw.extend(
            raw_key
                .encrypt(XNonce::from_slice(&NONCE), payload)
                .unwrap(),
        );
        assert_eq!(
            cipher(&secret).open("n", &b64url(&raw)),
            Err(CookieError::Tampered)
        );
    }

    #[test]
    fn debug_does_not_print_keys() {
        let shown = format!("{:?}", CookieCipher::new(&[vec![1; 32], vec![2; 32]]));
        assert_eq!(shown, "CookieCipher { keys: 2 }");
    }

    #[test]
    fn json_codec_bounds_and_errors() {
        let c = cipher(&[1; 32]);
        let sealed = seal_json(&c, "n", &vec!["a".to_string(); 3], NONCE);
        assert_eq!(
            open_json::<Vec<String>>(&c, "n", &sealed).unwrap(),
            vec!["a"; 3]
        );

        // Decompression bomb: 1 MiB of zeros deflates to ~1 KiB.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![b' '; 1 << 20], 9);
        assert!(bomb.len() < 2048);
        let bomb = c.seal("n", &bomb, NONCE);
        let just_fits = miniz_oxide::deflate::compress_to_vec(&[b' '; MAX_PLAINTEXT_LEN], 9);
        let not_json_but_inflates = c.seal("n", &just_fits, NONCE);
        let cases: &[(String, CookieError)] = &[
            (bomb, CookieError::TooLarge),
            (c.seal("n", b"\xff\xff\xff", NONCE), CookieError::Decompress),
            (not_json_but_inflates, CookieError::Encoding),
            (
                seal_json(&c, "n", &"a string", NONCE),
                CookieError::Encoding,
            ),
        ];
        for (value, want) in cases {
            assert_eq!(open_json::<Vec<String>>(&c, "n", value).as_ref(), Err(want));
        }
    }
}
