//! Forged ID tokens answered by a scripted token endpoint.

use super::*;

fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn public_jwk(key: &TestKey) -> Value {
    let public = key.private.to_public_key();
    json!({
        "kty": "RSA", "kid": key.kid, "use": "sig",
        "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()),
    })
}

/// Everything an attacker can derive from the published RSA key, as HMAC secrets.
fn public_key_encodings(key: &TestKey) -> Vec<(&'static str, Vec<u8>)> {
    let public = key.private.to_public_key();
    let spki_pem = public.to_public_key_pem(LineEnding::LF).expect("pem");
    let pkcs1_pem = public.to_pkcs1_pem(LineEnding::LF).expect("pem");
    vec![
        ("SPKI PEM", spki_pem.as_bytes().to_vec()),
        (
            "SPKI PEM without the final newline",
            spki_pem.trim_end().as_bytes().to_vec(),
        ),
        ("PKCS#1 PEM", pkcs1_pem.as_bytes().to_vec()),
        (
            "SPKI DER",
            public.to_public_key_der().expect("der").as_bytes().to_vec(),
        ),
        (
            "PKCS#1 DER",
            public.to_pkcs1_der().expect("der").as_bytes().to_vec(),
        ),
        ("modulus bytes", public.n().to_bytes_be()),
        (
            "modulus base64url",
            b64(&public.n().to_bytes_be()).into_bytes(),
        ),
        ("JWK JSON", public_jwk(key).to_string().into_bytes()),
        ("JWKS document", test_idp::jwks(&[key]).into_bytes()),
        (
            "x5c-style base64 DER",
            STANDARD
                .encode(public.to_public_key_der().expect("der").as_bytes())
                .into_bytes(),
        ),
    ]
}

type Forge = Box<dyn Fn(&str) -> String>;

