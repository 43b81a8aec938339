//! Requests for `flow_request` that reach every branch: forward, chunked and rotated sessions,
//! sign-in, callback success, unknown-kid refetch, and the failures.

use entra_proxy_wasm::session::chunks::{split, MAX_CHUNK_VALUE};
use entra_proxy_wasm::session::Session;
use entra_proxy_wasm_fuzz::fixtures::{Variant, NOW};
use rsa::RsaPrivateKey;
use serde_json::json;

use crate::cookies::{csrf, sessions};
use crate::jwt::{claims, sign, Keys};
use crate::{Corpus, Result};

pub(crate) fn request(
    flags: &str,
    path: &str,
    extra: &[String],
    answer: Option<(u16, String)>,
) -> String {
    let mut out = String::new();
    if !flags.is_empty() {
        out.push_str(&format!("#{flags}\n"));
    }
    out.push_str(&format!(":method: GET\n:scheme: https\n:authority: app.example.com\n:path: {path}\nx-request-id: 7f3e\n"));
    for line in extra {
        out.push_str(line);
        out.push('\n');
    }
    if let Some((status, body)) = answer {
        out.push_str(&format!("\n{status}\n{body}"));
    }
    out
}

pub(crate) fn flow_seeds(c: &Corpus, keys: &Keys) -> Result {
    let a = Variant::A.config();
    let b = Variant::B.config();
    let (small, big) = sessions();
    let name = a.cookie.name.as_str();
    let session = small.seal(&a.cipher, name, [1; 24]);
    let spoof = vec![
        "X-Forwarded-User: admin".to_string(),
        "x_forwarded_email: admin@example.com".to_string(),
        "authorization: Bearer forged".to_string(),
    ];
    let put = |n: &str, text: String| c.put("flow_request", n, text);

    put("anonymous", request("", "/app?x=1", &[], None))?;
    // Both once crashed flow_request: the sign-in started from them sealed the raw path as the
    // post-sign-in target, an open redirect ("//evil.com", and "/\\evil.com" which browsers
    // read the same way).
    put(
        "anonymous-scheme-relative",
        request("", "//evil.com/x", &[], None),
    )?;
    put("anonymous-backslash", request("", "/\\evil.com", &[], None))?;
    put(
        "api-json",
        request("", "/api/items", &["accept: application/json".into()], None),
    )?;
    put(
        "session",
        request(
            "",
            "/app",
            &[format!("cookie: theme=dark; {name}={session}")],
            None,
        ),
    )?;
    let mut spoofed = spoof.clone();
    spoofed.push(format!("cookie: {name}={session}"));
    put("session-spoofed", request("", "/app", &spoofed, None))?;
    let chunks: Vec<String> = split(name, &big.seal(&a.cipher, name, [2; 24]), MAX_CHUNK_VALUE)
        .into_iter()
        .rev()
        .map(|(n, v)| format!("cookie: {n}={v}"))
        .collect();
    put("session-chunked", request("", "/app", &chunks, None))?;
    let expired = Session {
        expires_at: NOW,
        ..small.clone()
    }
    .seal(&a.cipher, name, [3; 24]);
    put(
        "session-expired",
        request(
            "",
            "/app",
            &[format!("cookie: {name}={expired}; {name}_1=stale")],
            None,
        ),
    )?;
    let mut flipped = session.clone().into_bytes();
    flipped[40] = if flipped[40] == b'A' { b'B' } else { b'A' };
    put(
        "session-tampered",
        request(
            "",
            "/app",
            &[format!("cookie: {name}={}", String::from_utf8(flipped)?)],
            None,
        ),
    )?;
    let b_name = b.cookie.name.as_str();
    put(
        "b-session-new-key",
        request(
            "b",
            "/",
            &[format!(
                "cookie: {b_name}={}",
                small.seal(&b.cipher, b_name, [4; 24])
            )],
            None,
        ),
    )?;
    let old_key_session = small.seal(&a.cipher, b_name, [5; 24]);
    put(
        "b-session-rotated-key",
        request(
            "b",
            "/",
            &[format!("cookie: {b_name}={old_key_session}")],
            None,
        ),
    )?;
    put("b-anonymous", request("b", "/app", &[], None))?;
    put(
        "start",
        request(
            "",
            "/oauth2/start?rd=https%3A%2F%2Fapp.example.com%2Fx",
            &[],
            None,
        ),
    )?;
    put(
        "start-evil",
        request(
            "",
            "/oauth2/start?rd=%2F%2Fevil.com",
            &["x-auth-request-redirect: https://evil.com/".into()],
            None,
        ),
    )?;
    put(
        "sign-out",
        request(
            "",
            "/oauth2/sign_out?rd=https%3A%2F%2Fevil.com",
            &[format!("cookie: {name}={session}; {name}_0=x")],
            None,
        ),
    )?;
    put("sign-in-page", request("", "/oauth2/sign_in", &[], None))?;
    put(
        "unknown-endpoint",
        request("", "/oauth2/userinfo", &[], None),
    )?;
    put("no-entropy", request("x", "/", &[], None))?;
    put("no-provider", request("n", "/oauth2/start", &[], None))?;

    let attempt = csrf("state-A", "nonce-A", NOW + 600);
    let csrf_cookie = format!(
        "cookie: {}={}",
        a.cookie.csrf_name(),
        attempt.seal(&a.cipher, name, [6; 24])
    );
    let answer = |key: &RsaPrivateKey, kid: &str, nonce: &str| -> Result<(u16, String)> {
        let id_token = sign(key, &json!({"alg":"RS256","kid":kid}), &claims(nonce))?;
        let body = json!({"token_type":"Bearer","expires_in":3599,"access_token":"at-123","id_token":id_token});
        Ok((200, body.to_string()))
    };
    let callback = "/oauth2/callback?code=code-1&state=state-A";
    put(
        "callback-ok",
        request(
            "",
            callback,
            std::slice::from_ref(&csrf_cookie),
            Some(answer(&keys.k1, "k1", "nonce-A")?),
        ),
    )?;
    put(
        "callback-refetch",
        request(
            "r",
            callback,
            std::slice::from_ref(&csrf_cookie),
            Some(answer(&keys.k3, "k3", "nonce-A")?),
        ),
    )?;
    put(
        "callback-refetch-fails",
        request(
            "rj",
            callback,
            std::slice::from_ref(&csrf_cookie),
            Some(answer(&keys.k3, "k3", "nonce-A")?),
        ),
    )?;
    put(
        "callback-unknown-kid",
        request(
            "",
            callback,
            std::slice::from_ref(&csrf_cookie),
            Some(answer(&keys.k3, "k3", "nonce-A")?),
        ),
    )?;
    put(
        "callback-attacker",
        request(
            "",
            callback,
            std::slice::from_ref(&csrf_cookie),
            Some(answer(&keys.attacker, "k1", "nonce-A")?),
        ),
    )?;
    put(
        "callback-wrong-nonce",
        request(
            "",
            callback,
            std::slice::from_ref(&csrf_cookie),
            Some(answer(&keys.k1, "k1", "nonce-B")?),
        ),
    )?;
    put(
        "callback-wrong-state",
        request(
            "",
            "/oauth2/callback?code=c&state=state-B",
            std::slice::from_ref(&csrf_cookie),
            None,
        ),
    )?;
    put("callback-no-csrf", request("", callback, &[], None))?;
    let grant = json!({"error":"invalid_grant","error_description":"AADSTS54005: OAuth2 Authorization code was already redeemed","error_codes":[54005]});
    put(
        "callback-invalid-grant",
        request(
            "",
            callback,
            std::slice::from_ref(&csrf_cookie),
            Some((400, grant.to_string())),
        ),
    )?;
    put(
        "callback-timeout",
        request(
            "",
            callback,
            std::slice::from_ref(&csrf_cookie),
            Some((0, String::new())),
        ),
    )?;
    put(
        "callback-error",
        request(
            "",
            "/oauth2/callback?error=access_denied&error_description=AADSTS50105%3A+no+role",
            std::slice::from_ref(&csrf_cookie),
            None,
        ),
    )?;

    let b_attempt = csrf("state-B", "nonce-B", NOW + 600);
    let b_csrf = format!(
        "cookie: {}={}",
        b.cookie.csrf_name(),
        b_attempt.seal(&b.cipher, b_name, [7; 24])
    );
    put(
        "b-callback-ok",
        request(
            "b",
            "/auth/callback?code=c&state=state-B",
            &[b_csrf],
            Some(answer(&keys.k2, "k2", "nonce-B")?),
        ),
    )?;
    Ok(())
}
