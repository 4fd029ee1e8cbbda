//! The host: listens, and keeps accepting guests, as a server's accept loop
//! does, for as long as it runs.
//!
//! Each accepted socket gets its own handshake task, so a slow or hostile
//! client never holds up the next one. A limited number of handshakes may be
//! in progress, and one guest may hold the conversation's seat (see
//! [`super::seat`]); the rest are turned away with a reason, except the
//! seat's own guest coming back, which takes it over at once.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle};

use super::connection::{self, next_conn_id};
use super::handshake::{self, CodeBook, HostPolicy, Opening, PLAIN_GRACE};
use super::plain;
use super::seat::{Seat, Seats};
use super::{Knock, LeftReason, NetError, NetEvent, PeerInfo, Security};
use crate::domain::{Newcomers, RejectKind};
use crate::protocol::crypto::{Side, resume_proof, resume_secret};
use crate::protocol::{CodecError, HandshakeError, Hello, Resume};
use crate::text::sanitize_name;

/// The port duplex uses unless told otherwise.
pub const DEFAULT_PORT: u16 = 7878;

/// Handshakes that may be in progress at once; a connection beyond that
/// evicts the oldest.
pub const MAX_PENDING_HANDSHAKES: usize = 64;

/// A command the other person can type to join, such as
/// `duplex join 192.168.1.5:7878`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinHint(pub SocketAddr);

impl std::fmt::Display for JoinHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "duplex join {}", self.0)
    }
}

impl JoinHint {
    /// The command to give, with the secret code (if any) in the
    /// environment: on a command line, `ps` would show it to every user
    /// of the guest's machine.
    pub fn with_code(&self, code: Option<&str>) -> String {
        match code {
            Some(code) => format!("DUPLEX_SECRET={code} {self}"),
            None => self.to_string(),
        }
    }
}

/// A bound, listening host that has not started accepting yet.
#[derive(Debug)]
pub struct Host {
    listener: TcpListener,
    local: SocketAddr,
}

impl Host {
    /// Listens on `bind` (all interfaces, IPv4 and IPv6, when `None`) and `port`
    /// (0 picks a free port).
    pub fn bind(bind: Option<IpAddr>, port: u16) -> Result<Self, NetError> {
        let listener = match bind {
            Some(ip) => listen(SocketAddr::new(ip, port))?,
            None => {
                // One dual-stack socket serves IPv4 and IPv6; fall back to
                // IPv4 alone on machines without IPv6.
                let any6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
                match listen(any6) {
                    Ok(listener) => listener,
                    Err(NetError::Bind { .. }) => {
                        listen(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port))?
                    }
                    Err(err) => return Err(err),
                }
            }
        };
        let local = listener.local_addr().map_err(|error| NetError::Bind {
            addr: SocketAddr::new(bind.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)), port),
            error,
        })?;
        Ok(Self { listener, local })
    }

    /// The address actually bound (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The commands a guest can use to reach this host: one per non-loopback
    /// address of this machine (IPv4 first), or loopback when there is none.
    pub fn join_hints(&self) -> Vec<JoinHint> {
        let port = self.local.port();
        if !self.local.ip().is_unspecified() {
            return vec![JoinHint(self.local)];
        }
        let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
            .unwrap_or_default()
            .into_iter()
            .map(|iface| iface.ip())
            .filter(|ip| usable_remotely(ip) && (self.local.is_ipv6() || ip.is_ipv4()))
            .collect();
        ips.sort_by_key(|ip| (ip.is_ipv6(), *ip));
        ips.dedup();
        if ips.is_empty() {
            ips.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        ips.into_iter()
            .map(|ip| JoinHint(SocketAddr::new(ip, port)))
            .collect()
    }

    /// Starts the accept loop. Every guest that completes the handshake
    /// (with the code `auth` asks for) arrives as [`NetEvent::Joined`] on
    /// `events`; the loop runs until the task is aborted or `events` is closed.
    pub fn spawn(
        self,
        hello: Hello,
        auth: HostPolicy,
        events: mpsc::Sender<NetEvent>,
    ) -> JoinHandle<()> {
        self.spawn_watching(tokio::sync::watch::channel(hello).1, auth, events)
    }

    /// [`Host::spawn`], answering each guest with the hello `hello` holds
    /// when it arrives (our name changes with `/nick`).
    pub fn spawn_watching(
        self,
        hello: tokio::sync::watch::Receiver<Hello>,
        auth: HostPolicy,
        events: mpsc::Sender<NetEvent>,
    ) -> JoinHandle<()> {
        tokio::spawn(accept_loop(self.listener, hello, auth, events))
    }
}

