//! Independent re-checks of what the filter decided. Each uses the primitives directly (AEAD,
//! RSA, WHATWG URL parsing) so that the check and the code under test cannot share a bug.
//!
//! The fuzz targets call these only on "accept" decisions: anything the filter lets through
//! must pass the oracle, or the target aborts with the reason.

use std::sync::OnceLock;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::fixtures::{JWKS_JSON, JWKS_ROTATED_JSON};

/// The cookie wire format, restated from the filter's documentation (`session/crypto.rs`):
/// base64url-no-pad of `nonce(24) || XChaCha20-Poly1305 ciphertext+tag`, the cookie name as
/// associated data, key = SHA-256(label || secret), payload = raw deflate of JSON.
const KEY_LABEL: &[u8] = b"entra-proxy-wasm/cookie-aead/v1\0";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const MAX_PLAINTEXT_LEN: usize = 64 * 1024;

/// The authenticated plaintext of a sealed cookie value, if any secret opens it for `name`.
pub fn unseal_raw(secrets: &[&[u8; 32]], name: &str, value: &str) -> Option<Vec<u8>> {
    let raw = URL_SAFE_NO_PAD.decode(value).ok()?;
    if raw.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, sealed) = raw.split_at(NONCE_LEN);
    secrets.iter().find_map(|secret| {
        let key = Sha256::new()
            .chain_update(KEY_LABEL)
            .chain_update(secret)
            .finalize();
        let payload = Payload {
            msg: sealed,
            aad: name.as_bytes(),
        };
        XChaCha20Poly1305::new(&key)
            .decrypt(XNonce::from_slice(nonce), payload)
            .ok()
    })
}

/// The authenticated JSON payload of a sealed cookie value.
pub fn unseal(secrets: &[&[u8; 32]], name: &str, value: &str) -> Option<Value> {
    let compressed = unseal_raw(secrets, name, value)?;
    let json =
        miniz_oxide::inflate::decompress_to_vec_with_limit(&compressed, MAX_PLAINTEXT_LEN).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Whether `value` is an authentic session for cookie `name` that is still alive at `now`.
pub fn live_session(secrets: &[&[u8; 32]], name: &str, value: &str, now: u64) -> bool {
    unseal(secrets, name, value)
        .and_then(|session| session.get("x").and_then(Value::as_u64))
        .is_some_and(|expires_at| now < expires_at)
}

/// The authentic, unexpired CSRF payload of `value` for session cookie `cookie_name`.
pub fn live_csrf(secrets: &[&[u8; 32]], cookie_name: &str, value: &str, now: u64) -> Option<Value> {
    let csrf = unseal(secrets, &format!("{cookie_name}_csrf"), value)?;
    let expires_at = csrf.get("expires_at").and_then(Value::as_u64)?;
    (now < expires_at).then_some(csrf)
}

/// Keys a provider ever published in the fixtures (`k1`, `k2`, and `k3` after rotation).
fn trusted_keys() -> &'static [RsaPublicKey] {
    static KEYS: OnceLock<Vec<RsaPublicKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = Vec::new();
        for body in [JWKS_JSON, JWKS_ROTATED_JSON] {
            let doc: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            let entries = doc.get("keys").and_then(Value::as_array);
            for jwk in entries.into_iter().flatten() {
                let part = |name: &str| {
                    let text = jwk.get(name).and_then(Value::as_str)?;
                    Some(BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(text).ok()?))
                };
                if let (Some(n), Some(e)) = (part("n"), part("e")) {
                    if let Ok(key) = RsaPublicKey::new(n, e) {
                        keys.push(key);
                    }
                }
            }
        }
        keys
    })
}

