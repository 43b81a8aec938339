//! Oversized cookies, headers and paths: bounded work, clean answers.

use super::*;

const BIG: usize = 64 * 1024;

/// What is sent, the path, and extra headers.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

/// Run one request and return its outcome, checking it took bounded time. The filter runs
/// unoptimized here; the bound only catches runaway (quadratic or worse) work.
fn timed_request(
    scenario: &Scenario,
    path: &str,
    headers: &[(&str, &str)],
    what: &str,
) -> (Stream, Action) {
    let started = Instant::now();
    let result = scenario.request("GET", path, headers);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "{what}: took {took:?}");
    result
}

/// `len` base64url characters that do not compress (a SHA-256 chain), like real sealed data.
fn base64ish(len: usize) -> String {
    let mut out = String::with_capacity(len + 64);
    let mut block = Sha256::digest(b"seed");
    while out.len() < len {
        out.push_str(&b64(&block));
        block = Sha256::digest(block);
    }
    out.truncate(len);
    out
}

#[test]
fn sixty_four_kilobyte_cookies_get_a_fresh_sign_in_in_bounded_time() {
    let scenario = ready(base_config());
    let many_small: String = (0..BIG / 8).map(|i| format!("c{i}=v; ")).collect();
    let many_chunks: String = (0..200)
        .map(|i| format!("_oauth2_proxy_{i}={}", base64ish(3800)))
        .collect::<Vec<_>>()
        .join("; ");
    let cases: Vec<(&str, String)> = vec![
        (
            "64 KB base64url session cookie",
            format!("_oauth2_proxy={}", base64ish(BIG)),
        ),
        (
            "64 KB non-base64 session cookie",
            format!("_oauth2_proxy={}", "!".repeat(BIG)),
        ),
        (
            "64 KB of quotes",
            format!("_oauth2_proxy=\"{}\"", "\"".repeat(BIG)),
        ),
        ("8,000 small cookies", many_small),
        ("200 chunks of 3,800 bytes", many_chunks),
        (
            "64 KB chunk 0",
            format!("_oauth2_proxy_0={}; _oauth2_proxy_1=AAAA", base64ish(BIG)),
        ),
    ];
    for (what, cookie) in &cases {
        let (stream, action) = timed_request(&scenario, "/private", &[("cookie", cookie)], what);
        assert_eq!(action, Action::Pause, "{what}");
        let reply = stream
            .local_response()
            .unwrap_or_else(|| panic!("{what}: no reply"));
        assert!(
            reply.status == 302 || (400..500).contains(&reply.status),
            "{what}: {}",
            reply.status
        );
        for set in set_cookies(&reply) {
            assert!(set.len() < 4096, "{what}: a {}-byte Set-Cookie", set.len());
        }
    }
    // A 64 KB cookie of one's own next to a valid session: the session still works and the
    // stranger cookie is passed on untouched.
    let session = cookie_header_from(&scenario.sign_in("/", |_| {}));
    let junk = format!("junk={}", "j".repeat(BIG));
    let (stream, action) = timed_request(
        &scenario,
        "/",
        &[("cookie", &junk), ("cookie", &session)],
        "junk",
    );
    assert_eq!(action, Action::Continue);
    assert_eq!(
        stream.request_header_map().get("cookie"),
        Some(junk.as_str())
    );
}

