//! Every Kubernetes / Istio manifest under envoy-config/istio/ and envoy-config/nginx/ parses,
//! has the API versions and fields its kind needs, and every plugin configuration in them —
//! WasmPlugin `pluginConfig`, or the Envoy config inside the nginx variant's ConfigMap — passes
//! the filter's own validation once the `${…}` deploy-time values are filled (and is rejected
//! while they are not, so an unfilled template cannot run). The clusters a WasmPlugin names must
//! be created by a ServiceEntry with TLS origination, so no example can rot.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use entra_proxy_tests::paths::envoy_config_dir;
use entra_proxy_wasm::config::Config;
use serde::Deserialize;
use serde_yaml::Value as Yaml;

/// The deploy-time values the manifests document; the test fills exactly these. An unknown
/// `${…}` in a manifest fails the test: it would be a value nobody is told to set.
const FILL: &[(&str, &str)] = &[
    ("ENTRA_TENANT_ID", "9188040d-6c67-4c5b-b112-36a304b66dad"),
    ("ENTRA_CLIENT_ID", "6731de76-14a6-49ae-97bc-6eba6914391e"),
    ("ENTRA_CLIENT_SECRET", "test-client-secret"),
    (
        "COOKIE_SECRET_BASE64",
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    ),
    ("WASM_IMAGE", "registry.example/entra-proxy-wasm:0.1.0"),
    (
        "WASM_SHA256",
        "c0cb2bf987f596bd830aa57ec8c5c671cdbd79ea46e0da432901c6487648be4f",
    ),
    (
        "WASM_URL",
        "https://downloads.example/entra_proxy_wasm.wasm",
    ),
    ("WASM_HOST", "downloads.example"),
    (
        "WASM_FILE_SHA256",
        "413bc5df65c005f5c0794f9a093d935f410f7c8980e687aa30a26260a60bbcfa",
    ),
    (
        "DASHBOARD_ADMINS_GROUP_ID",
        "ac51800c-2679-4ecb-8130-636380a3b491",
    ),
    (
        "DASHBOARD_VIEWERS_GROUP_ID",
        "968b4844-d5e7-4e18-a834-59927959369f",
    ),
];

/// Options the filter does not implement yet but an example already uses, per file: only the
/// filter's "not implemented yet" problem for exactly these is tolerated. Empty today; add an
/// entry (and mark the file's header comment) when an example runs ahead of the filter.
const PENDING: &[(&str, &str)] = &[];

fn manifests() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["istio", "nginx"] {
        collect_yaml(&envoy_config_dir().join(dir), &mut files);
    }
    files.sort();
    files
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(envoy_config_dir())
        .unwrap()
        .display()
        .to_string()
}

fn fill(text: &str) -> String {
    let mut out = text.to_string();
    for (name, value) in FILL {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    out
}

/// `${NAME}` placeholders outside comments (comments may say `${…}`).
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            let tail = &rest[start + 2..];
            let end = tail.find('}').unwrap_or(tail.len());
            found.insert(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    found
}

fn documents(text: &str, file: &str) -> Vec<Yaml> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| {
            Yaml::deserialize(doc).unwrap_or_else(|e| panic!("{file}: YAML does not parse: {e}"))
        })
        .filter(|doc| !doc.is_null())
        .collect()
}

fn str_at<'a>(doc: &'a Yaml, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(doc, |v, key| v.get(*key))?.as_str()
}

fn require(doc: &Yaml, path: &[&str], file: &str) {
    let kind = str_at(doc, &["kind"]).unwrap_or("?");
    let present = path
        .iter()
        .try_fold(doc, |v, key| v.get(*key))
        .is_some_and(|v| !v.is_null());
    assert!(present, "{file}: {kind} lacks {}", path.join("."));
}

