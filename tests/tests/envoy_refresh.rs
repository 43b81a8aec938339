//! Session refresh and sign-out through a real Envoy with 4 workers.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use entra_proxy_tests::client::Client;
use entra_proxy_tests::emulator::{user_with_groups, EmulatorConfig};
use entra_proxy_tests::stack::Stack;
use serde_json::json;

#[test]
fn thirty_parallel_requests_cause_exactly_one_refresh_across_four_workers() {
    let emulator = EmulatorConfig {
        auto_login: Some("alice".into()),
        ..EmulatorConfig::default()
    };
    let stack = Stack::start(
        "e2e_refresh_once",
        emulator,
        json!({"cookie_refresh": "1s", "scope": "openid email profile offline_access"}),
        4,
    );
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, "/");
    assert_eq!(hops.last().unwrap().status, 200);
    let before = stack.entra.counts().token;
    // With a 1 s refresh interval the sign-in's own last hop may already be due (when it lands
    // in the next second of the clock); count from here.
    let refreshed_before = stack.counter("entra_proxy.session.refreshed");

    // A refresh is due only once time has passed; nothing to poll for but the clock.
    std::thread::sleep(Duration::from_millis(2100));

    let barrier = Arc::new(Barrier::new(30));
    let threads: Vec<_> = (0..30)
        .map(|i| {
            let mut client = client.clone();
            let barrier = Arc::clone(&barrier);
            let url = stack.url(&format!("/asset/{i}.js"));
            std::thread::spawn(move || {
                barrier.wait();
                client.get_url(&url, &[])
            })
        })
        .collect();
    let replies: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(
        stack.entra.counts().token - before,
        1,
        "exactly one refresh reached Entra"
    );
    let refreshed: Vec<_> = replies
        .iter()
        .filter(|r| {
            r.set_cookies()
                .iter()
                .any(|c| c.starts_with("_oauth2_proxy="))
        })
        .collect();
    assert_eq!(
        refreshed.len(),
        1,
        "one response carries the refreshed cookie"
    );
    assert_eq!(
        stack.counter("entra_proxy.session.refreshed") - refreshed_before,
        1
    );
    assert_eq!(stack.upstream.count(), 31);

    // The refreshed cookie works without another refresh.
    let mut fresh = client.clone();
    for cookie in refreshed[0].set_cookies() {
        let (name, rest) = cookie.split_once('=').unwrap();
        fresh.set(name, rest.split(';').next().unwrap());
    }
    assert_eq!(fresh.get_url(&stack.url("/after"), &[]).status, 200);
    assert_eq!(stack.entra.counts().token - before, 1);
}

#[test]
fn sign_out_clears_every_chunk_of_a_large_session() {
    let emulator = EmulatorConfig {
        auto_login: Some("groups150@contoso.example".into()),
        users: vec![user_with_groups("groups150@contoso.example", 150)],
        ..EmulatorConfig::default()
    };
    let stack = Stack::start(
        "e2e_sign_out_chunks",
        emulator,
        json!({"pass_authorization_header": true, "pass_access_token": true, "whitelist_domains": ["127.0.0.1:*"]}),
        2,
    );
    let mut client = Client::new();
    stack.sign_in(&mut client, "/");
    let chunks: Vec<String> = client
        .cookies
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| n.starts_with("_oauth2_proxy"))
        .collect();
    assert!(chunks.len() >= 2, "the session is chunked: {chunks:?}");
    let reply = client.get_url(&stack.url("/oauth2/sign_out?rd=%2Fgoodbye"), &[]);
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("location"), Some("/goodbye"));
    assert!(
        !client
            .cookies
            .iter()
            .any(|(n, _)| n.starts_with("_oauth2_proxy")),
        "{:?}",
        client.cookies
    );
    let before = stack.upstream.count();
    assert_eq!(client.get_url(&stack.url("/"), &[]).status, 302);
    assert_eq!(stack.upstream.count(), before);
}

#[test]
fn a_refresh_token_entra_refuses_ends_the_session_with_a_fresh_sign_in() {
    let emulator = EmulatorConfig {
        auto_login: Some("alice".into()),
        refresh_token_lifetime: Duration::from_secs(60),
        ..EmulatorConfig::default()
    };
    let stack = Stack::start(
        "e2e_refresh_invalid_grant",
        emulator,
        json!({"cookie_refresh": "1s", "scope": "openid email profile offline_access"}),
        2,
    );
    let mut client = Client::new();
    assert_eq!(stack.sign_in(&mut client, "/").last().unwrap().status, 200);
    // The refresh token expires at Entra (its clock moves), and the session's refresh is due.
    stack.entra.advance_clock(Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(2100));
    let before = stack.upstream.count();
    let reply = client.get_url(&stack.url("/after-expiry"), &[]);
    assert_eq!(reply.status, 302, "{}", reply.body);
    assert!(reply
        .header("location")
        .unwrap()
        .contains("/oauth2/v2.0/authorize"));
    assert!(
        reply
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("_oauth2_proxy=; ")),
        "the dead session is cleared"
    );
    assert_eq!(stack.upstream.count(), before, "nothing reached the app");
    assert_eq!(stack.counter("entra_proxy.session.refresh_rejected"), 1);
    stack
        .envoy
        .wait_for_log("AADSTS700082", Duration::from_secs(10));
}
