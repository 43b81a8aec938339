//! The signature layer of a JWT (JWS compact serialisation): bound the size, parse the token
//! and its header with `jwt-compact`, choose the key by `kid`, verify RS256 with
//! `jwt-compact`'s `Rsa` algorithm, and only then parse the claims with our own code.
//!
//! Why not `jwt-compact`'s `Validator`: it deserialises the claims into its `Claims` type
//! (chrono timestamps for `exp`/`nbf`/`iat`) *before* it checks the signature. That hands
//! unauthenticated claims to a parser, and it rejects tokens the claim rules in `id_token.rs`
//! classify precisely (an `exp` that is a string is `InvalidClaim("exp")`, not "malformed").
//! So this module pins the algorithm itself and calls `Algorithm::verify_signature`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jwt_compact::alg::{Rsa, RsaSignature};
use jwt_compact::{Algorithm as _, AlgorithmSignature as _, ParseError, UntrustedToken};
use serde_json::{Map, Value};

use super::error::{loggable, TokenError};
use super::jwks::KeySet;

/// Entra ID tokens are 1.5–4 KiB even with 200 groups; 16 KiB bounds the decoding and JSON
/// work an anonymous request can cause. Checked before any byte is decoded.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Entra kids are ~30 characters; a longer one is garbage and would bloat logs.
const MAX_KID_CHARS: usize = 128;

/// The one signature algorithm accepted: RSASSA-PKCS1-v1_5 with SHA-256.
///
/// Why not trust the header's `alg`: the header is written by whoever made the token. With
/// `alg: none` a verifier that honours it accepts an unsigned token. With `alg: HS256` a
/// verifier that hands "the key" to whatever algorithm the header names ends up using the
/// RSA *public* key bytes — which anyone can download from the JWKS — as an HMAC secret, so an
/// attacker mints tokens at will ("algorithm confusion", CVE-2015-9235 and many since). ES*/PS*
/// are refused because Entra signs ID tokens with RS256 only and our keys are RSA keys for
/// PKCS#1 v1.5. So the algorithm is fixed here, the header's `alg` must equal its name exactly
/// (case-sensitive), and only this algorithm's verification code is reachable.
const RS256: Rsa = Rsa::rs256();

/// Header fields `jwt-compact` does not model (everything but `alg`, `cty`, `jku`, `kid`,
/// `x5u`, `x5t`, `x5t#S256`, `typ`). Kept as a map only to see whether `crit` is present.
type OtherHeaderFields = Map<String, Value>;

/// Verify a JWT's RS256 signature with the key named by its `kid` and return its claims.
///
/// Keys come only from `keys` (the provider's JWKS, fetched from its discovery document).
/// The `jku`, `x5u`, `jwk` and `x5c` header parameters are never used: following them would
/// let the token's author choose the key its signature is checked against.
pub(crate) fn verify_rs256(token: &str, keys: &KeySet) -> Result<Map<String, Value>, TokenError> {
    let parsed = parse(token)?;
    let untrusted = &parsed.token;

    if untrusted.algorithm() != RS256.name() {
        return Err(TokenError::Algorithm(loggable(untrusted.algorithm(), 32)));
    }
    // RFC 7515 4.1.11: a recipient must reject extensions it does not understand, since the
    // signer declared that ignoring them changes the token's meaning.
    if untrusted.header().other_fields.contains_key("crit") {
        return Err(TokenError::UnsupportedCritical);
    }
    let kid = kid_of(untrusted)?.ok_or(TokenError::MissingKid)?;
    let key = keys.get(&kid).ok_or(TokenError::UnknownKid(kid))?;

    // `RsaSignature::try_from_slice` only copies the bytes; the length and padding are checked
    // by the RSA verification itself, so a short or empty signature fails there.
    let signature = RsaSignature::try_from_slice(untrusted.signature_bytes())
        .map_err(|_| TokenError::Signature)?;
    // The signed bytes are the two encoded segments exactly as received, never a re-encoding.
    // Only public-key verification happens here, so the RSA crate's private-key timing issue
    // (RUSTSEC-2023-0071, Marvin) does not apply.
    if !RS256.verify_signature(&signature, key, parsed.signing_input.as_bytes()) {
        return Err(TokenError::Signature);
    }

    // Claims are parsed only after the signature holds, so unauthenticated input never
    // reaches the claims parser.
    decode_object(parsed.claims_b64)
}

