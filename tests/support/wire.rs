//! HTTP/1.1 message framing shared by the fault proxy and the token server.
//!
//! Only what RFC 9112 needs for relaying is implemented: a message head is
//! read up to the empty line and kept as raw bytes (so the proxy can forward
//! it unchanged), and a body is framed by `Transfer-Encoding: chunked`, by
//! `Content-Length`, or (responses only) by the connection closing
//! (RFC 9112 section 6.3).

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Refuses heads larger than this so a broken peer cannot grow memory without
/// bound; registry heads are a few hundred bytes.
const MAX_HEAD_BYTES: usize = 256 * 1024;

/// One parsed message head (request or response) plus its raw bytes.
#[derive(Debug, Clone)]
pub struct Head {
    /// The raw bytes, including the terminating empty line, exactly as read.
    pub raw: Vec<u8>,
    /// Request: method. Response: HTTP version.
    pub first: String,
    /// Request: target (path and query). Response: status code.
    pub second: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
}

/// First value of a header in `headers`, case-insensitively (RFC 9110
/// section 5.1): the one lookup of every head our servers and client read.
pub fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

impl Head {
    /// First value of a header, case-insensitively (RFC 9110 section 5.1).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Whether a comma-separated header (such as `Connection`) lists `token`.
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| value.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    }

    /// The response status code; 0 when the status line is not numeric.
    pub fn status(&self) -> u16 {
        self.second.parse().unwrap_or(0)
    }
}

/// How a message body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    Empty,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// The body runs until the sender closes the connection (responses only).
    UntilClose,
}

/// Reads one message head. `Ok(None)` means the peer closed the connection
/// cleanly before sending anything, which ends a keep-alive connection.
pub async fn read_head<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    loop {
        let before = raw.len();
        let read = reader.read_until(b'\n', &mut raw).await?;
        if read == 0 {
            if raw.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a message head",
            ));
        }
        if raw.len() > MAX_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "message head larger than 256 KiB",
            ));
        }
        let line = &raw[before..];
        // Tolerate stray empty lines before a request line (RFC 9112 section 2.2).
        if before == 0 && (line == b"\r\n" || line == b"\n") {
            raw.clear();
            continue;
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    parse_head(raw).map(Some)
}

fn parse_head(raw: Vec<u8>) -> io::Result<Head> {
    let text = String::from_utf8_lossy(&raw).into_owned();
    let mut lines = text.split('\n').map(|line| line.trim_end_matches('\r'));
    let start = lines.next().unwrap_or_default();
    let mut parts = start.splitn(3, ' ');
    let first = parts.next().unwrap_or_default().to_string();
    let second = parts.next().unwrap_or_default().to_string();
    if first.is_empty() || second.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("malformed start line {start:?}"),
        ));
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("malformed header line {line:?}"),
            ));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    Ok(Head {
        raw,
        first,
        second,
        headers,
    })
}

/// Body framing of a request (RFC 9112 section 6.3: no length means no body).
pub fn request_framing(head: &Head) -> io::Result<Framing> {
    if head.header_has_token("Transfer-Encoding", "chunked") {
        return Ok(Framing::Chunked);
    }
    match content_length(head)? {
        Some(0) | None => Ok(Framing::Empty),
        Some(length) => Ok(Framing::Length(length)),
    }
}

/// Body framing of a response to `method` (RFC 9112 section 6.3: HEAD, 1xx,
/// 204 and 304 never carry a body whatever their headers say).
pub fn response_framing(method: &str, head: &Head) -> io::Result<Framing> {
    let status = head.status();
    if method.eq_ignore_ascii_case("HEAD")
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        return Ok(Framing::Empty);
    }
    if head.header_has_token("Transfer-Encoding", "chunked") {
        return Ok(Framing::Chunked);
    }
    match content_length(head)? {
        Some(0) => Ok(Framing::Empty),
        Some(length) => Ok(Framing::Length(length)),
        None => Ok(Framing::UntilClose),
    }
}

fn content_length(head: &Head) -> io::Result<Option<u64>> {
    match head.header("Content-Length") {
        None => Ok(None),
        Some(value) => value.trim().parse().map(Some).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("Content-Length {value:?} is not a number"),
            )
        }),
    }
}

