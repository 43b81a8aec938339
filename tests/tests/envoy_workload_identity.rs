//! Workload identity end to end: a real Envoy 1.40 running the release wasm signs users in with
//! no client secret anywhere, authenticating to the Entra emulator with a projected
//! service-account token that one of the shipped recipes (`envoy-config/workload-identity/`)
//! serves from a file on loopback.
//!
//! The emulator's app registration has a federated credential for a test Kubernetes issuer and
//! no secret; it verifies each `client_assertion` like Entra (signature, issuer, subject,
//! audience, `exp` by its own clock). The token file is written by the test and rotated by
//! renaming a new file into place, as Kubernetes does.
//!
//! Clocks: the filter reads Envoy's real clock and allows 60 s of skew on ID tokens' `iat`, so
//! the emulator's clock may only run a little ahead. A test that needs "the old token has
//! expired" gives that token a short life ([`SHORT_LIFE`]) and moves the emulator past it by
//! [`CLOCK_STEP`]; waits are bounded polls.

#[path = "workload_identity/recipes.rs"]
mod recipes;

use std::path::PathBuf;
use std::time::Duration;

use entra_proxy_tests::client::{Client, Reply};
use entra_proxy_tests::emulator::{
    alice, Emulator, EmulatorConfig, KubernetesIssuer, DEFAULT_CLIENT_SECRET,
    SERVICE_ACCOUNT_TOKEN_LIFETIME,
};
use entra_proxy_tests::envoy::{Envoy, EnvoyConfig};
use entra_proxy_tests::paths::TestLogs;
use entra_proxy_tests::stack::{plugin_config, Stack, READY_STAT};
use entra_proxy_tests::upstream::Upstream;
use entra_proxy_tests::wait::wait_until;
use recipes::{rotate_by_rename, token_file, Recipe, CLUSTER, RECIPE_PORT};
use serde_json::{json, Value};

/// The workload's namespace and service account (the federated credential's subject).
const NAMESPACE: &str = "apps";
const SERVICE_ACCOUNT: &str = "my-app";
/// The cluster's OIDC issuer, AKS-shaped.
const CLUSTER_ISSUER: &str =
    "https://westeurope.oic.prod-aks.azure.com/11111111-1111-1111-1111-111111111111/4f1c8a2e/";
/// Seconds a "short-lived" token has left when written.
const SHORT_LIFE: u64 = 40;
/// How far the emulator's clock jumps to expire a short-lived token (below the filter's 60 s
/// `iat` leeway, above [`SHORT_LIFE`]).
const CLOCK_STEP: Duration = Duration::from_secs(45);
/// Bound on every wait for the filter (its tick is 1 s).
const WAIT: Duration = Duration::from_secs(20);

const FETCHED: &str = "entra_proxy.federated.fetched";
const FAILED: &str = "entra_proxy.federated.failed";

/// What serves the token.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// One of the shipped recipes, in the same Envoy as the filter.
    Recipe(Recipe),
    /// The recipe's cluster with nothing listening behind it (listener stopped or never added).
    Unreachable,
}

/// What the token file holds when Envoy starts.
#[derive(Debug, Clone, Copy)]
enum FirstToken {
    /// A token valid for an hour.
    Valid,
    /// A token with [`SHORT_LIFE`] seconds left: the filter refetches it every tick, as it does
    /// any token within five minutes of expiry.
    ShortLived,
    /// No file.
    Absent,
}

/// A [`Stack`] whose filter authenticates with the federated token, plus the token's issuer and
/// directory. Fields drop in order: Envoy stops before the logs decide whether to stay.
struct Workload {
    stack: Stack,
    k8s: KubernetesIssuer,
    tokens: PathBuf,
}

