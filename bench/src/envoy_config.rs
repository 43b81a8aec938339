//! The bench Envoy's configuration: one listener per row, every one in front of the same
//! direct-response route, so the only difference between rows is the HTTP filter in front.
//!
//! Rendered as JSON (which YAML parsers read as YAML), so nesting is checked by serde rather than
//! by counting spaces.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::rows::Row;

/// Name of the cluster that reaches the Entra emulator.
pub const ENTRA_CLUSTER: &str = "entra";
/// Envoy oauth2's callback path (registered with the emulator for any loopback port).
pub const OAUTH2_CALLBACK: &str = "/oauth2/callback";

/// What the listeners need to know.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Rows to give a listener.
    pub rows: Vec<Row>,
    /// The empty filter's wasm.
    pub empty_wasm: PathBuf,
    /// entra-proxy-wasm's wasm.
    pub entra_wasm: PathBuf,
    /// Plugin configuration of row 3.
    pub entra_browser: Value,
    /// The header changes row 3 makes, in the empty filter's line format (see
    /// `bench/empty-filter`).
    pub row3_changes: String,
    /// Plugin configuration of row 4.
    pub entra_bearer: Value,
    /// The emulator's `127.0.0.1:PORT`.
    pub entra_authority: String,
    /// `http://127.0.0.1:PORT/<tenant>` (authorize, token and keys live below it).
    pub tenant_base: String,
    /// The issuer of tokens (`…/<tenant>/v2.0`).
    pub issuer: String,
    /// App registration.
    pub client_id: String,
    /// Its secret (row 5's token secret).
    pub client_secret: String,
    /// Row 5's HMAC secret.
    pub hmac_secret: String,
}

impl BenchConfig {
    /// The whole Envoy configuration.
    pub fn render(&self) -> String {
        let listeners: Vec<Value> = self.rows.iter().map(|r| self.listener(*r)).collect();
        let (host, port) = self
            .entra_authority
            .rsplit_once(':')
            .unwrap_or((self.entra_authority.as_str(), "0"));
        let port: u16 = port.parse().unwrap_or(0);
        json!({
            "admin": {"address": socket(host, 0)},
            "static_resources": {
                "secrets": [
                    generic_secret("oauth2-token", &self.client_secret),
                    generic_secret("oauth2-hmac", &self.hmac_secret),
                ],
                "listeners": listeners,
                "clusters": [{
                    "name": ENTRA_CLUSTER,
                    "type": "STATIC",
                    "connect_timeout": "2s",
                    "load_assignment": {
                        "cluster_name": ENTRA_CLUSTER,
                        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket(host, port)}}]}],
                    },
                }],
            },
        })
        .to_string()
    }

    fn listener(&self, row: Row) -> Value {
        let mut filters = self.filters(row);
        filters.push(json!({
            "name": "envoy.filters.http.router",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
        }));
        json!({
            "name": row.listener(),
            "address": socket("127.0.0.1", 0),
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": row.listener(),
                    "codec_type": "AUTO",
                    "route_config": {
                        "name": "direct",
                        "virtual_hosts": [{
                            "name": "all",
                            "domains": ["*"],
                            "routes": [{
                                "match": {"prefix": "/"},
                                "direct_response": {"status": 200, "body": {"inline_string": "ok\n"}},
                            }],
                        }],
                    },
                    "http_filters": filters,
                },
            }]}],
        })
    }

    fn filters(&self, row: Row) -> Vec<Value> {
        match row {
            Row::Bare => vec![],
            Row::EmptyWasm => vec![wasm("bench-empty", &self.empty_wasm, None)],
            Row::EmptyWasmHeaders => vec![wasm(
                "bench-empty-headers",
                &self.empty_wasm,
                Some(&Value::String(self.row3_changes.clone())),
            )],
            Row::EntraBrowser => vec![wasm(
                "entra-proxy-wasm",
                &self.entra_wasm,
                Some(&self.entra_browser),
            )],
            Row::EntraBearer => vec![wasm(
                "entra-proxy-wasm-bearer",
                &self.entra_wasm,
                Some(&self.entra_bearer),
            )],
            Row::OAuth2 => vec![self.oauth2()],
            Row::JwtAuthn => vec![self.jwt_authn()],
        }
    }

    fn oauth2(&self) -> Value {
        json!({
            "name": "envoy.filters.http.oauth2",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.oauth2.v3.OAuth2",
                "config": {
                    "token_endpoint": {
                        "cluster": ENTRA_CLUSTER,
                        "uri": format!("{}/oauth2/v2.0/token", self.tenant_base),
                        "timeout": "5s",
                    },
                    "authorization_endpoint": format!("{}/oauth2/v2.0/authorize", self.tenant_base),
                    "redirect_uri": format!("http://%REQ(:authority)%{OAUTH2_CALLBACK}"),
                    "redirect_path_matcher": {"path": {"exact": OAUTH2_CALLBACK}},
                    "signout_path": {"path": {"exact": "/oauth2/sign_out"}},
                    // Like row 3's pass_authorization_header: the upstream gets a bearer token.
                    "forward_bearer_token": true,
                    "auth_scopes": ["openid", "email", "profile", "offline_access"],
                    "credentials": {
                        "client_id": self.client_id,
                        "token_secret": {"name": "oauth2-token"},
                        "hmac_secret": {"name": "oauth2-hmac"},
                    },
                },
            },
        })
    }

    fn jwt_authn(&self) -> Value {
        json!({
            "name": "envoy.filters.http.jwt_authn",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                "providers": {"entra": {
                    "issuer": self.issuer,
                    "audiences": [self.client_id],
                    "forward": true,
                    "remote_jwks": {
                        "http_uri": {
                            "uri": format!("{}/discovery/v2.0/keys", self.tenant_base),
                            "cluster": ENTRA_CLUSTER,
                            "timeout": "5s",
                        },
                        "cache_duration": "43200s",
                    },
                }},
                "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "entra"}}],
            },
        })
    }
}