/// Whether another machine could reach us at `ip`.
fn usable_remotely(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified(),
        // Link-local IPv6 needs a scope id nobody wants to type.
        IpAddr::V6(v6) => {
            !v6.is_loopback() && !v6.is_unspecified() && (v6.segments()[0] & 0xffc0) != 0xfe80
        }
    }
}

/// Binds a listening socket with SO_REUSEADDR, so a restarted host gets its
/// port back at once instead of waiting out TIME_WAIT.
fn listen(addr: SocketAddr) -> Result<TcpListener, NetError> {
    let bind_err = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            NetError::AddrInUse {
                port: addr.port(),
                addr,
            }
        } else {
            NetError::Bind {
                addr,
                error: source,
            }
        }
    };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(bind_err)?;
    #[cfg(not(windows))]
    socket.set_reuse_address(true).map_err(bind_err)?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        socket.set_only_v6(false).map_err(bind_err)?;
    }
    socket.bind(&addr.into()).map_err(bind_err)?;
    socket.listen(128).map_err(bind_err)?;
    socket.set_nonblocking(true).map_err(bind_err)?;
    TcpListener::from_std(socket.into()).map_err(bind_err)
}

async fn accept_loop(
    listener: TcpListener,
    hello: tokio::sync::watch::Receiver<Hello>,
    auth: HostPolicy,
    events: mpsc::Sender<NetEvent>,
) {
    // A restarted host waits for the guest of the conversation it carries on.
    let seats = if auth.conversation.is_some() {
        Seats::away()
    } else {
        Seats::default()
    };
    let mut handshakes = Handshakes::default();
    let conversation = Arc::new(Mutex::new(
        auth.conversation
            .map_or_else(Conversation::new, Conversation::restored),
    ));
    loop {
        let (stream, addr) = match listener.accept().await {
            // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
            Ok((stream, addr)) => (
                stream,
                SocketAddr::new(addr.ip().to_canonical(), addr.port()),
            ),
            Err(err) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if events.is_closed() {
            return;
        }
        let hello = hello.borrow().clone();
        let auth = auth.clone();
        let events = events.clone();
        let seats = seats.clone();
        let conversation = conversation.clone();
        let task = tokio::spawn(async move {
            let outcome = admit(stream, addr, &hello, &auth, &events, &seats, &conversation).await;
            if let Err(err) = outcome {
                tracing::info!(%addr, %err, "connection turned away");
                let _ = events
                    .send(NetEvent::Rejected {
                        addr,
                        kind: reject_kind(&err),
                        reason: err.to_string(),
                    })
                    .await;
            }
        });
        handshakes.admit(task.abort_handle());
    }
}

/// The kind of a handshake's failure, for folding a flood of them by kind.
fn reject_kind(err: &HandshakeError) -> RejectKind {
    match err {
        HandshakeError::NotDuplex { .. } | HandshakeError::PlainServer { .. } => {
            RejectKind::NotDuplex
        }
        HandshakeError::VersionMismatch { .. } | HandshakeError::UnknownPolicy(_) => {
            RejectKind::Version
        }
        HandshakeError::Timeout(_) | HandshakeError::SilentHost(_) => RejectKind::TimedOut,
        HandshakeError::WrongCode { .. } | HandshakeError::LockedOut(_) => RejectKind::WrongCode,
        HandshakeError::NoCodeGiven
        | HandshakeError::CodeRequired
        | HandshakeError::HostHasNoCode => RejectKind::NoCode,
        HandshakeError::Refused(reason) if reason == AWAY => RejectKind::Away,
        HandshakeError::Refused(_) => RejectKind::Busy,
        HandshakeError::Codec(CodecError::OverLimit { .. }) => RejectKind::OverLimit,
        HandshakeError::BadPreamble(_)
        | HandshakeError::Closed
        | HandshakeError::UnexpectedFrame(_)
        | HandshakeError::Crypto(_)
        | HandshakeError::Codec(_) => RejectKind::Failed,
    }
}

/// The handshakes in progress, oldest first. At most
/// [`MAX_PENDING_HANDSHAKES`]: a new connection beyond that evicts the
/// oldest, so a burst of connections that never finish their handshake
/// cannot keep a real guest out, and costs bounded memory.
#[derive(Debug, Default)]
struct Handshakes {
    tasks: VecDeque<AbortHandle>,
}

impl Handshakes {
    /// Tracks a new handshake, evicting the oldest when there are too many.
    fn admit(&mut self, task: AbortHandle) {
        self.tasks.retain(|task| !task.is_finished());
        while self.tasks.len() >= MAX_PENDING_HANDSHAKES {
            if let Some(oldest) = self.tasks.pop_front() {
                tracing::warn!("too many handshakes in progress; dropping the oldest");
                oldest.abort();
            }
        }
        self.tasks.push_back(task);
    }
}

/// The conversation a host holds, and the one place that decides whether
/// a guest resumes it: only the guest that proves it holds the seat's
/// secret may. The secret is derived from the handshake of the seat's last
/// session by both its ends and never sent (see
/// [`crate::protocol::crypto::resume_proof`]); each session replaces it. A
/// new guest gets the seat with its own session's secret, so an earlier
/// guest can never take over what was meant for the one after it.
#[derive(Debug)]
pub struct Conversation {
    id: u64,
    seat: Option<u128>,
    /// The secret the seat's guest proved last, until it proves the newer
    /// one: a connection cut after the host rotated the secret but before
    /// the guest got the host's hello leaves the guest with only this one,
    /// and it must still be able to come back (nothing lost).
    previous: Option<u128>,
}

/// What [`Conversation::admit`] decided for one guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// For the guest's hello: the conversation, and the host's proof when
    /// the guest resumed (0 otherwise).
    pub reply: Resume,
    /// What this end keeps (and journals) to be resumed next time: the
    /// conversation and this session's secret.
    pub kept: Resume,
    /// Whether the guest proved its place and resumed it.
    pub resumed: bool,
}

