//! Renders the Envoy configuration the tests run: listener "main" → HTTP connection manager →
//! [extra HTTP filters] → the wasm filter → router → cluster "upstream", all on 127.0.0.1 with
//! port 0 so that parallel tests never collide.
//!
//! Envoy has no templating, so the YAML is written here. Raw fragments (listeners, clusters,
//! routes, HTTP filters) are accepted as block YAML written at any indentation, or as one-line
//! JSON (which is YAML too); they are re-indented into place.

use std::path::PathBuf;
use std::time::Duration;

/// The name (and root id) of the plugin in every config; the filter's metrics and logs carry it.
pub const PLUGIN_NAME: &str = "entra-proxy-wasm";

/// What to run; see [`crate::envoy::Envoy::start`].
#[derive(Debug, Clone)]
pub struct EnvoyConfig {
    /// The filter to load; `None` runs a plain proxy without the wasm filter.
    pub wasm_path: Option<PathBuf>,
    /// The plugin configuration, handed to the filter as a JSON `StringValue`.
    pub plugin_config: serde_json::Value,
    /// Port on 127.0.0.1 of the cluster "upstream" the main route goes to.
    pub upstream_port: u16,
    /// More STATIC clusters: (cluster name, port on 127.0.0.1).
    pub clusters: Vec<(String, u16)>,
    /// Worker threads (`--concurrency`); each runs its own VM.
    pub concurrency: u32,
    /// Envoy's log level (`-l`).
    pub log_level: String,
    /// `failure_policy` of the plugin (`FAIL_CLOSED` or `FAIL_OPEN`).
    pub failure_policy: String,
    /// `vm_config.vm_id` (shared data is per vm id).
    pub vm_id: String,
    /// `vm_config.environment_variables.key_values`.
    pub vm_env: Vec<(String, String)>,
    /// Timeout of the main route.
    pub route_timeout: Duration,
    /// Access log file of the main listener, if any (the harness puts one in the log dir).
    pub access_log: Option<PathBuf>,
    /// Raw HTTP filter entries placed before the wasm filter.
    pub extra_http_filters: Vec<String>,
    /// Raw route entries placed before the catch-all route to "upstream".
    pub extra_routes: Vec<String>,
    /// Raw listener entries (give each a name and port 0; read its port with `Envoy::port`).
    pub extra_listeners: Vec<String>,
    /// Raw cluster entries.
    pub extra_clusters: Vec<String>,
    /// How long `Envoy::start` waits for readiness.
    pub start_timeout: Duration,
}

impl EnvoyConfig {
    /// The filter from [`crate::paths::wasm_path`] with an empty plugin configuration, in front of
    /// `upstream_port`, with 2 workers.
    pub fn new(upstream_port: u16) -> EnvoyConfig {
        EnvoyConfig {
            wasm_path: Some(crate::paths::wasm_path()),
            ..EnvoyConfig::without_wasm(upstream_port)
        }
    }

    /// A plain proxy to `upstream_port`, no wasm filter.
    pub fn without_wasm(upstream_port: u16) -> EnvoyConfig {
        EnvoyConfig {
            wasm_path: None,
            plugin_config: serde_json::json!({}),
            upstream_port,
            clusters: Vec::new(),
            concurrency: 2,
            log_level: "info".into(),
            failure_policy: "FAIL_CLOSED".into(),
            vm_id: String::new(),
            vm_env: Vec::new(),
            route_timeout: Duration::from_secs(30),
            access_log: None,
            extra_http_filters: Vec::new(),
            extra_routes: Vec::new(),
            extra_listeners: Vec::new(),
            extra_clusters: Vec::new(),
            start_timeout: Duration::from_secs(60),
        }
    }

    /// Sets the plugin configuration.
    pub fn plugin_config(mut self, config: serde_json::Value) -> Self {
        self.plugin_config = config;
        self
    }

    /// Adds a STATIC cluster `name` → 127.0.0.1:`port`.
    pub fn cluster(mut self, name: &str, port: u16) -> Self {
        self.clusters.push((name.to_string(), port));
        self
    }

    /// Sets the number of workers.
    pub fn concurrency(mut self, workers: u32) -> Self {
        self.concurrency = workers;
        self
    }

