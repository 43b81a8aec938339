//! An in-process Microsoft Entra ID (v2.0 endpoints) and Microsoft Graph for tests and the
//! demo.
//!
//! It behaves like Entra as Microsoft documents it, not like any one client: discovery for
//! tenant GUIDs, domains and the `common`/`organizations`/`consumers` aliases; a JWKS without
//! `alg`; the authorization code flow with PKCE, a login form and an SSO cookie; the token
//! endpoint with secret, Basic and assertion client authentication (federated credentials
//! verified like Entra: workload identity), refresh token rotation and Entra-shaped `AADSTS`
//! errors; logout; several tenants and personal accounts; group overage; and the Graph calls
//! that resolve overage (`transitiveMemberOf`, `checkMemberGroups`, `getMemberObjects`). Tests
//! can inject faults, corrupt ID tokens, rotate keys and move the clock.
//!
//! Graph is served on the same port under `/v1.0/`: [`Emulator::graph_base_url`] is what a
//! proxy config uses as its Graph URL (`entra_id_graph_url`), and the Graph host maps to the
//! same Envoy cluster as the login host.
//!
//! ```no_run
//! use entra_proxy_tests::emulator::{Emulator, EmulatorConfig};
//! let entra = Emulator::start(EmulatorConfig::default());
//! let issuer_url = entra.issuer_url_for("11111111-1111-1111-1111-111111111111");
//! let graph = format!("{}/v1.0/me/transitiveMemberOf?$select=id&$top=999", entra.graph_base_url());
//! ```

mod authorize;
mod cert;
mod claims;
mod client_auth;
mod clock;
mod config;
mod discovery;
mod errors;
mod faults;
mod federated;
mod graph;
use crate::http;
mod ids;
mod jwt;
mod keys;
mod kubernetes;
mod logout;
mod pages;
mod redirect;
mod routes;
mod scopes;
mod state;
mod store;
mod tenants;
mod token;
mod users;

#[cfg(test)]
mod tests;

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

pub use claims::{overage_endpoint, pairwise_sub, GRAPH_APP_ID, GROUPS_LIMIT};
pub use client_auth::JWT_BEARER;
pub use config::{
    AssertionCheck, AssertionCheckFn, AssertionContext, Client, DirectoryRole, EmulatorConfig,
    Tenant, User, ALICE_GROUPS, CONSUMERS_TENANT_ID, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT_ID, DEFAULT_TENANT_NAME,
};
pub use faults::{Counts, Endpoint, Fault};
pub use federated::{FederatedCredential, IssuerKey, NBF_SKEW, TOKEN_EXCHANGE_AUDIENCE};
pub use graph::{CHECK_MEMBER_GROUPS_LIMIT, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use jwt::Tamper;
pub use kubernetes::{service_account_subject, KubernetesIssuer, SERVICE_ACCOUNT_TOKEN_LIFETIME};
pub use store::AccessGrant;
pub use users::{
    alice, bob, fabrikam_user, group_id, group_users, personal_user, user_with_groups,
    woodgrove_user, FABRIKAM_TENANT_ID, GLOBAL_READER_ROLE_ID, GROUP_USERS, REPORTS_READER_ROLE_ID,
    WOODGROVE_TENANT_ID,
};

use state::{lock, Shared};

/// A running emulator on `127.0.0.1`; dropping it stops accepting connections.
pub struct Emulator {
    shared: Arc<Shared>,
    port: u16,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("port", &self.port)
            .finish()
    }
}

impl Emulator {
    /// Starts serving `cfg` on `127.0.0.1:cfg.port` (0: any free port).
    ///
    /// # Panics
    /// When the port cannot be bound (a test cannot go on without its identity provider).
    pub fn start(cfg: EmulatorConfig) -> Emulator {
        match Emulator::try_start(cfg) {
            Ok(e) => e,
            Err(e) => panic!("entra emulator: cannot bind: {e}"),
        }
    }

