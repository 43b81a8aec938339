//! The Workload Identity token recipes in `envoy-config/workload-identity/`, run in Envoy 1.40
//! and checked as files.
//!
//! Both recipes serve the projected service-account token on a loopback listener for the
//! filter's `dispatch_http_call`. Each runs here from the shipped YAML (token directory and port
//! substituted, nothing else): it must answer with the file's exact content and follow a
//! rotation, both a plain rename into place and the kubelet's `..data` symlink swap.
//! The Istio manifests are parsed and checked against each other and against the filter's own
//! configuration parser.

#[path = "workload_identity/recipes.rs"]
mod recipes;

use std::path::Path;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use entra_proxy_tests::client::{Client, Reply};
use entra_proxy_tests::envoy::Envoy;
use entra_proxy_tests::paths::TestLogs;
use entra_proxy_tests::wait::wait_until;
use recipes::{
    cluster_port_mut, hcm, hcm_mut, kubernetes_write, listener_port_mut, lua_code, patch_value,
    read_yaml, read_yaml_docs, rotate_by_rename, Recipe, CLUSTER, ENVOY_RECIPE, ISTIO_ENVOYFILTER,
    RECIPE_PORT, RECIPE_TOKEN_DIR, TOKEN_FILE_NAME,
};
use serde_json::{json, Value};

/// How long a rotation may take to show (inotify plus Envoy's main thread; normally ms).
const ROTATION_TIMEOUT: Duration = Duration::from_secs(10);

/// A recipe's listener running alone in Envoy, serving `<logs>/tokens/`.
struct Served {
    envoy: Envoy,
    tokens: std::path::PathBuf,
    url: String,
}

/// Starts `recipe` once `write` has laid out its token directory (the file-content formatter
/// requires the file at start-up).
fn serve(logs: &TestLogs, recipe: Recipe, write: impl FnOnce(&Path)) -> Served {
    let tokens = logs.subdir("tokens");
    write(&tokens);
    let source = recipe.load(&tokens, 0, RECIPE_PORT);
    let envoy = Envoy::start_yaml(&source.bootstrap(), 1, logs.path())
        .unwrap_or_else(|e| panic!("{recipe:?} recipe did not start: {e}"));
    let url = format!("{}/federated-token", envoy.url(source.listener_name()));
    Served { envoy, tokens, url }
}

fn get(url: &str) -> Reply {
    Client::new().get_url(url, &[])
}

/// Polls until the listener serves exactly `want` (bounded).
fn wait_for_body(url: &str, want: &str) {
    let mut last = String::new();
    wait_until("the rotated token to be served", ROTATION_TIMEOUT, || {
        let reply = get(url);
        last = format!("{} {:?}", reply.status, reply.body);
        (reply.status == 200 && reply.body == want).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}; last answer: {last}"));
}

/// A token-shaped value; the listeners do not parse it, the filter does.
fn token(n: u32) -> String {
    format!("eyJhbGciOiJSUzI1NiJ9.eyJuIjo{n}fQ.c2lnbmF0dXJl-{n}\n")
}

/// Serves the first token exactly, then follows a rename into place and then a second one.
fn follows_rename_into_place(recipe: Recipe, test: &str) {
    let logs = TestLogs::new(test);
    let served = serve(&logs, recipe, |dir| rotate_by_rename(dir, &token(1)));
    let first = get(&served.url);
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body, token(1), "exact file content, newline included");
    assert_eq!(first.header("content-type"), Some("application/jwt"));
    for n in [2, 3] {
        rotate_by_rename(&served.tokens, &token(n));
        wait_for_body(&served.url, &token(n));
    }
    drop(served.envoy);
}

/// Follows the kubelet's projected-volume update (new payload dir, `..data` link swapped).
fn follows_kubernetes_symlink_swap(recipe: Recipe, test: &str) {
    let logs = TestLogs::new(test);
    let served = serve(&logs, recipe, |dir| kubernetes_write(dir, &token(1), 1));
    assert_eq!(get(&served.url).body, token(1));
    for generation in [2, 3] {
        kubernetes_write(&served.tokens, &token(generation), generation);
        wait_for_body(&served.url, &token(generation));
    }
}

#[test]
fn file_content_recipe_serves_the_file_and_follows_a_rename_into_place() {
    follows_rename_into_place(Recipe::FileContent, "wi_recipe_file_content_rename");
}

#[test]
fn file_content_recipe_follows_the_kubelet_data_symlink_swap() {
    follows_kubernetes_symlink_swap(Recipe::FileContent, "wi_recipe_file_content_kubelet");
}