impl Default for Conversation {
    fn default() -> Self {
        Self::new()
    }
}

impl Conversation {
    /// A new conversation with a random id.
    pub fn new() -> Self {
        Self {
            id: rand::random(),
            seat: None,
            previous: None,
        }
    }

    /// The conversation of a host that was stopped, for the guest whose
    /// session's secret `resume` holds to come back to.
    pub fn restored(resume: Resume) -> Self {
        Self {
            id: resume.conversation,
            seat: Some(resume.token),
            previous: None,
        }
    }

    /// The seat's secret, if `asked` proves it in the session whose
    /// handshake hash is `binding`.
    fn proved(&self, asked: Option<Resume>, binding: &[u8]) -> Option<u128> {
        let asked = asked.filter(|asked| asked.conversation == self.id)?;
        [self.seat, self.previous]
            .into_iter()
            .flatten()
            .find(|&secret| asked.token == resume_proof(secret, binding, Side::Guest))
    }

    /// Whether `asked` proves the seat's secret in the session whose
    /// handshake hash is `binding`: the seat's own guest is back. Decides
    /// nothing: [`Conversation::admit`] does.
    pub fn proves(&self, asked: Option<Resume>, binding: &[u8]) -> bool {
        self.proved(asked, binding).is_some()
    }

    /// Someone who cannot resume (a plain client) took the seat: the last
    /// guest's secret stops working.
    pub fn give_away(&mut self) {
        self.seat = None;
        self.previous = None;
    }

    /// Admits a guest in the session whose handshake hash is `binding`:
    /// resumes its place if `asked` proves the seat's secret, or gives it
    /// the seat. Either way the seat's secret becomes this session's.
    pub fn admit(&mut self, asked: Option<Resume>, binding: &[u8]) -> Admission {
        let proved = self.proved(asked, binding);
        let secret = resume_secret(binding);
        self.seat = Some(secret);
        // The guest surely holds what it just proved; the new secret only
        // once it gets our hello.
        self.previous = proved;
        Admission {
            reply: Resume {
                conversation: self.id,
                token: proved.map_or(0, |old| resume_proof(old, binding, Side::Host)),
            },
            kept: Resume {
                conversation: self.id,
                token: secret,
            },
            resumed: proved.is_some(),
        }
    }
}

