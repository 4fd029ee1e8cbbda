//! Opening a connection, as guest or host: preamble and policy in the clear,
//! then the secret-code exchange if the host asks for one, then the Noise
//! handshake, then the hellos, encrypted.
//!
//! ```text
//! guest                                   host
//!   preamble (10 bytes)         ───────▶
//!                               ◀───────  preamble + policy byte
//!                                         + commitment to its key (32)
//!   [SPAKE2 message]            ───────▶                      (code only)
//!                               ◀───────  [SPAKE2 message]
//!   Noise message 1             ───────▶
//!                               ◀───────  Noise message 2 (empty: wrong code)
//!   Hello (sealed)              ───────▶
//!                               ◀───────  Hello or Refused (sealed)
//! ```
//!
//! Messages before the hellos are length-prefixed raw bytes; the hellos and
//! everything after them are sealed [`Frame`]s.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use encoding_rs::Encoding;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use super::connection::next_conn_id;
use super::limiter::AttemptLimiter;
use super::{PeerInfo, Security};
use crate::domain::{Capabilities, Limits};
use crate::protocol::codec::length_delimited;
use crate::protocol::crypto::{
    COMMITMENT_LEN, CodeExchange, Ephemeral, Handshake, Side, resume_proof, resume_secret,
};
use crate::protocol::handshake::{
    MAGIC, NOT_DUPLEX_REPLY, POLICY_CODE, POLICY_LOCKED, POLICY_OPEN,
};
use crate::protocol::{
    CodecError, Frame, FrameCodec, HandshakeError, Hello, Preamble, Resume, Versions,
};
use crate::text::{sanitize_name, sanitize_text};

/// A connection whose handshake succeeded.
#[derive(Debug)]
pub struct Established {
    /// The peer's hello (name not yet sanitized).
    pub peer: Hello,
    /// The verification words both sides show.
    pub verification: String,
    /// Whether a secret code protected the session.
    pub with_code: bool,
    /// The protocol version both sides use.
    pub version: u16,
    /// The session's codec, holding its keys: split it for the tasks.
    pub codec: FrameCodec,
    /// Bytes read past the handshake.
    pub leftover: BytesMut,
}

impl Established {
    /// Who the peer is, for the rest of the program: `resumed` says whether
    /// it came back to its conversation, `resume` (on a guest) how to do so
    /// next time.
    pub fn peer_info(
        &self,
        addr: std::net::SocketAddr,
        resumed: bool,
        resume: Option<crate::protocol::Resume>,
    ) -> PeerInfo {
        PeerInfo {
            id: next_conn_id(),
            name: sanitize_name(&self.peer.name),
            addr,
            security: Security::Encrypted {
                verification: self.verification.clone(),
                with_code: self.with_code,
            },
            resumed,
            resume,
            caps: Capabilities::from_names(self.peer.capabilities.iter().cloned()),
        }
    }
}

/// What a host asks of, and allows, its guests.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    /// The secret code guests must know, if any.
    pub code: Option<String>,
    /// Wrong attempts so far, shared by all connections.
    pub limiter: Arc<Mutex<AttemptLimiter>>,
    /// Whether plain text clients (netcat, simple socket programs) may chat.
    pub allow_plain: bool,
    /// The text encoding plain clients speak.
    pub encoding: &'static Encoding,
    /// How plain clients frame their messages.
    pub framing: super::plain::Framing,
    /// A conversation to carry on (this host was stopped and restarted),
    /// with the place of the guest that may resume it.
    pub conversation: Option<crate::protocol::Resume>,
    /// The time limits connections run by.
    pub limits: Limits,
    /// What to do with a newcomer while the guest is away.
    pub newcomers: crate::domain::Newcomers,
}

impl HostPolicy {
    /// A host that needs `code` (or nothing, with `None`) and takes only
    /// duplex guests.
    pub fn new(code: Option<String>) -> Self {
        Self {
            code,
            limiter: Arc::default(),
            allow_plain: false,
            encoding: encoding_rs::UTF_8,
            framing: super::plain::Framing::Line,
            conversation: None,
            limits: Limits::default(),
            newcomers: crate::domain::Newcomers::Refuse,
        }
    }
}

