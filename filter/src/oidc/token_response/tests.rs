//! Token-endpoint answers and request bodies.

use super::*;
// `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// Entra's answer to an expired code, as sent (description carries CRLF and ids).
const AADSTS70008: &str = r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.\r\nTrace ID: 0d3b1a2c-1f6e-4b7a-9c1d-2e3f4a5b6c00\r\nCorrelation ID: 7c2e9a1b-3d4f-4e5a-8b6c-1d2e3f4a5b6c\r\nTimestamp: 2024-05-01 10:11:12Z","error_codes":[70008],"timestamp":"2024-05-01 10:11:12Z","trace_id":"0d3b1a2c-1f6e-4b7a-9c1d-2e3f4a5b6c00","correlation_id":"7c2e9a1b-3d4f-4e5a-8b6c-1d2e3f4a5b6c","error_uri":"https://login.microsoftonline.com/error?code=70008"}"#;

fn ok(access: &str) -> TokenResponse {
    TokenResponse {
        access_token: access.to_owned(),
        id_token: None,
        refresh_token: None,
        expires_in: None,
        scope: None,
    }
}

#[test]
fn success_table() {
    let entra = r#"{"token_type":"Bearer","scope":"openid profile email User.Read","expires_in":4749,
        "ext_expires_in":4749,"access_token":"eyJ0eXAi.a.b","refresh_token":"0.AXEA","id_token":"eyJhbGci.c.d"}"#;
    let full = TokenResponse {
        access_token: "eyJ0eXAi.a.b".into(),
        id_token: Some("eyJhbGci.c.d".into()),
        refresh_token: Some("0.AXEA".into()),
        expires_in: Some(4749),
        scope: Some("openid profile email User.Read".into()),
    };
    let cases: Vec<(&str, &str, TokenResponse)> = vec![
        ("entra v2", entra, full),
        (
            "expires_in as string (Entra v1)",
            r#"{"token_type":"Bearer","expires_in":"3599","expires_on":"1700003599","access_token":"at"}"#,
            TokenResponse {
                expires_in: Some(3599),
                ..ok("at")
            },
        ),
        (
            "lowercase bearer",
            r#"{"token_type":"bearer","access_token":"at"}"#,
            ok("at"),
        ),
        ("no token_type", r#"{"access_token":"at"}"#, ok("at")),
        (
            "nulls and empties",
            r#"{"access_token":"at","id_token":"","refresh_token":null,"scope":null}"#,
            ok("at"),
        ),
    ];
    for (name, body, want) in cases {
        assert_eq!(
            parse_token_response(200, body.as_bytes()),
            Ok(want),
            "{name}"
        );
    }
}

#[test]
fn entra_error_body_is_an_idp_error() {
    let err = match parse_token_response(400, AADSTS70008.as_bytes()) {
        Err(TokenEndpointError::Idp(err)) => Some(*err),
        _ => None,
    }
    .unwrap();
    assert_eq!(err.status, 400);
    assert_eq!(err.error, "invalid_grant");
    assert_eq!(err.codes, vec![70008]);
    assert_eq!(
        err.trace_id.as_deref(),
        Some("0d3b1a2c-1f6e-4b7a-9c1d-2e3f4a5b6c00")
    );
    assert_eq!(
        err.correlation_id.as_deref(),
        Some("7c2e9a1b-3d4f-4e5a-8b6c-1d2e3f4a5b6c")
    );
    assert_eq!(err.aadsts().as_deref(), Some("AADSTS70008"));
    assert_eq!(
        err.log_line(),
        "status=400 error=invalid_grant codes=AADSTS70008 \
         trace_id=0d3b1a2c-1f6e-4b7a-9c1d-2e3f4a5b6c00 \
         correlation_id=7c2e9a1b-3d4f-4e5a-8b6c-1d2e3f4a5b6c \
         description=\"AADSTS70008: The provided authorization code or refresh token has expired \
         due to inactivity. Send a new interactive authorization request for this user and \
         resource. Trace ID: 0d3b1a2c-1f6e-4b7a-9c1d-…\""
    );
}

#[test]
fn log_line_is_bounded_and_sanitised() {
    let err = IdpError {
        status: 401,
        error: "invalid_client\r\nFAKE LOG LINE".into(),
        description: Some(format!("say \"hi\"{}", "x".repeat(500))),
        codes: (1..=20).collect(),
        trace_id: None,
        correlation_id: Some("c\u{1b}[2J".into()),
    };
    let line = err.log_line();
    assert!(!line.contains(['\r', '\n', '\u{1b}']), "{line}");
    assert!(
        line.starts_with("status=401 error=invalid_client??FAKE LOG LINE codes=AADSTS1,"),
        "{line}"
    );
    assert!(
        line.contains("AADSTS8 correlation_id=c?[2J description=\"say 'hi'xxx"),
        "{line}"
    );
    assert!(!line.contains("AADSTS9"), "{line}");
    assert!(line.chars().count() < 400, "{line}");
}

