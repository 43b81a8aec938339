//! What the emulated directory contains: tenants, app registrations and users.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::federated::FederatedCredential;
use super::users::{alice, bob, default_roles, group_users};

/// The tenant every default user and client lives in.
pub const DEFAULT_TENANT_ID: &str = "11111111-1111-1111-1111-111111111111";
/// The default tenant's verified domain; it works as a tenant alias in URLs.
pub const DEFAULT_TENANT_NAME: &str = "contoso.example";
/// Client id of the default app registration.
pub const DEFAULT_CLIENT_ID: &str = "22222222-2222-2222-2222-222222222222";
/// Client secret of the default app registration.
pub const DEFAULT_CLIENT_SECRET: &str = "test-client-secret";
/// Tenant id Entra uses for personal Microsoft accounts (the `consumers` audience).
pub const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// Groups of the default user alice.
pub const ALICE_GROUPS: [&str; 3] = [
    "aaaaaaaa-0000-0000-0000-000000000001",
    "aaaaaaaa-0000-0000-0000-000000000002",
    "aaaaaaaa-0000-0000-0000-000000000003",
];

/// A directory (tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Tenant id (a GUID); it becomes the `tid` claim and the issuer path.
    pub id: String,
    /// A verified domain; `/<name>/…` URLs resolve to this tenant like on Entra.
    pub name: String,
}

/// An app registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Application (client) id.
    pub client_id: String,
    /// Client secret; `None` means the app only authenticates with a client assertion.
    pub secret: Option<String>,
    /// Registered redirect URIs, matched as Entra does (see [`crate::emulator::redirect`]):
    /// exactly, except that the port of an `http` loopback URI (`localhost`, `127.0.0.1`,
    /// `[::1]`) is ignored (RFC 8252 §7.3, which Entra follows). Emulator extension: an entry
    /// ending in `*` matches every URI that starts with the part before the `*`.
    pub redirect_uris: Vec<String>,
    /// Federated identity credential (workload identity): when set, a `client_assertion` must
    /// be a token from that issuer for that subject and audience, verified like Entra does
    /// (see [`crate::emulator::FederatedCredential`]).
    pub federated: Option<FederatedCredential>,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Sign-in name (UPN); it becomes `preferred_username`. The login form also accepts the
    /// part before `@`.
    pub username: String,
    /// Password the login form checks.
    pub password: String,
    /// Home tenant id (`tid`).
    pub tenant: String,
    /// Object id (`oid`).
    pub oid: String,
    /// Display name (`name`).
    pub name: String,
    /// Mail address; the `email` claim is only present when this is set, as on Entra.
    pub email: Option<String>,
    /// Group object ids, transitive memberships included (the emulator has no nesting); more
    /// than 200 turn into the overage markers instead of `groups`. Graph lists them in this
    /// order. Directory roles are in [`EmulatorConfig::directory_roles`].
    pub groups: Vec<String>,
}

/// A directory role (Global Reader, …): Graph lists it among a member's
/// `transitiveMemberOf` as `#microsoft.graph.directoryRole`; it is never a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRole {
    /// Object id of the activated role in the tenant.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Id of the built-in role template (the same in every tenant).
    pub role_template_id: String,
    /// Object ids (`oid`) of the users holding the role.
    pub members: Vec<String>,
}

/// What the token endpoint knows about a client assertion it is asked to accept.
#[derive(Debug, Clone)]
pub struct AssertionContext {
    /// The client the request authenticates as.
    pub client_id: String,
    /// The raw `client_assertion` value.
    pub assertion: String,
    /// The token endpoint URL the request was sent to (the assertion's expected `aud`).
    pub token_endpoint: String,
}

/// Signature of a client-assertion check: `Err((aadsts_code, message))` rejects the request
/// with `401 invalid_client`.
pub type AssertionCheckFn = dyn Fn(&AssertionContext) -> Result<(), (u32, String)> + Send + Sync;

/// Extension point for verifying `client_assertion` (workload identity federation).
///
/// Without one, any non-empty assertion of type `jwt-bearer` is accepted; a later piece of
/// work plugs a real verifier (signature, `aud`, `sub`, `exp`) in here.
#[derive(Clone)]
pub struct AssertionCheck(pub Arc<AssertionCheckFn>);

impl fmt::Debug for AssertionCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AssertionCheck(..)")
    }
}

