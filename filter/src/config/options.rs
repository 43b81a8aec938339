//! oauth2-proxy options this filter knows about but does not take (yet, or ever), so that a
//! configuration copied from an oauth2-proxy deployment fails loudly instead of silently losing
//! a security setting.

/// oauth2-proxy options whose behaviour is planned but not implemented in this release.
pub const NOT_YET_IMPLEMENTED: &[&str] = &[
    "allowed_roles",
    "authenticated_emails_file",
    "backend_logout_url",
    "oidc_audience_claims",
    "oidc_jwks_url",
    "login_url",
    "redeem_url",
    "prompt",
    "approval_prompt",
    "skip_auth_regex",
    "skip_oidc_discovery",
    "force_json_errors",
    "prefer_email_to_user",
    "encode_state",
    "trusted_ips",
    "pass_basic_auth",
    "basic_auth_password",
];

/// oauth2-proxy options that belong to a stand-alone proxy process; inside Envoy, Envoy's own
/// configuration does these jobs.
pub const NOT_APPLICABLE: &[(&str, &str)] = &[
    ("http_address", "Envoy's listener decides where to listen"),
    ("https_address", "Envoy's listener decides where to listen"),
    ("tls_cert_file", "TLS is terminated by Envoy's listener"),
    ("tls_key_file", "TLS is terminated by Envoy's listener"),
    (
        "upstreams",
        "Envoy's routes and clusters decide the upstream",
    ),
    ("reverse_proxy", "the filter always runs inside the proxy"),
    (
        "real_client_ip_header",
        "Envoy's xff settings decide the client address",
    ),
    (
        "session_store_type",
        "sessions live in encrypted cookies; no Redis is needed",
    ),
    (
        "redis_connection_url",
        "sessions live in encrypted cookies; no Redis is needed",
    ),
    (
        "ssl_insecure_skip_verify",
        "TLS to Entra is configured on the Envoy cluster",
    ),
    (
        "provider_ca_files",
        "TLS to Entra is configured on the Envoy cluster",
    ),
    (
        "custom_templates_dir",
        "the filter cannot read files inside Envoy",
    ),
    ("htpasswd_file", "the filter cannot read files inside Envoy"),
    (
        "metrics_address",
        "metrics are Envoy stats under the wasmcustom prefix",
    ),
    ("request_logging", "use Envoy's access log"),
    ("standard_logging", "use Envoy's log level"),
    ("auth_logging", "use Envoy's log level"),
    ("ping_path", "use Envoy's health checks"),
    ("ready_path", "use Envoy's health checks"),
];
