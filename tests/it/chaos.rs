//! The chaos test: a proxy between a headless host and a headless guest cuts
//! their connection at random moments, at least 50 times, while both send a
//! stream of messages. At the end each side must have received every message
//! of the other exactly once, in order.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::headless::Duplex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Messages each side sends.
const MESSAGES: usize = 300;

/// Cuts the proxy makes.
const CUTS: u64 = 50;

/// How long everything may take, at the most.
const DEADLINE: Duration = Duration::from_secs(30);

/// A TCP proxy whose every connection can be cut at once.
struct Proxy {
    addr: SocketAddr,
    /// Bumped to cut every connection made before.
    cut: watch::Sender<u64>,
    /// Connections made so far.
    connections: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("has an address");
        let (cut, _) = watch::channel(0u64);
        let connections = Arc::new(AtomicU64::new(0));
        let cuts = cut.clone();
        let count = connections.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let mut cut = cuts.subscribe();
                let generation = *cut.borrow_and_update();
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let relay = async {
                        tokio::select! {
                            _ = tokio::io::copy(&mut cr, &mut sw) => {}
                            _ = tokio::io::copy(&mut sr, &mut cw) => {}
                        }
                    };
                    let cut_now = async {
                        while cut.changed().await.is_ok() {
                            if *cut.borrow() != generation {
                                return;
                            }
                        }
                    };
                    tokio::select! {
                        () = relay => {}
                        () = cut_now => {}
                    }
                    // Dropping both sockets closes both connections at once,
                    // losing whatever was still in flight.
                });
            }
        });
        Proxy {
            addr,
            cut,
            connections,
        }
    }

    fn cut(&self) {
        self.cut.send_modify(|generation| *generation += 1);
    }
}

/// What one side printed: the texts of the messages it received, and how
/// many times a conversation with the peer was (re-)established.
#[derive(Default)]
struct Seen {
    messages: Vec<String>,
    sessions: u64,
}

impl Seen {
    /// Takes every line `duplex` printed so far.
    fn drain(&mut self, duplex: &Duplex) {
        while let Ok(line) = duplex.stdout.try_recv() {
            self.take(&line);
        }
    }

    /// Waits for lines until `expected` messages arrived or `deadline` passed.
    fn wait_for(&mut self, duplex: &Duplex, expected: usize, deadline: Instant) {
        while self.messages.len() < expected {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = duplex.stdout.recv_timeout(left) else {
                break;
            };
            self.take(&line);
        }
    }

    fn take(&mut self, line: &str) {
        let event: Value = serde_json::from_str(line).expect("JSON events");
        let text = event["text"].as_str().or(event["message"].as_str());
        match event["event"].as_str() {
            Some("message") => self.messages.push(text.unwrap_or_default().to_owned()),
            Some("joined") => self.sessions += 1,
            Some("resumed") => self.sessions += 1,
            _ => {}
        }
    }
}

/// Writes `lines` to a process's standard input with small random pauses,
/// as a person or a script typing.
fn type_lines(
    mut stdin: std::process::ChildStdin,
    lines: Vec<String>,
    seed: u64,
) -> std::thread::JoinHandle<std::process::ChildStdin> {
    std::thread::spawn(move || {
        let mut rng = StdRng::seed_from_u64(seed);
        for line in lines {
            writeln!(stdin, "{line}").expect("writes a line");
            stdin.flush().expect("flushes");
            std::thread::sleep(Duration::from_millis(rng.random_range(0..30)));
        }
        stdin
    })
}

#[test]
fn fifty_cuts_lose_and_double_nothing() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut host = Duplex::host("alice", &["--json"]);
    let listening = host.event("listening");
    let port = listening["port"].as_u64().expect("a port") as u16;
    let proxy = runtime.block_on(Proxy::start(SocketAddr::from(([127, 0, 0, 1], port))));
    let mut guest = Duplex::join("bob", proxy.addr.port(), &["--json"]);
    let deadline = Instant::now() + DEADLINE;

    let sent_by =
        |who: &str| -> Vec<String> { (0..MESSAGES).map(|n| format!("{who}-{n:04}")).collect() };
    let (alice_lines, bob_lines) = (sent_by("alice"), sent_by("bob"));
    let alice_typing = type_lines(host.stdin.take().expect("stdin"), alice_lines.clone(), 1);
    let bob_typing = type_lines(guest.stdin.take().expect("stdin"), bob_lines.clone(), 2);

    // Each time the conversation is (re-)established, cut it again at a
    // random moment soon after, while both keep typing.
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let (mut alice, mut bob) = (Seen::default(), Seen::default());
    let mut cuts = 0;
    let mut cut_at = None;
    while cuts < CUTS {
        assert!(
            Instant::now() < deadline,
            "took too long: {cuts} cuts made, {} sessions",
            alice.sessions
        );
        alice.drain(&host);
        bob.drain(&guest);
        match cut_at {
            None if alice.sessions > cuts => {
                cut_at = Some(Instant::now() + Duration::from_millis(rng.random_range(0..60)));
            }
            Some(at) if Instant::now() >= at => {
                proxy.cut();
                cuts += 1;
                cut_at = None;
            }
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(proxy.connections.load(Ordering::SeqCst) >= CUTS);

    let mut alice_stdin = alice_typing.join().expect("alice typed");
    let bob_stdin = bob_typing.join().expect("bob typed");
    alice.wait_for(&host, MESSAGES, deadline);
    bob.wait_for(&guest, MESSAGES, deadline);
    let report = |got: &[String]| {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for text in got {
            *counts.entry(text).or_default() += 1;
        }
        let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
        format!("{} received, doubled: {doubled:?}", got.len())
    };
    assert_eq!(
        alice.messages,
        bob_lines,
        "alice: {}",
        report(&alice.messages)
    );
    assert_eq!(bob.messages, alice_lines, "bob: {}", report(&bob.messages));

    // `exit` ends both, and no late duplicate arrives before that (other
    // events may: the last cut's reconnection can still be under way).
    writeln!(alice_stdin, "exit").expect("writes exit");
    drop(alice_stdin);
    let no_late_messages = |rest: Vec<String>| {
        assert!(
            rest.iter().all(|line| {
                serde_json::from_str::<Value>(line).expect("JSON events")["event"] != "message"
            }),
            "late messages: {rest:?}"
        );
    };
    no_late_messages(host.rest_of_stdout());
    assert!(host.child.wait().expect("alice ends").success());
    drop(bob_stdin);
    no_late_messages(guest.rest_of_stdout());
    assert!(guest.child.wait().expect("bob ends").success());
}