/// What a guest is told when the conversation already has one.
const BUSY: &str = "the host is already in a conversation with someone else; try again later";

/// What a newcomer is told while the host waits for its lost guest.
const AWAY: &str = "the host is waiting for its guest to come back and did not let anyone else \
                    in; try again later";

/// What a newcomer is told while the host's person decides.
const ASKING: &str = "the host's guest is away: asking the host whether to let you in";

/// Why the connection of a guest that came back on a new one is ended.
const CAME_BACK: &str = "the guest came back on a new connection";

/// Runs one guest's handshake and, if it is admitted, its connection tasks.
async fn admit(
    mut stream: TcpStream,
    addr: SocketAddr,
    hello: &Hello,
    auth: &HostPolicy,
    events: &mpsc::Sender<NetEvent>,
    seats: &Seats,
    conversation: &Mutex<Conversation>,
) -> Result<(), HandshakeError> {
    let _ = stream.set_nodelay(true);
    let limit = auth.limits.handshake;
    let timed_out = |_| HandshakeError::Timeout(limit);
    // A plain client could never give the secret code, so a host with
    // a code never lets one in.
    let allow_plain = auth.allow_plain && auth.code.is_none();
    let grace = allow_plain.then_some(PLAIN_GRACE);
    let opening = tokio::time::timeout(limit, handshake::read_opening(&mut stream, grace))
        .await
        .map_err(timed_out)??;
    let theirs = match opening {
        Opening::Duplex(theirs) => theirs,
        Opening::Plain(initial) if allow_plain => {
            return admit_plain(stream, addr, initial, auth, events, seats, conversation).await;
        }
        Opening::Plain(initial) => {
            return Err(handshake::turn_away_plain(&mut stream, &initial).await);
        }
    };
    let mut pending = tokio::time::timeout(
        limit,
        handshake::host_open(&mut stream, theirs, addr.ip(), auth),
    )
    .await
    .map_err(timed_out)??;
    let guest = pending.guest().clone();
    // The seat's own guest is never busy: its old connection may be dead
    // without the host knowing yet, and it holds the right to resume.
    // Anyone else waits for a free seat, and a lost guest's seat is not
    // theirs without the host's consent.
    let immediate = {
        let mut conversation = lock(conversation);
        let slot = if conversation.proves(guest.resume, pending.binding()) {
            Some(seats.take_over(&LeftReason::Error(CAME_BACK.to_owned())))
        } else {
            seats.take()
        };
        slot.map(|slot| (slot, conversation.admit(guest.resume, pending.binding())))
    };
    let (slot, seat) = match immediate {
        Some(admitted) => admitted,
        None if seats.is_away() => {
            let name = sanitize_name(&guest.name);
            let decided = match auth.newcomers {
                Newcomers::Ask if pending.can_wait() => {
                    let seconds = u32::try_from(auth.limits.knock.as_secs()).unwrap_or(u32::MAX);
                    tokio::time::timeout(limit, pending.wait(ASKING, seconds))
                        .await
                        .map_err(timed_out)??;
                    ask_host(name, addr, auth, events, seats).await
                }
                // An older guest would give up before anyone could answer.
                Newcomers::Ask | Newcomers::Refuse => None,
                Newcomers::Admit => seats.take_newcomer(),
            };
            match decided {
                Some(slot) => (
                    slot,
                    lock(conversation).admit(guest.resume, pending.binding()),
                ),
                None => return Err(pending.refuse(AWAY.to_owned()).await),
            }
        }
        None => return Err(pending.refuse(BUSY.to_owned()).await),
    };
    // A single-use code did its job once a new guest is in: the next one
    // takes its place, and the guest is given it to come back with.
    let codes = auth.code.as_ref().filter(|codes| codes.is_single_use());
    let used = codes.filter(|_| !seat.resumed).and_then(CodeBook::used);
    let reply = Hello {
        resume: Some(seat.reply),
        resumed: seat.resumed,
        next_code: codes.map(CodeBook::current),
        ..hello.clone()
    };
    let established = tokio::time::timeout(limit, pending.accept(reply))
        .await
        .map_err(timed_out)??;
    let info = established.peer_info(addr, seat.resumed, Some(seat.kept));
    connection::spawn(
        stream,
        info,
        established.codec,
        established.leftover,
        events.clone(),
        Some(slot),
        auth.limits,
    )
    .await;
    // Said after the guest joined: the code it used let it in, and the
    // next guest needs this one.
    if let Some(code) = used {
        let _ = events.send(NetEvent::CodeChanged { code }).await;
    }
    Ok(())
}

