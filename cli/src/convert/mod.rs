//! `entra-proxy-wasm convert`: an oauth2-proxy configuration (TOML, plus the alpha YAML for
//! providers and header injection) → the filter's `pluginConfig`.
//!
//! The filter takes oauth2-proxy's option names, so most options carry over unchanged. This
//! module handles the rest, in this order:
//! 1. read every source into one option map (TOML < Helm config < flags < alpha providers);
//! 2. rewrite what has a direct equivalent (`provider = "azure"`, `set_authorization_header`),
//!    carry the alpha header injection lists over as they are (the filter reads the same shape)
//!    and drop what belongs to a stand-alone proxy, noting each;
//! 3. add `clusters` for the issuer's host, and for Microsoft Graph when groups may overflow the
//!    token (`allowed_groups`, or `User.Read` in the scope);
//! 4. validate with the filter's own `Config::from_object`: options the filter names as not used
//!    inside Envoy are dropped with its reason; every other problem (an option not implemented
//!    yet, a missing `email_domains`, …) stays, is printed, and makes the result "rejected".
//!
//! Options the filter does not implement yet are kept in the output on purpose: silently dropping
//! `allowed_groups` would turn a group-restricted app into one every tenant user can open.

pub mod names;
pub mod render;
pub mod sources;

use entra_proxy_wasm::config::entra::graph_url_for_authority;
use entra_proxy_wasm::config::{authority_of, Config, DEFAULT_FEDERATED_TOKEN_URL};
use serde_json::{Map, Value};

/// How the filter's callouts reach Entra: cluster names differ between plain Envoy and Istio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterNaming {
    /// Plain Envoy: `entra` (and `graph`), clusters the user defines.
    Envoy,
    /// Istio: `outbound|<port>||<host>`, the clusters a `ServiceEntry` creates.
    Istio,
}

/// What kind of remark a [`Note`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// The option was dropped.
    NotCarried,
    /// The option was carried over with a different name or meaning.
    Changed,
    /// Something was added that oauth2-proxy did not need.
    Added,
    /// Worth knowing; nothing was lost.
    Info,
}

/// One remark about the conversion, naming the option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Kind of remark.
    pub kind: NoteKind,
    /// The option (TOML name, alpha path or Helm key).
    pub option: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            NoteKind::NotCarried => "not carried over",
            NoteKind::Changed => "changed",
            NoteKind::Added => "added",
            NoteKind::Info => "note",
        };
        write!(f, "{kind}: {}: {}", self.option, self.reason)
    }
}

/// Why the inputs could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The TOML file does not parse.
    #[error("oauth2-proxy TOML: {0}")]
    Toml(String),
    /// The alpha YAML does not parse or has the wrong shape.
    #[error("alpha YAML: {0}")]
    Yaml(String),
}

/// The inputs: file contents.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// oauth2-proxy TOML config.
    pub toml: Option<String>,
    /// Alpha config or Helm values YAML.
    pub alpha_yaml: Option<String>,
}

/// The result of a conversion.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// The plugin configuration (what goes into `pluginConfig` / the `StringValue`).
    pub config: Map<String, Value>,
    /// What was dropped, changed or added.
    pub notes: Vec<Note>,
    /// The filter's validation problems; empty when the filter accepts `config`.
    pub problems: Vec<String>,
}