/// API version(s) accepted per kind, and the fields each must have.
fn check_shape(doc: &Yaml, file: &str) {
    let kind = str_at(doc, &["kind"]).unwrap_or_else(|| panic!("{file}: a document without kind"));
    let api =
        str_at(doc, &["apiVersion"]).unwrap_or_else(|| panic!("{file}: {kind} without apiVersion"));
    let (apis, fields): (&[&str], &[&[&str]]) = match kind {
        "WasmPlugin" => (
            &["extensions.istio.io/v1alpha1"],
            &[
                &["spec", "url"],
                &["spec", "sha256"],
                &["spec", "phase"],
                &["spec", "failStrategy"],
                &["spec", "pluginConfig"],
            ],
        ),
        "ServiceEntry" => (
            &["networking.istio.io/v1", "networking.istio.io/v1beta1"],
            &[
                &["spec", "hosts"],
                &["spec", "ports"],
                &["spec", "resolution"],
                &["spec", "location"],
            ],
        ),
        "DestinationRule" => (
            &["networking.istio.io/v1", "networking.istio.io/v1beta1"],
            &[&["spec", "host"], &["spec", "trafficPolicy", "tls", "mode"]],
        ),
        "Gateway" => (
            &["networking.istio.io/v1", "networking.istio.io/v1beta1"],
            &[&["spec", "selector"], &["spec", "servers"]],
        ),
        "VirtualService" => (
            &["networking.istio.io/v1", "networking.istio.io/v1beta1"],
            &[&["spec", "hosts"], &["spec", "gateways"], &["spec", "http"]],
        ),
        "ClusterRoleBinding" => (
            &["rbac.authorization.k8s.io/v1"],
            &[&["roleRef", "kind"], &["roleRef", "name"], &["subjects"]],
        ),
        "Ingress" => (
            &["networking.k8s.io/v1"],
            &[&["spec", "ingressClassName"], &["spec", "rules"]],
        ),
        "ConfigMap" => (&["v1"], &[&["data"]]),
        "Deployment" => (
            &["apps/v1"],
            &[
                &["spec", "selector"],
                &["spec", "template", "spec", "containers"],
            ],
        ),
        "Service" => (&["v1"], &[&["spec", "selector"], &["spec", "ports"]]),
        "Namespace" => (&["v1"], &[]),
        other => panic!("{file}: unexpected kind {other}"),
    };
    assert!(
        apis.contains(&api),
        "{file}: {kind} has apiVersion {api}, expected one of {apis:?}"
    );
    require(doc, &["metadata", "name"], file);
    for field in fields {
        require(doc, field, file);
    }
}

