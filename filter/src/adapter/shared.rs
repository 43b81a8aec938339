//! State shared by the root context and the HTTP contexts of one VM (one Envoy worker), and the
//! shared-data keys that connect the workers.

use std::cell::RefCell;
use std::rc::Rc;

use proxy_wasm::hostcalls;

use crate::config::Config;
use crate::flow::ProviderState;
use crate::metrics::Metric;

/// Per-VM state built in `on_configure`.
pub struct Shared {
    /// Validated configuration.
    pub config: Config,
    /// Host metric id per [`Metric::ALL`] entry.
    pub metric_ids: Vec<u32>,
    /// Key of the published provider record.
    pub provider_key: String,
    /// Key of the refresh lease.
    pub lease_key: String,
    /// The provider record this VM parsed last, with the shared-data version it came from.
    pub provider: RefCell<Option<(u32, Rc<ProviderState>)>>,
    /// Prefix of every shared-data key of this plugin.
    pub prefix: String,
    /// Verified bearer tokens.
    pub bearer_cache: RefCell<crate::flow::bearer::TokenCache>,
    /// Opened session cookies.
    pub session_cache: RefCell<crate::flow::session_cache::SessionCache>,
    /// Requests waiting for a later callout (Graph `Retry-After`), woken by the root's timer.
    pub parked: RefCell<Vec<Parked>>,
    /// Callouts the root made for a parked request: token → that request.
    pub delegated: RefCell<Vec<Delegated>>,
}

/// A callout the root made for a parked request: (token, context id, the request).
pub type Delegated = (u32, u32, std::rc::Weak<RefCell<super::http::Exchange>>);

/// A request waiting to make its next callout.
pub struct Parked {
    /// Its context id (made effective while acting for it).
    pub context_id: u32,
    /// Unix second at which to make the call.
    pub due: u64,
    /// The call.
    pub call: crate::flow::OutboundCall,
    /// What its answer continues.
    pub pending: crate::flow::Pending,
    /// The request; gone when the client went away meanwhile.
    pub exchange: std::rc::Weak<RefCell<super::http::Exchange>>,
}

/// Envoy's shared data for the core.
pub struct HostStore;

impl crate::flow::SharedStore for HostStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        match hostcalls::get_shared_data(key) {
            Ok((Some(value), cas)) => Some((value, cas.unwrap_or(0))),
            _ => None,
        }
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        hostcalls::set_shared_data(key, Some(value), cas).is_ok()
    }
}

impl Shared {
    /// Count a decision.
    pub fn count(&self, metric: Metric) {
        if let Some(id) = self.metric_ids.get(metric.index()) {
            let _ = hostcalls::increment_metric(*id, 1);
        }
    }

    /// The provider state, re-reading shared data when `refresh` or nothing is cached. Parsing
    /// happens only when the shared-data version changed.
    pub fn provider(&self, refresh: bool) -> Option<Rc<ProviderState>> {
        let cached = self.provider.borrow().clone();
        if let (Some((_, state)), false) = (&cached, refresh) {
            return Some(state.clone());
        }
        let (bytes, cas) = hostcalls::get_shared_data(&self.provider_key).ok()?;
        let (bytes, cas) = (bytes?, cas.unwrap_or(0));
        if let Some((seen, state)) = &cached {
            if *seen == cas {
                return Some(state.clone());
            }
        }
        match ProviderState::from_bytes(&bytes) {
            Ok(state) => {
                let state = Rc::new(state);
                *self.provider.borrow_mut() = Some((cas, state.clone()));
                Some(state)
            }
            Err(e) => {
                super::execute::log(
                    crate::flow::LogLevel::Error,
                    &format!("ignoring provider record: {e}"),
                );
                cached.map(|(_, state)| state)
            }
        }
    }

    /// Publish provider state for every worker and use it here at once.
    pub fn publish(&self, state: ProviderState) {
        let bytes = state.to_bytes();
        let state = Rc::new(state);
        match hostcalls::set_shared_data(&self.provider_key, Some(&bytes), None) {
            Ok(()) => {
                let cas = hostcalls::get_shared_data(&self.provider_key)
                    .ok()
                    .and_then(|(_, cas)| cas)
                    .unwrap_or(0);
                *self.provider.borrow_mut() = Some((cas, state));
            }
            Err(status) => {
                super::execute::log(
                    crate::flow::LogLevel::Error,
                    &format!("could not publish provider record: {status:?}"),
                );
                *self.provider.borrow_mut() = Some((0, state));
            }
        }
    }
}

/// Define every metric and return their ids in [`Metric::ALL`] order.
pub fn define_metrics() -> Vec<u32> {
    Metric::ALL
        .iter()
        .map(|m| {
            hostcalls::define_metric(proxy_wasm::types::MetricType::Counter, m.name())
                .unwrap_or(u32::MAX)
        })
        .collect()
}

/// Prefix for shared-data keys: Istio leaves `vm_id` empty, so several plugins may share one
/// map; the plugin name and issuer keep their records apart.
pub fn key_prefix(config: &Config) -> String {
    let plugin = hostcalls::get_property(vec!["plugin_name"])
        .ok()
        .flatten()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| "entra-proxy-wasm".to_string());
    format!("entra-proxy-wasm/{plugin}/{}", config.issuer_url)
}
