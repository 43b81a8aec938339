//! oauth2-proxy names: command-line flags (as Helm `extraArgs` write them) to TOML option names,
//! and options that belong to a stand-alone proxy process and have no meaning inside Envoy.
//!
//! The filter itself rejects the most common stand-alone options by name (its `NOT_APPLICABLE`
//! table); this table adds the rest that real oauth2-proxy deployments carry, so `convert` can
//! drop them with a reason instead of leaving an "unknown option" for the user to research.

/// Flags whose TOML option name is not the flag with `-` → `_` (mostly singular flags for list
/// options).
const FLAG_TO_OPTION: &[(&str, &str)] = &[
    ("email-domain", "email_domains"),
    ("whitelist-domain", "whitelist_domains"),
    ("cookie-domain", "cookie_domains"),
    ("allowed-group", "allowed_groups"),
    ("allowed-role", "allowed_roles"),
    ("entra-id-allowed-tenant", "entra_id_allowed_tenants"),
    ("api-route", "api_routes"),
    ("skip-auth-route", "skip_auth_routes"),
    ("upstream", "upstreams"),
    ("oidc-extra-audience", "oidc_extra_audiences"),
    ("oidc-audience-claim", "oidc_audience_claims"),
    ("trusted-ip", "trusted_ips"),
    ("provider-ca-file", "provider_ca_files"),
];

/// The TOML option name for a flag (`--email-domain` or `email-domain` → `email_domains`).
pub fn option_for_flag(flag: &str) -> String {
    let flag = flag.trim_start_matches('-');
    FLAG_TO_OPTION
        .iter()
        .find(|(f, _)| *f == flag)
        .map(|(_, option)| option.to_string())
        .unwrap_or_else(|| flag.replace('-', "_"))
}

/// Stand-alone-proxy options, beyond those the filter names itself, with the reason.
const STAND_ALONE: &[(&str, &str)] = &[
    ("pass_host_header", "Envoy's route decides the Host header sent upstream"),
    ("proxy_websockets", "Envoy's route (upgrade_configs) decides WebSocket handling"),
    ("flush_interval", "Envoy streams responses itself"),
    ("ssl_upstream_insecure_skip_verify", "TLS to the upstream is configured on the Envoy cluster"),
    ("session_cookie_minimal", "the session cookie already holds only what later requests need"),
    ("gcp_healthchecks", "use Envoy's health checks"),
    ("silence_ping_logging", "use Envoy's access log"),
    ("exclude_logging_paths", "use Envoy's access log"),
    ("errors_to_info_log", "use Envoy's log level"),
    ("request_logging_format", "use Envoy's access log"),
    ("auth_logging_format", "use Envoy's log level"),
    ("standard_logging_format", "use Envoy's log level"),
    ("logging_filename", "the filter logs through Envoy"),
    ("logging_max_size", "the filter logs through Envoy"),
    ("logging_max_age", "the filter logs through Envoy"),
    ("logging_max_backups", "the filter logs through Envoy"),
    ("logging_local_time", "the filter logs through Envoy"),
    ("logging_compress", "the filter logs through Envoy"),
    ("client_secret_file", "the filter cannot read files inside Envoy: put the secret in client_secret (template it from your secret store)"),
    ("show_debug_on_error", "error pages show Envoy's request id; details are in Envoy's log"),
    ("banner", "the sign-in page is built in"),
    ("footer", "the sign-in page is built in"),
    ("custom_sign_in_logo", "the sign-in page is built in"),
    ("display_htpasswd_form", "there is no htpasswd sign-in inside Envoy"),
    ("config", "that is oauth2-proxy's own --config flag"),
    ("alpha_config", "that is oauth2-proxy's own --alpha-config flag: pass the file with --alpha-yaml"),
];

/// Why `option` has no meaning inside Envoy, if it is a stand-alone-proxy option this table knows.
pub fn stand_alone_reason(option: &str) -> Option<&'static str> {
    if option.starts_with("redis_") {
        return Some("sessions live in encrypted cookies; no Redis is needed");
    }
    STAND_ALONE
        .iter()
        .find(|(name, _)| *name == option)
        .map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_toml_option_names() {
        let cases = [
            ("email-domain", "email_domains"),
            ("--whitelist-domain", "whitelist_domains"),
            ("cookie-domain", "cookie_domains"),
            ("entra-id-allowed-tenant", "entra_id_allowed_tenants"),
            ("skip-provider-button", "skip_provider_button"),
            ("pass-authorization-header", "pass_authorization_header"),
            ("set-xauthrequest", "set_xauthrequest"),
            ("cookie-expire", "cookie_expire"),
        ];
        for (flag, option) in cases {
            assert_eq!(option_for_flag(flag), option, "{flag}");
        }
    }

    #[test]
    fn stand_alone_options_have_reasons_and_filter_options_do_not() {
        assert!(stand_alone_reason("redis_connection_url").is_some());
        assert!(stand_alone_reason("redis_sentinel_master_name").is_some());
        assert!(stand_alone_reason("pass_host_header").is_some());
        for option in ["cookie_secret", "email_domains", "allowed_groups", "scope"] {
            assert_eq!(stand_alone_reason(option), None, "{option}");
        }
    }
}