/// How long a host that allows plain clients waits for a new connection's
/// first bytes: a duplex guest sends its preamble at once, while a person
/// on netcat may not type for a while.
pub const PLAIN_GRACE: Duration = Duration::from_secs(1);

/// What a new connection opened with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opening {
    /// The head of a duplex preamble (magic and highest version, not yet
    /// checked).
    Duplex([u8; Preamble::HEAD_LEN]),
    /// Something else: the bytes read so far (possibly none).
    Plain(Vec<u8>),
}

/// Reads just enough of a new connection to tell a duplex guest from a plain
/// client: the preamble, or the first bytes that differ from it. With
/// `grace`, a client that sends nothing for that long is plain.
pub async fn read_opening<S>(
    stream: &mut S,
    grace: Option<Duration>,
) -> Result<Opening, HandshakeError>
where
    S: AsyncRead + Unpin,
{
    let mut seen = Vec::with_capacity(Preamble::HEAD_LEN);
    loop {
        let mut chunk = [0; Preamble::HEAD_LEN];
        let want = Preamble::HEAD_LEN - seen.len();
        let read = match grace {
            Some(grace) if seen.is_empty() => {
                match tokio::time::timeout(grace, stream.read(&mut chunk[..want])).await {
                    Ok(read) => read?,
                    Err(_) => return Ok(Opening::Plain(seen)),
                }
            }
            _ => stream.read(&mut chunk[..want]).await?,
        };
        if read == 0 {
            return Err(HandshakeError::Closed);
        }
        seen.extend_from_slice(&chunk[..read]);
        let compared = seen.len().min(MAGIC.len());
        if seen[..compared] != MAGIC[..compared] {
            return Ok(Opening::Plain(seen));
        }
        if let Ok(preamble) = <[u8; Preamble::HEAD_LEN]>::try_from(seen.as_slice()) {
            return Ok(Opening::Duplex(preamble));
        }
    }
}

/// Tells a plain client that is not allowed in how to connect, and why.
pub async fn turn_away_plain<S>(stream: &mut S, first_bytes: &[u8]) -> HandshakeError
where
    S: AsyncWrite + Unpin,
{
    let _ = stream.write_all(NOT_DUPLEX_REPLY.as_bytes()).await;
    let _ = stream.shutdown().await;
    HandshakeError::NotDuplex {
        first_bytes: first_bytes.escape_ascii().to_string(),
    }
}

type Raw<'a, S> = Framed<&'a mut S, LengthDelimitedCodec>;

/// The next raw handshake message.
async fn next_raw<S>(raw: &mut Raw<'_, S>) -> Result<BytesMut, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match raw.next().await {
        Some(Ok(message)) => Ok(message),
        Some(Err(err)) => Err(err.into()),
        None => Err(HandshakeError::Closed),
    }
}

/// The secret-code exchange: both send their SPAKE2 message, both derive the key.
async fn exchange_code<S>(raw: &mut Raw<'_, S>, code: &str) -> Result<[u8; 32], HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let exchange = CodeExchange::start(code);
    raw.send(Bytes::copy_from_slice(exchange.message())).await?;
    let theirs = next_raw(raw).await?;
    Ok(exchange.finish(&theirs)?)
}

/// Opens a connection as the guest, with the secret code if one was given.
pub async fn guest<S>(
    stream: &mut S,
    hello: &Hello,
    code: Option<&str>,
) -> Result<Established, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    guest_speaking(stream, hello, code, Versions::CURRENT, &mut |_, _| {}).await
}

/// [`guest`], calling `on_wait` with the host's reason and how many seconds
/// it may take when it asks the guest to wait for a decision
/// ([`Frame::Waiting`]): the caller's time limit should allow that much.
pub async fn guest_waiting<S>(
    stream: &mut S,
    hello: &Hello,
    code: Option<&str>,
    on_wait: &mut (dyn FnMut(&str, u32) + Send),
) -> Result<Established, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    guest_speaking(stream, hello, code, Versions::CURRENT, on_wait).await
}

