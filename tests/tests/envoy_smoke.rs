//! The plumbing works: a real Envoy proxies to the demo upstream, headless Chromium reads pages
//! through it, Envoy loads the current wasm, and the shipped Envoy configs are accepted by
//! Envoy 1.40.

use std::time::Duration;

use base64::Engine;
use entra_proxy_tests::browser::Browser;
use entra_proxy_tests::envoy::{validate_yaml, Envoy, EnvoyConfig};
use entra_proxy_tests::paths::{self, TestLogs};
use entra_proxy_tests::upstream::Upstream;
use entra_proxy_tests::wait::wait_until;
use serde_json::json;

const TENANT: &str = "11111111-1111-1111-1111-111111111111";
const CLIENT_ID: &str = "22222222-2222-2222-2222-222222222222";

/// A plugin configuration the filter's validation accepts (issuer on a closed local port).
fn plugin_config(idp_port: u16) -> serde_json::Value {
    let secret = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    json!({
        "provider": "oidc",
        "oidc_issuer_url": format!("http://127.0.0.1:{idp_port}/{TENANT}/v2.0"),
        "client_id": CLIENT_ID,
        "client_secret": "test-client-secret",
        "cookie_secret": secret,
        "cookie_secure": false,
        "email_domains": ["*"],
        "clusters": { format!("127.0.0.1:{idp_port}"): "entra" },
    })
}

/// `(status, body)` of a GET; any HTTP status counts as an answer.
fn get(url: &str) -> (u16, String) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .redirects(0)
        .build();
    match agent.get(url).call() {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

#[test]
fn plain_envoy_forwards_requests_and_counts_them() {
    let logs = TestLogs::new("plain_envoy_forwards_requests_and_counts_them");
    let upstream = Upstream::start();
    let envoy = Envoy::start(&EnvoyConfig::without_wasm(upstream.port()), logs.path());

    let (status, body) = get(&format!("{}/headers?x=1", envoy.url("main")));

    assert_eq!(status, 200, "{body}");
    let seen = upstream.last().expect("upstream saw the request");
    assert_eq!(seen.path, "/headers?x=1");
    assert!(
        seen.header("x-request-id").is_some(),
        "Envoy adds x-request-id: {:?}",
        seen.headers
    );
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["path"], "/headers?x=1");
    assert_eq!(
        envoy.wait_for_counter(
            "cluster.upstream.upstream_rq_200",
            1,
            Duration::from_secs(10)
        ),
        1
    );
    let access_log = envoy.dir().join("access.log");
    wait_until("the access log line", Duration::from_secs(10), || {
        std::fs::read_to_string(&access_log)
            .ok()
            .filter(|l| l.contains("\"GET /headers HTTP/1.1\" 200"))
    })
    .unwrap();
}

#[test]
fn extra_listener_and_cluster_fragments_are_wired_in() {
    let logs = TestLogs::new("extra_listener_and_cluster_fragments_are_wired_in");
    let upstream = Upstream::start();
    let config = EnvoyConfig::without_wasm(upstream.port())
        .cluster("second", upstream.port())
        .extra_route(
            r#"
            match: {prefix: "/via-second"}
            route: {cluster: second}
            "#,
        )
        .extra_listener(
            r#"
            name: token
            address:
              socket_address: {address: 127.0.0.1, port_value: 0}
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: token
                  route_config:
                    virtual_hosts:
                    - name: token
                      domains: ["*"]
                      routes:
                      - match: {prefix: "/"}
                        direct_response: {status: 200, body: {inline_string: "token-listener"}}
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
            "#,
        );
    let envoy = Envoy::start(&config, logs.path());

    assert_ne!(envoy.port("token"), envoy.port("main"));
    assert_eq!(
        get(&envoy.url("token")),
        (200, "token-listener".to_string())
    );
    assert_eq!(get(&format!("{}/via-second", envoy.url("main"))).0, 200);
    assert_eq!(envoy.counter("cluster.second.upstream_rq_total"), 1);
    assert_eq!(
        upstream.count(),
        1,
        "the direct response never reaches the upstream"
    );
}

#[test]
fn browser_reads_types_and_clicks_through_envoy() {
    let logs = TestLogs::new("browser_reads_types_and_clicks_through_envoy");
    let upstream = Upstream::start();
    let envoy = Envoy::start(&EnvoyConfig::without_wasm(upstream.port()), logs.path());
    let mut browser = Browser::start(logs.path());
    let base = envoy.url("main");

    browser.goto(&format!("{base}/page"));
    browser.wait_for_text("Signed in as (none) / (none)");
    assert_eq!(browser.status(), 200);
    assert_eq!(browser.url(), format!("{base}/page"));
    assert!(
        browser.text().contains("Request: GET /page"),
        "{}",
        browser.text()
    );

    // A form, typed into and submitted like a user would: the sign-in page works the same way.
    browser.eval(
        "document.body.innerHTML = '<form action=\"/submitted\" method=\"post\">\
         <input name=\"login\"><input name=\"password\" type=\"password\">\
         <button type=\"submit\">Sign in</button></form>'; true",
    );
    browser.type_into("input[name=login]", "alice");
    browser.type_into("input[name=password]", "p&ss word");
    browser.click_and_wait("button[type=submit]");
    browser.wait_for_url("/submitted");
    let post = upstream
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("the form was posted");
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/submitted")
    );
    assert_eq!(
        String::from_utf8_lossy(&post.body),
        "login=alice&password=p%26ss+word"
    );

    browser.click_and_wait("a[href='/oauth2/sign_out']");
    browser.wait_for_text("Request: GET /oauth2/sign_out");

    let shot = browser.screenshot("signed-out-page");
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(
        &png[..8],
        b"\x89PNG\r\n\x1a\n",
        "a PNG at {}",
        shot.display()
    );
    let pages: Vec<String> = upstream
        .requests()
        .into_iter()
        .filter(|r| r.path != "/favicon.ico")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        pages,
        ["GET /page", "POST /submitted", "GET /oauth2/sign_out"]
    );
}

