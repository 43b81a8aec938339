//! JWT signing, and the deliberate corruptions ([`Tamper`]) a relying party must reject.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Value};
use sha2::Sha256;

use super::ids::{b64url, random_guid, random_token};
use super::keys::{outsider_key, KeyMaterial};

/// A corruption applied to ID tokens; each one models an attack or misconfiguration that the
/// relying party's validation has to catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// `iss` names another tenant (so it disagrees with `tid` and any pinned issuer).
    WrongIssuer,
    /// `aud` is another application's client id (token minted for a different app).
    WrongAudience,
    /// `nonce` is a fresh random value (replayed or injected token).
    WrongNonce,
    /// `nonce` is removed.
    NoNonce,
    /// A valid RS256 token whose signature has one bit flipped.
    BadSignature,
    /// Header `alg: none` and an empty signature.
    AlgNone,
    /// Header `alg: HS256`, MAC keyed with the public key's PEM (key-confusion attack).
    Hs256WithPublicKey,
    /// Signed with the current key but carrying a `kid` no JWKS lists.
    UnknownKid,
    /// `exp`, `iat` and `nbf` lie well in the past.
    Expired,
    /// Signed with a key the JWKS does not publish, under the current key's `kid`.
    SignedByOtherKey,
}

/// Applies the claim-level part of `tamper` to `claims`.
pub fn tamper_claims(claims: &mut Value, tamper: Tamper) {
    let Some(obj) = claims.as_object_mut() else {
        return;
    };
    match tamper {
        Tamper::WrongIssuer => {
            let iss = obj.get("iss").and_then(Value::as_str).unwrap_or_default();
            let wrong = match iss.rsplit_once("/v2.0") {
                Some((prefix, _)) => match prefix.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{}/v2.0", random_guid()),
                    None => format!("{}/v2.0", random_guid()),
                },
                None => format!("https://sts.windows.net/{}/", random_guid()),
            };
            obj.insert("iss".into(), json!(wrong));
        }
        Tamper::WrongAudience => {
            obj.insert("aud".into(), json!(random_guid()));
        }
        Tamper::WrongNonce => {
            obj.insert("nonce".into(), json!(random_token(16)));
        }
        Tamper::NoNonce => {
            obj.remove("nonce");
        }
        Tamper::Expired => {
            let shift = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
            let iat = shift(obj.get("iat")).saturating_sub(7200);
            obj.insert("iat".into(), json!(iat));
            obj.insert("nbf".into(), json!(iat));
            obj.insert("exp".into(), json!(iat + 3600));
        }
        _ => {}
    }
}

/// Signs `claims` as Entra does (`{"typ":"JWT","alg":"RS256","kid":…}`), then applies the
/// header- and signature-level part of `tamper`.
pub fn sign(key: &KeyMaterial, claims: &Value, tamper: Option<Tamper>) -> String {
    let mut claims = claims.clone();
    if let Some(t) = tamper {
        tamper_claims(&mut claims, t);
    }
    let payload = b64url(claims.to_string().as_bytes());
    let header = |alg: &str, kid: &str| {
        b64url(
            json!({"typ": "JWT", "alg": alg, "kid": kid})
                .to_string()
                .as_bytes(),
        )
    };
    match tamper {
        Some(Tamper::AlgNone) => format!("{}.{payload}.", header("none", &key.kid)),
        Some(Tamper::Hs256WithPublicKey) => {
            let input = format!("{}.{payload}", header("HS256", &key.kid));
            let mac = hmac_sha256(key.public_pem.as_bytes(), input.as_bytes());
            format!("{input}.{}", b64url(&mac))
        }
        Some(Tamper::UnknownKid) => {
            let input = format!("{}.{payload}", header("RS256", &random_token(20)));
            format!("{input}.{}", rs256_signature(key, &input))
        }
        Some(Tamper::SignedByOtherKey) => {
            let input = format!("{}.{payload}", header("RS256", &key.kid));
            format!("{input}.{}", rs256_signature(&outsider_key(), &input))
        }
        Some(Tamper::BadSignature) => {
            let input = format!("{}.{payload}", header("RS256", &key.kid));
            let mut sig = rs256_raw(key, &input);
            if let Some(last) = sig.last_mut() {
                *last ^= 0x01;
            }
            format!("{input}.{}", b64url(&sig))
        }
        _ => {
            let input = format!("{}.{payload}", header("RS256", &key.kid));
            format!("{input}.{}", rs256_signature(key, &input))
        }
    }
}

