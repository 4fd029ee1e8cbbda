//! The guest: parses the address to join, connects, and runs the handshake.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::io::InspectReader;

use super::connection::{self, PeerLink, next_conn_id};
use super::host::DEFAULT_PORT;
use super::plain::{self, Dialect};
use super::{NetError, NetEvent, PeerInfo, Security, handshake};
use crate::domain::Limits;
use crate::protocol::{HandshakeError, Hello};
use crate::text::sanitize_name;

/// How long one connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to join: a host name or IP address, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl std::str::FromStr for Target {
    type Err = NetError;

    /// Accepts `host`, `host:port`, `[v6]:port`, `[v6]` and a bare IPv6
    /// address; the port defaults to 7878.
    fn from_str(input: &str) -> Result<Self, NetError> {
        let invalid = |why| NetError::InvalidTarget {
            input: input.to_owned(),
            why,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("the address is empty"));
        }
        if let Some((_, rest)) = trimmed.split_once("://") {
            return Err(NetError::Url {
                input: input.to_owned(),
                suggestion: address_in_url(rest),
            });
        }
        let (host, port) = if let Some(rest) = trimmed.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or(invalid("missing ']' after the IPv6 address"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or(invalid("expected ':port' after ']'"))?,
                ),
            };
            if host.parse::<IpAddr>().is_err() {
                return Err(invalid("not an IPv6 address inside [ ]"));
            }
            (host, port)
        } else if trimmed.matches(':').count() > 1 {
            if trimmed.parse::<IpAddr>().is_err() {
                return Err(invalid(
                    "an IPv6 address with a port is written [address]:port",
                ));
            }
            (trimmed, None)
        } else {
            match trimmed.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (trimmed, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("the host is missing"));
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("the host contains spaces or control characters"));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(port) => match port.parse::<u16>() {
                Ok(0) => return Err(invalid("port 0 cannot be joined")),
                Ok(port) => port,
                Err(_) => return Err(invalid("the port must be a number from 1 to 65535")),
            },
        };
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

/// The `host:port` inside what follows a URL's `scheme://`: without any
/// user, path, query or fragment, and with the default port if it has none.
fn address_in_url(rest: &str) -> String {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let has_port = match authority.strip_prefix('[') {
        Some(v6) => v6.contains("]:"),
        None => authority.contains(':'),
    };
    match (authority.is_empty(), has_port) {
        (true, _) => format!("HOST:{DEFAULT_PORT}"),
        (false, true) => authority.to_owned(),
        (false, false) => format!("{authority}:{DEFAULT_PORT}"),
    }
}

/// Connects to `target`, runs the handshake, and starts the connection tasks.
///
/// The host's [`NetEvent::Joined`] is the first event sent on `events`.
/// `code` is the secret code, for a host that requires one.
pub async fn connect(
    target: &Target,
    hello: &Hello,
    code: Option<&str>,
    events: mpsc::Sender<NetEvent>,
    limits: Limits,
) -> Result<(PeerInfo, PeerLink), NetError> {
    let (stream, addr) = dial(target).await?;
    open(stream, addr, hello, code, events, limits).await
}

/// Connects to a plain text server (netcat, a small socket program): no
/// handshake, no encryption; text in the `dialect`'s encoding and framing
/// (an encoding alone: lines) both ways.
pub async fn connect_plain(
    target: &Target,
    dialect: impl Into<Dialect>,
    events: mpsc::Sender<NetEvent>,
) -> Result<(PeerInfo, PeerLink), NetError> {
    let dialect = dialect.into();
    let (stream, addr) = dial(target).await?;
    let info = PeerInfo {
        id: next_conn_id(),
        name: sanitize_name(&format!("plain@{}", addr.ip())),
        addr,
        security: Security::Plain {
            encoding: dialect.encoding.name(),
        },
        resumed: false,
        resume: None,
        caps: Default::default(),
    };
    let link = plain::spawn(
        stream,
        info.clone(),
        Vec::new(),
        dialect,
        events,
        None,
        None,
    )
    .await;
    Ok((info, link))
}

/// Resolves `target` and opens a TCP connection to the first address that answers.
pub async fn dial(target: &Target) -> Result<(TcpStream, SocketAddr), NetError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|err| NetError::Resolve {
            host: target.host.clone(),
            why: err.to_string(),
        })?
        .collect();
    let mut last_err = None;
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok((stream, addr)),
            Ok(Err(err)) => {
                last_err = Some(NetError::Connect {
                    addr,
                    why: connect_why(&err),
                })
            }
            Err(_) => {
                last_err = Some(NetError::Connect {
                    addr,
                    why: format!("no answer within {} seconds", CONNECT_TIMEOUT.as_secs()),
                })
            }
        }
    }
    Err(last_err.unwrap_or_else(|| NetError::Resolve {
        host: target.host.clone(),
        why: "the name has no addresses".to_owned(),
    }))
}

/// Words for a person for a failed connect.
fn connect_why(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            "connection refused: nothing is listening there (is `duplex host` running?)".to_owned()
        }
        _ => err.to_string(),
    }
}

