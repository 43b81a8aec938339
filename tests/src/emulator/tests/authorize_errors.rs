use super::*;

#[test]
fn untrusted_requests_get_an_error_page_never_a_redirect() {
    let emu = auto_login_emulator();
    // (overrides, AADSTS shown on the page)
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("client_id", "")], "AADSTS900144"),
        (
            &[("client_id", "99999999-9999-9999-9999-999999999999")],
            "AADSTS700016",
        ),
        (&[("redirect_uri", "")], "AADSTS900144"),
        (
            &[("redirect_uri", "https://evil.example/oauth2/callback")],
            "AADSTS50011",
        ),
        (
            &[("redirect_uri", "http://127.0.0.1:8080/oauth2/callback/")],
            "AADSTS50011",
        ),
    ];
    for (extra, code) in cases {
        let resp = get(&authorize_url(&emu, DEFAULT_TENANT_ID, extra));
        assert_eq!(resp.status, 400, "{extra:?}");
        assert!(resp.header("location").is_none(), "{extra:?}");
        assert!(resp.body.contains(code), "{extra:?}: {}", resp.body);
        assert!(resp
            .header("content-type")
            .unwrap()
            .starts_with("text/html"));
    }
    assert_eq!(emu.counts().authorize, 5);
}

#[test]
fn request_errors_go_back_to_the_registered_redirect_uri_with_state() {
    let emu = auto_login_emulator();
    // (overrides, error, AADSTS)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 6] = [
        (&[("response_type", "")], "invalid_request", "AADSTS900144"),
        (
            &[("response_type", "token")],
            "unsupported_response_type",
            "AADSTS700051",
        ),
        (&[("scope", "")], "invalid_request", "AADSTS900144"),
        (
            &[("code_challenge", "too-short")],
            "invalid_request",
            "AADSTS501491",
        ),
        (
            &[
                ("code_challenge", &"a".repeat(43)),
                ("code_challenge_method", "S512"),
            ],
            "invalid_request",
            "AADSTS501482",
        ),
        (
            &[("response_mode", "smoke_signal")],
            "invalid_request",
            "AADSTS900144",
        ),
    ];
    for (extra, error, code) in cases {
        let resp = get(&authorize_url(&emu, DEFAULT_TENANT_ID, extra));
        assert_eq!(resp.status, 302, "{extra:?}: {}", resp.body);
        assert!(resp.header("location").unwrap().starts_with(REDIRECT));
        let p = resp.location_params();
        assert_eq!(p.get("error"), Some(error), "{extra:?}");
        assert!(
            p.get("error_description")
                .unwrap()
                .starts_with(&format!("{code}: ")),
            "{extra:?}"
        );
        assert_eq!(p.get("state"), Some("state-123"));
        assert!(p.get("code").is_none());
    }
}

#[test]
fn any_loopback_port_is_accepted_for_the_default_client() {
    let emu = auto_login_emulator();
    for uri in [
        "http://127.0.0.1:1/oauth2/callback",
        "http://localhost:65535/oauth2/callback",
    ] {
        let resp = get(&authorize_url(
            &emu,
            DEFAULT_TENANT_ID,
            &[("redirect_uri", uri)],
        ));
        assert_eq!(resp.status, 302, "{uri}");
        assert!(resp
            .header("location")
            .unwrap()
            .starts_with(&format!("{uri}?code=")));
    }
}

#[test]
fn code_redeemed_with_the_exact_loopback_port_it_was_issued_for() {
    let emu = auto_login_emulator();
    let uri = "http://localhost:4180/oauth2/callback";
    let code = auto_code(&emu, &[("redirect_uri", uri)]);
    assert_eq!(
        redeem(&emu, &code, None, &[]).aadsts(),
        500112,
        "port differs from authorize"
    );
    assert_eq!(
        redeem(&emu, &code, None, &[("redirect_uri", uri)]).status,
        200
    );
}