/// [`guest`], announcing the protocol versions `versions` (tests play a
/// newer duplex with this).
pub async fn guest_speaking<S>(
    stream: &mut S,
    hello: &Hello,
    code: Option<&str>,
    versions: Versions,
    on_wait: &mut (dyn FnMut(&str, u32) + Send),
) -> Result<Established, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let ours = Preamble { versions }.to_bytes();
    stream.write_all(&ours).await?;
    let mut reply = [0; Preamble::LEN + 1];
    // Text instead of a preamble: a plain text server (nc -l, a socket
    // program) that greets or echoes.
    let head = match read_opening(stream, None).await? {
        Opening::Duplex(head) => head,
        Opening::Plain(first_bytes) => {
            return Err(HandshakeError::PlainServer {
                first_bytes: first_bytes.escape_ascii().to_string(),
            });
        }
    };
    let max = Preamble::parse_head(&head)?;
    reply[..Preamble::HEAD_LEN].copy_from_slice(&head);
    stream
        .read_exact(&mut reply[Preamble::HEAD_LEN..Preamble::LEN])
        .await?;
    let theirs = Versions {
        min: u16::from_be_bytes([reply[Preamble::HEAD_LEN], reply[Preamble::HEAD_LEN + 1]]),
        max,
    };
    if theirs.min > theirs.max {
        return Err(HandshakeError::BadPreamble(theirs));
    }
    let version = versions
        .common(theirs)
        .ok_or(HandshakeError::VersionMismatch {
            ours: versions,
            theirs,
        })?;
    stream.read_exact(&mut reply[Preamble::LEN..]).await?;
    let code = match (reply[Preamble::LEN], code) {
        (POLICY_OPEN, None) => None,
        (POLICY_OPEN, Some(_)) => return Err(HandshakeError::HostHasNoCode),
        (POLICY_CODE, Some(code)) => Some(code),
        (POLICY_CODE, None) => return Err(HandshakeError::CodeRequired),
        (POLICY_LOCKED, _) => {
            return Err(HandshakeError::LockedOut(
                "the host is refusing codes for a while after too many wrong ones; try again in a minute"
                    .to_owned(),
            ));
        }
        (other, _) => return Err(HandshakeError::UnknownPolicy(other)),
    };
    let mut commitment = [0; COMMITMENT_LEN];
    stream.read_exact(&mut commitment).await?;
    let prologue = [&ours[..], &reply[..], &commitment[..]].concat();

    let mut raw = Framed::new(stream, length_delimited());
    let psk = match code {
        Some(code) => Some(exchange_code(&mut raw, code).await?),
        None => None,
    };
    let mut noise = Handshake::new(true, &prologue, psk.as_ref())?;
    raw.send(Bytes::from(noise.write()?)).await?;
    let answer = next_raw(&mut raw).await?;
    if answer.is_empty() && psk.is_some() {
        return Err(HandshakeError::WrongCode { tries_left: None });
    }
    noise.read_committed(&answer, &commitment)?;
    let keys = noise.finish()?;
    let verification = keys.verification();
    let binding = keys.binding().to_vec();
    let (sealer, opener) = keys.split();

    // The resume secret never leaves: the hello carries a proof of it,
    // bound to this session.
    let asked = hello.resume;
    let sent = Hello {
        resume: asked.map(|resume| Resume {
            conversation: resume.conversation,
            token: resume_proof(resume.token, &binding, Side::Guest),
        }),
        ..hello.clone()
    };
    let mut framed = raw.map_codec(|_| FrameCodec::encrypted(sealer, opener));
    framed.send(Frame::Hello(sent)).await?;
    let mut peer = loop {
        match framed.next().await {
            Some(Ok(Frame::Hello(host))) => break host,
            Some(Ok(Frame::Refused { reason })) => {
                return Err(HandshakeError::Refused(sanitize_text(&reason).into_owned()));
            }
            Some(Ok(Frame::Waiting { reason, seconds })) => {
                on_wait(&sanitize_text(&reason), seconds);
            }
            // A newer host's optional frame: skipped, as everywhere.
            Some(Ok(Frame::Unknown { .. })) => {}
            Some(Ok(other)) => return Err(HandshakeError::UnexpectedFrame(other.name())),
            Some(Err(err)) => return Err(err.into()),
            None => return Err(HandshakeError::Closed),
        }
    };
    // Resumed only if the host proved it holds the conversation's secret:
    // whoever else answers at its address is a new conversation.
    peer.resumed = peer.resumed
        && matches!(
            (asked, peer.resume),
            (Some(ours), Some(theirs))
                if ours.conversation == theirs.conversation
                    && theirs.token == resume_proof(ours.token, &binding, Side::Host)
        );
    // The next resume needs this session's secret.
    peer.resume = peer.resume.map(|resume| Resume {
        conversation: resume.conversation,
        token: resume_secret(&binding),
    });
    let parts = framed.into_parts();
    Ok(Established {
        peer,
        verification,
        with_code: psk.is_some(),
        version,
        codec: parts.codec,
        leftover: parts.read_buf,
    })
}

