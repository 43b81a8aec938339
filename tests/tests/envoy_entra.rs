//! Entra-specific rules end to end: a real Envoy running the release wasm in front of the
//! recording upstream, against the Entra and Graph emulator. Multi-tenant sign-in with an
//! allow-list of tenants, group overage resolved on Microsoft Graph (paged and through
//! `checkMemberGroups`), cookie size for a user in 1,000 groups, and Graph failures that must
//! fail the sign-in closed. Every test checks which requests the upstream saw.

use std::time::Duration;

use entra_proxy_tests::client::{Client, Reply};
use entra_proxy_tests::emulator::{
    group_id, personal_user, user_with_groups, Emulator, EmulatorConfig, Endpoint, Fault,
    CONSUMERS_TENANT_ID, DEFAULT_TENANT_ID, FABRIKAM_TENANT_ID, GLOBAL_READER_ROLE_ID,
    WOODGROVE_TENANT_ID,
};
use entra_proxy_tests::envoy::{Envoy, EnvoyConfig};
use entra_proxy_tests::paths::TestLogs;
use entra_proxy_tests::stack::{plugin_config, Stack, READY_STAT};
use entra_proxy_tests::upstream::Upstream;
use serde_json::{json, Value};

/// Base name of the session cookie (`plugin_config` keeps oauth2-proxy's default).
const SESSION: &str = "_oauth2_proxy";
/// 250 groups: overage token, three Graph pages of 100.
const G250: &str = "groups250@contoso.example";
/// 1,000 groups: overage token, eleven Graph pages of 100.
const G1000: &str = "groups1000@contoso.example";
/// What the issue allows the session cookies of one user to weigh, in total.
const COOKIE_BUDGET: usize = 8 * 1024;
/// Graph page size for these tests, so 250 groups (plus a directory role) span 3 pages.
const PAGE_LIMIT: usize = 100;
/// Bound on every log wait.
const LOG_WAIT: Duration = Duration::from_secs(10);

/// Emulator for the group tests: default directory, small Graph pages; users sign in by
/// `login_hint` so one stack serves several of them.
fn group_emulator(auto_login: Option<&str>) -> EmulatorConfig {
    EmulatorConfig {
        auto_login: auto_login.map(str::to_string),
        login_hint_skips_form: true,
        graph_page_limit: PAGE_LIMIT,
        ..EmulatorConfig::default()
    }
}

/// Plugin options that resolve overage on the emulator's Graph.
fn graph_overrides(entra_graph: &str, allowed_groups: &[String], scope: &str) -> Value {
    json!({
        "allowed_groups": allowed_groups,
        "entra_id_graph_url": entra_graph,
        "scope": scope,
    })
}

/// Like [`Stack::start`], for plugin options that name the emulator's own URLs (the Graph
/// base URL, the `common` issuer): `make` builds them from the started emulator.
fn start_with(
    test: &str,
    emulator: EmulatorConfig,
    make: impl FnOnce(&Emulator) -> Value,
    workers: u32,
) -> Stack {
    let logs = TestLogs::new(test);
    let entra = Emulator::start(emulator);
    let upstream = Upstream::start();
    let config = EnvoyConfig::new(upstream.port())
        .plugin_config(plugin_config(&entra, make(&entra)))
        .cluster("entra", entra.port())
        .concurrency(workers);
    let envoy = Envoy::start(&config, &logs.subdir("envoy"));
    envoy.wait_for_counter(READY_STAT, 1, Duration::from_secs(30));
    let base = envoy.url("main");
    Stack {
        envoy,
        entra,
        upstream,
        base,
        logs,
    }
}

/// Sign in as `username` by adding a `login_hint` to the authorize URL the filter chose (the
/// emulator then skips its form); returns every hop.
fn sign_in_as(stack: &Stack, client: &mut Client, username: &str, path: &str) -> Vec<Reply> {
    let first = client.get_url(&stack.url(path), &[]);
    assert_eq!(first.status, 302, "{}", first.body);
    let authorize = first
        .header("location")
        .expect("redirect to Entra")
        .to_string();
    assert!(
        authorize.starts_with(&stack.entra.base_url()),
        "{authorize}"
    );
    let hinted = format!("{authorize}&login_hint={}", username.replace('@', "%40"));
    let mut hops = vec![first];
    hops.extend(client.follow(&hinted, &stack.base, 8));
    hops
}

fn statuses(hops: &[Reply]) -> Vec<u16> {
    hops.iter().map(|r| r.status).collect()
}

