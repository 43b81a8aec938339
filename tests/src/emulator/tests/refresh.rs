use std::time::Duration;

use super::*;

fn refresh(emu: &Emulator, token: &str, extra: &[(&str, &str)]) -> Resp {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", DEFAULT_CLIENT_SECRET),
        ("refresh_token", token),
    ];
    form.extend_from_slice(extra);
    post_form(&token_url(emu), &form, &[])
}

fn first_tokens(emu: &Emulator) -> Value {
    let code = auto_code(emu, &[]);
    redeem(emu, &code, None, &[]).json()
}

fn first_refresh_token(emu: &Emulator) -> String {
    first_tokens(emu)["refresh_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn refresh_tokens_rotate_and_the_old_one_is_revoked() {
    let emu = auto_login_emulator();
    let first = first_tokens(&emu);
    let rt1 = first["refresh_token"].as_str().unwrap();

    let second = refresh(
        &emu,
        rt1,
        &[("scope", "openid profile email offline_access")],
    );
    assert_eq!(second.status, 200, "{}", second.body);
    let second = second.json();
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    assert_ne!(first["access_token"], second["access_token"]);

    let (_, old) = verify_with_jwks(&emu, first["id_token"].as_str().unwrap()).unwrap();
    let (_, new) = verify_with_jwks(&emu, second["id_token"].as_str().unwrap()).unwrap();
    for stable in ["sub", "oid", "tid", "iss", "aud", "sid"] {
        assert_eq!(old[stable], new[stable], "{stable}");
    }
    assert!(
        new.get("nonce").is_none(),
        "refreshed ID tokens carry no nonce"
    );

    let reuse = refresh(&emu, rt1, &[]);
    assert_eq!((reuse.status, reuse.aadsts()), (400, 50173));
    assert_eq!(reuse.json()["error"], "invalid_grant");
    assert_eq!(refresh(&emu, rt2, &[]).status, 200, "the new one works");
}

#[test]
fn refresh_without_strict_rotation_keeps_old_tokens_valid_like_entra() {
    let emu = Emulator::start(EmulatorConfig {
        auto_login: Some("alice".into()),
        revoke_used_refresh_tokens: false,
        ..EmulatorConfig::default()
    });
    let rt = first_refresh_token(&emu);
    assert_eq!(refresh(&emu, &rt, &[]).status, 200);
    assert_eq!(refresh(&emu, &rt, &[]).status, 200);
}

#[test]
fn refresh_failures() {
    let emu = auto_login_emulator();
    let rt = first_refresh_token(&emu);
    // (name, refresh token, extra form, status, AADSTS)
    let cases = [
        ("unknown token", "nope", vec![], 400, 9002313),
        (
            "widened scope",
            rt.as_str(),
            vec![("scope", "openid Mail.Read")],
            400,
            65001,
        ),
        (
            "bad secret",
            rt.as_str(),
            vec![("client_secret", "wrong")],
            401,
            7000215,
        ),
    ];
    for (name, token, extra, status, code) in cases {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("refresh_token", token),
        ];
        if !extra.iter().any(|(k, _)| *k == "client_secret") {
            form.push(("client_secret", DEFAULT_CLIENT_SECRET));
        }
        form.extend(extra.iter().copied());
        let resp = post_form(&token_url(&emu), &form, &[]);
        assert_eq!(
            (resp.status, resp.aadsts()),
            (status, code),
            "{name}: {}",
            resp.body
        );
    }
    // Failed attempts above did not consume the token.
    assert_eq!(refresh(&emu, &rt, &[]).status, 200);
}

#[test]
fn refresh_tokens_expire() {
    let emu = auto_login_emulator();
    let rt = first_refresh_token(&emu);
    emu.advance_clock(Duration::from_secs(24 * 3600));
    assert_eq!(refresh(&emu, &rt, &[]).aadsts(), 700082);
}

#[test]
fn refresh_may_narrow_scope_and_drop_the_id_token() {
    let emu = auto_login_emulator();
    let rt = first_refresh_token(&emu);
    let body = refresh(&emu, &rt, &[("scope", "User.Read")]).json();
    assert!(body.get("id_token").is_none());
    assert_eq!(body["scope"], "User.Read");
    assert!(body["refresh_token"].is_string());
}
