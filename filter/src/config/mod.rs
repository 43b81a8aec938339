//! Plugin configuration: oauth2-proxy's option names and defaults, read from the JSON the host
//! hands to `on_configure`, validated once, and precomputed into what the request path needs.

mod duration;
pub mod entra;
pub mod inject;
mod options;
mod reader;
pub mod routes;

pub use duration::parse_millis;
pub use inject::{ClaimValue, InjectHeader};
pub use routes::RouteRule;

use base64::Engine;
use regex_lite::Regex;
use serde_json::{Map, Value};

use crate::oidc::id_token::IssuerRule;
use crate::session::crypto::CookieCipher;
use reader::Reader;

/// Where the workload-identity token is served by default: the loopback listener of the
/// recipes in `envoy-config/workload-identity/`.
pub const DEFAULT_FEDERATED_TOKEN_URL: &str = "http://127.0.0.1:14999/federated-token";

/// Which provider rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Microsoft Entra ID: `oid` is the user id, the multi-tenant issuer rule applies.
    EntraId,
    /// Any OpenID Connect provider.
    Oidc,
}

/// The `SameSite` cookie attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=None` (requires `Secure` in browsers).
    None,
}

/// Cookie attributes shared by the session and CSRF cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// Base name of the session cookie; the CSRF cookie is `<name>_csrf`.
    pub name: String,
    /// Candidate `Domain` attributes; the first that the request host ends with is used.
    pub domains: Vec<String>,
    /// `Path` attribute.
    pub path: String,
    /// `Secure` attribute.
    pub secure: bool,
    /// `HttpOnly` attribute.
    pub httponly: bool,
    /// `SameSite` attribute, when configured.
    pub samesite: Option<SameSite>,
    /// Session lifetime in seconds (`cookie_expire`).
    pub expire_secs: u64,
    /// Lifetime of one sign-in attempt in seconds (`cookie_csrf_expire`).
    pub csrf_expire_secs: u64,
}

impl CookieSettings {
    /// Name of the CSRF cookie.
    pub fn csrf_name(&self) -> String {
        format!("{}_csrf", self.name)
    }
}

/// Which identity headers go to the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderSettings {
    /// `X-Forwarded-User/-Email/-Groups/-Preferred-Username`.
    pub pass_user_headers: bool,
    /// `Authorization: Bearer <id_token>`.
    pub pass_authorization_header: bool,
    /// `X-Forwarded-Access-Token` (and `X-Auth-Request-Access-Token` with `set_xauthrequest`).
    pub pass_access_token: bool,
    /// `X-Auth-Request-User/-Email/-Groups/-Preferred-Username`.
    pub set_xauthrequest: bool,
}