impl Conversion {
    /// Whether the filter would load this configuration.
    pub fn accepted(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Convert `input` for a deployment that names clusters the `naming` way.
pub fn convert(input: &Input, naming: ClusterNaming) -> Result<Conversion, ConvertError> {
    let mut config = Map::new();
    let mut notes = Vec::new();
    if let Some(text) = &input.toml {
        sources::merge_toml(text, &mut config)?;
    }
    let header_lists = match &input.alpha_yaml {
        Some(text) => sources::merge_alpha_yaml(text, &mut config, &mut notes)?,
        None => Vec::new(),
    };
    rewrite_provider(&mut config, &mut notes);
    rewrite_set_authorization_header(&mut config, &mut notes);
    apply_headers(&header_lists, &mut config, &mut notes);
    drop_stand_alone(&mut config, &mut notes);
    drop_client_secret_with_federated_auth(&mut config, &mut notes);
    add_clusters(&mut config, naming, &mut notes);
    let problems = validate(&mut config, &mut notes);
    explain_missing(&config, &problems, &mut notes);
    Ok(Conversion {
        config,
        notes,
        problems,
    })
}

fn note(notes: &mut Vec<Note>, kind: NoteKind, option: &str, reason: impl Into<String>) {
    notes.push(Note {
        kind,
        option: option.to_string(),
        reason: reason.into(),
    });
}

fn rewrite_provider(config: &mut Map<String, Value>, notes: &mut Vec<Note>) {
    match config.get("provider").and_then(Value::as_str) {
        None => note(notes, NoteKind::Info, "provider", "not set (oauth2-proxy would default to \"google\"); the filter's default is \"entra-id\""),
        Some("azure") => {
            config.insert("provider".into(), "entra-id".into());
            note(notes, NoteKind::Changed, "provider", "\"azure\" (v1 endpoints) becomes \"entra-id\" (v2.0 endpoints, OIDC)");
            if let Some(tenant) = config.remove("azure_tenant") {
                let tenant = tenant.as_str().unwrap_or("common").to_string();
                if !config.contains_key("oidc_issuer_url") {
                    let issuer = format!("https://login.microsoftonline.com/{tenant}/v2.0");
                    note(notes, NoteKind::Changed, "azure_tenant", format!("becomes oidc_issuer_url {issuer:?}"));
                    config.insert("oidc_issuer_url".into(), issuer.into());
                }
            }
            if config.remove("resource").is_some() {
                note(notes, NoteKind::NotCarried, "resource", "v2.0 endpoints take scopes instead of a resource; put the API's scope in scope");
            }
        }
        Some(_) => {}
    }
}

fn rewrite_set_authorization_header(config: &mut Map<String, Value>, notes: &mut Vec<Note>) {
    let Some(value) = config.remove("set_authorization_header") else {
        return;
    };
    if value == Value::Bool(true) || value == "true" {
        config.insert("pass_authorization_header".into(), Value::Bool(true));
        note(notes, NoteKind::Changed, "set_authorization_header", "becomes pass_authorization_header: inside Envoy there is no auth_request response, the upstream request gets Authorization: Bearer <id_token>");
    }
}

/// oauth2-proxy's legacy header switches; in alpha mode the header lists replace them.
const LEGACY_HEADER_SWITCHES: &[&str] = &[
    "pass_authorization_header",
    "pass_access_token",
    "pass_user_headers",
    "set_xauthrequest",
];

/// The alpha lists carry over as they are. As in oauth2-proxy's alpha mode they are the whole
/// truth about headers, so the legacy switches go and the default `X-Forwarded-*` set is off.
///
/// A config with only `injectResponseHeaders` is the nginx auth_request pattern: nginx copies
/// those headers from `/oauth2/auth` onto the upstream request. Inline in Envoy there is no such
/// hop and response headers would go to the browser (handing it, say, the ID token in an
/// `Authorization` header), so the list moves to `injectRequestHeaders`, where the upstream gets
/// it directly.
fn apply_headers(
    lists: &sources::HeaderLists,
    config: &mut Map<String, Value>,
    notes: &mut Vec<Note>,
) {
    if lists.is_empty() {
        return;
    }
    for (section, entries) in lists {
        config.insert(
            section.to_string(),
            sources::yaml_to_json(&serde_yaml::Value::Sequence(entries.clone())),
        );
    }
    if !config.contains_key("injectRequestHeaders") {
        if let Some(response) = config.remove("injectResponseHeaders") {
            config.insert("injectRequestHeaders".into(), response);
            note(notes, NoteKind::Changed, "injectResponseHeaders", "moved to injectRequestHeaders: inline in Envoy the upstream request gets these headers (nginx got them from /oauth2/auth); as response headers they would reach the browser. For nginx + /oauth2/auth keep the list as injectResponseHeaders");
        }
    } else if config.contains_key("injectResponseHeaders") {
        note(notes, NoteKind::Info, "injectResponseHeaders", "inline in Envoy these go on the response to the browser, as in oauth2-proxy's reverse-proxy mode; keep tokens out of them");
    }
    for switch in LEGACY_HEADER_SWITCHES {
        if let Some(value) = config.remove(*switch) {
            if value == Value::Bool(true) || value == "true" {
                note(notes, NoteKind::Changed, switch, "dropped: the alpha header lists decide every identity header, as in oauth2-proxy's alpha mode");
            }
        }
    }
    config.insert("pass_user_headers".into(), Value::Bool(false));
    note(
        notes,
        NoteKind::Added,
        "pass_user_headers",
        "false: only the headers the alpha lists name are sent",
    );
}

fn drop_stand_alone(config: &mut Map<String, Value>, notes: &mut Vec<Note>) {
    let keys: Vec<String> = config.keys().cloned().collect();
    for key in keys {
        if let Some(why) = names::stand_alone_reason(&key) {
            config.remove(&key);
            note(
                notes,
                NoteKind::NotCarried,
                &key,
                format!("not used inside Envoy: {why}"),
            );
        }
    }
}

/// The Envoy cluster of the local workload-identity token listener.
pub const FEDERATED_TOKEN_CLUSTER: &str = "federated_token";

fn is_true(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::Bool(true))) || value.and_then(Value::as_str) == Some("true")
}