/// Names of the session cookies in the jar (`_oauth2_proxy` or its chunks, not the CSRF one).
fn session_cookie_names(client: &Client) -> Vec<String> {
    client
        .cookies
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| is_session_cookie(n))
        .collect()
}

fn is_session_cookie(name: &str) -> bool {
    name == SESSION
        || name
            .strip_prefix(SESSION)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Total bytes of the session `Set-Cookie` lines of one reply (attributes included). Lines
/// are counted once each: `Client` records a repeated header once per occurrence of its name.
fn session_set_cookie_bytes(reply: &Reply) -> usize {
    let mut lines: Vec<&str> = reply
        .set_cookies()
        .into_iter()
        .filter(|c| {
            let name = c.split('=').next().unwrap_or("");
            is_session_cookie(name) && !c.contains("Max-Age=0")
        })
        .collect();
    lines.sort_unstable();
    lines.dedup();
    lines.iter().map(|c| c.len()).sum()
}

#[test]
fn multi_tenant_admits_allowed_tenants_and_personal_accounts_and_refuses_others() {
    let emulator = EmulatorConfig {
        login_hint_skips_form: true,
        ..EmulatorConfig::multi_tenant()
    };
    let stack = start_with(
        "e2e_entra_multi_tenant",
        emulator,
        |entra| {
            json!({
                "oidc_issuer_url": entra.issuer_url_for("common"),
                "insecure_oidc_skip_issuer_verification": true,
                "entra_id_allowed_tenants": [DEFAULT_TENANT_ID, CONSUMERS_TENANT_ID],
            })
        },
        2,
    );

    // Allowed: a contoso work account and a personal Microsoft account.
    let allowed = [
        ("alice@contoso.example", DEFAULT_TENANT_ID, "/work"),
        ("pat@outlook.com", CONSUMERS_TENANT_ID, "/personal"),
    ];
    for (username, tenant, path) in allowed {
        let user = stack.entra.config().user(username).unwrap().clone();
        assert_eq!(user.tenant, tenant);
        let mut client = Client::new();
        let hops = sign_in_as(&stack, &mut client, username, path);
        assert_eq!(
            statuses(&hops),
            vec![302, 302, 302, 200],
            "{username}: {hops:#?}"
        );
        let seen = stack.upstream.last().unwrap();
        assert_eq!(seen.path, path);
        assert_eq!(
            seen.header("x-forwarded-user"),
            Some(user.oid.as_str()),
            "{username}"
        );
        assert_eq!(
            seen.header("x-forwarded-email"),
            user.email.as_deref(),
            "{username}"
        );
    }
    assert_eq!(personal_user().username, "pat@outlook.com");
    assert_eq!(stack.upstream.count(), 2);

    // Refused: work accounts of tenants that are not on the list, though Entra signs their
    // tokens with the same keys and the discovery issuer template matches them.
    for (username, tenant) in [
        ("frank@fabrikam.example", FABRIKAM_TENANT_ID),
        ("wendy@woodgrove.example", WOODGROVE_TENANT_ID),
    ] {
        assert_eq!(stack.entra.config().user(username).unwrap().tenant, tenant);
        let mut client = Client::new();
        let hops = sign_in_as(&stack, &mut client, username, "/work");
        let last = hops.last().unwrap();
        assert_eq!(
            statuses(&hops),
            vec![302, 302, 403],
            "{username}: {hops:#?}"
        );
        assert!(last.body.contains("Sign-in rejected"), "{}", last.body);
        assert!(
            session_cookie_names(&client).is_empty(),
            "{username}: no session"
        );
    }
    stack.envoy.wait_for_log("tenant_not_allowed", LOG_WAIT);
    assert_eq!(stack.counter("entra_proxy.callback.id_token_invalid"), 2);
    assert_eq!(stack.counter("entra_proxy.callback.success"), 2);
    assert_eq!(
        stack.upstream.count(),
        2,
        "refused users never reach the app"
    );
}

#[test]
fn overage_groups_are_read_from_graph_pages_and_1000_groups_fit_in_8_kb() {
    // Allowed: one group the 250-group user only has on Graph page 3 (index 230 of 250, pages of
    // 100), and one group of the 1,000-group user on page 10.
    let page3_group = group_id(G250, 230);
    let g1000_group = group_id(G1000, 901);
    let allowed = vec![page3_group.clone(), g1000_group.clone()];
    let stack = start_with(
        "e2e_entra_graph_pages",
        group_emulator(None),
        |entra| {
            graph_overrides(
                &entra.graph_base_url(),
                &allowed,
                "openid profile email User.Read",
            )
        },
        1,
    );
    // Graph lives on the emulator's port: its authority is the one `Stack` maps to the
    // `entra` cluster, so no second cluster is needed.
    assert_eq!(
        stack.entra.graph_base_url(),
        format!("http://{}", stack.entra.authority())
    );
    let g250 = user_with_groups(G250, 250);
    assert!(!g250.groups[..200].contains(&page3_group), "only on page 3");

    stack.entra.reset_counts();
    let mut client = Client::new();
    let hops = sign_in_as(&stack, &mut client, G250, "/reports");
    assert_eq!(statuses(&hops), vec![302, 302, 302, 200], "{hops:#?}");
    assert_eq!(
        stack.entra.counts().graph,
        3,
        "250 groups + 1 role = 3 pages of 100"
    );
    let seen = stack.upstream.last().unwrap();
    assert_eq!(seen.path, "/reports");
    assert_eq!(seen.header("x-forwarded-user"), Some(g250.oid.as_str()));
    let groups: Vec<&str> = seen
        .header("x-forwarded-groups")
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(groups.len(), 250, "every group, no directory role");
    assert!(groups.contains(&page3_group.as_str()));
    assert!(!groups.contains(&GLOBAL_READER_ROLE_ID));
    let g250_cookie_bytes = session_set_cookie_bytes(&hops[2]);
    assert!(
        session_cookie_names(&client).len() > 1,
        "250 groups need chunks"
    );
    assert!(hops[2].set_cookies().iter().all(|c| c.len() < 4096));

    stack.entra.reset_counts();
    let mut client = Client::new();
    let hops = sign_in_as(&stack, &mut client, G1000, "/big");
    assert_eq!(statuses(&hops), vec![302, 302, 302, 200], "{hops:#?}");
    assert_eq!(
        stack.entra.counts().graph,
        11,
        "1,000 groups + 2 roles = 11 pages of 100"
    );
    let cookie_bytes = session_set_cookie_bytes(&hops[2]);
    let jar_bytes: usize = client
        .cookies
        .iter()
        .filter(|(n, _)| is_session_cookie(n))
        .map(|(n, v)| n.len() + 1 + v.len())
        .sum();
    eprintln!(
        "session cookies: groups250 {g250_cookie_bytes} B of Set-Cookie; groups1000 {cookie_bytes} B of Set-Cookie, {jar_bytes} B sent back, names {:?}",
        session_cookie_names(&client)
    );
    assert!(
        cookie_bytes > 0 && cookie_bytes <= COOKIE_BUDGET,
        "{cookie_bytes} bytes"
    );
    assert!(jar_bytes <= COOKIE_BUDGET);
    // Above 250 groups the cookie keeps only the groups allowed_groups names plus a handle to
    // the full list in the per-Envoy group cache: the groups header still shows all 1,000.
    let seen = stack.upstream.last().unwrap();
    assert_eq!(seen.path, "/big");
    let groups: Vec<&str> = seen
        .header("x-forwarded-groups")
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(groups.len(), 1000);
    assert!(groups.contains(&g1000_group.as_str()));
    // The session works on later requests without another Graph call.
    stack.entra.reset_counts();
    assert_eq!(client.get_url(&stack.url("/big/again"), &[]).status, 200);
    assert_eq!(stack.entra.counts().graph, 0);
    let paths: Vec<String> = stack
        .upstream
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, vec!["/reports", "/big", "/big/again"]);
    assert_eq!(stack.counter("entra_proxy.graph.groups_resolved"), 2);
}

