//! Sessions and CSRF attempts sealed with the fixed secrets, for the cookie targets.

use entra_proxy_wasm::session::{CsrfState, Session};
use entra_proxy_wasm_fuzz::fixtures::{Variant, NOW};
use sha2::{Digest, Sha256};

use crate::jwt::b64;
use crate::{Corpus, Result};

pub(crate) fn sessions() -> (Session, Session) {
    let small = Session {
        user: "00000000-0000-0000-0000-0000000000a1".into(),
        email: Some("ada@example.com".into()),
        preferred_username: Some("ada@contoso.test".into()),
        name: Some("Ada".into()),
        groups: vec!["g1".into()],
        created_at: NOW - 100,
        expires_at: NOW + 3600,
        id_token: Some("eyJ.id.token".into()),
        access_token: Some("eyJ.access.token".into()),
        ..Session::default()
    };
    // Incompressible group ids, so the sealed value needs several chunks.
    let groups = (0..300u32)
        .map(|i| hex(&Sha256::digest(i.to_be_bytes())[..16]))
        .collect();
    let big = Session {
        groups,
        ..small.clone()
    };
    (small, big)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn csrf(state: &str, nonce: &str, expires_at: u64) -> CsrfState {
    CsrfState {
        state: state.into(),
        nonce: nonce.into(),
        code_verifier: b64(&[9; 32]),
        return_to: "/after?x=1".into(),
        expires_at,
    }
}

pub(crate) fn cookie_seeds(c: &Corpus) -> Result {
    let a = Variant::A.config();
    let b = Variant::B.config();
    let (small, big) = sessions();
    let name = a.cookie.name.as_str();
    let sealed = small.seal(&a.cipher, name, [1; 24]);
    c.put("cookie_open", "session-a", &sealed)?;
    c.put(
        "cookie_open",
        "session-a-big",
        big.seal(&a.cipher, name, [2; 24]),
    )?;
    c.put(
        "cookie_open",
        "session-b",
        small.seal(&b.cipher, &b.cookie.name, [3; 24]),
    )?;
    c.put(
        "cookie_open",
        "expired",
        Session {
            expires_at: NOW,
            ..small.clone()
        }
        .seal(&a.cipher, name, [4; 24]),
    )?;
    c.put(
        "cookie_open",
        "csrf-a",
        csrf("s", "n", NOW + 600).seal(&a.cipher, name, [5; 24]),
    )?;
    c.put("cookie_open", "padded", format!("{sealed}=="))?;
    c.put(
        "cookie_open",
        "standard-alphabet",
        sealed.replace('-', "+").replace('_', "/"),
    )?;

    let live = csrf("state-1", "nonce-1", NOW + 600);
    c.put(
        "csrf_open",
        "live",
        format!("{}\nstate-1", live.seal(&a.cipher, name, [6; 24])),
    )?;
    c.put(
        "csrf_open",
        "other-state",
        format!("{}\nstate-2", live.seal(&a.cipher, name, [6; 24])),
    )?;
    c.put(
        "csrf_open",
        "expired",
        format!(
            "{}\nstate-1",
            csrf("state-1", "n", NOW).seal(&a.cipher, name, [7; 24])
        ),
    )?;
    c.put("csrf_open", "session-as-csrf", format!("{sealed}\nstate-1"))?;
    c.put(
        "csrf_open",
        "b",
        format!("{}\nstate-1", live.seal(&b.cipher, &b.cookie.name, [8; 24])),
    )?;

    let payload = |name: &str, mode: u8, body: &[u8]| {
        let mut out = vec![mode];
        out.extend_from_slice(body);
        c.put("cookie_payload", name, out)
    };
    payload("session-json", 0, &serde_json::to_vec(&small)?)?;
    payload("csrf-json", 0, &serde_json::to_vec(&live)?)?;
    payload(
        "bomb",
        1,
        &miniz_oxide::deflate::compress_to_vec(&vec![b'['; 1 << 20], 9),
    )?;
    payload("deep", 0, "[".repeat(3000).as_bytes())?;
    payload(
        "huge-expiry",
        0,
        br#"{"u":"x","c":0,"x":18446744073709551615,"t":1e400}"#,
    )?;

    let headers = [
        ("two-headers", "cookie: a=1; b=\"2\"; _oauth2_proxy_0=x\nCookie: ;;=bad; c; d = 4 \nx-forwarded-user: me\nX_Forwarded_User: me"),
        ("spoof-variants", "AUTHORIZATION: Bearer x\nx-auth-request-email: a@b\nx_auth_request_access_token: t\nx-forwarded-for: 1.2.3.4"),
        ("chunks", "cookie: _oauth2_proxy_1=b; _oauth2_proxy_0=a; _oauth2_proxy_01=z; _oauth2_proxy_csrf=c"),
    ];
    for (name, block) in headers {
        c.put("cookie_header", name, block)?;
    }
    Ok(())
}
