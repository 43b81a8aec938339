//! Every way a request can fail, and the one place that turns a failure into a status code, a
//! page, a metric and a log line.

use crate::metrics::Metric;
use crate::oidc::id_token::TokenError;
use crate::oidc::token_response::IdpError;

use super::action::{Action, LogLevel, Outcome, Response};
use super::pages;
use super::request::Request;

/// Why a request did not reach the upstream.
#[derive(Debug)]
pub enum Failure {
    /// Discovery or keys are not loaded yet; the client should retry shortly.
    ProviderNotReady,
    /// No Envoy cluster is configured for a host the provider told us to call.
    NoCluster(String),
    /// The host gave no random bytes.
    Entropy,
    /// The callback's state did not match a live sign-in attempt of this browser.
    StateInvalid(&'static str),
    /// The provider redirected back with `error=` (user cancelled, consent missing, …).
    ProviderError {
        /// OAuth error code.
        error: String,
        /// AADSTS code, when the description has one.
        aadsts: Option<String>,
    },
    /// The token endpoint refused the code (expired, already redeemed, bad verifier).
    CodeRejected(Box<IdpError>),
    /// The token endpoint answered with a client or server error that is not the user's fault.
    TokenEndpointError(Box<IdpError>),
    /// The token endpoint could not be reached or answered nonsense.
    TokenEndpointFailure(String),
    /// The ID token failed validation.
    IdToken(TokenError),
    /// The user's email is not in `email_domains`.
    EmailDenied(String),
    /// The user is in none of `allowed_groups`.
    GroupDenied,
    /// Microsoft Graph answered with an error (or not at all: status 0).
    Graph {
        /// HTTP status, 0 for no answer.
        status: u16,
        /// Graph's error code (`Authorization_RequestDenied`, `TooManyRequests`, …).
        code: String,
        /// Graph's `request-id`, which Microsoft support asks for.
        request_id: String,
    },
    /// Graph cannot be used (not configured, no access token, too many pages, bad link).
    GraphUnavailable(String),
    /// No usable workload-identity token (source unreachable, empty, expired).
    FederatedToken(String),
    /// An endpoint under `proxy_prefix` that does not exist.
    NotFound,
    /// The request itself was malformed.
    BadRequest(&'static str),
}

impl Failure {
    /// Status, metric, level and log text for this failure.
    fn describe(&self) -> (u16, Metric, LogLevel, String) {
        match self {
            Failure::ProviderNotReady => (
                503,
                Metric::ProviderNotReady,
                LogLevel::Warn,
                "provider metadata or signing keys not loaded yet".into(),
            ),
            Failure::NoCluster(authority) => (
                502,
                Metric::TokenEndpointFailure,
                LogLevel::Error,
                format!("no cluster configured for {authority:?}: add it to \"clusters\""),
            ),
            Failure::Entropy => (
                503,
                Metric::BadRequest,
                LogLevel::Error,
                "host returned no random bytes".into(),
            ),
            Failure::StateInvalid(why) => (
                403,
                Metric::CallbackStateInvalid,
                LogLevel::Info,
                format!("callback rejected: {why}"),
            ),
            Failure::ProviderError { error, aadsts } => (
                403,
                Metric::CallbackProviderError,
                LogLevel::Info,
                format!(
                    "provider returned error={error} code={}",
                    aadsts.as_deref().unwrap_or("-")
                ),
            ),
            Failure::CodeRejected(e) => (
                403,
                Metric::CallbackCodeRejected,
                LogLevel::Info,
                format!("token endpoint refused the code: {}", e.log_line()),
            ),
            Failure::TokenEndpointError(e) => (
                502,
                Metric::TokenEndpointFailure,
                LogLevel::Error,
                format!("token endpoint error: {}", e.log_line()),
            ),
            Failure::TokenEndpointFailure(why) => (
                502,
                Metric::TokenEndpointFailure,
                LogLevel::Error,
                format!("token endpoint failed: {why}"),
            ),
            Failure::IdToken(e) => (
                403,
                Metric::IdTokenInvalid,
                LogLevel::Warn,
                format!("ID token rejected ({}): {e}", e.reason()),
            ),
            Failure::EmailDenied(domain) => (
                403,
                Metric::EmailDenied,
                LogLevel::Info,
                format!("email domain {domain:?} not allowed"),
            ),
            Failure::GroupDenied => (
                403,
                Metric::GroupDenied,
                LogLevel::Info,
                "user is in none of allowed_groups".into(),
            ),
            Failure::Graph {
                status,
                code,
                request_id,
            } => {
                let http = match status {
                    401 | 403 => 403,
                    429 | 0 => 503,
                    _ => 502,
                };
                (http, Metric::GraphFailure, LogLevel::Warn, format!("Microsoft Graph failed: status={status} code={code} graph_request_id={request_id}"))
            }
            Failure::GraphUnavailable(why) => (
                502,
                Metric::GraphFailure,
                LogLevel::Error,
                format!("Microsoft Graph unavailable: {why}"),
            ),
            Failure::FederatedToken(why) => (
                503,
                Metric::FederatedFailed,
                LogLevel::Error,
                format!("workload identity: {why}"),
            ),
            Failure::NotFound => (
                404,
                Metric::BadRequest,
                LogLevel::Debug,
                "unknown endpoint".into(),
            ),
            Failure::BadRequest(why) => (
                400,
                Metric::BadRequest,
                LogLevel::Info,
                format!("bad request: {why}"),
            ),
        }
    }

    /// What the user is told (no internals beyond what helps them).
    fn user_message(&self) -> (&'static str, &'static str) {
        match self {
            Failure::ProviderNotReady => ("Sign-in is starting up", "The sign-in service is not ready yet. Please retry in a few seconds."),
            Failure::NoCluster(_) | Failure::TokenEndpointError(_) | Failure::TokenEndpointFailure(_) => {
                ("Sign-in service unavailable", "Microsoft Entra ID could not be reached or returned an error. Please try again later.")
            }
            Failure::Entropy => ("Temporarily unavailable", "The proxy could not start a secure sign-in. Please try again."),
            Failure::StateInvalid(_) => ("Sign-in expired", "This sign-in attempt is not valid any more (it expired, was already used, or was started in another browser). Please sign in again."),
            Failure::ProviderError { .. } => ("Sign-in was not completed", "Microsoft Entra ID did not complete the sign-in."),
            Failure::CodeRejected(_) => ("Sign-in expired", "The sign-in code was rejected (it expired or was already used). Please sign in again."),
            Failure::IdToken(_) => ("Sign-in rejected", "The identity token could not be verified."),
            Failure::EmailDenied(_) => ("Access denied", "Your account's email domain is not allowed to use this application."),
            Failure::GroupDenied => ("Access denied", "Your account is not a member of any group allowed to use this application (allowed_groups)."),
            Failure::Graph { status: 401 | 403, .. } => (
                "Group membership unavailable",
                "Your group memberships could not be read from Microsoft Graph: the app needs the User.Read permission (user or admin consent). Ask your administrator.",
            ),
            Failure::Graph { status: 429, .. } => ("Please retry", "Microsoft Graph is throttling requests. Please sign in again in a minute."),
            Failure::Graph { .. } | Failure::GraphUnavailable(_) => (
                "Group membership unavailable",
                "Your group memberships could not be read, and access depends on them. Please try again later.",
            ),
            Failure::FederatedToken(_) => (
                "Sign-in service unavailable",
                "The proxy could not authenticate to Microsoft Entra ID (workload identity token unavailable). Please try again later.",
            ),
            Failure::NotFound => ("Not found", "There is no such page."),
            Failure::BadRequest(_) => ("Bad request", "The request could not be understood."),
        }
    }

    /// The log text alone (for callers that carry on differently).
    pub fn summary(&self) -> String {
        self.describe().3
    }

    /// The complete outcome: local reply, metric and log line.
    pub fn outcome(&self, req: &Request) -> Outcome {
        let (status, metric, level, log) = self.describe();
        let (title, message) = self.user_message();
        let request_id = req.request_id();
        let retry_again = matches!(
            self,
            Failure::StateInvalid(_)
                | Failure::CodeRejected(_)
                | Failure::IdToken(_)
                | Failure::ProviderError { .. }
        );
        let (content_type, body) = if req.wants_json() {
            ("application/json", pages::json(title, message, request_id))
        } else {
            let action = retry_again.then_some(("/", "Sign in again"));
            (
                "text/html; charset=utf-8",
                pages::html(title, message, request_id, action),
            )
        };
        let mut headers = vec![
            ("content-type".to_string(), content_type.to_string()),
            ("cache-control".to_string(), "no-store".to_string()),
        ];
        if status == 503 {
            headers.push(("retry-after".to_string(), "5".to_string()));
        }
        Outcome::new(
            Action::Respond(Response {
                status,
                headers,
                body,
            }),
            metric,
        )
        .with_log(level, format!("{log} request_id={request_id}"))
    }
}
