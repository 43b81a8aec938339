//! A small blocking HTTP/1.1 server for the test doubles (emulator, upstream): one thread per
//! connection, one request per connection.
//!
//! Hand-rolled rather than tiny_http because the `Close` fault must drop the TCP connection
//! without answering, and tiny_http never lets go of the socket (an unanswered request there
//! becomes a `500`). Every response carries `Connection: close`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A parsed request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Method, upper case as sent.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string (without `?`), empty when absent.
    pub query: String,
    /// Headers in order; names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes (de-chunked).
    pub body: Vec<u8>,
}

impl Request {
    /// First value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Query parameters, in order.
    pub fn query_params(&self) -> Params {
        Params::parse(self.query.as_bytes())
    }

    /// `application/x-www-form-urlencoded` body parameters, in order.
    pub fn form_params(&self) -> Params {
        Params::parse(&self.body)
    }
}

/// Decoded `key=value` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses a url-encoded string.
    pub fn parse(raw: &[u8]) -> Params {
        Params(
            url::form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// First value for `key`; empty values count as absent (Entra treats them as missing).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Re-encodes the parameters.
    pub fn encode(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter())
            .finish()
    }
}

/// A response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (besides `Content-Length` and `Connection`, which are added).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a body and content type.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// JSON with the no-store headers Entra sends on every token-ish response.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status, "application/json; charset=utf-8", value.to_string())
            .with_header("Cache-Control", "no-store, no-cache")
            .with_header("Pragma", "no-cache")
    }

    /// An HTML page.
    pub fn html(status: u16, body: String) -> Response {
        Response::new(status, "text/html; charset=utf-8", body)
            .with_header("Cache-Control", "no-store, no-cache")
    }

    /// A `302` to `location`.
    pub fn redirect(location: &str) -> Response {
        Response::new(302, "text/html; charset=utf-8", Vec::new())
            .with_header("Location", location)
            .with_header("Cache-Control", "no-store, no-cache")
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// First value of a header (case-insensitive name).
    #[cfg(test)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a handler decides.
#[derive(Debug)]
pub enum Reply {
    /// Send this response.
    Respond(Response),
    /// Drop the connection without answering.
    Close,
}

/// The request handler shared by all connection threads.
pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

/// Accepts connections until `stop` is set (and a connection wakes the loop up).
pub fn serve(listener: TcpListener, stop: Arc<AtomicBool>, handler: Handler) -> JoinHandle<()> {
    thread::spawn(move || {
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let handler = Arc::clone(&handler);
            thread::spawn(move || handle_connection(stream, &handler));
        }
    })
}

fn handle_connection(stream: TcpStream, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let reply = match read_request(&mut reader, &mut writer) {
        Ok(request) => handler(request),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Reply::Respond(Response::new(
            400,
            "text/plain",
            format!("bad request: {e}"),
        )),
        Err(_) => return,
    };
    match reply {
        Reply::Respond(response) => {
            let _ = write_response(&mut writer, &response);
            let _ = writer.flush();
            let _ = writer.shutdown(Shutdown::Write);
            // Drain briefly so the peer gets a FIN rather than a RST over unread bytes.
            let _ = writer.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = io::copy(&mut reader.take(64 * 1024), &mut io::sink());
        }
        Reply::Close => {
            let _ = writer.shutdown(Shutdown::Both);
        }
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn read_line(reader: &mut impl BufRead, budget: &mut usize) -> io::Result<String> {
    let mut line = Vec::new();
    let n = reader
        .by_ref()
        .take(*budget as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof"));
    }
    if n > *budget {
        return Err(bad("request head too large"));
    }
    *budget -= n;
    let line = String::from_utf8(line).map_err(|_| bad("non-UTF-8 request head"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads one request; answers `Expect: 100-continue` on the way.
pub fn read_request(reader: &mut impl BufRead, writer: &mut impl Write) -> io::Result<Request> {
    let mut budget = MAX_HEAD;
    let start = read_line(reader, &mut budget)?;
    let mut parts = start.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v)) if v.starts_with("HTTP/1.") => (m, t, v),
        _ => return Err(bad("bad request line")),
    };
    let _ = version;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, &mut budget)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| bad("bad header"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut request = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: Vec::new(),
    };
    if request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    request.body = if chunked {
        read_chunked(reader)?
    } else {
        let len: usize = match request.header("content-length") {
            Some(v) => v.parse().map_err(|_| bad("bad content-length"))?,
            None => 0,
        };
        if len > MAX_BODY {
            return Err(bad("body too large"));
        }
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(request)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD;
    loop {
        let line = read_line(reader, &mut budget)?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader, &mut budget)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(bad("body too large"));
        }
        let at = body.len();
        body.resize(at + size, 0);
        reader.read_exact(&mut body[at..])?;
        read_line(reader, &mut budget)?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Writes `response` with `Content-Length` and `Connection: close`.
pub fn write_response(writer: &mut impl Write, response: &Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    writer.write_all(head.as_bytes())?;
    writer.write_all(&response.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> io::Result<Request> {
        let mut out = Vec::new();
        read_request(&mut io::Cursor::new(raw.as_bytes().to_vec()), &mut out)
    }

    #[test]
    fn parses_query_headers_and_length_body() {
        let r = parse(
            "POST /t/oauth2/v2.0/token?x=1&y=a%20b HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\ncode=abc&",
        )
        .unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/t/oauth2/v2.0/token")
        );
        assert_eq!(r.query_params().get("y"), Some("a b"));
        assert_eq!(r.header("HOST"), Some("h"));
        assert_eq!(r.form_params().get("code"), Some("abc"));
    }

    #[test]
    fn decodes_chunked_bodies() {
        let r = parse(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ncode\r\n4;ext=1\r\n=abc\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.body, b"code=abc");
    }

    #[test]
    fn rejects_malformed_heads() {
        let cases = [
            "GARBAGE\r\n\r\n",
            "GET / SPDY/3\r\n\r\n",
            "GET / HTTP/1.1\r\nno-colon\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
        ];
        for raw in cases {
            let err = parse(raw).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{raw:?}");
        }
    }

    #[test]
    fn answers_expect_continue() {
        let mut out = Vec::new();
        let raw = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx".to_vec();
        read_request(&mut io::Cursor::new(raw), &mut out).unwrap();
        assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn empty_params_count_as_absent() {
        let p = Params::parse(b"a=&b=1&b=2");
        assert_eq!(
            (p.get("a"), p.get("b"), p.get("c")),
            (None, Some("1"), None)
        );
    }

    #[test]
    fn response_has_length_and_close() {
        let mut out = Vec::new();
        write_response(&mut out, &Response::new(404, "text/plain", "nope")).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("Content-Length: 4\r\nConnection: close\r\n\r\nnope"));
    }
}