impl Workload {
    /// Emulator (federated credential, no secret, alice signs in at once), upstream and Envoy
    /// with the filter, `source` and the plugin `overrides`; ready once the keys are loaded.
    fn start(test: &str, source: Source, first: FirstToken, overrides: Value) -> Workload {
        let logs = TestLogs::new(test);
        let k8s = KubernetesIssuer::new(CLUSTER_ISSUER);
        let mut emulator = EmulatorConfig {
            auto_login: Some("alice".into()),
            ..EmulatorConfig::default()
        };
        emulator.clients[0].secret = None;
        emulator.clients[0].federated = Some(k8s.credential(NAMESPACE, SERVICE_ACCOUNT));
        let entra = Emulator::start(emulator);
        let tokens = logs.subdir("tokens");
        let workload_token = |token: String| rotate_by_rename(&tokens, &token);
        match first {
            FirstToken::Valid => workload_token(k8s.token(NAMESPACE, SERVICE_ACCOUNT, entra.now())),
            FirstToken::ShortLived => workload_token(short_lived(&k8s, entra.now())),
            FirstToken::Absent => {}
        }
        let upstream = Upstream::start();
        let mut settings = json!({
            "client_secret": null,
            "entra_id_federated_token_auth": true,
            "clusters": {
                entra.authority(): "entra",
                format!("127.0.0.1:{RECIPE_PORT}"): CLUSTER,
            },
        });
        merge(&mut settings, overrides);
        let base = EnvoyConfig::new(upstream.port())
            .plugin_config(plugin_config(&entra, settings))
            .cluster("entra", entra.port());
        let envoy = start_envoy(&base, source, &tokens, &logs);
        envoy.wait_for_counter(READY_STAT, 1, Duration::from_secs(30));
        let base = envoy.url("main");
        Workload {
            stack: Stack {
                envoy,
                entra,
                upstream,
                base,
                logs,
            },
            k8s,
            tokens,
        }
    }

    /// A token valid for an hour from the emulator's now.
    fn fresh_token(&self) -> String {
        self.k8s
            .token(NAMESPACE, SERVICE_ACCOUNT, self.stack.entra.now())
    }

    /// Renames `token` into place as the token file.
    fn rotate(&self, token: &str) {
        rotate_by_rename(&self.tokens, token);
    }

    /// Writes a short-lived token and waits until the filter has certainly loaded it: two
    /// fetches counted after the write (one already in flight may still carry the old file).
    fn load_short_lived_token(&self) {
        self.rotate(&short_lived(&self.k8s, self.stack.entra.now()));
        let before = self.stack.counter(FETCHED);
        self.wait_counter(FETCHED, before + 2);
    }

    fn wait_counter(&self, name: &str, min: u64) -> u64 {
        self.stack
            .envoy
            .wait_for_counter(&format!("wasmcustom.{name}"), min, WAIT)
    }

    fn sign_in(&self, path: &str) -> (Client, Vec<Reply>) {
        let mut browser = Client::new();
        let hops = self.stack.sign_in(&mut browser, path);
        (browser, hops)
    }
}

/// A token issued long ago that has [`SHORT_LIFE`] seconds left at `now`.
fn short_lived(k8s: &KubernetesIssuer, now: u64) -> String {
    let iat = now + SHORT_LIFE - SERVICE_ACCOUNT_TOKEN_LIFETIME;
    k8s.sign(&k8s.claims(
        NAMESPACE,
        SERVICE_ACCOUNT,
        iat,
        SERVICE_ACCOUNT_TOKEN_LIFETIME,
    ))
}

/// `extra`'s keys over `base`'s.
fn merge(base: &mut Value, extra: Value) {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
}

