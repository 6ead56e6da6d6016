//! A fault-injecting HTTP/1.1 proxy in front of a real registry.
//!
//! Requests are forwarded byte for byte (the `Host` header included, so the
//! registry's absolute `Location` headers point back at the proxy), over one
//! upstream connection per client connection so keep-alive behaves as it
//! would against the registry itself. Bodies are streamed in both directions
//! whatever their framing; only a response being faulted (ResetMidBody,
//! WrongBytes, Truncate) is buffered, and it is re-sent with a
//! `Content-Length`.
//!
//! Faults are scripted with [`FaultProxy::inject`]: the first rule (in
//! injection order) whose [`Match`] fits and whose budget is left applies,
//! and uses up one of its `times`.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::wire::{self, BackgroundServer, Framing};

/// Which requests a fault rule applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    /// Exact method (case-insensitive); None matches every method.
    pub method: Option<String>,
    /// Substring of the request target (path and query); None matches all.
    pub path_contains: Option<String>,
}

impl Match {
    /// Every request.
    pub fn any() -> Match {
        Match::default()
    }

    /// Every request with this method.
    pub fn method(method: &str) -> Match {
        Match {
            method: Some(method.to_string()),
            path_contains: None,
        }
    }

    /// Every request whose target contains `fragment` (such as `/blobs/`).
    pub fn path(fragment: &str) -> Match {
        Match {
            method: None,
            path_contains: Some(fragment.to_string()),
        }
    }

    /// Requests with this method whose target contains `fragment`.
    pub fn new(method: &str, fragment: &str) -> Match {
        Match {
            method: Some(method.to_string()),
            path_contains: Some(fragment.to_string()),
        }
    }

    /// Whether a request fits.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_ref()
            .is_none_or(|wanted| wanted.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_ref()
                .is_none_or(|fragment| path.contains(fragment.as_str()))
    }
}

/// What the proxy does to a matched request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status without forwarding, with a small distribution-style
    /// JSON error body and, if given, `Retry-After: N` (seconds). The
    /// request body is read and dropped, and the connection stays usable.
    Status(u16, Option<u64>),
    /// Forward, then send the head and half of the response body and reset
    /// the connection (RST). A response without a body is reset before any
    /// byte is sent.
    ResetMidBody,
    /// Read the request, then reset the connection (RST) without
    /// forwarding or answering: "connection reset by peer" before any byte
    /// of a response.
    ResetBeforeResponse,
    /// Wait this long, then forward normally.
    Slow(Duration),
    /// Forward, but flip one bit of the middle byte of the response body,
    /// keeping its length and headers (so `Docker-Content-Digest` no longer
    /// matches); an empty body is passed unchanged.
    WrongBytes,
    /// Forward, then send the head with the full `Content-Length` but only
    /// half of the body, and close cleanly (FIN).
    Truncate,
}

impl Fault {
    /// `429 Too Many Requests`, optionally with `Retry-After`.
    pub fn too_many_requests(retry_after: Option<u64>) -> Fault {
        Fault::Status(429, retry_after)
    }

    /// A bare error status such as 500, 502, 503 or 504.
    pub fn status(code: u16) -> Fault {
        Fault::Status(code, None)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Status(code, Some(seconds)) => {
                write!(formatter, "status {code} (Retry-After {seconds})")
            }
            Fault::Status(code, None) => write!(formatter, "status {code}"),
            Fault::ResetMidBody => formatter.write_str("reset mid body"),
            Fault::ResetBeforeResponse => formatter.write_str("reset before response"),
            Fault::Slow(duration) => write!(formatter, "slow {duration:?}"),
            Fault::WrongBytes => formatter.write_str("wrong bytes"),
            Fault::Truncate => formatter.write_str("truncate"),
        }
    }
}

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// The request target as sent: path and query.
    pub path: String,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
}

impl fmt::Display for RequestRecord {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fault {
            Some(fault) => write!(formatter, "{} {} FAULT {fault}", self.method, self.path),
            None => write!(formatter, "{} {}", self.method, self.path),
        }
    }
}

