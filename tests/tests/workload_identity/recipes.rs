//! The Workload Identity token recipes of `envoy-config/workload-identity/`, loaded for the tests
//! that run them. Only two things change from the shipped text: the token directory (a test
//! directory instead of `/var/run/secrets/azure/tokens`) and the loopback port. Routes, the
//! `file_content` formatter and the Lua code run exactly as a user would deploy them.
//!
//! Shared by `workload_identity_recipes.rs` and `envoy_workload_identity.rs` through `#[path]`;
//! each uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use entra_proxy_tests::paths;
use serde::Deserialize;
use serde_json::{json, Value};

/// Where Azure Workload Identity mounts the projected token, as written in the recipes.
pub const RECIPE_TOKEN_DIR: &str = "/var/run/secrets/azure/tokens";
/// The token file's name (`AZURE_FEDERATED_TOKEN_FILE` is `<dir>/<this>`).
pub const TOKEN_FILE_NAME: &str = "azure-identity-token";
/// The loopback port the recipes listen on and the filter's default URL names.
pub const RECIPE_PORT: u16 = 14999;
/// The cluster both recipes add; the plugin's `clusters` maps `127.0.0.1:14999` to it.
pub const CLUSTER: &str = "federated_token";
/// The plain-Envoy recipe.
pub const ENVOY_RECIPE: &str = "envoy-token-listener.yaml";
/// The Istio EnvoyFilter with the Lua listener.
pub const ISTIO_ENVOYFILTER: &str = "istio/envoyfilter-token-listener.yaml";

/// Which recipe serves the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    /// `envoy-token-listener.yaml`: `direct_response` with `%FILE_CONTENT(file:dir)%`.
    FileContent,
    /// The listener of the Istio EnvoyFilter: the Lua filter opens the file on every request.
    IstioLua,
}

/// A listener and the cluster that points at it, as Envoy v3 JSON.
#[derive(Debug, Clone)]
pub struct TokenSource {
    /// The loopback listener that answers `GET /federated-token`.
    pub listener: Value,
    /// Cluster `federated_token`.
    pub cluster: Value,
}

impl Recipe {
    /// The recipe's listener and cluster, reading the token from `token_dir`, with the listener
    /// on `listener_port` and the cluster pointing at `cluster_port`.
    pub fn load(self, token_dir: &Path, listener_port: u16, cluster_port: u16) -> TokenSource {
        let (listener, cluster) = match self {
            Recipe::FileContent => {
                let doc = read_yaml(ENVOY_RECIPE);
                let resources = &doc["static_resources"];
                (
                    single(&resources["listeners"], "listener"),
                    single(&resources["clusters"], "cluster"),
                )
            }
            Recipe::IstioLua => {
                let filter = read_yaml(ISTIO_ENVOYFILTER);
                (
                    patch_value(&filter, "LISTENER"),
                    patch_value(&filter, "CLUSTER"),
                )
            }
        };
        let mut source = TokenSource {
            listener: in_dir(&listener, token_dir),
            cluster: in_dir(&cluster, token_dir),
        };
        *listener_port_mut(&mut source.listener) = json!(listener_port);
        *cluster_port_mut(&mut source.cluster) = json!(cluster_port);
        source
    }
}

impl TokenSource {
    /// A complete Envoy bootstrap with only this listener and cluster (admin on port 0).
    pub fn bootstrap(&self) -> String {
        json!({
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
            "static_resources": {"listeners": [self.listener], "clusters": [self.cluster]},
        })
        .to_string()
    }

    /// The listener's name (what `Envoy::port` looks it up by).
    pub fn listener_name(&self) -> &str {
        self.listener["name"].as_str().unwrap_or_default()
    }
}

/// `envoy-config/workload-identity/<rel>`.
pub fn recipe_path(rel: &str) -> PathBuf {
    paths::envoy_config_dir()
        .join("workload-identity")
        .join(rel)
}

/// Every YAML document of a recipe file, as JSON values.
pub fn read_yaml_docs(rel: &str) -> Vec<Value> {
    let path = recipe_path(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
        })
        .collect()
}

/// The single YAML document of a recipe file.
pub fn read_yaml(rel: &str) -> Value {
    let mut docs = read_yaml_docs(rel);
    assert_eq!(docs.len(), 1, "{rel}: expected one YAML document");
    docs.remove(0)
}