#[test]
fn missing_user_read_consent_fails_the_sign_in_with_a_clear_403() {
    // The emulator, like Entra, grants User.Read whenever only OIDC scopes are requested; a
    // scope list that names another Graph permission is how an app ends up without User.Read.
    let allowed = vec![group_id(G250, 230)];
    let stack = start_with(
        "e2e_entra_graph_consent",
        group_emulator(Some(G250)),
        |entra| {
            graph_overrides(
                &entra.graph_base_url(),
                &allowed,
                "openid profile email Mail.Read",
            )
        },
        1,
    );
    stack.entra.reset_counts();
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, "/");
    let last = hops.last().unwrap();
    assert_eq!(statuses(&hops), vec![302, 302, 403], "{hops:#?}");
    assert!(last.body.contains("User.Read"), "{}", last.body);
    assert!(last.body.contains("Request ID:"), "{}", last.body);
    assert!(
        session_cookie_names(&client).is_empty(),
        "no session with unknown groups"
    );
    assert!(
        client.get("_oauth2_proxy_csrf").is_none(),
        "the attempt is over"
    );
    assert_eq!(stack.entra.counts().graph, 1);
    stack
        .envoy
        .wait_for_log("Authorization_RequestDenied", LOG_WAIT);
    assert_eq!(stack.counter("entra_proxy.graph.failure"), 1);
    assert_eq!(stack.counter("entra_proxy.callback.success"), 0);
    assert_eq!(stack.upstream.count(), 0);
}

