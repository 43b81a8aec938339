//! Spoofed identity headers in every spelling, on every path that forwards.

use super::*;

/// Lower-case with `_` as `-`: how CGI-style frameworks see a header name.
fn folded(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

const IDENTITY_NAMES: &[&str] = &[
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-groups",
    "x-forwarded-preferred-username",
    "x-forwarded-access-token",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-groups",
    "x-auth-request-preferred-username",
    "x-auth-request-access-token",
    "authorization",
];

/// Spoofed identity headers in every spelling: case, `_` for `-`, mixed, repeated.
fn spoofed_headers() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in IDENTITY_NAMES {
        let value = if *name == "authorization" {
            "Bearer forged"
        } else {
            "mallory"
        };
        let upper = name.to_ascii_uppercase();
        let underscored = name.replace('-', "_");
        let mixed: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| match (i % 3, c) {
                (_, '-') if i % 2 == 0 => '_',
                (0, c) => c.to_ascii_uppercase(),
                (_, c) => c,
            })
            .collect();
        for spelled in [
            name.to_string(),
            upper,
            underscored.clone(),
            underscored.to_ascii_uppercase(),
            mixed,
        ] {
            out.push((spelled, value.to_string()));
        }
    }
    // Two copies of the same header, one upper-case, as separate header lines.
    out.push(("x-forwarded-user".into(), "mallory-1".into()));
    out.push(("X-FORWARDED-USER".into(), "mallory-2".into()));
    out.push(("x-forwarded-groups".into(), "admins".into()));
    out.push(("X-Forwarded-Groups".into(), "admins,root".into()));
    out
}

/// No header the upstream could read as an identity header carries a client-supplied value.
fn assert_no_spoofed_identity(stream: &Stream, what: &str) {
    let forwarded = stream.request_header_map();
    for (name, value) in forwarded.iter() {
        if IDENTITY_NAMES.contains(&folded(name).as_str()) {
            assert!(
                !value.contains("mallory")
                    && !value.contains("forged")
                    && !value.contains("admins"),
                "{what}: {name}: {value} reached the upstream"
            );
        }
    }
}

fn with_spoofed<'a>(
    spoofed: &'a [(String, String)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    headers.extend(spoofed.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    headers
}

#[test]
fn spoofed_identity_headers_in_any_spelling_are_replaced_for_signed_in_users() {
    let spoofed = spoofed_headers();
    for config in [
        json!({"set_xauthrequest": true, "pass_access_token": true, "pass_authorization_header": true}),
        json!({}),
        json!({"pass_user_headers": false}),
    ] {
        let scenario = ready(config_with(config.clone()));
        let cookie = cookie_header_from(&scenario.sign_in("/", |_| {}));
        let headers = with_spoofed(&spoofed, &[("cookie", &cookie)]);
        let (stream, action) = scenario.request("GET", "/data", &headers);
        assert_eq!(action, Action::Continue, "{config}");
        assert_no_spoofed_identity(&stream, &config.to_string());
        let forwarded = stream.request_header_map();
        let users = forwarded.get_all("x-forwarded-user");
        if config.get("pass_user_headers") == Some(&json!(false)) {
            assert!(users.is_empty(), "{config}: {users:?}");
        } else {
            assert_eq!(
                users,
                vec![ALICE_OID],
                "{config}: exactly one, the filter's"
            );
        }
        // Each identity header the filter set appears exactly once, in one spelling.
        for name in IDENTITY_NAMES {
            let copies = forwarded.iter().filter(|(n, _)| folded(n) == *name).count();
            assert!(copies <= 1, "{config}: {name} appears {copies} times");
        }
    }
}

#[test]
fn spoofed_identity_headers_are_stripped_on_skipped_routes_preflights_and_the_auth_endpoint() {
    let spoofed = spoofed_headers();
    let scenario = ready(config_with(json!({
        "skip_auth_routes": ["GET=^/health$", "^/public/"],
        "skip_auth_preflight": true,
        "set_xauthrequest": true,
    })));
    let preflight = [
        ("origin", "https://spa.example.com"),
        ("access-control-request-method", "POST"),
    ];
    for (method, path, extra) in [
        ("GET", "/health", &[][..]),
        ("POST", "/public/form", &[][..]),
        ("OPTIONS", "/api/x", &preflight[..]),
    ] {
        let headers = with_spoofed(&spoofed, extra);
        let (stream, action) = scenario.request(method, path, &headers);
        assert_eq!(action, Action::Continue, "{method} {path}");
        let forwarded = stream.request_header_map();
        for (name, value) in forwarded.iter() {
            assert!(
                !IDENTITY_NAMES.contains(&folded(name).as_str()),
                "{method} {path}: {name}: {value} passed a skipped route"
            );
        }
    }
    // Without a session the spoofed headers never reach anything.
    let headers = with_spoofed(&spoofed, &[]);
    let (_, action) = scenario.request("GET", "/private", &headers);
    assert_eq!(action, Action::Pause);
    let reply = scenario.get_local("/oauth2/auth", &headers);
    assert_eq!(reply.status, 401);
    for name in IDENTITY_NAMES {
        assert!(
            reply.header(name).is_none(),
            "/oauth2/auth without a session echoed {name}"
        );
    }
    // With a session, /oauth2/auth answers the session's identity, not the request's headers.
    let cookie = cookie_header_from(&scenario.sign_in("/", |_| {}));
    let headers = with_spoofed(&spoofed, &[("cookie", &cookie)]);
    let reply = scenario.get_local("/oauth2/auth", &headers);
    assert_eq!(reply.status, 202);
    assert_eq!(
        reply.headers.get_all("x-auth-request-user"),
        vec![ALICE_OID]
    );
    assert!(reply
        .headers
        .get_all("x-auth-request-groups")
        .iter()
        .all(|g| !g.contains("admins")));
}
