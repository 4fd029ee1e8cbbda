//! The host survives what clients throw at it: bursts of connections that
//! never finish a handshake, peers that stop reading, and garbage sent while
//! a conversation goes on. In-process, over 127.0.0.1 port 0.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use duplex::domain::{LeftReason, Limits};
use duplex::net::connection::LANE_BUDGET;
use duplex::net::handshake::{self, HostPolicy};
use duplex::net::{self, Host, NetEvent, PeerLink, SendError, Target};
use duplex::protocol::{ChatMessage, Frame, Hello, MessageId};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// How long an expected event may take.
const WAIT: Duration = Duration::from_secs(20);

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn start_host() -> (SocketAddr, mpsc::Receiver<NetEvent>) {
    start_host_within(Limits::default()).await
}

async fn start_host_within(limits: Limits) -> (SocketAddr, mpsc::Receiver<NetEvent>) {
    let host = Host::bind(Some(LOCALHOST), 0).expect("binds");
    let addr = host.local_addr();
    let (tx, rx) = mpsc::channel(1024);
    let policy = HostPolicy {
        limits,
        ..HostPolicy::new(None)
    };
    host.spawn(Hello::new("alice"), policy, tx);
    (addr, rx)
}

fn target(addr: SocketAddr) -> Target {
    Target {
        host: addr.ip().to_string(),
        port: addr.port(),
    }
}

fn chat(seq: u64, text: &str) -> Frame {
    Frame::Chat(ChatMessage {
        id: MessageId { session: 42, seq },
        sent_at_ms: 0,
        text: text.to_owned(),
        action: false,
    })
}

/// The next event that is not a rejection of some other connection.
async fn next_event(events: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
    loop {
        match timeout(WAIT, events.recv()).await {
            Ok(Some(NetEvent::Rejected { .. })) => continue,
            Ok(Some(event)) => return event,
            Ok(None) => panic!("the event channel closed"),
            Err(_) => panic!("no event within {WAIT:?}"),
        }
    }
}

/// Joins `addr` as bob; returns the host's link to bob and bob's own link
/// and events.
async fn join_bob(
    addr: SocketAddr,
    host_events: &mut mpsc::Receiver<NetEvent>,
) -> (PeerLink, PeerLink, mpsc::Receiver<NetEvent>) {
    let (tx, mut bob_events) = mpsc::channel(1024);
    let (_, bob_link) = timeout(
        WAIT,
        net::connect(
            &target(addr),
            &Hello::new("bob"),
            None,
            tx,
            Limits::default(),
        ),
    )
    .await
    .expect("bob connects in time")
    .expect("bob connects");
    let NetEvent::Joined { link, .. } = next_event(host_events).await else {
        panic!("expected bob to join");
    };
    assert!(matches!(
        next_event(&mut bob_events).await,
        NetEvent::Joined { .. }
    ));
    (link, bob_link, bob_events)
}

/// Raises the open-file limit as far as allowed; returns it.
#[allow(unsafe_code)]
fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

#[tokio::test]
async fn a_burst_of_connections_that_never_finish_does_not_keep_a_guest_out() {
    // Each idle connection costs two descriptors in this process.
    let count = ((raise_fd_limit().saturating_sub(256)) / 2).min(2000) as usize;
    assert!(count >= 500, "too few file descriptors to test with");
    let (addr, mut host_events) = start_host().await;
    let mut idle = Vec::with_capacity(count);
    for _ in 0..count {
        idle.push(TcpStream::connect(addr).await.expect("connects"));
    }
    // While they all sit there, a real guest joins at once and chats.
    let (link, _bob, mut bob_events) = join_bob(addr, &mut host_events).await;
    link.send(chat(1, "still here")).expect("queues");
    let NetEvent::Chat { msg, .. } = next_event(&mut bob_events).await else {
        panic!("expected a message");
    };
    assert_eq!(msg.text, "still here");
    drop(idle);
}