/// Starts Envoy with `source` added. The filter's URL stays the recipe's default
/// (`127.0.0.1:14999` is only the `clusters` key and Host header); the listener and the cluster
/// endpoint move to a free port, picked before Envoy starts because the cluster must name it.
/// Another process may take that port in between, so a bind failure is retried.
fn start_envoy(
    base: &EnvoyConfig,
    source: Source,
    tokens: &std::path::Path,
    logs: &TestLogs,
) -> Envoy {
    let mut last = None;
    for _ in 0..3 {
        let port = free_port();
        let config = match source {
            Source::Recipe(recipe) => {
                let served = recipe.load(tokens, port, port);
                base.clone()
                    .extra_listener(&served.listener.to_string())
                    .extra_cluster(&served.cluster.to_string())
            }
            Source::Unreachable => {
                let cluster = Recipe::FileContent.load(tokens, 0, port).cluster;
                base.clone().extra_cluster(&cluster.to_string())
            }
        };
        match Envoy::try_start(&config, logs.path()) {
            Ok(envoy) => return envoy,
            Err(e) if e.log.contains("Address already in use") => last = Some(e),
            Err(e) => panic!("{e}"),
        }
    }
    panic!(
        "no free port after 3 tries: {}",
        last.map(|e| e.to_string()).unwrap_or_default()
    );
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn statuses(hops: &[Reply]) -> Vec<u16> {
    hops.iter().map(|r| r.status).collect()
}

/// Sign-in works with the token alone, and no secret exists anywhere in what Envoy runs.
fn signs_in_without_a_secret(recipe: Recipe, test: &str) {
    let wl = Workload::start(test, Source::Recipe(recipe), FirstToken::Valid, json!({}));
    let (_, hops) = wl.sign_in("/reports?q=1");
    assert_eq!(statuses(&hops), [302, 302, 302, 200], "{hops:#?}");
    let seen = wl.stack.upstream.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/reports?q=1");
    assert_eq!(
        seen[0].header("x-forwarded-user"),
        Some(alice().oid.as_str())
    );
    assert_eq!(
        wl.stack.entra.counts().token,
        1,
        "the first assertion was accepted"
    );
    assert!(wl.stack.counter(FETCHED) >= 1);
    assert_eq!(wl.stack.counter(FAILED), 0);
    let rendered = std::fs::read_to_string(wl.stack.envoy.dir().join("envoy.yaml")).unwrap();
    assert!(
        !rendered.contains("client_secret") && !rendered.contains(DEFAULT_CLIENT_SECRET),
        "no secret in the Envoy config"
    );
    assert!(rendered.contains("entra_id_federated_token_auth"));
}

#[test]
fn file_content_recipe_signs_in_with_no_secret_anywhere() {
    signs_in_without_a_secret(Recipe::FileContent, "wi_e2e_file_content_sign_in");
}

#[test]
fn istio_lua_recipe_signs_in_with_no_secret_anywhere() {
    signs_in_without_a_secret(Recipe::IstioLua, "wi_e2e_lua_sign_in");
}

/// The file rotates mid-test and the old token expires for Entra: the next sign-in and the
/// next refresh succeed, which Entra only allows with the new token.
fn rotation_reaches_the_next_sign_in_and_refresh(recipe: Recipe, test: &str) {
    let wl = Workload::start(
        test,
        Source::Recipe(recipe),
        FirstToken::ShortLived,
        json!({"cookie_refresh": "2s", "scope": "openid profile email offline_access"}),
    );
    wl.load_short_lived_token();
    let (mut first, hops) = wl.sign_in("/");
    assert_eq!(statuses(&hops), [302, 302, 302, 200], "{hops:#?}");

    // Kubernetes rotates the file; the old token expires (AADSTS700024 if it were sent again).
    wl.stack.entra.advance_clock(CLOCK_STEP);
    wl.rotate(&wl.fresh_token());

    let (_, hops) = wl.sign_in("/after-rotation");
    assert_eq!(statuses(&hops), [302, 302, 302, 200], "{hops:#?}");
    assert_eq!(
        wl.stack.upstream.last().map(|r| r.path),
        Some("/after-rotation".to_string())
    );

    // The first browser's session is due for refresh after 2 s (Envoy's clock).
    let refreshed = wait_until("the first session to be refreshed", WAIT, || {
        let reply = first.get_url(&wl.stack.url("/still-here"), &[]);
        assert_eq!(reply.status, 200, "{reply:?}");
        (wl.stack.counter("entra_proxy.session.refreshed") >= 1).then_some(reply)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        refreshed
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("_oauth2_proxy=")),
        "the refreshed session is sent back: {refreshed:?}"
    );
    assert_eq!(wl.stack.counter("entra_proxy.session.refresh_failed"), 0);
    assert_eq!(wl.stack.counter("entra_proxy.session.refresh_rejected"), 0);
}

#[test]
fn file_content_recipe_rotation_reaches_the_next_sign_in_and_refresh() {
    rotation_reaches_the_next_sign_in_and_refresh(
        Recipe::FileContent,
        "wi_e2e_file_content_rotation",
    );
}

#[test]
fn istio_lua_recipe_rotation_reaches_the_next_sign_in_and_refresh() {
    rotation_reaches_the_next_sign_in_and_refresh(Recipe::IstioLua, "wi_e2e_lua_rotation");
}

/// The callback cannot redeem the code: a 503 page, nothing forwarded, nothing sent to Entra.
fn assert_sign_in_is_503(wl: &Workload, path: &str) {
    let (_, hops) = wl.sign_in(path);
    assert_eq!(statuses(&hops), [302, 302, 503], "{hops:#?}");
    let page = &hops[2];
    assert!(
        page.header("content-type")
            .unwrap_or("")
            .starts_with("text/html"),
        "{page:?}"
    );
    assert!(!page.body.trim().is_empty());
    assert!(
        page.set_cookies()
            .iter()
            .all(|c| !c.starts_with("_oauth2_proxy=")),
        "no session"
    );
}

#[test]
fn unreachable_token_listener_fails_sign_in_with_503_and_forwards_nothing() {
    let wl = Workload::start(
        "wi_e2e_unreachable_source",
        Source::Unreachable,
        FirstToken::Valid,
        json!({}),
    );
    wl.wait_counter(FAILED, 1);
    assert_sign_in_is_503(&wl, "/private");
    assert_eq!(wl.stack.upstream.count(), 0);
    assert_eq!(
        wl.stack.entra.counts().token,
        0,
        "no credential, no token request"
    );
    assert_eq!(wl.stack.counter(FETCHED), 0);
}

#[test]
fn lua_listener_without_the_token_file_fails_sign_in_with_503_and_forwards_nothing() {
    let wl = Workload::start(
        "wi_e2e_lua_no_file",
        Source::Recipe(Recipe::IstioLua),
        FirstToken::Absent,
        json!({}),
    );
    wl.wait_counter(FAILED, 1);
    assert_sign_in_is_503(&wl, "/private");
    assert_eq!(wl.stack.upstream.count(), 0);
    assert_eq!(wl.stack.entra.counts().token, 0);
}

/// The token source goes down mid-life (the file disappears behind the Lua listener) and the
/// held token expires for Entra: the filter asks for a new one, gets none, and answers 503.
#[test]
fn token_file_gone_mid_life_fails_the_next_sign_in_with_503_once_entra_refuses_the_old_token() {
    let wl = Workload::start(
        "wi_e2e_lua_file_gone",
        Source::Recipe(Recipe::IstioLua),
        FirstToken::ShortLived,
        json!({}),
    );
    wl.load_short_lived_token();
    let (_, hops) = wl.sign_in("/");
    assert_eq!(statuses(&hops), [302, 302, 302, 200], "{hops:#?}");
    assert_eq!(wl.stack.upstream.count(), 1);

    std::fs::remove_file(token_file(&wl.tokens)).unwrap();
    let failed = wl.stack.counter(FAILED);
    wl.wait_counter(FAILED, failed + 1);
    wl.stack.entra.advance_clock(CLOCK_STEP);

    assert_sign_in_is_503(&wl, "/later");
    assert_eq!(
        wl.stack.upstream.count(),
        1,
        "the failed sign-in forwarded nothing"
    );
    wl.stack.envoy.wait_for_log("700024", WAIT);
}
