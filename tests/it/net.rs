//! Networking tests: a host and guests in one process over 127.0.0.1, on
//! ports the OS picks, plus raw sockets that play hand-written, broken,
//! hostile or foreign clients and servers.
//!
//! Every duplex session is encrypted, so a hand-written client runs the real
//! handshake first: through the library (`handshake::guest`), or, where a
//! test needs bytes the library would never send, step by step with the
//! protocol's crypto primitives, following the diagram in
//! `src/net/handshake.rs`. Plain text clients and servers (netcat, a small
//! Python socket program) are played by blocking `std::net` sockets.
//!
//! Nothing sleeps to synchronise: every step awaits the event it needs, with
//! a generous timeout so a broken build fails instead of hanging. The few
//! sleeps create a pause the program must notice (a line without newline,
//! a client that says nothing).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use duplex::domain::{Limits, Newcomers, RejectKind};
use duplex::net::handshake::{self, HostPolicy, Opening, PLAIN_GRACE};
use duplex::net::limiter;
use duplex::net::plain::{ByteOrder, Dialect, Framing, PLAIN_PAUSE};
use duplex::net::{
    self, ConnId, Host, LeftReason, NetError, NetEvent, PeerInfo, PeerLink, Security, Target,
};
use duplex::protocol::codec::{decode_body, encode_body};
use duplex::protocol::crypto::{COMMITMENT_LEN, CryptoError, Ephemeral, Handshake, Opener, Sealer};
use duplex::protocol::frame::{MAX_NAME_LEN, MAX_TEXT_LEN};
use duplex::protocol::handshake::{NOT_DUPLEX_REPLY, POLICY_CODE, POLICY_OPEN};
use duplex::protocol::{
    ChatMessage, Frame, FrameCodec, HandshakeError, Hello, MessageId, PROTOCOL_VERSION, Preamble,
    Versions,
};
use futures::{SinkExt, StreamExt, TryStreamExt};
use rand::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{Decoder, Encoder, Framed, FramedParts};

/// How long any one expected event may take.
const WAIT: Duration = Duration::from_secs(10);

/// Capacity of the event channels, as the program uses.
const EVENTS: usize = duplex::runtime::EVENT_QUEUE_LEN;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The secret code of the hosts that require one.
const CODE: &str = "amber-otter-violin";

// ---------------------------------------------------------------------------
// Hosts and guests through the library

/// A host on a free port of 127.0.0.1.
struct TestHost {
    addr: SocketAddr,
    events: mpsc::Receiver<NetEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An open host named alice that takes only duplex guests.
fn start_host() -> TestHost {
    start_host_with("alice", HostPolicy::new(None))
}

fn start_host_with(name: &str, policy: HostPolicy) -> TestHost {
    let host = Host::bind(Some(LOCALHOST), 0).expect("binds a free port");
    let addr = host.local_addr();
    assert_eq!(addr.ip(), LOCALHOST);
    assert_ne!(addr.port(), 0);
    let (tx, events) = mpsc::channel(EVENTS);
    let task = host.spawn(Hello::new(name), policy, tx);
    TestHost { addr, events, task }
}

/// A host named alice that requires [`CODE`].
fn start_host_with_code() -> TestHost {
    start_host_with("alice", HostPolicy::new(Some(CODE.to_owned())))
}

/// A host named alice that also chats with plain text clients.
fn start_plain_host(encoding: &'static encoding_rs::Encoding) -> TestHost {
    let policy = HostPolicy {
        allow_plain: true,
        encoding,
        ..HostPolicy::new(None)
    };
    start_host_with("alice", policy)
}

/// A host named alice that chats with plain text clients framed as `framing`.
fn start_framed_plain_host(encoding: &'static encoding_rs::Encoding, framing: Framing) -> TestHost {
    let policy = HostPolicy {
        allow_plain: true,
        encoding,
        framing,
        ..HostPolicy::new(None)
    };
    start_host_with("alice", policy)
}

/// What Python's `struct.pack('i', len(data)) + data` sends (x86, ARM).
fn python_frame(data: &[u8]) -> Vec<u8> {
    let mut frame = i32::try_from(data.len())
        .expect("fits")
        .to_le_bytes()
        .to_vec();
    frame.extend_from_slice(data);
    frame
}

fn target(addr: SocketAddr) -> Target {
    Target {
        host: addr.ip().to_string(),
        port: addr.port(),
    }
}

/// A guest connected through the library.
struct TestGuest {
    info: PeerInfo,
    link: PeerLink,
    events: mpsc::Receiver<NetEvent>,
}

async fn join(addr: SocketAddr, name: &str) -> Result<TestGuest, NetError> {
    join_with_code(addr, name, None).await
}

async fn join_with_code(
    addr: SocketAddr,
    name: &str,
    code: Option<&str>,
) -> Result<TestGuest, NetError> {
    join_within(addr, name, code, Limits::default()).await
}

async fn join_within(
    addr: SocketAddr,
    name: &str,
    code: Option<&str>,
    limits: Limits,
) -> Result<TestGuest, NetError> {
    let (tx, events) = mpsc::channel(EVENTS);
    let (info, link) = net::connect(&target(addr), &Hello::new(name), code, tx, limits).await?;
    Ok(TestGuest { info, link, events })
}

/// Time limits short enough that tests of them take milliseconds: the
/// limits are data, so a test never waits out the real ten seconds.
const FAST: Limits = Limits {
    handshake: Duration::from_millis(300),
    ..Limits::DEFAULT
};

/// The handshake error a failed join ended with.
fn handshake_error(outcome: Result<TestGuest, NetError>) -> HandshakeError {
    match outcome {
        Err(NetError::Handshake { error, .. }) => error,
        Err(other) => panic!("expected a handshake error, got {other:?}"),
        Ok(guest) => panic!("expected a handshake error, but joined {:?}", guest.info),
    }
}

async fn next(events: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    next_within(events, WAIT).await
}

async fn next_within(events: &mut mpsc::Receiver<NetEvent>, wait: Duration) -> NetEvent {
    match tokio::time::timeout(wait, events.recv()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the event channel closed"),
        Err(_) => panic!("no network event within {wait:?}"),
    }
}

/// Waits for a `Joined` and returns who joined and the link to them.
async fn expect_joined(events: &mut mpsc::Receiver<NetEvent>) -> (PeerInfo, PeerLink) {
    expect_joined_within(events, WAIT).await
}

async fn expect_joined_within(
    events: &mut mpsc::Receiver<NetEvent>,
    wait: Duration,
) -> (PeerInfo, PeerLink) {
    match next_within(events, wait).await {
        NetEvent::Joined { info, link } => {
            assert_eq!(info.id, link.id());
            (info, link)
        }
        other => panic!("expected Joined, got {other:?}"),
    }
}

async fn expect_chat(events: &mut mpsc::Receiver<NetEvent>, from: ConnId) -> ChatMessage {
    match next(events).await {
        NetEvent::Chat { from: got, msg } => {
            assert_eq!(got, from, "chat from the wrong connection");
            msg
        }
        other => panic!("expected Chat, got {other:?}"),
    }
}

async fn expect_left(events: &mut mpsc::Receiver<NetEvent>, from: ConnId) -> LeftReason {
    match next(events).await {
        NetEvent::Left { from: got, reason } => {
            assert_eq!(got, from, "Left for the wrong connection");
            reason
        }
        other => panic!("expected Left, got {other:?}"),
    }
}

async fn expect_rejected(events: &mut mpsc::Receiver<NetEvent>) -> (SocketAddr, String) {
    expect_rejected_within(events, WAIT).await
}

async fn expect_rejected_within(
    events: &mut mpsc::Receiver<NetEvent>,
    wait: Duration,
) -> (SocketAddr, String) {
    match next_within(events, wait).await {
        NetEvent::Rejected { addr, reason, .. } => (addr, reason),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

/// The verification words and code flag of an encrypted peer.
fn encrypted(info: &PeerInfo) -> (&str, bool) {
    match &info.security {
        Security::Encrypted {
            verification,
            with_code,
        } => (verification, *with_code),
        other => panic!("expected an encrypted session, got {other:?}"),
    }
}

fn chat(seq: u64, text: &str) -> Frame {
    Frame::Chat(ChatMessage {
        id: MessageId { session: 42, seq },
        sent_at_ms: 1_700_000_000_000,
        text: text.to_owned(),
        action: false,
    })
}

/// Reads until the peer closes (or resets); returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0; 4096];
    let started = Instant::now();
    loop {
        let left = WAIT.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => panic!("the peer did not close the connection within {WAIT:?}"),
            Ok(Ok(0)) => return all,
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
            // Closing with unread bytes resets the connection: closed too.
            Ok(Err(err)) if err.kind() == std::io::ErrorKind::ConnectionReset => return all,
            Ok(Err(err)) => panic!("reading until the close failed: {err}"),
        }
    }
}

/// Checks that a well-behaved guest can still join `host`, talk, and leave.
async fn a_guest_can_still_join(host: &mut TestHost) {
    let mut guest = join(host.addr, "carol").await.expect("carol joins");
    let (on_host, to_carol) = expect_joined(&mut host.events).await;
    assert_eq!(on_host.name, "carol");
    expect_joined(&mut guest.events).await;
    guest.link.send(chat(1, "still there?")).expect("queued");
    assert_eq!(
        expect_chat(&mut host.events, on_host.id).await.text,
        "still there?"
    );
    to_carol.send(chat(1, "yes")).expect("queued");
    assert_eq!(
        expect_chat(&mut guest.events, guest.info.id).await.text,
        "yes"
    );
    guest.link.send(Frame::Leave).expect("queued");
    assert_eq!(
        expect_left(&mut host.events, on_host.id).await,
        LeftReason::Left
    );
}

// ---------------------------------------------------------------------------
// Hand-written duplex clients

/// A raw client that ran the real handshake through `handshake::guest` and
/// now writes sealed frames itself, in whatever chunks a test needs.
struct RawGuest {
    stream: TcpStream,
    codec: FrameCodec,
    /// Bytes read but not yet decoded (starting with the handshake's leftover).
    read_buf: BytesMut,
}

async fn raw_guest(addr: SocketAddr, name: &str) -> RawGuest {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.set_nodelay(true).expect("sets nodelay");
    let established =
        tokio::time::timeout(WAIT, handshake::guest(&mut stream, &Hello::new(name), None))
            .await
            .expect("the handshake finishes")
            .expect("the handshake succeeds");
    assert_eq!(established.peer.name, "alice");
    RawGuest {
        stream,
        codec: established.codec,
        read_buf: established.leftover,
    }
}

impl RawGuest {
    /// `frames` sealed, one after another, as they go on the wire.
    fn seal(&mut self, frames: impl IntoIterator<Item = Frame>) -> BytesMut {
        let mut wire = BytesMut::new();
        for frame in frames {
            self.codec.encode(frame, &mut wire).expect("encodes");
        }
        wire
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("writes");
    }

