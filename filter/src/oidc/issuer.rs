//! The `iss` rule: exact for single-tenant and generic OIDC, tenant-template for Entra
//! multi-tenant.

use super::error::{loggable, TokenError};

/// How the `iss` claim is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerRule {
    /// Single tenant / generic OIDC: exact string equality with the discovery document's
    /// `issuer`.
    Exact(String),
    /// Entra multi-tenant (`common`, `organizations`, `consumers` with issuer verification
    /// skipped): `iss` must be exactly `<authority>/<tenant-guid>/v2.0`, the GUID must equal
    /// the `tid` claim, and when `allowed_tenants` is `Some` the tenant must be in it (GUIDs
    /// compared case-insensitively). `Some(vec![])` allows no tenant at all.
    EntraTenant {
        /// `scheme://host[:port]` of `oidc_issuer_url`, e.g. `https://login.microsoftonline.com`
        /// or `https://login.microsoftonline.us` (see [`authority_of`]).
        authority: String,
        /// `entra_id_allowed_tenants`; `None` accepts every tenant.
        allowed_tenants: Option<Vec<String>>,
    },
}

/// `scheme://host[:port]` of an issuer URL (the default port omitted), the `authority` of
/// [`IssuerRule::EntraTenant`]. `None` if the URL is not absolute http(s) with a host.
pub fn authority_of(issuer_url: &str) -> Option<String> {
    let url = url::Url::parse(issuer_url).ok()?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

impl IssuerRule {
    /// Check `iss` (and, for Entra, its agreement with `tid`).
    pub(crate) fn check(&self, iss: &str, tid: Option<&str>) -> Result<(), TokenError> {
        let wrong_issuer = || TokenError::Issuer {
            found: loggable(iss, 200),
        };
        match self {
            IssuerRule::Exact(expected) => {
                if iss == expected {
                    Ok(())
                } else {
                    Err(wrong_issuer())
                }
            }
            IssuerRule::EntraTenant {
                authority,
                allowed_tenants,
            } => {
                // Skipping the discovery issuer check must not mean "any issuer": a token from
                // another authority (another cloud, Entra's v1 `sts.windows.net` issuer, a
                // non-GUID path such as `invalid_tenant`) is refused here.
                let tenant = entra_tenant(iss, authority).ok_or_else(wrong_issuer)?;
                // Entra signs every tenant's tokens with the same keys, so the signature says
                // nothing about the tenant. The tenant in `iss` must agree with the `tid` claim
                // so the allow-list and the identity headers cannot be decided by different
                // tenants.
                let tid = tid.ok_or(TokenError::MissingClaim("tid"))?;
                if !tenant.eq_ignore_ascii_case(tid) {
                    return Err(TokenError::TenantMismatch);
                }
                if let Some(allowed) = allowed_tenants {
                    if !allowed.iter().any(|t| t.eq_ignore_ascii_case(tenant)) {
                        return Err(TokenError::TenantNotAllowed(tenant.to_ascii_lowercase()));
                    }
                }
                Ok(())
            }
        }
    }
}

/// The tenant GUID of an Entra v2.0 issuer `<authority>/<guid>/v2.0`, if `iss` has exactly
/// that shape.
fn entra_tenant<'a>(iss: &'a str, authority: &str) -> Option<&'a str> {
    let authority = authority.trim_end_matches('/');
    if authority.is_empty() {
        return None;
    }
    let guid = iss
        .strip_prefix(authority)?
        .strip_prefix('/')?
        .strip_suffix("/v2.0")?;
    is_guid(guid).then_some(guid)
}

/// 8-4-4-4-12 hex digits with dashes (either case; Entra emits lowercase, and a GUID's case
/// carries no meaning, so accepting both changes no decision).
fn is_guid(s: &str) -> bool {
    const DASHES: [usize; 4] = [8, 13, 18, 23];
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if DASHES.contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (style.md); the library may not.
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn guid_shape_table() {
        let cases = [
            ("72f988bf-86f1-41af-91ab-2d7cd011db47", true),
            ("72F988BF-86F1-41AF-91AB-2D7CD011DB47", true),
            ("72f988bf-86f1-41af-91ab-2d7cd011db4", false),
            ("72f988bf-86f1-41af-91ab-2d7cd011db477", false),
            ("72f988bf_86f1_41af_91ab_2d7cd011db47", false),
            ("72f988bf-86f1-41af-91ab-2d7cd011dbzz", false),
            ("72f988bf86f1-41af-91ab--2d7cd011db47", false),
            ("------------------------------------", false),
            ("", false),
        ];
        for (s, want) in cases {
            assert_eq!(is_guid(s), want, "{s}");
        }
    }

    #[test]
    fn entra_tenant_shape_table() {
        let g = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let a = "https://login.microsoftonline.com";
        let cases = [
            (format!("{a}/{g}/v2.0"), a, Some(g)),
            (
                format!("{a}/{g}/v2.0"),
                "https://login.microsoftonline.com/",
                Some(g),
            ),
            (format!("{a}/{g}/v2.0/"), a, None),
            (format!("{a}/{g}/v2.0?x"), a, None),
            (format!("{a}//{g}/v2.0"), a, None),
            (format!("{a}/{g}"), a, None),
            (format!("{a}.evil.example/{g}/v2.0"), a, None),
            (format!("{a}/{g}/v2.0"), "", None),
            (format!("/{g}/v2.0"), "", None),
            (format!("https://sts.windows.net/{g}/"), a, None),
        ];
        for (iss, authority, want) in cases {
            assert_eq!(
                entra_tenant(&iss, authority),
                want,
                "{iss} under {authority}"
            );
        }
    }

    #[test]
    fn authority_of_table() {
        let cases = [
            (
                "https://login.microsoftonline.com/common/v2.0",
                Some("https://login.microsoftonline.com"),
            ),
            (
                "https://login.microsoftonline.us/organizations/v2.0/",
                Some("https://login.microsoftonline.us"),
            ),
            (
                "https://login.chinacloudapi.cn:443/common/v2.0",
                Some("https://login.chinacloudapi.cn"),
            ),
            (
                "http://localhost:8080/realms/x",
                Some("http://localhost:8080"),
            ),
            ("login.microsoftonline.com/common", None),
            ("file:///etc/passwd", None),
        ];
        for (url, want) in cases {
            assert_eq!(authority_of(url).as_deref(), want, "{url}");
        }
    }
}