/// Which email addresses may sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailDomains {
    /// `*`: any user, with or without an email address.
    Any,
    /// Lower-cased domains; `.example.com` also admits subdomains.
    List(Vec<String>),
}

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    /// Provider rules.
    pub provider: Provider,
    /// `oidc_issuer_url` without a trailing slash.
    pub issuer_url: String,
    /// How ID-token issuers are checked.
    pub issuer_rule: IssuerRule,
    /// `client_id`.
    pub client_id: String,
    /// `client_secret` (empty with workload identity).
    pub client_secret: String,
    /// With `entra_id_federated_token_auth`: where the projected service-account token is
    /// served (`entra_id_federated_token_url`); None means the client secret is used.
    pub federated_token_url: Option<String>,
    /// `scope`, space separated.
    pub scope: String,
    /// Fixed `redirect_url`, or None to derive it from the request's host.
    pub redirect_url: Option<String>,
    /// Session and CSRF cookie encryption.
    pub cipher: CookieCipher,
    /// Cookie attributes.
    pub cookie: CookieSettings,
    /// `email_domains`.
    pub email_domains: EmailDomains,
    /// `whitelist_domains`, lower-cased.
    pub whitelist_domains: Vec<String>,
    /// Upstream identity headers.
    pub headers: HeaderSettings,
    /// `proxy_prefix`, e.g. `/oauth2`.
    pub proxy_prefix: String,
    /// PKCE S256 on (`code_challenge_method: "S256"`).
    pub pkce: bool,
    /// Claim holding the email address.
    pub email_claim: String,
    /// Claim holding the groups.
    pub groups_claim: String,
    /// Claim used as the user id.
    pub user_id_claim: String,
    /// `insecure_oidc_skip_nonce`.
    pub skip_nonce: bool,
    /// `insecure_oidc_skip_issuer_verification`.
    pub skip_issuer_verification: bool,
    /// `skip_provider_button`: redirect straight to the provider instead of showing a page.
    pub skip_provider_button: bool,
    /// `api_routes`: paths answered with 401 instead of a redirect.
    pub api_routes: Vec<Regex>,
    /// URL authority (`host[:port]`) → Envoy cluster name.
    pub clusters: Vec<(String, String)>,
    /// Timeout for every callout, in milliseconds.
    pub http_timeout_ms: u64,
    /// Session refresh and sign-out behaviour.
    pub lifecycle: Lifecycle,
    /// `skip_auth_routes`.
    pub skip_auth_routes: Vec<RouteRule>,
    /// `skip_auth_preflight`: CORS preflights pass without a session.
    pub skip_auth_preflight: bool,
    /// Status of a successful `/oauth2/auth` (`202` like oauth2-proxy, or `200` for Envoy's
    /// `ext_authz`, which treats every other 2xx as a denial).
    pub auth_success_status: u16,
    /// `injectRequestHeaders`.
    pub inject_request: Vec<InjectHeader>,
    /// `injectResponseHeaders`.
    pub inject_response: Vec<InjectHeader>,
    /// ID-token claims (beyond the built-in ones) that injected headers need; kept in the session.
    pub extra_claims: Vec<String>,
    /// `allowed_groups`: the user must be in at least one (empty: no group rule).
    pub allowed_groups: Vec<String>,
    /// Graph base URL (`entra_id_graph_url`, or derived from the authority host).
    pub graph_url: Option<String>,
    /// Bearer-token authentication (`skip_jwt_bearer_tokens`).
    pub bearer: Option<BearerSettings>,
}

/// Session lifetime after sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// `cookie_refresh` in seconds (0: never refresh).
    pub refresh_secs: u64,
    /// How long past the refresh point a session is still served while the provider cannot
    /// refresh it (`cookie_refresh_grace`).
    pub refresh_grace_secs: u64,
    /// `cookie_csrf_per_request`: one CSRF cookie per sign-in attempt, so parallel sign-ins in
    /// several tabs do not overwrite each other.
    pub csrf_per_request: bool,
    /// `end_session_redirect`: after sign-out, send the browser to the provider's
    /// `end_session_endpoint` so the Entra session ends too.
    pub end_session_redirect: bool,
}

/// Which bearer tokens authenticate API clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerSettings {
    /// Accepted issuers, each with the audiences accepted from it.
    pub issuers: Vec<(IssuerRule, Vec<String>)>,
}

/// Why a configuration was rejected: every problem, each naming the option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid entra-proxy-wasm configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    /// One entry per problem, `option: what is wrong`.
    pub problems: Vec<String>,
}

