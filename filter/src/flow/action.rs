//! What the core asks the adapter to do.

use std::rc::Rc;

use crate::metrics::Metric;
use crate::oidc::token_response::TokenResponse;
use crate::session::csrf::CsrfState;
use crate::session::Session;

use super::provider::ProviderState;

/// The decision for one step of one request.
#[derive(Debug)]
pub struct Outcome {
    /// What to do with the request.
    pub action: Action,
    /// The counter this decision increments.
    pub metric: Option<Metric>,
    /// More counters, for decisions that are several facts at once (refreshed, via Graph).
    pub also: Vec<Metric>,
    /// The log line that explains it.
    pub log: Option<Log>,
    /// Newer provider state to publish to every worker (after a JWKS refetch).
    pub publish: Option<ProviderState>,
}

impl Outcome {
    /// An outcome with a metric and no log line.
    pub fn new(action: Action, metric: Metric) -> Self {
        Outcome {
            action,
            metric: Some(metric),
            also: Vec::new(),
            log: None,
            publish: None,
        }
    }

    /// Pause the request and make `call`; continue with `pending`.
    pub fn call(call: OutboundCall, pending: Pending) -> Self {
        Outcome {
            action: Action::Call {
                call,
                pending: Box::new(pending),
            },
            metric: None,
            also: Vec::new(),
            log: None,
            publish: None,
        }
    }

    /// Attach a log line.
    pub fn with_log(mut self, level: LogLevel, message: impl Into<String>) -> Self {
        self.log = Some(Log {
            level,
            message: message.into(),
        });
        self
    }
}

/// What happens to the request.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send it upstream after removing and setting these request headers.
    Forward {
        /// Header names to remove (every value).
        remove: Vec<String>,
        /// The session's identity and injected headers, set after `remove` (replacing any
        /// value). Shared with the per-VM session cache, which renders them once per session.
        identity: Rc<[(String, String)]>,
        /// Headers of this request to set after `identity` (replacing any value).
        set: Vec<(String, String)>,
        /// Headers to add to the response on its way back (refreshed cookies, injected headers).
        response: Vec<(String, String)>,
    },
    /// Answer locally.
    Respond(Response),
    /// Pause; at Unix second `until`, make `call` and resume with its answer. A wasm module
    /// cannot sleep, so the adapter parks the request and its timer makes the call.
    Wait {
        /// When to make the call.
        until: u64,
        /// The call.
        call: OutboundCall,
        /// What its answer continues.
        pending: Box<Pending>,
    },
    /// Pause, make this call, and resume with [`super::on_call_response`].
    Call {
        /// The request to make.
        call: OutboundCall,
        /// What to continue with.
        pending: Box<Pending>,
    },
}

/// A local reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers, `set-cookie` possibly repeated.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

/// An HTTP request to make through `dispatch_http_call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundCall {
    /// Envoy cluster.
    pub cluster: String,
    /// `:method`.
    pub method: &'static str,
    /// `:authority`.
    pub authority: String,
    /// `:path` with query.
    pub path: String,
    /// Other headers.
    pub headers: Vec<(String, String)>,
    /// Request body.
    pub body: Option<Vec<u8>>,
    /// Timeout in milliseconds.
    pub timeout_ms: u64,
}

/// The answer to an [`OutboundCall`]. Status 0 means the call failed (reset, timeout, overflow).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallResponse {
    /// HTTP status, 0 when there was no response.
    pub status: u16,
    /// Response body.
    pub body: Vec<u8>,
    /// `Retry-After` in seconds, when the answer had one.
    pub retry_after: Option<u64>,
}

/// What a paused request is waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// The token endpoint's answer to the authorization code.
    TokenExchange {
        /// The sign-in attempt the callback belongs to.
        csrf: CsrfState,
        /// The code being redeemed (kept for one retry with a fresh federated token).
        code: String,
        /// Whether this is already that retry.
        retried: bool,
    },
    /// A fresh workload-identity token, after Entra refused the stored one.
    Assertion {
        /// What to redo with it.
        then: AfterAssertion,
    },
    /// A fresh JWKS, because the ID token was signed with a key we did not know yet.
    JwksForToken {
        /// The sign-in attempt.
        csrf: CsrfState,
        /// The tokens already redeemed.
        tokens: TokenResponse,
    },
    /// A page of the user's groups from Graph (`transitiveMemberOf`).
    GraphPages {
        /// What the groups are for.
        purpose: GroupsFor,
        /// The page's URL (asked again after a 429).
        url: String,
        /// Throttled retries so far.
        retries: u32,
        /// The session being built.
        session: Box<Session>,
        /// Bearer for Graph.
        access_token: String,
        /// Pages requested so far.
        pages: u32,
        /// Group ids found so far.
        found: Vec<String>,
    },
    /// Which of `allowed_groups` the user is in (`checkMemberGroups`).
    GraphCheck {
        /// What the groups are for.
        purpose: GroupsFor,
        /// Throttled retries so far.
        retries: u32,
        /// The session being built.
        session: Box<Session>,
        /// Bearer for Graph.
        access_token: String,
    },
    /// A fresh JWKS, because a refreshed ID token was signed with a key we did not know yet.
    JwksForRefresh {
        /// The session being refreshed.
        session: Box<Session>,
        /// The refresh lease held.
        lease: String,
        /// The tokens the refresh returned.
        tokens: TokenResponse,
    },
    /// The token endpoint's answer to a refresh.
    Refresh {
        /// The session being refreshed.
        session: Box<Session>,
        /// Shared-data key of the refresh lease this worker holds.
        lease: String,
        /// Whether this is the retry with a fresh federated token.
        retried: bool,
    },
}

/// The token-endpoint call to repeat once a fresh federated token is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterAssertion {
    /// Redeem this authorization code.
    Redeem {
        /// The sign-in attempt.
        csrf: CsrfState,
        /// The code.
        code: String,
    },
    /// Refresh this session.
    Refresh {
        /// The session.
        session: Box<Session>,
        /// The refresh lease held.
        lease: String,
    },
}

/// Why groups are being fetched from Graph, and how to carry on once they are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupsFor {
    /// A sign-in: the callback completes with them.
    SignIn(CsrfState),
    /// A cache miss on a signed-in request: the list goes back into the cache, then forward.
    Refill,
    /// A refresh: the refreshed session gets them; on failure the old one is served.
    Refresh {
        /// The session before the refresh.
        old: Box<Session>,
        /// The refresh lease held.
        lease: String,
    },
}

/// Log severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Routine decisions.
    Debug,
    /// Noteworthy but expected (a user denied, a bad cookie).
    Info,
    /// Something an operator should look at.
    Warn,
    /// The filter cannot do its job.
    Error,
}

/// One log line. Never contains tokens, codes, cookies or secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Severity.
    pub level: LogLevel,
    /// Message.
    pub message: String,
}
