//! Workload identity federation: checking a `client_assertion` against an app's federated
//! identity credential the way Entra does.
//!
//! Checks, in order, each with Entra's error (all `AADSTS` codes as Entra reports them):
//! 1. the assertion is a JWT with a JSON header and claims, `iss` and `sub` strings —
//!    else **50027** (invalid or malformed JWT);
//! 2. `iss` equals the credential's issuer exactly (a trailing `/` matters) — else **700211**;
//! 3. `sub` equals the credential's subject, case-sensitively — else **700213**;
//! 4. `aud` (string or array) contains the credential's audience — else **70021** (the
//!    generic "no matching federated identity record", naming issuer, subject and audience);
//! 5. header `alg` is `RS256` — else 50027; the signing key is the issuer key with the
//!    header's `kid` — else **7000272**; the RS256 signature verifies — else **700027**;
//! 6. `exp` is present and in the future and `nbf` (if any) is not more than [`NBF_SKEW`]
//!    seconds ahead, by the emulator's clock — else **700024**.
//!
//! Together these stop a token from another cluster, another service account, another
//! audience, a forged or re-signed token, and a stale token kept after rotation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde_json::Value;
use sha2::Sha256;

use super::clock::iso_timestamp;
use super::errors::EntraError;
use super::jwt::decode_unverified;

/// The audience Entra expects in federated assertions unless a credential says otherwise.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// How far an assertion's `nbf` may lie ahead of the emulator's clock (node clock drift).
pub const NBF_SKEW: u64 = 300;

/// The public key(s) of a federated issuer. Entra fetches them from the issuer's OIDC
/// discovery document; the emulator is given them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerKey {
    /// A JWKS document (`{"keys":[{"kty":"RSA","kid":…,"n":…,"e":…}]}`); the assertion's
    /// `kid` selects the key (a single key also serves a token without `kid`).
    Jwks(Value),
    /// One RSA public key, SubjectPublicKeyInfo PEM; used whatever the `kid`.
    PublicKeyPem(String),
}

/// An app registration's federated identity credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCredential {
    /// Expected `iss`, compared exactly (for Kubernetes: the cluster's OIDC issuer URL).
    pub issuer: String,
    /// Expected `sub`, compared case-sensitively (`system:serviceaccount:<ns>:<sa>`).
    pub subject: String,
    /// Expected member of `aud`; normally [`TOKEN_EXCHANGE_AUDIENCE`].
    pub audience: String,
    /// The issuer's signing key(s).
    pub key: IssuerKey,
}

impl FederatedCredential {
    /// A credential for `issuer` and `subject` with the default audience.
    pub fn new(issuer: &str, subject: &str, key: IssuerKey) -> FederatedCredential {
        FederatedCredential {
            issuer: issuer.to_string(),
            subject: subject.to_string(),
            audience: TOKEN_EXCHANGE_AUDIENCE.to_string(),
            key,
        }
    }
}

/// Verifies `assertion` for `cred` at time `now` (Unix seconds); see the module docs.
pub fn verify(cred: &FederatedCredential, assertion: &str, now: u64) -> Result<(), EntraError> {
    let malformed = |why: &str| EntraError::bad_client_assertion(why);
    if assertion.split('.').count() != 3 {
        return Err(malformed(
            "The assertion is not a JWS compact serialization.",
        ));
    }
    let (header, claims) = decode_unverified(assertion)
        .ok_or_else(|| malformed("The assertion's header or payload is not base64url JSON."))?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
    let issuer = text("iss").ok_or_else(|| malformed("The assertion has no 'iss' claim."))?;
    let subject = text("sub").ok_or_else(|| malformed("The assertion has no 'sub' claim."))?;
    if issuer != cred.issuer {
        return Err(EntraError::federated_issuer_mismatch(&issuer));
    }
    if subject != cred.subject {
        return Err(EntraError::federated_subject_mismatch(&subject));
    }
    let audiences = audiences(&claims);
    if !audiences.contains(&cred.audience) {
        return Err(EntraError::federated_no_match(
            &issuer,
            &subject,
            &audiences.join(","),
        ));
    }
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        // Refusing every other alg stops `none` and HS256-with-the-public-key forgeries.
        return Err(malformed("Only RS256-signed assertions are accepted."));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let key = signing_key(&cred.key, kid)
        .ok_or_else(|| EntraError::federated_key_not_found(kid.unwrap_or(""), &issuer))?;
    if !signature_verifies(&key, assertion) {
        return Err(EntraError::assertion_bad_signature());
    }
    check_time(&claims, now)
}

/// `aud` as a list (JWT allows a single string or an array).
fn audiences(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn check_time(claims: &Value, now: u64) -> Result<(), EntraError> {
    let exp = claims.get("exp").and_then(Value::as_u64);
    let nbf = claims.get("nbf").and_then(Value::as_u64);
    let expired = exp.is_none_or(|exp| now >= exp);
    let early = nbf.is_some_and(|nbf| nbf > now + NBF_SKEW);
    if expired || early {
        let fmt = |t: Option<u64>| {
            t.map(|t| format!("{}.0000000Z", iso_timestamp(t)))
                .unwrap_or_else(|| "(none)".to_string())
        };
        return Err(EntraError::assertion_time_range(
            &fmt(Some(now)),
            &fmt(nbf.or_else(|| claims.get("iat").and_then(Value::as_u64))),
            &fmt(exp),
        ));
    }
    Ok(())
}

/// The RSA key that should have signed a token with header `kid`.
fn signing_key(key: &IssuerKey, kid: Option<&str>) -> Option<RsaPublicKey> {
    match key {
        IssuerKey::PublicKeyPem(pem) => RsaPublicKey::from_public_key_pem(pem).ok(),
        IssuerKey::Jwks(jwks) => {
            let keys = jwks.get("keys")?.as_array()?;
            let jwk = match kid {
                Some(kid) => keys
                    .iter()
                    .find(|k| k.get("kid") == Some(&Value::from(kid)))?,
                None if keys.len() == 1 => keys.first()?,
                None => return None,
            };
            let part = |name: &str| -> Option<BigUint> {
                let b64 = jwk.get(name)?.as_str()?;
                Some(BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(b64).ok()?))
            };
            RsaPublicKey::new(part("n")?, part("e")?).ok()
        }
    }
}

