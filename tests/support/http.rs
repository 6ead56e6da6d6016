//! A tiny synchronous HTTP/1.1 client over `std::net::TcpStream`.
//!
//! Tests use it to seed and inspect a registry without going through the
//! crate's own client (a bug there must not hide itself), and to observe the
//! fault proxy at the byte level: a connection reset surfaces as
//! `io::ErrorKind::ConnectionReset` (or `BrokenPipe`), a body shorter than
//! its `Content-Length` as `io::ErrorKind::UnexpectedEof`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;

/// Long enough for a slow-fault test, short enough that a hung server fails
/// the test instead of hanging the suite.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A complete response.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// First value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        super::wire::header(&self.headers, name)
    }

    /// The body as (lossy) UTF-8, for assertions and panic messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An `http://` URL split into the parts the client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `host:port` (port 80 added when absent).
    pub host: String,
    /// Path and query, at least `/`.
    pub target: String,
    /// `user:password` from the URL's userinfo, if any.
    pub credentials: Option<(String, String)>,
}

impl HttpUrl {
    /// Parses `http://[user:password@]host[:port][/target]`; https is refused
    /// because the harness only ever talks to 127.0.0.1 in clear text.
    pub fn parse(url: &str) -> io::Result<HttpUrl> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("url {url:?}: only http:// is supported"),
            )
        })?;
        let (authority, target) = match rest.find('/') {
            Some(index) => (&rest[..index], &rest[index..]),
            None => (rest, "/"),
        };
        let (credentials, host) = match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (
                    Some((userinfo_decode(user), userinfo_decode(password))),
                    host,
                )
            }
            None => (None, authority),
        };
        if host.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("url {url:?}: missing host"),
            ));
        }
        let host = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        Ok(HttpUrl {
            host,
            target: target.to_string(),
            credentials,
        })
    }
}

/// One keep-alive connection, for tests that care about connection reuse.
pub struct RawConnection {
    host: String,
    reader: BufReader<TcpStream>,
}

impl RawConnection {
    /// Connects to `host` (`127.0.0.1:PORT`).
    pub fn open(host: &str) -> io::Result<RawConnection> {
        let stream = TcpStream::connect(host)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(RawConnection {
            host: host.to_string(),
            reader: BufReader::new(stream),
        })
    }

