//! The signature layer of a JWT (JWS compact serialisation): split the token, read the
//! header, choose the key by `kid`, verify RS256, and only then parse the claims.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::Pkcs1v15Sign;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use super::error::{loggable, TokenError};
use super::jwks::KeySet;

/// Entra ID tokens are 1.5–4 KiB even with 200 groups; 16 KiB bounds the decoding and JSON
/// work an anonymous request can cause.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Entra kids are ~30 characters; a longer one is garbage and would bloat logs.
const MAX_KID_CHARS: usize = 128;

/// The one signature algorithm accepted.
///
/// Why not trust the header's `alg`: the header is written by whoever made the token. With
/// `alg: none` a verifier that honours it accepts an unsigned token. With `alg: HS256` a
/// verifier that hands "the key" to whatever algorithm the header names ends up using the
/// RSA *public* key bytes — which anyone can download from the JWKS — as an HMAC secret, so an
/// attacker mints tokens at will ("algorithm confusion", CVE-2015-9235 and many since). ES*/PS*
/// are refused because Entra signs ID tokens with RS256 only and our keys are RSA keys for
/// PKCS#1 v1.5. So the algorithm is fixed here, and only RSA verification code is reachable.
const ACCEPTED_ALG: &str = "RS256";

/// Verify a JWT's RS256 signature with the key named by its `kid` and return its claims.
///
/// Keys come only from `keys` (the provider's JWKS, fetched from its discovery document).
/// The `jku`, `x5u`, `jwk` and `x5c` header parameters are never read: following them would
/// let the token's author choose the key its signature is checked against.
pub(crate) fn verify_rs256(token: &str, keys: &KeySet) -> Result<Map<String, Value>, TokenError> {
    let (header_b64, claims_b64, signature_b64) = split(token)?;
    let header = decode_object(header_b64)?;

    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(TokenError::Malformed)?;
    if alg != ACCEPTED_ALG {
        return Err(TokenError::Algorithm(loggable(alg, 32)));
    }
    // RFC 7515 4.1.11: a recipient must reject extensions it does not understand, since the
    // signer declared that ignoring them changes the token's meaning.
    if header.contains_key("crit") {
        return Err(TokenError::UnsupportedCritical);
    }
    let kid = kid_of(&header)?.ok_or(TokenError::MissingKid)?;
    let key = keys.get(&kid).ok_or(TokenError::UnknownKid(kid))?;

    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| TokenError::Signature)?;
    // The signed bytes are the two encoded segments exactly as received, never a re-encoding.
    let signing_input_len = header_b64.len() + 1 + claims_b64.len();
    let signing_input = token
        .get(..signing_input_len)
        .ok_or(TokenError::Malformed)?;
    let digest = Sha256::digest(signing_input.as_bytes());
    // Only public-key verification happens here, so the RSA crate's private-key timing issue
    // (RUSTSEC-2023-0071, Marvin) does not apply.
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .map_err(|_| TokenError::Signature)?;

    // Claims are parsed only after the signature holds, so unauthenticated input never
    // reaches the claims parser.
    decode_object(claims_b64)
}

/// Read the `kid` from a JWT header without verifying anything, to decide whether a JWKS
/// refetch could help.
pub fn peek_kid(token: &str) -> Option<String> {
    let (header_b64, _, _) = split(token).ok()?;
    let header = decode_object(header_b64).ok()?;
    kid_of(&header).ok().flatten()
}

/// Split into exactly three segments; five segments (JWE) or two (no signature) are refused.
fn split(token: &str) -> Result<(&str, &str, &str), TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(c), Some(s), None) if !h.is_empty() && !c.is_empty() => Ok((h, c, s)),
        _ => Err(TokenError::Malformed),
    }
}

/// Strict base64url (no padding, canonical trailing bits) → JSON object. Strictness keeps one
/// token from having several spellings.
fn decode_object(segment: &str) -> Result<Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(TokenError::Malformed),
    }
}

