//! A scripted HTTP/1.1 server for hostile behaviour the fault proxy cannot
//! play: redirects to other ports, `Location`s elsewhere, bodies that stall
//! or drip, challenges and token realms of our own. It records every
//! request head it sees (headers included), so tests can assert what a
//! port was sent, credentials above all.
//!
//! Each request goes to a handler that picks a [`Reply`]; a reply can also
//! forward the request to an upstream (a real registry) and relay its
//! answer, optionally pointing its `Location` elsewhere. Binds 127.0.0.1
//! only; dropping the server stops it and cancels open connections.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};

use super::wire::{self, BackgroundServer};

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    /// First value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        wire::header(&self.headers, name)
    }

    /// Whether anything in the request could be a credential: an
    /// `Authorization` or `Proxy-Authorization` header, or `secret` anywhere
    /// in the head or body.
    pub fn carries(&self, secret: &str) -> bool {
        self.header("Authorization").is_some()
            || self.header("Proxy-Authorization").is_some()
            || self.target.contains(secret)
            || self.headers.iter().any(|(_, value)| value.contains(secret))
            || String::from_utf8_lossy(&self.body).contains(secret)
    }
}

/// What to answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// This status, headers and body (`Content-Length` is added).
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Forwards to `upstream` (`127.0.0.1:PORT`) with the request's own
    /// headers (its `Host` too, so absolute `Location`s point back here),
    /// and relays the answer; `relocate` replaces the first host with the
    /// second in a `Location` answered.
    Forward {
        upstream: String,
        relocate: Option<(String, String)>,
    },
    /// Sends the head (with the full `Content-Length` of `length`) and
    /// `sent` of the body, then nothing more, holding the connection open.
    Stall {
        status: u16,
        headers: Vec<(String, String)>,
        length: usize,
        sent: Vec<u8>,
    },
    /// Never answers (the connection stays open).
    Hang,
    /// Sends the head, then `body` one byte every `every`.
    Drip {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        every: Duration,
    },
}

impl Reply {
    /// A status with no body and the given headers.
    pub fn status(status: u16, headers: &[(&str, &str)]) -> Reply {
        Reply::Answer {
            status,
            headers: owned(headers),
            body: Vec::new(),
        }
    }

    /// A JSON body with `status`.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Answer {
            status,
            headers: owned(&[("Content-Type", "application/json")]),
            body: body.as_bytes().to_vec(),
        }
    }

    /// `307 Temporary Redirect` to `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply::status(307, &[("Location", location)])
    }

    /// Forwards to `upstream` unchanged.
    pub fn forward(upstream: &str) -> Reply {
        Reply::Forward {
            upstream: upstream.to_string(),
            relocate: None,
        }
    }
}

/// `(name, value)` pairs as owned strings.
pub fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// The server; see the module documentation.
pub struct ScriptedServer {
    seen: Arc<Mutex<Vec<Seen>>>,
    server: BackgroundServer,
}

