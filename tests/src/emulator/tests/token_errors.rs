use std::time::Duration;

use super::*;

#[test]
fn code_redemption_failures_are_entra_shaped() {
    let pkce = pkce();
    let with_pkce = [
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let v = pkce.verifier.as_str();
    let other_redirect = "http://127.0.0.1:9999/oauth2/callback";
    let wrong = "x".repeat(43);
    // (name, authorize extras, verifier, token form overrides, status, error, AADSTS)
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        Option<&'a str>,
        Vec<(&'a str, &'a str)>,
        u16,
        &'a str,
        u64,
    );
    let cases: Vec<Case> = vec![
        (
            "bad secret",
            &[],
            None,
            vec![("client_secret", "wrong")],
            401,
            "invalid_client",
            7000215,
        ),
        (
            "no credential",
            &[],
            None,
            vec![("client_secret", "")],
            401,
            "invalid_client",
            7000218,
        ),
        (
            "unknown client",
            &[],
            None,
            vec![("client_id", "99999999-9999-9999-9999-999999999999")],
            400,
            "unauthorized_client",
            700016,
        ),
        (
            "missing verifier",
            &with_pkce,
            None,
            vec![],
            400,
            "invalid_grant",
            50148,
        ),
        (
            "wrong verifier",
            &with_pkce,
            Some(wrong.as_str()),
            vec![],
            400,
            "invalid_grant",
            501481,
        ),
        (
            "redirect differs",
            &with_pkce,
            Some(v),
            vec![("redirect_uri", other_redirect)],
            400,
            "invalid_grant",
            500112,
        ),
        (
            "missing redirect",
            &[],
            None,
            vec![("redirect_uri", "")],
            400,
            "invalid_request",
            900144,
        ),
        (
            "missing code",
            &[],
            None,
            vec![("code", "")],
            400,
            "invalid_request",
            900144,
        ),
        (
            "unknown code",
            &[],
            None,
            vec![("code", "made-up")],
            400,
            "invalid_grant",
            9002313,
        ),
        (
            "missing grant type",
            &[],
            None,
            vec![("grant_type", "")],
            400,
            "invalid_request",
            900144,
        ),
        (
            "unsupported grant",
            &[],
            None,
            vec![("grant_type", "password")],
            400,
            "unsupported_grant_type",
            70003,
        ),
    ];
    let emu = auto_login_emulator();
    for (name, authz, verifier, overrides, status, error, code) in cases {
        let c = auto_code(&emu, authz);
        let resp = redeem(&emu, &c, verifier, &overrides);
        assert_eq!(resp.status, status, "{name}: {}", resp.body);
        let body = resp.json();
        assert_eq!(body["error"], error, "{name}");
        assert_eq!(resp.aadsts(), code, "{name}");
        let desc = body["error_description"].as_str().unwrap();
        assert!(
            desc.starts_with(&format!("AADSTS{code}: ")),
            "{name}: {desc}"
        );
        assert!(
            desc.contains("\r\nTrace ID: ") && desc.contains("\r\nCorrelation ID: "),
            "{name}"
        );
        for field in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
            assert!(body[field].is_string(), "{name}: {field}");
        }
    }
}

#[test]
fn failed_redemptions_do_not_burn_the_code_but_success_does() {
    let emu = auto_login_emulator();
    let pkce = pkce();
    let code = auto_code(
        &emu,
        &[
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(
        redeem(
            &emu,
            &code,
            Some("wrong-verifier-wrong-verifier-wrong-verifier"),
            &[]
        )
        .aadsts(),
        501481
    );
    assert_eq!(redeem(&emu, &code, Some(&pkce.verifier), &[]).status, 200);
    assert_eq!(
        redeem(&emu, &code, Some(&pkce.verifier), &[]).aadsts(),
        54005
    );
}

#[test]
fn codes_expire_after_ten_minutes() {
    let emu = auto_login_emulator();
    let fresh = auto_code(&emu, &[]);
    let stale = auto_code(&emu, &[]);
    emu.advance_clock(Duration::from_secs(599));
    assert_eq!(redeem(&emu, &fresh, None, &[]).status, 200);
    emu.advance_clock(Duration::from_secs(1));
    let resp = redeem(&emu, &stale, None, &[]);
    assert_eq!((resp.status, resp.aadsts()), (400, 70008));
}

#[test]
fn codes_are_bound_to_their_client() {
    let mut cfg = EmulatorConfig {
        auto_login: Some("alice".into()),
        ..EmulatorConfig::default()
    };
    let other = "55555555-5555-5555-5555-555555555555";
    cfg.clients.push(crate::emulator::Client {
        client_id: other.into(),
        secret: Some("other-secret".into()),
        redirect_uris: vec!["http://127.0.0.1/oauth2/callback".into()],
        federated: None,
    });
    let emu = Emulator::start(cfg);
    let code = auto_code(&emu, &[]);
    let resp = redeem(
        &emu,
        &code,
        None,
        &[("client_id", other), ("client_secret", "other-secret")],
    );
    assert_eq!((resp.status, resp.aadsts()), (400, 70000));
}

#[test]
fn token_endpoint_rejects_get_and_echoes_client_request_id() {
    let emu = auto_login_emulator();
    let get_resp = get(&token_url(&emu));
    assert_eq!((get_resp.status, get_resp.aadsts()), (400, 900561));
    let corr = "0a0b0c0d-1111-2222-3333-444455556666";
    let resp = post_form(
        &token_url(&emu),
        &[("grant_type", "authorization_code")],
        &[("client-request-id", corr)],
    );
    assert_eq!(resp.json()["correlation_id"], corr);
    assert!(resp.header("x-ms-request-id").is_some());
}

#[test]
fn client_assertions_are_accepted_as_credentials() {
    let emu = auto_login_emulator();
    let code = auto_code(&emu, &[]);
    let resp = redeem(
        &emu,
        &code,
        None,
        &[
            ("client_secret", ""),
            ("client_assertion_type", crate::emulator::JWT_BEARER),
            ("client_assertion", "header.payload.signature"),
        ],
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
}