/// Accepts a duplex guest as the host, once [`read_opening`] has read the
/// head of its preamble `theirs`: agrees on a version (or tells the guest
/// which versions we speak and stops), checks the code if `auth` requires one,
/// and the hello, then asks `admit` whether to let this guest in.
///
/// `admit` returns what the connection should hold while it lives (a slot in
/// the conversation) and the hello to answer with, or the reason to refuse.
pub async fn host<S, T>(
    stream: &mut S,
    theirs: [u8; Preamble::HEAD_LEN],
    peer_ip: IpAddr,
    auth: &HostPolicy,
    admit: impl FnOnce(&Hello) -> Result<(T, Hello), String>,
) -> Result<(Established, T), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    host_session(stream, theirs, peer_ip, auth, |guest, _| admit(guest)).await
}

/// [`host`], giving `admit` the session's handshake hash too, to check a
/// resuming guest's proof and make the host's (see
/// [`crate::protocol::crypto::resume_proof`]).
pub async fn host_session<S, T>(
    stream: &mut S,
    theirs: [u8; Preamble::HEAD_LEN],
    peer_ip: IpAddr,
    auth: &HostPolicy,
    admit: impl FnOnce(&Hello, &[u8]) -> Result<(T, Hello), String>,
) -> Result<(Established, T), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let pending = host_open(stream, theirs, peer_ip, auth).await?;
    match admit(pending.guest(), pending.binding()) {
        Ok((held, reply)) => Ok((pending.accept(reply).await?, held)),
        Err(reason) => Err(pending.refuse(reason).await),
    }
}

/// A guest past the handshake whose hello has arrived, waiting for the
/// host to let it in ([`Pending::accept`]) or turn it away
/// ([`Pending::refuse`]); meanwhile the host may ask it to wait
/// ([`Pending::wait`]).
#[derive(Debug)]
pub struct Pending<'a, S> {
    framed: Framed<&'a mut S, FrameCodec>,
    guest: Hello,
    binding: Vec<u8>,
    verification: String,
    with_code: bool,
    version: u16,
}

impl<S> Pending<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The guest's hello.
    pub fn guest(&self) -> &Hello {
        &self.guest
    }

    /// The session's handshake hash, to check a resuming guest's proof.
    pub fn binding(&self) -> &[u8] {
        &self.binding
    }

    /// Whether the guest said it understands being asked to wait.
    pub fn can_wait(&self) -> bool {
        self.guest
            .capabilities
            .iter()
            .any(|name| name == crate::protocol::frame::capability::WAITING)
    }

    /// Asks the guest to wait up to `seconds` for a decision (only if it
    /// can; see [`Pending::can_wait`]).
    pub async fn wait(&mut self, reason: &str, seconds: u32) -> Result<(), HandshakeError> {
        if self.can_wait() {
            self.framed
                .send(Frame::Waiting {
                    reason: reason.to_owned(),
                    seconds,
                })
                .await?;
        }
        Ok(())
    }

    /// Lets the guest in, answering with `reply`.
    pub async fn accept(mut self, reply: Hello) -> Result<Established, HandshakeError> {
        self.framed.send(Frame::Hello(reply)).await?;
        let parts = self.framed.into_parts();
        Ok(Established {
            peer: self.guest,
            verification: self.verification,
            with_code: self.with_code,
            version: self.version,
            codec: parts.codec,
            leftover: parts.read_buf,
        })
    }

    /// Turns the guest away, telling it `reason`; returns the error to report.
    pub async fn refuse(mut self, reason: String) -> HandshakeError {
        let _ = self
            .framed
            .send(Frame::Refused {
                reason: reason.clone(),
            })
            .await;
        HandshakeError::Refused(reason)
    }
}