#[test]
fn istio_lua_recipe_serves_the_file_and_follows_a_rename_into_place() {
    follows_rename_into_place(Recipe::IstioLua, "wi_recipe_lua_rename");
}

#[test]
fn istio_lua_recipe_follows_the_kubelet_data_symlink_swap() {
    follows_kubernetes_symlink_swap(Recipe::IstioLua, "wi_recipe_lua_kubelet");
}

/// Why the recipe names the directory after the colon: the same formatter without it misses
/// the kubelet's swap and serves the first token for ever. Both variants run in one Envoy;
/// once the shipped one shows the new token the watch events have been handled, so the other
/// one still answering the old token is a real miss, not a race.
#[test]
fn file_content_without_the_watched_directory_misses_the_kubelet_swap() {
    let logs = TestLogs::new("wi_recipe_file_content_needs_directory");
    let tokens = logs.subdir("tokens");
    kubernetes_write(&tokens, &token(1), 1);
    let shipped = Recipe::FileContent.load(&tokens, 0, RECIPE_PORT);
    let mut bare = shipped.clone();
    bare.listener["name"] = json!("without_directory");
    let format = &mut hcm_mut(&mut bare.listener)["route_config"]["virtual_hosts"][0]["routes"][0]
        ["direct_response"]["body_format"]["text_format_source"]["inline_string"];
    let dir = tokens.to_string_lossy();
    let with_dir = format!("%FILE_CONTENT({dir}/{TOKEN_FILE_NAME}:{dir})%");
    assert_eq!(
        format.as_str(),
        Some(with_dir.as_str()),
        "the shipped format"
    );
    *format = json!(format!("%FILE_CONTENT({dir}/{TOKEN_FILE_NAME})%"));
    let yaml = json!({
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {"listeners": [shipped.listener, bare.listener], "clusters": [shipped.cluster]},
    })
    .to_string();
    let envoy = Envoy::start_yaml(&yaml, 1, logs.path()).unwrap_or_else(|e| panic!("{e}"));
    let shipped_url = format!("{}/federated-token", envoy.url(shipped.listener_name()));
    let bare_url = format!("{}/federated-token", envoy.url("without_directory"));
    assert_eq!(get(&bare_url).body, token(1));
    kubernetes_write(&tokens, &token(2), 2);
    wait_for_body(&shipped_url, &token(2));
    assert_eq!(get(&bare_url).body, token(1), "no directory, no reread");
}

#[test]
fn file_content_recipe_answers_only_get_federated_token_and_keeps_a_deleted_file() {
    let logs = TestLogs::new("wi_recipe_file_content_routes");
    let served = serve(&logs, Recipe::FileContent, |dir| {
        rotate_by_rename(dir, &token(1))
    });
    let base = served.envoy.url("federated_token");
    assert_eq!(get(&format!("{base}/")).status, 404);
    assert_eq!(get(&format!("{base}/federated-token/x")).status, 404);
    assert_eq!(post_status(&served.url), 404);
    // A deleted file is still served from memory (what the README warns about): the filter's
    // `exp` check is what stops an unrotated token.
    std::fs::remove_file(recipes::token_file(&served.tokens)).unwrap();
    assert_eq!(get(&served.url).body, token(1));
}

#[test]
fn file_content_recipe_refuses_to_start_without_the_token_file() {
    let logs = TestLogs::new("wi_recipe_file_content_no_file");
    let tokens = logs.subdir("tokens");
    let source = Recipe::FileContent.load(&tokens, 0, RECIPE_PORT);
    let err = match Envoy::start_yaml(&source.bootstrap(), 1, logs.path()) {
        Ok(_) => panic!("Envoy started without the token file"),
        Err(e) => e,
    };
    assert!(
        err.log
            .contains(&format!("{}", recipes::token_file(&tokens).display())),
        "the error names the missing file: {err}"
    );
}