/// Whether `DOI_PROXY_LOG` asks for a line per request on stderr; read once,
/// since the proxy asks on every request.
fn log_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("DOI_PROXY_LOG").is_some())
}

struct Rule {
    matcher: Match,
    fault: Fault,
    remaining: usize,
}

#[derive(Default)]
struct Shared {
    rules: Mutex<Vec<Rule>>,
    records: Mutex<Vec<RequestRecord>>,
}

impl Shared {
    /// Records the request and picks (and uses up) its fault, if any.
    fn admit(&self, method: &str, path: &str) -> Option<Fault> {
        let fault = self.rules.lock().ok().and_then(|mut rules| {
            let rule = rules
                .iter_mut()
                .find(|rule| rule.remaining > 0 && rule.matcher.matches(method, path))?;
            rule.remaining -= 1;
            Some(rule.fault.clone())
        });
        let record = RequestRecord {
            method: method.to_string(),
            path: path.to_string(),
            fault: fault.clone(),
        };
        if log_enabled() {
            eprintln!("fault proxy: {record}");
        }
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
        fault
    }
}

/// The proxy. Dropping it stops it.
pub struct FaultProxy {
    upstream: String,
    shared: Arc<Shared>,
    server: BackgroundServer,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`127.0.0.1:PORT`, such as
    /// `registry.host()`) on a free 127.0.0.1 port.
    pub fn start(upstream: &str) -> FaultProxy {
        let shared = Arc::new(Shared::default());
        let connection_shared = Arc::clone(&shared);
        let target = upstream.to_string();
        let server = match BackgroundServer::start("fault-proxy", move |client| {
            let shared = Arc::clone(&connection_shared);
            let upstream = target.clone();
            async move {
                if let Err(error) = serve_client(shared, client, &upstream).await {
                    if log_enabled() {
                        eprintln!("fault proxy: connection ended: {error}");
                    }
                }
            }
        }) {
            Ok(server) => server,
            Err(error) => panic!("fault proxy: cannot start: {error}"),
        };
        FaultProxy {
            upstream: upstream.to_string(),
            shared,
            server,
        }
    }

    /// `127.0.0.1:PORT` of the proxy: use it instead of the registry's host.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.server.port())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The upstream it forwards to.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Applies `fault` to the next `times` requests that fit `matcher`.
    pub fn inject(&self, matcher: Match, fault: Fault, times: usize) {
        if let Ok(mut rules) = self.shared.rules.lock() {
            rules.push(Rule {
                matcher,
                fault,
                remaining: times,
            });
        }
    }

    /// Drops every rule, used up or not.
    pub fn clear_faults(&self) {
        if let Ok(mut rules) = self.shared.rules.lock() {
            rules.clear();
        }
    }

    /// How many injected faults are still waiting for a request.
    pub fn pending_faults(&self) -> usize {
        self.shared
            .rules
            .lock()
            .map(|rules| rules.iter().map(|rule| rule.remaining).sum())
            .unwrap_or_default()
    }

    /// Requests seen since start or the last [`FaultProxy::reset_counts`],
    /// faulted ones included.
    pub fn count(&self) -> usize {
        self.shared
            .records
            .lock()
            .map(|records| records.len())
            .unwrap_or_default()
    }

    /// Requests seen that fit `matcher`.
    pub fn count_matching(&self, matcher: &Match) -> usize {
        self.records()
            .iter()
            .filter(|record| matcher.matches(&record.method, &record.path))
            .count()
    }

    /// Requests that were faulted.
    pub fn faulted_count(&self) -> usize {
        self.records()
            .iter()
            .filter(|record| record.fault.is_some())
            .count()
    }