/// Read the `kid` from a JWT header without verifying anything, to decide whether a JWKS
/// refetch could help.
pub fn peek_kid(token: &str) -> Option<String> {
    kid_of(&parse(token).ok()?.token).ok().flatten()
}

/// A token whose structure and header have been parsed, not yet verified.
struct Parsed<'a> {
    /// `jwt-compact`'s view: header, `alg`, decoded signature bytes.
    token: UntrustedToken<'a, OtherHeaderFields>,
    /// `header.claims` exactly as received: the bytes the signature covers.
    signing_input: &'a str,
    /// The claims segment, decoded by us only after the signature holds.
    claims_b64: &'a str,
}

/// Bound the size, then let `jwt-compact` split into exactly three segments, decode them
/// (strict base64url: no padding, canonical trailing bits, so one token has one spelling) and
/// parse the header. Five segments (JWE) or two (no signature) are refused.
fn parse(token: &str) -> Result<Parsed<'_>, TokenError> {
    // Before any decoding: `jwt-compact` decodes every segment up front.
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge);
    }
    let (signing_input, _) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (header_b64, claims_b64) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
    if header_b64.is_empty() || claims_b64.is_empty() || claims_b64.contains('.') {
        return Err(TokenError::Malformed);
    }
    let parsed = UntrustedToken::try_from(token).map_err(|err| match err {
        // Header and claims decode, so the signature segment is the bad one: an undecodable
        // signature is a bad signature, as a wrong one would be.
        ParseError::InvalidBase64Encoding
            if is_base64url(header_b64) && is_base64url(claims_b64) =>
        {
            TokenError::Signature
        }
        _ => TokenError::Malformed,
    })?;
    Ok(Parsed {
        token: parsed,
        signing_input,
        claims_b64,
    })
}

/// Whether a segment is strict base64url (only called on the error path, to classify it).
fn is_base64url(segment: &str) -> bool {
    URL_SAFE_NO_PAD.decode(segment).is_ok()
}

