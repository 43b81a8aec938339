//! Seeds of the OIDC parsers: JWKS, discovery, ID tokens, token-endpoint answers.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use entra_proxy_wasm_fuzz::fixtures::{CLIENT_ID, DISCOVERY_JSON, NOW};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use crate::jwt::{b64, claims, jwk, sign, with, Keys};
use crate::{Corpus, Result};

pub(crate) fn jwks_seeds(c: &Corpus, keys: &Keys, jwks: &Value, rotated: &Value) -> Result {
    c.put("jwks", "fixture", jwks.to_string())?;
    c.put("jwks", "rotated", rotated.to_string())?;
    let k1 = keys.k1.to_public_key();
    let mut entra = jwk("e1", &k1);
    entra["x5t"] = json!("e1");
    entra["x5c"] = json!(["MIIDBTCCAe2gAwIBAgIQ"]);
    entra["issuer"] = json!("https://login.microsoftonline.com/{tenantid}/v2.0");
    c.put("jwks", "entra-shape", json!({"keys": [entra]}).to_string())?;
    let padded = STANDARD
        .encode(k1.n().to_bytes_be())
        .replace('+', "-")
        .replace('/', "_");
    let mixed = json!({"keys": [
        {"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uE1TS2aE","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        jwk("weak", &keys.weak.to_public_key()),
        with(jwk("enc", &k1), json!({"use":"enc"})),
        with(jwk("ps", &k1), json!({"alg":"PS256"})),
        with(jwk("ops", &k1), json!({"key_ops":["encrypt"], "use": null})),
        {"kty":"RSA","kid":"pad","alg":"RS256","n":padded,"e":"AQAB","key_ops":["verify"]},
        {"kty":"RSA","kid":7,"n":"AQAB","e":"AQAB"},
        {"kty":"RSA","kid":"bad","n":"!!!","e":"AQAB"},
        {"kty":"RSA","kid":"e0","n":b64(&k1.n().to_bytes_be()),"e":"AA"},
    ]});
    c.put("jwks", "mixed", mixed.to_string())?;
    c.put("jwks", "empty", r#"{"keys":[]}"#)?;
    c.put("jwks", "not-json", "<html>502</html>")?;
    Ok(())
}

pub(crate) fn discovery_seeds(c: &Corpus) -> Result {
    c.put("discovery", "fixture", DISCOVERY_JSON)?;
    let common = json!({
        "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
        "authorization_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "token_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "jwks_uri": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
        "end_session_endpoint": null
    });
    c.put("discovery", "entra-common", common.to_string())?;
    let bad = with(
        common.clone(),
        json!({"authorization_endpoint": "javascript:alert(1)"}),
    );
    c.put("discovery", "javascript", bad.to_string())?;
    let userinfo = with(
        common.clone(),
        json!({"token_endpoint": "https://u:p@idp.test/token"}),
    );
    c.put("discovery", "userinfo", userinfo.to_string())?;
    let relative = with(
        common,
        json!({"jwks_uri": "/keys", "issuer": "https://idp.test/"}),
    );
    c.put("discovery", "relative", relative.to_string())?;
    c.put("discovery", "missing", r#"{"issuer":"https://idp.test"}"#)?;
    Ok(())
}

/// Writes the id_token seeds; returns (valid k1 token with nonce "fuzz-nonce").
pub(crate) fn id_token_seeds(c: &Corpus, keys: &Keys) -> Result<String> {
    let h1 = json!({"alg":"RS256","kid":"k1","typ":"JWT"});
    let base = claims("fuzz-nonce");
    let valid = sign(&keys.k1, &h1, &base)?;
    let other_tenant = "33333333-3333-3333-3333-333333333333";
    let cases: Vec<(&str, String)> = vec![
        ("valid", valid.clone()),
        (
            "valid-k2",
            sign(&keys.k2, &json!({"alg":"RS256","kid":"k2"}), &base)?,
        ),
        (
            "multi-aud-azp",
            sign(
                &keys.k1,
                &h1,
                &with(
                    base.clone(),
                    json!({"aud":[CLIENT_ID,"api://other"],"azp":CLIENT_ID}),
                ),
            )?,
        ),
        (
            "overage",
            sign(
                &keys.k1,
                &h1,
                &with(
                    base.clone(),
                    json!({"groups":null,"_claim_names":{"groups":"src1"},"hasgroups":true}),
                ),
            )?,
        ),
        (
            "float-exp",
            sign(
                &keys.k1,
                &h1,
                &with(base.clone(), json!({"exp": (NOW + 100) as f64 + 0.5})),
            )?,
        ),
        (
            "expired",
            sign(
                &keys.k1,
                &h1,
                &with(base.clone(), json!({"exp": NOW - 3600})),
            )?,
        ),
        (
            "not-yet",
            sign(
                &keys.k1,
                &h1,
                &with(base.clone(), json!({"nbf": NOW + 3600})),
            )?,
        ),
        (
            "wrong-aud",
            sign(
                &keys.k1,
                &h1,
                &with(base.clone(), json!({"aud":"someone-else"})),
            )?,
        ),
        (
            "no-sub",
            sign(&keys.k1, &h1, &with(base.clone(), json!({"sub":null})))?,
        ),
        (
            "tid-mismatch",
            sign(
                &keys.k1,
                &h1,
                &with(base.clone(), json!({"tid":other_tenant})),
            )?,
        ),
        (
            "other-tenant",
            sign(
                &keys.k1,
                &h1,
                &with(
                    base.clone(),
                    json!({"tid":other_tenant,"iss":format!("https://login.microsoftonline.com/{other_tenant}/v2.0")}),
                ),
            )?,
        ),
        (
            "string-exp",
            sign(
                &keys.k1,
                &h1,
                &with(base.clone(), json!({"exp":"tomorrow"})),
            )?,
        ),
        (
            "no-nonce",
            sign(&keys.k1, &h1, &with(base.clone(), json!({"nonce":null})))?,
        ),
        ("attacker-k1", sign(&keys.attacker, &h1, &base)?),
        (
            "attacker-jku",
            sign(
                &keys.attacker,
                &json!({"alg":"RS256","kid":"attacker","jku":"https://evil.test/keys"}),
                &base,
            )?,
        ),
        (
            "k3-unknown-here",
            sign(&keys.k3, &json!({"alg":"RS256","kid":"k3"}), &base)?,
        ),
        (
            "crit",
            sign(
                &keys.k1,
                &json!({"alg":"RS256","kid":"k1","crit":["exp"]}),
                &base,
            )?,
        ),
        (
            "alg-none",
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","kid":"k1"}"#),
                b64(base.to_string().as_bytes())
            ),
        ),
        (
            "hs256",
            format!(
                "{}.{}.{}",
                b64(br#"{"alg":"HS256","kid":"k1"}"#),
                b64(base.to_string().as_bytes()),
                b64(&[7; 32])
            ),
        ),
        (
            "two-parts",
            format!(
                "{}.{}",
                b64(h1.to_string().as_bytes()),
                b64(base.to_string().as_bytes())
            ),
        ),
        ("garbage", "eyJ.eyJ.x".to_string()),
    ];
    for (name, token) in cases {
        c.put("id_token", name, token)?;
    }
    Ok(valid)
}

pub(crate) fn token_response_seeds(c: &Corpus, id_token: &str) -> Result {
    let status = |code: u16, body: &str| {
        let mut out = code.to_be_bytes().to_vec();
        out.extend_from_slice(body.as_bytes());
        out
    };
    let ok = json!({"token_type":"Bearer","scope":"openid email profile","expires_in":3599,
        "access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.access.sig","id_token":id_token,"refresh_token":"0.refresh"});
    c.put("token_response", "ok", status(200, &ok.to_string()))?;
    c.put(
        "token_response",
        "ok-string-expiry",
        status(
            200,
            &with(ok.clone(), json!({"expires_in":"3599"})).to_string(),
        ),
    )?;
    c.put(
        "token_response",
        "dpop",
        status(200, &with(ok, json!({"token_type":"DPoP"})).to_string()),
    )?;
    let error = json!({"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has expired.\r\nTrace ID: x","error_codes":[70008],"timestamp":"2023-11-14 22:13:20Z","trace_id":"t-1","correlation_id":"c-1"});
    c.put(
        "token_response",
        "invalid-grant",
        status(400, &error.to_string()),
    )?;
    c.put(
        "token_response",
        "server-error",
        status(500, "<html><body>Service unavailable</body></html>"),
    )?;
    c.put("token_response", "empty-200", status(200, ""))?;
    Ok(())
}