fn signature_verifies(key: &RsaPublicKey, token: &str) -> bool {
    let Some((input, sig)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(sig.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(input.as_bytes(), &sig)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::kubernetes::KubernetesIssuer;
    use serde_json::json;

    const ISSUER: &str = "https://oidc.prod-aks.azure.com/t/c/";
    const NOW: u64 = 1_700_000_000;

    fn cred(k8s: &KubernetesIssuer) -> FederatedCredential {
        k8s.credential("apps", "proxy")
    }

    #[test]
    fn verification_table() {
        let k8s = KubernetesIssuer::new(ISSUER);
        let other_key = KubernetesIssuer::with_key(ISSUER, 1);
        let good = k8s.claims("apps", "proxy", NOW, 3600);
        let with = |f: &dyn Fn(&mut Value)| {
            let mut c = good.clone();
            f(&mut c);
            k8s.sign(&c)
        };
        let (hdr, payload, sig) = {
            let t = k8s.token("apps", "proxy", NOW);
            let mut p = t.split('.').map(str::to_string);
            (p.next().unwrap(), p.next().unwrap(), p.next().unwrap())
        };
        let none_hdr = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let unknown_kid = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"nope"}"#);
        // (case, assertion, expected AADSTS code or 0)
        let cases: Vec<(&str, String, u32)> = vec![
            ("valid", k8s.token("apps", "proxy", NOW), 0),
            ("aud as string", with(&|c| c["aud"] = json!(TOKEN_EXCHANGE_AUDIENCE)), 0),
            ("not a jwt", "abc".into(), 50027),
            ("bad json", "e30.bm9wZQ.x".into(), 50027),
            ("no sub", with(&|c| { c.as_object_mut().unwrap().remove("sub"); }), 50027),
            ("trailing slash missing", with(&|c| c["iss"] = json!(ISSUER.trim_end_matches('/'))), 700211),
            ("other namespace", with(&|c| c["sub"] = json!("system:serviceaccount:other:proxy")), 700213),
            ("subject case", with(&|c| c["sub"] = json!("system:serviceaccount:Apps:proxy")), 700213),
            ("wrong audience", with(&|c| c["aud"] = json!(["https://kubernetes.default.svc"])), 70021),
            ("alg none", format!("{none_hdr}.{payload}."), 50027),
            ("unknown kid", format!("{unknown_kid}.{payload}.{sig}"), 7000272),
            ("tampered payload", format!("{hdr}.{}.{sig}", URL_SAFE_NO_PAD.encode(b"{\"iss\":\"https://oidc.prod-aks.azure.com/t/c/\",\"sub\":\"system:serviceaccount:apps:proxy\",\"aud\":\"api://AzureADTokenExchange\",\"exp\":9999999999}")), 700027),
            ("other key, same kid", {
                let t = other_key.sign(&good);
                format!("{hdr}.{}", t.split_once('.').unwrap().1)
            }, 700027),
            ("expired", k8s.expired_token("apps", "proxy", NOW), 700024),
            ("expires now", with(&|c| c["exp"] = json!(NOW)), 700024),
            ("no exp", with(&|c| { c.as_object_mut().unwrap().remove("exp"); }), 700024),
            ("nbf within skew", with(&|c| c["nbf"] = json!(NOW + NBF_SKEW)), 0),
            ("nbf in the future", with(&|c| c["nbf"] = json!(NOW + NBF_SKEW + 1)), 700024),
        ];
        for (name, assertion, want) in cases {
            let got = verify(&cred(&k8s), &assertion, NOW)
                .map(|()| 0)
                .unwrap_or_else(|e| e.code);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn pem_key_verifies_and_wrong_pem_does_not() {
        let k8s = KubernetesIssuer::new(ISSUER);
        let other = KubernetesIssuer::with_key(ISSUER, 1);
        let token = k8s.token("apps", "proxy", NOW);
        for (pem, want) in [(k8s.public_key_pem(), 0), (other.public_key_pem(), 700027)] {
            let c = FederatedCredential {
                key: IssuerKey::PublicKeyPem(pem),
                ..cred(&k8s)
            };
            let got = verify(&c, &token, NOW)
                .map(|()| 0)
                .unwrap_or_else(|e| e.code);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn time_range_error_names_the_times_like_entra() {
        let k8s = KubernetesIssuer::new(ISSUER);
        let e = verify(&cred(&k8s), &k8s.expired_token("apps", "proxy", NOW), NOW).unwrap_err();
        assert_eq!((e.status, e.error), (401, "invalid_client"));
        assert!(
            e.message.starts_with(&format!(
                "Client assertion is not within its valid time range. Current time: {}.0000000Z, assertion valid from ",
                iso_timestamp(NOW)
            )),
            "{}",
            e.message
        );
    }
}
