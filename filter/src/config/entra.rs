//! Entra specifics: national clouds and their Graph hosts, allowed tenants.

/// The Graph base URL that belongs to an Entra authority host, for the public and national
/// clouds. Other hosts (an emulator, another IdP) need `entra_id_graph_url`.
pub fn graph_url_for_authority(host: &str) -> Option<&'static str> {
    match host.to_ascii_lowercase().as_str() {
        "login.microsoftonline.com" => Some("https://graph.microsoft.com"),
        "login.microsoftonline.us" => Some("https://graph.microsoft.us"),
        "login.chinacloudapi.cn" => Some("https://microsoftgraph.chinacloudapi.cn"),
        _ => None,
    }
}

/// Whether `tenant` looks like a tenant GUID (8-4-4-4-12 hex).
pub fn is_tenant_guid(tenant: &str) -> bool {
    let groups: Vec<&str> = tenant.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    // `make test-v8` runs these in V8 (wasm32-unknown-unknown) through wasm-bindgen-test.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn clouds_map_to_their_graph_hosts() {
        assert_eq!(
            graph_url_for_authority("login.microsoftonline.com"),
            Some("https://graph.microsoft.com")
        );
        assert_eq!(
            graph_url_for_authority("LOGIN.microsoftonline.us"),
            Some("https://graph.microsoft.us")
        );
        assert_eq!(
            graph_url_for_authority("login.chinacloudapi.cn"),
            Some("https://microsoftgraph.chinacloudapi.cn")
        );
        assert_eq!(graph_url_for_authority("127.0.0.1:8080"), None);
    }

    #[test]
    fn tenant_guids() {
        assert!(is_tenant_guid("9188040d-6c67-4c5b-b112-36a304b66dad"));
        assert!(is_tenant_guid("9188040D-6C67-4C5B-B112-36A304B66DAD"));
        assert!(!is_tenant_guid("common"));
        assert!(!is_tenant_guid("9188040d-6c67-4c5b-b112-36a304b66da"));
        assert!(!is_tenant_guid("9188040d_6c67-4c5b-b112-36a304b66dad"));
    }
}