    /// Sets Envoy's log level (`trace`, `debug`, `info`, …).
    pub fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.to_string();
        self
    }

    /// Adds a raw HTTP filter entry (before the wasm filter).
    pub fn extra_http_filter(mut self, yaml: &str) -> Self {
        self.extra_http_filters.push(yaml.to_string());
        self
    }

    /// Adds a raw route entry (before the catch-all route).
    pub fn extra_route(mut self, yaml: &str) -> Self {
        self.extra_routes.push(yaml.to_string());
        self
    }

    /// Adds a raw listener entry.
    pub fn extra_listener(mut self, yaml: &str) -> Self {
        self.extra_listeners.push(yaml.to_string());
        self
    }

    /// Adds a raw cluster entry.
    pub fn extra_cluster(mut self, yaml: &str) -> Self {
        self.extra_clusters.push(yaml.to_string());
        self
    }

    /// The YAML Envoy is started with.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "admin:\n  address:\n    socket_address: {address: 127.0.0.1, port_value: 0}\n\
             static_resources:\n  listeners:\n",
        );
        out.push_str(&self.main_listener());
        for l in &self.extra_listeners {
            out.push_str(&list_item(l, 2));
        }
        out.push_str("  clusters:\n");
        out.push_str(&static_cluster("upstream", self.upstream_port));
        for (name, port) in &self.clusters {
            out.push_str(&static_cluster(name, *port));
        }
        for c in &self.extra_clusters {
            out.push_str(&list_item(c, 2));
        }
        out
    }

    fn main_listener(&self) -> String {
        let mut out = format!(
            "  - name: main
    address:
      socket_address: {{address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: main
          codec_type: AUTO
{access_log}          route_config:
            name: main
            virtual_hosts:
            - name: all
              domains: [\"*\"]
              routes:
",
            access_log = self.access_log_yaml(),
        );
        for r in &self.extra_routes {
            out.push_str(&list_item(r, 14));
        }
        out.push_str(&format!(
            "              - match: {{prefix: \"/\"}}\n                route: {{cluster: upstream, timeout: {}s}}\n",
            self.route_timeout.as_secs_f64()
        ));
        out.push_str("          http_filters:\n");
        for f in &self.extra_http_filters {
            out.push_str(&list_item(f, 10));
        }
        if let Some(wasm) = &self.wasm_path {
            out.push_str(&self.wasm_filter(wasm));
        }
        out.push_str(
            "          - name: envoy.filters.http.router
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
",
        );
        out
    }

    fn access_log_yaml(&self) -> String {
        let Some(path) = &self.access_log else {
            return String::new();
        };
        // No query string and no cookies: the callback's query carries the authorization code.
        let format = "[%START_TIME%] \"%REQ(:METHOD)% %PATH(NQ)% %PROTOCOL%\" \
                      %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_SENT% %DURATION%ms\n";
        format!(
            "          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: {}
              log_format: {{text_format_source: {{inline_string: {}}}}}
",
            q(&path.to_string_lossy()),
            q(format)
        )
    }

    fn wasm_filter(&self, wasm: &std::path::Path) -> String {
        let env = if self.vm_env.is_empty() {
            String::new()
        } else {
            let pairs: Vec<String> = self
                .vm_env
                .iter()
                .map(|(k, v)| format!("{}: {}", q(k), q(v)))
                .collect();
            format!(
                "                  environment_variables: {{key_values: {{{}}}}}\n",
                pairs.join(", ")
            )
        };
        format!(
            "          - name: envoy.filters.http.wasm
            typed_config:
              \"@type\": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: {name}
                root_id: {name}
                failure_policy: {policy}
                vm_config:
                  vm_id: {vm_id}
                  runtime: envoy.wasm.runtime.v8
                  code: {{local: {{filename: {file}}}}}
{env}                configuration:
                  \"@type\": type.googleapis.com/google.protobuf.StringValue
                  value: {value}
",
            name = q(PLUGIN_NAME),
            policy = self.failure_policy,
            vm_id = q(&self.vm_id),
            file = q(&wasm.to_string_lossy()),
            value = q(&self.plugin_config.to_string()),
        )
    }
}

/// A STATIC cluster entry for 127.0.0.1:`port`.
fn static_cluster(name: &str, port: u16) -> String {
    format!(
        "  - name: {name}
    type: STATIC
    connect_timeout: 2s
    load_assignment:
      cluster_name: {name}
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{address: 127.0.0.1, port_value: {port}}}
",
        name = q(name)
    )
}

/// A YAML double-quoted scalar. JSON's string escapes are a subset of YAML's, so serde_json's
/// output is a valid YAML scalar for any input, including quotes, backslashes and newlines.
pub fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// `fragment` as a block-sequence item at `indent` spaces: dedented, "- " before the first line,
/// two spaces before the others.
pub fn list_item(fragment: &str, indent: usize) -> String {
    let lines: Vec<&str> = fragment.lines().filter(|l| !l.trim().is_empty()).collect();
    let common = lines
        .iter()
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let marker = if i == 0 { "- " } else { "  " };
        out.push_str(&pad);
        out.push_str(marker);
        out.push_str(&line[common..]);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_item_dedents_and_marks_the_first_line() {
        let cases = [
            ("a: 1\nb:\n  c: 2", 2, "  - a: 1\n    b:\n      c: 2\n"),
            ("\n      a: 1\n      b: 2\n    ", 0, "- a: 1\n  b: 2\n"),
            ("{\"name\": \"x\"}", 4, "    - {\"name\": \"x\"}\n"),
        ];
        for (input, indent, want) in cases {
            assert_eq!(list_item(input, indent), want, "{input:?}");
        }
    }

    #[test]
    fn q_escapes_what_yaml_would_misread() {
        let cases = [
            ("plain", "\"plain\""),
            ("{\"a\":\"b\"}", "\"{\\\"a\\\":\\\"b\\\"}\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("# not a comment", "\"# not a comment\""),
        ];
        for (input, want) in cases {
            assert_eq!(q(input), want);
        }
    }

    #[test]
    fn render_places_the_wasm_filter_between_extra_filters_and_router() {
        let mut cfg = EnvoyConfig::without_wasm(1234)
            .cluster("entra", 4321)
            .extra_http_filter("name: extra.filter\ntyped_config: {}")
            .plugin_config(serde_json::json!({"client_id": "c\"d"}));
        cfg.wasm_path = Some(PathBuf::from("/x/filter.wasm"));
        let yaml = cfg.render();
        let extra = yaml.find("name: extra.filter").unwrap();
        let wasm = yaml.find("envoy.filters.http.wasm").unwrap();
        let router = yaml.find("envoy.filters.http.router").unwrap();
        assert!(extra < wasm && wasm < router, "{yaml}");
        assert!(
            yaml.contains(r#"value: "{\"client_id\":\"c\\\"d\"}""#),
            "{yaml}"
        );
        assert!(yaml.contains("port_value: 4321"));
        assert!(yaml.contains("failure_policy: FAIL_CLOSED"));
    }

    #[test]
    fn render_without_wasm_has_no_wasm_filter() {
        let yaml = EnvoyConfig::without_wasm(1).render();
        assert!(!yaml.contains("envoy.filters.http.wasm"));
        assert!(yaml.contains("envoy.filters.http.router"));
    }
}
