//! The rows of the comparison: what each listener runs and what credentials wrk sends to it.

/// One listener of the bench Envoy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Row {
    /// 1: HTTP connection manager → router. The limit.
    Bare,
    /// 2: an empty wasm filter that reads the request headers. The wasm floor.
    EmptyWasm,
    /// 3: entra-proxy-wasm, a signed-in browser (chunked session cookie).
    EntraBrowser,
    /// 4: entra-proxy-wasm, an API client with a bearer token (`skip_jwt_bearer_tokens`).
    EntraBearer,
    /// 5: Envoy's `envoy.filters.http.oauth2` with valid cookies.
    OAuth2,
    /// 6: Envoy's `envoy.filters.http.jwt_authn` with the same bearer token as row 4.
    JwtAuthn,
    /// Not a row of the table: the empty filter making exactly row 3's header changes (remove
    /// our cookies, set the identity headers), to show what those host calls cost by themselves.
    EmptyWasmHeaders,
}

impl Row {
    /// Every row, in report order.
    pub const ALL: [Row; 6] = [
        Row::Bare,
        Row::EmptyWasm,
        Row::EntraBrowser,
        Row::EntraBearer,
        Row::OAuth2,
        Row::JwtAuthn,
    ];

    /// The row number of the issue (0 for the header floor, which is not a row of the table).
    pub fn number(self) -> usize {
        match self {
            Row::Bare => 1,
            Row::EmptyWasm => 2,
            Row::EntraBrowser => 3,
            Row::EntraBearer => 4,
            Row::OAuth2 => 5,
            Row::JwtAuthn => 6,
            Row::EmptyWasmHeaders => 0,
        }
    }

    /// Listener name and HTTP stat prefix (`http.<name>.downstream_rq_2xx`).
    pub fn listener(self) -> &'static str {
        match self {
            Row::Bare => "bare",
            Row::EmptyWasm => "wasm_floor",
            Row::EntraBrowser => "entra_browser",
            Row::EntraBearer => "entra_bearer",
            Row::OAuth2 => "oauth2",
            Row::JwtAuthn => "jwt_authn",
            Row::EmptyWasmHeaders => "wasm_floor_headers",
        }
    }

    /// What a person reads in the table.
    pub fn label(self) -> &'static str {
        match self {
            Row::Bare => "bare Envoy",
            Row::EmptyWasm => "empty wasm filter (floor)",
            Row::EntraBrowser => "entra-proxy-wasm, browser, 150 groups",
            Row::EntraBearer => "entra-proxy-wasm, bearer token",
            Row::OAuth2 => "Envoy oauth2, valid cookies",
            Row::JwtAuthn => "Envoy jwt_authn, bearer token",
            Row::EmptyWasmHeaders => "empty wasm filter making row 3's header changes",
        }
    }
}

/// A measured load: a row's listener and the request headers wrk sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    /// Short unique name (also the name of its wrk script).
    pub name: String,
    /// What the table says.
    pub label: String,
    /// The listener it hits.
    pub row: Row,
    /// Extra request headers (Cookie or Authorization).
    pub headers: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_numbered_in_order_with_unique_listeners() {
        let numbers: Vec<usize> = Row::ALL.iter().map(|r| r.number()).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
        let mut names: Vec<&str> = Row::ALL.iter().map(|r| r.listener()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 6);
    }
}