#[test]
fn graph_throttling_is_waited_out_and_the_sign_in_succeeds() {
    let allowed = vec![group_id(G250, 230)];
    let stack = start_with(
        "e2e_entra_graph_429",
        group_emulator(Some(G250)),
        |entra| {
            graph_overrides(
                &entra.graph_base_url(),
                &allowed,
                "openid profile email User.Read",
            )
        },
        1,
    );
    stack.entra.reset_counts();
    // Graph answers the first page with 429 and Retry-After: 1. The filter parks the request,
    // its timer asks again after the wait, and the sign-in completes.
    stack
        .entra
        .set_fault_times(Endpoint::Graph, Fault::Throttled(1), 1);
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, "/throttled");
    assert_eq!(statuses(&hops), vec![302, 302, 302, 200], "{hops:#?}");
    assert!(!session_cookie_names(&client).is_empty());
    assert_eq!(
        stack.entra.counts().graph,
        1 + 3,
        "the throttled page, then all three pages"
    );
    assert_eq!(stack.counter("entra_proxy.graph.throttled"), 1);
    assert_eq!(stack.counter("entra_proxy.graph.failure"), 0);
    let paths: Vec<String> = stack
        .upstream
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, vec!["/throttled"]);

    // Throttled beyond what is worth waiting (Retry-After above 10 s): fail closed with a page.
    stack
        .entra
        .set_fault_times(Endpoint::Graph, Fault::Throttled(60), 1);
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, "/later");
    let last = hops.last().unwrap();
    assert_eq!(last.status, 503, "{hops:#?}");
    assert!(last.body.contains("throttling"), "{}", last.body);
    assert!(session_cookie_names(&client).is_empty());
    stack.envoy.wait_for_log("code=TooManyRequests", LOG_WAIT);
    assert_eq!(stack.upstream.count(), 1);
}

#[test]
fn without_a_groups_header_check_member_groups_decides_in_one_call() {
    // No header needs the full list, and the rule names at most 20 groups: one POST to
    // checkMemberGroups replaces the page walk. With pages of 100 the walk would need 3 calls
    // for groups250 and 11 for groups1000, so a count of 1 can only be checkMemberGroups.
    let page3_group = group_id(G250, 230);
    let mut allowed = vec![page3_group.clone()];
    allowed.extend((0..19).map(|i| group_id("nobody@contoso.example", i)));
    assert_eq!(allowed.len(), 20);
    let stack = start_with(
        "e2e_entra_check_member_groups",
        group_emulator(None),
        |entra| {
            let mut o = graph_overrides(
                &entra.graph_base_url(),
                &allowed,
                "openid profile email User.Read",
            );
            o["pass_user_headers"] = json!(false);
            o
        },
        1,
    );
    stack.entra.reset_counts();
    let mut client = Client::new();
    let hops = sign_in_as(&stack, &mut client, G250, "/member");
    assert_eq!(statuses(&hops), vec![302, 302, 302, 200], "{hops:#?}");
    assert_eq!(stack.entra.counts().graph, 1);
    let seen = stack.upstream.last().unwrap();
    assert!(seen.header("x-forwarded-groups").is_none());
    assert!(seen.header("x-forwarded-user").is_none());

    // A user in none of the allowed groups: one call, then 403 with the rule that failed.
    stack.entra.reset_counts();
    let mut client = Client::new();
    let hops = sign_in_as(&stack, &mut client, G1000, "/outsider");
    let last = hops.last().unwrap();
    assert_eq!(statuses(&hops), vec![302, 302, 403], "{hops:#?}");
    assert!(last.body.contains("allowed_groups"), "{}", last.body);
    assert!(session_cookie_names(&client).is_empty());
    assert_eq!(stack.entra.counts().graph, 1);
    assert_eq!(stack.counter("entra_proxy.authz.group_denied"), 1);
    let paths: Vec<String> = stack
        .upstream
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, vec!["/member"]);
}