    /// Sends one request and reads its whole response. `Host` and
    /// `Content-Length` are added unless given in `headers`.
    pub fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<RawResponse> {
        let mut head = format!("{method} {target} HTTP/1.1\r\n");
        let has = |name: &str| {
            headers
                .iter()
                .any(|(key, _)| key.eq_ignore_ascii_case(name))
        };
        if !has("Host") {
            head.push_str(&format!("Host: {}\r\n", self.host));
        }
        if !has("Content-Length")
            && !has("Transfer-Encoding")
            && (!body.is_empty() || method_sends_length(method))
        {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        stream.flush()?;
        read_response(&mut self.reader, method)
    }
}

/// PUT, POST and PATCH always say how long their (maybe empty) body is, as
/// registries answer 411 to a bodiless POST without a length otherwise.
fn method_sends_length(method: &str) -> bool {
    matches!(method, "PUT" | "POST" | "PATCH")
}

/// Sends one request on a fresh connection (`Connection: close`).
/// `url` is `http://host:port/path?query`; its userinfo, if any, is ignored
/// here (see [`request_with_auth`]).
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<RawResponse> {
    let parsed = HttpUrl::parse(url)?;
    let mut all_headers: Vec<(&str, &str)> = headers.to_vec();
    if !headers
        .iter()
        .any(|(key, _)| key.eq_ignore_ascii_case("Connection"))
    {
        all_headers.push(("Connection", "close"));
    }
    RawConnection::open(&parsed.host)?.send(method, &parsed.target, &all_headers, body)
}

/// Like [`request`], but answers a registry's 401 challenge the way the
/// distribution spec describes: `Basic` by resending with the credentials,
/// `Bearer` by fetching a token from the realm (with the credentials as
/// Basic, if any) for the challenged scope and resending with it.
/// Credentials come from `credentials` or else from the URL's userinfo.
pub fn request_with_auth(
    method: &str,
    url: &str,
    credentials: Option<(&str, &str)>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<RawResponse> {
    let parsed = HttpUrl::parse(url)?;
    let owned = parsed.credentials.clone();
    let credentials = credentials.or(owned
        .as_ref()
        .map(|(user, password)| (user.as_str(), password.as_str())));
    let plain = format!("http://{}{}", parsed.host, parsed.target);
    let first = request(method, &plain, headers, body)?;
    if first.status != 401 {
        return Ok(first);
    }
    let Some(challenge) = first.header("WWW-Authenticate").map(str::to_string) else {
        return Ok(first);
    };
    let authorization = if challenge.to_ascii_lowercase().starts_with("basic") {
        match credentials {
            Some((user, password)) => basic_authorization(user, password),
            None => return Ok(first),
        }
    } else if challenge.to_ascii_lowercase().starts_with("bearer") {
        format!("Bearer {}", fetch_token(&challenge, credentials)?)
    } else {
        return Ok(first);
    };
    let mut retry: Vec<(&str, &str)> = headers.to_vec();
    retry.push(("Authorization", &authorization));
    request(method, &plain, &retry, body)
}

/// `Basic base64(user:password)` (RFC 7617).
pub fn basic_authorization(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

/// The value of the first parameter called `name` (of a challenge, a
/// query or a form), as parsed by [`challenge_parameters`] and the like.
pub fn parameter(parameters: &[(String, String)], name: &str) -> Option<String> {
    parameters
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// Parameters of a `WWW-Authenticate` challenge (`realm`, `service`,
/// `scope`, ...), lower-cased names, unquoted values.
pub fn challenge_parameters(challenge: &str) -> Vec<(String, String)> {
    let rest = challenge
        .split_once(' ')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let mut parameters = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(escaped) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => break,
                    other => value.push(other),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        parameters.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    parameters
}

/// Fetches a bearer token for a `Bearer realm=..,service=..,scope=..`
/// challenge (Docker token protocol, GET form).
pub fn fetch_token(challenge: &str, credentials: Option<(&str, &str)>) -> io::Result<String> {
    let parameters = challenge_parameters(challenge);
    let get = |name: &str| {
        parameters
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let realm = get("realm").ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("challenge {challenge:?}: no realm"),
        )
    })?;
    let mut query = Vec::new();
    if let Some(service) = get("service") {
        query.push(format!("service={}", percent_encode(service)));
    }
    if let Some(scope) = get("scope") {
        for scope in scope.split(' ') {
            query.push(format!("scope={}", percent_encode(scope)));
        }
    }
    let url = if query.is_empty() {
        realm.to_string()
    } else {
        format!("{realm}?{}", query.join("&"))
    };
    let authorization = credentials.map(|(user, password)| basic_authorization(user, password));
    let headers: Vec<(&str, &str)> = authorization
        .as_deref()
        .map(|value| vec![("Authorization", value)])
        .unwrap_or_default();
    let response = request("GET", &url, &headers, b"")?;
    if response.status != 200 {
        let kind = match response.status {
            401 | 403 => io::ErrorKind::PermissionDenied,
            _ => io::ErrorKind::Other,
        };
        return Err(io::Error::new(
            kind,
            format!(
                "token endpoint {url} answered {}: {}",
                response.status,
                response.text()
            ),
        ));
    }
    let document: serde_json::Value = serde_json::from_slice(&response.body).map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("token endpoint {url}: body is not JSON: {error}"),
        )
    })?;
    document
        .get("token")
        .or_else(|| document.get("access_token"))
        .and_then(|token| token.as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("token endpoint {url}: no token field"),
            )
        })
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes in URL userinfo (where `+` is literal).
fn userinfo_decode(text: &str) -> String {
    percent_decode(&text.replace('+', "%2B"))
}

/// Decodes `%XX` escapes and `+` (form encoding) in a query component.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(value) => {
                        out.push(value);
                        index += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of a response; the connection closing first is an
/// `UnexpectedEof` saying where (`place`) it closed.
fn read_line(reader: &mut BufReader<TcpStream>, place: &str) -> io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("connection closed {place}"),
        ));
    }
    Ok(line)
}

fn read_response(reader: &mut BufReader<TcpStream>, method: &str) -> io::Result<RawResponse> {
    let status_line = loop {
        let line = read_line(reader, "before a response")?;
        if !line.trim().is_empty() {
            break line;
        }
    };
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.trim().parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("malformed status line {:?}", status_line.trim()),
            )
        })?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader, "inside response headers")?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let response = RawResponse {
        status,
        headers,
        body: Vec::new(),
    };
    if (100..200).contains(&status) {
        // Interim response (such as 100 Continue): the real one follows.
        return read_response(reader, method);
    }
    let mut body = Vec::new();
    let no_body = method.eq_ignore_ascii_case("HEAD") || status == 204 || status == 304;
    let chunked = response
        .header("Transfer-Encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    if no_body {
        // RFC 9112 section 6.3: whatever the headers say, there is no body.
    } else if chunked {
        loop {
            let line = read_line(reader, "inside a chunked body")?;
            let digits = line.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(digits, 16).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("malformed chunk size {:?}", line.trim()),
                )
            })?;
            if size == 0 {
                loop {
                    let mut trailer = String::new();
                    if reader.read_line(&mut trailer)? == 0 || trailer.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(length) = response.header("Content-Length") {
        let length: u64 = length.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("Content-Length {length:?} is not a number"),
            )
        })?;
        let read = reader.by_ref().take(length).read_to_end(&mut body)?;
        if (read as u64) < length {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("body ended after {read} of {length} bytes"),
            ));
        }
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok(RawResponse { body, ..response })
}
