//! Under load: many workers, many clients, a rotating key.

use super::*;

/// Envoy with 4 workers; 200 client threads over 8 sessions send 2,000 requests while four
/// more threads sign in, two send forged cookies with spoofed identity headers, the signing key
/// rotates halfway, and every session's refresh falls due (`cookie_refresh: 1s`), so refreshes
/// (one per session, under the lease) happen in the middle of the load. Every signed-in request gets 200, and every request the upstream sees
/// carries exactly one `X-Forwarded-User`: the signed-in user's.
#[test]
fn two_hundred_signed_in_clients_on_four_workers_while_the_key_rotates() {
    const CLIENTS: usize = 200;
    const PER_CLIENT: usize = 10;
    const SIGN_INS: usize = 4;
    const SPOOFERS: usize = 2;
    let stack = Arc::new(Hardened::start(
        "hardening_load",
        Options {
            workers: 4,
            overrides: json!({"cookie_refresh": "1s", "scope": "openid email profile offline_access"}),
            ..Options::default()
        },
    ));
    let sessions: Vec<Client> = (0..8)
        .map(|i| signed_in(&stack, &format!("/warm/{i}")))
        .collect();
    // Let the sessions' refresh fall due: only the clock can make that happen.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let tokens_before = stack.entra.counts().token;
    stack.upstream.clear();
    let done = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(CLIENTS + SIGN_INS + SPOOFERS + 1));
    let started = Instant::now();

    let mut load = Vec::new();
    for c in 0..CLIENTS {
        let (stack, start, done) = (Arc::clone(&stack), Arc::clone(&start), Arc::clone(&done));
        let mut client = sessions[c % sessions.len()].clone();
        load.push(std::thread::spawn(move || {
            start.wait();
            (0..PER_CLIENT)
                .map(|r| {
                    let status = client
                        .get_url(&stack.url(&format!("/load/{c}/{r}")), &[])
                        .status;
                    done.fetch_add(1, Ordering::SeqCst);
                    status
                })
                .collect::<Vec<u16>>()
        }));
    }
    let mut sign_ins = Vec::new();
    for s in 0..SIGN_INS {
        let (stack, start) = (Arc::clone(&stack), Arc::clone(&start));
        sign_ins.push(std::thread::spawn(move || {
            start.wait();
            (0..2)
                .map(|n| {
                    let mut client = Client::new();
                    let hops = stack.sign_in(&mut client, &format!("/fresh/{s}/{n}"));
                    hops.last().map_or(0, |r| r.status)
                })
                .collect::<Vec<u16>>()
        }));
    }
    let mut spoofers = Vec::new();
    for s in 0..SPOOFERS {
        let (stack, start) = (Arc::clone(&stack), Arc::clone(&start));
        spoofers.push(std::thread::spawn(move || {
            start.wait();
            (0..20)
                .map(|n| {
                    let mut client = Client::new();
                    client.set(
                        "_oauth2_proxy",
                        &format!("forged-{s}-{n}-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                    );
                    let spoofed = [
                        ("X-Forwarded-User", "mallory"),
                        ("x_forwarded_user", "mallory"),
                        ("X-Auth-Request-User", "mallory"),
                    ];
                    client
                        .get_url(&stack.url(&format!("/spoof/{s}/{n}")), &spoofed)
                        .status
                })
                .collect::<Vec<u16>>()
        }));
    }
    start.wait();
    wait_until("half of the load", Duration::from_secs(60), || {
        (done.load(Ordering::SeqCst) >= CLIENTS * PER_CLIENT / 2).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    stack.entra.rotate_keys();

    let statuses: Vec<u16> = load
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect();
    let sign_in_statuses: Vec<u16> = sign_ins
        .into_iter()
        .flat_map(|t| t.join().expect("sign-in thread"))
        .collect();
    let spoof_statuses: Vec<u16> = spoofers
        .into_iter()
        .flat_map(|t| t.join().expect("spoofer"))
        .collect();
    let took = started.elapsed();

    let not_ok: Vec<u16> = statuses.iter().copied().filter(|s| *s != 200).collect();
    assert_eq!(statuses.len(), CLIENTS * PER_CLIENT);
    assert!(
        not_ok.is_empty(),
        "{} signed-in requests failed: {not_ok:?}",
        not_ok.len()
    );
    assert!(
        spoof_statuses.iter().all(|s| *s == 302),
        "{spoof_statuses:?}"
    );
    assert!(
        sign_in_statuses.iter().all(|s| matches!(s, 200 | 403)),
        "{sign_in_statuses:?}"
    );
    let signed_in_fresh = sign_in_statuses.iter().filter(|s| **s == 200).count();

    let seen = stack.upstream.requests();
    assert_eq!(
        seen.len(),
        CLIENTS * PER_CLIENT + signed_in_fresh,
        "every request the app saw"
    );
    let oid = alice().oid;
    for request in &seen {
        assert_eq!(
            request.header_all("x-forwarded-user"),
            vec![oid.as_str()],
            "{}",
            request.path
        );
        assert!(!request.path.starts_with("/spoof/"), "{}", request.path);
        assert!(
            request.headers.iter().all(|(n, v)| !v.contains("mallory") && !n.eq_ignore_ascii_case("x_forwarded_user")),
            "{}",
            request.path
        );
        assert!(
            !request
                .header("cookie")
                .unwrap_or("")
                .contains("_oauth2_proxy"),
            "{}",
            request.path
        );
    }
    assert_eq!(
        stack.counter("entra_proxy.session.valid"),
        (CLIENTS * PER_CLIENT + signed_in_fresh + 8) as u64,
        "every signed-in request was decided by its session"
    );
    // Every session refreshed during the load (some twice: a refreshed cookie is due again a
    // second later), none was refused, and no session was signed out by the key rotation.
    let refreshed = stack.counter("entra_proxy.session.refreshed");
    assert!(refreshed >= 8, "{refreshed} refreshes");
    assert_eq!(stack.counter("entra_proxy.session.refresh_rejected"), 0);
    assert!(stack.entra.counts().token - tokens_before >= refreshed);
    eprintln!(
        "load: {} requests in {took:?}; {signed_in_fresh}/{} sign-ins during the run succeeded",
        statuses.len(),
        sign_in_statuses.len()
    );
}
