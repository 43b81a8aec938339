//! The root context: configuration, metric definitions, and keeping provider metadata and keys
//! fresh in shared data for every worker.

use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;

use crate::config::Config;
use crate::flow::provider::{
    self, lease_is_free, lease_value, ProviderRecord, ProviderState, LEASE_SECS, RETRY_SECS,
};
use crate::flow::LogLevel;
use crate::metrics::Metric;
use crate::oidc::discovery::{check_issuer, parse_discovery, ProviderMetadata};
use crate::oidc::jwks::parse_jwks;

use super::execute::{call_response, dispatch, log, now};
use super::http::{Exchange, Http};
use super::shared::{define_metrics, key_prefix, HostStore, Parked, Shared};
use crate::flow::{federated, lease};
use proxy_wasm::types::Action as HostAction;

/// Tick period: often enough that a fresh worker picks up published keys within a second.
const TICK: Duration = Duration::from_secs(1);

/// Which fetch the root context is waiting for.
enum Fetch {
    Discovery {
        token: u32,
        started: u64,
    },
    Jwks {
        token: u32,
        started: u64,
        metadata: ProviderMetadata,
    },
}

/// One per VM (per Envoy worker).
#[derive(Default)]
pub struct Root {
    shared: Option<Rc<Shared>>,
    fetch: Option<Fetch>,
    slots_ready: bool,
    /// The workload-identity token fetch in flight: (token, started).
    federated: Option<(u32, u64)>,
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token: u32,
        num_headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        if deliver_delegated(&shared, token, num_headers, body_size) {
            return;
        }
        let response = call_response(num_headers, body_size);
        let now = now();
        if let Some((expected, _)) = self.federated {
            if expected == token {
                self.federated = None;
                return on_federated_token(&shared, response, now);
            }
        }
        match self.fetch.take() {
            Some(Fetch::Discovery {
                token: expected, ..
            }) if expected == token => {
                self.on_discovery(&shared, response, now);
            }
            Some(Fetch::Jwks {
                token: expected,
                metadata,
                ..
            }) if expected == token => {
                self.on_jwks(&shared, metadata, response, now);
            }
            other => self.fetch = other,
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let config = match Config::from_json(&bytes) {
            Ok(config) => config,
            Err(e) => {
                log(LogLevel::Error, &e.to_string());
                return false;
            }
        };
        let prefix = key_prefix(&config);
        self.shared = Some(Rc::new(Shared {
            config,
            metric_ids: define_metrics(),
            provider_key: format!("{prefix}/provider"),
            lease_key: format!("{prefix}/lease"),
            provider: Default::default(),
            prefix,
            bearer_cache: Default::default(),
            session_cache: Default::default(),
            parked: Default::default(),
            delegated: Default::default(),
        }));
        self.slots_ready = false;
        // No callouts here: Envoy runs on_configure in a throw-away canary VM too. The first
        // tick on each worker does the work.
        let _ = hostcalls::set_tick_period(TICK);
        true
    }