/// The host's side of the handshake up to the guest's hello (see
/// [`host_session`]): what to do with the guest is the caller's to decide.
pub async fn host_open<'a, S>(
    stream: &'a mut S,
    theirs: [u8; Preamble::HEAD_LEN],
    peer_ip: IpAddr,
    auth: &HostPolicy,
) -> Result<Pending<'a, S>, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let agreed = match Preamble::parse_head(&theirs) {
        // A guest of version 1 sent only the head: do not wait for more.
        Ok(max) => {
            let mut rest = [0; 2];
            stream.read_exact(&mut rest).await?;
            Preamble::parse_rest(max, rest).map(|(preamble, version)| (preamble, version, rest))
        }
        Err(err) => Err(err),
    };
    let (version, their_preamble) = match agreed {
        Ok((_, version, rest)) => (version, [&theirs[..], &rest[..]].concat()),
        Err(err) => {
            // Let the guest see our versions so it can name both.
            let _ = stream.write_all(&Preamble::current().to_bytes()).await;
            let _ = stream.shutdown().await;
            return Err(err);
        }
    };

    // The attempt is charged now, before its code is evaluated, so
    // attempts running at once cannot all slip under the limit; it is
    // forgiven when the guest gets in or leaves without a guess.
    let (mut attempt, lockout) = match &auth.code {
        Some(_) => match Attempt::reserve(&auth.limiter, peer_ip) {
            Ok(attempt) => (Some(attempt), None),
            Err(lockout) => (None, Some(lockout)),
        },
        None => (None, None),
    };
    let policy = match (&auth.code, lockout) {
        (None, _) => POLICY_OPEN,
        (Some(_), None) => POLICY_CODE,
        (Some(_), Some(_)) => POLICY_LOCKED,
    };
    // The key is made, and committed to, before the guest's is seen.
    let ephemeral = Ephemeral::generate()?;
    let mut reply = Preamble::current().to_bytes().to_vec();
    reply.push(policy);
    reply.extend_from_slice(&ephemeral.commitment());
    stream.write_all(&reply).await?;
    if let Some(lockout) = lockout {
        let _ = stream.shutdown().await;
        return Err(HandshakeError::LockedOut(lockout.to_string()));
    }
    let prologue = [&their_preamble[..], &reply[..]].concat();

    let mut raw = Framed::new(stream, length_delimited());
    // A guest without the code hangs up here (to ask its user): with our
    // message unread, its close may arrive as a reset.
    let psk = match &auth.code {
        Some(code) => Some(exchange_code(&mut raw, code).await.map_err(|err| {
            if hung_up(&err) {
                HandshakeError::NoCodeGiven
            } else {
                err
            }
        })?),
        None => None,
    };
    let mut noise = Handshake::responder(&prologue, psk.as_ref(), &ephemeral)?;
    let first = next_raw(&mut raw).await?;
    if let Err(err) = noise.read(&first) {
        if psk.is_none() {
            return Err(err.into());
        }
        let tries_left = attempt.as_mut().map_or(0, Attempt::charge);
        // An empty answer tells the guest its code was wrong.
        let _ = raw.send(Bytes::new()).await;
        return Err(HandshakeError::WrongCode {
            tries_left: Some(tries_left),
        });
    }
    raw.send(Bytes::from(noise.write()?)).await?;
    let keys = noise.finish()?;
    let verification = keys.verification();
    let binding = keys.binding().to_vec();
    let (sealer, opener) = keys.split();

    let mut framed = raw.map_codec(|_| FrameCodec::encrypted(sealer, opener));
    let guest = match framed.next().await {
        Some(Ok(Frame::Hello(guest))) => guest,
        Some(Ok(other)) => return Err(HandshakeError::UnexpectedFrame(other.name())),
        Some(Err(CodecError::OverLimit { what, len, limit })) => {
            // Tell the guest why, so its user is not left guessing.
            let reason = format!("{what} of {len} bytes is over the {limit}-byte limit");
            let _ = framed.send(Frame::Refused { reason }).await;
            return Err(CodecError::OverLimit { what, len, limit }.into());
        }
        Some(Err(err)) => return Err(err.into()),
        None => return Err(HandshakeError::Closed),
    };
    Ok(Pending {
        framed,
        guest,
        binding,
        verification,
        with_code: psk.is_some(),
        version,
    })
}