    /// Like [`Emulator::start`], reporting bind errors.
    pub fn try_start(cfg: EmulatorConfig) -> io::Result<Emulator> {
        let listener = TcpListener::bind(("127.0.0.1", cfg.port))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::new(cfg, format!("http://127.0.0.1:{port}")));
        let stop = Arc::new(AtomicBool::new(false));
        let handler_state = Arc::clone(&shared);
        let handler: http::Handler = Arc::new(move |req| routes::route(&handler_state, req));
        let acceptor = http::serve(listener, Arc::clone(&stop), handler);
        Ok(Emulator {
            shared,
            port,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT` (an Envoy cluster address).
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Microsoft Graph's base URL on this emulator: the same `http://127.0.0.1:PORT` (Graph
    /// paths start with `/v1.0/`, which no tenant segment can be). Use it where the real one
    /// is `https://graph.microsoft.com`.
    pub fn graph_base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The issuer of tokens for users of `tenant`: `<base>/<tenant-guid>/v2.0`.
    pub fn issuer(&self, tenant: &str) -> String {
        tenants::token_issuer(&self.shared.base_url, tenant)
    }

    /// What a config puts in its issuer URL: `<base>/<tenant|common|organizations|consumers>/v2.0`
    /// (discovery lives at that URL plus `/.well-known/openid-configuration`).
    pub fn issuer_url_for(&self, tenant_or_alias: &str) -> String {
        format!("{}/{tenant_or_alias}/v2.0", self.shared.base_url)
    }

    /// The emulated directory.
    pub fn config(&self) -> &EmulatorConfig {
        &self.shared.cfg
    }

    /// Injects `fault` at `endpoint` until [`Emulator::clear_faults`].
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        lock(&self.shared.faults).set(endpoint, fault, None);
    }

    /// Injects `fault` at `endpoint` for the next `times` requests only.
    pub fn set_fault_times(&self, endpoint: Endpoint, fault: Fault, times: u32) {
        lock(&self.shared.faults).set(endpoint, fault, Some(times));
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Corrupts every ID token issued from now on (`None` stops it). Access tokens are never
    /// tampered with.
    pub fn set_tamper(&self, tamper: Option<Tamper>) {
        *lock(&self.shared.tamper) = tamper;
    }

    /// Requests seen so far, per endpoint.
    pub fn counts(&self) -> Counts {
        *lock(&self.shared.counts)
    }

    /// Resets the request counters.
    pub fn reset_counts(&self) {
        *lock(&self.shared.counts) = Counts::default();
    }

    /// A new signing key becomes current; the previous ones stay in the JWKS.
    pub fn rotate_keys(&self) {
        lock(&self.shared.keys).rotate();
    }

    /// Removes every key but the current one from the JWKS.
    pub fn retire_old_keys(&self) {
        lock(&self.shared.keys).retire_old();
    }

    /// Published key ids, current (signing) key first.
    pub fn key_ids(&self) -> Vec<String> {
        lock(&self.shared.keys)
            .published()
            .iter()
            .map(|k| k.kid.clone())
            .collect()
    }

    /// Signs `claims` with the current key, Entra's header and nothing else added.
    pub fn mint_id_token(&self, claims: Value) -> String {
        let key = lock(&self.shared.keys).current();
        jwt::sign(&key, &claims, None)
    }

    /// Signs `claims` with `tamper` applied (see [`Tamper`]).
    pub fn mint_tampered(&self, claims: Value, tamper: Tamper) -> String {
        let key = lock(&self.shared.keys).current();
        jwt::sign(&key, &claims, Some(tamper))
    }

    /// The claims the token endpoint would put in an ID token for `username` and `client_id`
    /// with scope `openid profile email`, issued now, without a nonce.
    ///
    /// # Panics
    /// When `username` is not a configured user.
    pub fn id_token_claims(&self, username: &str, client_id: &str) -> Value {
        self.with_subject(username, client_id, "openid profile email", |subject| {
            claims::id_token(&self.shared.base_url, subject, None)
        })
    }

    /// Runs `f` on what a token for `username`, `client_id` and `scope` issued now is about.
    fn with_subject<T>(
        &self,
        username: &str,
        client_id: &str,
        scope: &str,
        f: impl FnOnce(&claims::Subject<'_>) -> T,
    ) -> T {
        let user = match self.shared.cfg.user(username) {
            Some(u) => u.clone(),
            None => panic!("entra emulator: no user {username}"),
        };
        let scopes = scopes::parse(scope);
        f(&claims::Subject {
            user: &user,
            client_id,
            scopes: &scopes,
            session_id: &ids::random_guid(),
            now: self.shared.clock.now(),
            lifetime: self.shared.cfg.token_lifetime.as_secs(),
        })
    }

    /// PKCS#8 PEM of the current signing key.
    pub fn private_key_pem(&self) -> String {
        lock(&self.shared.keys).current().private_pem.clone()
    }

    /// SubjectPublicKeyInfo PEM of the current signing key.
    pub fn public_key_pem(&self) -> String {
        lock(&self.shared.keys).current().public_pem.clone()
    }

    /// The JWKS document, as served for a tenant GUID.
    pub fn jwks(&self, tenant: &str) -> Value {
        let issuer = self.issuer(tenant);
        let keys: Vec<Value> = lock(&self.shared.keys)
            .published()
            .iter()
            .map(|k| k.jwk(&issuer))
            .collect();
        json!({ "keys": keys })
    }

    /// Moves the emulator's clock forward (codes, refresh tokens and new tokens see it).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// The emulator's current time, Unix seconds.
    pub fn now(&self) -> u64 {
        self.shared.clock.now()
    }

    /// A Graph access token for `username` and `client_id` with the delegated permissions of
    /// `scope` (as the token endpoint would grant them: only OIDC scopes give `User.Read`),
    /// issued now and accepted by the Graph endpoints until it expires. Skips the sign-in.
    ///
    /// # Panics
    /// When `username` is not a configured user.
    pub fn issue_access_token(&self, username: &str, client_id: &str, scope: &str) -> String {
        self.with_subject(username, client_id, scope, |subject| {
            token::mint_access_token(&self.shared, subject)
        })
    }

    /// What an access token issued by this emulator authorizes (for a Graph emulator), if
    /// it was issued here and has not expired.
    pub fn access_token_grant(&self, access_token: &str) -> Option<AccessGrant> {
        let now = self.shared.clock.now();
        lock(&self.shared.store)
            .access_tokens
            .get(access_token)
            .filter(|g| g.expires_at > now)
            .cloned()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the loop sees the flag.
        let _ =
            TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_secs(1));
        if let Some(handle) = self.acceptor.take() {
            let _ = handle.join();
        }
    }
}
