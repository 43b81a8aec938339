//! Session cookies: bit flips, truncation, chunk games, other names, rotated secrets.

use super::*;

fn flip_char(c: u8) -> u8 {
    if c == b'A' {
        b'B'
    } else {
        b'A'
    }
}

#[test]
fn every_single_character_and_bit_flip_of_a_session_cookie_means_a_fresh_sign_in() {
    let scenario = ready(base_config());
    let reply = scenario.sign_in("/", |_| {});
    let value = set_cookie_pair(&reply, "_oauth2_proxy").expect("session");
    assert_forwarded_as_alice(&scenario, &format!("_oauth2_proxy={value}"), "control");

    let mut tries = 0;
    for i in 0..value.len() {
        let mut bytes = value.clone().into_bytes();
        bytes[i] = flip_char(bytes[i]);
        let forged = String::from_utf8(bytes).expect("ascii");
        assert_fresh_sign_in(
            &scenario,
            &format!("_oauth2_proxy={forged}"),
            &format!("char {i}"),
        );
        tries += 1;
    }
    // Bit flips in the decoded bytes: nonce, ciphertext and tag alike.
    let raw = URL_SAFE_NO_PAD.decode(&value).expect("base64url");
    for j in 0..raw.len() {
        let mut forged = raw.clone();
        forged[j] ^= 1 << (j % 8);
        let cookie = format!("_oauth2_proxy={}", b64(&forged));
        assert_fresh_sign_in(&scenario, &cookie, &format!("byte {j} bit {}", j % 8));
        tries += 1;
    }
    // Truncated and extended values.
    for cut in [1, 2, 16, 17, 40, value.len() / 2, value.len() - 1] {
        let cookie = format!("_oauth2_proxy={}", &value[..value.len() - cut]);
        assert_fresh_sign_in(&scenario, &cookie, &format!("cut {cut}"));
        tries += 1;
    }
    for tail in ["A", "AA", "AAAA", "=", "==", "%3D"] {
        assert_fresh_sign_in(&scenario, &format!("_oauth2_proxy={value}{tail}"), tail);
        tries += 1;
    }
    assert_eq!(scenario.counter("entra_proxy.session.invalid"), tries);
    assert_eq!(scenario.counter("entra_proxy.session.valid"), 1);
}

/// 200 random-looking group ids, the most Entra puts in a token: with the ID token kept for the
/// Authorization header the session needs 3 cookie chunks (the groups are sealed once, inside
/// the token).
fn many_groups(seed: u32) -> Vec<String> {
    (0..200u32)
        .map(|i| {
            let h: String = Sha256::digest((seed * 1000 + i).to_le_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        })
        .collect()
}

/// The chunk values of a chunked session, in index order.
fn chunk_values(reply: &LocalResponse) -> Vec<String> {
    (0..)
        .map_while(|i| set_cookie_pair(reply, &format!("_oauth2_proxy_{i}")))
        .collect()
}

fn jar(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn named(chunks: &[String]) -> Vec<(String, String)> {
    chunks
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("_oauth2_proxy_{i}"), v.clone()))
        .collect()
}