#[tokio::test]
async fn a_peer_that_stops_reading_fills_a_bounded_queue() {
    let (addr, mut host_events) = start_host().await;
    // A guest that completes the handshake and then never reads.
    let mut stalled = TcpStream::connect(addr).await.expect("connects");
    let _established = handshake::guest(&mut stalled, &Hello::new("stalled"), None)
        .await
        .expect("handshake");
    let NetEvent::Joined { link, .. } = next_event(&mut host_events).await else {
        panic!("expected the guest to join");
    };
    let text = "x".repeat(1024);
    // The socket buffers take some; then the queue fills and says so,
    // rather than growing without bound.
    let limit = LANE_BUDGET / 1000 + 100_000;
    let mut queued = 0;
    let full = loop {
        match link.send(chat(queued as u64 + 1, &text)) {
            Ok(()) => queued += 1,
            Err(err) => break err,
        }
        assert!(queued < limit, "the queue never filled");
        if queued % 256 == 0 {
            // Let the writer move what it can into the socket.
            tokio::task::yield_now().await;
        }
    };
    assert_eq!(full, SendError::Full);
    drop(stalled);
}

/// A peer that completes the handshake, keeps sending heartbeats (so it is
/// not silent), but never reads: the host drops it once nothing it writes
/// moves for the stall limit, and says why.
#[tokio::test]
async fn a_peer_that_never_reads_is_dropped_after_the_stall_limit() {
    let limits = Limits {
        stall: Duration::from_millis(300),
        ..Limits::default()
    };
    let (addr, mut host_events) = start_host_within(limits).await;
    let mut stalled = TcpStream::connect(addr).await.expect("connects");
    let established = handshake::guest(&mut stalled, &Hello::new("stalled"), None)
        .await
        .expect("handshake");
    let NetEvent::Joined { link, info } = next_event(&mut host_events).await else {
        panic!("expected the guest to join");
    };
    // It still talks: heartbeats on a writer of its own.
    let (_, write_half) = stalled.into_split();
    let (_, sealer) = established.codec.split();
    let mut writer = tokio_util::codec::FramedWrite::new(write_half, sealer);
    let heartbeats = tokio::spawn(async move {
        use futures::SinkExt;
        while writer.send(Frame::Heartbeat).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let text = "x".repeat(1024);
    for seq in 1..=20_000 {
        if link.send(chat(seq, &text)).is_err() {
            break;
        }
        if seq % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let reason = loop {
        match next_event(&mut host_events).await {
            NetEvent::Left { from, reason } if from == info.id => break reason,
            _ => {}
        }
    };
    assert_eq!(reason, LeftReason::Stalled(limits.stall));
    heartbeats.abort();
}

#[tokio::test]
async fn garbage_from_strangers_does_not_disturb_a_conversation() {
    let (addr, mut host_events) = start_host().await;
    let (host_to_bob, bob_to_host, mut bob_events) = join_bob(addr, &mut host_events).await;
    let garbage: [&[u8]; 5] = [
        b"\x00\x01\x02 random bytes \xff\xfe",
        &[0xff, 0xff, 0xff, 0xff],
        b"DUPLEX\x00\x01\x00\x00\x00\x10short",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"DUPLEX\x00\x09",
    ];
    for (n, bytes) in garbage.iter().enumerate() {
        let mut stranger = TcpStream::connect(addr).await.expect("connects");
        stranger.write_all(bytes).await.expect("writes");
        drop(stranger);
        // The conversation goes on both ways.
        host_to_bob
            .send(chat(n as u64 + 1, "to bob"))
            .expect("queues");
        let NetEvent::Chat { msg, .. } = next_event(&mut bob_events).await else {
            panic!("expected a message for bob");
        };
        assert_eq!(msg.text, "to bob");
        bob_to_host
            .send(chat(n as u64 + 1, "to alice"))
            .expect("queues");
        let NetEvent::Chat { msg, .. } = next_event(&mut host_events).await else {
            panic!("expected a message for alice");
        };
        assert_eq!(msg.text, "to alice");
    }
}