/// With federated token auth the client secret is not used (and the filter refuses both).
fn drop_client_secret_with_federated_auth(config: &mut Map<String, Value>, notes: &mut Vec<Note>) {
    if is_true(config.get("entra_id_federated_token_auth"))
        && config.remove("client_secret").is_some()
    {
        note(notes, NoteKind::NotCarried, "client_secret", "entra_id_federated_token_auth authenticates the client with the workload identity token instead");
    }
}

/// The cluster name for `authority` (`host[:port]`) under `naming`; `envoy_name` for plain Envoy.
pub fn cluster_name(naming: ClusterNaming, authority: &str, envoy_name: &str) -> String {
    match naming {
        ClusterNaming::Envoy => envoy_name.to_string(),
        ClusterNaming::Istio => {
            let (host, port) = match authority.rsplit_once(':') {
                Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => (host, port),
                _ => (authority, "443"),
            };
            format!("outbound|{port}||{host}")
        }
    }
}

fn add_clusters(config: &mut Map<String, Value>, naming: ClusterNaming, notes: &mut Vec<Note>) {
    let issuer = config
        .get("oidc_issuer_url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(authority) = authority_of(issuer) else {
        return;
    };
    let mut clusters = Map::new();
    clusters.insert(
        authority.clone(),
        cluster_name(naming, &authority, "entra").into(),
    );
    // Group overage: with more groups than fit in the token, the filter asks Graph.
    let wants_graph = config
        .get("allowed_groups")
        .is_some_and(|g| g != &Value::Null && g != &Value::Array(Vec::new()))
        || config
            .get("scope")
            .and_then(Value::as_str)
            .is_some_and(|scope| {
                scope
                    .split_whitespace()
                    .any(|s| s.eq_ignore_ascii_case("User.Read"))
            });
    let graph = match config.get("entra_id_graph_url").and_then(Value::as_str) {
        Some(url) => authority_of(url),
        None => authority
            .split(':')
            .next()
            .and_then(graph_url_for_authority)
            .and_then(authority_of),
    };
    if let (true, Some(graph)) = (wants_graph, graph) {
        let name = cluster_name(naming, &graph, "graph");
        clusters.insert(graph, name.into());
    }
    // Workload identity: the projected token reaches the filter through a local Envoy listener.
    if is_true(config.get("entra_id_federated_token_auth")) {
        let url = config
            .get("entra_id_federated_token_url")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_FEDERATED_TOKEN_URL);
        if let Some(authority) = authority_of(url) {
            clusters.insert(authority, FEDERATED_TOKEN_CLUSTER.into());
            let how = match naming {
                ClusterNaming::Envoy => "see envoy-config/workload-identity/",
                ClusterNaming::Istio => "Istio has no such cluster: add the token listener and cluster to the gateway with an EnvoyFilter",
            };
            note(notes, NoteKind::Added, "entra_id_federated_token_auth", format!("the token file is served to the filter by a local listener ({url}) through the Envoy cluster {FEDERATED_TOKEN_CLUSTER:?}; {how}"));
        }
    }
    let described: Vec<String> = clusters
        .iter()
        .map(|(host, cluster)| format!("{host} -> {}", cluster.as_str().unwrap_or_default()))
        .collect();
    let how = match naming {
        ClusterNaming::Envoy => {
            "define these Envoy clusters (TLS with SNI, see envoy-config/production.yaml)"
        }
        ClusterNaming::Istio => {
            "Istio creates them from a ServiceEntry + DestinationRule (see envoy-config/istio/)"
        }
    };
    note(
        notes,
        NoteKind::Added,
        "clusters",
        format!("{} — {how}", described.join(", ")),
    );
    config.insert("clusters".into(), Value::Object(clusters));
}

/// The filter's verdict. Options it names as not used inside Envoy are dropped (with its
/// reason) and the rest re-checked; every other problem is returned.
fn validate(config: &mut Map<String, Value>, notes: &mut Vec<Note>) -> Vec<String> {
    let mut problems = problems_of(config);
    let mut dropped = false;
    for problem in &problems {
        if let Some((key, why)) = problem.split_once(": ") {
            if why.starts_with("not used inside Envoy") && config.remove(key).is_some() {
                note(notes, NoteKind::NotCarried, key, why);
                dropped = true;
            }
        }
    }
    if dropped {
        problems = problems_of(config);
    }
    problems
}