/// Asks the host's person whether the newcomer `name` may take the seat
/// of the guest that is away; the seat if so (and still free).
async fn ask_host(
    name: String,
    addr: SocketAddr,
    auth: &HostPolicy,
    events: &mpsc::Sender<NetEvent>,
    seats: &Seats,
) -> Option<Seat> {
    let (knock, answer) = Knock::new(name, addr, auth.limits.knock);
    events.send(NetEvent::Knock(knock)).await.ok()?;
    match tokio::time::timeout(auth.limits.knock, answer).await {
        Ok(Ok(true)) => seats.take_newcomer(),
        _ => None,
    }
}

/// Lets a plain text client in, if the seat is free (or the host's person
/// lets it take an away guest's seat), and runs its connection.
async fn admit_plain(
    mut stream: TcpStream,
    addr: SocketAddr,
    initial: Vec<u8>,
    auth: &HostPolicy,
    events: &mpsc::Sender<NetEvent>,
    seats: &Seats,
    conversation: &Mutex<Conversation>,
) -> Result<(), HandshakeError> {
    let name = sanitize_name(&format!("plain@{}", addr.ip()));
    let slot = match seats.take() {
        Some(slot) => Some(slot),
        None if seats.is_away() => match auth.newcomers {
            Newcomers::Ask => {
                let _ = stream
                    .write_all(format!("duplex: {ASKING}\r\n").as_bytes())
                    .await;
                ask_host(name.clone(), addr, auth, events, seats).await
            }
            Newcomers::Refuse => None,
            Newcomers::Admit => seats.take_newcomer(),
        },
        None => {
            let _ = stream
                .write_all(format!("duplex: {BUSY}\r\n").as_bytes())
                .await;
            return Err(HandshakeError::Refused(BUSY.to_owned()));
        }
    };
    let Some(slot) = slot else {
        let _ = stream
            .write_all(format!("duplex: {AWAY}\r\n").as_bytes())
            .await;
        return Err(HandshakeError::Refused(AWAY.to_owned()));
    };
    // A new participant: the last guest's secret stops working.
    lock(conversation).give_away();
    let info = PeerInfo {
        id: next_conn_id(),
        name,
        addr,
        security: Security::Plain {
            encoding: auth.encoding.name(),
        },
        resumed: false,
        resume: None,
        caps: Default::default(),
    };
    plain::spawn(
        stream,
        info,
        initial,
        plain::Dialect {
            encoding: auth.encoding,
            framing: auth.framing,
        },
        events.clone(),
        Some(slot),
        Some(auth.limits.plain_idle),
    )
    .await;
    Ok(())
}

