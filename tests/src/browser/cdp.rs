//! A minimal, synchronous Chrome DevTools Protocol client: one websocket to the browser, commands
//! sent with an id, the reply with the same id returned, events skipped.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

/// How long one socket read blocks before the deadline is checked again.
const READ_SLICE: Duration = Duration::from_millis(250);

/// A DevTools connection, optionally bound to one page session (flat sessions).
pub struct Cdp {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: Option<String>,
    /// Upper bound for one command's reply.
    pub timeout: Duration,
}

impl Cdp {
    /// Connects to `ws://127.0.0.1:<port><path>` (the browser endpoint from `DevToolsActivePort`).
    pub fn connect(port: u16, path: &str) -> Result<Cdp, String> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .map_err(|e| format!("devtools connect: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (ws, _) = tungstenite::client::client(url.as_str(), stream)
            .map_err(|e| format!("devtools handshake with {url}: {e}"))?;
        ws.get_ref()
            .set_read_timeout(Some(READ_SLICE))
            .map_err(|e| e.to_string())?;
        Ok(Cdp {
            ws,
            next_id: 1,
            session: None,
            timeout: Duration::from_secs(30),
        })
    }

    /// Sends every later command to this page session.
    pub fn use_session(&mut self, session_id: String) {
        self.session = Some(session_id);
    }

    /// Sends later commands to the browser itself again.
    pub fn leave_session(&mut self) {
        self.session = None;
    }

    /// Sends a command and returns its `result`; `Err` for protocol errors and timeouts.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| format!("devtools send {method}: {e}"))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let reply = match self.ws.read() {
                Ok(Message::Text(t)) => t,
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if Instant::now() >= deadline {
                        return Err(format!(
                            "devtools {method}: no reply within {:?}",
                            self.timeout
                        ));
                    }
                    continue;
                }
                Err(e) => return Err(format!("devtools {method}: {e}")),
            };
            let v: Value =
                serde_json::from_str(reply.as_str()).map_err(|e| format!("devtools reply: {e}"))?;
            if v["id"].as_u64() != Some(id) {
                continue; // an event or another session's message
            }
            if let Some(err) = v.get("error") {
                return Err(format!("devtools {method}: {err}"));
            }
            return Ok(v["result"].clone());
        }
    }
}
