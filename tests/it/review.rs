//! Reproductions from the attacker's and careless user's review of core
//! v2. Each test states the promise it holds the code to; each failed on the
//! reviewed code.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use duplex::app::{App, Effect, Event, Output, Role};
use duplex::domain::{Limits, PeerInfo, Security};
use duplex::history::Delivery;
use duplex::net::handshake::{self, HostPolicy};
use duplex::net::{Host, NetEvent, PeerLink};
use duplex::protocol::{Frame, HandshakeError, Hello, MessageId};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::{Framed, FramedParts};

use crate::common::headless::{Duplex, Setup, port_of};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(10);

/// docs/protocol.md: "a peer from which nothing at all arrived for 15 s is
/// gone", and even kinds are how newer peers add features (a typing
/// indicator, file chunks on the bulk lane). A newer peer that keeps
/// sending optional frames resets its own heartbeat timer with each of
/// them (every send counts), so it never sends a `Heartbeat`: this build
/// must count those frames as signs of life, or it drops a perfectly live
/// peer as "silent" and both sides go through a drop-and-resume cycle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_frames_from_a_newer_peer_are_signs_of_life() {
    let host = Duplex::start_with(
        "alice",
        &[
            "host",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--name",
            "alice",
            "--json",
        ],
        Setup {
            env: &[("DUPLEX_TEST_LIMITS", "heartbeat=200ms,silence=1s")],
            ..Setup::default()
        },
    );
    let port = port_of(&host.event("listening"));
    let mut stream = TcpStream::connect((LOCALHOST, port))
        .await
        .expect("connects");
    let established = handshake::guest(&mut stream, &Hello::new("nova"), None)
        .await
        .expect("handshake");
    let framed = Framed::from_parts(FramedParts::new(stream, established.codec));
    let (mut sink, mut source) = framed.split();
    // Read (and discard) whatever the host sends, so it never stalls.
    tokio::spawn(async move { while let Some(Ok(_)) = source.next().await {} });
    assert_eq!(host.event("joined")["name"], "nova");
    // Three seconds of a "typing indicator" every 200 ms, and nothing else.
    let started = Instant::now();
    let mut closed = None;
    while started.elapsed() < Duration::from_secs(3) {
        if let Err(err) = sink
            .send(Frame::Unknown {
                kind: 1000,
                body: b"typing".to_vec(),
            })
            .await
        {
            closed = Some(err);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let events: Vec<serde_json::Value> = host
        .stdout
        .try_iter()
        .map(|line| serde_json::from_str(&line).expect("JSON"))
        .collect();
    assert!(
        !events.iter().any(|event| event["event"] == "disconnected"),
        "a peer that kept sending was dropped as silent: {events:?}"
    );
    assert!(
        closed.is_none(),
        "the host closed the connection: {closed:?}"
    );
}

/// The guest in the conversation's seat comes back over a new connection
/// before the host saw its old one end (its network changed: the old
/// socket is half-open on the host). `app::on_joined` says it "replaces the
/// current one", and `Conversation` says only the seat's token resumes;
/// but the guest slot of the old connection was still held, so the seat's
/// own token was refused as "busy" until the host's silence limit ended the
/// old connection. Now it takes its seat over, and the host ends the old
/// connection at once.
#[tokio::test]
async fn the_seats_own_guest_resumes_while_its_old_connection_lingers() {
    let host = Host::bind(Some(LOCALHOST), 0).expect("binds");
    let addr: SocketAddr = host.local_addr();
    let (events_tx, mut events) = mpsc::channel(duplex::runtime::EVENT_QUEUE_LEN);
    let task = host.spawn(Hello::new("alice"), HostPolicy::new(None), events_tx);

    let mut first = TcpStream::connect(addr).await.expect("connects");
    let established = handshake::guest(&mut first, &Hello::new("bob"), None)
        .await
        .expect("the first handshake");
    let token = established.peer.resume.expect("the host gives a token");
    let Some(NetEvent::Joined { info: old, .. }) =
        tokio::time::timeout(WAIT, events.recv()).await.unwrap()
    else {
        panic!("joined")
    };

    // `first` stays open, as a half-open socket would look to the host.
    let mut again = Hello::new("bob");
    again.resume = Some(token);
    let mut second = TcpStream::connect(addr).await.expect("connects");
    let outcome = handshake::guest(&mut second, &again, None).await;
    match outcome {
        Ok(established) => assert!(established.peer.resumed, "resumed"),
        Err(HandshakeError::Refused(reason)) => {
            panic!("the seat's own token was refused: {reason}")
        }
        Err(err) => panic!("{err}"),
    }
    // The host ends the old connection, and the new one is the guest's.
    let mut joined_again = false;
    let mut old_left = false;
    while !(joined_again && old_left) {
        match tokio::time::timeout(WAIT, events.recv()).await {
            Ok(Some(NetEvent::Joined { info, .. })) => {
                assert!(info.resumed, "the new connection resumes");
                assert_ne!(info.id, old.id);
                joined_again = true;
            }
            Ok(Some(NetEvent::Left { from, .. })) => {
                assert_eq!(from, old.id, "only the old connection ends");
                old_left = true;
            }
            Ok(Some(_)) => {}
            other => panic!("expected the resume and the old connection's end: {other:?}"),
        }
    }
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(
        WAIT,
        tokio::io::AsyncReadExt::read_to_end(&mut first, &mut rest),
    )
    .await
    .expect("the host closes the old connection");
    // Someone else is still turned away.
    let mut third = TcpStream::connect(addr).await.expect("connects");
    let outcome = handshake::guest(&mut third, &Hello::new("mallory"), None).await;
    assert!(
        matches!(outcome, Err(HandshakeError::Refused(_))),
        "busy: {outcome:?}"
    );
    task.abort();
    drop(second);
}

/// A peer acknowledges messages that were never sent to it (an ack "from
/// the future": a buggy or hostile peer, or a confused one). The outbox
/// pops them as delivered although they never left: they are marked
/// "delivered" (✓✓, `"state":"delivered"`) and are never sent.
/// An acknowledgement can only cover what is in flight.
#[test]
fn an_ack_for_messages_never_sent_does_not_mark_them_delivered() {
    let mut app = App::new("bob", Role::Guest, 2);
    app.limits = Limits {
        window: 100,
        ..Limits::default()
    };
    let info = PeerInfo {
        id: 7,
        name: "alice".to_owned(),
        addr: "127.0.0.1:5000".parse().unwrap(),
        security: Security::Encrypted {
            verification: "amber-otter-violin-maple".to_owned(),
            with_code: false,
        },
        resumed: false,
        resume: None,
        caps: Default::default(),
    };
    app.update(Event::Net(NetEvent::Joined {
        info,
        link: PeerLink::detached(7),
    }));
    let mut sent = Vec::new();
    for n in 1..=5 {
        for effect in app.update(Event::Submit(format!(
            "message number {n} {}",
            "x".repeat(40)
        ))) {
            if let Effect::Send {
                frame: Frame::Chat(msg),
                ..
            } = effect
            {
                sent.push(msg.id.seq);
            }
        }
    }
    assert_eq!(sent, [1], "the window of 100 bytes lets one go");
    let effects = app.update(Event::Net(NetEvent::Ack {
        from: 7,
        up_to: MessageId { session: 2, seq: 5 },
    }));
    let delivered: Vec<u64> = effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Output(Output::Delivery {
                id,
                delivery: Delivery::Delivered,
            }) => Some(id.seq),
            _ => None,
        })
        .collect();
    assert_eq!(
        delivered,
        [1],
        "messages 2..5 never went out, yet were marked delivered"
    );
}