/// The `patch.value` of the EnvoyFilter's only `ADD` patch that applies to `apply_to`.
pub fn patch_value(envoyfilter: &Value, apply_to: &str) -> Value {
    let patches: Vec<&Value> = envoyfilter["spec"]["configPatches"]
        .as_array()
        .unwrap_or_else(|| panic!("EnvoyFilter without configPatches: {envoyfilter}"))
        .iter()
        .filter(|p| p["applyTo"] == apply_to)
        .collect();
    assert_eq!(patches.len(), 1, "one {apply_to} patch expected");
    assert_eq!(patches[0]["patch"]["operation"], "ADD", "{apply_to}");
    patches[0]["patch"]["value"].clone()
}

/// The Lua source of the EnvoyFilter's listener, as shipped.
pub fn lua_code(listener: &Value) -> String {
    let filters = http_filters(listener);
    let lua = filters
        .iter()
        .find(|f| f["name"] == "envoy.filters.http.lua")
        .unwrap_or_else(|| panic!("no Lua filter in {listener}"));
    lua["typed_config"]["default_source_code"]["inline_string"]
        .as_str()
        .unwrap_or_else(|| panic!("Lua filter without inline code: {lua}"))
        .to_string()
}

/// The HTTP filters of a listener's (only) HTTP connection manager.
pub fn http_filters(listener: &Value) -> Vec<Value> {
    hcm(listener)["http_filters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The typed config of a listener's HTTP connection manager.
pub fn hcm(listener: &Value) -> &Value {
    &listener["filter_chains"][0]["filters"][0]["typed_config"]
}

/// The typed config of a listener's HTTP connection manager, to edit.
pub fn hcm_mut(listener: &mut Value) -> &mut Value {
    &mut listener["filter_chains"][0]["filters"][0]["typed_config"]
}

/// `listener.address.socket_address.port_value`.
pub fn listener_port_mut(listener: &mut Value) -> &mut Value {
    &mut listener["address"]["socket_address"]["port_value"]
}

/// The port of a STATIC cluster's only endpoint.
pub fn cluster_port_mut(cluster: &mut Value) -> &mut Value {
    &mut cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        ["socket_address"]["port_value"]
}

/// `value` with every mention of the recipe's token directory replaced by `token_dir`.
fn in_dir(value: &Value, token_dir: &Path) -> Value {
    let dir = token_dir.to_str().expect("token dir is UTF-8");
    assert!(
        !dir.contains(['"', '\\']) && !dir.ends_with('/'),
        "token dir {dir:?} must survive JSON text substitution"
    );
    let text = value.to_string().replace(RECIPE_TOKEN_DIR, dir);
    serde_json::from_str(&text).expect("substituted recipe is JSON")
}

fn single(list: &Value, what: &str) -> Value {
    match list.as_array().map(Vec::as_slice) {
        Some([one]) => one.clone(),
        other => panic!("expected exactly one {what}, got {other:?}"),
    }
}

/// The token file's path inside `dir`.
pub fn token_file(dir: &Path) -> PathBuf {
    dir.join(TOKEN_FILE_NAME)
}

/// Replaces the token file the way a careful writer does: write a sibling, rename it over the
/// old file (atomic, so a reader sees the old or the new token, never half of one).
pub fn rotate_by_rename(dir: &Path, content: &str) {
    let tmp = dir.join(format!(".{TOKEN_FILE_NAME}.tmp"));
    std::fs::write(&tmp, content).expect("write token");
    std::fs::rename(&tmp, token_file(dir)).expect("rename token into place");
}

/// Writes the token the way the kubelet updates a projected volume: the file lives in a
/// timestamped directory `..<generation>`, `..data` links to the current one and the token name
/// links to `..data/<name>`; an update creates a new directory and renames a fresh `..data_tmp`
/// link over `..data`, so the token's own path never changes.
pub fn kubernetes_write(dir: &Path, content: &str, generation: u32) {
    let payload = format!("..2030_01_01_00_00_{generation:02}.{generation}");
    std::fs::create_dir_all(dir.join(&payload)).expect("payload dir");
    std::fs::write(dir.join(&payload).join(TOKEN_FILE_NAME), content).expect("write token");
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&payload, &tmp).expect("..data_tmp link");
    std::fs::rename(&tmp, dir.join("..data")).expect("swap ..data");
    let link = token_file(dir);
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(format!("..data/{TOKEN_FILE_NAME}"), &link).expect("token link");
    }
}