impl Config {
    /// Parse and validate the plugin configuration bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Config, ConfigError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ConfigError {
            problems: vec![format!("configuration is not valid JSON: {e}")],
        })?;
        match value {
            Value::Object(object) => Self::from_object(&object),
            _ => Err(ConfigError {
                problems: vec!["configuration must be a JSON object".into()],
            }),
        }
    }

    /// Validate an already parsed JSON object.
    pub fn from_object(object: &Map<String, Value>) -> Result<Config, ConfigError> {
        let mut r = Reader::new(object);
        let config = Self::read(&mut r);
        reject_unknown(&mut r);
        if r.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError {
                problems: r.problems,
            })
        }
    }

    /// Every option name the filter reads, for documentation checks (the README's reference
    /// table is tested against it, so neither can drift).
    pub fn option_names() -> Vec<&'static str> {
        let empty = Map::new();
        let mut r = Reader::new(&empty);
        let _ = Self::read(&mut r);
        let mut names = r.read_keys();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Read every option, recording problems in `r`; the result is only meaningful when there
    /// are none.
    fn read(r: &mut Reader) -> Config {
        let provider = match r.string("provider", "entra-id").as_str() {
            "entra-id" => Provider::EntraId,
            "oidc" => Provider::Oidc,
            other => {
                r.problem(
                    "provider",
                    format!("{other:?} is not supported (use \"entra-id\" or \"oidc\")"),
                );
                Provider::EntraId
            }
        };
        let issuer_url = r
            .required_string("oidc_issuer_url")
            .trim_end_matches('/')
            .to_string();
        let client_id = r.required_string("client_id");
        let federated = r.bool("entra_id_federated_token_auth", false);
        let federated_token_url = if federated {
            if r.opt_string("client_secret").is_some_and(|s| !s.is_empty()) {
                r.problem(
                    "client_secret",
                    "must be absent with entra_id_federated_token_auth: the two ways to authenticate to Entra are ambiguous together",
                );
            }
            let url = r.string("entra_id_federated_token_url", DEFAULT_FEDERATED_TOKEN_URL);
            if authority_of(&url).is_none() {
                r.problem(
                    "entra_id_federated_token_url",
                    format!("{url:?} must be an absolute http URL"),
                );
            }
            Some(url)
        } else {
            if r.opt_string("entra_id_federated_token_url").is_some() {
                r.problem(
                    "entra_id_federated_token_url",
                    "only used with entra_id_federated_token_auth: true",
                );
            }
            None
        };
        let client_secret = if federated {
            String::new()
        } else {
            r.required_string("client_secret")
        };
        let scope = r.string("scope", "openid email profile");
        if !scope.split_whitespace().any(|s| s == "openid") {
            r.problem("scope", format!("{scope:?} must include \"openid\""));
        }
        let redirect_url = r.opt_string("redirect_url").filter(|u| !u.is_empty());
        if let Some(url) = &redirect_url {
            if url::Url::parse(url)
                .map(|u| !matches!(u.scheme(), "http" | "https"))
                .unwrap_or(true)
            {
                r.problem(
                    "redirect_url",
                    format!("{url:?} must be an absolute http(s) URL"),
                );
            }
        }
        let cipher = read_cookie_secret(r);
        let cookie = read_cookie_settings(r);
        let email_domains = read_email_domains(r);
        let whitelist_domains = r
            .list("whitelist_domains")
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .collect();
        let headers = HeaderSettings {
            pass_user_headers: r.bool("pass_user_headers", true),
            pass_authorization_header: r.bool("pass_authorization_header", false),
            pass_access_token: r.bool("pass_access_token", false),
            set_xauthrequest: r.bool("set_xauthrequest", false),
        };
        let proxy_prefix = r
            .string("proxy_prefix", "/oauth2")
            .trim_end_matches('/')
            .to_string();
        if !proxy_prefix.starts_with('/') || proxy_prefix.len() < 2 {
            r.problem(
                "proxy_prefix",
                format!("{proxy_prefix:?} must be a path like \"/oauth2\""),
            );
        }
        let pkce = match r.string("code_challenge_method", "S256").as_str() {
            "S256" => true,
            "" => false,
            other => {
                r.problem(
                    "code_challenge_method",
                    format!("{other:?} is not supported (use \"S256\", or \"\" to turn PKCE off)"),
                );
                true
            }
        };
        let email_claim = r.string("oidc_email_claim", "email");
        let groups_claim = r.string("oidc_groups_claim", "groups");
        let default_user_claim = if provider == Provider::EntraId {
            "oid"
        } else {
            "sub"
        };
        let user_id_claim = r.string("user_id_claim", default_user_claim);
        let skip_nonce = r.bool("insecure_oidc_skip_nonce", false);
        let skip_issuer_verification = r.bool("insecure_oidc_skip_issuer_verification", false);
        let skip_provider_button = r.bool("skip_provider_button", false);
        let api_routes = read_regexes(r, "api_routes");
        let skip_auth_routes = routes::read_skip_routes(r);
        let skip_auth_preflight = r.bool("skip_auth_preflight", false);
        let auth_success_status = match r.string("auth_success_status", "202").as_str() {
            "202" => 202,
            "200" => 200,
            other => {
                r.problem(
                    "auth_success_status",
                    format!("{other:?} must be \"202\" or \"200\""),
                );
                202
            }
        };
        let inject_request = inject::read_inject(r, "injectRequestHeaders");
        let inject_response = inject::read_inject(r, "injectResponseHeaders");
        let mut extra_claims: Vec<String> = Vec::new();
        for value in inject_request
            .iter()
            .chain(&inject_response)
            .flat_map(|h| &h.values)
        {
            if !inject::BUILTIN_CLAIMS.contains(&value.claim.as_str())
                && !extra_claims.contains(&value.claim)
            {
                extra_claims.push(value.claim.clone());
            }
        }
        let lifecycle = read_lifecycle(r);
        let allowed_groups = r.list("allowed_groups");
        let clusters = read_clusters(r, &issuer_url);
        if let Some(authority) = federated_token_url.as_deref().and_then(authority_of) {
            if !clusters
                .iter()
                .any(|(a, _)| a.eq_ignore_ascii_case(&authority))
            {
                r.problem(
                    "clusters",
                    format!("no Envoy cluster for {authority:?}, where the federated token is served; add {{\"{authority}\": \"<cluster name>\"}}"),
                );
            }
        }
        let http_timeout_ms = r.duration_ms("http_timeout", "5s");
        if http_timeout_ms == 0 || http_timeout_ms > 60_000 {
            r.problem("http_timeout", "must be between 1ms and 60s");
        }
        let _ = r.string("provider_display_name", "Microsoft Entra ID");
        let issuer_rule = issuer_rule(r, provider, &issuer_url, skip_issuer_verification);
        let graph_url = read_graph_url(r, &issuer_url);
        let bearer = read_bearer(r, &issuer_rule, &client_id);
        if !extra_claims.is_empty() && extra_claims.iter().any(|c| c.contains(char::is_whitespace))
        {
            r.problem(
                "injectRequestHeaders",
                "claim names must not contain spaces",
            );
        }
        Config {
            provider,
            issuer_url,
            issuer_rule,
            client_id,
            client_secret,
            federated_token_url,
            scope,
            redirect_url,
            cipher,
            cookie,
            email_domains,
            whitelist_domains,
            headers,
            proxy_prefix,
            pkce,
            email_claim,
            groups_claim,
            user_id_claim,
            skip_nonce,
            skip_issuer_verification,
            skip_provider_button,
            api_routes,
            clusters,
            http_timeout_ms,
            lifecycle,
            skip_auth_routes,
            skip_auth_preflight,
            auth_success_status,
            inject_request,
            inject_response,
            extra_claims,
            allowed_groups,
            graph_url,
            bearer,
        }
    }

    /// The Envoy cluster that serves `authority` (`host[:port]`), if configured.
    pub fn cluster_for(&self, authority: &str) -> Option<&str> {
        self.clusters
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(authority))
            .map(|(_, cluster)| cluster.as_str())
    }

    /// Whether `path` (without query) is under `api_routes`.
    pub fn is_api_route(&self, path: &str) -> bool {
        self.api_routes.iter().any(|re| re.is_match(path))
    }
}