#[test]
fn sixty_four_kilobyte_headers_are_handled_cleanly() {
    let scenario = ready(config_with(json!({"skip_jwt_bearer_tokens": true})));
    let big = "m".repeat(BIG);
    let session = cookie_header_from(&scenario.sign_in("/", |_| {}));

    // Signed in: spoofed 64 KB identity headers are dropped, other big headers pass.
    let (stream, action) = timed_request(
        &scenario,
        "/",
        &[
            ("cookie", &session),
            ("x-forwarded-user", &big),
            ("X_Auth_Request_Email", &big),
            ("x-big", &big),
            ("x-request-id", &big),
        ],
        "signed in",
    );
    assert_eq!(action, Action::Continue);
    let forwarded = stream.request_header_map();
    assert_eq!(forwarded.get_all("x-forwarded-user"), vec![ALICE_OID]);
    assert!(!forwarded.contains("x_auth_request_email"));
    assert_eq!(forwarded.get("x-big").map(str::len), Some(BIG));

    // Not signed in: a clean answer, and no 64 KB echo of a client header in it.
    let bearer = format!("Bearer {}", base64ish(BIG));
    let cases: Vec<Case> = vec![
        (
            "64 KB request id",
            "/private".into(),
            vec![("x-request-id", big.as_str())],
        ),
        (
            "64 KB accept",
            "/private".into(),
            vec![("accept", big.as_str())],
        ),
        (
            "64 KB bearer token",
            "/api".into(),
            vec![("authorization", bearer.as_str())],
        ),
        (
            "64 KB code and state",
            format!("/oauth2/callback?code={big}&state={big}"),
            vec![],
        ),
        (
            "64 KB CSRF cookie",
            "/oauth2/callback?code=c&state=s".into(),
            vec![],
        ),
        ("64 KB rd", format!("/oauth2/start?rd=/{big}"), vec![]),
        (
            "64 KB sign-out rd",
            format!("/oauth2/sign_out?rd={big}"),
            vec![],
        ),
        ("64 KB host", "/private".into(), vec![]),
    ];
    let csrf = format!("_oauth2_proxy_csrf={}", base64ish(BIG));
    for (what, path, mut headers) in cases {
        if what == "64 KB CSRF cookie" {
            headers.push(("cookie", csrf.as_str()));
        }
        let (stream, action) = if what == "64 KB host" {
            let started = Instant::now();
            let s = scenario.host.new_stream();
            let a = s.request_headers(
                &[
                    (":method", "GET"),
                    (":path", "/private"),
                    (":authority", &big),
                    (":scheme", "https"),
                ],
                true,
            );
            assert!(started.elapsed() < Duration::from_secs(5), "{what}");
            (s, a)
        } else {
            timed_request(&scenario, &path, &headers, what)
        };
        assert_eq!(action, Action::Pause, "{what}");
        assert!(
            scenario.host.pending_calls().is_empty(),
            "{what}: no callout"
        );
        let reply = stream
            .local_response()
            .unwrap_or_else(|| panic!("{what}: no reply"));
        assert!(
            matches!(reply.status, 302 | 400..=499),
            "{what}: {}",
            reply.status
        );
        assert!(
            reply.body.len() < 16 * 1024,
            "{what}: {}-byte body",
            reply.body.len()
        );
        if what == "64 KB host" {
            // Without `redirect_url` the callback URL is built from the Host header, so a huge
            // Host comes back in the Location; Envoy bounds request headers (60 KiB) first.
            continue;
        }
        let header_bytes: usize = reply.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert!(
            header_bytes < 16 * 1024,
            "{what}: {header_bytes} bytes of response headers"
        );
    }
}

/// An unauthenticated request's path becomes the post-sign-in target and is sealed into the
/// CSRF cookie. A 64 KB path makes a 64 KB `Set-Cookie` that every browser drops (4096-byte
/// limit) and that Envoy may refuse to send; the sign-in can then never complete.
#[test]
fn a_sixty_four_kilobyte_path_does_not_make_an_oversized_csrf_cookie() {
    let scenario = ready(base_config());
    let path = format!("/{}", base64ish(BIG));
    let (stream, action) = timed_request(&scenario, &path, &[], "64 KB path");
    assert_eq!(action, Action::Pause);
    let reply = stream.local_response().expect("reply");
    assert!(matches!(reply.status, 302 | 400..=499), "{}", reply.status);
    for set in set_cookies(&reply) {
        assert!(set.len() < 4096, "a {}-byte Set-Cookie", set.len());
    }
}