    async fn read_frame(&mut self) -> Frame {
        loop {
            if let Some(frame) = self
                .codec
                .decode(&mut self.read_buf)
                .expect("a valid frame")
            {
                return frame;
            }
            let read = tokio::time::timeout(WAIT, self.stream.read_buf(&mut self.read_buf))
                .await
                .expect("a frame arrives")
                .expect("reads");
            assert_ne!(read, 0, "the host closed the connection");
        }
    }
}

/// A length-prefixed message, as handshake messages and frames travel.
fn length_prefixed(body: &[u8]) -> Vec<u8> {
    let mut bytes = u32::try_from(body.len())
        .expect("small message")
        .to_be_bytes()
        .to_vec();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads one length-prefixed message.
async fn read_message(stream: &mut TcpStream) -> Vec<u8> {
    let read = async {
        let mut len = [0; 4];
        stream.read_exact(&mut len).await.expect("a length prefix");
        let mut body = vec![0; u32::from_be_bytes(len) as usize];
        stream.read_exact(&mut body).await.expect("a message body");
        body
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("a message arrives")
}

/// What an open host answers to our preamble, before its commitment: its
/// preamble and the policy.
fn open_host_reply() -> Vec<u8> {
    let mut reply = Preamble::current().to_bytes().to_vec();
    reply.push(POLICY_OPEN);
    reply
}

/// The Noise prologue of a guest that talks to an open host that sent
/// `commitment`.
fn open_prologue(commitment: &[u8]) -> Vec<u8> {
    [
        &Preamble::current().to_bytes()[..],
        &open_host_reply(),
        commitment,
    ]
    .concat()
}

/// A guest's first Noise message for an open host (its payload is empty
/// and not yet encrypted, so the host reads it whatever the prologue: it
/// can be written before the host answers).
fn noise_message_one() -> Vec<u8> {
    let mut noise =
        Handshake::new(true, &open_prologue(&[0; COMMITMENT_LEN]), None).expect("a Noise state");
    noise.write().expect("message one")
}

/// One side of a session whose handshake a test ran step by step with the
/// protocol's primitives, so it can seal bytes the library never would.
struct Manual {
    stream: TcpStream,
    sealer: Sealer,
    opener: Opener,
}

impl Manual {
    /// `body` sealed and length-prefixed, whatever it holds.
    fn seal_body(&mut self, body: &[u8]) -> Vec<u8> {
        length_prefixed(&self.sealer.seal(body).expect("seals"))
    }

    fn seal(&mut self, frame: &Frame) -> Vec<u8> {
        let body = encode_body(frame).expect("encodes");
        self.seal_body(&body)
    }

    async fn read_frame(&mut self) -> Frame {
        let sealed = read_message(&mut self.stream).await;
        let body = self.opener.open(&sealed).expect("opens");
        decode_body(&body).expect("a valid frame")
    }
}

/// A guest that connects to an open host and runs the handshake by hand up
/// to the session keys; its hello is the test's to send.
async fn manual_guest(addr: SocketAddr) -> Manual {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.set_nodelay(true).expect("sets nodelay");
    stream
        .write_all(&Preamble::current().to_bytes())
        .await
        .expect("writes the preamble");
    let mut reply = [0; Preamble::LEN + 1 + COMMITMENT_LEN];
    tokio::time::timeout(WAIT, stream.read_exact(&mut reply))
        .await
        .expect("the host answers")
        .expect("its preamble, policy and commitment");
    assert_eq!(reply[..=Preamble::LEN], open_host_reply()[..]);
    let commitment: [u8; COMMITMENT_LEN] = reply[Preamble::LEN + 1..].try_into().expect("32");
    let mut noise = Handshake::new(true, &open_prologue(&commitment), None).expect("a Noise state");
    let one = noise.write().expect("message one");
    stream
        .write_all(&length_prefixed(&one))
        .await
        .expect("writes message one");
    let two = read_message(&mut stream).await;
    noise
        .read_committed(&two, &commitment)
        .expect("the host's Noise message");
    let (sealer, opener) = noise.finish().expect("session keys").split();
    Manual {
        stream,
        sealer,
        opener,
    }
}

/// Accepts one guest on `listener` and runs an open host's handshake by hand
/// up to reading the guest's hello; the host's hello is the test's to send.
async fn manual_host(listener: &TcpListener) -> (Manual, Hello) {
    let (mut stream, _) = listener.accept().await.expect("accepts");
    let mut theirs = [0; Preamble::LEN];
    stream.read_exact(&mut theirs).await.expect("a preamble");
    assert_eq!(theirs, Preamble::current().to_bytes());
    let ephemeral = Ephemeral::generate().expect("a key");
    let commitment = ephemeral.commitment();
    let reply = [&open_host_reply()[..], &commitment].concat();
    stream.write_all(&reply).await.expect("answers");
    let mut noise =
        Handshake::responder(&open_prologue(&commitment), None, &ephemeral).expect("a Noise state");
    noise
        .read(&read_message(&mut stream).await)
        .expect("the guest's Noise message");
    let two = noise.write().expect("message two");
    stream
        .write_all(&length_prefixed(&two))
        .await
        .expect("writes message two");
    let (sealer, opener) = noise.finish().expect("session keys").split();
    let mut host = Manual {
        stream,
        sealer,
        opener,
    };
    match host.read_frame().await {
        Frame::Hello(hello) => (host, hello),
        other => panic!("expected the guest's hello, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Plain text clients and servers (netcat, a Python socket program)

/// A blocking `std::net` socket that speaks plain bytes. A thread reads
/// everything that arrives, so the test can await it.
struct PlainSocket {
    stream: std::net::TcpStream,
    incoming: mpsc::UnboundedReceiver<Vec<u8>>,
    received: Vec<u8>,
    closed: bool,
}

impl PlainSocket {
    fn connect(addr: SocketAddr) -> Self {
        Self::new(std::net::TcpStream::connect(addr).expect("connects"))
    }

    fn new(stream: std::net::TcpStream) -> Self {
        stream.set_nodelay(true).expect("sets nodelay");
        let mut reader = stream.try_clone().expect("clones the socket");
        let (tx, incoming) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Self {
            stream,
            incoming,
            received: Vec::new(),
            closed: false,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("writes");
        self.stream.flush().expect("flushes");
    }

    /// Waits for more bytes; false once the peer has closed.
    async fn receive_more(&mut self) -> bool {
        if self.closed {
            return false;
        }
        match tokio::time::timeout(WAIT, self.incoming.recv()).await {
            Ok(Some(bytes)) => {
                self.received.extend_from_slice(&bytes);
                true
            }
            Ok(None) => {
                self.closed = true;
                false
            }
            Err(_) => panic!("nothing arrived within {WAIT:?}"),
        }
    }

    /// The next line received, without its newline.
    async fn line(&mut self) -> Vec<u8> {
        loop {
            if let Some(end) = self.received.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.received.drain(..=end).collect();
                line.pop();
                return line;
            }
            assert!(
                self.receive_more().await,
                "closed before a whole line arrived; got {:?}",
                String::from_utf8_lossy(&self.received)
            );
        }
    }

    /// The next length-framed message received (a little-endian i32
    /// length, then the bytes), as Python's `struct.unpack('i', ...)` reads it.
    async fn length_frame(&mut self) -> Vec<u8> {
        loop {
            if self.received.len() >= 4 {
                let header: [u8; 4] = self.received[..4].try_into().expect("4 bytes");
                let len = usize::try_from(i32::from_le_bytes(header)).expect("not negative");
                if self.received.len() >= 4 + len {
                    let frame: Vec<u8> = self.received.drain(..4 + len).collect();
                    return frame[4..].to_vec();
                }
            }
            assert!(
                self.receive_more().await,
                "closed before a whole frame arrived; got {:?}",
                self.received
            );
        }
    }

    /// Everything received until the peer closed.
    async fn until_closed(&mut self) -> Vec<u8> {
        while self.receive_more().await {}
        std::mem::take(&mut self.received)
    }

    fn close(&self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

impl Drop for PlainSocket {
    fn drop(&mut self) {
        self.close();
    }
}

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable, "{text:?} is all GBK");
    bytes.into_owned()
}

/// Waits for a plain client to join; checks how it is named and protected.
async fn expect_plain_joined(host: &mut TestHost, encoding: &'static str) -> (PeerInfo, PeerLink) {
    let (info, link) = expect_joined(&mut host.events).await;
    assert_eq!(info.security, Security::Plain { encoding });
    assert_eq!(info.name, "plain@127.0.0.1");
    assert_eq!(info.addr.ip(), LOCALHOST);
    (info, link)
}

// ---------------------------------------------------------------------------
// Joining and talking

#[tokio::test]
async fn handshake_names_both_sides_and_their_addresses() {
    let mut host = start_host();
    let mut guest = join(host.addr, "bob").await.expect("bob joins");

    // The guest sees the host by name, at the address it dialled.
    assert_eq!(guest.info.name, "alice");
    assert_eq!(guest.info.addr, host.addr);
    let (seen, link) = expect_joined(&mut guest.events).await;
    assert_eq!(seen, guest.info);
    assert_eq!(link.id(), guest.link.id());

    // The host sees the guest by name, from a loopback ephemeral port.
    let (bob, _) = expect_joined(&mut host.events).await;
    assert_eq!(bob.name, "bob");
    assert_eq!(bob.addr.ip(), LOCALHOST);
    assert_ne!(bob.addr.port(), host.addr.port());
    assert_ne!(bob.addr.port(), 0);
}

#[tokio::test]
async fn names_are_sanitized_on_arrival() {
    let mut host = start_host();
    let _guest = join(host.addr, "\u{1b}[31mmallory\u{7}\n")
        .await
        .expect("joins");
    let (info, _) = expect_joined(&mut host.events).await;
    assert!(
        !info.name.contains('\u{1b}') && !info.name.contains('\u{7}') && !info.name.contains('\n'),
        "{:?}",
        info.name
    );
    assert!(info.name.contains("mallory"), "{:?}", info.name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_each_way_at_once_arrive_in_order() {
    const COUNT: u64 = 1000;
    let mut host = start_host();
    let mut guest = join(host.addr, "bob").await.expect("bob joins");
    let (bob, to_bob) = expect_joined(&mut host.events).await;
    expect_joined(&mut guest.events).await;
    let alice_id = guest.info.id;

    let send_all = |link: PeerLink, from: &'static str| {
        tokio::spawn(async move {
            for seq in 1..=COUNT {
                link.send(chat(seq, &format!("{from} {seq}")))
                    .expect("the queue has room for the whole burst");
            }
            link.send(chat(COUNT + 1, "done")).expect("queued");
        })
    };
    let receive_all = |mut events: mpsc::Receiver<NetEvent>, from: ConnId, who: &'static str| {
        tokio::spawn(async move {
            let mut seqs = Vec::new();
            loop {
                let msg = expect_chat(&mut events, from).await;
                if msg.text == "done" {
                    break;
                }
                assert_eq!(msg.text, format!("{who} {}", msg.id.seq));
                seqs.push(msg.id.seq);
            }
            (seqs, events)
        })
    };

    let host_events = std::mem::replace(&mut host.events, mpsc::channel(1).1);
    let guest_events = std::mem::replace(&mut guest.events, mpsc::channel(1).1);
    let at_host = receive_all(host_events, bob.id, "bob");
    let at_guest = receive_all(guest_events, alice_id, "alice");
    let from_guest = send_all(guest.link.clone(), "bob");
    let from_host = send_all(to_bob.clone(), "alice");
    from_guest.await.expect("guest sender");
    from_host.await.expect("host sender");

    let expected: Vec<u64> = (1..=COUNT).collect();
    let (seqs, _) = at_host.await.expect("host receiver");
    assert_eq!(seqs, expected, "the host got bob's messages out of order");
    let (seqs, _) = at_guest.await.expect("guest receiver");
    assert_eq!(seqs, expected, "bob got alice's messages out of order");
}

#[tokio::test]
async fn a_message_of_the_largest_allowed_size_arrives_whole() {
    let mut host = start_host();
    let guest = join(host.addr, "bob").await.expect("bob joins");
    let (bob, _) = expect_joined(&mut host.events).await;
    // Multi-byte text right up to the limit, in bytes.
    let text: String = "日本語 ".repeat(MAX_TEXT_LEN / 10);
    assert!(text.len() <= MAX_TEXT_LEN);
    guest.link.send(chat(1, &text)).expect("queued");
    guest.link.send(chat(2, "after")).expect("queued");
    assert_eq!(expect_chat(&mut host.events, bob.id).await.text, text);
    assert_eq!(expect_chat(&mut host.events, bob.id).await.text, "after");
}

/// `handshake::host` reads the guest's hello with its own buffer, and
/// `connection::spawn` hands what it read past the hello to the reader with
/// `*reader.read_buffer_mut() = leftover`. That does not mark the buffer as
/// readable, so `FramedRead` first waits for the socket: frames that came in
/// the same read as the hello are delivered only once more bytes (or EOF)
/// arrive. Here the chat glued to the hello never shows up on its own.
#[tokio::test]
async fn a_frame_glued_to_the_guests_hello_is_delivered() {
    let mut host = start_host();
    let mut raw = manual_guest(host.addr).await;
    let mut bytes = raw.seal(&Frame::Hello(Hello::new("raw")));
    bytes.extend(raw.seal(&chat(1, "glued to the hello")));
    raw.stream.write_all(&bytes).await.expect("writes");
    match raw.read_frame().await {
        Frame::Hello(hello) => assert_eq!(hello.name, "alice"),
        other => panic!("expected the host's hello, got {other:?}"),
    }
    let (info, _) = expect_joined(&mut host.events).await;
    assert_eq!(info.name, "raw");
    assert_eq!(
        expect_chat(&mut host.events, info.id).await.text,
        "glued to the hello"
    );
}

/// The same on the guest's side: a host that sends a chat right after its
/// hello (a headless host with piped input does) can have it stuck in the
/// guest's buffer until its next frame.
#[tokio::test]
async fn a_frame_glued_to_the_hosts_hello_is_delivered() {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    let (hold_tx, hold_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut host, hello) = manual_host(&listener).await;
        assert_eq!(hello.name, "bob");
        let mut reply = host.seal(&Frame::Hello(Hello::new("alice")));
        reply.extend(host.seal(&chat(1, "glued to the hello")));
        host.stream.write_all(&reply).await.expect("answers");
        let _ = hold_rx.await;
    });
    let mut guest = join(addr, "bob").await.expect("joins");
    assert_eq!(guest.info.name, "alice");
    expect_joined(&mut guest.events).await;
    assert_eq!(
        expect_chat(&mut guest.events, guest.info.id).await.text,
        "glued to the hello"
    );
    drop(hold_tx);
}

#[tokio::test]
async fn a_hand_written_guest_following_the_protocol_diagram_is_welcome() {
    let mut host = start_host();
    let mut raw = manual_guest(host.addr).await;
    let hello = raw.seal(&Frame::Hello(Hello::new("by hand")));
    raw.stream.write_all(&hello).await.expect("writes");
    match raw.read_frame().await {
        Frame::Hello(hello) => assert_eq!(hello.name, "alice"),
        other => panic!("expected the host's hello, got {other:?}"),
    }
    let (info, to_raw) = expect_joined(&mut host.events).await;
    assert_eq!(info.name, "by hand");
    let message = raw.seal(&chat(1, "sealed by hand"));
    raw.stream.write_all(&message).await.expect("writes");
    assert_eq!(
        expect_chat(&mut host.events, info.id).await.text,
        "sealed by hand"
    );
    to_raw.send(chat(1, "opened by hand")).expect("queued");
    assert_eq!(raw.read_frame().await, chat(1, "opened by hand"));
}

#[tokio::test]
async fn glued_and_fragmented_frames_from_a_raw_client() {
    let mut host = start_host();
    let mut raw = raw_guest(host.addr, "raw").await;
    let (info, _) = expect_joined(&mut host.events).await;
    assert_eq!(info.name, "raw");

    // Several frames in one write.
    let burst = raw.seal([chat(2, "one"), chat(3, "two 二"), chat(4, "three 👨‍👩‍👧")]);
    raw.write(&burst).await;
    for text in ["one", "two 二", "three 👨‍👩‍👧"] {
        assert_eq!(expect_chat(&mut host.events, info.id).await.text, text);
    }

    // One frame a byte at a time, followed by two frames split in the middle
    // of the first one's body.
    let split = raw.seal([chat(5, "split across many writes")]);
    for byte in split.iter() {
        raw.write(&[*byte]).await;
        tokio::task::yield_now().await;
    }
    assert_eq!(
        expect_chat(&mut host.events, info.id).await.text,
        "split across many writes"
    );
    let two = raw.seal([chat(6, "straddling one"), chat(7, "straddling two")]);
    let (first, second) = two.split_at(two.len() / 2 + 3);
    raw.write(first).await;
    tokio::task::yield_now().await;
    raw.write(second).await;
    for text in ["straddling one", "straddling two"] {
        assert_eq!(expect_chat(&mut host.events, info.id).await.text, text);
    }

    // Nothing was doubled or invented on the way.
    let leave = raw.seal([Frame::Leave]);
    raw.write(&leave).await;
    assert_eq!(
        expect_left(&mut host.events, info.id).await,
        LeftReason::Left
    );
}

#[tokio::test]
async fn a_raw_client_receives_sealed_frames_from_the_host() {
    let mut host = start_host();
    let mut raw = raw_guest(host.addr, "raw").await;
    let (info, to_raw) = expect_joined(&mut host.events).await;
    for seq in 1..=3 {
        to_raw.send(chat(seq, &format!("n{seq}"))).expect("queued");
    }
    to_raw.send(Frame::Bye).expect("queued");
    for seq in 1..=3 {
        assert_eq!(raw.read_frame().await, chat(seq, &format!("n{seq}")));
    }
    assert_eq!(raw.read_frame().await, Frame::Bye);
    drop(raw);
    assert_eq!(
        expect_left(&mut host.events, info.id).await,
        LeftReason::Closed
    );
}

// ---------------------------------------------------------------------------
// Hostile input after the handshake

/// Sends `payload` on an established session (closing the socket after it
/// when `close`), expects the host to drop that connection, and checks that
/// the next guest is welcome. Returns why the host says the connection ended.
async fn hostile_after_handshake(
    mut host: TestHost,
    mut stream: TcpStream,
    payload: &[u8],
    close: bool,
) -> LeftReason {
    let (mallory, link) = expect_joined(&mut host.events).await;
    drop(link);
    stream.write_all(payload).await.expect("writes");
    if close {
        stream.shutdown().await.expect("shuts down");
    }
    let reason = expect_left(&mut host.events, mallory.id).await;
    // The host hangs up on it...
    if !close {
        read_to_close(&mut stream).await;
    }
    // ...and the next guest is welcome.
    a_guest_can_still_join(&mut host).await;
    reason
}

/// Establishes a session for mallory with `handshake::guest`, then sends
/// what `payload` makes of it.
async fn hostile_raw(payload: impl FnOnce(&mut RawGuest) -> Vec<u8>, close: bool) -> LeftReason {
    let host = start_host();
    let mut raw = raw_guest(host.addr, "mallory").await;
    let bytes = payload(&mut raw);
    hostile_after_handshake(host, raw.stream, &bytes, close).await
}

/// The same, for payloads that need the session's sealer itself.
async fn hostile_manual(payload: impl FnOnce(&mut Manual) -> Vec<u8>) -> LeftReason {
    let host = start_host();
    let mut raw = manual_guest(host.addr).await;
    let hello = raw.seal(&Frame::Hello(Hello::new("mallory")));
    raw.stream.write_all(&hello).await.expect("writes");
    assert!(matches!(raw.read_frame().await, Frame::Hello(_)));
    let bytes = payload(&mut raw);
    hostile_after_handshake(host, raw.stream, &bytes, false).await
}

fn error_text(reason: &LeftReason) -> &str {
    match reason {
        LeftReason::Error(why) => why,
        other => panic!("expected Left with an error, got {other:?}"),
    }
}

const FORGED: &str = "failed authentication";

#[tokio::test]
async fn random_bytes_after_the_handshake_drop_the_connection() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xD0_9E_E5);
    let mut noise = vec![0; 4096];
    rng.fill_bytes(&mut noise);
    // Whatever the bytes announce, the close ends any frame they began.
    let reason = hostile_raw(|_| noise, true).await;
    error_text(&reason);

    // Random bytes under a plausible length prefix do not authenticate.
    let mut body = vec![0; 200];
    rng.fill_bytes(&mut body);
    let reason = hostile_raw(|_| length_prefixed(&body), false).await;
    assert!(error_text(&reason).contains(FORGED), "{reason:?}");
}

#[tokio::test]
async fn an_unsealed_frame_after_the_handshake_drops_the_connection() {
    let reason = hostile_raw(
        |_| {
            let mut plain = BytesMut::new();
            FrameCodec::new()
                .encode(chat(1, "let me in without a key"), &mut plain)
                .expect("encodes");
            plain.to_vec()
        },
        false,
    )
    .await;
    assert!(error_text(&reason).contains(FORGED), "{reason:?}");
}

#[tokio::test]
async fn chat_text_over_the_limit_ends_the_connection_with_the_limit_named() {
    // 40 KB fits in a frame (64 KiB) but not in a message (32 KiB).
    let reason = hostile_raw(
        |raw| raw.seal([chat(1, &"x".repeat(40_000))]).to_vec(),
        false,
    )
    .await;
    let why = error_text(&reason);
    assert!(
        why.contains("chat message of 40000 bytes")
            && why.contains(&format!("{MAX_TEXT_LEN}-byte limit")),
        "{why}"
    );
}

#[tokio::test]
async fn a_name_over_the_limit_is_refused_with_the_limit_named() {
    let mut host = start_host();
    let err = handshake_error(join(host.addr, &"n".repeat(60_000)).await);
    match &err {
        HandshakeError::Refused(why) => {
            assert!(why.contains(&format!("{MAX_NAME_LEN}-byte limit")), "{why}");
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    match next(&mut host.events).await {
        NetEvent::Rejected { kind, reason, .. } => {
            assert_eq!(kind, duplex::domain::RejectKind::OverLimit);
            assert!(
                reason.contains("name of 60000 bytes") && reason.contains("256-byte limit"),
                "{reason}"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    a_guest_can_still_join(&mut host).await;
}

#[tokio::test]
async fn a_sealed_frame_with_a_flipped_bit_drops_the_connection() {
    for bit in [4 * 8, 12 * 8 + 3, usize::MAX] {
        let reason = hostile_raw(
            |raw| {
                let mut sealed = raw.seal([chat(1, "tampered with")]).to_vec();
                // A bit of the ciphertext, of the middle, or of the tag.
                let bit = bit.min(sealed.len() * 8 - 1);
                sealed[bit / 8] ^= 1 << (bit % 8);
                sealed
            },
            false,
        )
        .await;
        assert!(
            error_text(&reason).contains(FORGED),
            "bit {bit}: {reason:?}"
        );
    }
}

#[tokio::test]
async fn a_replayed_sealed_frame_drops_the_connection() {
    let mut host = start_host();
    let mut raw = raw_guest(host.addr, "mallory").await;
    let (mallory, link) = expect_joined(&mut host.events).await;
    drop(link);
    let once = raw.seal([chat(1, "once only")]);
    raw.write(&once).await;
    assert_eq!(
        expect_chat(&mut host.events, mallory.id).await.text,
        "once only"
    );
    raw.write(&once).await;
    let reason = expect_left(&mut host.events, mallory.id).await;
    assert!(error_text(&reason).contains(FORGED), "{reason:?}");
    read_to_close(&mut raw.stream).await;
    a_guest_can_still_join(&mut host).await;
}

#[tokio::test]
async fn an_oversized_length_prefix_drops_the_connection() {
    let reason = hostile_raw(|_| vec![0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3], false).await;
    assert!(error_text(&reason).contains("limit"), "{reason:?}");
}

#[tokio::test]
async fn a_frame_cut_short_by_a_close_is_an_error() {
    let reason = hostile_raw(
        |raw| {
            let mut cut = raw.seal([chat(1, "this frame never ends")]).to_vec();
            cut.truncate(cut.len() - 5);
            cut
        },
        true,
    )
    .await;
    assert!(
        error_text(&reason).contains("middle of a frame"),
        "{reason:?}"
    );
}

/// A length prefix alone, then the close: the stream ended inside a frame,
/// yet the host reports an orderly close. The codec's `decode_eof` says
/// `Truncated` only when bytes are left in the buffer, but
/// `LengthDelimitedCodec` has already consumed the 4-byte prefix, so the
/// buffer is empty and the half-read frame is forgotten.
#[tokio::test]
async fn a_close_right_after_a_length_prefix_is_an_error() {
    let reason = hostile_raw(|raw| raw.seal([chat(1, "cut")])[..4].to_vec(), true).await;
    assert!(
        error_text(&reason).contains("middle of a frame"),
        "{reason:?}"
    );
}

#[tokio::test]
async fn a_sealed_but_undecodable_body_drops_the_connection() {
    let reason = hostile_manual(|raw| raw.seal_body(&[0xFF, 0xFF, 0xFF])).await;
    assert!(error_text(&reason).contains("undecodable"), "{reason:?}");
}

#[tokio::test]
async fn sealed_invalid_utf8_in_a_message_drops_the_connection() {
    let reason = hostile_manual(|raw| {
        let mut body = encode_body(&chat(1, "ab")).expect("encodes");
        let last = body.len() - 1;
        body[last] = 0xFF; // the text's last byte
        raw.seal_body(&body)
    })
    .await;
    assert!(error_text(&reason).contains("undecodable"), "{reason:?}");
}

/// Fields a newer duplex appended to a known kind are ignored: the frame
/// still means what it meant (here, the peer leaves).
#[tokio::test]
async fn sealed_fields_appended_to_a_known_frame_are_ignored() {
    let reason = hostile_manual(|raw| {
        let mut body = encode_body(&Frame::Leave).expect("encodes");
        body.extend_from_slice(&[0, 1, 2, 3]);
        raw.seal_body(&body)
    })
    .await;
    assert_eq!(reason, LeftReason::Left);
}

// ---------------------------------------------------------------------------
// Hostile and foreign handshakes

/// Sends each case's bytes on a fresh connection, closes, and expects the
/// host to reject it with a reason containing the needle. Returns what the
/// host sent on each connection before it hung up.
async fn expect_each_rejected(
    host: &mut TestHost,
    cases: &[(&str, Vec<u8>, &str)],
) -> Vec<Vec<u8>> {
    let mut replies = Vec::new();
    for (what, bytes, needle) in cases {
        let mut stream = TcpStream::connect(host.addr).await.expect("connects");
        let local = stream.local_addr().expect("local address");
        stream.write_all(bytes).await.expect("writes");
        stream.shutdown().await.expect("shuts down");
        let (from, reason) = expect_rejected(&mut host.events).await;
        assert_eq!(from, local, "{what}");
        assert!(reason.contains(needle), "{what}: {reason}");
        replies.push(read_to_close(&mut stream).await);
    }
    replies
}

#[tokio::test]
async fn hostile_handshakes_are_rejected_and_the_host_keeps_accepting() {
    let mut host = start_host();
    let preamble = Preamble::current().to_bytes();
    let with_preamble = |rest: &[u8]| [&preamble[..], rest].concat();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut random = vec![0; 256];
    rng.fill_bytes(&mut random);
    random[0] = b'X'; // never the magic
    let mut short_noise = vec![0; 16];
    rng.fill_bytes(&mut short_noise);
    let mut random_hello = vec![0; 64];
    rng.fill_bytes(&mut random_hello);
    let one = length_prefixed(&noise_message_one());
    // A newer duplex that no longer speaks our version.
    let other_version = Preamble {
        versions: Versions { min: 4, max: 4 },
    }
    .to_bytes();
    let mut unsealed_hello = BytesMut::new();
    FrameCodec::new()
        .encode(Frame::Hello(Hello::new("unsealed")), &mut unsealed_hello)
        .expect("encodes");

    let cases = [
        ("random bytes", random, "does not speak the duplex protocol"),
        ("another version", other_version.to_vec(), "version"),
        ("preamble only", preamble.to_vec(), "closed"),
        (
            "random bytes instead of Noise message one",
            with_preamble(&length_prefixed(&short_noise)),
            "encryption handshake failed",
        ),
        (
            "an oversized Noise message",
            with_preamble(&[0xFF; 8]),
            "frame size too big",
        ),
        (
            "a Noise message cut short",
            with_preamble(&one[..20]),
            "bytes remaining",
        ),
        (
            "close after Noise message one",
            with_preamble(&one),
            "closed",
        ),
        (
            "random bytes instead of the sealed hello",
            with_preamble(&[&one[..], &length_prefixed(&random_hello)].concat()),
            FORGED,
        ),
        (
            "an unsealed hello",
            with_preamble(&[&one[..], &unsealed_hello[..]].concat()),
            FORGED,
        ),
    ];
    expect_each_rejected(&mut host, &cases).await;
    a_guest_can_still_join(&mut host).await;
}

#[tokio::test]
async fn a_guest_of_another_version_is_told_ours() {
    let mut host = start_host();
    let mut stream = TcpStream::connect(host.addr).await.expect("connects");
    let other_version = Preamble {
        versions: Versions { min: 4, max: 4 },
    }
    .to_bytes();
    stream.write_all(&other_version).await.expect("writes");
    // The host shows its own preamble before it hangs up, so the guest can
    // name both versions.
    let reply = read_to_close(&mut stream).await;
    assert_eq!(reply, Preamble::current().to_bytes());
    let (_, reason) = expect_rejected(&mut host.events).await;
    assert!(reason.contains("version"), "{reason}");
}

/// Sixty-four wrong codes sent at once from one address: the limit holds
/// for attempts in progress, not only for finished ones, so at most
/// [`limiter::PER_SOURCE`] of them have their code evaluated and the rest
/// are locked out before any guess is made.
#[tokio::test]
async fn concurrent_wrong_codes_from_one_address_get_three_guesses() {
    let mut host = start_host_with_code();
    let addr = host.addr;
    let attempts: Vec<_> = (0..64)
        .map(|_| {
            tokio::spawn(async move {
                handshake_error(join_with_code(addr, "mallory", Some("wrong-wrong-wrong")).await)
            })
        })
        .collect();
    let mut on_guests = (0, 0);
    for attempt in attempts {
        match attempt.await.unwrap() {
            HandshakeError::WrongCode { .. } => on_guests.0 += 1,
            HandshakeError::LockedOut(_) => on_guests.1 += 1,
            other => panic!("expected a wrong code or a lockout, got {other}"),
        }
    }
    let mut on_host = (0, 0);
    for _ in 0..64 {
        let (_, reason) = expect_rejected(&mut host.events).await;
        if reason.starts_with("wrong code") {
            on_host.0 += 1;
        } else if reason.contains("too many wrong codes") {
            on_host.1 += 1;
        } else {
            panic!("unexpected rejection: {reason}");
        }
    }
    assert_eq!(on_host, on_guests);
    assert!(
        on_host.0 <= limiter::PER_SOURCE,
        "{} guesses were evaluated",
        on_host.0
    );
    assert_eq!(on_host.0 + on_host.1, 64);
}

/// A guest that gets in is not charged: the address keeps all its tries.
#[tokio::test]
async fn a_right_code_is_not_charged() {
    let mut host = start_host_with_code();
    for _ in 0..limiter::PER_SOURCE + 1 {
        let guest = join_with_code(host.addr, "bob", Some(CODE)).await.unwrap();
        let (info, _link) = expect_joined(&mut host.events).await;
        guest.link.send(Frame::Leave).expect("queued");
        assert_eq!(
            expect_left(&mut host.events, info.id).await,
            LeftReason::Left
        );
    }
    for left in (0..limiter::PER_SOURCE).rev() {
        let error = handshake_error(join_with_code(host.addr, "bob", Some("nope")).await);
        assert!(matches!(error, HandshakeError::WrongCode { .. }), "{error}");
        let (_, reason) = expect_rejected(&mut host.events).await;
        assert_eq!(
            reason,
            HandshakeError::WrongCode {
                tries_left: Some(left)
            }
            .to_string()
        );
    }
    let error = handshake_error(join_with_code(host.addr, "bob", Some(CODE)).await);
    assert!(matches!(error, HandshakeError::LockedOut(_)), "{error}");
}

#[tokio::test]
async fn hostile_secret_code_exchanges_are_rejected_and_the_host_keeps_accepting() {
    let mut host = start_host_with_code();
    let preamble = Preamble::current().to_bytes();
    let cases = [
        (
            "close instead of the code exchange",
            preamble.to_vec(),
            "left without giving the secret code",
        ),
        (
            "a garbage code-exchange message",
            [&preamble[..], &length_prefixed(&[0xFF; 5])].concat(),
            "secret-code exchange failed",
        ),
    ];
    let replies = expect_each_rejected(&mut host, &cases).await;
    // The host asked for the code: its preamble, then the policy byte.
    let mut asks_for_code = Preamble::current().to_bytes().to_vec();
    asks_for_code.push(POLICY_CODE);
    assert!(replies[0].starts_with(&asks_for_code), "{:?}", replies[0]);
    // None of that counted as a wrong code: the right one still gets in.
    let guest = join_with_code(host.addr, "carol", Some(CODE))
        .await
        .expect("carol joins with the code");
    assert!(encrypted(&guest.info).1);
    let (carol, _) = expect_joined(&mut host.events).await;
    assert_eq!(carol.name, "carol");
}

#[tokio::test]
async fn a_plain_text_client_is_told_how_to_connect() {
    let mut host = start_host();
    let mut stream = TcpStream::connect(host.addr).await.expect("connects");
    stream
        .write_all(b"hello, is anyone there?\n")
        .await
        .expect("writes");
    let reply = read_to_close(&mut stream).await;
    assert_eq!(String::from_utf8_lossy(&reply), NOT_DUPLEX_REPLY);
    let (_, reason) = expect_rejected(&mut host.events).await;
    assert!(
        reason.contains("does not speak the duplex protocol"),
        "{reason}"
    );
    a_guest_can_still_join(&mut host).await;
}

/// `nc HOST 7878`, then `hello` and Enter: six bytes, fewer than a preamble.
#[tokio::test]
async fn a_short_plain_text_line_is_told_how_to_connect_at_once() {
    let mut host = start_host();
    let started = Instant::now();
    let mut client = PlainSocket::connect(host.addr);
    client.send(b"hello\n");
    let reply = client.until_closed().await;
    assert_eq!(String::from_utf8_lossy(&reply), NOT_DUPLEX_REPLY);
    // Well before the handshake timeout would have hung up on it.
    assert!(
        started.elapsed() < Limits::default().handshake / 2,
        "{:?}",
        started.elapsed()
    );
    let (_, reason) = expect_rejected(&mut host.events).await;
    assert!(reason.contains("hello\\n"), "{reason}");
}

#[tokio::test]
async fn a_second_guest_is_refused_while_one_is_connected() {
    let mut host = start_host();
    let mut bob = join(host.addr, "bob").await.expect("bob joins");
    let (bob_on_host, to_bob) = expect_joined(&mut host.events).await;
    expect_joined(&mut bob.events).await;

    let err = join(host.addr, "carol")
        .await
        .err()
        .expect("carol is refused");
    match &err {
        NetError::Handshake {
            addr,
            error: HandshakeError::Refused(reason),
        } => {
            assert_eq!(*addr, host.addr);
            assert!(reason.contains("already in a conversation"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(err.to_string().contains("refused"), "{err}");
    let (_, reason) = expect_rejected(&mut host.events).await;
    assert!(reason.contains("refused"), "{reason}");

    // Bob's conversation goes on undisturbed, both ways.
    bob.link
        .send(chat(1, "did someone knock?"))
        .expect("queued");
    assert_eq!(
        expect_chat(&mut host.events, bob_on_host.id).await.text,
        "did someone knock?"
    );
    to_bob.send(chat(1, "I sent them away")).expect("queued");
    assert_eq!(
        expect_chat(&mut bob.events, bob.info.id).await.text,
        "I sent them away"
    );

    // Once bob leaves, the host takes the next guest.
    bob.link.send(Frame::Leave).expect("queued");
    assert_eq!(
        expect_left(&mut host.events, bob_on_host.id).await,
        LeftReason::Left
    );
    a_guest_can_still_join(&mut host).await;
}

#[tokio::test]
async fn a_guest_that_leaves_frees_the_seat() {
    let mut host = start_host();
    let bob = join(host.addr, "bob").await.expect("bob joins");
    let (bob_on_host, _) = expect_joined(&mut host.events).await;
    bob.link.send(Frame::Leave).expect("queued");
    bob.link.close().await;
    assert_eq!(
        expect_left(&mut host.events, bob_on_host.id).await,
        LeftReason::Left
    );
    a_guest_can_still_join(&mut host).await;
}

/// A host whose guest is away, with `newcomers` for the next one: bob
/// joined and his connection dropped (no goodbye). Returns the host and
/// what bob needs to come back.
async fn host_with_bob_away(newcomers: Newcomers) -> (TestHost, Hello) {
    let mut host = start_host_with(
        "alice",
        HostPolicy {
            newcomers,
            ..HostPolicy::new(None)
        },
    );
    let bob = join(host.addr, "bob").await.expect("bob joins");
    let (bob_on_host, _) = expect_joined(&mut host.events).await;
    let back = Hello {
        resume: bob.info.resume,
        ..Hello::new("bob")
    };
    drop(bob); // closed without a goodbye
    assert_eq!(
        expect_left(&mut host.events, bob_on_host.id).await,
        LeftReason::Closed
    );
    (host, back)
}

#[tokio::test]
async fn a_lost_guests_seat_is_not_given_to_a_newcomer_unasked() {
    let (mut host, back) = host_with_bob_away(Newcomers::Refuse).await;
    let refused = handshake_error(join(host.addr, "carol").await);
    assert!(
        matches!(&refused, HandshakeError::Refused(why) if why.contains("waiting for its guest")),
        "{refused}"
    );
    match next(&mut host.events).await {
        NetEvent::Rejected { kind, .. } => assert_eq!(kind, RejectKind::Away),
        other => panic!("expected Rejected, got {other:?}"),
    }
    // Bob still has his place, and resumes it.
    let (tx, _events) = mpsc::channel(EVENTS);
    let (info, _link) = net::connect(&target(host.addr), &back, None, tx, Limits::default())
        .await
        .expect("bob comes back");
    assert!(info.resumed, "bob's place was kept");
    let (on_host, _) = expect_joined(&mut host.events).await;
    assert!(on_host.resumed);
}

#[tokio::test]
async fn a_guest_that_broke_its_connection_keeps_no_seat() {
    let mut host = start_host();
    let mut rude = raw_guest(host.addr, "mallory").await;
    let (on_host, _) = expect_joined(&mut host.events).await;
    rude.write(&[0, 0, 0, 5, 1, 2, 3, 4, 5]).await; // not a sealed frame
    expect_left(&mut host.events, on_host.id).await;
    a_guest_can_still_join(&mut host).await;
}

#[tokio::test]
async fn the_hosts_person_decides_whether_a_newcomer_takes_an_away_guests_seat() {
    let (mut host, _back) = host_with_bob_away(Newcomers::Ask).await;
    for admit in [false, true] {
        let addr = host.addr;
        let carol = tokio::spawn(async move { join(addr, "carol").await });
        let knock = match next(&mut host.events).await {
            NetEvent::Knock(knock) => knock,
            other => panic!("expected a knock, got {other:?}"),
        };
        assert_eq!(knock.name, "carol");
        knock.answer(admit);
        let carol = carol.await.expect("carol's task");
        if admit {
            let mut carol = carol.expect("let in");
            match next(&mut carol.events).await {
                NetEvent::Waiting { reason } => assert!(reason.contains("asking the host")),
                other => panic!("expected Waiting first, got {other:?}"),
            }
            let (on_host, _) = expect_joined(&mut host.events).await;
            assert_eq!(on_host.name, "carol");
            assert!(!on_host.resumed);
        } else {
            let refused = handshake_error(carol);
            assert!(matches!(refused, HandshakeError::Refused(_)), "{refused}");
            match next(&mut host.events).await {
                NetEvent::Rejected { kind, .. } => assert_eq!(kind, RejectKind::Away),
                other => panic!("expected Rejected, got {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn a_newcomer_that_cannot_wait_is_refused_without_asking() {
    let (mut host, _back) = host_with_bob_away(Newcomers::Ask).await;
    let mut stream = TcpStream::connect(host.addr).await.expect("connects");
    let mut old = Hello::new("carol");
    old.capabilities.clear(); // an earlier duplex: it would time out waiting
    let refused = handshake::guest(&mut stream, &old, None)
        .await
        .expect_err("refused");
    assert!(matches!(refused, HandshakeError::Refused(_)), "{refused}");
    match next(&mut host.events).await {
        NetEvent::Rejected { kind, .. } => assert_eq!(kind, RejectKind::Away),
        other => panic!("expected Rejected and no knock, got {other:?}"),
    }
}

/// A host that skips optional frames it does not know is matched by a
/// guest that does the same before the host's hello.
#[tokio::test]
async fn a_guest_skips_unknown_optional_frames_before_the_hosts_hello() {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    let newer_host = tokio::spawn(async move {
        let (mut stream, peer) = listener.accept().await.expect("the guest");
        let Opening::Duplex(theirs) = handshake::read_opening(&mut stream, None)
            .await
            .expect("an opening")
        else {
            panic!("duplex");
        };
        let mut pending =
            handshake::host_open(&mut stream, theirs, peer.ip(), &HostPolicy::new(None))
                .await
                .expect("the guest's hello");
        pending.wait("a moment", 1).await.expect("waiting sent");
        let _ = pending.accept(Hello::new("alice")).await.expect("accepted");
        stream
    });
    let mut waited = Vec::new();
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let established =
        handshake::guest_waiting(&mut stream, &Hello::new("bob"), None, &mut |why, secs| {
            waited.push((why.to_owned(), secs))
        })
        .await
        .expect("joins after waiting");
    assert_eq!(established.peer.name, "alice");
    assert_eq!(waited, [("a moment".to_owned(), 1)]);
    let _ = newer_host.await;
}

#[tokio::test]
async fn bye_ends_the_conversation_and_the_socket_closes() {
    let mut host = start_host();
    let mut bob = join(host.addr, "bob").await.expect("bob joins");
    let (bob_on_host, to_bob) = expect_joined(&mut host.events).await;
    expect_joined(&mut bob.events).await;

    bob.link.send(chat(1, "last words")).expect("queued");
    bob.link.send(Frame::Bye).expect("queued");
    bob.link.close().await;
    assert_eq!(
        expect_chat(&mut host.events, bob_on_host.id).await.text,
        "last words"
    );
    assert_eq!(
        expect_left(&mut host.events, bob_on_host.id).await,
        LeftReason::Bye
    );
    // The host closes its side too; bob sees a plain close.
    to_bob.close().await;
    assert_eq!(
        expect_left(&mut bob.events, bob.info.id).await,
        LeftReason::Closed
    );
}

#[tokio::test]
async fn leave_from_the_host_reaches_the_guest() {
    let mut host = start_host();
    let mut bob = join(host.addr, "bob").await.expect("bob joins");
    let (bob_on_host, to_bob) = expect_joined(&mut host.events).await;
    expect_joined(&mut bob.events).await;

    to_bob.send(Frame::Leave).expect("queued");
    to_bob.close().await;
    assert_eq!(
        expect_left(&mut bob.events, bob.info.id).await,
        LeftReason::Left
    );
    bob.link.close().await;
    assert_eq!(
        expect_left(&mut host.events, bob_on_host.id).await,
        LeftReason::Closed
    );
    // A closed link refuses further frames instead of losing them silently.
    assert!(bob.link.send(chat(1, "too late")).is_err());
}

/// Both sides give up on a handshake that never finishes. Each case waits out
/// the 10-second handshake timeout, so one test runs them side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_that_never_finish_time_out_on_both_sides() {
    tokio::join!(
        a_silent_client_does_not_hold_up_the_next_guest(),
        joining_a_server_that_never_answers_times_out(),
    );
}

async fn a_silent_client_does_not_hold_up_the_next_guest() {
    let mut host = start_host_with(
        "alice",
        HostPolicy {
            limits: FAST,
            ..HostPolicy::new(None)
        },
    );
    // Connects and says nothing.
    let started = Instant::now();
    let mut silent = TcpStream::connect(host.addr).await.expect("connects");
    let silent_addr = silent.local_addr().expect("local address");

    // Meanwhile a real guest joins at once.
    let mut bob = join(host.addr, "bob").await.expect("bob joins");
    let (bob_on_host, _) = expect_joined(&mut host.events).await;
    expect_joined(&mut bob.events).await;

    // The silent one is turned away after the handshake timeout.
    let wait = FAST.handshake + WAIT;
    let (from, reason) = expect_rejected_within(&mut host.events, wait).await;
    assert_eq!(from, silent_addr);
    assert!(
        reason.contains("did not complete the handshake"),
        "{reason}"
    );
    assert!(started.elapsed() >= FAST.handshake);
    read_to_close(&mut silent).await;
    // Bob is still there.
    bob.link.send(chat(1, "still here")).expect("queued");
    assert_eq!(
        expect_chat(&mut host.events, bob_on_host.id).await.text,
        "still here"
    );
}

// ---------------------------------------------------------------------------
// Joining what is not a duplex host

#[tokio::test]
async fn joining_a_port_where_nothing_listens_says_refused() {
    // Hold a port with a bound socket that does not listen, so no other test
    // can take it meanwhile.
    let holder =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    holder
        .bind(&SocketAddr::new(LOCALHOST, 0).into())
        .expect("binds");
    let addr = holder
        .local_addr()
        .expect("local address")
        .as_socket()
        .expect("an IP address");
    let err = join(addr, "bob").await.err().expect("cannot connect");
    assert!(
        matches!(&err, NetError::Connect { addr: a, .. } if *a == addr),
        "{err:?}"
    );
    assert!(err.to_string().contains("refused"), "{err}");
}

#[tokio::test]
async fn joining_an_unresolvable_name_is_a_resolve_error() {
    let (tx, _rx) = mpsc::channel(EVENTS);
    let target = Target {
        host: "nonexistent.invalid".to_owned(),
        port: 7878,
    };
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        net::connect(&target, &Hello::new("bob"), None, tx, Limits::default()),
    )
    .await
    .expect("the resolver answers");
    let err = outcome.expect_err("does not resolve");
    assert!(
        matches!(&err, NetError::Resolve { host, .. } if host == "nonexistent.invalid"),
        "{err:?}"
    );
    assert!(err.to_string().contains("nonexistent.invalid"), "{err}");
}

#[tokio::test]
async fn joining_a_server_that_speaks_http_is_not_duplex() {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accepts");
        let mut request = [0; Preamble::LEN];
        stream.read_exact(&mut request).await.expect("reads");
        stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .await
            .expect("answers");
        request
    });
    let err = join(addr, "bob").await.err().expect("not a duplex host");
    match &err {
        NetError::Handshake {
            error: HandshakeError::PlainServer { first_bytes },
            ..
        } => assert_eq!(first_bytes, "HTTP/1.1"),
        other => panic!("expected PlainServer, got {other:?}"),
    }
    // The guest spoke first, with its preamble.
    assert_eq!(
        server.await.expect("server"),
        Preamble::current().to_bytes()
    );
}

async fn joining_a_server_that_never_answers_times_out() {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    let (hold_tx, hold_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accepts");
        // Keep the connection open, saying nothing, until the test ends.
        let _ = hold_rx.await;
        drop(stream);
    });
    let started = Instant::now();
    let err = tokio::time::timeout(FAST.handshake + WAIT, join_within(addr, "bob", None, FAST))
        .await
        .expect("gives up by itself")
        .err()
        .expect("times out");
    assert!(
        matches!(
            &err,
            NetError::Handshake {
                error: HandshakeError::SilentHost(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        matches!(&err, NetError::Handshake { error: HandshakeError::SilentHost(limit), .. } if *limit == FAST.handshake)
    );
    assert!(started.elapsed() >= FAST.handshake);
    drop(hold_tx);
}

// ---------------------------------------------------------------------------
// Encryption: nothing readable on the wire, verification words

/// Every byte that passed through a relay, one recording per direction.
#[derive(Clone, Default)]
struct Recording {
    to_host: Arc<Mutex<Vec<u8>>>,
    to_guest: Arc<Mutex<Vec<u8>>>,
}

/// Copies `from` to `to`, recording every byte before passing it on.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    record: Arc<Mutex<Vec<u8>>>,
) {
    let mut buf = [0; 4096];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                record
                    .lock()
                    .expect("recording")
                    .extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

/// A TCP relay on 127.0.0.1 that forwards one connection to `upstream` and
/// records everything, as an eavesdropper on the network would.
async fn recording_relay(upstream: SocketAddr) -> (SocketAddr, Recording) {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    let recording = Recording::default();
    let record = recording.clone();
    tokio::spawn(async move {
        let (guest, _) = listener.accept().await.expect("accepts");
        let host = TcpStream::connect(upstream)
            .await
            .expect("reaches the host");
        let (guest_read, guest_write) = guest.into_split();
        let (host_read, host_write) = host.into_split();
        tokio::spawn(pump(guest_read, host_write, record.to_host));
        tokio::spawn(pump(host_read, guest_write, record.to_guest));
    });
    (addr, recording)
}

/// Whether any `len` consecutive bytes of `needle` occur in `haystack`.
fn any_fragment_in(haystack: &[u8], needle: &[u8], len: usize) -> bool {
    needle
        .windows(len.min(needle.len()))
        .any(|fragment| haystack.windows(fragment.len()).any(|w| w == fragment))
}

#[tokio::test]
async fn no_names_or_messages_in_the_clear_on_the_wire() {
    const HOST_NAME: &str = "Quintessa Marlowe";
    const GUEST_NAME: &str = "Bartholomew 巴托洛缪";
    const TO_HOST: &str = "the eagle lands at midnight by the old lighthouse";
    const TO_GUEST: &str = "秘密的消息：会议改在午夜的灯塔";
    const TO_HOST_TOO: &str = "パスワードは月曜日に変わります and the vault code is 8675309";

    let mut host = start_host_with(HOST_NAME, HostPolicy::new(None));
    let (relay, recording) = recording_relay(host.addr).await;
    let mut guest = join(relay, GUEST_NAME).await.expect("joins via the relay");
    assert_eq!(guest.info.name, HOST_NAME);
    let (on_host, to_guest) = expect_joined(&mut host.events).await;
    assert_eq!(on_host.name, GUEST_NAME);
    expect_joined(&mut guest.events).await;

    guest.link.send(chat(1, TO_HOST)).expect("queued");
    guest.link.send(chat(2, TO_HOST_TOO)).expect("queued");
    to_guest.send(chat(1, TO_GUEST)).expect("queued");
    assert_eq!(
        expect_chat(&mut host.events, on_host.id).await.text,
        TO_HOST
    );
    assert_eq!(
        expect_chat(&mut host.events, on_host.id).await.text,
        TO_HOST_TOO
    );
    assert_eq!(
        expect_chat(&mut guest.events, guest.info.id).await.text,
        TO_GUEST
    );

    let to_host = recording.to_host.lock().expect("recording").clone();
    let to_guest = recording.to_guest.lock().expect("recording").clone();
    // The relay really carried the session: it begins with the preambles in
    // the clear and holds at least the sealed texts.
    assert!(to_host.starts_with(&Preamble::current().to_bytes()));
    assert!(to_guest.starts_with(&open_host_reply()));
    assert!(to_host.len() > TO_HOST.len() + TO_HOST_TOO.len());
    assert!(to_guest.len() > TO_GUEST.len());

    for secret in [HOST_NAME, GUEST_NAME, TO_HOST, TO_GUEST, TO_HOST_TOO] {
        for (direction, bytes) in [("to the host", &to_host), ("to the guest", &to_guest)] {
            // Not the text, and not even six bytes of it in a row.
            assert!(
                !any_fragment_in(bytes, secret.as_bytes(), 6),
                "{secret:?} shows {direction}"
            );
        }
    }
    // The CJK parts alone, too.
    for secret in ["巴托洛缪", "秘密的消息", "会议改在午夜", "パスワード"] {
        assert!(!any_fragment_in(&to_host, secret.as_bytes(), secret.len()));
        assert!(!any_fragment_in(&to_guest, secret.as_bytes(), secret.len()));
    }
}

#[tokio::test]
async fn both_sides_show_the_same_verification_words() {
    let mut host = start_host();
    let guest = join(host.addr, "bob").await.expect("bob joins");
    let (bob, _) = expect_joined(&mut host.events).await;
    assert_eq!(guest.info.security, bob.security);
    let (words, with_code) = encrypted(&guest.info);
    assert!(!with_code);
    let words: Vec<&str> = words.split('-').collect();
    assert_eq!(words.len(), duplex::words::SAS_WORDS, "{words:?}");
    assert!(words.iter().all(|w| duplex::words::WORDS.contains(w)));

    // Another session with the same host has other words.
    guest.link.send(Frame::Leave).expect("queued");
    guest.link.close().await;
    expect_left(&mut host.events, bob.id).await;
    let again = join(host.addr, "bob").await.expect("bob joins again");
    let (bob_again, _) = expect_joined(&mut host.events).await;
    assert_eq!(again.info.security, bob_again.security);
    assert_ne!(again.info.security, bob.security);
}

/// Wraps an established session's stream in a `Framed` that starts with the
/// bytes the handshake read past its end.
fn session(
    stream: TcpStream,
    established: handshake::Established,
) -> Framed<TcpStream, FrameCodec> {
    let mut parts = FramedParts::new::<Frame>(stream, established.codec);
    parts.read_buf = established.leftover;
    Framed::from_parts(parts)
}

#[tokio::test]
async fn a_man_in_the_middle_shows_different_words() {
    let mut host = start_host();
    let host_addr = host.addr;
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let mitm_addr = listener.local_addr().expect("local address");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_mitm = seen.clone();
    // The relay ends both sessions itself: it joins the host as the guest
    // would, and plays the host to the guest under the host's name.
    let mitm = tokio::spawn(async move {
        let mut upstream = TcpStream::connect(host_addr)
            .await
            .expect("reaches the host");
        let to_host = handshake::guest(&mut upstream, &Hello::new("bob"), None)
            .await
            .expect("joins the host");
        let (mut downstream, guest_addr) = listener.accept().await.expect("accepts the guest");
        let Opening::Duplex(theirs) = handshake::read_opening(&mut downstream, None)
            .await
            .expect("an opening")
        else {
            panic!("the guest speaks duplex");
        };
        let host_hello = to_host.peer.clone();
        let (to_guest, ()) = handshake::host(
            &mut downstream,
            theirs,
            guest_addr.ip(),
            &HostPolicy::new(None),
            |_| Ok::<_, String>(((), host_hello)),
        )
        .await
        .expect("accepts the guest");
        let words = (to_guest.verification.clone(), to_host.verification.clone());
        // Reads everything, passes it on re-sealed.
        let (guest_sink, guest_frames) = session(downstream, to_guest).split();
        let (host_sink, host_frames) = session(upstream, to_host).split();
        let spy = |seen: Arc<Mutex<Vec<Frame>>>| {
            move |frame: &Frame| seen.lock().expect("seen").push(frame.clone())
        };
        tokio::spawn(
            guest_frames
                .inspect_ok(spy(seen_by_mitm.clone()))
                .forward(host_sink),
        );
        tokio::spawn(
            host_frames
                .inspect_ok(spy(seen_by_mitm))
                .forward(guest_sink),
        );
        words
    });

    let mut guest = join(mitm_addr, "bob").await.expect("joins via the relay");
    let (on_host, to_bob) = expect_joined(&mut host.events).await;
    expect_joined(&mut guest.events).await;
    // Nothing else gives it away: names and the conversation look normal...
    assert_eq!(guest.info.name, "alice");
    assert_eq!(on_host.name, "bob");
    guest
        .link
        .send(chat(1, "is this private?"))
        .expect("queued");
    assert_eq!(
        expect_chat(&mut host.events, on_host.id).await.text,
        "is this private?"
    );
    to_bob.send(chat(1, "I think so")).expect("queued");
    assert_eq!(
        expect_chat(&mut guest.events, guest.info.id).await.text,
        "I think so"
    );
    assert_eq!(
        *seen.lock().expect("seen"),
        [chat(1, "is this private?"), chat(1, "I think so")]
    );

    // ...but the words differ, each side showing its session with the relay.
    let (guest_words, _) = encrypted(&guest.info);
    let (host_words, _) = encrypted(&on_host);
    assert_ne!(guest_words, host_words);
    let (mitm_to_guest, mitm_to_host) = mitm.await.expect("the relay");
    assert_eq!(guest_words, mitm_to_guest);
    assert_eq!(host_words, mitm_to_host);
}

/// The attack on resuming: a relay lets the first session through
/// untouched (the words match), and when the guest comes back it answers
/// with its own session, takes whatever the guest's hello carries to
/// resume, and presents it to the host. Neither end may take the relay
/// for the other: the right to resume is a secret of the first session,
/// proved, never sent.
#[tokio::test]
async fn a_relay_cannot_resume_a_conversation_it_did_not_verify() {
    // Even a host that lets newcomers take an away guest's seat.
    let mut host = start_host_with(
        "alice",
        HostPolicy {
            newcomers: Newcomers::Admit,
            ..HostPolicy::new(None)
        },
    );
    let host_addr = host.addr;
    // The first session: straight to the host.
    let mut first = TcpStream::connect(host_addr).await.expect("reaches");
    let one = handshake::guest(&mut first, &Hello::new("bob"), None)
        .await
        .expect("joins");
    let (bob, _link) = expect_joined(&mut host.events).await;
    assert_eq!(encrypted(&bob).0, one.verification, "the words match");
    let resume = one.peer.resume.expect("a place in the conversation");
    drop(first); // the relay resets it
    expect_left(&mut host.events, bob.id).await;

    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let relay_addr = listener.local_addr().expect("local address");
    let relay = tokio::spawn(async move {
        let (mut downstream, guest_addr) = listener.accept().await.expect("the guest");
        let Opening::Duplex(theirs) = handshake::read_opening(&mut downstream, None)
            .await
            .expect("an opening")
        else {
            panic!("the guest speaks duplex");
        };
        // Answers the guest with its own session, claiming it resumed.
        let (_, taken) = handshake::host(
            &mut downstream,
            theirs,
            guest_addr.ip(),
            &HostPolicy::new(None),
            |guest| {
                let reply = Hello {
                    resume: guest.resume,
                    resumed: true,
                    ..Hello::new("alice")
                };
                Ok::<_, String>((guest.resume, reply))
            },
        )
        .await
        .expect("the guest's handshake with the relay");
        // Presents what the guest's hello carried to the host.
        let mut upstream = TcpStream::connect(host_addr).await.expect("reaches");
        let presented = Hello {
            resume: taken,
            ..Hello::new("bob")
        };
        handshake::guest(&mut upstream, &presented, None)
            .await
            .expect("the relay's handshake with the host");
        (downstream, upstream)
    });
    let mut second = TcpStream::connect(relay_addr).await.expect("reaches");
    let again = Hello {
        resume: Some(resume),
        ..Hello::new("bob")
    };
    let two = handshake::guest(&mut second, &again, None)
        .await
        .expect("a session with the relay");
    assert!(
        !two.peer.resumed,
        "the guest took the relay for the host it verified"
    );
    let (on_host, _link) = expect_joined(&mut host.events).await;
    assert!(
        !on_host.resumed,
        "the host took the relay for the guest it verified"
    );
    let _streams = relay.await.expect("the relay");
}

/// Grinding: a man in the middle that plays the host would like to pick
/// its key after seeing the guest's, trying keys until the words match.
/// The opening makes it commit to its key first: one that answers with any
/// other key (here, one made after the guest's message arrived) fails the
/// guest's handshake, so each handshake gives it one chance in 2³².
#[tokio::test]
async fn a_host_cannot_choose_its_key_after_seeing_the_guests() {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accepts");
        let mut theirs = [0; Preamble::LEN];
        stream.read_exact(&mut theirs).await.expect("a preamble");
        let committed = Ephemeral::generate().expect("a key");
        let commitment = committed.commitment();
        let reply = [&open_host_reply()[..], &commitment].concat();
        stream.write_all(&reply).await.expect("answers");
        let one = read_message(&mut stream).await;
        // Only now, with the guest's key in hand, does it pick its own.
        let chosen = Ephemeral::generate().expect("a key");
        let mut noise = Handshake::responder(&open_prologue(&commitment), None, &chosen)
            .expect("a Noise state");
        noise.read(&one).expect("the guest's message");
        let two = noise.write().expect("message two");
        let _ = stream.write_all(&length_prefixed(&two)).await;
        let _ = read_to_close(&mut stream).await;
    });
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let err = tokio::time::timeout(
        WAIT,
        handshake::guest(&mut stream, &Hello::new("bob"), None),
    )
    .await
    .expect("the guest decides")
    .expect_err("a key other than the committed one");
    assert!(
        matches!(err, HandshakeError::Crypto(CryptoError::BrokenCommitment)),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// Secret codes

#[tokio::test]
async fn the_right_secret_code_joins() {
    let mut host = start_host_with_code();
    // Spacing and case do not matter.
    let mut guest = join_with_code(host.addr, "bob", Some("Amber Otter Violin"))
        .await
        .expect("bob joins with the code");
    let (bob, to_bob) = expect_joined(&mut host.events).await;
    expect_joined(&mut guest.events).await;
    assert!(encrypted(&guest.info).1);
    assert!(encrypted(&bob).1);
    assert_eq!(guest.info.security, bob.security);
    to_bob.send(chat(1, "welcome")).expect("queued");
    assert_eq!(
        expect_chat(&mut guest.events, guest.info.id).await.text,
        "welcome"
    );
}

#[tokio::test]
async fn a_wrong_code_is_named_and_the_host_keeps_waiting() {
    let mut host = start_host_with_code();
    let err = handshake_error(join_with_code(host.addr, "bob", Some("amber-otter-viola")).await);
    assert!(matches!(err, HandshakeError::WrongCode { .. }), "{err}");
    assert!(err.to_string().contains("wrong code"), "{err}");
    let (from, reason) = expect_rejected(&mut host.events).await;
    assert_eq!(from.ip(), LOCALHOST);
    assert!(reason.contains("wrong code"), "{reason}");

    let guest = join_with_code(host.addr, "bob", Some(CODE))
        .await
        .expect("the right code gets in");
    let (bob, _) = expect_joined(&mut host.events).await;
    assert_eq!(bob.name, "bob");
    assert!(encrypted(&guest.info).1);
}

#[tokio::test]
async fn a_missing_code_is_asked_for() {
    let mut host = start_host_with_code();
    let err = handshake_error(join(host.addr, "bob").await);
    assert!(matches!(err, HandshakeError::CodeRequired), "{err}");
    expect_rejected(&mut host.events).await;
    // Asking does not count as a wrong code.
    join_with_code(host.addr, "bob", Some(CODE))
        .await
        .expect("the right code gets in");
}

/// A guest without the code reads the host's preamble and policy byte and
/// hangs up. By then the host has already sent its SPAKE2 message, which
/// the guest never reads, so the guest's close is a TCP reset, not a FIN.
/// `handshake::host` maps only `HandshakeError::Closed` (a clean EOF) to
/// `NoCodeGiven`; the reset arrives as an IO error, and the host shows
/// "Connection reset by peer (os error 104)" instead of saying the guest
/// left without the code. (The unit test in `src/net/handshake.rs` runs over
/// an in-memory pipe, where a drop is always a clean EOF.)
#[tokio::test]
async fn the_host_says_when_a_guest_left_without_the_code() {
    let mut host = start_host_with_code();
    let err = handshake_error(join(host.addr, "bob").await);
    assert!(matches!(err, HandshakeError::CodeRequired), "{err}");
    let (_, reason) = expect_rejected(&mut host.events).await;
    assert!(
        reason.contains("without giving the secret code"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_code_for_an_open_host_is_an_error() {
    let mut host = start_host();
    let err = handshake_error(join_with_code(host.addr, "bob", Some(CODE)).await);
    assert!(matches!(err, HandshakeError::HostHasNoCode), "{err}");
    expect_rejected(&mut host.events).await;
    a_guest_can_still_join(&mut host).await;
}

#[tokio::test]
async fn wrong_codes_lock_the_address_out_even_for_the_right_code() {
    let mut host = start_host_with_code();
    for attempt in 0..net::limiter::PER_SOURCE {
        let err =
            handshake_error(join_with_code(host.addr, "eve", Some("guess-guess-guess")).await);
        assert!(
            matches!(err, HandshakeError::WrongCode { .. }),
            "attempt {attempt}: {err}"
        );
        let (_, reason) = expect_rejected(&mut host.events).await;
        assert!(reason.contains("wrong code"), "{reason}");
    }
    let err = handshake_error(join_with_code(host.addr, "bob", Some(CODE)).await);
    assert!(matches!(err, HandshakeError::LockedOut(_)), "{err}");
    let (_, reason) = expect_rejected(&mut host.events).await;
    assert!(reason.contains("too many wrong codes"), "{reason}");
}

/// A code attempt through `handshake::guest` from `source`, another
/// loopback address (all of 127.0.0.0/8 is this machine).
async fn code_attempt_from(
    source: Ipv4Addr,
    host: SocketAddr,
    code: &str,
) -> Result<handshake::Established, HandshakeError> {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::new(source.into(), 0))
        .expect("binds the source address");
    let mut stream = socket.connect(host).await.expect("connects");
    tokio::time::timeout(
        WAIT,
        handshake::guest(&mut stream, &Hello::new("eve"), Some(code)),
    )
    .await
    .expect("the handshake ends")
}

#[tokio::test]
async fn wrong_codes_from_many_addresses_lock_everyone_out() {
    let mut host = start_host_with_code();
    let sources = [2, 3, 4, 5].map(|n| Ipv4Addr::new(127, 0, 0, n));
    let mut wrong = 0;
    'guessing: for source in sources {
        for _ in 0..net::limiter::PER_SOURCE {
            if wrong == net::limiter::OVERALL {
                break 'guessing;
            }
            let err = code_attempt_from(source, host.addr, "guess-guess-guess")
                .await
                .expect_err("a wrong code");
            assert!(matches!(err, HandshakeError::WrongCode { .. }), "{err}");
            let (from, reason) = expect_rejected(&mut host.events).await;
            assert_eq!(from.ip(), IpAddr::V4(source));
            assert!(reason.contains("wrong code"), "{reason}");
            wrong += 1;
        }
    }
    assert_eq!(wrong, net::limiter::OVERALL);
    // An address that never guessed is refused too, even with the code.
    let fresh = Ipv4Addr::new(127, 0, 0, 9);
    let err = code_attempt_from(fresh, host.addr, CODE)
        .await
        .expect_err("locked out");
    assert!(matches!(err, HandshakeError::LockedOut(_)), "{err}");
    let (from, reason) = expect_rejected(&mut host.events).await;
    assert_eq!(from.ip(), IpAddr::V4(fresh));
    assert!(reason.contains("overall"), "{reason}");
}

// ---------------------------------------------------------------------------
// Plain text peers on a host with allow_plain

#[tokio::test]
async fn plain_lines_arrive_as_separate_messages() {
    let mut host = start_plain_host(encoding_rs::UTF_8);
    let mut client = PlainSocket::connect(host.addr);
    client.send(b"hello there\nsecond line\r\n\nthird, \xe4\xb8\x89\n");
    let (info, _) = expect_plain_joined(&mut host, "UTF-8").await;
    for text in ["hello there", "second line", "third, 三"] {
        assert_eq!(expect_chat(&mut host.events, info.id).await.text, text);
    }
    client.close();
    assert_eq!(
        expect_left(&mut host.events, info.id).await,
        LeftReason::Closed
    );
}

#[tokio::test]
async fn a_plain_chunk_without_newline_arrives_after_a_pause() {
    let mut host = start_plain_host(encoding_rs::UTF_8);
    let mut client = PlainSocket::connect(host.addr);
    client.send(b"first\n");
    let (info, _) = expect_plain_joined(&mut host, "UTF-8").await;
    assert_eq!(expect_chat(&mut host.events, info.id).await.text, "first");
    let sent = Instant::now();
    client.send(b"no newline here");
    assert_eq!(
        expect_chat(&mut host.events, info.id).await.text,
        "no newline here"
    );
    assert!(sent.elapsed() >= PLAIN_PAUSE, "{:?}", sent.elapsed());
    client.send(b"next\n");
    assert_eq!(expect_chat(&mut host.events, info.id).await.text, "next");
}

#[tokio::test]
async fn gbk_text_from_a_plain_client_decodes_even_when_split() {
    let mut host = start_plain_host(encoding_rs::GBK);
    let mut client = PlainSocket::connect(host.addr);
    client.send(&gbk("你好，世界\n"));
    let (info, _) = expect_plain_joined(&mut host, "GBK").await;
    assert_eq!(
        expect_chat(&mut host.events, info.id).await.text,
        "你好，世界"
    );
    // A line whose first character is split across two writes, and the
    // host reads the first byte on its own: nothing of the line is complete
    // yet, so the pause does not cut it.
    let line = gbk("再见，朋友\n");
    client.send(&line[..1]);
    tokio::time::sleep(PLAIN_PAUSE * 2).await;
    client.send(&line[1..]);
    assert_eq!(
        expect_chat(&mut host.events, info.id).await.text,
        "再见，朋友"
    );
    // And a character split in the middle of a line, quickly.
    let line = gbk("中文字符\n");
    client.send(&line[..3]);
    client.send(&line[3..]);
    assert_eq!(
        expect_chat(&mut host.events, info.id).await.text,
        "中文字符"
    );
}

#[tokio::test]
async fn the_hosts_messages_reach_a_plain_client_as_lines_in_its_encoding() {
    let mut host = start_plain_host(encoding_rs::GBK);
    let mut client = PlainSocket::connect(host.addr);
    client.send(&gbk("在吗\n"));
    let (info, to_client) = expect_plain_joined(&mut host, "GBK").await;
    assert_eq!(expect_chat(&mut host.events, info.id).await.text, "在吗");
    to_client.send(chat(1, "在，你好")).expect("queued");
    to_client.send(chat(2, "two\nlines")).expect("queued");
    to_client.send(chat(3, "plain ascii")).expect("queued");
    assert_eq!(client.line().await, gbk("在，你好"));
    // A message of two lines is two lines.
    assert_eq!(client.line().await, b"two");
    assert_eq!(client.line().await, b"lines");
    assert_eq!(client.line().await, b"plain ascii");
}

#[tokio::test]
async fn exit_from_a_plain_client_ends_the_conversation() {
    let mut host = start_plain_host(encoding_rs::UTF_8);
    for exit in [&b"exit\n"[..], b"exit\r\n", b"exit"] {
        let mut client = PlainSocket::connect(host.addr);
        client.send(b"bye now\n");
        let (info, _) = expect_plain_joined(&mut host, "UTF-8").await;
        assert_eq!(expect_chat(&mut host.events, info.id).await.text, "bye now");
        // Without a newline, `exit` counts once the pause has passed.
        client.send(exit);
        assert_eq!(
            expect_left(&mut host.events, info.id).await,
            LeftReason::Bye,
            "{exit:?}"
        );
    }
}

#[tokio::test]
async fn a_silent_client_becomes_a_plain_peer_after_the_grace_period() {
    let mut host = start_plain_host(encoding_rs::UTF_8);
    let started = Instant::now();
    let mut client = PlainSocket::connect(host.addr);
    let (info, to_client) = expect_plain_joined(&mut host, "UTF-8").await;
    assert!(started.elapsed() >= PLAIN_GRACE, "{:?}", started.elapsed());
    to_client.send(chat(1, "anyone there?")).expect("queued");
    assert_eq!(client.line().await, b"anyone there?");
    client.send(b"yes\n");
    assert_eq!(expect_chat(&mut host.events, info.id).await.text, "yes");
}

#[tokio::test]
async fn a_duplex_guest_still_gets_an_encrypted_session_on_a_plain_host() {
    let mut host = start_plain_host(encoding_rs::GBK);
    let started = Instant::now();
    let mut guest = join(host.addr, "bob").await.expect("bob joins");
    // At once, not after the grace period for plain clients.
    assert!(started.elapsed() < PLAIN_GRACE, "{:?}", started.elapsed());
    let (bob, to_bob) = expect_joined(&mut host.events).await;
    assert_eq!(bob.name, "bob");
    assert_eq!(encrypted(&bob), encrypted(&guest.info));
    expect_joined(&mut guest.events).await;
    to_bob.send(chat(1, "你好")).expect("queued");
    assert_eq!(
        expect_chat(&mut guest.events, guest.info.id).await.text,
        "你好"
    );
}

#[tokio::test]
async fn a_plain_client_is_told_when_the_host_is_busy() {
    let mut host = start_plain_host(encoding_rs::UTF_8);
    let _bob = join(host.addr, "bob").await.expect("bob joins");
    expect_joined(&mut host.events).await;
    let mut client = PlainSocket::connect(host.addr);
    client.send(b"hi\n");
    let reply = String::from_utf8(client.until_closed().await).expect("text");
    assert!(reply.contains("already in a conversation"), "{reply:?}");
    let (_, reason) = expect_rejected(&mut host.events).await;
    assert!(reason.contains("refused"), "{reason}");
}

/// A character GBK cannot write reaches the client as `?`, not as an HTML
/// reference (`&#128512;`), and the sender is told once per connection.
#[tokio::test]
async fn a_character_the_encoding_cannot_write_goes_out_as_a_question_mark_told_once() {
    let mut host = start_plain_host(encoding_rs::GBK);
    let mut client = PlainSocket::connect(host.addr);
    client.send(&gbk("在吗\n"));
    let (info, to_client) = expect_plain_joined(&mut host, "GBK").await;
    assert_eq!(expect_chat(&mut host.events, info.id).await.text, "在吗");
    to_client.send(chat(1, "在 😀!")).expect("queued");
    assert_eq!(client.line().await, gbk("在 ?!"));
    match next(&mut host.events).await {
        NetEvent::Notice { from, text } => {
            assert_eq!(from, info.id);
            assert_eq!(text, "😀 (U+1F600) cannot be written in GBK: sent as ?");
        }
        other => panic!("expected a notice, got {other:?}"),
    }
    // Told once: another such character goes out as `?` without a word.
    to_client.send(chat(2, "👍 again")).expect("queued");
    assert_eq!(client.line().await, b"? again");
    client.send(b"ok\n");
    assert_eq!(expect_chat(&mut host.events, info.id).await.text, "ok");
}

/// A Python client of the "sticky packets" tutorials: each message is
/// `struct.pack('i', len(data)) + data`. Its first bytes are binary, yet
/// the host tells it from a duplex guest, and answers in kind.
#[tokio::test]
async fn a_length_framed_client_chats_with_a_host_that_expects_it() {
    let mut host = start_framed_plain_host(encoding_rs::GBK, Framing::Length(ByteOrder::Little));
    let mut client = PlainSocket::connect(host.addr);
    // Two messages in one write (stuck together), one with a newline.
    client.send(&[python_frame(&gbk("你好")), python_frame(&gbk("two\nlines"))].concat());
    let (info, to_client) = expect_plain_joined(&mut host, "GBK").await;
    assert_eq!(expect_chat(&mut host.events, info.id).await.text, "你好");
    assert_eq!(
        expect_chat(&mut host.events, info.id).await.text,
        "two\nlines"
    );
    to_client.send(chat(1, "在，你好\n第二行")).expect("queued");
    assert_eq!(client.length_frame().await, gbk("在，你好\n第二行"));
    // A header split from its message, then `exit` framed.
    let frame = python_frame(b"split");
    client.send(&frame[..2]);
    client.send(&frame[2..]);
    assert_eq!(expect_chat(&mut host.events, info.id).await.text, "split");
    client.send(&python_frame(b"exit"));
    assert_eq!(
        expect_left(&mut host.events, info.id).await,
        LeftReason::Bye
    );
}

/// A length over the message limit ends that client's connection with a
/// reason that names the limit; the host takes the next one.
#[tokio::test]
async fn a_length_over_the_limit_ends_only_that_client() {
    let mut host = start_framed_plain_host(encoding_rs::UTF_8, Framing::Length(ByteOrder::Little));
    let mut client = PlainSocket::connect(host.addr);
    client.send(&python_frame(b"fine"));
    let (info, _) = expect_plain_joined(&mut host, "UTF-8").await;
    assert_eq!(expect_chat(&mut host.events, info.id).await.text, "fine");
    client.send(&1_000_000i32.to_le_bytes());
    let reason = expect_left(&mut host.events, info.id).await;
    assert_eq!(
        reason,
        LeftReason::Incompatible(format!(
            "the peer announced a message of 1000000 bytes, over the limit of {MAX_TEXT_LEN} bytes \
             (messages are framed with a 4-byte length, --plain-framing length)"
        ))
    );
    let mut next_client = PlainSocket::connect(host.addr);
    next_client.send(&python_frame(b"my turn"));
    let (next_info, _) = expect_plain_joined(&mut host, "UTF-8").await;
    assert_eq!(
        expect_chat(&mut host.events, next_info.id).await.text,
        "my turn"
    );
}

/// The real thing, where python3 is installed: the tutorial's client.
#[tokio::test]
async fn a_real_python_client_with_struct_pack_chats_with_the_host() {
    let Ok(status) = std::process::Command::new("python3")
        .arg("--version")
        .output()
    else {
        eprintln!(
            "skipped: python3 is not installed (the in-process client above speaks the same bytes)"
        );
        return;
    };
    assert!(status.status.success(), "python3 --version failed");
    const CLIENT: &str = r#"
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def send(text):
    data = text.encode("gbk")
    s.sendall(struct.pack("i", len(data)) + data)
def recv_exact(n):
    buf = b""
    while len(buf) < n:
        more = s.recv(n - len(buf))
        if not more:
            sys.exit("closed")
        buf += more
    return buf
send("hello from python")
send("你好")
n, = struct.unpack("i", recv_exact(4))
print(recv_exact(n).decode("gbk"), flush=True)
send("exit")
s.close()
"#;
    let mut host = start_framed_plain_host(encoding_rs::GBK, Framing::Length(ByteOrder::Little));
    let python = tokio::process::Command::new("python3")
        .args(["-c", CLIENT, &host.addr.port().to_string()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts python3");
    let (info, to_client) = expect_plain_joined(&mut host, "GBK").await;
    assert_eq!(
        expect_chat(&mut host.events, info.id).await.text,
        "hello from python"
    );
    assert_eq!(expect_chat(&mut host.events, info.id).await.text, "你好");
    to_client.send(chat(1, "hi python, 再见")).expect("queued");
    assert_eq!(
        expect_left(&mut host.events, info.id).await,
        LeftReason::Bye
    );
    let output = tokio::time::timeout(WAIT, python.wait_with_output())
        .await
        .expect("python3 ends")
        .expect("python3 ran");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hi python, 再见\n");
}

// ---------------------------------------------------------------------------
// join --plain

#[tokio::test]
async fn join_plain_talks_lines_with_a_netcat_like_server() {
    // `nc -l`: accepts one connection, then lines both ways.
    let listener = std::net::TcpListener::bind((LOCALHOST, 0)).expect("binds");
    let addr = listener.local_addr().expect("local address");
    let (tx, mut events) = mpsc::channel(EVENTS);
    let (info, link) = net::connect_plain(&target(addr), encoding_rs::UTF_8, tx)
        .await
        .expect("connects");
    assert_eq!(info.security, Security::Plain { encoding: "UTF-8" });
    assert_eq!(info.addr, addr);
    let (joined, _) = expect_joined(&mut events).await;
    assert_eq!(joined, info);
    let (stream, _) = tokio::task::spawn_blocking(move || listener.accept())
        .await
        .expect("accept thread")
        .expect("accepts");
    let mut server = PlainSocket::new(stream);

    server.send("hello from nc\nzweite Zeile ü\n".as_bytes());
    for text in ["hello from nc", "zweite Zeile ü"] {
        assert_eq!(expect_chat(&mut events, info.id).await.text, text);
    }
    link.send(chat(1, "hi nc, 你好")).expect("queued");
    link.send(chat(2, "again")).expect("queued");
    assert_eq!(server.line().await, "hi nc, 你好".as_bytes());
    assert_eq!(server.line().await, b"again");

    // Last words without a newline, then the server closes.
    server.send(b"goodbye");
    server.close();
    assert_eq!(expect_chat(&mut events, info.id).await.text, "goodbye");
    assert_eq!(expect_left(&mut events, info.id).await, LeftReason::Closed);
}

/// `join --plain` with network-order length framing: a server that reads
/// `struct.unpack('!i', ...)`.
#[tokio::test]
async fn join_plain_speaks_length_framing_in_network_order() {
    let listener = std::net::TcpListener::bind((LOCALHOST, 0)).expect("binds");
    let addr = listener.local_addr().expect("local address");
    let (tx, mut events) = mpsc::channel(EVENTS);
    let dialect = Dialect {
        encoding: encoding_rs::UTF_8,
        framing: Framing::Length(ByteOrder::Big),
    };
    let (info, link) = net::connect_plain(&target(addr), dialect, tx)
        .await
        .expect("connects");
    expect_joined(&mut events).await;
    let (stream, _) = tokio::task::spawn_blocking(move || listener.accept())
        .await
        .expect("accept thread")
        .expect("accepts");
    let mut server = PlainSocket::new(stream);
    server.send(b"\x00\x00\x00\x05hello");
    assert_eq!(expect_chat(&mut events, info.id).await.text, "hello");
    link.send(chat(1, "hi")).expect("queued");
    while server.received.len() < 6 {
        assert!(server.receive_more().await, "closed early");
    }
    assert_eq!(server.received, b"\x00\x00\x00\x02hi");
}

/// `duplex join` meets `nc -l`, which says nothing and waits: once the
/// handshake's time is up, the error says a duplex host would have
/// answered, and names `--plain`.
#[tokio::test]
async fn join_meeting_a_silent_server_suggests_plain() {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accepts");
        let _ = read_to_close(&mut stream).await;
    });
    let err = handshake_error(join_within(addr, "bob", None, FAST).await);
    assert!(matches!(err, HandshakeError::SilentHost(_)), "{err:?}");
    assert!(
        err.to_string().ends_with("use duplex join --plain"),
        "{err}"
    );
}

/// `duplex join` (not `--plain`) meets a text server that greets first,
/// as many socket servers do: the error says it is one, and names `--plain`.
#[tokio::test]
async fn join_meeting_a_plain_text_server_suggests_plain() {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accepts");
        stream.write_all(b"Welcome!\r\n").await.expect("greets");
        // And stays open, as a text server does, waiting for a line.
        let _ = read_to_close(&mut stream).await;
    });
    let err = join(addr, "bob").await.err().expect("not a duplex host");
    let err = err.to_string();
    assert!(
        err.contains("does not speak the duplex protocol (it sent \"Welc"),
        "{err}"
    );
    assert!(err.ends_with("use duplex join --plain"), "{err}");
}

// ---------------------------------------------------------------------------
// Versions and capabilities: a protocol that can grow

/// A peer that speaks protocol versions 3 and 4 (a newer duplex), announces
/// a capability this build does not know, and sends frames of a kind this
/// build does not know (optional: even) between its messages.
#[tokio::test]
async fn a_newer_peer_with_unknown_capabilities_and_frames_chats_normally() {
    let mut host = start_host();
    let mut stream = TcpStream::connect(host.addr).await.expect("connects");
    let mut hello = Hello::new("nova");
    hello.capabilities = vec!["hologram".to_owned()];
    let established = handshake::guest_speaking(
        &mut stream,
        &hello,
        None,
        Versions { min: 3, max: 4 },
        &mut |_, _| {},
    )
    .await
    .expect("a newer guest is admitted");
    assert_eq!(established.version, PROTOCOL_VERSION, "both use version 3");
    let (nova, link) = expect_joined(&mut host.events).await;
    assert!(nova.caps.has("hologram"), "{:?}", nova.caps);
    let mut framed = Framed::from_parts(FramedParts::new(stream, established.codec));
    framed
        .send(chat(1, "hello from the future"))
        .await
        .expect("sends");
    for kind in [1000, 4242] {
        framed
            .send(Frame::Unknown {
                kind,
                body: b"a field nobody here knows".to_vec(),
            })
            .await
            .expect("sends");
    }
    framed.send(chat(2, "still here")).await.expect("sends");
    // The unknown frames are skipped (each only a sign of life); the chat
    // goes on.
    let mut texts = Vec::new();
    while texts.len() < 2 {
        match next(&mut host.events).await {
            NetEvent::Chat { from, msg } if from == nova.id => texts.push(msg.text),
            NetEvent::Heartbeat { from } if from == nova.id => {}
            other => panic!("expected the chat to go on, got {other:?}"),
        }
    }
    assert_eq!(texts, ["hello from the future", "still here"]);
    // And the other way.
    link.send(chat(1, "hi nova")).expect("queued");
    let back = tokio::time::timeout(WAIT, framed.next())
        .await
        .expect("in time")
        .expect("a frame")
        .expect("well-formed");
    assert!(
        matches!(&back, Frame::Chat(msg) if msg.text == "hi nova"),
        "{back:?}"
    );
}

/// Typing is an optional frame behind the `typing` capability: the
/// registry never sends it to a peer that did not announce it (an older
/// duplex, or one started with `--no-typing`), and one that did gets it,
/// and this build's reader turns it into a `Typing` event.
#[tokio::test]
async fn typing_goes_only_to_a_peer_that_announced_it() {
    use duplex::protocol::TypingState;
    use duplex::runtime::{Refused, Registry};
    for announced in [false, true] {
        let mut host = start_host();
        let mut stream = TcpStream::connect(host.addr).await.expect("connects");
        let mut hello = Hello::new("old");
        if !announced {
            hello.capabilities.retain(|name| name != "typing");
        }
        let established = handshake::guest(&mut stream, &hello, None)
            .await
            .expect("handshake");
        let (info, link) = expect_joined(&mut host.events).await;
        let mut registry = Registry::default();
        registry.observe(&NetEvent::Joined {
            info: info.clone(),
            link,
        });
        let typing = Frame::Typing {
            state: TypingState::Active,
        };
        let sent = registry.send(info.id, typing.clone());
        if announced {
            assert_eq!(sent, Ok(()));
        } else {
            assert_eq!(sent, Err(Refused::NotAnnounced("typing")));
        }
        registry
            .send(info.id, chat(1, "hi"))
            .expect("a chat always goes");
        let mut framed = Framed::from_parts(FramedParts::new(stream, established.codec));
        let mut got = Vec::new();
        while got
            .last()
            .is_none_or(|frame| !matches!(frame, Frame::Chat(_)))
        {
            let frame = tokio::time::timeout(WAIT, framed.next())
                .await
                .expect("in time")
                .expect("a frame")
                .expect("well-formed");
            got.push(frame);
        }
        let expected = if announced {
            vec![typing.clone(), chat(1, "hi")]
        } else {
            vec![chat(1, "hi")]
        };
        assert_eq!(got, expected, "announced: {announced}");
        // And the other way: the host's reader makes an event of it.
        framed.send(typing).await.expect("sends");
        match next(&mut host.events).await {
            NetEvent::Typing { from, state } => {
                assert_eq!((from, state), (info.id, TypingState::Active));
            }
            other => panic!("expected Typing, got {other:?}"),
        }
    }
}

/// A required kind this build does not know ends that connection with a
/// reason that says to update, rather than being read as something else.
#[tokio::test]
async fn an_unknown_required_frame_ends_the_connection_clearly() {
    let mut host = start_host();
    let mut stream = TcpStream::connect(host.addr).await.expect("connects");
    let established = handshake::guest(&mut stream, &Hello::new("nova"), None)
        .await
        .expect("handshake");
    let (nova, _link) = expect_joined(&mut host.events).await;
    let mut framed = Framed::from_parts(FramedParts::new(stream, established.codec));
    framed
        .send(Frame::Unknown {
            kind: 1001,
            body: Vec::new(),
        })
        .await
        .expect("sends");
    let reason = expect_left(&mut host.events, nova.id).await;
    assert!(
        matches!(&reason, LeftReason::Incompatible(why) if why.contains("kind 1001") && why.contains("update duplex")),
        "{reason:?}"
    );
}

/// A guest of protocol version 1 sends its 8-byte preamble and waits: the
/// host answers at once with its own versions and says which both speak.
#[tokio::test]
async fn a_version_1_guest_is_told_the_versions_on_both_sides() {
    let mut host = start_host();
    let mut stream = TcpStream::connect(host.addr).await.expect("connects");
    stream.write_all(b"DUPLEX\x00\x01").await.expect("writes");
    let reply = read_to_close(&mut stream).await;
    // What a version 1 duplex reads first: the magic and our version 3.
    assert_eq!(&reply[..8], b"DUPLEX\x00\x03", "{reply:?}");
    let (_, reason) = expect_rejected(&mut host.events).await;
    assert_eq!(
        reason,
        "the peer speaks duplex protocol version 1, this program speaks version 3; \
         update the older duplex"
    );
}

/// A host that speaks only versions this build does not: the guest's
/// error names both.
#[tokio::test]
async fn a_host_that_shares_no_version_is_named_with_both_versions() {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accepts");
        let mut theirs = [0; Preamble::LEN];
        stream.read_exact(&mut theirs).await.expect("reads");
        let future = Preamble {
            versions: Versions { min: 4, max: 5 },
        };
        stream.write_all(&future.to_bytes()).await.expect("answers");
    });
    let err = join(addr, "bob").await.err().expect("no common version");
    assert!(
        err.to_string().contains(
            "the peer speaks duplex protocol versions 4 to 5, this program speaks version 3"
        ),
        "{err}"
    );
}

/// A code duplex made up works once: the guest that joined with it is
/// given the next one (to come back with), the host is told it, and the
/// used code lets nobody else in. A code the person chose stays.
#[tokio::test]
async fn a_single_use_code_lets_one_guest_in_and_the_next_takes_its_place() {
    let mut host = start_host_with(
        "alice",
        HostPolicy {
            code: Some(handshake::CodeBook::single_use(CODE.to_owned())),
            ..HostPolicy::new(None)
        },
    );
    let mut bob = join_with_code(host.addr, "bob", Some(CODE))
        .await
        .expect("bob joins with the code");
    let (bob_on_host, _) = expect_joined(&mut host.events).await;
    let next = match next(&mut host.events).await {
        NetEvent::CodeChanged { code } => code,
        other => panic!("expected the next code, got {other:?}"),
    };
    assert_ne!(next, CODE);
    match next_within(&mut bob.events, WAIT).await {
        NetEvent::CodeChanged { code } => assert_eq!(code, next, "bob comes back with it"),
        other => panic!("expected the code to come back with, got {other:?}"),
    }
    // Someone who saw the first code on the host's screen gets nowhere.
    let stale = handshake_error(join_with_code(host.addr, "mallory", Some(CODE)).await);
    assert!(matches!(stale, HandshakeError::WrongCode { .. }), "{stale}");
    expect_rejected(&mut host.events).await;
    // Bob's connection drops; he comes back with the code he was given.
    let back = Hello {
        resume: bob.info.resume,
        ..Hello::new("bob")
    };
    drop(bob);
    expect_left(&mut host.events, bob_on_host.id).await;
    let (tx, _events) = mpsc::channel(EVENTS);
    let (info, _link) = net::connect(
        &target(host.addr),
        &back,
        Some(&next),
        tx,
        Limits::default(),
    )
    .await
    .expect("bob comes back with the new code");
    assert!(info.resumed);
}

#[tokio::test]
async fn a_code_the_person_chose_stays() {
    let mut host = start_host_with_code();
    let _bob = join_with_code(host.addr, "bob", Some(CODE))
        .await
        .expect("bob joins");
    match next(&mut host.events).await {
        NetEvent::Joined { .. } => {}
        other => panic!("expected only the join, got {other:?}"),
    }
}

/// A hostile host that asks the guest to wait again and again cannot keep
/// it hanging: the whole wait is at most the decision time past the
/// handshake limit, however many `Waiting` frames arrive.
#[tokio::test]
async fn a_host_asking_to_wait_for_ever_is_given_up_on() {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let (mut stream, peer) = listener.accept().await.expect("the guest");
        let Ok(Opening::Duplex(theirs)) = handshake::read_opening(&mut stream, None).await else {
            return;
        };
        let Ok(mut pending) =
            handshake::host_open(&mut stream, theirs, peer.ip(), &HostPolicy::new(None)).await
        else {
            return;
        };
        // "Wait a minute", every 50 ms, for ever.
        while pending.wait("hold on", 60).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let limits = Limits {
        handshake: Duration::from_millis(300),
        knock: Duration::from_millis(300),
        ..Limits::DEFAULT
    };
    let joined = tokio::time::timeout(WAIT, join_within(addr, "bob", None, limits))
        .await
        .expect("still waiting after 10 s: the host kept the guest hanging");
    let err = handshake_error(joined);
    assert!(matches!(err, HandshakeError::Timeout(_)), "{err}");
}
