//! `entra-proxy-wasm convert` on the seed's oauth2-proxy configurations (tests/fixtures/seed/:
//! the five example TOML files and the Kubernetes Dashboard Helm values): for each, what carries
//! over, what is reported, and that the result becomes valid once the values the seed leaves out
//! (a cookie secret, email domains, real tenant ids) are added.

use std::collections::BTreeSet;

use entra_proxy_tests::paths::workspace_root;
use entra_proxy_wasm_cli::convert::render::{render, Format, ImageSource};
use entra_proxy_wasm_cli::convert::{convert, ClusterNaming, Conversion, Input, NoteKind};
use serde_json::json;

const COOKIE_SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const MY_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// Problems tolerated while the filter does not implement an option yet, as (option, text of
/// the problem). Empty today; add an entry when a seed option runs ahead of the filter.
const PENDING: &[(&str, &str)] = &[];

fn fixture(name: &str) -> String {
    let path = workspace_root().join("tests/fixtures/seed").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn toml_input(text: String) -> Input {
    Input {
        toml: Some(text),
        alpha_yaml: None,
    }
}

/// The options named by the filter's problems, minus tolerated pending ones.
fn problem_options(c: &Conversion, pending_ok: bool) -> BTreeSet<String> {
    c.problems
        .iter()
        .filter(|p| {
            !(pending_ok
                && PENDING
                    .iter()
                    .any(|(o, why)| p.starts_with(&format!("{o}:")) && p.contains(why)))
        })
        .map(|p| p.split(':').next().unwrap().to_string())
        .collect()
}

fn noted(c: &Conversion, kind: NoteKind) -> BTreeSet<String> {
    c.notes
        .iter()
        .filter(|n| n.kind == kind)
        .map(|n| n.option.clone())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The seed's TOML plus what it leaves out.
fn completed(name: &str) -> String {
    let text = fixture(name).replace("<my-tenant-id>", MY_TENANT);
    let mut extra = format!("cookie_secret=\"{COOKIE_SECRET}\"\n");
    if !text.contains("email_domains") {
        extra.push_str("email_domains=[\"*\"]\n");
    }
    format!("{text}{extra}")
}

/// (fixture, clusters as (host, cluster name), options the filter names as problems).
type SeedCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn every_seed_toml_carries_over_and_reports_only_what_the_seed_leaves_out() {
    // (fixture, clusters, problems besides pending ones)
    let login = ("login.microsoftonline.com", "entra");
    let graph = ("graph.microsoft.com", "graph");
    // Workload identity: the local listener that serves the projected token.
    let token = ("127.0.0.1:14999", "federated_token");
    let cases: &[SeedCase] = &[
        (
            "01-single-tenant-no-groups.toml",
            &[login],
            &["cookie_secret", "email_domains"],
        ),
        (
            "02-single-tenant-groups-claim.toml",
            &[login, graph],
            &["cookie_secret", "email_domains"],
        ),
        (
            "03-single-tenant-group-overage.toml",
            &[login, graph],
            &["cookie_secret", "email_domains"],
        ),
        (
            "04-group-overage-workload-identity.toml",
            &[login, graph, token],
            &["cookie_secret", "email_domains"],
        ),
        // The seed's "<my-tenant-id>" placeholder is not a tenant GUID, and the filter says so.
        (
            "05-multi-tenant-personal-accounts.toml",
            &[login, graph],
            &["cookie_secret", "entra_id_allowed_tenants"],
        ),
    ];
    for (name, clusters, problems) in cases {
        let c = convert(&toml_input(fixture(name)), ClusterNaming::Envoy).unwrap();
        let expected: serde_json::Map<String, serde_json::Value> = clusters
            .iter()
            .map(|(h, n)| (h.to_string(), json!(n)))
            .collect();
        assert_eq!(c.config["clusters"], json!(expected), "{name}");
        assert_eq!(
            problem_options(&c, true),
            set(problems),
            "{name}: {:?}",
            c.problems
        );
        // Every missing value is explained, not only rejected.
        let explained = noted(&c, NoteKind::Info);
        for option in ["cookie_secret", "email_domains"] {
            if problems.contains(&option) {
                assert!(
                    explained.contains(option),
                    "{name}: {option} not explained: {:?}",
                    c.notes
                );
            }
        }
        // Nothing the seed sets is dropped: every option in the TOML is in the output.
        let table: toml_keys::Keys = toml_keys::of(&fixture(name));
        for key in table {
            assert!(
                c.config.contains_key(&key),
                "{name}: {key} was not carried over"
            );
        }
    }
}

#[test]
fn every_seed_toml_is_accepted_once_completed() {
    for name in [
        "01-single-tenant-no-groups.toml",
        "02-single-tenant-groups-claim.toml",
        "03-single-tenant-group-overage.toml",
        "04-group-overage-workload-identity.toml",
        "05-multi-tenant-personal-accounts.toml",
    ] {
        for naming in [ClusterNaming::Envoy, ClusterNaming::Istio] {
            let c = convert(&toml_input(completed(name)), naming).unwrap();
            assert!(
                problem_options(&c, true).is_empty(),
                "{name} ({naming:?}): {:?}",
                c.problems
            );
            assert!(
                noted(&c, NoteKind::NotCarried).is_empty(),
                "{name}: {:?}",
                c.notes
            );
        }
    }
}

#[test]
fn multi_tenant_example_keeps_the_tenant_rule_and_issuer_skip() {
    let c = convert(
        &toml_input(completed("05-multi-tenant-personal-accounts.toml")),
        ClusterNaming::Istio,
    )
    .unwrap();
    assert_eq!(c.config["insecure_oidc_skip_issuer_verification"], true);
    assert_eq!(
        c.config["entra_id_allowed_tenants"],
        json!(["9188040d-6c67-4c5b-b112-36a304b66dad", MY_TENANT])
    );
    assert_eq!(
        c.config["clusters"]["login.microsoftonline.com"],
        "outbound|443||login.microsoftonline.com"
    );
    assert_eq!(
        c.config["clusters"]["graph.microsoft.com"],
        "outbound|443||graph.microsoft.com"
    );
}

#[test]
fn the_dashboard_helm_values_convert_to_an_inline_filter_config() {
    let input = Input {
        toml: Some(format!("cookie_secret=\"{COOKIE_SECRET}\"\n")),
        alpha_yaml: Some(fixture("dashboard-helm-values.yaml")),
    };
    let c = convert(&input, ClusterNaming::Istio).unwrap();
    assert!(c.accepted(), "{:?}", c.problems);
    // The provider, claims and flags carry over.
    assert_eq!(
        c.config["oidc_issuer_url"],
        "https://login.microsoftonline.com/YOUR_TENANT_ID/v2.0"
    );
    assert_eq!(c.config["client_id"], "YOUR_CLIENT_ID");
    assert_eq!(c.config["user_id_claim"], "oid");
    assert_eq!(c.config["oidc_groups_claim"], "groups");
    assert_eq!(c.config["email_domains"], "*");
    assert_eq!(c.config["whitelist_domains"], ".your-domain.com");
    assert_eq!(c.config["cookie_domains"], ".your-domain.com");
    assert_eq!(c.config["skip_provider_button"], true);
    // The headers nginx copied from /oauth2/auth go straight onto the request to the Dashboard.
    let headers = c.config["injectRequestHeaders"].as_array().unwrap();
    assert_eq!(
        headers[0],
        json!({"name": "Authorization", "values": [{"claim": "id_token", "prefix": "Bearer "}]})
    );
    assert_eq!(headers.len(), 4);
    assert!(!c.config.contains_key("injectResponseHeaders"));
    assert_eq!(c.config["pass_user_headers"], false);
    // What a stand-alone proxy needed is reported by name.
    assert_eq!(
        noted(&c, NoteKind::NotCarried),
        set(&[
            "upstreamConfig",
            "server",
            "sessionStorage.type: redis",
            "reverse_proxy"
        ])
    );
    assert_eq!(
        noted(&c, NoteKind::Changed),
        set(&[
            "injectResponseHeaders",
            "pass_authorization_header",
            "set_xauthrequest"
        ])
    );
    for dropped in [
        "reverse_proxy",
        "pass_authorization_header",
        "set_xauthrequest",
    ] {
        assert!(!c.config.contains_key(dropped), "{dropped}");
    }
}

#[test]
fn the_dashboard_wasmplugin_rendering_validates_inside_the_manifest() {
    let input = Input {
        toml: Some(format!("cookie_secret=\"{COOKIE_SECRET}\"\n")),
        alpha_yaml: Some(fixture("dashboard-helm-values.yaml")),
    };
    let c = convert(&input, ClusterNaming::Istio).unwrap();
    let image = ImageSource {
        url: "oci://registry.example/entra:1".into(),
        sha256: Some("0a".repeat(32)),
    };
    let text = render(&c.config, Format::WasmPlugin, &image);
    let manifest: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let config = serde_json::to_vec(&manifest["spec"]["pluginConfig"]).unwrap();
    entra_proxy_wasm::config::Config::from_json(&config).unwrap();
    assert_eq!(manifest["spec"]["phase"].as_str(), Some("AUTHN"));
}

#[test]
fn the_workload_identity_helm_values_report_what_is_missing() {
    let c = convert(
        &Input {
            toml: None,
            alpha_yaml: Some(fixture("dashboard-workload-identity-helm-values.yaml")),
        },
        ClusterNaming::Envoy,
    )
    .unwrap();
    assert_eq!(c.config["entra_id_federated_token_auth"], true);
    // "YOUR_COOKIE_SECRET" is not a usable key; email_domains is not in these values.
    assert_eq!(
        problem_options(&c, true),
        set(&["cookie_secret", "email_domains"]),
        "{:?}",
        c.problems
    );
    assert!(noted(&c, NoteKind::NotCarried).contains("Helm config.secretKeys"));
    assert!(noted(&c, NoteKind::Info).contains("Helm serviceAccount"));
}

/// Top-level keys of a TOML file (the seed's options).
mod toml_keys {
    pub type Keys = Vec<String>;

    pub fn of(text: &str) -> Keys {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, _)| key.trim().to_string())
            .filter(|key| !key.is_empty() && !key.starts_with('#'))
            .collect()
    }
}