#[test]
fn envoy_loads_the_current_wasm() {
    let logs = TestLogs::new("envoy_loads_the_current_wasm");
    let upstream = Upstream::start();
    let config = EnvoyConfig::new(upstream.port())
        .cluster("entra", 9)
        .plugin_config(plugin_config(9));
    let envoy = Envoy::start(&config, logs.path());

    // Whatever the filter does with the request, Envoy must answer it (not crash or hang up).
    let (status, _) = get(&format!("{}/", envoy.url("main")));
    assert!((200..600).contains(&status), "status {status}");
    assert!(
        envoy
            .stats()
            .get("wasm.envoy.wasm.runtime.v8.created")
            .unwrap_or(0)
            >= 1
    );
    assert!(
        !envoy.log_text().contains("failed to load"),
        "{}",
        envoy.log_text()
    );
}

#[test]
fn envoy_refuses_to_start_when_the_filter_rejects_its_configuration() {
    let logs = TestLogs::new("envoy_refuses_to_start_when_the_filter_rejects_its_configuration");
    let mut bad = plugin_config(9);
    bad["cookie_secret"] = json!("too-short");
    let config = EnvoyConfig::new(1).cluster("entra", 9).plugin_config(bad);

    let err = Envoy::try_start(&config, logs.path())
        .err()
        .expect("envoy must not start");

    assert!(err.reason.contains("exited"), "{err}");
    assert!(
        err.log.contains("cookie_secret"),
        "the log names the bad option: {err}"
    );
}

/// `envoy-config/demo.yaml` filled the way `scripts/demo.sh` fills it.
fn rendered_demo_yaml() -> String {
    let template = std::fs::read_to_string(paths::envoy_config_dir().join("demo.yaml")).unwrap();
    let replacements = [
        ("${DEMO_PORT}", "0".to_string()),
        ("${UPSTREAM_PORT}", "9".to_string()),
        ("${EMULATOR_PORT}", "9".to_string()),
        ("${WASM_PATH}", paths::wasm_path().display().to_string()),
        ("${PLUGIN_CONFIG}", plugin_config(9).to_string()),
    ];
    let mut yaml = template;
    for (placeholder, value) in replacements {
        assert!(yaml.contains(placeholder), "demo.yaml lost {placeholder}");
        yaml = yaml.replace(placeholder, &value);
    }
    let unfilled = yaml
        .match_indices("${")
        .any(|(i, _)| yaml[i + 2..].starts_with(|c: char| c.is_ascii_uppercase()));
    assert!(!unfilled, "unfilled placeholder left in demo.yaml");
    yaml
}

/// `envoy-config/production.yaml` with test TLS files, the built wasm and, if `fill_secrets`,
/// valid values for the `${…}` placeholders.
fn rendered_production_yaml(dir: &std::path::Path, fill_secrets: bool) -> String {
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=app.example.com",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (installed by `make tools`)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut yaml =
        std::fs::read_to_string(paths::envoy_config_dir().join("production.yaml")).unwrap();
    let mut replacements = vec![
        (
            "/etc/envoy/entra_proxy_wasm.wasm",
            paths::wasm_path().display().to_string(),
        ),
        ("/etc/envoy/tls/tls.crt", cert.display().to_string()),
        ("/etc/envoy/tls/tls.key", key.display().to_string()),
    ];
    if fill_secrets {
        replacements.extend([
            ("${ENTRA_TENANT_ID}", TENANT.to_string()),
            ("${ENTRA_CLIENT_ID}", CLIENT_ID.to_string()),
            ("${ENTRA_CLIENT_SECRET}", "a-client-secret".to_string()),
            (
                "${COOKIE_SECRET_BASE64}",
                base64::engine::general_purpose::STANDARD.encode([9u8; 32]),
            ),
        ]);
    }
    for (placeholder, value) in replacements {
        assert!(
            yaml.contains(placeholder),
            "production.yaml lost {placeholder}"
        );
        yaml = yaml.replace(placeholder, &value);
    }
    yaml
}

#[test]
fn shipped_envoy_configs_pass_envoy_validation() {
    let logs = TestLogs::new("shipped_envoy_configs_pass_envoy_validation");
    let dir = logs.path();
    validate_yaml(&rendered_demo_yaml(), dir).unwrap();
    validate_yaml(&rendered_production_yaml(dir, true), dir).unwrap();
    let mut harness = EnvoyConfig::new(1)
        .cluster("entra", 9)
        .plugin_config(plugin_config(9));
    harness.access_log = Some(dir.join("access.log"));
    validate_yaml(&harness.render(), dir).unwrap();
}

#[test]
fn production_template_does_not_run_with_its_placeholder_secrets() {
    let logs = TestLogs::new("production_template_does_not_run_with_its_placeholder_secrets");
    let err =
        validate_yaml(&rendered_production_yaml(logs.path(), false), logs.path()).unwrap_err();
    assert!(err.contains("cookie_secret"), "{err}");
}
