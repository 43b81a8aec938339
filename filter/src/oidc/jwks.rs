//! The provider's signing keys (JWKS), indexed by `kid`.

use std::collections::BTreeMap;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use rsa::{BigUint, RsaPublicKey};
use serde_json::Value;

pub use super::error::OidcError;

/// Entra's JWKS is ~10 KiB with its `x5c` certificates; 256 KiB leaves room for any real
/// provider while bounding what a broken or hostile endpoint can make us parse.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Each usable key costs an RSA key construction; real providers publish a handful.
const MAX_KEYS: usize = 64;
/// Below 2048 bits RSA is factorable with serious resources (NIST SP 800-57 retired 1024-bit
/// keys in 2013); a provider publishing such a key is misconfigured, so that key is not trusted.
const MIN_MODULUS_BITS: usize = 2048;

/// JWK `n`/`e` are base64url without padding (RFC 7518 6.3.1), but some providers pad; the
/// value is a public key, so accepting both spellings costs nothing.
const B64_URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Signing keys by kid. Entra's keys have no `alg`, so keys are selected by `kid` only.
/// Only RSA keys meant for signatures (`use` absent or `sig`; `alg` absent or `RS256`) with a
/// modulus of at least 2048 bits are kept; other entries are skipped, not fatal, so one odd key
/// cannot take sign-in down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySet {
    keys: BTreeMap<String, RsaPublicKey>,
}

/// Parse a JWKS document (`{"keys":[…]}`). Fails if the body is too large, not JSON, lists
/// more than 64 keys, or holds no usable key. When two usable keys share a `kid`, the first
/// wins: the provider controls the document, and the first is what most libraries pick.
pub fn parse_jwks(body: &[u8]) -> Result<KeySet, OidcError> {
    const WHAT: &str = "JWKS";
    if body.len() > MAX_JWKS_BYTES {
        return Err(OidcError::TooLarge {
            what: WHAT,
            limit: MAX_JWKS_BYTES,
        });
    }
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<Value>,
    }
    let doc: Document = serde_json::from_slice(body).map_err(|e| OidcError::Json {
        what: WHAT,
        detail: super::error::loggable(&e.to_string(), 200),
    })?;
    if doc.keys.len() > MAX_KEYS {
        return Err(OidcError::TooManyKeys {
            count: doc.keys.len(),
            limit: MAX_KEYS,
        });
    }
    let mut keys = BTreeMap::new();
    for (kid, key) in doc.keys.iter().filter_map(usable_key) {
        keys.entry(kid).or_insert(key);
    }
    if keys.is_empty() {
        return Err(OidcError::NoUsableKeys);
    }
    Ok(KeySet { keys })
}

/// One JWK entry → `(kid, key)` when it is an RSA signing key we are willing to trust.
fn usable_key(jwk: &Value) -> Option<(String, RsaPublicKey)> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if field("kty")? != "RSA" {
        return None;
    }
    // An encryption key must not double as a signature key (RFC 7517 4.2); a key announced
    // for another algorithm (PS256, RS512…) must not verify RS256 signatures either.
    if jwk.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return None;
    }
    if jwk.get("alg").is_some_and(|a| a.as_str() != Some("RS256")) {
        return None;
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return None;
        }
    }
    let kid = field("kid").filter(|k| !k.is_empty())?;
    let n = BigUint::from_bytes_be(&B64_URL_LENIENT.decode(field("n")?).ok()?);
    let e = BigUint::from_bytes_be(&B64_URL_LENIENT.decode(field("e")?).ok()?);
    if n.bits() < MIN_MODULUS_BITS {
        return None;
    }
    // `RsaPublicKey::new` also rejects moduli above 4096 bits (verification cost) and
    // degenerate exponents.
    let key = RsaPublicKey::new(n, e).ok()?;
    Some((kid.to_owned(), key))
}

impl KeySet {
    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty (never true for a set from `parse_jwks`).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a usable key has this `kid`.
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The key with this `kid`, for signature verification.
    pub(crate) fn get(&self, kid: &str) -> Option<&RsaPublicKey> {
        self.keys.get(kid)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    use crate::oidc::test_support::{jwk_json, test_keys};
    use rsa::traits::PublicKeyParts;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn jwks(entries: &[String]) -> Vec<u8> {
        format!(r#"{{"keys":[{}]}}"#, entries.join(",")).into_bytes()
    }

    #[test]
    fn entra_shaped_keys_without_alg_are_usable() {
        let k = test_keys();
        // Entra's shape: kty, use, kid, x5t, n, e, x5c, issuer — and no alg.
        let entra = format!(
            r#"{{"kty":"RSA","use":"sig","kid":"k1","x5t":"k1","n":"{}","e":"AQAB",
            "x5c":["MIIC..."],"issuer":"https://login.microsoftonline.com/{{tenantid}}/v2.0"}}"#,
            k.primary_n_b64
        );
        let set = parse_jwks(&jwks(&[entra])).unwrap();
        assert_eq!(set.len(), 1);
        assert!(!set.is_empty());
        assert!(set.contains("k1"));
        assert!(!set.contains("k2"));
        assert_eq!(set.get("k1").unwrap().n(), k.primary.to_public_key().n());
    }

