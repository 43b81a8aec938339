//! Secrets never appear in logs.

use super::*;

/// Envoy's own debug output that reprints what it was given verbatim: its configuration
/// (`config: {…}` lines, where the plugin configuration with the client secret lives) and whole
/// header maps (continuation lines `'name', 'value'`: the callback's `:path` with its code,
/// `Cookie` and `Set-Cookie`). Returns (config dumps, header dumps, every other line).
fn partition_envoy_log(log: &str) -> (String, String, String) {
    let (mut config, mut headers, mut rest) = (String::new(), String::new(), String::new());
    for line in log.lines() {
        let out = if line.contains("][debug][config]") && line.contains("config: {") {
            &mut config
        } else if line.starts_with('\'') {
            &mut headers
        } else {
            &mut rest
        };
        out.push_str(line);
        out.push('\n');
    }
    (config, headers, rest)
}

/// A complete sign-in, a refresh and a sign-out with Envoy at `debug`: the client secret, the
/// cookie secret, every token and PKCE verifier, every code and every cookie value are searched
/// for in Envoy's whole log and the access log. They may appear only where Envoy itself
/// reprints its configuration or a header map; never in a line the filter writes, never in any
/// other line, never in the access log.
#[test]
fn secrets_codes_tokens_and_cookies_never_reach_the_logs() {
    let stack = Hardened::start(
        "hardening_no_secrets_in_logs",
        Options {
            overrides: json!({
                "cookie_refresh": "1s",
                "scope": "openid email profile offline_access",
            }),
            log_level: "debug",
            tap: true,
            ..Options::default()
        },
    );
    let mut client = Client::new();
    let hops = stack.sign_in(&mut client, "/private?tab=1");
    assert_eq!(statuses(&hops), vec![302, 302, 302, 200], "{hops:#?}");
    let mut cookies: Vec<String> = client.cookies.iter().map(|(_, v)| v.clone()).collect();
    let csrf_cookies: Vec<String> = hops[0]
        .set_cookies()
        .iter()
        .filter_map(|c| {
            c.split(';')
                .next()?
                .split_once('=')
                .map(|(_, v)| v.to_string())
        })
        .filter(|v| !v.is_empty())
        .collect();
    cookies.extend(csrf_cookies);
    let mut codes: Vec<String> = hops[1]
        .header("location")
        .and_then(|l| url::Url::parse(l).ok())
        .into_iter()
        .flat_map(|u| {
            u.query_pairs()
                .filter(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(codes.len(), 1, "the code from the authorize redirect");

    // A refresh is due once a second has passed: nothing to poll for but the clock.
    std::thread::sleep(Duration::from_millis(2100));
    let reply = client.get_url(&stack.url("/after-refresh"), &[]);
    assert_eq!(reply.status, 200);
    wait_until("the refresh", Duration::from_secs(10), || {
        (stack.counter("entra_proxy.session.refreshed") >= 1).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    cookies.extend(client.cookies.iter().map(|(_, v)| v.clone()));
    let reply = client.get_url(&stack.url("/oauth2/sign_out"), &[]);
    assert_eq!(reply.status, 302);
    assert_eq!(stack.counter("entra_proxy.sign_out"), 1);

    let wire = stack.tap.as_ref().expect("tap").text();
    let mut tokens = Vec::new();
    for field in ["id_token", "access_token", "refresh_token"] {
        tokens.extend(json_strings(&wire, field));
    }
    assert!(
        tokens.len() >= 6,
        "sign-in and refresh each return 3 tokens: {}",
        tokens.len()
    );
    codes.extend(form_values(&wire, "code"));
    let verifiers = form_values(&wire, "code_verifier");
    assert_eq!(verifiers.len(), 1);
    let refresh_sent = form_values(&wire, "refresh_token");
    assert_eq!(refresh_sent.len(), 1, "one refresh");
    let cookie_secret = base64::engine::general_purpose::STANDARD.encode(COOKIE_SECRET);

    let secrets: Vec<(&str, String)> = vec![
        ("client secret", DEFAULT_CLIENT_SECRET.to_string()),
        ("cookie secret", cookie_secret),
    ];
    let mut tokens: Vec<(&str, String)> = tokens.into_iter().map(|t| ("token", t)).collect();
    tokens.extend(verifiers.into_iter().map(|v| ("PKCE verifier", v)));
    let mut on_the_wire: Vec<(&str, String)> = codes.into_iter().map(|c| ("code", c)).collect();
    on_the_wire.extend(cookies.into_iter().map(|c| ("cookie value", c)));

    // Stop Envoy so that every log line is flushed.
    let log_dir = stack.envoy.dir().to_path_buf();
    let Hardened { envoy, .. } = stack;
    drop(envoy);
    let full = std::fs::read_to_string(log_dir.join("envoy.log")).expect("envoy.log")
        + &std::fs::read_to_string(log_dir.join("stderr.log")).unwrap_or_default();
    let access = std::fs::read_to_string(log_dir.join("access.log")).expect("access.log");
    let (config_dumps, header_dumps, rest) = partition_envoy_log(&full);
    assert!(full.contains("][debug][http]"), "Envoy ran at debug level");
    assert!(
        rest.contains("wasm log entra-proxy-wasm entra-proxy-wasm: signed out"),
        "the filter's lines are in the log"
    );
    // The search works: Envoy's dumps do show the code, the cookies and the client secret.
    assert!(on_the_wire
        .iter()
        .all(|(_, v)| header_dumps.contains(v.as_str())));
    assert!(config_dumps.contains(DEFAULT_CLIENT_SECRET));
    assert_eq!(access.lines().count(), 5, "{access}");

    let everything: Vec<&(&str, String)> =
        secrets.iter().chain(&tokens).chain(&on_the_wire).collect();
    for (what, value) in &everything {
        assert!(
            value.len() >= 8,
            "{what} too short to search for: {value:?}"
        );
        assert!(
            !rest.contains(value.as_str()),
            "{what} in a log line (not an Envoy dump)"
        );
        assert!(!access.contains(value.as_str()), "{what} in the access log");
    }
    for (what, value) in secrets.iter().chain(&tokens) {
        assert!(
            !header_dumps.contains(value.as_str()),
            "{what} in a header Envoy logged"
        );
    }
    for (what, value) in tokens.iter().chain(&on_the_wire) {
        assert!(
            !config_dumps.contains(value.as_str()),
            "{what} in Envoy's config dump"
        );
    }
    // No JWT of any kind outside Envoy's config dump (no identity header forwards one here).
    assert!(
        !rest.contains("eyJ") && !header_dumps.contains("eyJ"),
        "a JWT in the log"
    );
    assert!(!access.contains("eyJ"), "a JWT in the access log");
}
