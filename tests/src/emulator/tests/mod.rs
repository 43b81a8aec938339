//! Scenario tests: drive the emulator over real HTTP, the way a relying party would.

mod authorize_errors;
mod code_flow;
mod discovery;
mod faults;
mod graph;
mod graph_faults;
mod groups;
mod logout;
mod refresh;
mod tamper;
mod tenants;
mod token_errors;
mod workload_identity;

use std::io::Read;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::http::Params;
use super::{
    Emulator, EmulatorConfig, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID,
};

/// A redirect URI the default client accepts (loopback, any port).
pub const REDIRECT: &str = "http://127.0.0.1:8080/oauth2/callback";

/// A response, whatever its status.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Query parameters of the `Location` header.
    pub fn location_params(&self) -> Params {
        let location = self.header("location").expect("no Location");
        let url = url::Url::parse(location).unwrap();
        Params::parse(url.query().unwrap_or("").as_bytes())
    }

    /// The `ESTSAUTH=…` pair of `Set-Cookie`, ready for a `Cookie` header.
    pub fn session_cookie(&self) -> String {
        let set = self.header("set-cookie").expect("no Set-Cookie");
        set.split(';').next().unwrap().to_string()
    }

    /// The first AADSTS code of a JSON error body.
    pub fn aadsts(&self) -> u64 {
        self.json()["error_codes"][0].as_u64().unwrap()
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(20))
        .build()
}

fn convert(r: Result<ureq::Response, ureq::Error>) -> Result<Resp, String> {
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => return Err(t.to_string()),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .flat_map(|n| {
            resp.all(&n)
                .into_iter()
                .map(|v| (n.clone(), v.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut body = String::new();
    resp.into_reader().read_to_string(&mut body).unwrap();
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// GET, any status; transport errors are returned as text.
pub fn try_get(url: &str, headers: &[(&str, &str)]) -> Result<Resp, String> {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    convert(req.call())
}

pub fn get(url: &str) -> Resp {
    try_get(url, &[]).unwrap()
}

pub fn get_with(url: &str, headers: &[(&str, &str)]) -> Resp {
    try_get(url, headers).unwrap()
}

pub fn post_form(url: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Resp {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    convert(req.send_form(form)).unwrap()
}

/// POST a JSON body, any status.
pub fn post_json(url: &str, body: &Value, headers: &[(&str, &str)]) -> Resp {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    convert(req.send_json(body.clone())).unwrap()
}

/// Signs `username` in through the login form at `segment` (a tenant, `common`, …) with the
/// default client and `scope`, and redeems the code at the same segment's token endpoint.
/// Returns the token response (or the page that refused the sign-in, with status 200 and no
/// code: the caller checks).
pub fn sign_in(emu: &Emulator, segment: &str, username: &str, password: &str, scope: &str) -> Resp {
    let form = get(&authorize_url(emu, segment, &[("scope", scope)]));
    assert_eq!(form.status, 200, "{}", form.body);
    let action = format!("{}/{segment}/oauth2/v2.0/authorize", emu.base_url());
    let posted = post_form(
        &action,
        &[
            ("ctx", &form_ctx(&form.body)),
            ("username", username),
            ("password", password),
        ],
        &[],
    );
    if posted.status != 302 {
        return posted;
    }
    let code = posted
        .location_params()
        .get("code")
        .expect("code")
        .to_string();
    post_form(
        &format!("{}/{segment}/oauth2/v2.0/token", emu.base_url()),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
        &[],
    )
}

/// A PKCE pair computed independently of the emulator.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = super::ids::random_token(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

/// An emulator that signs alice in without a form.
pub fn auto_login_emulator() -> Emulator {
    Emulator::start(EmulatorConfig {
        auto_login: Some("alice".into()),
        ..EmulatorConfig::default()
    })
}

/// Authorize URL with the default client's parameters, overridden/extended by `extra`
/// (an empty value removes the parameter).
pub fn authorize_url(emu: &Emulator, tenant: &str, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = [
        ("client_id", DEFAULT_CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid profile email offline_access"),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push((k.to_string(), v.to_string()));
        }
    }
    format!(
        "{}/{tenant}/oauth2/v2.0/authorize?{}",
        emu.base_url(),
        Params(params).encode()
    )
}

/// Runs authorize on an auto-login emulator and returns the code.
pub fn auto_code(emu: &Emulator, extra: &[(&str, &str)]) -> String {
    let resp = get(&authorize_url(emu, DEFAULT_TENANT_ID, extra));
    assert_eq!(resp.status, 302, "{}", resp.body);
    let params = resp.location_params();
    assert_eq!(params.get("state"), Some("state-123"));
    params.get("code").expect("code").to_string()
}

/// Redeems a code with the default client's secret; `extra` overrides form fields.
pub fn redeem(emu: &Emulator, code: &str, verifier: Option<&str>, extra: &[(&str, &str)]) -> Resp {
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    for (k, v) in extra {
        form.retain(|(fk, _)| fk != k);
        if !v.is_empty() {
            form.push((k, v));
        }
    }
    post_form(&token_url(emu), &form, &[])
}

pub fn token_url(emu: &Emulator) -> String {
    format!("{}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", emu.base_url())
}

/// Reads the hidden `ctx` field out of the login form.
pub fn form_ctx(html: &str) -> String {
    let start = html.find("name=\"ctx\" value=\"").expect("ctx field") + 18;
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Verifies an ID token's RS256 signature against the JWKS fetched over HTTP, the way a
/// relying party does (select by `kid`, build the key from `n` and `e`), and returns its
/// header and claims. Errs with a reason when it does not verify.
pub fn verify_with_jwks(emu: &Emulator, token: &str) -> Result<(Value, Value), String> {
    let (header, claims) = super::jwt::decode_unverified(token).ok_or("undecodable")?;
    if header["alg"] != "RS256" {
        return Err(format!("alg {}", header["alg"]));
    }
    let jwks = get(&format!(
        "{}/{DEFAULT_TENANT_ID}/discovery/v2.0/keys",
        emu.base_url()
    ))
    .json();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .ok_or("unknown kid")?;
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let key = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)).unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|e| e.to_string())?;
    let sig = Signature::try_from(sig.as_slice()).map_err(|e| e.to_string())?;
    VerifyingKey::<Sha256>::new(key)
        .verify(input.as_bytes(), &sig)
        .map_err(|_| "bad signature".to_string())?;
    Ok((header, claims))
}