/// The conversation, whoever panicked while holding it.
fn lock(conversation: &Mutex<Conversation>) -> std::sync::MutexGuard<'_, Conversation> {
    conversation
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_the_port_at_once_after_a_restart() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let first = Host::bind(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), 0).unwrap();
            let addr = first.local_addr();
            // Leave a connection behind so the port has TIME_WAIT state.
            let client = TcpStream::connect(addr).await.unwrap();
            let (server_side, _) = first.listener.accept().await.unwrap();
            drop(server_side);
            drop(client);
            drop(first);
            Host::bind(Some(addr.ip()), addr.port()).expect("rebinds at once");
        });
    }

    #[tokio::test]
    async fn port_in_use_is_named() {
        let first = Host::bind(Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), 0).unwrap();
        // A socket without SO_REUSEADDR semantics on an active listener fails.
        let err = Host::bind(
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            first.local_addr().port(),
        )
        .unwrap_err();
        assert!(matches!(err, NetError::AddrInUse { .. }), "{err}");
        assert!(err.to_string().contains("already in use"), "{err}");
    }

    #[test]
    fn hints_name_the_real_port() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let _guard = runtime.enter();
        let host = Host::bind(None, 0).unwrap();
        let hints = host.join_hints();
        assert!(!hints.is_empty());
        for hint in hints {
            assert_eq!(hint.0.port(), host.local_addr().port());
            assert!(hint.to_string().starts_with("duplex join "));
        }
        let hint = JoinHint("192.168.1.5:7878".parse().unwrap());
        assert_eq!(
            hint.with_code(Some("amber-otter-violin")),
            "DUPLEX_SECRET=amber-otter-violin duplex join 192.168.1.5:7878"
        );
        assert_eq!(hint.with_code(None), "duplex join 192.168.1.5:7878");
    }

    #[test]
    fn a_guest_cut_off_before_the_hosts_hello_can_still_come_back() {
        let (one, two, three, four) = ([1; 32], [2; 32], [3; 32], [4; 32]);
        let mut conversation = Conversation::new();
        let first = conversation.admit(None, &one);
        let proof = |secret: u128, binding: &[u8]| Resume {
            conversation: first.kept.conversation,
            token: resume_proof(secret, binding, Side::Guest),
        };
        // Resumed, and the secret rotated: but the cut came before the
        // guest got the hello with the new one.
        let cut = conversation.admit(Some(proof(first.kept.token, &two)), &two);
        assert!(cut.resumed);
        // It comes back with the secret it holds: still its seat.
        let again = conversation.admit(Some(proof(first.kept.token, &three)), &three);
        assert!(again.resumed, "the interrupted rotation lost the seat");
        // Once a new guest takes the seat, neither old secret works.
        let stranger = conversation.admit(None, &four);
        assert!(!stranger.resumed);
        assert!(!conversation.proves(Some(proof(first.kept.token, &four)), &four));
        assert!(!conversation.proves(Some(proof(again.kept.token, &four)), &four));
    }

    #[test]
    fn a_guest_resumes_only_by_proving_its_sessions_secret() {
        let (one, two, three) = ([1; 32], [2; 32], [3; 32]);
        let mut conversation = Conversation::new();
        let first = conversation.admit(None, &one);
        assert!(!first.resumed);
        assert_eq!(first.reply.token, 0, "nothing to prove to a new guest");
        assert_eq!(first.kept.token, resume_secret(&one));
        let proof = |secret: u128, binding: &[u8]| Resume {
            conversation: first.kept.conversation,
            token: resume_proof(secret, binding, Side::Guest),
        };
        // The guest proves the secret of the last session, in the new one.
        let back = conversation.admit(Some(proof(first.kept.token, &two)), &two);
        assert!(back.resumed);
        assert_eq!(
            back.reply.token,
            resume_proof(first.kept.token, &two, Side::Host)
        );
        // The secret rotated: the first session's no longer works.
        let mut probe = Conversation::restored(back.kept);
        assert!(
            !probe
                .admit(Some(proof(first.kept.token, &three)), &three)
                .resumed
        );
        // A proof made for another session, the secret itself, or another
        // conversation resume nothing.
        let mut restored = Conversation::restored(back.kept);
        assert!(
            !restored
                .admit(Some(proof(back.kept.token, &two)), &three)
                .resumed
        );
        let mut restored = Conversation::restored(back.kept);
        assert!(!restored.admit(Some(back.kept), &three).resumed);
        let mut restored = Conversation::restored(back.kept);
        let elsewhere = Resume {
            conversation: back.kept.conversation ^ 1,
            ..proof(back.kept.token, &three)
        };
        assert!(!restored.admit(Some(elsewhere), &three).resumed);
        // A failed proof gave the seat away: the real guest's secret is dead.
        assert!(
            !restored
                .admit(Some(proof(back.kept.token, &one)), &one)
                .resumed
        );
        let mut restored = Conversation::restored(back.kept);
        assert!(
            restored
                .admit(Some(proof(back.kept.token, &three)), &three)
                .resumed
        );
    }

    #[test]
    fn link_local_v6_is_not_offered() {
        assert!(!usable_remotely(&"fe80::1".parse().unwrap()));
        assert!(!usable_remotely(&"127.0.0.1".parse().unwrap()));
        assert!(usable_remotely(&"192.168.1.5".parse().unwrap()));
        assert!(usable_remotely(&"2001:db8::1".parse().unwrap()));
    }
}
