//! A recording TCP relay between Envoy and the emulator.

use super::*;

/// Copies bytes between Envoy and the emulator and keeps both directions, so a test knows
/// every code, verifier and token that crossed the wire without asking the emulator.
pub struct Tap {
    /// The port Envoy's cluster points at.
    pub port: u16,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<u8>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Tap {
    /// Listens on an ephemeral port and relays every connection to `127.0.0.1:target`.
    pub fn start(target: u16) -> Tap {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("tap: bind");
        let port = listener.local_addr().expect("tap: addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (flag, log) = (Arc::clone(&stop), Arc::clone(&seen));
        let acceptor = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(client), Ok(server)) = (conn, TcpStream::connect(("127.0.0.1", target)))
                else {
                    continue;
                };
                relay(client, server, Arc::clone(&log));
            }
        });
        Tap {
            port,
            stop,
            seen,
            acceptor: Some(acceptor),
        }
    }

    /// Everything both directions carried so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

/// Two copy threads, each recording what it forwards and closing the other side's write half
/// at end of stream.
fn relay(client: TcpStream, server: TcpStream, log: Arc<Mutex<Vec<u8>>>) {
    for (from, to) in [(&client, &server), (&server, &client)] {
        let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
            return;
        };
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            let _ = from.set_read_timeout(Some(Duration::from_secs(30)));
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
                log.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(&buf[..n]);
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(handle) = self.acceptor.take() {
            let _ = handle.join();
        }
    }
}

/// Every value of JSON string field `field` in `text` (`"field":"value"`).
pub fn json_strings(text: &str, field: &str) -> Vec<String> {
    let needle = format!("\"{field}\":\"");
    text.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &text[at + needle.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

/// Every value of form field `field` in `text` (`field=value`, up to `&`, space or line end).
pub fn form_values(text: &str, field: &str) -> Vec<String> {
    let needle = format!("{field}=");
    text.match_indices(&needle)
        .filter(|(at, _)| *at == 0 || matches!(text.as_bytes()[at - 1], b'&' | b'?' | b'\n'))
        .filter_map(|(at, _)| {
            let rest = &text[at + needle.len()..];
            let end = rest.find(['&', ' ', '\r', '\n']).unwrap_or(rest.len());
            let value = url::form_urlencoded::parse(format!("v={}", &rest[..end]).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())?;
            (!value.is_empty()).then_some(value)
        })
        .collect()
}
