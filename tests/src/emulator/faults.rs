//! Injected faults and per-endpoint request counters.

use std::collections::HashMap;
use std::time::Duration;

/// An endpoint the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
    Discovery,
    /// `GET /{tenant}/discovery/v2.0/keys`.
    Jwks,
    /// `GET|POST /{tenant}/oauth2/v2.0/authorize` (login form posts included).
    Authorize,
    /// `POST /{tenant}/oauth2/v2.0/token`.
    Token,
    /// `GET|POST /{tenant}/oauth2/v2.0/logout`.
    Logout,
    /// Microsoft Graph, everything under `/v1.0/` (see [`crate::emulator::Emulator::graph_base_url`]).
    Graph,
}

/// What goes wrong at an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status: an Entra-shaped JSON error (`AADSTS90033`, transient) for
    /// JSON endpoints, an HTML error page for authorize and logout, a Graph-shaped error
    /// (`TooManyRequests`, `serviceNotAvailable`, …) for Graph. 429 and 503 carry
    /// `Retry-After: 1`.
    Status(u16),
    /// Answer `429` (shaped as for [`Fault::Status`]) with `Retry-After: <seconds>`.
    Throttled(u32),
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// `200` with `Content-Type: application/json` and a truncated JSON body (for Graph, a
    /// truncated `transitiveMemberOf` page).
    MalformedJson,
    /// Close the connection without sending a byte of response.
    Close,
}

/// Faults in force, per endpoint, each with an optional number of remaining uses.
#[derive(Debug, Default)]
pub struct FaultTable {
    faults: HashMap<Endpoint, (Fault, Option<u32>)>,
}

impl FaultTable {
    /// Installs `fault` at `endpoint` for `times` requests (`None`: until cleared).
    pub fn set(&mut self, endpoint: Endpoint, fault: Fault, times: Option<u32>) {
        if times == Some(0) {
            self.faults.remove(&endpoint);
        } else {
            self.faults.insert(endpoint, (fault, times));
        }
    }

    /// Removes every fault.
    pub fn clear(&mut self) {
        self.faults.clear();
    }

    /// The fault for this request at `endpoint`, using up one of its remaining uses.
    pub fn take(&mut self, endpoint: Endpoint) -> Option<Fault> {
        let (fault, remaining) = self.faults.get_mut(&endpoint)?;
        let fault = fault.clone();
        if let Some(n) = remaining {
            *n -= 1;
            if *n == 0 {
                self.faults.remove(&endpoint);
            }
        }
        Some(fault)
    }
}

/// Requests seen per endpoint (faulted ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Discovery document requests.
    pub discovery: u64,
    /// JWKS requests.
    pub jwks: u64,
    /// Authorize requests, including login form posts.
    pub authorize: u64,
    /// Token requests.
    pub token: u64,
    /// Logout requests.
    pub logout: u64,
    /// Microsoft Graph requests.
    pub graph: u64,
    /// Anything else (unknown paths, error page).
    pub other: u64,
}

impl Counts {
    /// Counts one request (`None`: not a known endpoint).
    pub fn record(&mut self, endpoint: Option<Endpoint>) {
        *self.slot(endpoint) += 1;
    }

    /// The count for one endpoint.
    pub fn get(&self, endpoint: Endpoint) -> u64 {
        match endpoint {
            Endpoint::Discovery => self.discovery,
            Endpoint::Jwks => self.jwks,
            Endpoint::Authorize => self.authorize,
            Endpoint::Token => self.token,
            Endpoint::Logout => self.logout,
            Endpoint::Graph => self.graph,
        }
    }

    fn slot(&mut self, endpoint: Option<Endpoint>) -> &mut u64 {
        match endpoint {
            Some(Endpoint::Discovery) => &mut self.discovery,
            Some(Endpoint::Jwks) => &mut self.jwks,
            Some(Endpoint::Authorize) => &mut self.authorize,
            Some(Endpoint::Token) => &mut self.token,
            Some(Endpoint::Logout) => &mut self.logout,
            Some(Endpoint::Graph) => &mut self.graph,
            None => &mut self.other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_faults_run_out_and_unlimited_ones_stay() {
        let mut table = FaultTable::default();
        table.set(Endpoint::Jwks, Fault::Status(503), Some(2));
        table.set(Endpoint::Token, Fault::Close, None);
        let seen: Vec<Option<Fault>> = (0..3).map(|_| table.take(Endpoint::Jwks)).collect();
        assert_eq!(
            seen,
            vec![Some(Fault::Status(503)), Some(Fault::Status(503)), None]
        );
        for _ in 0..5 {
            assert_eq!(table.take(Endpoint::Token), Some(Fault::Close));
        }
        assert_eq!(table.take(Endpoint::Discovery), None);
        table.clear();
        assert_eq!(table.take(Endpoint::Token), None);
    }

    #[test]
    fn counts_record_per_endpoint() {
        let mut counts = Counts::default();
        for e in [
            Some(Endpoint::Token),
            Some(Endpoint::Token),
            Some(Endpoint::Jwks),
            Some(Endpoint::Graph),
            None,
        ] {
            counts.record(e);
        }
        assert_eq!(counts.get(Endpoint::Token), 2);
        assert_eq!(counts.get(Endpoint::Jwks), 1);
        assert_eq!(counts.get(Endpoint::Graph), 1);
        assert_eq!(counts.get(Endpoint::Discovery), 0);
        assert_eq!(counts.other, 1);
    }
}