#[test]
fn aadsts_table() {
    let err = |codes: Vec<u64>, description: Option<&str>| IdpError {
        status: 400,
        error: "invalid_request".into(),
        description: description.map(str::to_owned),
        codes,
        trace_id: None,
        correlation_id: None,
    };
    let cases = [
        (err(vec![50011, 500], None), Some("AADSTS50011")),
        (
            err(vec![], Some("AADSTS700016: Application not found")),
            Some("AADSTS700016"),
        ),
        (err(vec![], Some("AADSTS: nothing")), None),
        (err(vec![], Some("Invalid grant")), None),
        (err(vec![], None), None),
    ];
    for (e, want) in cases {
        assert_eq!(e.aadsts().as_deref(), want, "{e:?}");
    }
}

#[test]
fn failure_table() {
    let html = b"<html><head><title>500 Internal Server Error</title></head></html>".as_slice();
    let big = format!(r#"{{"access_token":"{}"}}"#, "a".repeat(MAX_RESPONSE_BYTES));
    #[rustfmt::skip]
    let cases: Vec<(&str, u16, &[u8], TokenEndpointError)> = vec![
        ("HTML 500", 500, html, TokenEndpointError::UnexpectedStatus(500)),
        ("HTML 200", 200, html, TokenEndpointError::Malformed),
        ("JSON 502 without error", 502, br#"{"message":"upstream"}"#, TokenEndpointError::UnexpectedStatus(502)),
        ("201 with tokens", 201, br#"{"access_token":"at"}"#, TokenEndpointError::UnexpectedStatus(201)),
        ("no access_token", 200, br#"{"id_token":"x"}"#, TokenEndpointError::Malformed),
        ("empty access_token", 200, br#"{"access_token":""}"#, TokenEndpointError::Malformed),
        ("access_token not a string", 200, br#"{"access_token":1}"#, TokenEndpointError::Malformed),
        ("token_type DPoP", 200, br#"{"access_token":"at","token_type":"DPoP"}"#, TokenEndpointError::Malformed),
        ("expires_in negative", 200, br#"{"access_token":"at","expires_in":-5}"#, TokenEndpointError::Malformed),
        ("expires_in word", 200, br#"{"access_token":"at","expires_in":"soon"}"#, TokenEndpointError::Malformed),
        ("expires_in fractional", 200, br#"{"access_token":"at","expires_in":1.5}"#, TokenEndpointError::Malformed),
        ("JSON array", 200, b"[]", TokenEndpointError::Malformed),
        ("empty body", 200, b"", TokenEndpointError::Malformed),
        ("oversized", 200, big.as_bytes(), TokenEndpointError::Malformed),
    ];
    for (name, status, body, want) in cases {
        assert_eq!(parse_token_response(status, body), Err(want), "{name}");
    }
}

#[test]
fn error_body_wins_over_status() {
    let got = parse_token_response(200, br#"{"error":"temporarily_unavailable"}"#);
    assert!(
        matches!(&got, Err(TokenEndpointError::Idp(e)) if e.status == 200 && e.error == "temporarily_unavailable" && e.codes.is_empty()),
        "{got:?}"
    );
    // An empty `error` is not an OAuth error body.
    assert_eq!(
        parse_token_response(400, br#"{"error":""}"#),
        Err(TokenEndpointError::UnexpectedStatus(400))
    );
}

#[test]
fn debug_redacts_tokens_and_credentials() {
    let response = TokenResponse {
        access_token: "AT-SECRET".into(),
        id_token: Some("IDT-SECRET".into()),
        refresh_token: Some("RT-SECRET".into()),
        expires_in: Some(1),
        scope: Some("openid".into()),
    };
    let shown = format!(
        "{response:?} {:?} {:?}",
        ClientCredential::Secret("CS-SECRET"),
        ClientCredential::Assertion("SA-SECRET")
    );
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(shown.contains("openid"), "{shown}");
}

#[test]
fn form_bodies_are_exact() {
    let redirect = "https://app.example.com/oauth2/callback";
    let client = "6731de76-14a6-49ae-97bc-6eba6914391e";
    let cases = [
        (
            authorization_code_form(
                "0.AXEA+code/with=odd&chars",
                redirect,
                client,
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                &ClientCredential::Secret("s3cr~t+/= &x"),
            ),
            "grant_type=authorization_code&code=0.AXEA%2Bcode%2Fwith%3Dodd%26chars\
             &redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth2%2Fcallback\
             &client_id=6731de76-14a6-49ae-97bc-6eba6914391e\
             &code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk\
             &client_secret=s3cr%7Et%2B%2F%3D+%26x",
        ),
        (
            authorization_code_form("c", redirect, client, None, &ClientCredential::Assertion("eyJ.a.b")),
            "grant_type=authorization_code&code=c\
             &redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth2%2Fcallback\
             &client_id=6731de76-14a6-49ae-97bc-6eba6914391e\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion=eyJ.a.b",
        ),
        (
            refresh_token_form("0.AXEA_rt", client, "openid offline_access User.Read", &ClientCredential::Secret("s")),
            "grant_type=refresh_token&refresh_token=0.AXEA_rt\
             &client_id=6731de76-14a6-49ae-97bc-6eba6914391e\
             &scope=openid+offline_access+User.Read&client_secret=s",
        ),
        (
            refresh_token_form("rt", "c", "", &ClientCredential::Assertion("eyJ.a.b")),
            "grant_type=refresh_token&refresh_token=rt&client_id=c\
             &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
             &client_assertion=eyJ.a.b",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}