/// Headless text mode prints one stderr line per event. When the host
/// types `exit`, the guest prints the system line *and* the exit message,
/// which say the same thing twice:
///   duplex: alice ended the conversation
///   duplex: alice ended the conversation.
#[test]
fn the_end_of_the_conversation_is_said_once_in_text_mode() {
    let mut host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    let mut guest = Duplex::join("bob", port, &[]);
    assert_eq!(host.event("joined")["name"], "bob");
    assert!(guest.stderr_line().contains("connected to alice (host, "));
    host.send("exit");
    assert!(host.exit().success());
    assert!(guest.exit().success());
    let rest = guest.rest_of_stderr();
    let ends: Vec<&String> = rest
        .iter()
        .filter(|line| line.contains("ended the conversation"))
        .collect();
    assert_eq!(ends.len(), 1, "{rest:?}");
}

/// The host was restarted with a secret code (or upgraded past protocol
/// version 2, or locks the guest out after wrong codes): every attempt of
/// the dropped guest to reconnect fails for a reason only its user can
/// act on. `App::on_net` swallows `ConnectFailed` while dropped (the reason
/// is thrown away), so the guest retries every 10 s forever and never
/// says why: no `error`/`info` line in headless or `--json` mode, nothing
/// but a countdown in the TUI. Meanwhile the host logs a `rejected` line
/// per attempt.
#[test]
fn a_guest_that_cannot_reconnect_says_why() {
    let mut host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    let guest = Duplex::join("bob", port, &["--json"]);
    assert_eq!(guest.event("joined")["name"], "alice");
    host.signal(libc::SIGKILL);
    let _ = host.child.wait();
    assert_eq!(guest.event("disconnected")["name"], "alice");
    let port_arg = port.to_string();
    let again = Duplex::start(
        "alice",
        &[
            "host",
            "--port",
            &port_arg,
            "--bind",
            "127.0.0.1",
            "--name",
            "alice",
            "--secret",
            "amber-otter-violin",
            "--json",
        ],
    );
    let _ = again.event("listening");
    // Several attempts fail within this time (at once, 250 ms, 500 ms, 1 s, 2 s).
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut said = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match guest.stdout.recv_timeout(left) {
            Ok(line) => said.push(line),
            Err(_) => break,
        }
    }
    assert!(
        said.iter().any(|line| line.contains("secret code")),
        "the guest never said why it cannot get back in: {said:?}"
    );
}