fn read_cookie_secret(r: &mut Reader) -> CookieCipher {
    let mut secrets = Vec::new();
    let configured = r.list("cookie_secret");
    if configured.is_empty() {
        r.problem(
            "cookie_secret",
            "is required (32 random bytes, base64: `openssl rand -base64 32`)",
        );
    }
    for (index, secret) in configured.iter().enumerate() {
        match decode_secret(secret) {
            Some(bytes) => secrets.push(bytes),
            None => r.problem(
                "cookie_secret",
                format!("entry {index} must be 16, 24 or 32 bytes, raw or base64 encoded (got {} characters)", secret.len()),
            ),
        }
    }
    CookieCipher::new(&secrets)
}

/// oauth2-proxy accepts the secret either base64 encoded or raw; the decoded form wins when it
/// has a valid AES key length, exactly as oauth2-proxy decides.
fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    let valid = |n: usize| matches!(n, 16 | 24 | 32);
    let engines = [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    for engine in engines {
        if let Ok(bytes) = engine.decode(secret) {
            if valid(bytes.len()) {
                return Some(bytes);
            }
        }
    }
    valid(secret.len()).then(|| secret.as_bytes().to_vec())
}

fn read_cookie_settings(r: &mut Reader) -> CookieSettings {
    let name = r.string("cookie_name", "_oauth2_proxy");
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !valid_name {
        r.problem(
            "cookie_name",
            format!("{name:?} must be letters, digits, '_', '-' or '.'"),
        );
    }
    let domains = r
        .list("cookie_domains")
        .iter()
        .map(|d| d.to_ascii_lowercase())
        .collect();
    let path = r.string("cookie_path", "/");
    if !path.starts_with('/') || path.bytes().any(|b| b == b';' || b.is_ascii_control()) {
        r.problem(
            "cookie_path",
            format!("{path:?} must be a path starting with '/'"),
        );
    }
    let secure = r.bool("cookie_secure", true);
    let httponly = r.bool("cookie_httponly", true);
    let samesite = match r
        .string("cookie_samesite", "")
        .to_ascii_lowercase()
        .as_str()
    {
        "" => None,
        "lax" => Some(SameSite::Lax),
        "strict" => Some(SameSite::Strict),
        "none" => Some(SameSite::None),
        other => {
            r.problem(
                "cookie_samesite",
                format!("{other:?} must be \"lax\", \"strict\", \"none\" or \"\""),
            );
            None
        }
    };
    let expire_secs = r.duration_ms("cookie_expire", "168h") / 1000;
    if expire_secs == 0 {
        r.problem("cookie_expire", "must be at least 1s");
    }
    let csrf_expire_secs = r.duration_ms("cookie_csrf_expire", "15m") / 1000;
    if csrf_expire_secs == 0 {
        r.problem("cookie_csrf_expire", "must be at least 1s");
    }
    CookieSettings {
        name,
        domains,
        path,
        secure,
        httponly,
        samesite,
        expire_secs,
        csrf_expire_secs,
    }
}

