//! Reading oauth2-proxy configuration sources into one flat option map (TOML option names):
//! the TOML config file, and the alpha YAML — either a bare alpha config (`providers`,
//! `injectResponseHeaders`, …) or Helm chart values (`config`, `extraArgs`, `alphaConfig`).
//!
//! Later sources win, as in oauth2-proxy (config file < flags < alpha providers).

use serde_json::{Map, Value};
use serde_yaml::Value as Yaml;

use super::names::option_for_flag;
use super::{ConvertError, Note, NoteKind};

/// Merge a TOML config file into `options`.
pub fn merge_toml(text: &str, options: &mut Map<String, Value>) -> Result<(), ConvertError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ConvertError::Toml(e.to_string()))?;
    for (key, value) in table {
        options.insert(key, toml_to_json(value));
    }
    Ok(())
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}

/// Header lists found in the alpha config: (section name, entries).
pub type HeaderLists = Vec<(&'static str, Vec<Yaml>)>;

/// Merge an alpha config or Helm values file; returns its header injection lists.
pub fn merge_alpha_yaml(
    text: &str,
    options: &mut Map<String, Value>,
    notes: &mut Vec<Note>,
) -> Result<HeaderLists, ConvertError> {
    let root: Yaml = serde_yaml::from_str(text).map_err(|e| ConvertError::Yaml(e.to_string()))?;
    let Some(root) = root.as_mapping() else {
        return Err(ConvertError::Yaml(
            "the alpha YAML must be a mapping".into(),
        ));
    };
    let is_helm = ["alphaConfig", "extraArgs", "config"]
        .iter()
        .any(|k| root.contains_key(*k));
    if !is_helm {
        return merge_alpha_config(root, options, notes);
    }
    let mut deployment_keys = Vec::new();
    let mut lists = Vec::new();
    // Order matters: config.configFile < config.* < extraArgs < alphaConfig.
    if let Some(config) = root.get("config").and_then(Yaml::as_mapping) {
        merge_helm_config(config, options, notes)?;
    }
    if let Some(args) = root.get("extraArgs") {
        merge_extra_args(args, options, notes);
    }
    if let Some(alpha) = root.get("alphaConfig") {
        if let Some(data) = alpha.get("configData").and_then(Yaml::as_mapping) {
            lists = merge_alpha_config(data, options, notes)?;
        }
    }
    for (key, value) in root {
        let key = key.as_str().unwrap_or_default();
        match key {
            "config" | "extraArgs" | "alphaConfig" => {}
            "sessionStorage" if value.get("type").and_then(Yaml::as_str) == Some("redis") => {
                notes.push(not_carried(
                    "sessionStorage.type: redis",
                    "sessions live in encrypted cookies; no Redis is needed",
                ));
            }
            "serviceAccount" | "podLabels" if mentions_workload_identity(value) => {
                notes.push(Note {
                    kind: NoteKind::Info,
                    option: format!("Helm {key}"),
                    reason: "Azure workload identity labels/annotations go on the Envoy (gateway) pod; the filter's federated token auth is configured with entra_id_federated_token_auth".into(),
                });
            }
            _ => deployment_keys.push(key.to_string()),
        }
    }
    if !deployment_keys.is_empty() {
        notes.push(Note {
            kind: NoteKind::Info,
            option: format!("Helm values {}", deployment_keys.join(", ")),
            reason: "describe the oauth2-proxy Deployment, not its configuration; the filter runs inside Envoy".into(),
        });
    }
    Ok(lists)
}

fn mentions_workload_identity(value: &Yaml) -> bool {
    serde_yaml::to_string(value)
        .map(|text| text.contains("azure.workload.identity"))
        .unwrap_or(false)
}

fn merge_helm_config(
    config: &serde_yaml::Mapping,
    options: &mut Map<String, Value>,
    notes: &mut Vec<Note>,
) -> Result<(), ConvertError> {
    if let Some(file) = config.get("configFile").and_then(Yaml::as_str) {
        merge_toml(file, options)?;
    }
    for (key, value) in config {
        let key = key.as_str().unwrap_or_default();
        let option = match key {
            "configFile" => continue,
            "clientID" => "client_id",
            "clientSecret" => "client_secret",
            "cookieSecret" => "cookie_secret",
            "cookieName" => "cookie_name",
            _ => {
                notes.push(not_carried(
                    &format!("Helm config.{key}"),
                    "a chart setting convert does not know; copy what it configures by hand",
                ));
                continue;
            }
        };
        options.insert(option.to_string(), yaml_to_json(value));
    }
    Ok(())
}

fn merge_extra_args(args: &Yaml, options: &mut Map<String, Value>, notes: &mut Vec<Note>) {
    match args {
        Yaml::Mapping(map) => {
            for (flag, value) in map {
                let flag = flag.as_str().unwrap_or_default();
                options.insert(option_for_flag(flag), flag_value(value));
            }
        }
        Yaml::Sequence(items) => {
            for item in items {
                let text = item.as_str().unwrap_or_default();
                let (flag, value) = text.split_once('=').unwrap_or((text, "true"));
                options.insert(
                    option_for_flag(flag),
                    flag_value(&Yaml::String(value.into())),
                );
            }
        }
        _ => notes.push(not_carried(
            "Helm extraArgs",
            "expected a mapping of flag: value",
        )),
    }
}

/// Flag values are strings on a command line; booleans are written back as booleans.
fn flag_value(value: &Yaml) -> Value {
    match value.as_str() {
        Some("true") => Value::Bool(true),
        Some("false") => Value::Bool(false),
        _ => yaml_to_json(value),
    }
}

fn merge_alpha_config(
    root: &serde_yaml::Mapping,
    options: &mut Map<String, Value>,
    notes: &mut Vec<Note>,
) -> Result<HeaderLists, ConvertError> {
    let mut lists = Vec::new();
    for (key, value) in root {
        let key = key.as_str().unwrap_or_default();
        match key {
            "providers" => merge_providers(value, options, notes),
            "injectRequestHeaders" | "injectResponseHeaders" => {
                let section = if key == "injectRequestHeaders" {
                    "injectRequestHeaders"
                } else {
                    "injectResponseHeaders"
                };
                lists.push((section, value.as_sequence().cloned().unwrap_or_default()));
            }
            "upstreamConfig" => notes.push(not_carried(key, "Envoy's routes and clusters decide the upstream")),
            "server" | "metricsServer" => notes.push(not_carried(key, "Envoy's listener decides where to listen; metrics are Envoy stats under wasmcustom")),
            _ => notes.push(not_carried(key, "an alpha config section convert does not know")),
        }
    }
    Ok(lists)
}

fn merge_providers(value: &Yaml, options: &mut Map<String, Value>, notes: &mut Vec<Note>) {
    let providers = value.as_sequence().cloned().unwrap_or_default();
    for (index, extra) in providers.iter().enumerate().skip(1) {
        let id = extra.get("id").and_then(Yaml::as_str).unwrap_or("?");
        notes.push(not_carried(
            &format!("providers[{index}] ({id})"),
            "one filter serves one provider; configure another filter (another host or route) for it",
        ));
    }
    let Some(Yaml::Mapping(provider)) = providers.first() else {
        return;
    };
    for (key, value) in provider {
        let key = key.as_str().unwrap_or_default();
        match key {
            "oidcConfig" => merge_nested(value, "oidcConfig", OIDC_FIELDS, options, notes),
            "entraIdConfig" | "microsoftEntraIDConfig" => {
                merge_nested(value, key, ENTRA_FIELDS, options, notes)
            }
            "id" => {}
            _ => match PROVIDER_FIELDS.iter().find(|(field, _)| *field == key) {
                Some((_, option)) => {
                    options.insert(option.to_string(), yaml_to_json(value));
                }
                None => notes.push(not_carried(
                    &format!("providers[0].{key}"),
                    "a provider field convert does not know",
                )),
            },
        }
    }
}

const PROVIDER_FIELDS: &[(&str, &str)] = &[
    ("provider", "provider"),
    ("clientID", "client_id"),
    ("clientSecret", "client_secret"),
    ("clientSecretFile", "client_secret_file"),
    ("scope", "scope"),
    ("allowedGroups", "allowed_groups"),
    ("name", "provider_display_name"),
    ("codeChallengeMethod", "code_challenge_method"),
    ("loginURL", "login_url"),
    ("redeemURL", "redeem_url"),
    ("backendLogoutURL", "backend_logout_url"),
];

const OIDC_FIELDS: &[(&str, &str)] = &[
    ("issuerURL", "oidc_issuer_url"),
    (
        "insecureSkipIssuerVerification",
        "insecure_oidc_skip_issuer_verification",
    ),
    ("insecureSkipNonce", "insecure_oidc_skip_nonce"),
    ("skipDiscovery", "skip_oidc_discovery"),
    ("jwksURL", "oidc_jwks_url"),
    ("emailClaim", "oidc_email_claim"),
    ("groupsClaim", "oidc_groups_claim"),
    ("userIDClaim", "user_id_claim"),
    ("audienceClaims", "oidc_audience_claims"),
    ("extraAudiences", "oidc_extra_audiences"),
];

const ENTRA_FIELDS: &[(&str, &str)] = &[
    ("allowedTenants", "entra_id_allowed_tenants"),
    ("federatedTokenAuth", "entra_id_federated_token_auth"),
];

fn merge_nested(
    value: &Yaml,
    section: &str,
    fields: &[(&str, &str)],
    options: &mut Map<String, Value>,
    notes: &mut Vec<Note>,
) {
    let Some(map) = value.as_mapping() else {
        return;
    };
    for (key, value) in map {
        let key = key.as_str().unwrap_or_default();
        // ["aud"] is oauth2-proxy's default and what the filter checks; nothing to carry.
        if key == "audienceClaims"
            && value
                .as_sequence()
                .is_some_and(|s| s.len() == 1 && s[0].as_str() == Some("aud"))
        {
            continue;
        }
        match fields.iter().find(|(field, _)| *field == key) {
            Some((_, option)) => {
                options.insert(option.to_string(), yaml_to_json(value));
            }
            None => notes.push(not_carried(
                &format!("providers[0].{section}.{key}"),
                "a provider field convert does not know",
            )),
        }
    }
}

/// A YAML value as JSON (the plugin configuration is JSON).
pub fn yaml_to_json(value: &Yaml) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn not_carried(option: &str, reason: &str) -> Note {
    Note {
        kind: NoteKind::NotCarried,
        option: option.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_values_keep_their_types() {
        let mut options = Map::new();
        merge_toml(
            "a = \"x\"\nb = true\nc = 3\nd = [\"p\", \"q\"]\n",
            &mut options,
        )
        .unwrap();
        assert_eq!(
            Value::Object(options),
            serde_json::json!({"a": "x", "b": true, "c": 3, "d": ["p", "q"]})
        );
    }

    #[test]
    fn bad_toml_and_yaml_are_errors() {
        assert!(merge_toml("a = ", &mut Map::new()).is_err());
        assert!(merge_alpha_yaml("[1, 2]", &mut Map::new(), &mut Vec::new()).is_err());
    }

    #[test]
    fn helm_precedence_is_config_file_then_config_then_flags_then_alpha() {
        let yaml = r#"
config:
  clientID: from-config
  cookieSecret: secret
  configFile: |
    email_domains = ["example.com"]
    client_id = "from-file"
    cookie_name = "file-cookie"
extraArgs:
  cookie-name: flag-cookie
  email-domain: "*"
  skip-provider-button: "true"
alphaConfig:
  configData:
    providers:
      - id: p
        provider: entra-id
        clientID: from-alpha
"#;
        let mut options = Map::new();
        let mut notes = Vec::new();
        merge_alpha_yaml(yaml, &mut options, &mut notes).unwrap();
        assert_eq!(options["client_id"], "from-alpha");
        assert_eq!(options["cookie_name"], "flag-cookie");
        assert_eq!(options["email_domains"], "*");
        assert_eq!(options["skip_provider_button"], true);
        assert_eq!(options["cookie_secret"], "secret");
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn alpha_provider_fields_map_to_options_and_unknown_ones_are_reported() {
        let yaml = r#"
providers:
  - id: a
    provider: entra-id
    clientID: cid
    scope: openid User.Read
    allowedGroups: [g1]
    oidcConfig:
      issuerURL: https://login.microsoftonline.com/t/v2.0
      audienceClaims: [aud]
      userIDClaim: oid
      weirdField: 1
    entraIdConfig:
      federatedTokenAuth: true
  - id: b
    provider: oidc
upstreamConfig:
  upstreams: []
"#;
        let mut options = Map::new();
        let mut notes = Vec::new();
        let lists = merge_alpha_yaml(yaml, &mut options, &mut notes).unwrap();
        assert!(lists.is_empty());
        assert_eq!(
            Value::Object(options),
            serde_json::json!({
                "provider": "entra-id",
                "client_id": "cid",
                "scope": "openid User.Read",
                "allowed_groups": ["g1"],
                "oidc_issuer_url": "https://login.microsoftonline.com/t/v2.0",
                "user_id_claim": "oid",
                "entra_id_federated_token_auth": true,
            })
        );
        let reported: Vec<&str> = notes.iter().map(|n| n.option.as_str()).collect();
        assert_eq!(
            reported,
            [
                "providers[1] (b)",
                "providers[0].oidcConfig.weirdField",
                "upstreamConfig"
            ]
        );
    }
}