    fn on_tick(&mut self) {
        let Some(shared) = self.shared.clone() else {
            return;
        };
        let now = now();
        if !self.slots_ready && shared.config.lifecycle.refresh_secs > 0 {
            lease::ensure_slots(&HostStore, &shared.prefix);
            self.slots_ready = true;
        }
        wake_parked(&shared, now);
        self.refresh_federated_token(&shared, now);
        let current = shared.provider(true);
        if let Some(fetch) = &self.fetch {
            let started = match fetch {
                Fetch::Discovery { started, .. } | Fetch::Jwks { started, .. } => *started,
            };
            // The host always answers a callout, but never trust that with the only refresher.
            if now < started.saturating_add(LEASE_SECS) {
                return;
            }
            self.fetch = None;
        }
        if current.as_ref().is_some_and(|state| !state.is_stale(now)) {
            return;
        }
        if !self.take_lease(&shared, now) {
            return;
        }
        let url = provider::discovery_url(&shared.config);
        match provider::get(&shared.config, &url)
            .map_err(|a| format!("no cluster for {a:?}"))
            .and_then(|call| {
                dispatch(&call)
                    .map_err(|s| format!("dispatch to cluster {:?} failed: {s:?}", call.cluster))
            }) {
            Ok(token) => {
                self.fetch = Some(Fetch::Discovery {
                    token,
                    started: now,
                })
            }
            Err(why) => self.failed(
                &shared,
                Metric::DiscoveryFailed,
                &format!("discovery {url}: {why}"),
                now,
            ),
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let shared = self.shared.clone()?;
        Some(Box::new(Http::new(context_id, shared)))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

impl Root {
    /// Claim the refresh for this worker. Envoy's CAS makes one of several racing workers win;
    /// a key that does not exist yet cannot be CAS-guarded, so at start-up two workers may both
    /// fetch once, which is harmless.
    fn take_lease(&self, shared: &Shared, now: u64) -> bool {
        let (value, cas) = hostcalls::get_shared_data(&shared.lease_key).unwrap_or((None, None));
        if !lease_is_free(value.as_deref(), now) {
            return false;
        }
        hostcalls::set_shared_data(&shared.lease_key, Some(&lease_value(now + LEASE_SECS)), cas)
            .is_ok()
    }

    /// Keep the workload-identity token fresh for every worker, under its own lease.
    fn refresh_federated_token(&mut self, shared: &Shared, now: u64) {
        if shared.config.federated_token_url.is_none() {
            return;
        }
        if let Some((_, started)) = self.federated {
            if now < started.saturating_add(LEASE_SECS) {
                return;
            }
            self.federated = None;
        }
        if !federated::needs_refresh(&HostStore, &shared.prefix, now) {
            return;
        }
        let lease_key = format!("{}/federated-lease", shared.prefix);
        let (value, cas) = hostcalls::get_shared_data(&lease_key).unwrap_or((None, None));
        if !lease_is_free(value.as_deref(), now)
            || hostcalls::set_shared_data(&lease_key, Some(&lease_value(now + LEASE_SECS)), cas)
                .is_err()
        {
            return;
        }
        match federated::fetch_call(&shared.config) {
            Some(Ok(call)) => match dispatch(&call) {
                Ok(token) => self.federated = Some((token, now)),
                Err(status) => {
                    shared.count(Metric::FederatedFailed);
                    log(
                        LogLevel::Warn,
                        &format!(
                            "workload identity: dispatch to cluster {:?} failed: {status:?}",
                            call.cluster
                        ),
                    );
                }
            },
            Some(Err(failure)) => {
                shared.count(Metric::FederatedFailed);
                log(
                    LogLevel::Error,
                    &format!("workload identity: {}", failure.summary()),
                );
            }
            None => {}
        }
    }

    fn on_discovery(&mut self, shared: &Shared, response: crate::flow::CallResponse, now: u64) {
        let config = &shared.config;
        let metadata = match response.status {
            200 => parse_discovery(&response.body)
                .map_err(|e| e.to_string())
                .and_then(|m| {
                    check_issuer(&m, &config.issuer_url, config.skip_issuer_verification)
                        .map(|()| m)
                        .map_err(|e| e.to_string())
                }),
            0 => Err("no response (timeout or connection failure)".to_string()),
            status => Err(format!("status {status}")),
        };
        let metadata = match metadata {
            Ok(metadata) => metadata,
            Err(why) => {
                return self.failed(
                    shared,
                    Metric::DiscoveryFailed,
                    &format!("discovery failed: {why}"),
                    now,
                )
            }
        };
        shared.count(Metric::DiscoveryFetched);
        match provider::get(config, &metadata.jwks_uri)
            .map_err(|a| format!("no cluster for {a:?}"))
            .and_then(|call| {
                dispatch(&call)
                    .map_err(|s| format!("dispatch to cluster {:?} failed: {s:?}", call.cluster))
            }) {
            Ok(token) => {
                self.fetch = Some(Fetch::Jwks {
                    token,
                    started: now,
                    metadata,
                })
            }
            Err(why) => self.failed(
                shared,
                Metric::JwksFailed,
                &format!("JWKS {}: {why}", metadata.jwks_uri),
                now,
            ),
        }
    }

    fn on_jwks(
        &mut self,
        shared: &Shared,
        metadata: ProviderMetadata,
        response: crate::flow::CallResponse,
        now: u64,
    ) {
        let keys = match response.status {
            200 => parse_jwks(&response.body).map_err(|e| e.to_string()),
            0 => Err("no response (timeout or connection failure)".to_string()),
            status => Err(format!("status {status}")),
        };
        let keys = match keys {
            Ok(keys) => keys,
            Err(why) => {
                return self.failed(
                    shared,
                    Metric::JwksFailed,
                    &format!("JWKS fetch failed: {why}"),
                    now,
                )
            }
        };
        let count = keys.len();
        let kid_refetched_at = shared
            .provider(false)
            .map(|p| p.record.kid_refetched_at)
            .unwrap_or(0);
        let record = ProviderRecord {
            metadata,
            jwks: String::from_utf8_lossy(&response.body).into_owned(),
            fetched_at: now,
            kid_refetched_at,
        };
        shared.publish(ProviderState { record, keys });
        shared.count(Metric::JwksFetched);
        log(
            LogLevel::Info,
            &format!("provider metadata and {count} signing keys loaded"),
        );
        // Release the lease so nobody waits for it to run out.
        let _ = hostcalls::set_shared_data(&shared.lease_key, Some(&lease_value(now)), None);
    }

    /// Count, log, and hold everyone off for a few seconds so a dead provider is not hammered.
    fn failed(&mut self, shared: &Shared, metric: Metric, why: &str, now: u64) {
        shared.count(metric);
        log(LogLevel::Warn, why);
        self.fetch = None;
        let _ = hostcalls::set_shared_data(
            &shared.lease_key,
            Some(&lease_value(now + RETRY_SECS)),
            None,
        );
    }
}

/// Store a fetched workload-identity token, or count and log why not; either way release the
/// lease so the next attempt (by any worker) is not held up longer than the back-off.
fn on_federated_token(shared: &Shared, response: crate::flow::CallResponse, now: u64) {
    let stored = match response.status {
        200 => federated::store_token(&HostStore, &shared.prefix, &response.body, now),
        0 => Err("token source did not answer".to_string()),
        status => Err(format!("token source answered {status}")),
    };
    let lease_key = format!("{}/federated-lease", shared.prefix);
    match stored {
        Ok(exp) => {
            shared.count(Metric::FederatedFetched);
            log(
                LogLevel::Info,
                &format!("workload identity token loaded (expires at {exp})"),
            );
            let _ = hostcalls::set_shared_data(&lease_key, Some(&lease_value(now)), None);
        }
        Err(why) => {
            shared.count(Metric::FederatedFailed);
            log(LogLevel::Warn, &format!("workload identity: {why}"));
            let _ =
                hostcalls::set_shared_data(&lease_key, Some(&lease_value(now + RETRY_SECS)), None);
        }
    }
}

/// Make the callouts of parked requests that are due, acting as each request's context.
fn wake_parked(shared: &Shared, now: u64) {
    let due: Vec<Parked> = {
        let mut parked = shared.parked.borrow_mut();
        let (due, later): (Vec<Parked>, Vec<Parked>) = parked.drain(..).partition(|p| p.due <= now);
        *parked = later;
        due
    };
    for parked in due {
        let Some(exchange) = parked.exchange.upgrade() else {
            continue;
        };
        let _ = hostcalls::set_effective_context(parked.context_id);
        let action = exchange.borrow_mut().call(parked.call, parked.pending);
        let token = exchange.borrow().waiting.as_ref().map(|(token, _)| *token);
        if let Some(token) = token {
            shared
                .delegated
                .borrow_mut()
                .push((token, parked.context_id, parked.exchange.clone()));
        }
        if let HostAction::Continue = action {
            let _ = hostcalls::resume_http_request();
        }
    }
}

/// Deliver the answer to a callout made for a parked request. The request's context is made
/// effective first: the answer's headers and body belong to it, not to the root.
fn deliver_delegated(shared: &Shared, token: u32, num_headers: usize, body_size: usize) -> bool {
    let entry = {
        let mut delegated = shared.delegated.borrow_mut();
        let position = delegated.iter().position(|(t, _, _)| *t == token);
        position.map(|i| delegated.swap_remove(i))
    };
    let Some((_, context_id, weak)) = entry else {
        return false;
    };
    let Some(exchange) = weak.upgrade() else {
        return true;
    };
    let _ = hostcalls::set_effective_context(context_id);
    let action = exchange
        .borrow_mut()
        .on_call_response(token, num_headers, body_size);
    Exchange::park_if_waiting(&exchange, context_id);
    let token = exchange.borrow().waiting.as_ref().map(|(token, _)| *token);
    if let Some(token) = token {
        shared
            .delegated
            .borrow_mut()
            .push((token, context_id, weak.clone()));
    }
    if let Some(HostAction::Continue) = action {
        let _ = hostcalls::resume_http_request();
    }
    true
}