/// Copies a body from `reader` to `writer` keeping its framing byte for byte,
/// streaming (never holding more than a buffer) so multi-gigabyte blobs pass.
pub async fn relay_body<R, W>(reader: &mut R, writer: &mut W, framing: Framing) -> io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    match framing {
        Framing::Empty => Ok(()),
        Framing::Length(length) => copy_exact(reader, writer, length).await,
        Framing::UntilClose => {
            tokio::io::copy_buf(reader, writer).await?;
            Ok(())
        }
        Framing::Chunked => loop {
            let mut line = Vec::new();
            read_line(reader, &mut line).await?;
            writer.write_all(&line).await?;
            let size = chunk_size(&line)?;
            if size == 0 {
                // Trailer section, ended by an empty line.
                loop {
                    let mut trailer = Vec::new();
                    read_line(reader, &mut trailer).await?;
                    writer.write_all(&trailer).await?;
                    if trailer == b"\r\n" || trailer == b"\n" {
                        return Ok(());
                    }
                }
            }
            copy_exact(reader, writer, size + 2).await?;
        },
    }
}

/// Reads a whole body into memory, removing chunked coding.
pub async fn read_body<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    framing: Framing,
) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    match framing {
        Framing::Empty => {}
        Framing::Length(length) => {
            let read = (&mut *reader).take(length).read_to_end(&mut body).await?;
            if (read as u64) < length {
                return Err(early_eof(length, read as u64));
            }
        }
        Framing::UntilClose => {
            reader.read_to_end(&mut body).await?;
        }
        Framing::Chunked => loop {
            let mut line = Vec::new();
            read_line(reader, &mut line).await?;
            let size = chunk_size(&line)?;
            if size == 0 {
                loop {
                    let mut trailer = Vec::new();
                    read_line(reader, &mut trailer).await?;
                    if trailer == b"\r\n" || trailer == b"\n" {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            let read = (&mut *reader).take(size + 2).read_to_end(&mut body).await?;
            if (read as u64) < size + 2 {
                return Err(early_eof(size + 2, read as u64));
            }
            body.truncate(start + size as usize);
        },
    }
    Ok(body)
}

/// Copies exactly `length` bytes; fewer (the peer closed) is `UnexpectedEof`.
pub async fn copy_exact<R, W>(reader: &mut R, writer: &mut W, length: u64) -> io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let copied = tokio::io::copy_buf(&mut (&mut *reader).take(length), writer).await?;
    if copied < length {
        return Err(early_eof(length, copied));
    }
    Ok(())
}

async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, line: &mut Vec<u8>) -> io::Result<()> {
    let read = (&mut *reader).take(8192).read_until(b'\n', line).await?;
    if read == 0 || !line.ends_with(b"\n") {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed inside chunked framing",
        ));
    }
    Ok(())
}

fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let text = String::from_utf8_lossy(line);
    let digits = text.trim().split(';').next().unwrap_or_default().trim();
    u64::from_str_radix(digits, 16).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("malformed chunk size line {:?}", text.trim()),
        )
    })
}

fn early_eof(expected: u64, got: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("body ended after {got} of {expected} bytes"),
    )
}

/// Renders a response head with the given status and headers.
pub fn response_head(status: u16, reason: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Standard reason phrase for the statuses the harness produces.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
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

/// A TCP server on 127.0.0.1 running on its own thread and tokio runtime, so
/// synchronous tests (and benchmarks) can use it without a runtime of their
/// own. Dropping it stops accepting, cancels open connections and joins the
/// thread.
pub struct BackgroundServer {
    port: u16,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundServer {
    /// Binds a free port (the kernel picks it, so parallel tests never
    /// collide) before returning, then serves each connection with `handler`.
    pub fn start<F, Fut>(name: &str, handler: F) -> io::Result<BackgroundServer>
    where
        F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (shutdown, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{port}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            eprintln!("test server on port {port}: cannot listen: {error}");
                            return;
                        }
                    };
                    loop {
                        tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => match accepted {
                                Ok((stream, _)) => {
                                    let _ = stream.set_nodelay(true);
                                    tokio::spawn(handler(stream));
                                }
                                Err(error) => {
                                    // Out of descriptors and the like: back off, keep serving.
                                    eprintln!("test server on port {port}: accept: {error}");
                                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                                }
                            },
                        }
                    }
                });
                // Dropping the runtime here cancels every open connection.
                drop(runtime);
            })?;
        Ok(BackgroundServer {
            port,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The port on 127.0.0.1 the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