    #[test]
    fn unusable_entries_are_skipped_not_fatal() {
        let k = test_keys();
        let good = jwk_json("good", &k.primary.to_public_key());
        let ec = r#"{"kty":"EC","crv":"P-256","kid":"ec","use":"sig",
            "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uE1TS2aE","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
            .to_owned();
        let weak = jwk_json("weak", &k.weak.to_public_key());
        let enc = jwk_json("enc", &k.secondary.to_public_key())
            .replace("\"use\":\"sig\"", "\"use\":\"enc\"");
        let ps = jwk_json("ps", &k.secondary.to_public_key())
            .replace("\"use\"", "\"alg\":\"PS256\",\"use\"");
        let no_kid = jwk_json("", &k.secondary.to_public_key());
        let bad_b64 = r#"{"kty":"RSA","kid":"bad","n":"!!!","e":"AQAB"}"#.to_owned();
        let wrong_type = r#"{"kty":"RSA","kid":7,"n":"AQAB","e":"AQAB"}"#.to_owned();
        let encrypt_only = jwk_json("ops", &k.secondary.to_public_key())
            .replace("\"use\":\"sig\"", "\"key_ops\":[\"encrypt\"]");
        let entries = [
            good,
            ec,
            weak,
            enc,
            ps,
            no_kid,
            bad_b64,
            wrong_type,
            encrypt_only,
        ];
        let set = parse_jwks(&jwks(&entries)).unwrap();
        assert_eq!(set.len(), 1, "{set:?}");
        assert!(set.contains("good"));
        for skipped in ["ec", "weak", "enc", "ps", "", "bad", "ops"] {
            assert!(!set.contains(skipped), "{skipped} should be skipped");
        }
    }

    #[test]
    fn padded_modulus_and_explicit_rs256_are_accepted() {
        let k = test_keys();
        let public = k.secondary.to_public_key();
        let padded = base64::engine::general_purpose::URL_SAFE.encode(public.n().to_bytes_be());
        let entry = format!(
            r#"{{"kty":"RSA","alg":"RS256","kid":"p","n":"{padded}","e":"AQAB","key_ops":["verify"]}}"#
        );
        let set = parse_jwks(&jwks(&[entry])).unwrap();
        assert!(set.contains("p"));
    }

    #[test]
    fn duplicate_kid_keeps_the_first_key() {
        let k = test_keys();
        let first = jwk_json("dup", &k.primary.to_public_key());
        let second = jwk_json("dup", &k.secondary.to_public_key());
        let set = parse_jwks(&jwks(&[first, second])).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.get("dup").unwrap().n(), k.primary.to_public_key().n());
    }

    #[test]
    fn document_level_failures() {
        let k = test_keys();
        let weak_only = jwks(&[jwk_json("weak", &k.weak.to_public_key())]);
        assert_eq!(parse_jwks(&weak_only), Err(OidcError::NoUsableKeys));
        assert_eq!(parse_jwks(br#"{"keys":[]}"#), Err(OidcError::NoUsableKeys));
        assert!(matches!(
            parse_jwks(b"not json"),
            Err(OidcError::Json { .. })
        ));
        assert!(matches!(
            parse_jwks(br#"{"nokeys":1}"#),
            Err(OidcError::Json { .. })
        ));

        let many: Vec<String> = (0..=MAX_KEYS)
            .map(|i| jwk_json(&format!("k{i}"), &k.primary.to_public_key()))
            .collect();
        assert_eq!(
            parse_jwks(&jwks(&many)),
            Err(OidcError::TooManyKeys {
                count: MAX_KEYS + 1,
                limit: MAX_KEYS
            })
        );
        let exactly: Vec<String> = many.into_iter().take(MAX_KEYS).collect();
        assert_eq!(parse_jwks(&jwks(&exactly)).unwrap().len(), MAX_KEYS);

        let mut big = jwks(&[jwk_json("k", &k.primary.to_public_key())]);
        big.resize(MAX_JWKS_BYTES + 1, b' ');
        assert!(matches!(parse_jwks(&big), Err(OidcError::TooLarge { .. })));
    }
}