fn rs256_raw(key: &KeyMaterial, input: &str) -> Vec<u8> {
    SigningKey::<Sha256>::new(key.private.clone())
        .sign(input.as_bytes())
        .to_vec()
}

/// Base64url RS256 signature of `input` (a JWT's `header.payload`).
pub fn rs256_signature(key: &KeyMaterial, input: &str) -> String {
    b64url(&rs256_raw(key, input))
}

fn hmac_sha256(secret: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Decodes a JWT's header and payload without checking anything (for `id_token_hint`).
pub fn decode_unverified(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let header = parts.next()?;
    let payload = parts.next()?;
    let decode = |s: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()
    };
    Some((decode(header)?, decode(payload)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::keys::pool_key;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::Verifier;

    fn claims() -> Value {
        json!({
            "iss": "http://127.0.0.1:9/11111111-1111-1111-1111-111111111111/v2.0",
            "aud": "client", "nonce": "n-1", "iat": 1_000_000, "nbf": 1_000_000, "exp": 1_003_600,
        })
    }

    fn verifies(key: &KeyMaterial, token: &str) -> bool {
        let (input, sig) = token.rsplit_once('.').unwrap();
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        let Ok(sig) = Signature::try_from(sig.as_slice()) else {
            return false;
        };
        VerifyingKey::<Sha256>::new(key.private.to_public_key())
            .verify(input.as_bytes(), &sig)
            .is_ok()
    }

    #[test]
    fn untampered_token_verifies_with_entra_header() {
        let key = pool_key(0);
        let token = sign(&key, &claims(), None);
        assert!(verifies(&key, &token));
        let (header, payload) = decode_unverified(&token).unwrap();
        assert_eq!(
            header,
            json!({"typ": "JWT", "alg": "RS256", "kid": key.kid})
        );
        assert_eq!(payload, claims());
    }

    #[test]
    fn each_tamper_breaks_exactly_what_it_names() {
        let key = pool_key(0);
        let orig = claims();
        // (tamper, signature still valid with the published key, header alg, kid kept)
        let cases = [
            (Tamper::WrongIssuer, true, "RS256", true),
            (Tamper::WrongAudience, true, "RS256", true),
            (Tamper::WrongNonce, true, "RS256", true),
            (Tamper::NoNonce, true, "RS256", true),
            (Tamper::Expired, true, "RS256", true),
            (Tamper::BadSignature, false, "RS256", true),
            (Tamper::AlgNone, false, "none", true),
            (Tamper::Hs256WithPublicKey, false, "HS256", true),
            (Tamper::UnknownKid, true, "RS256", false),
            (Tamper::SignedByOtherKey, false, "RS256", true),
        ];
        for (tamper, sig_ok, alg, kid_kept) in cases {
            let token = sign(&key, &orig, Some(tamper));
            let (header, payload) = decode_unverified(&token).unwrap();
            assert_eq!(verifies(&key, &token), sig_ok, "{tamper:?}");
            assert_eq!(header["alg"], alg, "{tamper:?}");
            assert_eq!(header["kid"] == json!(key.kid), kid_kept, "{tamper:?}");
            let changed: Vec<&str> = ["iss", "aud", "nonce", "exp"]
                .into_iter()
                .filter(|c| payload.get(*c) != orig.get(*c))
                .collect();
            let want: &[&str] = match tamper {
                Tamper::WrongIssuer => &["iss"],
                Tamper::WrongAudience => &["aud"],
                Tamper::WrongNonce | Tamper::NoNonce => &["nonce"],
                Tamper::Expired => &["exp"],
                _ => &[],
            };
            assert_eq!(changed, want, "{tamper:?}");
        }
    }

    #[test]
    fn wrong_issuer_keeps_the_entra_shape_but_names_another_tenant() {
        let mut c = claims();
        tamper_claims(&mut c, Tamper::WrongIssuer);
        let iss = c["iss"].as_str().unwrap();
        assert!(
            iss.starts_with("http://127.0.0.1:9/") && iss.ends_with("/v2.0"),
            "{iss}"
        );
        assert!(!iss.contains("11111111-1111"), "{iss}");
    }

    #[test]
    fn hs256_tamper_is_keyed_with_the_public_pem() {
        let key = pool_key(0);
        let token = sign(&key, &claims(), Some(Tamper::Hs256WithPublicKey));
        let (input, sig) = token.rsplit_once('.').unwrap();
        let want = hmac_sha256(key.public_pem.as_bytes(), input.as_bytes());
        assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap(), want);
    }
}