/// The header's `kid`: absent → `None`; present but not a short printable string → malformed
/// (it ends up in logs and in the `UnknownKid` error).
fn kid_of(header: &Map<String, Value>) -> Result<Option<String>, TokenError> {
    let Some(kid) = header.get("kid") else {
        return Ok(None);
    };
    let kid = kid.as_str().ok_or(TokenError::Malformed)?;
    let sane =
        !kid.is_empty() && kid.len() <= MAX_KID_CHARS && kid.bytes().all(|b| b.is_ascii_graphic());
    if sane {
        Ok(Some(kid.to_owned()))
    } else {
        Err(TokenError::Malformed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests {
    use super::*;
    use crate::oidc::test_support::{b64, hs256, key_set, sign_rs256, test_keys};
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use serde_json::json;

    fn claims() -> Value {
        json!({"sub": "s", "iss": "https://idp.example"})
    }

    #[test]
    fn valid_signature_yields_claims() {
        let k = test_keys();
        let token = sign_rs256(
            &k.primary,
            &json!({"alg":"RS256","kid":"k1","typ":"JWT"}),
            &claims(),
        );
        let got = verify_rs256(&token, key_set()).unwrap();
        assert_eq!(got.get("sub"), Some(&json!("s")));
        assert_eq!(peek_kid(&token).as_deref(), Some("k1"));
    }

    #[test]
    fn signature_layer_table() {
        let k = test_keys();
        let good = sign_rs256(&k.primary, &json!({"alg":"RS256","kid":"k1"}), &claims());
        let (good_head, good_rest) = good.split_once('.').unwrap();
        let (good_claims, good_sig) = good_rest.split_once('.').unwrap();
        let tampered_claims = format!(
            "{good_head}.{}.{good_sig}",
            b64(br#"{"sub":"admin","iss":"https://idp.example"}"#)
        );
        // The classic confusion attack: the published public key (DER) used as HMAC secret.
        let public_der = k.primary.to_public_key().to_pkcs1_der().unwrap();
        let rsa_pub_as_hmac = hs256(
            public_der.as_bytes(),
            &json!({"alg":"HS256","kid":"k1"}),
            &claims(),
        );
        let alg_none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none","kid":"k1"}"#),
            b64(claims().to_string().as_bytes())
        );
        let alg_none_case = format!(
            "{}.{}.",
            b64(br#"{"alg":"rs256","kid":"k1"}"#),
            b64(claims().to_string().as_bytes())
        );
        let cases: Vec<(&str, String, TokenError)> = vec![
            ("tampered claims", tampered_claims, TokenError::Signature),
            ("alg none", alg_none, TokenError::Algorithm("none".into())),
            (
                "alg case",
                alg_none_case,
                TokenError::Algorithm("rs256".into()),
            ),
            (
                "HS256 with RSA public key as secret",
                rsa_pub_as_hmac,
                TokenError::Algorithm("HS256".into()),
            ),
            (
                "ES256",
                sign_rs256(&k.primary, &json!({"alg":"ES256","kid":"k1"}), &claims()),
                TokenError::Algorithm("ES256".into()),
            ),
            (
                "PS256",
                sign_rs256(&k.primary, &json!({"alg":"PS256","kid":"k1"}), &claims()),
                TokenError::Algorithm("PS256".into()),
            ),
            (
                "signed by k2's key but names k1",
                sign_rs256(&k.secondary, &json!({"alg":"RS256","kid":"k1"}), &claims()),
                TokenError::Signature,
            ),
            (
                "unknown kid",
                sign_rs256(
                    &k.primary,
                    &json!({"alg":"RS256","kid":"rotated"}),
                    &claims(),
                ),
                TokenError::UnknownKid("rotated".into()),
            ),
            (
                "missing kid",
                sign_rs256(&k.primary, &json!({"alg":"RS256"}), &claims()),
                TokenError::MissingKid,
            ),
            (
                "attacker key advertised with jku",
                sign_rs256(
                    &k.attacker,
                    &json!({"alg":"RS256","kid":"attacker","jku":"https://evil.example/keys"}),
                    &claims(),
                ),
                TokenError::UnknownKid("attacker".into()),
            ),
            (
                "attacker key with jku reusing a real kid",
                sign_rs256(
                    &k.attacker,
                    &json!({"alg":"RS256","kid":"k1","jku":"https://evil.example/keys","x5u":"https://evil.example/c"}),
                    &claims(),
                ),
                TokenError::Signature,
            ),
            (
                "attacker key embedded as jwk",
                sign_rs256(
                    &k.attacker,
                    &json!({"alg":"RS256","kid":"k1","jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}),
                    &claims(),
                ),
                TokenError::Signature,
            ),
            (
                "crit header",
                sign_rs256(
                    &k.primary,
                    &json!({"alg":"RS256","kid":"k1","crit":["exp"]}),
                    &claims(),
                ),
                TokenError::UnsupportedCritical,
            ),
            (
                "two segments",
                format!("{good_head}.{good_claims}"),
                TokenError::Malformed,
            ),
            (
                "five segments (JWE)",
                format!("{good}.a.b"),
                TokenError::Malformed,
            ),
            (
                "padded header",
                format!("{good_head}=.{good_rest}"),
                TokenError::Malformed,
            ),
            (
                "header not JSON",
                format!("{}.{good_rest}", b64(b"nope")),
                TokenError::Malformed,
            ),
            (
                "header is an array",
                format!("{}.{good_rest}", b64(b"[1]")),
                TokenError::Malformed,
            ),
            (
                "signature not base64",
                format!("{good_head}.{good_claims}.***"),
                TokenError::Signature,
            ),
            (
                "empty signature",
                format!("{good_head}.{good_claims}."),
                TokenError::Signature,
            ),
            (
                "too large",
                format!("{good}{}", "A".repeat(MAX_TOKEN_BYTES)),
                TokenError::TooLarge,
            ),
            (
                "kid not a string",
                sign_rs256(&k.primary, &json!({"alg":"RS256","kid":1}), &claims()),
                TokenError::Malformed,
            ),
            (
                "kid with control characters",
                sign_rs256(&k.primary, &json!({"alg":"RS256","kid":"k1\n"}), &claims()),
                TokenError::Malformed,
            ),
        ];
        for (name, token, want) in cases {
            assert_eq!(verify_rs256(&token, key_set()), Err(want), "{name}");
        }
    }

    #[test]
    fn claims_that_are_not_an_object_are_malformed() {
        let k = test_keys();
        let token = sign_rs256(
            &k.primary,
            &json!({"alg":"RS256","kid":"k1"}),
            &json!(["sub"]),
        );
        assert_eq!(verify_rs256(&token, key_set()), Err(TokenError::Malformed));
    }

    #[test]
    fn peek_kid_table() {
        let k = test_keys();
        let cases = [
            (
                sign_rs256(&k.attacker, &json!({"alg":"none","kid":"x"}), &claims()),
                Some("x"),
            ),
            (
                sign_rs256(&k.primary, &json!({"alg":"RS256"}), &claims()),
                None,
            ),
            ("garbage".to_owned(), None),
            (format!("{}.e30.", b64(br#"{"kid":""}"#)), None),
        ];
        for (token, want) in cases {
            assert_eq!(peek_kid(&token).as_deref(), want, "{token}");
        }
    }
}