/// Signature spellings are decoded leniently here: the oracle asks "did a trusted key sign
/// these exact header and payload bytes", not "is the signature spelled canonically".
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Whether a key from the fixtures signed the token's `header.payload` with RS256.
pub fn rs256_signed(token: &str) -> bool {
    let Some((input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = LENIENT.decode(signature) else {
        return false;
    };
    let digest = Sha256::digest(input.as_bytes());
    trusted_keys().iter().any(|key| {
        key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
            .is_ok()
    })
}

/// The claims of a token, decoded without any check.
pub fn jwt_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&LENIENT.decode(payload).ok()?).ok()
}

/// What `validate_redirect` returned must be safe to put in `Location`: a path on this host
/// that no browser reads as scheme-relative, or an http(s) URL (as a browser parses it) whose
/// host an entry of `whitelist` admits.
pub fn check_redirect(out: &str, whitelist: &[String]) -> Result<(), String> {
    // Browsers drop tabs and newlines from URLs and read '\' as '/'.
    if out
        .bytes()
        .any(|b| b.is_ascii_control() || b == b'\\' || b == b' ')
    {
        return Err("control character, space or backslash".into());
    }
    if out.starts_with('/') {
        return if out.starts_with("//") {
            Err("scheme-relative".into())
        } else {
            Ok(())
        };
    }
    let url = url::Url::parse(out).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {}", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("userinfo".into());
    }
    let host = url.host_str().ok_or("no host")?;
    if whitelist.iter().any(|entry| admits(entry, host)) {
        Ok(())
    } else {
        Err(format!("host {host:?} is not whitelisted"))
    }
}

/// `host`, or `.domain` for the domain and its subdomains, optionally with `:port` / `:*`
/// (ports are not checked here: the property is about hosts).
fn admits(entry: &str, host: &str) -> bool {
    let entry = entry.trim().to_ascii_lowercase();
    let entry = match entry.rsplit_once(':') {
        Some((h, p))
            if !h.is_empty()
                && (p == "*" || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))) =>
        {
            h.to_string()
        }
        _ => entry,
    };
    match entry.strip_prefix('.') {
        Some(domain) => host == domain || host.ends_with(&entry),
        None => host == entry,
    }
}

/// Headers a client must never get through to the upstream, compared as Envoy and CGI-style
/// frameworks would (case-insensitive, `_` read as `-`). The list is restated on purpose, not
/// imported from `headers::OWNED_HEADERS`: a header dropped from the filter's list must fail here.
pub fn must_be_stripped(name: &str) -> bool {
    const OWNED: &[&str] = &[
        "authorization",
        "x-forwarded-user",
        "x-forwarded-email",
        "x-forwarded-groups",
        "x-forwarded-preferred-username",
        "x-forwarded-access-token",
        "x-auth-request-user",
        "x-auth-request-email",
        "x-auth-request-groups",
        "x-auth-request-preferred-username",
        "x-auth-request-access-token",
    ];
    let normal = name.to_ascii_lowercase().replace('_', "-");
    OWNED.contains(&normal.as_str())
}

/// A header value that cannot split a header or a log line.
pub fn header_safe(value: &str) -> bool {
    !value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_oracle_table() {
        let whitelist = vec![".example.com".to_string(), "app.test:8443".to_string()];
        let cases = [
            ("/", true),
            ("/a//b", true),
            ("//evil.com", false),
            ("/\\evil.com", false),
            ("/\t/evil.com", false),
            ("https://example.com/", true),
            ("https://a.example.com/", true),
            ("https://app.test:8443/", true),
            ("https://evilexample.com/", false),
            ("https://example.com@evil.com/", false),
            ("https://u@example.com/", false),
            ("javascript:alert(1)", false),
            ("https:evil.com", false),
        ];
        for (out, ok) in cases {
            assert_eq!(check_redirect(out, &whitelist).is_ok(), ok, "{out}");
        }
    }

    #[test]
    fn stripped_headers_match_case_and_underscores() {
        assert!(must_be_stripped("X_Forwarded_User"));
        assert!(must_be_stripped("AUTHORIZATION"));
        assert!(!must_be_stripped("x-forwarded-for"));
    }
}