/// Validate a plugin configuration; only `PENDING` not-implemented problems are tolerated.
fn check_plugin_config(json: &[u8], file: &str) {
    let Err(err) = Config::from_json(json) else {
        return;
    };
    let unexpected: Vec<&String> = err
        .problems
        .iter()
        .filter(|p| {
            !PENDING.iter().any(|(f, option)| {
                *f == file
                    && p.starts_with(&format!("{option}:"))
                    && p.contains("not implemented yet")
            })
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "{file}: the filter rejects the plugin configuration: {unexpected:?}"
    );
}

/// Every plugin configuration in `doc`, as JSON bytes (WasmPlugin pluginConfig, or the
/// StringValue inside an Envoy config in a ConfigMap), with the Envoy cluster names it can use.
fn plugin_configs(doc: &Yaml, file: &str) -> Vec<(Vec<u8>, Option<BTreeSet<String>>)> {
    match str_at(doc, &["kind"]) {
        Some("WasmPlugin") => {
            let config = &doc["spec"]["pluginConfig"];
            vec![(serde_json::to_vec(config).unwrap(), None)]
        }
        Some("ConfigMap") => {
            let Some(envoy) = str_at(doc, &["data", "envoy.yaml"]) else {
                return Vec::new();
            };
            let envoy: Yaml = serde_yaml::from_str(envoy).unwrap_or_else(|e| {
                panic!("{file}: envoy.yaml in the ConfigMap does not parse: {e}")
            });
            let clusters: BTreeSet<String> = envoy["static_resources"]["clusters"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{file}: envoy.yaml has no clusters"))
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string())
                .collect();
            let text = serde_yaml::to_string(&envoy).unwrap();
            let mut out = Vec::new();
            for listener in envoy["static_resources"]["listeners"]
                .as_sequence()
                .unwrap()
            {
                for chain in listener["filter_chains"].as_sequence().unwrap() {
                    for filter in chain["filters"].as_sequence().unwrap() {
                        let http = &filter["typed_config"]["http_filters"];
                        for f in http.as_sequence().into_iter().flatten() {
                            if f["name"].as_str() == Some("envoy.filters.http.wasm") {
                                let config = &f["typed_config"]["config"];
                                assert_eq!(
                                    config["failure_policy"].as_str(),
                                    Some("FAIL_CLOSED"),
                                    "{file}"
                                );
                                let value = config["configuration"]["value"].as_str().unwrap();
                                out.push((value.as_bytes().to_vec(), Some(clusters.clone())));
                            }
                        }
                    }
                }
            }
            assert!(
                !out.is_empty() || !text.contains("envoy.filters.http.wasm"),
                "{file}: wasm filter not found"
            );
            out
        }
        _ => Vec::new(),
    }
}

fn hex64(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn every_manifest_parses_and_has_its_required_fields() {
    let files = manifests();
    assert!(
        files.len() >= 8,
        "expected the Istio and nginx examples, found {files:?}"
    );
    let mut kinds = BTreeSet::new();
    for path in &files {
        let file = relative(path);
        let text = std::fs::read_to_string(path).unwrap();
        let unknown: Vec<String> = placeholders(&text)
            .into_iter()
            .filter(|p| !FILL.iter().any(|(name, _)| name == p))
            .collect();
        assert!(
            unknown.is_empty(),
            "{file}: undocumented placeholders {unknown:?}"
        );
        for doc in documents(&fill(&text), &file) {
            check_shape(&doc, &file);
            kinds.insert(str_at(&doc, &["kind"]).unwrap().to_string());
        }
    }
    for kind in [
        "WasmPlugin",
        "ServiceEntry",
        "DestinationRule",
        "Gateway",
        "VirtualService",
        "ClusterRoleBinding",
        "Ingress",
        "ConfigMap",
    ] {
        assert!(kinds.contains(kind), "no {kind} example");
    }
}

#[test]
fn wasmplugins_authenticate_first_fail_closed_and_pin_the_image() {
    let mut seen = 0;
    for path in manifests() {
        let file = relative(&path);
        for doc in documents(&fill(&std::fs::read_to_string(&path).unwrap()), &file) {
            if str_at(&doc, &["kind"]) != Some("WasmPlugin") {
                continue;
            }
            seen += 1;
            assert_eq!(str_at(&doc, &["spec", "phase"]), Some("AUTHN"), "{file}");
            assert_eq!(
                str_at(&doc, &["spec", "failStrategy"]),
                Some("FAIL_CLOSE"),
                "{file}"
            );
            assert!(
                str_at(&doc, &["spec", "url"])
                    .unwrap()
                    .starts_with("oci://"),
                "{file}"
            );
            assert!(
                hex64(str_at(&doc, &["spec", "sha256"]).unwrap()),
                "{file}: sha256 must be the bare hex manifest digest"
            );
        }
    }
    assert!(seen >= 2, "the generic and the Dashboard WasmPlugin");
}

#[test]
fn every_plugin_configuration_passes_the_filters_validation_once_filled() {
    let mut seen = 0;
    for path in manifests() {
        let file = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in documents(&fill(&text), &file) {
            for (json, envoy_clusters) in plugin_configs(&doc, &file) {
                seen += 1;
                check_plugin_config(&json, &file);
                // In a plain Envoy config the clusters named by the filter must exist.
                if let Some(defined) = envoy_clusters {
                    let config: serde_json::Value = serde_json::from_slice(&json).unwrap();
                    for (_, cluster) in config["clusters"].as_object().unwrap() {
                        assert!(
                            defined.contains(cluster.as_str().unwrap()),
                            "{file}: cluster {cluster} is not defined"
                        );
                    }
                }
            }
        }
    }
    assert!(
        seen >= 3,
        "expected the two WasmPlugins and the nginx variant's Envoy config"
    );
}

#[test]
fn unfilled_templates_are_rejected_by_the_filter() {
    // A template applied without envsubst must not run with a placeholder secret.
    for path in manifests() {
        let file = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.contains("${COOKIE_SECRET_BASE64}") {
            continue;
        }
        for doc in documents(&text, &file) {
            for (json, _) in plugin_configs(&doc, &file) {
                let err = Config::from_json(&json).expect_err(&file);
                assert!(
                    err.problems.iter().any(|p| p.starts_with("cookie_secret:")),
                    "{file}: {err}"
                );
            }
        }
    }
}

#[test]
fn wasmplugin_clusters_are_created_by_service_entries_with_tls_origination() {
    let mut service_entry_hosts = BTreeSet::new();
    let mut tls_hosts = BTreeSet::new();
    let mut wanted = Vec::new();
    for path in manifests() {
        let file = relative(&path);
        for doc in documents(&fill(&std::fs::read_to_string(&path).unwrap()), &file) {
            match str_at(&doc, &["kind"]) {
                Some("ServiceEntry") => {
                    let ports = doc["spec"]["ports"].as_sequence().unwrap();
                    assert!(
                        ports.iter().any(|p| p["number"].as_u64() == Some(443)),
                        "{file}"
                    );
                    for host in doc["spec"]["hosts"].as_sequence().unwrap() {
                        service_entry_hosts.insert(host.as_str().unwrap().to_string());
                    }
                }
                Some("DestinationRule") => {
                    let tls = &doc["spec"]["trafficPolicy"]["tls"];
                    let host = str_at(&doc, &["spec", "host"]).unwrap().to_string();
                    if tls["mode"].as_str() == Some("SIMPLE")
                        && tls["sni"].as_str() == Some(host.as_str())
                    {
                        // SNI alone is not a name check: the certificate must also name the host.
                        let sans: Vec<&str> = tls["subjectAltNames"]
                            .as_sequence()
                            .unwrap()
                            .iter()
                            .map(|s| s.as_str().unwrap())
                            .collect();
                        assert_eq!(sans, [host.as_str()], "{file}");
                        tls_hosts.insert(host);
                    }
                }
                Some("WasmPlugin") => {
                    for (host, cluster) in doc["spec"]["pluginConfig"]["clusters"]
                        .as_mapping()
                        .unwrap()
                    {
                        wanted.push((
                            file.clone(),
                            host.as_str().unwrap().to_string(),
                            cluster.as_str().unwrap().to_string(),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    assert!(!wanted.is_empty());
    for (file, host, cluster) in wanted {
        assert_eq!(cluster, format!("outbound|443||{host}"), "{file}");
        assert!(
            service_entry_hosts.contains(&host),
            "{file}: no ServiceEntry for {host}"
        );
        assert!(
            tls_hosts.contains(&host),
            "{file}: no DestinationRule originating TLS to {host}"
        );
    }
}

#[test]
fn gateway_routes_reference_existing_gateways() {
    let mut gateways = BTreeSet::new();
    let mut references = Vec::new();
    for path in manifests() {
        let file = relative(&path);
        for doc in documents(&fill(&std::fs::read_to_string(&path).unwrap()), &file) {
            match str_at(&doc, &["kind"]) {
                Some("Gateway") => {
                    let ns = str_at(&doc, &["metadata", "namespace"]).unwrap_or("default");
                    gateways.insert(format!(
                        "{ns}/{}",
                        str_at(&doc, &["metadata", "name"]).unwrap()
                    ));
                }
                Some("VirtualService") => {
                    for g in doc["spec"]["gateways"].as_sequence().unwrap() {
                        references.push((file.clone(), g.as_str().unwrap().to_string()));
                    }
                }
                _ => {}
            }
        }
    }
    for (file, gateway) in references {
        assert!(
            gateways.contains(&gateway),
            "{file}: VirtualService uses unknown gateway {gateway}"
        );
    }
}

#[test]
fn the_nginx_dashboard_ingress_asks_oauth2_auth_and_passes_the_bearer_token() {
    let path = envoy_config_dir().join("nginx/kubernetes-dashboard/ingress.yaml");
    let docs = documents(&std::fs::read_to_string(&path).unwrap(), "ingress.yaml");
    let annotations = &docs[0]["metadata"]["annotations"];
    let auth_url = annotations["nginx.ingress.kubernetes.io/auth-url"]
        .as_str()
        .unwrap();
    assert!(auth_url.ends_with("/oauth2/auth"), "{auth_url}");
    let signin = annotations["nginx.ingress.kubernetes.io/auth-signin"]
        .as_str()
        .unwrap();
    assert!(signin.contains("/oauth2/start?rd="), "{signin}");
    let passed = annotations["nginx.ingress.kubernetes.io/auth-response-headers"]
        .as_str()
        .unwrap();
    assert!(
        passed.split(',').any(|h| h.trim() == "Authorization"),
        "{passed}"
    );
}