    /// `(method, path)` of every request seen, in arrival order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.records()
            .into_iter()
            .map(|record| (record.method, record.path))
            .collect()
    }

    /// Every request seen, with the fault applied to it.
    pub fn records(&self) -> Vec<RequestRecord> {
        self.shared
            .records
            .lock()
            .map(|records| records.clone())
            .unwrap_or_default()
    }

    /// One line per request (`GET /v2/ FAULT status 503`), for assertion
    /// messages. Set `DOI_PROXY_LOG=1` to also print them as they happen.
    pub fn log(&self) -> String {
        self.records()
            .iter()
            .map(|record| record.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Forgets the requests seen (rules are kept).
    pub fn reset_counts(&self) {
        if let Ok(mut records) = self.shared.records.lock() {
            records.clear();
        }
    }
}

/// One connection to the registry, split so a request body can be sent
/// while the response is already being read.
struct Upstream {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Upstream {
    async fn connect(host: &str) -> io::Result<Upstream> {
        let stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        let (reader, writer) = stream.into_split();
        Ok(Upstream {
            reader: BufReader::new(reader),
            writer,
        })
    }
}

async fn serve_client(
    shared: Arc<Shared>,
    client: TcpStream,
    upstream_host: &str,
) -> io::Result<()> {
    let mut client = BufReader::new(client);
    let mut upstream: Option<Upstream> = None;
    loop {
        let Some(request) = wire::read_head(&mut client).await? else {
            return Ok(());
        };
        let method = request.first.clone();
        let path = request.second.clone();
        let request_framing = wire::request_framing(&request)?;
        let client_wants_close = request.header_has_token("Connection", "close");
        let fault = shared.admit(&method, &path);

        let expects_continue = request.header_has_token("Expect", "100-continue");
        if let Some(Fault::Status(code, retry_after)) = &fault {
            // A client waiting for 100 Continue never sends its body: answer
            // at once and close (RFC 9110 10.1.1). Otherwise drain the body
            // so the next request on this connection parses.
            let close = client_wants_close || expects_continue;
            if !expects_continue {
                wire::read_body(&mut client, request_framing).await?;
            }
            write_status_fault(client.get_mut(), &method, *code, *retry_after, close).await?;
            if close {
                return Ok(());
            }
            continue;
        }
        if fault == Some(Fault::ResetBeforeResponse) {
            if !expects_continue {
                wire::read_body(&mut client, request_framing).await?;
            }
            // SO_LINGER 0: close() sends RST instead of FIN.
            let _ = client.get_ref().set_zero_linger();
            return Ok(());
        }
        if let Some(Fault::Slow(duration)) = &fault {
            tokio::time::sleep(*duration).await;
        }
        if expects_continue && request_framing != Framing::Empty {
            // Tell the client to send its body ourselves, as the body is
            // relayed before the upstream's answer is read; the upstream's
            // own interim 100 is then dropped in `exchange`.
            client
                .get_mut()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
        }

        let (response, request_sent) = match exchange(
            &mut client,
            &mut upstream,
            upstream_host,
            &request,
            request_framing,
        )
        .await
        {
            Ok(response) => response,
            Err(error) => {
                let _ = write_bad_gateway(client.get_mut(), &error).await;
                return Err(error);
            }
        };
        let Some(mut connection) = upstream.take() else {
            return Err(io::Error::other("upstream connection vanished"));
        };
        let response_framing = wire::response_framing(&method, &response)?;
        // After an early answer the rest of the request body is still on
        // the client connection, so it cannot carry another request.
        let upstream_closes = response.header_has_token("Connection", "close")
            || response_framing == Framing::UntilClose
            || !request_sent;

        // A body of known length is faulted while streaming, so a fault on a
        // multi-gigabyte blob costs no memory; other framings are buffered.
        let streamed_length = match response_framing {
            Framing::Length(length) => Some(length),
            _ => None,
        };
        match (fault, streamed_length) {
            (Some(Fault::ResetMidBody), Some(length)) => {
                let stream = client.get_mut();
                stream.write_all(&response.raw).await?;
                wire::copy_exact(&mut connection.reader, stream, length / 2).await?;
                stream.flush().await?;
                // SO_LINGER 0: close() sends RST instead of FIN.
                let _ = stream.set_zero_linger();
                return Ok(());
            }
            (Some(Fault::ResetMidBody), None) => {
                let body = wire::read_body(&mut connection.reader, response_framing).await?;
                let stream = client.get_mut();
                if !body.is_empty() {
                    stream
                        .write_all(&with_length(&response, body.len()))
                        .await?;
                    stream.write_all(&body[..body.len() / 2]).await?;
                    stream.flush().await?;
                }
                let _ = stream.set_zero_linger();
                return Ok(());
            }
            (Some(Fault::Truncate), Some(length)) => {
                let stream = client.get_mut();
                stream.write_all(&response.raw).await?;
                wire::copy_exact(&mut connection.reader, stream, length / 2).await?;
                stream.flush().await?;
                stream.shutdown().await?;
                return Ok(());
            }
            (Some(Fault::Truncate), None) => {
                let body = wire::read_body(&mut connection.reader, response_framing).await?;
                let stream = client.get_mut();
                stream
                    .write_all(&with_length(&response, body.len()))
                    .await?;
                stream.write_all(&body[..body.len() / 2]).await?;
                stream.flush().await?;
                stream.shutdown().await?;
                return Ok(());
            }
            (Some(Fault::WrongBytes), Some(length)) => {
                let stream = client.get_mut();
                stream.write_all(&response.raw).await?;
                let middle = length / 2;
                wire::copy_exact(&mut connection.reader, stream, middle).await?;
                let mut byte = [0u8; 1];
                connection.reader.read_exact(&mut byte).await?;
                stream.write_all(&[flip(byte[0])]).await?;
                wire::copy_exact(&mut connection.reader, stream, length - middle - 1).await?;
                stream.flush().await?;
            }
            (Some(Fault::WrongBytes), None) => {
                let mut body = wire::read_body(&mut connection.reader, response_framing).await?;
                let middle = body.len() / 2;
                if let Some(byte) = body.get_mut(middle) {
                    *byte = flip(*byte);
                }
                let stream = client.get_mut();
                stream
                    .write_all(&with_length(&response, body.len()))
                    .await?;
                stream.write_all(&body).await?;
                stream.flush().await?;
            }
            _ => {
                let stream = client.get_mut();
                stream.write_all(&response.raw).await?;
                wire::relay_body(&mut connection.reader, stream, response_framing).await?;
                stream.flush().await?;
            }
        }
        if upstream_closes || client_wants_close {
            client.get_mut().shutdown().await.ok();
            return Ok(());
        }
        upstream = Some(connection);
    }
}

/// Sends the request upstream and reads the response head, leaving the
/// upstream connection in `upstream`. Returns the head and whether the whole
/// request body went upstream.
///
/// Sending and receiving run at once, as between a client and the registry
/// itself: a registry may answer (say 401) before reading a large body and
/// then close, and the client must see that answer, not a proxy error. The
/// unsent rest of the body then stays with the client connection, which the
/// caller closes after the response.
///
/// A kept-alive upstream connection the registry closed meanwhile is
/// replaced once, when the request has no body (so nothing was consumed
/// from the client that cannot be sent again).
async fn exchange(
    client: &mut BufReader<TcpStream>,
    upstream: &mut Option<Upstream>,
    upstream_host: &str,
    request: &wire::Head,
    framing: Framing,
) -> io::Result<(wire::Head, bool)> {
    let mut reused = upstream.is_some();
    loop {
        let mut connection = match upstream.take() {
            Some(connection) => connection,
            None => Upstream::connect(upstream_host).await?,
        };
        let attempt = {
            let Upstream { reader, writer } = &mut connection;
            let sending = forward_request(client, writer, request, framing);
            let receiving = read_final_head(reader);
            tokio::pin!(sending, receiving);
            tokio::select! {
                // Sending first: a body sent in full in the same instant as
                // the answer came counts as sent, keeping the connection.
                biased;
                sent = &mut sending => match sent {
                    Ok(()) => receiving.await.map(|head| (head, true)),
                    // The registry stopped reading; its answer may be waiting.
                    Err(send_error) => match receiving.await {
                        Ok(head) => Ok((head, false)),
                        Err(_) => Err(send_error),
                    },
                },
                received = &mut receiving => received.map(|head| (head, false)),
            }
        };
        match attempt {
            Ok((head, complete)) => {
                // An early answer to a bodiless request is a complete one.
                let complete = complete || framing == Framing::Empty;
                *upstream = Some(connection);
                return Ok((head, complete));
            }
            Err(_) if reused && framing == Framing::Empty => reused = false,
            Err(error) => return Err(error),
        }
    }
}

/// Reads response heads until a final one: interim responses (100
/// Continue) are not relayed; 101 would be a protocol switch, which
/// registries never do.
async fn read_final_head(reader: &mut BufReader<OwnedReadHalf>) -> io::Result<wire::Head> {
    loop {
        let head = wire::read_head(reader).await?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "upstream closed without answering",
            )
        })?;
        if !(100..200).contains(&head.status()) {
            return Ok(head);
        }
    }
}