#[test]
fn istio_lua_recipe_answers_503_without_the_file_and_only_serves_get_federated_token() {
    let logs = TestLogs::new("wi_recipe_lua_errors");
    let served = serve(&logs, Recipe::IstioLua, |_| {});
    let missing = get(&served.url);
    assert_eq!(missing.status, 503, "{missing:?}");
    assert!(!missing.body.contains("eyJ"), "{missing:?}");
    served.envoy.wait_for_log(
        "federated token file cannot be opened",
        Duration::from_secs(10),
    );
    std::fs::write(recipes::token_file(&served.tokens), "").unwrap();
    assert_eq!(get(&served.url).status, 503, "an empty file is no token");
    rotate_by_rename(&served.tokens, &token(7));
    assert_eq!(get(&served.url).body, token(7));
    let base = served.envoy.url("federated_token");
    assert_eq!(get(&format!("{base}/")).status, 404);
    assert_eq!(get(&format!("{base}/federated-token?x=1")).status, 404);
    assert_eq!(post_status(&served.url), 405);
    assert!(
        !served.envoy.log_text().contains("c2lnbmF0dXJl"),
        "the token never reaches the log"
    );
}

fn post_status(url: &str) -> u16 {
    match ureq::post(url).send_string("") {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("POST {url}: {e}"),
    }
}

/// (address, port) of a listener's `address.socket_address`.
fn listener_socket(listener: &mut Value) -> (String, Option<u64>) {
    let address = listener["address"]["socket_address"]["address"].clone();
    let port = listener_port_mut(listener).as_u64();
    (address.as_str().unwrap_or_default().to_string(), port)
}

/// (address, port) of a STATIC cluster's only endpoint.
fn cluster_socket(cluster: &mut Value) -> (String, Option<u64>) {
    let address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        ["address"]["socket_address"]["address"]
        .clone();
    let port = cluster_port_mut(cluster).as_u64();
    (address.as_str().unwrap_or_default().to_string(), port)
}

/// The loopback address, port and cluster name every recipe and the filter's default URL share.
fn assert_loopback_pair(mut listener: Value, mut cluster: Value, what: &str) {
    assert_eq!(
        listener_socket(&mut listener),
        ("127.0.0.1".to_string(), Some(u64::from(RECIPE_PORT))),
        "{what}: the listener is bound to loopback only"
    );
    assert_eq!(cluster["name"], CLUSTER, "{what}");
    assert_eq!(cluster["type"], "STATIC", "{what}");
    assert_eq!(
        cluster_socket(&mut cluster),
        ("127.0.0.1".to_string(), Some(u64::from(RECIPE_PORT))),
        "{what}: the cluster points at the listener"
    );
    assert_eq!(
        entra_proxy_wasm::config::DEFAULT_FEDERATED_TOKEN_URL,
        format!("http://127.0.0.1:{RECIPE_PORT}/federated-token"),
        "the filter's default URL is the recipes' listener"
    );
}

#[test]
fn envoy_recipe_file_reads_the_workload_identity_path_on_loopback() {
    let doc = read_yaml(ENVOY_RECIPE);
    let listener = doc["static_resources"]["listeners"][0].clone();
    let cluster = doc["static_resources"]["clusters"][0].clone();
    assert_loopback_pair(listener.clone(), cluster, ENVOY_RECIPE);
    let route = &hcm(&listener)["route_config"]["virtual_hosts"][0]["routes"][0];
    assert_eq!(route["match"]["path"], "/federated-token");
    let body = &route["direct_response"]["body_format"];
    assert_eq!(
        body["text_format_source"]["inline_string"],
        format!("%FILE_CONTENT({RECIPE_TOKEN_DIR}/{TOKEN_FILE_NAME}:{RECIPE_TOKEN_DIR})%")
    );
    assert_eq!(
        body["formatters"][0]["name"],
        "envoy.formatter.file_content"
    );
    assert_eq!(
        body["formatters"][0]["typed_config"]["@type"],
        "type.googleapis.com/envoy.extensions.formatter.file_content.v3.FileContent"
    );
}