#[test]
fn reordered_dropped_spliced_or_extra_chunks_mean_a_fresh_sign_in() {
    let scenario = ready(config_with(json!({"pass_authorization_header": true})));
    let a = chunk_values(&scenario.sign_in("/", |c| c["groups"] = json!(many_groups(1))));
    let b = chunk_values(&scenario.sign_in("/", |c| c["groups"] = json!(many_groups(2))));
    assert_eq!((a.len(), b.len()), (3, 3), "both sessions are chunked");
    let last = a.len() - 1;

    // Controls: either session works, in any header order, and even joined into one cookie.
    assert_forwarded_as_alice(&scenario, &jar(&named(&a)), "A");
    assert_forwarded_as_alice(&scenario, &jar(&named(&b)), "B");
    let mut reversed = named(&a);
    reversed.reverse();
    assert_forwarded_as_alice(&scenario, &jar(&reversed), "A, cookies in reverse order");
    assert_forwarded_as_alice(
        &scenario,
        &format!("_oauth2_proxy={}", a.concat()),
        "A joined",
    );

    let with = |at: usize, value: &String| {
        let mut chunks = a.clone();
        chunks[at] = value.clone();
        chunks
    };
    let mut swapped = a.clone();
    swapped.swap(0, 1);
    let values_reversed: Vec<String> = a.iter().rev().cloned().collect();
    let gap: Vec<(String, String)> = named(&a)
        .into_iter()
        .filter(|(n, _)| n != "_oauth2_proxy_1")
        .collect();
    let spliced_b1 = with(1, &b[1]);
    let spliced_tail = with(last, &b[last]);
    let spliced_head = with(0, &b[0]);
    let next = format!("_oauth2_proxy_{}", a.len());
    let mut extra = named(&a);
    extra.push((next.clone(), "AAAA".into()));
    let mut repeated = named(&a);
    repeated.push((next, a[last].clone()));
    let mut stale_whole = vec![("_oauth2_proxy".to_string(), b[0].clone())];
    stale_whole.extend(named(&a));
    let cases: Vec<(&str, String)> = vec![
        ("chunks 0 and 1 swapped", jar(&named(&swapped))),
        ("chunk values reversed", jar(&named(&values_reversed))),
        ("chunk 1 missing", jar(&gap)),
        ("last chunk missing", jar(&named(&a[..last]))),
        ("only chunk 0", jar(&named(&a[..1]))),
        ("chunk 1 from session B", jar(&named(&spliced_b1))),
        ("last chunk from session B", jar(&named(&spliced_tail))),
        ("first chunk from session B", jar(&named(&spliced_head))),
        ("an extra garbage chunk", jar(&extra)),
        ("the last chunk repeated after it", jar(&repeated)),
        ("an unchunked cookie next to the chunks", jar(&stale_whole)),
    ];
    let invalid_before = scenario.counter("entra_proxy.session.invalid");
    for (what, cookie) in &cases {
        assert_fresh_sign_in(&scenario, cookie, what);
    }
    assert_eq!(
        scenario.counter("entra_proxy.session.invalid") - invalid_before,
        cases.len() as u64
    );
}

#[test]
fn a_valid_value_replayed_under_another_cookie_name_does_not_open() {
    let config = base_config();
    let scenario = ready(config.clone());
    let redirect = scenario.get_local("/", &[]);
    let csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").expect("csrf");
    let reply = scenario.sign_in("/", |_| {});
    let session = set_cookie_pair(&reply, "_oauth2_proxy").expect("session");

    // A CSRF cookie is not a session, and a session is not a CSRF cookie.
    assert_fresh_sign_in(
        &scenario,
        &format!("_oauth2_proxy={csrf}"),
        "CSRF value as session",
    );
    let state =
        query_param(redirect.header("location").expect("location"), "state").expect("state");
    let reply = scenario.get_local(
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", &format!("_oauth2_proxy_csrf={session}"))],
    );
    assert_eq!(reply.status, 403, "session value as CSRF cookie");
    assert!(
        scenario.host.pending_calls().is_empty(),
        "no code is redeemed"
    );

    // Another app behind the same Envoy with the same secret but its own cookie name.
    let other = ready(config_with(json!({"cookie_name": "_app_b"})));
    assert_fresh_sign_in(
        &other,
        &format!("_app_b={session}"),
        "session of app A in app B",
    );
    assert_fresh_sign_in(
        &other,
        &format!("_app_b_0={session}"),
        "as chunk 0 of app B",
    );
    let reply = other.get_local(
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", &format!("_app_b_csrf={csrf}"))],
    );
    assert_eq!(reply.status, 403, "CSRF cookie of app A in app B");
}

#[test]
fn a_cookie_from_a_rotated_away_secret_means_a_fresh_sign_in() {
    let old = ready(base_config());
    let cookie = cookie_header_from(&old.sign_in("/", |_| {}));
    let redirect = old.get_local("/", &[]);
    let csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").expect("csrf");
    let state =
        query_param(redirect.header("location").expect("location"), "state").expect("state");

    let rotated = ready(secrets(&[NEW_SECRET]));
    assert_fresh_sign_in(&rotated, &cookie, "old session under [new]");
    assert_eq!(rotated.counter("entra_proxy.session.invalid"), 1);
    let reply = rotated.get_local(
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", &format!("_oauth2_proxy_csrf={csrf}"))],
    );
    assert_eq!(reply.status, 403, "old CSRF cookie under [new]");
}