/// Everything the emulator serves.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Known tenants (GUID paths and domain aliases resolve against these).
    pub tenants: Vec<Tenant>,
    /// App registrations.
    pub clients: Vec<Client>,
    /// User accounts.
    pub users: Vec<User>,
    /// When set, `/authorize` signs this user in without showing the form (scripted tests).
    pub auto_login: Option<String>,
    /// When true, a `login_hint` naming a known user signs that user in without the form.
    pub login_hint_skips_form: bool,
    /// Port to bind on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    /// Lifetime of ID and access tokens (`exp - iat`, `expires_in`).
    pub token_lifetime: Duration,
    /// Lifetime of authorization codes (Entra: about 10 minutes).
    pub code_lifetime: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_token_lifetime: Duration,
    /// When true (default), redeeming a refresh token revokes it. Real Entra keeps old
    /// refresh tokens valid; the strict mode catches clients that keep using a stale one.
    pub revoke_used_refresh_tokens: bool,
    /// Client-assertion verifier for clients without a federated credential; see
    /// [`AssertionCheck`].
    pub assertion_check: Option<AssertionCheck>,
    /// Directory roles and who holds them.
    pub directory_roles: Vec<DirectoryRole>,
    /// Largest page Graph returns, whatever `$top` asks (Graph's own limit is 999; lower it to
    /// make a test walk several pages).
    pub graph_page_limit: usize,
}

impl Default for EmulatorConfig {
    /// One tenant, one client (loopback `/oauth2/callback` on any port), users alice, bob and
    /// the group-count users of [`group_users`] (two of them hold directory roles).
    fn default() -> Self {
        EmulatorConfig {
            tenants: vec![Tenant {
                id: DEFAULT_TENANT_ID.to_string(),
                name: DEFAULT_TENANT_NAME.to_string(),
            }],
            clients: vec![Client {
                client_id: DEFAULT_CLIENT_ID.to_string(),
                secret: Some(DEFAULT_CLIENT_SECRET.to_string()),
                redirect_uris: vec![
                    "http://127.0.0.1/oauth2/callback".to_string(),
                    "http://localhost/oauth2/callback".to_string(),
                ],
                federated: None,
            }],
            users: [vec![alice(), bob()], group_users()].concat(),
            auto_login: None,
            login_hint_skips_form: false,
            port: 0,
            token_lifetime: Duration::from_secs(3600),
            code_lifetime: Duration::from_secs(600),
            refresh_token_lifetime: Duration::from_secs(24 * 3600),
            revoke_used_refresh_tokens: true,
            assertion_check: None,
            directory_roles: default_roles(),
            graph_page_limit: 999,
        }
    }
}

impl EmulatorConfig {
    /// The app registration with this client id (GUIDs compare case-insensitively).
    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients
            .iter()
            .find(|c| c.client_id.eq_ignore_ascii_case(client_id))
    }

    /// The user signing in as `name`: the full UPN or its part before `@`, any case.
    pub fn user(&self, name: &str) -> Option<&User> {
        let name = name.trim();
        self.users.iter().find(|u| {
            u.username.eq_ignore_ascii_case(name)
                || u.username
                    .split('@')
                    .next()
                    .is_some_and(|local| !name.contains('@') && local.eq_ignore_ascii_case(name))
        })
    }

    /// The user with this object id.
    pub fn user_by_oid(&self, oid: &str) -> Option<&User> {
        self.users.iter().find(|u| u.oid.eq_ignore_ascii_case(oid))
    }

    /// The directory roles `oid` holds.
    pub fn roles_of(&self, oid: &str) -> Vec<&DirectoryRole> {
        self.directory_roles
            .iter()
            .filter(|r| r.members.iter().any(|m| m.eq_ignore_ascii_case(oid)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_lookup_accepts_upn_or_local_part_in_any_case() {
        let cfg = EmulatorConfig::default();
        let cases = [
            ("alice@contoso.example", Some("alice@contoso.example")),
            ("ALICE@contoso.example", Some("alice@contoso.example")),
            ("alice", Some("alice@contoso.example")),
            (" bob ", Some("bob@contoso.example")),
            ("alice@other.example", None),
            ("carol", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                cfg.user(input).map(|u| u.username.as_str()),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn default_users_differ_in_the_claims_filters_care_about() {
        let cfg = EmulatorConfig::default();
        let alice = cfg.user("alice").unwrap();
        let bob = cfg.user("bob").unwrap();
        assert!(alice.email.is_some() && bob.email.is_none());
        assert_eq!(alice.groups.len(), 3);
        assert_ne!(alice.email.as_deref(), Some(alice.username.as_str()));
        assert_eq!(
            cfg.client(&DEFAULT_CLIENT_ID.to_uppercase())
                .unwrap()
                .client_id,
            DEFAULT_CLIENT_ID
        );
    }
}