/// The host dies; what the guest types meanwhile waits in its outbox. A
/// program that is *not* that host takes over the address (any local user
/// can bind the freed port; or someone on the path). It cannot know the
/// guest's token, but it does not need to: the guest believes the host's
/// `resumed: true` (and without it, takes the new host for a restarted one
/// and sends anyway, `guest_again`). Either way the queued messages go out
/// at once, to an unverified session, before the user could compare the
/// new verification words. The host should prove it holds the
/// conversation (for example the token as a pre-shared key of the resumed
/// session), and a new host should not receive the queue unasked. (Now the
/// host proves the resume secret of the verified session, and a guest
/// whose host does not holds back what it queued.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_do_not_go_to_whoever_takes_over_the_hosts_address() {
    let mut host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    let mut guest = Duplex::join("bob", port, &["--json"]);
    assert_eq!(guest.event("joined")["name"], "alice");
    host.signal(libc::SIGKILL);
    let _ = host.child.wait();
    assert_eq!(guest.event("disconnected")["name"], "alice");
    guest.send("the secret plan");

    let impostor = tokio::net::TcpListener::bind((LOCALHOST, port))
        .await
        .expect("the freed port");
    let (mut stream, addr) = tokio::time::timeout(WAIT, impostor.accept())
        .await
        .expect("the guest comes back")
        .expect("accepts");
    let handshake::Opening::Duplex(theirs) = handshake::read_opening(&mut stream, None)
        .await
        .expect("an opening")
    else {
        panic!("a duplex guest")
    };
    let (established, ()) = handshake::host(
        &mut stream,
        theirs,
        addr.ip(),
        &HostPolicy::new(None),
        |guest| {
            Ok((
                (),
                Hello {
                    resume: guest.resume,
                    resumed: true,
                    ..Hello::new("alice")
                },
            ))
        },
    )
    .await
    .expect("the impostor's handshake");
    let mut framed = Framed::from_parts({
        let mut parts = FramedParts::new(stream, established.codec);
        parts.read_buf = established.leftover;
        parts
    });
    let deadline = Instant::now() + Duration::from_secs(3);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, framed.next()).await {
            Ok(Some(Ok(Frame::Chat(msg)))) => {
                panic!("the impostor got {:?} without proving anything", msg.text)
            }
            Ok(Some(Ok(_))) => {}
            Ok(_) | Err(_) => break,
        }
    }
}