fn socket(host: &str, port: u16) -> Value {
    json!({"socket_address": {"address": host, "port_value": port}})
}

fn generic_secret(name: &str, value: &str) -> Value {
    json!({"name": name, "generic_secret": {"secret": {"inline_string": value}}})
}

/// A wasm filter running `file` as plugin `name` (its own vm_id, so shared data stays apart).
fn wasm(name: &str, file: &Path, configuration: Option<&Value>) -> Value {
    let mut config = json!({
        "name": name,
        "root_id": name,
        "failure_policy": "FAIL_CLOSED",
        "vm_config": {
            "vm_id": name,
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": file.to_string_lossy()}},
        },
    });
    if let Some(value) = configuration {
        // A JSON string is handed over as its text, anything else as JSON.
        let text = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        config["configuration"] = json!({
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": text,
        });
    }
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": config,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rows: Vec<Row>) -> BenchConfig {
        BenchConfig {
            rows,
            empty_wasm: PathBuf::from("/w/empty.wasm"),
            entra_wasm: PathBuf::from("/w/entra.wasm"),
            entra_browser: json!({"client_id": "c"}),
            row3_changes: "-cookie\nx-forwarded-user: u".into(),
            entra_bearer: json!({"client_id": "c", "skip_jwt_bearer_tokens": true}),
            entra_authority: "127.0.0.1:4444".into(),
            tenant_base: "http://127.0.0.1:4444/t".into(),
            issuer: "http://127.0.0.1:4444/t/v2.0".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            hmac_secret: "h".into(),
        }
    }

    fn http_filters(doc: &Value, listener: usize) -> Vec<String> {
        doc["static_resources"]["listeners"][listener]["filter_chains"][0]["filters"][0]
            ["typed_config"]["http_filters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn each_row_gets_its_filter_before_the_router() {
        let doc: Value = serde_json::from_str(&config(Row::ALL.to_vec()).render()).unwrap();
        let want = [
            vec!["envoy.filters.http.router"],
            vec!["envoy.filters.http.wasm", "envoy.filters.http.router"],
            vec!["envoy.filters.http.wasm", "envoy.filters.http.router"],
            vec!["envoy.filters.http.wasm", "envoy.filters.http.router"],
            vec!["envoy.filters.http.oauth2", "envoy.filters.http.router"],
            vec!["envoy.filters.http.jwt_authn", "envoy.filters.http.router"],
        ];
        for (i, want) in want.iter().enumerate() {
            assert_eq!(http_filters(&doc, i), *want, "listener {i}");
        }
        let names: Vec<&str> = doc["static_resources"]["listeners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            Row::ALL.iter().map(|r| r.listener()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn plugin_configuration_is_a_json_string_and_the_cluster_points_at_the_emulator() {
        let doc: Value = serde_json::from_str(&config(vec![Row::EntraBearer]).render()).unwrap();
        let wasm = &doc["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
            ["typed_config"]["http_filters"][0]["typed_config"]["config"];
        let value: Value =
            serde_json::from_str(wasm["configuration"]["value"].as_str().unwrap()).unwrap();
        assert_eq!(value["skip_jwt_bearer_tokens"], json!(true));
        assert_eq!(wasm["vm_config"]["vm_id"], "entra-proxy-wasm-bearer");
        let cluster = &doc["static_resources"]["clusters"][0];
        assert_eq!(
            cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
                ["socket_address"]["port_value"],
            4444
        );
    }
}