#[test]
fn during_rotation_old_cookies_still_open_and_new_ones_are_sealed_with_the_newest_secret() {
    let old_config = base_config();
    let both = secrets(&[NEW_SECRET, COOKIE_SECRET]);
    let new_only = secrets(&[NEW_SECRET]);

    let old = ready(old_config.clone());
    let old_cookie = set_cookie_pair(&old.sign_in("/", |_| {}), "_oauth2_proxy").expect("session");
    // A sign-in started before the rotation was deployed.
    let redirect = old.get_local("/", &[]);
    let old_csrf = set_cookie_pair(&redirect, "_oauth2_proxy_csrf").expect("csrf");
    let location = redirect.header("location").expect("location").to_string();

    let rotating = ready(both.clone());
    assert_forwarded_as_alice(
        &rotating,
        &format!("_oauth2_proxy={old_cookie}"),
        "old under [new, old]",
    );
    // The attempt started under the old secret completes under [new, old] …
    let state = query_param(&location, "state").expect("state");
    let nonce = query_param(&location, "nonce").expect("nonce");
    let (stream, _) = rotating.request(
        "GET",
        &format!("/oauth2/callback?code=c&state={state}"),
        &[("cookie", &format!("_oauth2_proxy_csrf={old_csrf}"))],
    );
    let call = rotating.only_call();
    rotating.answer_as_alice(&call, &nonce);
    let reply = stream.local_response().expect("callback reply");
    assert_eq!(reply.status, 302, "{}", reply.body_text());
    // … and what it issues is sealed with the newest secret only.
    let issued = set_cookie_pair(&reply, "_oauth2_proxy").expect("session");
    assert!(Session::open(&cipher_of(&new_only), "_oauth2_proxy", &issued, START).is_ok());
    assert!(Session::open(&cipher_of(&old_config), "_oauth2_proxy", &issued, START).is_err());
    let fresh = set_cookie_pair(&rotating.sign_in("/", |_| {}), "_oauth2_proxy").expect("session");
    assert!(Session::open(&cipher_of(&new_only), "_oauth2_proxy", &fresh, START).is_ok());
    assert!(Session::open(&cipher_of(&old_config), "_oauth2_proxy", &fresh, START).is_err());

    // Once the old secret is dropped, what [new, old] issued still works.
    let done = ready(new_only);
    assert_forwarded_as_alice(
        &done,
        &format!("_oauth2_proxy={issued}"),
        "issued under [new, old]",
    );
    assert_fresh_sign_in(
        &done,
        &format!("_oauth2_proxy={old_cookie}"),
        "old under [new]",
    );
}

#[test]
fn a_refresh_during_rotation_reseals_an_old_session_with_the_newest_secret() {
    let refresh = json!({"cookie_refresh": "1h", "scope": "openid email profile offline_access"});
    let mut old_config = config_with(refresh.clone());
    old_config["cookie_secret"] = json!(COOKIE_SECRET);
    let mut both = config_with(refresh);
    both["cookie_secret"] = json!([NEW_SECRET, COOKIE_SECRET]);

    let old = ready(old_config.clone());
    old.host.tick();
    let reply = old.sign_in_with(
        "/",
        |_| {},
        |t| test_idp::token_response_with_refresh(t, "refresh-1"),
    );
    let cookie = cookie_header_from(&reply);

    let rotating = ready(both);
    rotating.host.tick();
    rotating.host.advance(Duration::from_secs(3600));
    let (stream, action) = rotating.request("GET", "/due", &[("cookie", &cookie)]);
    assert_eq!(
        action,
        Action::Pause,
        "the old session is due for a refresh"
    );
    let call = rotating.only_call();
    assert!(
        call.body_text().contains("refresh_token=refresh-1"),
        "{}",
        call.body_text()
    );
    let mut claims = test_idp::alice_claims(rotating.now(), "unused");
    claims.as_object_mut().expect("object").remove("nonce");
    let token = test_idp::sign(test_idp::key(0), &claims);
    rotating.host.respond(
        call.token,
        200,
        &[],
        test_idp::token_response_with_refresh(&token, "refresh-2").as_bytes(),
    );
    assert!(stream.request_resumed());
    stream.response_headers(&[(":status", "200")], false);
    let resealed = stream
        .response_header_map()
        .get_all("set-cookie")
        .into_iter()
        .find_map(|c| {
            c.split(';')
                .next()?
                .strip_prefix("_oauth2_proxy=")
                .map(str::to_string)
        })
        .expect("refreshed cookie");
    let now = rotating.now();
    let new_only = {
        let mut c = old_config.clone();
        c["cookie_secret"] = json!(NEW_SECRET);
        c
    };
    let opened = Session::open(&cipher_of(&new_only), "_oauth2_proxy", &resealed, now)
        .expect("the refreshed cookie opens with the newest secret alone");
    assert_eq!(opened.refresh_token.as_deref(), Some("refresh-2"));
    assert!(Session::open(&cipher_of(&old_config), "_oauth2_proxy", &resealed, now).is_err());
}