async fn forward_request(
    client: &mut BufReader<TcpStream>,
    upstream: &mut OwnedWriteHalf,
    request: &wire::Head,
    framing: Framing,
) -> io::Result<()> {
    upstream.write_all(&request.raw).await?;
    wire::relay_body(client, upstream, framing).await?;
    upstream.flush().await
}

/// One bit: the body stays plausible (often still valid JSON), so only a
/// digest check can catch the change.
fn flip(byte: u8) -> u8 {
    byte ^ 0x01
}

/// The response head with its framing replaced by `Content-Length: length`.
fn with_length(response: &wire::Head, length: usize) -> Vec<u8> {
    let mut out = format!("{} {}", response.first, response.second);
    let start_line = String::from_utf8_lossy(&response.raw);
    if let Some(reason) = start_line
        .lines()
        .next()
        .and_then(|line| line.splitn(3, ' ').nth(2))
    {
        out.push(' ');
        out.push_str(reason.trim_end());
    }
    out.push_str("\r\n");
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("Content-Length")
            || name.eq_ignore_ascii_case("Transfer-Encoding")
        {
            continue;
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {length}\r\n\r\n"));
    out.into_bytes()
}

async fn write_status_fault(
    stream: &mut TcpStream,
    method: &str,
    code: u16,
    retry_after: Option<u64>,
    close: bool,
) -> io::Result<()> {
    // Error codes from the distribution spec's error table.
    let error_code = match code {
        429 => "TOOMANYREQUESTS",
        401 => "UNAUTHORIZED",
        403 => "DENIED",
        404 => "NAME_UNKNOWN",
        503 => "UNAVAILABLE",
        _ => "UNKNOWN",
    };
    let body = format!(
        r#"{{"errors":[{{"code":"{error_code}","message":"fault injected by the test proxy","detail":{code}}}]}}"#
    );
    let mut headers = vec![
        (
            "Content-Type",
            "application/json; charset=utf-8".to_string(),
        ),
        ("Content-Length", body.len().to_string()),
    ];
    if let Some(seconds) = retry_after {
        headers.push(("Retry-After", seconds.to_string()));
    }
    if close {
        headers.push(("Connection", "close".to_string()));
    }
    let mut out = wire::response_head(code, wire::reason(code), &headers);
    if !method.eq_ignore_ascii_case("HEAD") {
        out.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&out).await?;
    stream.flush().await
}

async fn write_bad_gateway(stream: &mut TcpStream, error: &io::Error) -> io::Result<()> {
    let body = format!(
        r#"{{"errors":[{{"code":"UNKNOWN","message":"test proxy: upstream failed: {}"}}]}}"#,
        error.to_string().replace('"', "'")
    );
    let headers = [
        ("Content-Type", "application/json".to_string()),
        ("Content-Length", body.len().to_string()),
        ("Connection", "close".to_string()),
    ];
    let mut out = wire::response_head(502, "Bad Gateway", &headers);
    out.extend_from_slice(body.as_bytes());
    stream.write_all(&out).await?;
    stream.flush().await
}