/// A code attempt charged against its address while it runs; forgiven
/// when dropped unless [`charge`](Self::charge)d (its code was wrong).
struct Attempt<'a> {
    limiter: &'a Mutex<AttemptLimiter>,
    ip: IpAddr,
    at: Instant,
    charged: bool,
}

impl<'a> Attempt<'a> {
    fn reserve(
        limiter: &'a Mutex<AttemptLimiter>,
        ip: IpAddr,
    ) -> Result<Self, super::limiter::Lockout> {
        let at = lock(limiter).reserve(ip, Instant::now())?;
        Ok(Self {
            limiter,
            ip,
            at,
            charged: false,
        })
    }

    /// Keeps the attempt on the books (the code was wrong); returns how
    /// many tries the address has left.
    fn charge(&mut self) -> usize {
        self.charged = true;
        lock(self.limiter).tries_left(self.ip, Instant::now())
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.charged {
            lock(self.limiter).forgive(self.ip, self.at);
        }
    }
}

/// Whether the peer simply went away: a clean close or a reset.
fn hung_up(err: &HandshakeError) -> bool {
    match err {
        HandshakeError::Closed => true,
        HandshakeError::Codec(CodecError::Io(io)) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

/// The limiter, even if a panicking thread poisoned its lock (its data
/// stays consistent: every update is a single push or pop).
fn lock(limiter: &Mutex<AttemptLimiter>) -> std::sync::MutexGuard<'_, AttemptLimiter> {
    limiter
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn hello(name: &str) -> Hello {
        Hello::new(name)
    }

    /// Runs both handshakes over an in-memory pipe.
    async fn run(
        auth: HostPolicy,
        guest_code: Option<&str>,
    ) -> (
        Result<Established, HandshakeError>,
        Result<Established, HandshakeError>,
    ) {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let host = tokio::spawn(async move {
            let Opening::Duplex(theirs) = read_opening(&mut b, None).await? else {
                return Err(HandshakeError::Closed);
            };
            host(&mut b, theirs, IP, &auth, |_| {
                Ok::<_, String>(((), hello("host")))
            })
            .await
            .map(|(est, ())| est)
        });
        let guest = guest(&mut a, &hello("guest"), guest_code).await;
        drop(a); // a failed guest hangs up, as the real one does
        (guest, host.await.unwrap())
    }

    #[tokio::test]
    async fn handshake_exchanges_names_and_matching_words() {
        let (guest, host) = run(HostPolicy::new(None), None).await;
        let (guest, host) = (guest.unwrap(), host.unwrap());
        assert_eq!(guest.peer.name, "host");
        assert_eq!(host.peer.name, "guest");
        assert_eq!(guest.verification, host.verification);
        assert!(!guest.with_code);
    }

    #[tokio::test]
    async fn the_right_code_gets_in() {
        let auth = HostPolicy::new(Some("amber-otter-violin".into()));
        let (guest, host) = run(auth, Some("Amber Otter Violin")).await;
        assert!(guest.unwrap().with_code);
        assert!(host.unwrap().with_code);
    }

    #[tokio::test]
    async fn a_wrong_code_is_named_on_both_sides_and_counted() {
        let auth = HostPolicy::new(Some("amber-otter-violin".into()));
        let (guest, host) = run(auth.clone(), Some("amber-otter-viola")).await;
        let guest = guest.unwrap_err();
        assert!(matches!(guest, HandshakeError::WrongCode { .. }), "{guest}");
        assert_eq!(guest.to_string(), "wrong code");
        let host = host.unwrap_err();
        assert!(
            matches!(
                host,
                HandshakeError::WrongCode {
                    tries_left: Some(2)
                }
            ),
            "{host}"
        );
        // After the limit, the host refuses to try codes from that address.
        for _ in 0..2 {
            let _ = run(auth.clone(), Some("nope")).await;
        }
        let (guest, host) = run(auth, Some("amber-otter-violin")).await;
        assert!(matches!(guest, Err(HandshakeError::LockedOut(_))));
        assert!(matches!(host, Err(HandshakeError::LockedOut(_))));
    }

    #[tokio::test]
    async fn a_missing_code_is_asked_for() {
        let auth = HostPolicy::new(Some("amber-otter-violin".into()));
        let (guest, _) = run(auth, None).await;
        assert!(matches!(guest, Err(HandshakeError::CodeRequired)));
    }

    #[tokio::test]
    async fn a_code_for_an_open_host_is_an_error() {
        let (guest, _) = run(HostPolicy::new(None), Some("amber-otter-violin")).await;
        assert!(matches!(guest, Err(HandshakeError::HostHasNoCode)));
    }

    #[tokio::test]
    async fn refused_guest_gets_the_reason() {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let host = tokio::spawn(async move {
            let Opening::Duplex(theirs) = read_opening(&mut b, None).await? else {
                return Err(HandshakeError::Closed);
            };
            host(&mut b, theirs, IP, &HostPolicy::new(None), |_| {
                Err::<((), Hello), _>("busy".to_owned())
            })
            .await
        });
        let err = guest(&mut a, &hello("guest"), None).await.unwrap_err();
        assert!(
            matches!(&err, HandshakeError::Refused(r) if r == "busy"),
            "{err}"
        );
        assert!(matches!(
            host.await.unwrap(),
            Err(HandshakeError::Refused(_))
        ));
    }

    #[tokio::test]
    async fn openings_tell_duplex_from_plain() {
        for (bytes, plain) in [
            (&b"hello there\n"[..], true),
            (&b"DUP\n"[..], true),
            (&b"DUPLEX\x00\x02rest"[..], false),
        ] {
            let (mut a, mut b) = tokio::io::duplex(64);
            a.write_all(bytes).await.unwrap();
            let opening = read_opening(&mut b, None).await.unwrap();
            assert_eq!(matches!(opening, Opening::Plain(_)), plain, "{bytes:?}");
            if let Opening::Duplex(preamble) = opening {
                // Exactly the preamble is consumed; the rest stays unread.
                assert_eq!(&preamble, b"DUPLEX\x00\x02");
                let mut rest = [0; 4];
                b.read_exact(&mut rest).await.unwrap();
                assert_eq!(&rest, b"rest");
            }
        }
    }

    #[tokio::test]
    async fn a_silent_client_is_plain_after_the_grace_period() {
        let (_a, mut b) = tokio::io::duplex(64);
        let opening = read_opening(&mut b, Some(Duration::from_millis(10)))
            .await
            .unwrap();
        assert_eq!(opening, Opening::Plain(Vec::new()));
    }

    #[tokio::test]
    async fn a_turned_away_plain_client_is_told_how_to_connect() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let err = turn_away_plain(&mut b, b"hi\x1b").await;
        drop(b);
        let mut reply = String::new();
        a.read_to_string(&mut reply).await.unwrap();
        assert_eq!(reply, NOT_DUPLEX_REPLY);
        assert!(err.to_string().contains("hi\\x1b"), "{err}");
    }

    #[tokio::test]
    async fn guest_sees_a_non_duplex_server() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            let mut buf = [0; 8];
            let _ = b.read_exact(&mut buf).await;
            let _ = b.write_all(b"HTTP/1.1 400 Bad Request\r\n").await;
        });
        let err = guest(&mut a, &hello("guest"), None).await.unwrap_err();
        assert!(matches!(err, HandshakeError::PlainServer { .. }), "{err}");
    }
}
