//! The three output shapes of `convert`: the bare `pluginConfig` JSON, an Envoy `http_filters`
//! entry, and an Istio `WasmPlugin` manifest.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::oci::manifest::ROOT_ID;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pretty JSON: the plugin configuration itself.
    PluginConfig,
    /// YAML list item for `http_filters` of Envoy's HTTP connection manager.
    Envoy,
    /// An Istio `WasmPlugin` manifest.
    WasmPlugin,
}

impl Format {
    /// Parse the `--format` value.
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "plugin-config" => Some(Format::PluginConfig),
            "envoy" => Some(Format::Envoy),
            "wasmplugin" => Some(Format::WasmPlugin),
            _ => None,
        }
    }
}

/// Where the WasmPlugin pulls the module from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSource {
    /// `oci://registry/repo:tag`.
    pub url: String,
    /// Manifest digest (hex, no `sha256:` prefix), if known.
    pub sha256: Option<String>,
}

impl Default for ImageSource {
    fn default() -> Self {
        ImageSource {
            url: "oci://REGISTRY/entra-proxy-wasm:VERSION".into(),
            sha256: None,
        }
    }
}

/// Render `config` as `format`.
pub fn render(config: &Map<String, Value>, format: Format, image: &ImageSource) -> String {
    let pretty = serde_json::to_string_pretty(config).unwrap_or_default();
    match format {
        Format::PluginConfig => format!("{pretty}\n"),
        Format::Envoy => envoy_filter(config, &pretty),
        Format::WasmPlugin => wasm_plugin(config, image),
    }
}

fn envoy_filter(config: &Map<String, Value>, pretty: &str) -> String {
    let mut out = String::from(
        "# An http_filters entry for Envoy's HTTP connection manager; put it before\n\
         # envoy.filters.http.router. The filter calls these Envoy clusters (define them with\n\
         # TLS and SNI, see envoy-config/production.yaml):\n",
    );
    if let Some(Value::Object(clusters)) = config.get("clusters") {
        for (authority, cluster) in clusters {
            let port = if authority.contains(':') { "" } else { ":443" };
            out.push_str(&format!(
                "#   {} -> {authority}{port}\n",
                cluster.as_str().unwrap_or_default()
            ));
        }
    }
    out.push_str(&format!(
        "- name: envoy.filters.http.wasm\n  typed_config:\n    \"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm\n    config:\n      name: {ROOT_ID}\n      root_id: {ROOT_ID}\n      vm_config:\n        runtime: envoy.wasm.runtime.v8\n        code: {{ local: {{ filename: /etc/envoy/entra_proxy_wasm.wasm }} }}\n      configuration:\n        \"@type\": type.googleapis.com/google.protobuf.StringValue\n        value: |\n"
    ));
    for line in pretty.lines() {
        out.push_str("          ");
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("      failure_policy: FAIL_CLOSED\n");
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmPlugin<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: Spec<'a>,
}

#[derive(Serialize)]
struct Metadata {
    name: &'static str,
    namespace: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    selector: Value,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    phase: &'static str,
    fail_strategy: &'static str,
    plugin_config: &'a Map<String, Value>,
}

fn wasm_plugin(config: &Map<String, Value>, image: &ImageSource) -> String {
    let manifest = WasmPlugin {
        api_version: "extensions.istio.io/v1alpha1",
        kind: "WasmPlugin",
        metadata: Metadata {
            name: "entra-proxy-wasm",
            namespace: "istio-system",
        },
        spec: Spec {
            selector: serde_json::json!({ "matchLabels": { "istio": "ingressgateway" } }),
            url: &image.url,
            sha256: image.sha256.as_deref(),
            phase: "AUTHN",
            fail_strategy: "FAIL_CLOSE",
            plugin_config: config,
        },
    };
    let yaml = serde_yaml::to_string(&manifest).unwrap_or_default();
    let mut out = String::from(
        "# Istio WasmPlugin for the ingress gateway. The clusters in pluginConfig exist once the\n\
         # ServiceEntry + DestinationRule of envoy-config/istio/entra-egress.yaml are applied.\n",
    );
    if image.sha256.is_none() {
        out.push_str(
            "# Pin the module: add `sha256: <hex>` as printed by `entra-proxy-wasm image`.\n",
        );
    }
    out.push_str(&yaml);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Map<String, Value> {
        serde_json::json!({
            "client_id": "c",
            "clusters": { "login.microsoftonline.com": "outbound|443||login.microsoftonline.com" },
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn the_envoy_snippet_is_yaml_whose_string_value_is_the_config() {
        let text = render(&sample(), Format::Envoy, &ImageSource::default());
        let parsed: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let filter = &parsed[0];
        assert_eq!(filter["name"].as_str(), Some("envoy.filters.http.wasm"));
        let value = filter["typed_config"]["config"]["configuration"]["value"]
            .as_str()
            .unwrap();
        let back: Map<String, Value> = serde_json::from_str(value).unwrap();
        assert_eq!(back, sample());
        assert_eq!(
            filter["typed_config"]["config"]["failure_policy"].as_str(),
            Some("FAIL_CLOSED")
        );
    }

    #[test]
    fn the_wasmplugin_carries_url_digest_phase_and_config() {
        let image = ImageSource {
            url: "oci://ghcr.io/o/entra:1".into(),
            sha256: Some("ab".repeat(32)),
        };
        let text = render(&sample(), Format::WasmPlugin, &image);
        let parsed: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(parsed["kind"].as_str(), Some("WasmPlugin"));
        assert_eq!(
            parsed["spec"]["url"].as_str(),
            Some("oci://ghcr.io/o/entra:1")
        );
        assert_eq!(
            parsed["spec"]["sha256"].as_str(),
            Some("ab".repeat(32).as_str())
        );
        assert_eq!(parsed["spec"]["phase"].as_str(), Some("AUTHN"));
        assert_eq!(parsed["spec"]["failStrategy"].as_str(), Some("FAIL_CLOSE"));
        let config: Map<String, Value> = serde_json::to_value(&parsed["spec"]["pluginConfig"])
            .unwrap()
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(config, sample());
        let unpinned = render(&sample(), Format::WasmPlugin, &ImageSource::default());
        assert!(!unpinned.contains("\n  sha256:"), "{unpinned}");
    }

    #[test]
    fn formats_parse() {
        assert_eq!(Format::parse("envoy"), Some(Format::Envoy));
        assert_eq!(Format::parse("wasmplugin"), Some(Format::WasmPlugin));
        assert_eq!(Format::parse("plugin-config"), Some(Format::PluginConfig));
        assert_eq!(Format::parse("json"), None);
    }
}