/// Forged ID tokens, each made from the attempt's nonce. None may produce a session.
fn forged_tokens() -> Vec<(String, Forge)> {
    let now = START;
    let claims = move |nonce: &str| test_idp::alice_claims(now, nonce);
    let k0 = test_idp::key(0);
    let attacker = test_idp::key(2);
    let mut out: Vec<(String, Forge)> = Vec::new();

    for alg in ["none", "None", "NONE", "nOnE"] {
        out.push((
            format!("alg {alg}, empty signature"),
            Box::new(move |n| {
                let h = json!({"alg": alg, "kid": "test-key-0", "typ": "JWT"});
                format!(
                    "{}.{}.",
                    b64(h.to_string().as_bytes()),
                    b64(claims(n).to_string().as_bytes())
                )
            }),
        ));
    }
    out.push((
        "alg none carrying a real RS256 signature".into(),
        Box::new(move |n| {
            let real = test_idp::sign(k0, &claims(n));
            let sig = real.rsplit('.').next().unwrap_or_default().to_string();
            let h = json!({"alg": "none", "kid": "test-key-0"});
            format!(
                "{}.{}.{sig}",
                b64(h.to_string().as_bytes()),
                b64(claims(n).to_string().as_bytes())
            )
        }),
    ));
    for (what, secret) in public_key_encodings(k0) {
        out.push((
            format!("HS256 keyed with the RSA public key ({what})"),
            Box::new(move |n| {
                hs256(
                    &secret,
                    &json!({"alg": "HS256", "kid": "test-key-0", "typ": "JWT"}),
                    &claims(n),
                )
            }),
        ));
    }
    for alg in [
        "RS384", "RS512", "PS256", "ES256", "rs256", "RS256 ", "HS512",
    ] {
        out.push((
            format!("header alg {alg:?} over an RS256 signature"),
            Box::new(move |n| {
                let h = json!({"alg": alg, "kid": "test-key-0"}).to_string();
                sign_raw(k0, &h, &claims(n).to_string())
            }),
        ));
    }
    // kid games.
    let kid_cases: Vec<(&str, Value)> = vec![
        (
            "kid of a known key, signed by another key",
            json!({"alg": "RS256", "kid": "test-key-0"}),
        ),
        (
            "kid of an unpublished key",
            json!({"alg": "RS256", "kid": "attacker-key"}),
        ),
        ("no kid", json!({"alg": "RS256"})),
        ("empty kid", json!({"alg": "RS256", "kid": ""})),
        ("numeric kid", json!({"alg": "RS256", "kid": 0})),
        (
            "path traversal kid",
            json!({"alg": "RS256", "kid": "../../../../dev/null"}),
        ),
        (
            "kid with a NUL",
            json!({"alg": "RS256", "kid": "test-key-0\u{0}"}),
        ),
        (
            "2000-character kid",
            json!({"alg": "RS256", "kid": "k".repeat(2000)}),
        ),
        ("kid list", json!({"alg": "RS256", "kid": ["test-key-0"]})),
    ];
    for (what, header) in kid_cases {
        out.push((
            what.to_string(),
            Box::new(move |n| sign_raw(attacker, &header.to_string(), &claims(n).to_string())),
        ));
    }
    // Header parameters that name a key: never followed.
    let jwk = public_jwk(attacker);
    let key_headers: Vec<(&str, Value)> = vec![
        (
            "jku to an attacker JWKS",
            json!({"alg": "RS256", "kid": "attacker", "jku": "https://evil.example/jwks.json"}),
        ),
        (
            "x5u to an attacker certificate",
            json!({"alg": "RS256", "kid": "attacker", "x5u": "https://evil.example/cert.pem"}),
        ),
        (
            "embedded jwk of the attacker",
            json!({"alg": "RS256", "kid": "attacker", "jwk": jwk.clone()}),
        ),
        (
            "embedded jwk under a known kid",
            json!({"alg": "RS256", "kid": "test-key-0", "jwk": jwk.clone()}),
        ),
        (
            "jku under a known kid",
            json!({"alg": "RS256", "kid": "test-key-0", "jku": "https://evil.example/jwks.json"}),
        ),
        (
            "x5c of the attacker",
            json!({"alg": "RS256", "kid": "attacker", "x5c": [STANDARD.encode(b"not a certificate")]}),
        ),
    ];
    for (what, header) in key_headers {
        out.push((
            what.to_string(),
            Box::new(move |n| sign_raw(attacker, &header.to_string(), &claims(n).to_string())),
        ));
    }
    // Duplicate `kid` in the header: whichever copy a parser reads, the key is wrong or unknown.
    out.push((
        "duplicate kid (unknown, then known)".into(),
        Box::new(move |n| {
            sign_raw(
                attacker,
                r#"{"alg":"RS256","kid":"attacker","kid":"test-key-0"}"#,
                &claims(n).to_string(),
            )
        }),
    ));
    // `crit` names extensions the verifier must understand; we understand none.
    for crit in [json!(["exp"]), json!(["b64"]), json!([])] {
        out.push((
            format!("crit {crit}"),
            Box::new(move |n| {
                let h =
                    json!({"alg": "RS256", "kid": "test-key-0", "crit": crit.clone(), "b64": true});
                sign_raw(k0, &h.to_string(), &claims(n).to_string())
            }),
        ));
    }
    // Duplicate claims where the last copy (the one RFC 7519 §4 lets parsers keep) is wrong.
    let duplicated = move |name: &'static str, bad: Value| -> Forge {
        Box::new(move |n| {
            let good = claims(n);
            let body = good.to_string();
            let body = format!("{},{}:{}}}", &body[..body.len() - 1], json!(name), bad);
            sign_raw(k0, r#"{"alg":"RS256","kid":"test-key-0"}"#, &body)
        })
    };
    out.push((
        "duplicate nonce, last one wrong".into(),
        duplicated("nonce", json!("other")),
    ));
    out.push((
        "duplicate aud, last one wrong".into(),
        duplicated("aud", json!("someone-else")),
    ));
    out.push((
        "duplicate iss, last one wrong".into(),
        duplicated("iss", json!("https://evil.example/v2.0")),
    ));
    out.push((
        "duplicate exp, last one past".into(),
        duplicated("exp", json!(now - 3600)),
    ));
    out.push((
        "duplicate nbf, last one in the future".into(),
        duplicated("nbf", json!(now + 3600)),
    ));
    // Shapes that are not a signed JWT at all.
    out.push((
        "two segments".into(),
        Box::new(move |n| {
            let t = test_idp::sign(k0, &claims(n));
            t[..t.rfind('.').unwrap_or(0)].to_string()
        }),
    ));
    out.push((
        "five segments (JWE shape)".into(),
        Box::new(move |n| format!("{}.x.y", test_idp::sign(k0, &claims(n)))),
    ));
    out.push((
        "padded base64".into(),
        Box::new(move |n| {
            let t = test_idp::sign(k0, &claims(n));
            let (head, rest) = t.split_once('.').unwrap_or_default();
            format!("{head}==.{rest}")
        }),
    ));
    out.push((
        "20 KB token".into(),
        Box::new(move |n| {
            let mut c = claims(n);
            c["padding"] = json!("x".repeat(20 * 1024));
            test_idp::sign(k0, &c)
        }),
    ));
    out
}