impl ScriptedServer {
    /// Starts a server on a free 127.0.0.1 port answering with `handler`.
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> ScriptedServer {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let connection_seen = Arc::clone(&seen);
        let server = BackgroundServer::start("scripted", move |stream| {
            let seen = Arc::clone(&connection_seen);
            let handler = Arc::clone(&handler);
            async move {
                let _ = serve(stream, seen, handler).await;
            }
        })
        .unwrap_or_else(|error| panic!("scripted server: cannot start: {error}"));
        ScriptedServer { seen, server }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.server.port())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    /// Every request seen, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_default()
    }

    /// `METHOD target` of every request, for assertion messages.
    pub fn log(&self) -> String {
        self.seen()
            .iter()
            .map(|seen| format!("{} {}", seen.method, seen.target))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    handler: Arc<Handler>,
) -> std::io::Result<()> {
    let (read_half, mut write_half) = stream.into_split();
    let mut reader = BufReader::new(read_half);
    while let Some(head) = wire::read_head(&mut reader).await? {
        let framing = wire::request_framing(&head)?;
        let body = wire::read_body(&mut reader, framing).await?;
        let request = Seen {
            method: head.first.clone(),
            target: head.second.clone(),
            headers: head.headers.clone(),
            body,
        };
        if let Ok(mut seen) = seen.lock() {
            seen.push(request.clone());
        }
        let handler = Arc::clone(&handler);
        let reply = {
            let request = request.clone();
            tokio::task::spawn_blocking(move || handler(&request))
                .await
                .map_err(std::io::Error::other)?
        };
        let head_only = request.method.eq_ignore_ascii_case("HEAD");
        match reply {
            Reply::Answer {
                status,
                headers,
                body,
            } => {
                write_half
                    .write_all(&head_with_length(status, headers, body.len()))
                    .await?;
                if !head_only {
                    write_half.write_all(&body).await?;
                }
            }
            Reply::Forward { upstream, relocate } => {
                let (status, headers, body) =
                    tokio::task::spawn_blocking(move || forward(&request, &upstream, relocate))
                        .await
                        .map_err(std::io::Error::other)??;
                write_half.write_all(&render_head(status, &headers)).await?;
                if !head_only {
                    write_half.write_all(&body).await?;
                }
            }
            Reply::Stall {
                status,
                headers,
                length,
                sent,
            } => {
                write_half
                    .write_all(&head_with_length(status, headers, length))
                    .await?;
                write_half.write_all(&sent).await?;
                write_half.flush().await?;
                tokio::time::sleep(Duration::from_secs(3_600)).await;
                return Ok(());
            }
            Reply::Hang => {
                tokio::time::sleep(Duration::from_secs(3_600)).await;
                return Ok(());
            }
            Reply::Drip {
                status,
                headers,
                body,
                every,
            } => {
                write_half
                    .write_all(&head_with_length(status, headers, body.len()))
                    .await?;
                write_half.flush().await?;
                for byte in body {
                    tokio::time::sleep(every).await;
                    write_half.write_all(&[byte]).await?;
                    write_half.flush().await?;
                }
            }
        }
        write_half.flush().await?;
    }
    Ok(())
}

/// The head of an answer whose body is `length` bytes long.
fn head_with_length(status: u16, mut headers: Vec<(String, String)>, length: usize) -> Vec<u8> {
    headers.push(("Content-Length".into(), length.to_string()));
    render_head(status, &headers)
}

fn render_head(status: u16, headers: &[(String, String)]) -> Vec<u8> {
    let borrowed: Vec<(&str, String)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.clone()))
        .collect();
    wire::response_head(status, wire::reason(status), &borrowed)
}

/// An answer to relay: status, headers, body.
type Relayed = (u16, Vec<(String, String)>, Vec<u8>);

/// One request relayed to `upstream`, on a connection of its own; the
/// answer's framing headers are redone for the decoded body.
fn forward(
    request: &Seen,
    upstream: &str,
    relocate: Option<(String, String)>,
) -> std::io::Result<Relayed> {
    let framing = ["Connection", "Content-Length", "Transfer-Encoding"];
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .filter(|(name, _)| {
            !framing
                .iter()
                .any(|framed| name.eq_ignore_ascii_case(framed))
        })
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let url = format!("http://{upstream}{}", request.target);
    let answer = super::http::request(&request.method, &url, &headers, &request.body)?;
    let head_only = request.method.eq_ignore_ascii_case("HEAD");
    let mut relayed: Vec<(String, String)> = Vec::new();
    for (name, value) in &answer.headers {
        let is_framing = framing
            .iter()
            .any(|framed| name.eq_ignore_ascii_case(framed));
        if is_framing && !(head_only && name.eq_ignore_ascii_case("Content-Length")) {
            continue;
        }
        let value = match (&relocate, name.eq_ignore_ascii_case("Location")) {
            (Some((from, to)), true) => value.replacen(from.as_str(), to, 1),
            _ => value.clone(),
        };
        relayed.push((name.clone(), value));
    }
    if !head_only {
        relayed.push(("Content-Length".into(), answer.body.len().to_string()));
    }
    Ok((answer.status, relayed, answer.body))
}