/// The duplex handshake over a connection [`dial`] opened, then the
/// conversation's tasks (what [`connect`] does after dialling).
pub async fn open(
    mut stream: TcpStream,
    addr: SocketAddr,
    hello: &Hello,
    code: Option<&str>,
    events: mpsc::Sender<NetEvent>,
    limits: Limits,
) -> Result<(PeerInfo, PeerLink), NetError> {
    let _ = stream.set_nodelay(true);
    // The host may ask us to wait while its person decides whether to let
    // us in: then the time limit grows by what the host says it may take.
    let (waiting_tx, mut waiting_rx) = tokio::sync::watch::channel(None::<(String, u32)>);
    let mut on_wait = move |reason: &str, seconds: u32| {
        waiting_tx.send_replace(Some((reason.to_owned(), seconds)));
    };
    // Whether the host sent anything: a duplex host answers at once, and a
    // plain text server (nc -l) that says nothing is told apart by that.
    let mut heard = false;
    let outcome = {
        let mut watched = InspectReader::new(&mut stream, |bytes: &[u8]| {
            heard |= !bytes.is_empty();
        });
        let handshake = handshake::guest_waiting(&mut watched, hello, code, &mut on_wait);
        tokio::pin!(handshake);
        let deadline = tokio::time::sleep(limits.handshake);
        tokio::pin!(deadline);
        // However often a host asks us to wait, the whole wait is at most
        // the decision time (`limits.knock`) past the handshake limit: a
        // hostile host cannot keep us hanging by asking again and again.
        let latest = tokio::time::Instant::now() + limits.handshake + limits.knock;
        loop {
            tokio::select! {
                result = &mut handshake => break Some(result),
                Ok(()) = waiting_rx.changed() => {
                    let Some((reason, seconds)) = waiting_rx.borrow_and_update().clone() else {
                        continue;
                    };
                    let more = Duration::from_secs(u64::from(seconds));
                    let until = tokio::time::Instant::now() + more + limits.handshake;
                    deadline.as_mut().reset(until.min(latest));
                    let _ = events.send(NetEvent::Waiting { reason }).await;
                }
                () = &mut deadline => break None,
            }
        }
    };
    let established = match outcome {
        Some(result) => result,
        None if !heard => Err(HandshakeError::SilentHost(limits.handshake)),
        None => Err(HandshakeError::Timeout(limits.handshake)),
    }
    .map_err(|error| NetError::Handshake { addr, error })?;
    // The host's codes are single-use: the one to come back with.
    if let Some(code) = established.peer.next_code.clone() {
        let _ = events.send(NetEvent::CodeChanged { code }).await;
    }
    let info = established.peer_info(addr, established.peer.resumed, established.peer.resume);
    let link = connection::spawn(
        stream,
        info.clone(),
        established.codec,
        established.leftover,
        events,
        None,
        limits,
    )
    .await;
    Ok((info, link))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Target, NetError> {
        s.parse()
    }

    fn target(host: &str, port: u16) -> Target {
        Target {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn accepts_every_documented_form() {
        assert_eq!(parse("example.com").unwrap(), target("example.com", 7878));
        assert_eq!(parse("10.0.0.2:9000").unwrap(), target("10.0.0.2", 9000));
        assert_eq!(parse("[::1]:9000").unwrap(), target("::1", 9000));
        assert_eq!(parse("[::1]").unwrap(), target("::1", 7878));
        assert_eq!(parse("fe80::1").unwrap(), target("fe80::1", 7878));
        assert_eq!(parse(" localhost:1 ").unwrap(), target("localhost", 1));
    }

    #[test]
    fn rejects_malformed_addresses_with_a_reason() {
        for (input, needle) in [
            ("", "empty"),
            (":7878", "host is missing"),
            ("host:0", "port 0"),
            ("host:http", "number"),
            ("host:70000", "number"),
            ("[::1", "missing ']'"),
            ("[::1]x", "':port'"),
            ("[nothost]:1", "IPv6"),
            ("fe80::1:zz:", "[address]:port"),
            ("a b:1", "spaces"),
        ] {
            let err = parse(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input:?} gave {err:?}");
        }
    }

    #[test]
    fn a_url_is_told_apart_with_the_address_to_use_instead() {
        for (input, suggestion) in [
            ("http://host:7878", "host:7878"),
            ("https://example.com/chat?x=1", "example.com:7878"),
            ("tcp://me@[::1]:9000/", "[::1]:9000"),
            ("duplex://", "HOST:7878"),
        ] {
            let err = parse(input).unwrap_err();
            assert!(
                matches!(&err, NetError::Url { suggestion: s, .. } if s == suggestion),
                "{input:?} gave {err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!("duplex join takes an address, not a URL: try duplex join {suggestion}")
            );
        }
    }

    #[test]
    fn displays_v6_in_brackets() {
        assert_eq!(target("::1", 5).to_string(), "[::1]:5");
        assert_eq!(target("host", 5).to_string(), "host:5");
    }
}