/// Strict base64url (no padding, canonical trailing bits) → JSON object.
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
/// (it ends up in logs and in the `UnknownKid` error). A non-string `kid` already fails to
/// parse in `jwt-compact`.
fn kid_of(token: &UntrustedToken<'_, OtherHeaderFields>) -> Result<Option<String>, TokenError> {
    let Some(kid) = token.header().key_id.as_deref() else {
        return Ok(None);
    };
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
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    use crate::oidc::test_support::{b64, hs256, key_set, sign_rs256, test_keys};
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::RsaPrivateKey;
    use serde_json::json;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

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
    fn entra_v1_header_with_x5t_is_accepted() {
        // Entra v1 tokens carry `x5t` (base64url SHA-1 thumbprint); jwt-compact parses it, so a
        // real one must not make the header "malformed".
        let k = test_keys();
        let header =
            json!({"typ":"JWT","alg":"RS256","x5t":"nOo3ZDrODXEK1jKWhXslHR_KXEg","kid":"k1"});
        let token = sign_rs256(&k.primary, &header, &claims());
        assert!(verify_rs256(&token, key_set()).is_ok());
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
        let signed = |key: &RsaPrivateKey, header: Value| sign_rs256(key, &header, &claims());
        let evil = "https://evil.example/keys";
        let attacker_jwk = json!({"kty":"RSA","n":"AQAB","e":"AQAB"});
        #[rustfmt::skip]
        let cases: Vec<(&str, String, TokenError)> = vec![
            ("tampered claims", tampered_claims, TokenError::Signature),
            ("alg none", alg_none, TokenError::Algorithm("none".into())),
            ("alg case", alg_none_case, TokenError::Algorithm("rs256".into())),
            ("HS256 with RSA public key as secret", rsa_pub_as_hmac, TokenError::Algorithm("HS256".into())),
            ("ES256", signed(&k.primary, json!({"alg":"ES256","kid":"k1"})), TokenError::Algorithm("ES256".into())),
            ("PS256", signed(&k.primary, json!({"alg":"PS256","kid":"k1"})), TokenError::Algorithm("PS256".into())),
            ("k2's key, names k1", signed(&k.secondary, json!({"alg":"RS256","kid":"k1"})), TokenError::Signature),
            ("unknown kid", signed(&k.primary, json!({"alg":"RS256","kid":"rotated"})), TokenError::UnknownKid("rotated".into())),
            ("missing kid", signed(&k.primary, json!({"alg":"RS256"})), TokenError::MissingKid),
            (
                "attacker key advertised with jku",
                signed(&k.attacker, json!({"alg":"RS256","kid":"attacker","jku":evil})),
                TokenError::UnknownKid("attacker".into()),
            ),
            (
                "attacker key with jku/x5u reusing a real kid",
                signed(&k.attacker, json!({"alg":"RS256","kid":"k1","jku":evil,"x5u":evil})),
                TokenError::Signature,
            ),
            (
                "attacker key embedded as jwk",
                signed(&k.attacker, json!({"alg":"RS256","kid":"k1","jwk":attacker_jwk})),
                TokenError::Signature,
            ),
            ("crit header", signed(&k.primary, json!({"alg":"RS256","kid":"k1","crit":["exp"]})), TokenError::UnsupportedCritical),
            ("two segments", format!("{good_head}.{good_claims}"), TokenError::Malformed),
            ("five segments (JWE)", format!("{good}.a.b"), TokenError::Malformed),
            ("padded header", format!("{good_head}=.{good_rest}"), TokenError::Malformed),
            ("header not JSON", format!("{}.{good_rest}", b64(b"nope")), TokenError::Malformed),
            ("header is an array", format!("{}.{good_rest}", b64(b"[1]")), TokenError::Malformed),
            ("signature not base64", format!("{good_head}.{good_claims}.***"), TokenError::Signature),
            ("empty signature", format!("{good_head}.{good_claims}."), TokenError::Signature),
            ("too large", format!("{good}{}", "A".repeat(MAX_TOKEN_BYTES)), TokenError::TooLarge),
            ("kid not a string", signed(&k.primary, json!({"alg":"RS256","kid":1})), TokenError::Malformed),
            ("kid with control characters", signed(&k.primary, json!({"alg":"RS256","kid":"k1\n"})), TokenError::Malformed),
            ("alg checked before kid lookup", signed(&k.primary, json!({"alg":"HS256","kid":"rotated"})), TokenError::Algorithm("HS256".into())),
            ("alg missing", signed(&k.primary, json!({"kid":"k1"})), TokenError::Malformed),
            ("alg not a string", signed(&k.primary, json!({"alg":["RS256"],"kid":"k1"})), TokenError::Malformed),
            ("crit null still rejected", signed(&k.primary, json!({"alg":"RS256","kid":"k1","crit":null})), TokenError::UnsupportedCritical),
            ("duplicate alg", format!("{}.{good_rest}", b64(br#"{"alg":"none","alg":"RS256","kid":"k1"}"#)), TokenError::Malformed),
            ("claims not base64", format!("{good_head}.***.{good_sig}"), TokenError::Malformed),
            ("nested JWT content type", signed(&k.primary, json!({"alg":"RS256","kid":"k1","cty":"JWT"})), TokenError::Malformed),
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