fn problems_of(config: &Map<String, Value>) -> Vec<String> {
    match Config::from_object(config) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems,
    }
}

/// oauth2-proxy deployments often pass secrets outside the config file; say where they went.
fn explain_missing(config: &Map<String, Value>, problems: &[String], notes: &mut Vec<Note>) {
    let missing = |key: &str| {
        !config.contains_key(key) && problems.iter().any(|p| p.starts_with(&format!("{key}:")))
    };
    if missing("cookie_secret") {
        note(notes, NoteKind::Info, "cookie_secret", "not in the given configuration (deployments often pass it as OAUTH2_PROXY_COOKIE_SECRET or --cookie-secret); add a fresh one: openssl rand -base64 32");
    }
    if missing("client_secret") && !is_true(config.get("entra_id_federated_token_auth")) {
        note(notes, NoteKind::Info, "client_secret", "not in the given configuration (OAUTH2_PROXY_CLIENT_SECRET or --client-secret?); add it");
    }
    if missing("email_domains") {
        note(notes, NoteKind::Info, "email_domains", "not in the given configuration; oauth2-proxy refuses to start without it too — add email_domains = [\"*\"] to admit every user the provider signs in, or list the allowed domains");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOKIE_SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn toml(text: &str) -> Input {
        Input {
            toml: Some(text.into()),
            alpha_yaml: None,
        }
    }

    #[test]
    fn a_complete_config_converts_with_an_envoy_cluster() {
        let c = convert(
            &toml(&format!(
                "provider=\"entra-id\"\noidc_issuer_url=\"https://login.microsoftonline.com/t/v2.0\"\nclient_id=\"c\"\nclient_secret=\"s\"\ncookie_secret=\"{COOKIE_SECRET}\"\nemail_domains=[\"*\"]\nhttp_address=\"0.0.0.0:4180\"\nredis_connection_url=\"redis://x\"\n"
            )),
            ClusterNaming::Envoy,
        )
        .unwrap();
        assert!(c.accepted(), "{:?}", c.problems);
        assert_eq!(
            c.config["clusters"],
            serde_json::json!({"login.microsoftonline.com": "entra"})
        );
        assert!(!c.config.contains_key("http_address"));
        assert!(!c.config.contains_key("redis_connection_url"));
        let dropped: Vec<&str> = c
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::NotCarried)
            .map(|n| n.option.as_str())
            .collect();
        assert_eq!(dropped, ["redis_connection_url", "http_address"]);
    }

    #[test]
    fn istio_cluster_names_follow_the_outbound_pattern() {
        let cases = [
            (
                "login.microsoftonline.com",
                "outbound|443||login.microsoftonline.com",
            ),
            ("idp.example:8443", "outbound|8443||idp.example"),
        ];
        for (authority, expected) in cases {
            assert_eq!(
                cluster_name(ClusterNaming::Istio, authority, "entra"),
                expected
            );
        }
        assert_eq!(cluster_name(ClusterNaming::Envoy, "x", "entra"), "entra");
    }

    #[test]
    fn user_read_adds_a_graph_cluster_for_the_same_cloud() {
        let c = convert(
            &toml("oidc_issuer_url=\"https://login.microsoftonline.us/t/v2.0\"\nscope=\"openid User.Read\"\n"),
            ClusterNaming::Istio,
        )
        .unwrap();
        assert_eq!(
            c.config["clusters"],
            serde_json::json!({
                "login.microsoftonline.us": "outbound|443||login.microsoftonline.us",
                "graph.microsoft.us": "outbound|443||graph.microsoft.us",
            })
        );
    }

    #[test]
    fn options_the_filter_does_not_take_are_kept_so_it_rejects_them() {
        // Dropping an unknown (or not yet implemented) option could drop a security rule;
        // keeping it makes the filter refuse the configuration by name.
        let c = convert(
            &toml(&format!(
                "oidc_issuer_url=\"https://login.microsoftonline.com/t/v2.0\"\nclient_id=\"c\"\nclient_secret=\"s\"\ncookie_secret=\"{COOKIE_SECRET}\"\nemail_domains=\"*\"\nallowed_emails_regex=\".*@corp\"\n"
            )),
            ClusterNaming::Envoy,
        )
        .unwrap();
        assert!(c.config.contains_key("allowed_emails_regex"));
        assert!(!c.accepted());
        assert!(
            c.problems
                .iter()
                .any(|p| p.starts_with("allowed_emails_regex:")),
            "{:?}",
            c.problems
        );
    }

    #[test]
    fn allowed_groups_adds_the_graph_cluster_and_a_graph_url_override_wins() {
        let c = convert(
            &toml("oidc_issuer_url=\"https://login.microsoftonline.com/t/v2.0\"\nallowed_groups=[\"g\"]\n"),
            ClusterNaming::Envoy,
        )
        .unwrap();
        assert_eq!(
            c.config["clusters"],
            serde_json::json!({"login.microsoftonline.com": "entra", "graph.microsoft.com": "graph"})
        );
        let c = convert(
            &toml("oidc_issuer_url=\"http://127.0.0.1:9000/t/v2.0\"\nallowed_groups=[\"g\"]\nentra_id_graph_url=\"http://127.0.0.1:9001\"\n"),
            ClusterNaming::Istio,
        )
        .unwrap();
        assert_eq!(
            c.config["clusters"],
            serde_json::json!({
                "127.0.0.1:9000": "outbound|9000||127.0.0.1",
                "127.0.0.1:9001": "outbound|9001||127.0.0.1",
            })
        );
    }

    #[test]
    fn alpha_header_lists_carry_over_and_replace_the_legacy_switches() {
        let input = Input {
            toml: Some("pass_authorization_header=true\nset_xauthrequest=true\n".into()),
            alpha_yaml: Some(
                "injectResponseHeaders:\n- name: Authorization\n  values: [{claim: id_token, prefix: 'Bearer '}]\n".into(),
            ),
        };
        let c = convert(&input, ClusterNaming::Envoy).unwrap();
        let expected = serde_json::json!([{"name": "Authorization", "values": [{"claim": "id_token", "prefix": "Bearer "}]}]);
        assert_eq!(c.config["injectRequestHeaders"], expected);
        assert!(
            !c.config.contains_key("injectResponseHeaders"),
            "moved, not copied: no ID token in browser responses"
        );
        assert_eq!(c.config["pass_user_headers"], false);
        assert!(!c.config.contains_key("pass_authorization_header"));
        assert!(!c.config.contains_key("set_xauthrequest"));
        let changed: Vec<&str> = c
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::Changed)
            .map(|n| n.option.as_str())
            .collect();
        assert_eq!(
            changed,
            [
                "injectResponseHeaders",
                "pass_authorization_header",
                "set_xauthrequest"
            ]
        );
    }

    #[test]
    fn federated_token_auth_adds_the_token_cluster_and_drops_the_client_secret() {
        let c = convert(
            &toml("oidc_issuer_url=\"https://login.microsoftonline.com/t/v2.0\"\nclient_secret=\"s\"\nentra_id_federated_token_auth=true\n"),
            ClusterNaming::Envoy,
        )
        .unwrap();
        assert_eq!(
            c.config["clusters"]["127.0.0.1:14999"],
            FEDERATED_TOKEN_CLUSTER
        );
        assert!(!c.config.contains_key("client_secret"));
        assert!(
            !c.problems
                .iter()
                .any(|p| p.starts_with("client_secret:") || p.starts_with("clusters:")),
            "{:?}",
            c.problems
        );
    }

    #[test]
    fn legacy_azure_provider_becomes_entra_id_with_a_v2_issuer() {
        let c = convert(
            &toml("provider=\"azure\"\nazure_tenant=\"tid\"\nresource=\"api://x\"\n"),
            ClusterNaming::Envoy,
        )
        .unwrap();
        assert_eq!(c.config["provider"], "entra-id");
        assert_eq!(
            c.config["oidc_issuer_url"],
            "https://login.microsoftonline.com/tid/v2.0"
        );
        assert!(!c.config.contains_key("azure_tenant"));
        assert!(!c.config.contains_key("resource"));
    }

    #[test]
    fn set_authorization_header_becomes_pass_authorization_header() {
        let c = convert(
            &toml("set_authorization_header=true\n"),
            ClusterNaming::Envoy,
        )
        .unwrap();
        assert_eq!(c.config["pass_authorization_header"], true);
        assert!(!c.config.contains_key("set_authorization_header"));
    }

    #[test]
    fn missing_secrets_and_email_domains_are_explained() {
        let c = convert(
            &toml(
                "oidc_issuer_url=\"https://login.microsoftonline.com/t/v2.0\"\nclient_id=\"c\"\n",
            ),
            ClusterNaming::Envoy,
        )
        .unwrap();
        assert!(!c.accepted());
        let explained: Vec<&str> = c
            .notes
            .iter()
            .filter(|n| n.kind == NoteKind::Info && n.option != "provider")
            .map(|n| n.option.as_str())
            .collect();
        assert_eq!(
            explained,
            ["cookie_secret", "client_secret", "email_domains"]
        );
    }
}