#[test]
fn forged_id_tokens_never_produce_a_session_and_key_urls_in_headers_are_never_fetched() {
    let forged = forged_tokens();
    assert!(forged.len() >= 40, "{}", forged.len());
    for (what, make) in forged {
        let scenario = ready(base_config());
        let (csrf, state, nonce) = begin(&scenario);
        let (stream, call) = callback(&scenario, &csrf, &state, "c");
        scenario.host.respond(
            call.token,
            200,
            &[("content-type", "application/json")],
            test_idp::token_response(&make(&nonce)).as_bytes(),
        );
        // An unknown kid may cause one JWKS refetch from the configured provider, never from a
        // URL in the token; answer it with the same keys.
        for extra in scenario.host.pending_calls() {
            assert_eq!(extra.authority(), test_idp::AUTHORITY, "{what}: {extra:?}");
            assert_eq!(
                extra.path(),
                format!("/{}/discovery/v2.0/keys", test_idp::TENANT),
                "{what}"
            );
            let jwks = test_idp::jwks(&[test_idp::key(0)]);
            scenario
                .host
                .respond(extra.token, 200, &[], jwks.as_bytes());
        }
        let reply = stream
            .local_response()
            .unwrap_or_else(|| panic!("{what}: no reply"));
        assert!(
            matches!(reply.status, 403 | 502),
            "{what}: {}",
            reply.status
        );
        assert!(
            set_cookie_pair(&reply, "_oauth2_proxy").is_none(),
            "{what}: no session"
        );
        assert!(!stream.request_resumed(), "{what}: never forwarded");
        for sent in scenario.host.dispatched_calls() {
            assert_eq!(
                sent.authority(),
                test_idp::AUTHORITY,
                "{what}: callout to {}",
                sent.authority()
            );
        }
    }
}

#[test]
fn key_url_headers_on_a_genuine_token_are_ignored_not_followed() {
    let scenario = ready(base_config());
    let (csrf, state, nonce) = begin(&scenario);
    let (stream, call) = callback(&scenario, &csrf, &state, "c");
    let header = json!({
        "typ": "JWT", "alg": "RS256", "kid": "test-key-0",
        "jku": "https://evil.example/jwks.json", "x5u": "https://evil.example/cert.pem",
        "jwk": public_jwk(test_idp::key(2)),
    });
    let token = test_idp::sign_with_header(
        test_idp::key(0),
        header,
        &test_idp::alice_claims(scenario.now(), &nonce),
    );
    scenario.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response(&token).as_bytes(),
    );
    let reply = stream.local_response().expect("reply");
    assert_eq!(reply.status, 302, "{}", reply.body_text());
    assert!(set_cookie_pair(&reply, "_oauth2_proxy").is_some());
    assert_eq!(
        scenario.host.dispatched_calls().len(),
        3,
        "discovery, JWKS, token: nothing else"
    );
}

#[test]
fn duplicate_identity_claims_resolve_to_the_last_copy_or_are_refused() {
    // RFC 7519 §4: parsers must reject duplicate claim names or keep the lexically last one.
    // Whichever the filter does, the identity it forwards must be the one a compliant parser
    // reads, so a token cannot mean one user to the filter and another to a downstream check.
    for (first, last) in [("mallory-oid", ALICE_OID), (ALICE_OID, "mallory-oid")] {
        let scenario = ready(base_config());
        let (csrf, state, nonce) = begin(&scenario);
        let (stream, call) = callback(&scenario, &csrf, &state, "c");
        let mut claims = test_idp::alice_claims(scenario.now(), &nonce);
        claims["oid"] = json!(first);
        let body = claims.to_string();
        let body = format!("{},\"oid\":{}}}", &body[..body.len() - 1], json!(last));
        let token = sign_raw(
            test_idp::key(0),
            r#"{"alg":"RS256","kid":"test-key-0"}"#,
            &body,
        );
        scenario.host.respond(
            call.token,
            200,
            &[],
            test_idp::token_response(&token).as_bytes(),
        );
        let reply = stream.local_response().expect("reply");
        if reply.status == 403 {
            continue;
        }
        assert_eq!(reply.status, 302);
        let (forwarded, action) =
            scenario.request("GET", "/", &[("cookie", &cookie_header_from(&reply))]);
        assert_eq!(action, Action::Continue);
        assert_eq!(
            forwarded.request_header_map().get_all("x-forwarded-user"),
            vec![last],
            "first {first}, last {last}"
        );
    }
}
