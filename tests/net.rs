//! Networking tests: a host and guests in one process over 127.0.0.1, on
//! ports the OS picks, plus raw sockets that play hand-written, broken or
//! hostile clients and servers.
//!
//! Nothing sleeps to synchronise: every step awaits the event it needs, with
//! a generous timeout so a broken build fails instead of hanging.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use duplex::net::{self, ConnId, Host, LeftReason, NetError, NetEvent, PeerInfo, PeerLink, Target};
use duplex::protocol::codec::{decode_body, encode_body};
use duplex::protocol::frame::MAX_TEXT_LEN;
use duplex::protocol::handshake::NOT_DUPLEX_REPLY;
use duplex::protocol::{ChatMessage, Frame, HandshakeError, Hello, MessageId, Preamble};
use rand::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// How long any one expected event may take.
const WAIT: Duration = Duration::from_secs(10);

/// Capacity of the event channels, as the program uses.
const EVENTS: usize = duplex::runtime::EVENT_QUEUE_LEN;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A host named alice on a free port of 127.0.0.1.
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

fn start_host() -> TestHost {
    let host = Host::bind(Some(LOCALHOST), 0).expect("binds a free port");
    let addr = host.local_addr();
    assert_eq!(addr.ip(), LOCALHOST);
    assert_ne!(addr.port(), 0);
    let (tx, events) = mpsc::channel(EVENTS);
    let task = host.spawn(Hello::new("alice"), tx);
    TestHost { addr, events, task }
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
    let (tx, events) = mpsc::channel(EVENTS);
    let (info, link) = net::connect(&target(addr), &Hello::new(name), tx).await?;
    Ok(TestGuest { info, link, events })
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
    match next(events).await {
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
        NetEvent::Rejected { addr, reason } => (addr, reason),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

fn chat(seq: u64, text: &str) -> Frame {
    Frame::Chat(ChatMessage {
        id: MessageId { session: 42, seq },
        sent_at_ms: 1_700_000_000_000,
        text: text.to_owned(),
    })
}

/// A frame as it travels: 4-byte big-endian length, then the postcard body.
fn wire(frame: &Frame) -> Vec<u8> {
    let body = encode_body(frame).expect("encodes");
    let mut bytes = u32::try_from(body.len())
        .expect("small frame")
        .to_be_bytes()
        .to_vec();
    bytes.extend_from_slice(&body);
    bytes
}

async fn read_frame(stream: &mut TcpStream) -> Frame {
    let mut len = [0; 4];
    stream.read_exact(&mut len).await.expect("a length prefix");
    let mut body = vec![0; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).await.expect("a frame body");
    decode_body(&body).expect("a valid frame")
}

/// A hand-written duplex guest: preamble and hello as raw bytes.
/// `after_hello` is written in the same write as the hello.
async fn raw_guest(addr: SocketAddr, name: &str, after_hello: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.set_nodelay(true).expect("sets nodelay");
    stream
        .write_all(&Preamble::current().to_bytes())
        .await
        .expect("writes the preamble");
    let mut hello = wire(&Frame::Hello(Hello::new(name)));
    hello.extend_from_slice(after_hello);
    stream.write_all(&hello).await.expect("writes the hello");
    let mut preamble = [0; Preamble::LEN];
    stream
        .read_exact(&mut preamble)
        .await
        .expect("the host's preamble");
    assert_eq!(preamble, Preamble::current().to_bytes());
    match read_frame(&mut stream).await {
        Frame::Hello(host) => assert_eq!(host.name, "alice"),
        other => panic!("expected the host's hello, got {other:?}"),
    }
    stream
}

/// Reads until the peer closes; returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut all))
        .await
        .expect("the peer closes the connection")
        .expect("reads until the close");
    all
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

/// The handshake reads with its own buffer, and `connection::spawn` hands
/// what it read past the hello to the reader with
/// `*reader.read_buffer_mut() = leftover`. That does not mark the buffer as
/// readable, so `FramedRead` first waits for the socket: frames that came in
/// the same read as the hello are delivered only once more bytes (or EOF)
/// arrive. Here the chat glued to the hello never shows up on its own.
#[tokio::test]
#[ignore = "bug: frames that arrive in the same read as the hello wait until more bytes come (leftover buffer not marked readable)"]
async fn a_frame_glued_to_the_guests_hello_is_delivered() {
    let mut host = start_host();
    let _stream = raw_guest(host.addr, "raw", &wire(&chat(1, "glued to the hello"))).await;
    let (raw, _) = expect_joined(&mut host.events).await;
    assert_eq!(
        expect_chat(&mut host.events, raw.id).await.text,
        "glued to the hello"
    );
}

/// The same on the guest's side: a host that sends a chat right after its
/// hello (a headless host with piped input does) can have it stuck in the
/// guest's buffer until its next frame.
#[tokio::test]
#[ignore = "bug: frames that arrive in the same read as the host's hello wait until more bytes come (leftover buffer not marked readable)"]
async fn a_frame_glued_to_the_hosts_hello_is_delivered() {
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    let (hold_tx, hold_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accepts");
        let mut preamble = [0; Preamble::LEN];
        stream.read_exact(&mut preamble).await.expect("a preamble");
        stream.write_all(&preamble).await.expect("answers");
        let Frame::Hello(_) = read_frame(&mut stream).await else {
            panic!("expected the guest's hello");
        };
        let mut reply = wire(&Frame::Hello(Hello::new("alice")));
        reply.extend_from_slice(&wire(&chat(1, "glued to the hello")));
        stream.write_all(&reply).await.expect("answers");
        let _ = hold_rx.await;
    });
    let mut guest = join(addr, "bob").await.expect("joins");
    expect_joined(&mut guest.events).await;
    assert_eq!(
        expect_chat(&mut guest.events, guest.info.id).await.text,
        "glued to the hello"
    );
    drop(hold_tx);
}

#[tokio::test]
async fn glued_and_fragmented_frames_from_a_raw_client() {
    let mut host = start_host();
    let mut stream = raw_guest(host.addr, "raw", &[]).await;
    let (raw, _) = expect_joined(&mut host.events).await;
    assert_eq!(raw.name, "raw");

    // Several frames in one write.
    let mut burst = Vec::new();
    for (seq, text) in [(2, "one"), (3, "two 二"), (4, "three 👨‍👩‍👧")] {
        burst.extend_from_slice(&wire(&chat(seq, text)));
    }
    stream.write_all(&burst).await.expect("writes");
    for text in ["one", "two 二", "three 👨‍👩‍👧"] {
        assert_eq!(expect_chat(&mut host.events, raw.id).await.text, text);
    }

    // One frame a byte at a time, followed by a frame whose first half
    // comes with the end of the previous one.
    let split = wire(&chat(5, "split across many writes"));
    for byte in &split {
        stream.write_all(&[*byte]).await.expect("writes");
        stream.flush().await.expect("flushes");
        tokio::task::yield_now().await;
    }
    assert_eq!(
        expect_chat(&mut host.events, raw.id).await.text,
        "split across many writes"
    );
    let mut two = wire(&chat(6, "straddling one"));
    two.extend_from_slice(&wire(&chat(7, "straddling two")));
    let (first, second) = two.split_at(two.len() / 2 + 3);
    stream.write_all(first).await.expect("writes");
    stream.flush().await.expect("flushes");
    tokio::task::yield_now().await;
    stream.write_all(second).await.expect("writes");
    for text in ["straddling one", "straddling two"] {
        assert_eq!(expect_chat(&mut host.events, raw.id).await.text, text);
    }

    // Nothing was doubled or invented on the way.
    stream
        .write_all(&wire(&Frame::Leave))
        .await
        .expect("writes");
    assert_eq!(
        expect_left(&mut host.events, raw.id).await,
        LeftReason::Left
    );
}

#[tokio::test]
async fn a_raw_client_receives_frames_from_the_host() {
    let mut host = start_host();
    let mut stream = raw_guest(host.addr, "raw", &[]).await;
    let (raw, to_raw) = expect_joined(&mut host.events).await;
    for seq in 1..=3 {
        to_raw.send(chat(seq, &format!("n{seq}"))).expect("queued");
    }
    to_raw.send(Frame::Bye).expect("queued");
    for seq in 1..=3 {
        assert_eq!(read_frame(&mut stream).await, chat(seq, &format!("n{seq}")));
    }
    assert_eq!(read_frame(&mut stream).await, Frame::Bye);
    drop(stream);
    assert_eq!(
        expect_left(&mut host.events, raw.id).await,
        LeftReason::Closed
    );
}

/// What a hostile client sends once its handshake is done.
async fn hostile_after_handshake(payload: &[u8], close: bool) -> LeftReason {
    let mut host = start_host();
    let mut stream = raw_guest(host.addr, "mallory", &[]).await;
    let (mallory, _) = expect_joined(&mut host.events).await;
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

fn error_text(reason: &LeftReason) -> &str {
    match reason {
        LeftReason::Error(why) => why,
        other => panic!("expected Left with an error, got {other:?}"),
    }
}

#[tokio::test]
async fn random_bytes_after_the_handshake_drop_the_connection() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xD0_9E_E5);
    let mut noise = vec![0; 4096];
    rng.fill_bytes(&mut noise);
    let reason = hostile_after_handshake(&noise, false).await;
    error_text(&reason);
}