fn read_email_domains(r: &mut Reader) -> EmailDomains {
    let domains = r.list("email_domains");
    if domains.is_empty() {
        r.problem(
            "email_domains",
            "is required, as in oauth2-proxy: list the allowed email domains, or [\"*\"] to allow every user",
        );
    }
    if domains.iter().any(|d| d == "*") {
        return EmailDomains::Any;
    }
    EmailDomains::List(
        domains
            .iter()
            .map(|d| d.trim().to_ascii_lowercase())
            .collect(),
    )
}

fn read_regexes(r: &mut Reader, key: &'static str) -> Vec<Regex> {
    let mut out = Vec::new();
    for pattern in r.list(key) {
        match Regex::new(&pattern) {
            Ok(re) => out.push(re),
            Err(e) => r.problem(
                key,
                format!("{pattern:?} is not a valid regular expression: {e}"),
            ),
        }
    }
    out
}

fn read_clusters(r: &mut Reader, issuer_url: &str) -> Vec<(String, String)> {
    let clusters = r.string_map("clusters");
    if let Some(authority) = authority_of(issuer_url) {
        if !clusters
            .iter()
            .any(|(a, _)| a.eq_ignore_ascii_case(&authority))
        {
            r.problem(
                "clusters",
                format!("no Envoy cluster for {authority:?}, the oidc_issuer_url host; add {{\"{authority}\": \"<cluster name>\"}}"),
            );
        }
    } else if !issuer_url.is_empty() {
        r.problem(
            "oidc_issuer_url",
            format!("{issuer_url:?} must be an absolute http(s) URL"),
        );
    }
    clusters
}

/// `host[:port]` of an absolute http(s) URL, as written (default ports left out).
pub fn authority_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

