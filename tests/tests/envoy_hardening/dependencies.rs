//! Failing dependencies: JWKS down, token endpoint faults during refresh, key rotation.

use super::*;

#[test]
fn with_the_jwks_endpoint_down_and_keys_cached_nobody_notices() {
    let stack = Hardened::start("hardening_jwks_down", Options::default());
    let mut before = signed_in(&stack, "/");
    stack.entra.set_fault(Endpoint::Jwks, Fault::Status(500));
    stack.entra.reset_counts();
    for i in 0..10 {
        assert_served_as_alice(&stack, &mut before, &format!("/signed-in/{i}"));
    }
    let mut after = signed_in(&stack, "/new-sign-in");
    assert_served_as_alice(&stack, &mut after, "/again");
    let counts = stack.entra.counts();
    assert_eq!(counts.jwks, 0, "cached keys need no fetch");
    assert_eq!(counts.token, 1, "the new sign-in redeemed its code");
    assert_eq!(stack.counter("entra_proxy.provider.jwks_failed"), 0);
}

/// Once a refresh is due, a token endpoint that is slow past `http_timeout`, broken or failing
/// does not sign anyone out: the current session is served (within `cookie_refresh_grace`)
/// after at most the timeout, and the refresh is retried later, not on every request.
#[test]
fn a_slow_or_failing_token_endpoint_during_refresh_is_invisible_to_signed_in_users() {
    let stack = Hardened::start(
        "hardening_refresh_faults",
        Options {
            overrides: json!({
                "cookie_refresh": "1s",
                "scope": "openid email profile offline_access",
                "http_timeout": "1s",
            }),
            ..Options::default()
        },
    );
    let faults = [
        Fault::Delay(Duration::from_secs(4)),
        Fault::MalformedJson,
        Fault::Status(500),
        Fault::Close,
    ];
    let mut clients: Vec<Client> = faults.iter().map(|_| signed_in(&stack, "/")).collect();
    // A refresh is due once a second has passed: nothing to poll for but the clock.
    std::thread::sleep(Duration::from_millis(2100));
    for (i, (fault, client)) in faults.iter().zip(&mut clients).enumerate() {
        stack.entra.set_fault(Endpoint::Token, fault.clone());
        let tokens = stack.entra.counts().token;
        let started = Instant::now();
        assert_served_as_alice(&stack, client, &format!("/due/{i}"));
        let took = started.elapsed();
        assert!(
            took < Duration::from_millis(3500),
            "{fault:?}: served after {took:?}"
        );
        assert_eq!(
            stack.entra.counts().token,
            tokens + 1,
            "{fault:?}: one refresh attempt"
        );
        // Backed off: the next request does not try again.
        assert_served_as_alice(&stack, client, &format!("/due/{i}/again"));
        assert_eq!(
            stack.entra.counts().token,
            tokens + 1,
            "{fault:?}: no retry yet"
        );
        assert_eq!(
            stack.counter("entra_proxy.session.refresh_failed"),
            i as u64 + 1
        );
    }
    stack.entra.clear_faults();
    assert_eq!(stack.counter("entra_proxy.session.refresh_rejected"), 0);
    assert_eq!(stack.counter("entra_proxy.session.refreshed"), 0);
}

/// Invariants that hold whatever the unknown-kid rate limit counts from: after the signing
/// key rotates (twice), sign-ins end at the app or with a clean 403 — never a 5xx — the JWKS is
/// fetched at most once across four workers within the minute, and signed-in users never
/// notice.
#[test]
fn unknown_kid_refetches_are_rate_limited_across_workers_and_never_5xx() {
    let stack = Hardened::start(
        "hardening_rotation_rate_limit",
        Options {
            workers: 4,
            ..Options::default()
        },
    );
    let mut alice_before = signed_in(&stack, "/");
    stack.entra.reset_counts();
    stack.upstream.clear();
    let mut successes = 0;
    for round in 0..2 {
        stack.entra.rotate_keys();
        for attempt in 0..3 {
            let mut client = Client::new();
            let hops = stack.sign_in(&mut client, &format!("/r{round}/a{attempt}"));
            let last = hops.last().expect("a reply");
            assert!(
                matches!(last.status, 200 | 403),
                "round {round}: {} {}",
                last.status,
                last.body
            );
            successes += usize::from(last.status == 200);
        }
        assert_served_as_alice(&stack, &mut alice_before, &format!("/signed-in/{round}"));
    }
    let jwks = stack.entra.counts().jwks;
    assert!(jwks <= 1, "{jwks} JWKS fetches within a minute");
    assert_eq!(
        stack.upstream.count(),
        successes + 2,
        "only signed-in requests reached the app"
    );
}

/// What the README promises: a token signed with a new key triggers one JWKS refetch, shared
/// with every worker, and the sign-in succeeds; a second new key within the minute does not
/// refetch again.
#[test]
fn a_rotated_signing_key_is_fetched_once_and_the_next_sign_in_succeeds() {
    let stack = Hardened::start(
        "hardening_rotation",
        Options {
            workers: 4,
            ..Options::default()
        },
    );
    let mut first = signed_in(&stack, "/");
    stack.entra.reset_counts();
    stack.entra.rotate_keys();
    let mut second = signed_in(&stack, "/after-rotation");
    assert_eq!(stack.entra.counts().jwks, 1, "exactly one refetch");
    // The new key is shared: more sign-ins on any worker need no fetch.
    for i in 0..4 {
        signed_in(&stack, &format!("/more/{i}"));
    }
    assert_eq!(stack.entra.counts().jwks, 1);
    stack.entra.rotate_keys();
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, "/second-rotation");
    assert_eq!(hops.last().map(|r| r.status), Some(403), "rate limited");
    assert_eq!(
        stack.entra.counts().jwks,
        1,
        "no second refetch within the minute"
    );
    assert_served_as_alice(&stack, &mut first, "/first");
    assert_served_as_alice(&stack, &mut second, "/second");
}

/// After the signing key rotates, a due refresh returns an ID token with the new `kid`.
#[test]
fn a_refresh_after_the_signing_key_rotated_keeps_the_user_signed_in() {
    let stack = Hardened::start(
        "hardening_refresh_rotation",
        Options {
            overrides: json!({"cookie_refresh": "1s", "scope": "openid email profile offline_access"}),
            ..Options::default()
        },
    );
    let mut client = signed_in(&stack, "/");
    stack.entra.rotate_keys();
    // A refresh is due once a second has passed: nothing to poll for but the clock.
    std::thread::sleep(Duration::from_millis(2100));
    assert_served_as_alice(&stack, &mut client, "/due");
    assert_eq!(stack.counter("entra_proxy.session.refresh_rejected"), 0);
}

/// Envoy forwards `//evil.com` as the path (no `merge_slashes` by default); the filter makes
/// it the post-sign-in target.
#[test]
fn a_scheme_relative_request_path_does_not_become_an_open_redirect() {
    let stack = Hardened::start("hardening_path_redirect", Options::default());
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, "//evil.com/");
    let callback = hops
        .iter()
        .find(|r| {
            r.set_cookies()
                .iter()
                .any(|c| c.starts_with("_oauth2_proxy="))
        })
        .expect("the callback's reply");
    let location = callback.header("location").unwrap_or_default();
    let resolved = url::Url::parse(&stack.base)
        .and_then(|b| b.join(location))
        .expect("a URL");
    assert_eq!(
        resolved.host_str(),
        Some("127.0.0.1"),
        "Location: {location}"
    );
}
