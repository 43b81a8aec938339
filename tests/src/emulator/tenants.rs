//! The `{tenant}` path segment: a tenant GUID, a verified domain, or a multi-tenant alias.

use super::config::{EmulatorConfig, Tenant, User, CONSUMERS_TENANT_ID};
use super::errors::EntraError;
use super::ids::is_guid;

/// What a `{tenant}` segment resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// One directory, named by GUID or domain.
    Single(Tenant),
    /// `common`: work, school and personal accounts.
    Common,
    /// `organizations`: work and school accounts only.
    Organizations,
    /// `consumers`: personal Microsoft accounts only.
    Consumers,
}

impl Authority {
    /// Resolves a path segment against the configured tenants.
    pub fn resolve(cfg: &EmulatorConfig, segment: &str) -> Result<Authority, EntraError> {
        match segment.to_ascii_lowercase().as_str() {
            "common" => return Ok(Authority::Common),
            "organizations" => return Ok(Authority::Organizations),
            "consumers" => return Ok(Authority::Consumers),
            _ => {}
        }
        let found = cfg
            .tenants
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(segment) || t.name.eq_ignore_ascii_case(segment));
        match found {
            Some(t) => Ok(Authority::Single(t.clone())),
            None if is_guid(segment) || looks_like_domain(segment) => {
                Err(EntraError::unknown_tenant(segment))
            }
            None => Err(EntraError::bad_tenant_identifier(segment)),
        }
    }

    /// The `issuer` of this authority's discovery document: the tenant's own issuer, or for
    /// `common`/`organizations` the literal `{tenantid}` template Entra publishes.
    pub fn discovery_issuer(&self, base_url: &str) -> String {
        let tid = match self {
            Authority::Single(t) => t.id.to_ascii_lowercase(),
            Authority::Common | Authority::Organizations => "{tenantid}".to_string(),
            Authority::Consumers => CONSUMERS_TENANT_ID.to_string(),
        };
        format!("{base_url}/{tid}/v2.0")
    }

    /// Whether `user` may sign in through this authority.
    pub fn admits(&self, user: &User) -> bool {
        let personal = user.tenant.eq_ignore_ascii_case(CONSUMERS_TENANT_ID);
        match self {
            Authority::Single(t) => t.id.eq_ignore_ascii_case(&user.tenant),
            Authority::Common => true,
            Authority::Organizations => !personal,
            Authority::Consumers => personal,
        }
    }

    /// A name for error messages.
    pub fn display(&self) -> String {
        match self {
            Authority::Single(t) => t.id.clone(),
            Authority::Common => "common".into(),
            Authority::Organizations => "organizations".into(),
            Authority::Consumers => "consumers".into(),
        }
    }
}

/// The issuer of tokens for a user of tenant `tid`.
pub fn token_issuer(base_url: &str, tid: &str) -> String {
    format!("{base_url}/{}/v2.0", tid.to_ascii_lowercase())
}

fn looks_like_domain(s: &str) -> bool {
    s.contains('.')
        && s.split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::DEFAULT_TENANT_ID;
    use crate::emulator::users::alice;

    #[test]
    fn resolve_table() {
        let cfg = EmulatorConfig::default();
        let base = "http://h";
        // (segment, Ok(discovery issuer) or Err(AADSTS code))
        let cases: [(&str, Result<String, u32>); 8] = [
            (
                DEFAULT_TENANT_ID,
                Ok(format!("{base}/{DEFAULT_TENANT_ID}/v2.0")),
            ),
            (
                "11111111-1111-1111-1111-111111111111",
                Ok(format!("{base}/{DEFAULT_TENANT_ID}/v2.0")),
            ),
            (
                "Contoso.Example",
                Ok(format!("{base}/{DEFAULT_TENANT_ID}/v2.0")),
            ),
            ("common", Ok(format!("{base}/{{tenantid}}/v2.0"))),
            ("organizations", Ok(format!("{base}/{{tenantid}}/v2.0"))),
            (
                "consumers",
                Ok(format!("{base}/{CONSUMERS_TENANT_ID}/v2.0")),
            ),
            ("33333333-3333-3333-3333-333333333333", Err(90002)),
            ("not a tenant!", Err(900023)),
        ];
        for (segment, want) in cases {
            let got = Authority::resolve(&cfg, segment)
                .map(|a| a.discovery_issuer(base))
                .map_err(|e| e.code);
            assert_eq!(got, want, "{segment}");
        }
    }

    #[test]
    fn admits_table() {
        let cfg = EmulatorConfig::default();
        let work = alice();
        let personal = User {
            tenant: CONSUMERS_TENANT_ID.into(),
            ..alice()
        };
        let single = Authority::resolve(&cfg, DEFAULT_TENANT_ID).unwrap();
        let cases = [
            (&single, &work, true),
            (&single, &personal, false),
            (&Authority::Common, &work, true),
            (&Authority::Common, &personal, true),
            (&Authority::Organizations, &work, true),
            (&Authority::Organizations, &personal, false),
            (&Authority::Consumers, &work, false),
            (&Authority::Consumers, &personal, true),
        ];
        for (authority, user, want) in cases {
            assert_eq!(
                authority.admits(user),
                want,
                "{authority:?} {}",
                user.tenant
            );
        }
    }
}