#[test]
fn istio_envoyfilter_adds_the_loopback_lua_listener_and_its_cluster() {
    let filter = read_yaml(ISTIO_ENVOYFILTER);
    assert_eq!(filter["apiVersion"], "networking.istio.io/v1alpha3");
    assert_eq!(filter["kind"], "EnvoyFilter");
    let contexts: Vec<&Value> = filter["spec"]["configPatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["match"]["context"])
        .collect();
    assert_eq!(
        contexts,
        [&json!("SIDECAR_OUTBOUND"), &json!("SIDECAR_OUTBOUND")],
        "listener and cluster go to the same proxies"
    );
    let listener = patch_value(&filter, "LISTENER");
    assert_loopback_pair(
        listener.clone(),
        patch_value(&filter, "CLUSTER"),
        ISTIO_ENVOYFILTER,
    );
    let lua = lua_code(&listener);
    assert!(
        lua.contains(&format!(
            "local TOKEN_FILE = \"{RECIPE_TOKEN_DIR}/{TOKEN_FILE_NAME}\""
        )),
        "the Lua code reads AZURE_FEDERATED_TOKEN_FILE's path:\n{lua}"
    );
    let names: Vec<String> = recipes::http_filters(&listener)
        .iter()
        .map(|f| f["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        names,
        ["envoy.filters.http.lua", "envoy.filters.http.router"]
    );
}

/// The Deployment's pod template, the ServiceAccount, the EnvoyFilter and the WasmPlugin name
/// the same pods, namespace, volume and cluster.
#[test]
fn istio_workload_wasmplugin_and_envoyfilter_agree() {
    let docs = read_yaml_docs("istio/workload.yaml");
    let kind = |k: &str| {
        docs.iter()
            .find(|d| d["kind"] == k)
            .unwrap_or_else(|| panic!("no {k} in workload.yaml"))
    };
    let account = kind("ServiceAccount");
    let deployment = kind("Deployment");
    let filter = read_yaml(ISTIO_ENVOYFILTER);
    let plugin = read_yaml("istio/wasmplugin.yaml");

    let namespace = &account["metadata"]["namespace"];
    for (what, doc) in [
        ("Deployment", deployment),
        ("EnvoyFilter", &filter),
        ("WasmPlugin", &plugin),
    ] {
        assert_eq!(&doc["metadata"]["namespace"], namespace, "{what}");
    }
    let client_id = account["metadata"]["annotations"]["azure.workload.identity/client-id"]
        .as_str()
        .expect("client-id annotation");
    assert_eq!(client_id.len(), 36, "a GUID placeholder: {client_id}");

    let pod = &deployment["spec"]["template"];
    assert_eq!(
        pod["spec"]["serviceAccountName"],
        account["metadata"]["name"]
    );
    let labels = &pod["metadata"]["labels"];
    assert_eq!(
        labels["azure.workload.identity/use"],
        json!("true"),
        "the webhook selects the string \"true\""
    );
    let mounts: Value = serde_json::from_str(
        pod["metadata"]["annotations"]["sidecar.istio.io/userVolumeMount"]
            .as_str()
            .expect("userVolumeMount annotation"),
    )
    .expect("userVolumeMount is JSON");
    assert_eq!(
        mounts,
        json!([{"name": "azure-identity-token", "mountPath": RECIPE_TOKEN_DIR, "readOnly": true}]),
        "the webhook's volume, where the Lua code reads it"
    );
    for (what, selector) in [
        ("EnvoyFilter", &filter["spec"]["workloadSelector"]["labels"]),
        ("WasmPlugin", &plugin["spec"]["selector"]["matchLabels"]),
    ] {
        let selector = selector.as_object().expect("selector labels");
        assert!(!selector.is_empty(), "{what}");
        for (key, value) in selector {
            assert_eq!(&labels[key], value, "{what} selects the pods");
        }
    }

    let config = &plugin["spec"]["pluginConfig"];
    assert_eq!(config["entra_id_federated_token_auth"], true);
    assert!(
        config.get("client_secret").is_none(),
        "no secret with workload identity"
    );
    let url = config["entra_id_federated_token_url"].as_str().unwrap();
    assert_eq!(url, entra_proxy_wasm::config::DEFAULT_FEDERATED_TOKEN_URL);
    assert_eq!(
        config["clusters"][format!("127.0.0.1:{RECIPE_PORT}")],
        patch_value(&filter, "CLUSTER")["name"],
        "the WasmPlugin calls the EnvoyFilter's cluster"
    );
}

/// The WasmPlugin's pluginConfig, placeholders filled, is accepted by the filter's own parser.
#[test]
fn istio_wasmplugin_config_is_accepted_by_the_filter() {
    let plugin = read_yaml("istio/wasmplugin.yaml");
    let text = plugin["spec"]["pluginConfig"]
        .to_string()
        .replace("${ENTRA_TENANT_ID}", "11111111-1111-1111-1111-111111111111")
        .replace("${ENTRA_CLIENT_ID}", "22222222-2222-2222-2222-222222222222")
        .replace("${COOKIE_SECRET_BASE64}", &STANDARD.encode([7u8; 32]));
    assert!(!text.contains("${"), "every placeholder filled: {text}");
    if let Err(e) = entra_proxy_wasm::config::Config::from_json(text.as_bytes()) {
        panic!("the filter rejects the shipped pluginConfig: {e}\n{text}");
    }
}
