//! Every decision the filter takes is counted. Envoy shows these under `wasmcustom.` in `/stats`.

/// One counter per decision point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// A request was forwarded with a valid session.
    SessionValid,
    /// A session cookie was present but could not be opened (tampered, foreign, old key).
    SessionInvalid,
    /// A session cookie had expired.
    SessionExpired,
    /// A browser was sent to sign in (302 to the provider or the sign-in page).
    LoginRedirect,
    /// An API client without a session got 401.
    Unauthorized,
    /// The provider's metadata was not ready; the request got 503.
    ProviderNotReady,
    /// A sign-in completed and a session cookie was issued.
    CallbackSuccess,
    /// The callback's state or CSRF cookie was missing, foreign, expired or replayed.
    CallbackStateInvalid,
    /// The provider redirected back with an error instead of a code.
    CallbackProviderError,
    /// The token endpoint refused the code.
    CallbackCodeRejected,
    /// The token endpoint failed (unreachable, timeout, 5xx, malformed).
    TokenEndpointFailure,
    /// The returned ID token failed validation.
    IdTokenInvalid,
    /// The user's email domain is not allowed.
    EmailDenied,
    /// A user signed out.
    SignOut,
    /// The discovery document was fetched and stored.
    DiscoveryFetched,
    /// Fetching the discovery document failed.
    DiscoveryFailed,
    /// The JWKS was fetched and stored.
    JwksFetched,
    /// Fetching the JWKS failed.
    JwksFailed,
    /// A request was rejected as malformed (bad path, oversized headers).
    BadRequest,
    /// A session was refreshed with its refresh token.
    SessionRefreshed,
    /// A refresh could not reach the provider (the session was served within grace, or ended).
    RefreshFailed,
    /// The provider refused a refresh token; the session ended.
    RefreshRejected,
    /// The user is in none of `allowed_groups`.
    GroupDenied,
    /// Group overage was resolved through Microsoft Graph.
    GraphGroupsResolved,
    /// A Microsoft Graph call failed.
    GraphFailure,
    /// Microsoft Graph answered 429 and the request waits to ask again.
    GraphThrottled,
    /// A request matched `skip_auth_routes` or was a CORS preflight, and passed without a session.
    SkippedRoute,
    /// `/oauth2/auth` answered 2xx.
    AuthAllowed,
    /// `/oauth2/auth` answered 401 or 403.
    AuthDenied,
    /// `/oauth2/userinfo` answered.
    Userinfo,
    /// A request was authenticated by its bearer token.
    BearerValid,
    /// A bearer token was rejected (401).
    BearerInvalid,
    /// The workload-identity token was fetched and stored.
    FederatedFetched,
    /// The workload-identity token could not be fetched or used.
    FederatedFailed,
}

impl Metric {
    /// Every metric, for definition at start-up.
    pub const ALL: [Metric; 34] = [
        Metric::SessionValid,
        Metric::SessionInvalid,
        Metric::SessionExpired,
        Metric::LoginRedirect,
        Metric::Unauthorized,
        Metric::ProviderNotReady,
        Metric::CallbackSuccess,
        Metric::CallbackStateInvalid,
        Metric::CallbackProviderError,
        Metric::CallbackCodeRejected,
        Metric::TokenEndpointFailure,
        Metric::IdTokenInvalid,
        Metric::EmailDenied,
        Metric::SignOut,
        Metric::DiscoveryFetched,
        Metric::DiscoveryFailed,
        Metric::JwksFetched,
        Metric::JwksFailed,
        Metric::BadRequest,
        Metric::SessionRefreshed,
        Metric::RefreshFailed,
        Metric::RefreshRejected,
        Metric::GroupDenied,
        Metric::GraphGroupsResolved,
        Metric::GraphFailure,
        Metric::GraphThrottled,
        Metric::SkippedRoute,
        Metric::AuthAllowed,
        Metric::AuthDenied,
        Metric::Userinfo,
        Metric::BearerValid,
        Metric::BearerInvalid,
        Metric::FederatedFetched,
        Metric::FederatedFailed,
    ];

    /// Stat name (Envoy adds the `wasmcustom.` prefix).
    pub fn name(self) -> &'static str {
        match self {
            Metric::SessionValid => "entra_proxy.session.valid",
            Metric::SessionInvalid => "entra_proxy.session.invalid",
            Metric::SessionExpired => "entra_proxy.session.expired",
            Metric::LoginRedirect => "entra_proxy.login.redirect",
            Metric::Unauthorized => "entra_proxy.login.unauthorized",
            Metric::ProviderNotReady => "entra_proxy.provider.not_ready",
            Metric::CallbackSuccess => "entra_proxy.callback.success",
            Metric::CallbackStateInvalid => "entra_proxy.callback.state_invalid",
            Metric::CallbackProviderError => "entra_proxy.callback.provider_error",
            Metric::CallbackCodeRejected => "entra_proxy.callback.code_rejected",
            Metric::TokenEndpointFailure => "entra_proxy.callback.token_endpoint_failure",
            Metric::IdTokenInvalid => "entra_proxy.callback.id_token_invalid",
            Metric::EmailDenied => "entra_proxy.callback.email_denied",
            Metric::SignOut => "entra_proxy.sign_out",
            Metric::DiscoveryFetched => "entra_proxy.provider.discovery_fetched",
            Metric::DiscoveryFailed => "entra_proxy.provider.discovery_failed",
            Metric::JwksFetched => "entra_proxy.provider.jwks_fetched",
            Metric::JwksFailed => "entra_proxy.provider.jwks_failed",
            Metric::BadRequest => "entra_proxy.request.bad",
            Metric::SessionRefreshed => "entra_proxy.session.refreshed",
            Metric::RefreshFailed => "entra_proxy.session.refresh_failed",
            Metric::RefreshRejected => "entra_proxy.session.refresh_rejected",
            Metric::GroupDenied => "entra_proxy.authz.group_denied",
            Metric::GraphGroupsResolved => "entra_proxy.graph.groups_resolved",
            Metric::GraphFailure => "entra_proxy.graph.failure",
            Metric::GraphThrottled => "entra_proxy.graph.throttled",
            Metric::SkippedRoute => "entra_proxy.route.skipped",
            Metric::AuthAllowed => "entra_proxy.auth_endpoint.allowed",
            Metric::AuthDenied => "entra_proxy.auth_endpoint.denied",
            Metric::Userinfo => "entra_proxy.userinfo",
            Metric::BearerValid => "entra_proxy.bearer.valid",
            Metric::BearerInvalid => "entra_proxy.bearer.invalid",
            Metric::FederatedFetched => "entra_proxy.federated.fetched",
            Metric::FederatedFailed => "entra_proxy.federated.failed",
        }
    }

    /// Position in [`Metric::ALL`], used by the adapter to find the host's metric id.
    pub fn index(self) -> usize {
        Metric::ALL.iter().position(|m| *m == self).unwrap_or(0)
    }
}