#[tokio::test]
async fn an_oversized_length_prefix_drops_the_connection() {
    let reason = hostile_after_handshake(&[0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3], false).await;
    assert!(error_text(&reason).contains("limit"), "{reason:?}");
}

#[tokio::test]
async fn a_frame_cut_short_by_a_close_is_an_error() {
    let mut cut = wire(&chat(1, "this frame never ends"));
    cut.truncate(cut.len() - 5);
    let reason = hostile_after_handshake(&cut, true).await;
    assert!(
        error_text(&reason).contains("middle of a frame"),
        "{reason:?}"
    );
}

/// A length prefix alone, then the close: the stream ended inside a frame,
/// yet the host reports an orderly close.
#[tokio::test]
#[ignore = "bug: a close right after a length prefix (no body bytes yet) is reported as Left(Closed), not as a truncated frame"]
async fn a_close_right_after_a_length_prefix_is_an_error() {
    let reason = hostile_after_handshake(&100u32.to_be_bytes(), true).await;
    assert!(
        error_text(&reason).contains("middle of a frame"),
        "{reason:?}"
    );
}

#[tokio::test]
async fn an_undecodable_body_drops_the_connection() {
    let reason = hostile_after_handshake(&[0, 0, 0, 3, 0xFF, 0xFF, 0xFF], false).await;
    assert!(error_text(&reason).contains("undecodable"), "{reason:?}");
}