fn encrypted_peer(id: u64, name: &str) -> PeerInfo {
    PeerInfo {
        id,
        name: name.to_owned(),
        addr: "127.0.0.1:5000".parse().unwrap(),
        security: Security::Encrypted {
            verification: "amber-otter-violin-maple".to_owned(),
            with_code: false,
        },
        resumed: false,
        resume: None,
        caps: Default::default(),
    }
}

/// "Participants by connection": two guests who both call themselves bob
/// are two participants, never merged. But a name is qualified only by
/// the peer's *role* (`guest`), so the earlier bob and the one who joined
/// after him are drawn identically, `bob (guest)`, in the history: an
/// impostor who takes a departed guest's name is indistinguishable from
/// him on screen (the earlier lines are even relabelled from `bob` to
/// `bob (guest)` when the second one arrives).
#[test]
fn two_guests_with_one_name_are_told_apart_in_the_history() {
    let mut app = App::new(
        "alice",
        Role::Host {
            local: "127.0.0.1:7878".parse().unwrap(),
            hints: vec![],
            code: None,
            show_code: true,
        },
        1,
    );
    let mut authors = Vec::new();
    for (conn, seq) in [(1, 1), (2, 1)] {
        app.update(Event::Net(NetEvent::Joined {
            info: encrypted_peer(conn, "bob"),
            link: PeerLink::detached(conn),
        }));
        for effect in app.update(Event::Net(NetEvent::Chat {
            from: conn,
            msg: duplex::protocol::ChatMessage {
                id: MessageId {
                    session: 100 + conn,
                    seq,
                },
                sent_at_ms: 0,
                text: format!("I am bob number {conn}"),
                action: false,
            },
        })) {
            if let Effect::Output(Output::Message { author, .. }) = effect {
                authors.push(author);
            }
        }
        app.update(Event::Net(NetEvent::Left {
            from: conn,
            reason: duplex::domain::LeftReason::Left,
        }));
    }
    assert_eq!(authors.len(), 2);
    assert_ne!(authors[0], authors[1], "two participants");
    let first = app.history.author_name(authors[0]).into_owned();
    let second = app.history.author_name(authors[1]).into_owned();
    assert_ne!(first, second, "both are drawn as {first:?}");
}

/// A connected peer sends frames that do not belong mid-conversation (a
/// `Hello` again, a `Refused`): each is "ignored" with a `warn!` line in
/// the log (`--log-file`, default filter `info`), unthrottled. A ~60-byte
/// frame costs the host a ~150-byte log line, so a peer can fill the
/// disk at network speed. (Unknown optional kinds are logged at `debug`,
/// so they are fine by default.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_cannot_fill_the_log_with_ignored_frames() {
    let dir = tempfile::tempdir().expect("a directory");
    let log = dir.path().join("duplex.log");
    let log_arg = log.to_str().expect("a UTF-8 path").to_owned();
    let host = Duplex::start(
        "alice",
        &[
            "host",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--name",
            "alice",
            "--json",
            "--log-file",
            &log_arg,
        ],
    );
    let port = port_of(&host.event("listening"));
    let mut stream = TcpStream::connect((LOCALHOST, port))
        .await
        .expect("connects");
    let established = handshake::guest(&mut stream, &Hello::new("nova"), None)
        .await
        .expect("handshake");
    let framed = Framed::from_parts(FramedParts::new(stream, established.codec));
    let (mut sink, mut source) = framed.split();
    tokio::spawn(async move { while let Some(Ok(_)) = source.next().await {} });
    assert_eq!(host.event("joined")["name"], "nova");
    let before = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    const FRAMES: usize = 5000;
    for _ in 0..FRAMES {
        sink.feed(Frame::Hello(Hello::new("nova")))
            .await
            .expect("sends");
    }
    sink.flush().await.expect("flushes");
    // Something the host answers, to know it read everything before it.
    sink.send(Frame::Chat(duplex::protocol::ChatMessage {
        id: MessageId { session: 1, seq: 1 },
        sent_at_ms: 0,
        text: "done".to_owned(),
        action: false,
    }))
    .await
    .expect("sends");
    assert_eq!(host.event("message")["text"], "done");
    let after = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    assert!(
        after - before < 100,
        "{} log lines for {FRAMES} ignored frames",
        after - before
    );
}