fn issuer_rule(r: &mut Reader, provider: Provider, issuer_url: &str, skip: bool) -> IssuerRule {
    let tenants = r.list("entra_id_allowed_tenants");
    for tenant in &tenants {
        if !entra::is_tenant_guid(tenant) {
            r.problem(
                "entra_id_allowed_tenants",
                format!("{tenant:?} is not a tenant id (a GUID)"),
            );
        }
    }
    if !tenants.is_empty() && provider != Provider::EntraId {
        r.problem(
            "entra_id_allowed_tenants",
            "only applies to provider \"entra-id\"",
        );
    }
    if !skip {
        // A single-tenant issuer already pins the tenant; a list that does not contain it would
        // lock everybody out, which is surely not what was meant.
        if !tenants.is_empty()
            && !tenants.iter().any(|t| {
                issuer_url
                    .to_ascii_lowercase()
                    .contains(&t.to_ascii_lowercase())
            })
        {
            r.problem("entra_id_allowed_tenants", "does not contain the tenant of oidc_issuer_url; for multi-tenant apps set insecure_oidc_skip_issuer_verification");
        }
        return IssuerRule::Exact(issuer_url.to_string());
    }
    if provider != Provider::EntraId {
        r.problem(
            "insecure_oidc_skip_issuer_verification",
            "only supported with provider \"entra-id\", where the tenant rule replaces the issuer check",
        );
    }
    let authority = url::Url::parse(issuer_url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let allowed_tenants =
        (!tenants.is_empty()).then(|| tenants.iter().map(|t| t.to_ascii_lowercase()).collect());
    IssuerRule::EntraTenant {
        authority,
        allowed_tenants,
    }
}

fn read_lifecycle(r: &mut Reader) -> Lifecycle {
    let refresh_secs = r.duration_ms("cookie_refresh", "0") / 1000;
    let refresh_grace_secs = r.duration_ms("cookie_refresh_grace", "1h") / 1000;
    Lifecycle {
        refresh_secs,
        refresh_grace_secs,
        csrf_per_request: r.bool("cookie_csrf_per_request", false),
        end_session_redirect: r.bool("end_session_redirect", false),
    }
}

/// Graph is needed when groups overflow the token (overage): `entra_id_graph_url`, or the
/// Graph host of the authority's cloud. Its cluster is looked up when a call is made; a missing
/// one fails that sign-in closed with a log line that names it.
fn read_graph_url(r: &mut Reader, issuer_url: &str) -> Option<String> {
    let configured = r
        .opt_string("entra_id_graph_url")
        .map(|u| u.trim_end_matches('/').to_string());
    let derived = url::Url::parse(issuer_url)
        .ok()
        .and_then(|u| u.host_str().and_then(entra::graph_url_for_authority))
        .map(str::to_string);
    let graph = configured.or(derived)?;
    match authority_of(&graph) {
        Some(_) => Some(graph),
        None => {
            r.problem(
                "entra_id_graph_url",
                format!("{graph:?} must be an absolute http(s) URL"),
            );
            None
        }
    }
}

/// `skip_jwt_bearer_tokens`, `extra_jwt_issuers` (`issuer=audience` pairs) and
/// `oidc_extra_audiences`.
fn read_bearer(
    r: &mut Reader,
    issuer_rule: &IssuerRule,
    client_id: &str,
) -> Option<BearerSettings> {
    let enabled = r.bool("skip_jwt_bearer_tokens", false);
    let mut audiences = vec![client_id.to_string()];
    audiences.extend(r.list("oidc_extra_audiences"));
    let extra = r.list("extra_jwt_issuers");
    if !enabled {
        if !extra.is_empty() {
            r.problem(
                "extra_jwt_issuers",
                "only used with skip_jwt_bearer_tokens: true",
            );
        }
        return None;
    }
    let mut issuers = vec![(issuer_rule.clone(), audiences)];
    for pair in extra {
        match pair.rsplit_once('=') {
            Some((issuer, audience)) if url::Url::parse(issuer).is_ok() && !audience.is_empty() => {
                let rule = IssuerRule::Exact(issuer.to_string());
                match issuers.iter_mut().find(|(r, _)| *r == rule) {
                    Some((_, auds)) => auds.push(audience.to_string()),
                    None => issuers.push((rule, vec![audience.to_string()])),
                }
            }
            _ => r.problem(
                "extra_jwt_issuers",
                format!("{pair:?} must be \"<issuer URL>=<audience>\""),
            ),
        }
    }
    Some(BearerSettings { issuers })
}

fn reject_unknown(r: &mut Reader) {
    for key in r.unread_keys() {
        if options::NOT_YET_IMPLEMENTED.contains(&key) {
            r.problem(
                key,
                "this oauth2-proxy option is not implemented yet; remove it",
            );
        } else if let Some((_, why)) = options::NOT_APPLICABLE.iter().find(|(k, _)| *k == key) {
            r.problem(key, format!("not used inside Envoy: {why}"));
        } else {
            r.problem(key, "unknown option");
        }
    }
}

#[cfg(test)]
mod tests;