#[tokio::test]
async fn invalid_utf8_in_a_message_drops_the_connection() {
    let mut body = encode_body(&chat(1, "ab")).expect("encodes");
    let last = body.len() - 1;
    body[last] = 0xFF; // the text's last byte
    let mut frame = u32::try_from(body.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    frame.extend_from_slice(&body);
    let reason = hostile_after_handshake(&frame, false).await;
    assert!(error_text(&reason).contains("undecodable"), "{reason:?}");
}

#[tokio::test]
async fn trailing_bytes_in_a_frame_drop_the_connection() {
    let mut body = encode_body(&Frame::Leave).expect("encodes");
    body.push(0);
    let mut frame = u32::try_from(body.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    frame.extend_from_slice(&body);
    let reason = hostile_after_handshake(&frame, false).await;
    assert!(error_text(&reason).contains("trailing"), "{reason:?}");
}

#[tokio::test]
async fn hostile_handshakes_are_rejected_and_the_host_keeps_accepting() {
    let mut host = start_host();
    let preamble = Preamble::current().to_bytes();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut noise = vec![0; 256];
    rng.fill_bytes(&mut noise);
    noise[0] = b'X'; // never the magic

    let mut oversized_hello = preamble.to_vec();
    oversized_hello.extend_from_slice(&[0xFF; 4]);
    let mut garbage_hello = preamble.to_vec();
    garbage_hello.extend_from_slice(&[0, 0, 0, 2, 0xFF, 0xFF]);
    let mut chat_instead_of_hello = preamble.to_vec();
    chat_instead_of_hello.extend_from_slice(&wire(&chat(1, "hi")));
    let mut truncated_hello = preamble.to_vec();
    truncated_hello.extend_from_slice(&wire(&Frame::Hello(Hello::new("cut")))[..6]);
    let mut other_version = preamble;
    other_version[7] = other_version[7].wrapping_add(1);

    let cases: [(&str, &[u8], &str); 7] = [
        ("random bytes", &noise, "does not speak the duplex protocol"),
        ("oversized hello", &oversized_hello, "limit"),
        ("undecodable hello", &garbage_hello, "undecodable"),
        ("chat before hello", &chat_instead_of_hello, "chat frame"),
        ("truncated hello", &truncated_hello, "middle of a frame"),
        ("preamble only", &preamble, "closed"),
        ("another version", &other_version, "version"),
    ];
    for (what, bytes, needle) in cases {
        let mut stream = TcpStream::connect(host.addr).await.expect("connects");
        let local = stream.local_addr().expect("local address");
        stream.write_all(bytes).await.expect("writes");
        stream.shutdown().await.expect("shuts down");
        let (from, reason) = expect_rejected(&mut host.events).await;
        assert_eq!(from, local, "{what}");
        assert!(reason.contains(needle), "{what}: {reason}");
        read_to_close(&mut stream).await;
    }
    a_guest_can_still_join(&mut host).await;
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

/// `nc HOST 7878`, then `hello` and Enter: six bytes. The host waits for
/// the eight bytes of a preamble, so the user sees nothing, and after the
/// 10-second handshake timeout the host hangs up without the explanation.
#[tokio::test]
#[ignore = "bug: a plain-text line shorter than 8 bytes gets no NOT_DUPLEX_REPLY; the host waits for the handshake timeout, then closes silently"]
async fn a_short_plain_text_line_is_told_how_to_connect() {
    let mut host = start_host();
    let mut stream = TcpStream::connect(host.addr).await.expect("connects");
    stream.write_all(b"hello\n").await.expect("writes");
    let mut reply = vec![0; NOT_DUPLEX_REPLY.len()];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut reply))
        .await
        .expect("a reply before the handshake timeout")
        .expect("the whole reply");
    assert_eq!(String::from_utf8_lossy(&reply), NOT_DUPLEX_REPLY);
    expect_rejected(&mut host.events).await;
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
            source: HandshakeError::Refused(reason),
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
async fn a_guest_that_drops_its_link_frees_the_slot() {
    let mut host = start_host();
    let bob = join(host.addr, "bob").await.expect("bob joins");
    let (bob_on_host, _) = expect_joined(&mut host.events).await;
    // Dropping every link closes the socket without a goodbye.
    drop(bob);
    assert_eq!(
        expect_left(&mut host.events, bob_on_host.id).await,
        LeftReason::Closed
    );
    a_guest_can_still_join(&mut host).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_does_not_hold_up_the_next_guest() {
    let mut host = start_host();
    // Connects and says nothing.
    let started = Instant::now();
    let mut silent = TcpStream::connect(host.addr).await.expect("connects");
    let silent_addr = silent.local_addr().expect("local address");

    // Meanwhile a real guest joins at once.
    let mut bob = join(host.addr, "bob").await.expect("bob joins");
    let (bob_on_host, _) = expect_joined(&mut host.events).await;
    expect_joined(&mut bob.events).await;
    assert!(started.elapsed() < Duration::from_secs(5));

    // The silent one is turned away after the handshake timeout.
    let wait = net::connection::HANDSHAKE_TIMEOUT + WAIT;
    let (from, reason) = expect_rejected_within(&mut host.events, wait).await;
    assert_eq!(from, silent_addr);
    assert!(
        reason.contains("did not complete the handshake"),
        "{reason}"
    );
    assert!(started.elapsed() >= net::connection::HANDSHAKE_TIMEOUT);
    read_to_close(&mut silent).await;
    // Bob is still there.
    bob.link.send(chat(1, "still here")).expect("queued");
    assert_eq!(
        expect_chat(&mut host.events, bob_on_host.id).await.text,
        "still here"
    );
}

#[tokio::test]
async fn joining_a_port_where_nothing_listens_says_refused() {
    // A port that was free a moment ago.
    let listener = TcpListener::bind((LOCALHOST, 0)).await.expect("binds");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
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
        net::connect(&target, &Hello::new("bob"), tx),
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
            source: HandshakeError::NotDuplex { first_bytes },
            ..
        } => assert_eq!(first_bytes, "HTTP/1.1"),
        other => panic!("expected NotDuplex, got {other:?}"),
    }
    // The guest spoke first, with its preamble.
    assert_eq!(
        server.await.expect("server"),
        Preamble::current().to_bytes()
    );
}

#[tokio::test]
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
    let err = tokio::time::timeout(net::connection::HANDSHAKE_TIMEOUT + WAIT, join(addr, "bob"))
        .await
        .expect("gives up by itself")
        .err()
        .expect("times out");
    assert!(
        matches!(
            &err,
            NetError::Handshake {
                source: HandshakeError::Timeout(10),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() >= net::connection::HANDSHAKE_TIMEOUT);
    drop(hold_tx);
}
