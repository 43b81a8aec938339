//! Test-only helpers: RSA keys minted once per test binary, a JWKS built from them, and JWT
//! signing done by hand so tests exercise real signatures.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::jwks::{parse_jwks, KeySet};

/// Keys used across the oidc tests.
pub(crate) struct TestKeys {
    /// Published in [`key_set`] as `k1`.
    pub primary: RsaPrivateKey,
    /// Published in [`key_set`] as `k2`.
    pub secondary: RsaPrivateKey,
    /// Never published.
    pub attacker: RsaPrivateKey,
    /// 1024 bits: too weak to be accepted into a key set.
    pub weak: RsaPrivateKey,
    /// base64url of `primary`'s modulus.
    pub primary_n_b64: String,
}

/// The keys, generated on first use (a few hundred ms with optimised dependencies).
pub(crate) fn test_keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rsa::rand_core::OsRng;
        let mut key = |bits| RsaPrivateKey::new(&mut rng, bits).unwrap();
        let primary = key(2048);
        let primary_n_b64 = b64(&primary.n().to_bytes_be());
        TestKeys {
            secondary: key(2048),
            attacker: key(2048),
            weak: key(1024),
            primary,
            primary_n_b64,
        }
    })
}

/// `primary` as `k1` and `secondary` as `k2`.
pub(crate) fn key_set() -> &'static KeySet {
    static SET: OnceLock<KeySet> = OnceLock::new();
    SET.get_or_init(|| {
        let k = test_keys();
        let body = format!(
            r#"{{"keys":[{},{}]}}"#,
            jwk_json("k1", &k.primary.to_public_key()),
            jwk_json("k2", &k.secondary.to_public_key())
        );
        parse_jwks(body.as_bytes()).unwrap()
    })
}

/// An Entra-shaped JWK (no `alg`) for a public key.
pub(crate) fn jwk_json(kid: &str, key: &RsaPublicKey) -> String {
    format!(
        r#"{{"kty":"RSA","use":"sig","kid":"{kid}","n":"{}","e":"{}"}}"#,
        b64(&key.n().to_bytes_be()),
        b64(&key.e().to_bytes_be())
    )
}

/// base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// A JWT signed with RSASSA-PKCS1-v1_5 SHA-256, whatever `header` claims.
pub(crate) fn sign_rs256(key: &RsaPrivateKey, header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let digest = Sha256::digest(input.as_bytes());
    let signature = key.sign(Pkcs1v15Sign::new::<Sha256>(), &digest).unwrap();
    format!("{input}.{}", b64(&signature))
}

/// A JWT MACed with HMAC-SHA-256 under `secret`.
pub(crate) fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}
