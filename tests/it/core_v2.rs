//! The core's promises with real processes: participants are told apart
//! by connection, not by name; a backlog of any size drains once the peer
//! is back, window by window, without a drop-and-resume cycle; and scripts
//! see every delivery, drop and resume as it happens.
//!
//! Time limits are shortened through `DUPLEX_TEST_LIMITS` (read by debug
//! builds only), so "the peer went silent" takes a second, not fifteen.

use std::io::Write;
use std::process::ChildStdin;
use std::thread::JoinHandle;

use serde_json::Value;

use crate::common::headless::{Duplex, Setup, port_of};
use crate::common::{Result, Tui, chat_row};

/// A silence limit of three seconds (not fifteen), heartbeats well within
/// it, and handshakes that give up soon on a suspended host; generous
/// enough for a loaded machine running a debug build.
const FAST: (&str, &str) = (
    "DUPLEX_TEST_LIMITS",
    "heartbeat=300ms,silence=3s,handshake=3s",
);

/// How many lines the backlog tests pipe in: more than the 4,096 frames
/// duplex's send queue once held, and more than one window.
const BACKLOG: usize = 10_000;

fn host_args() -> Vec<&'static str> {
    vec![
        "host",
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--name",
        "alice",
        "--json",
    ]
}

fn join_args(addr: &str) -> Vec<&str> {
    vec!["join", addr, "--name", "bob", "--json"]
}

/// Writes every line to `stdin` on a thread (a pipe takes only so much at
/// a time); gives the pipe back, still open, when done.
fn pipe_in(mut stdin: ChildStdin, lines: &[String]) -> JoinHandle<ChildStdin> {
    let all: String = lines.iter().map(|line| format!("{line}\n")).collect();
    std::thread::spawn(move || {
        stdin.write_all(all.as_bytes()).expect("writes the backlog");
        stdin.flush().expect("flushes");
        stdin
    })
}

fn backlog() -> Vec<String> {
    (1..=BACKLOG).map(|n| format!("line {n:05}")).collect()
}

/// Reads `who`'s events until it has said `sent` for every line piped in
/// (each is written down and handed on by then) and, if `dropped`, until it
/// noticed its peer gone. Returns the events seen.
fn until_all_taken(who: &Duplex, dropped: bool) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut sent = 0;
    let mut gone = !dropped;
    while sent < BACKLOG || !gone {
        let event = who.json_all();
        match event["event"].as_str() {
            Some("sent") => sent += 1,
            Some("disconnected") => gone = true,
            _ => {}
        }
        seen.push(event);
    }
    seen
}

/// The texts of the next `count` messages `who` prints.
fn messages(who: &Duplex, count: usize) -> Vec<String> {
    let mut texts = Vec::with_capacity(count);
    while texts.len() < count {
        let event = who.json();
        if event["event"] == "message" {
            texts.push(event["text"].as_str().expect("text").to_owned());
        }
    }
    texts
}

fn count(events: &[Value], name: &str) -> usize {
    events.iter().filter(|event| event["event"] == name).count()
}

#[test]
fn two_people_with_one_name_see_every_message_told_apart() {
    let mut host = Duplex::host("x", &["--json"]);
    let port = port_of(&host.event("listening"));
    let mut guest = Duplex::join("x", port, &[]);
    let joined = host.event("joined");
    assert_eq!(joined["name"], "x (guest)", "{joined}");
    assert!(
        guest
            .stderr_line()
            .starts_with("duplex: connected to x (host) at 127.0.0.1:")
    );

    guest.send("from the guest");
    let message = host.event("message");
    assert_eq!(message["from"], "x (guest)", "{message}");
    assert_eq!(message["text"], "from the guest", "{message}");
    host.send("from the host");
    assert_eq!(guest.stdout_line(), "x (host): from the host");

    host.send("exit");
    assert!(host.exit().success());
    assert!(guest.exit().success());
}

#[test]
fn a_peer_named_like_you_is_drawn_as_the_peer() -> Result {
    let (alice, port) = Tui::host("alice", 24, 80)?;
    let twin = Tui::guest("alice", port, "alice", 24, 80)?;
    alice.wait_for("the twin to join", |s| s.status().contains("· connected"))?;
    twin.send_line("am I you?")?;
    let screen = alice.wait_for("the twin's line", |s| {
        s.pane()
            .iter()
            .any(|row| chat_row(row) == Some(("alice (guest)", "am I you?")))
    })?;
    assert!(
        !screen
            .pane()
            .iter()
            .any(|row| chat_row(row) == Some(("alice", "am I you?"))),
        "drawn as our own line:\n{screen}"
    );
    Ok(())
}

/// The reproduction: the host is suspended while the guest pipes
/// in more lines than one window (and more than the 4,096 frames a send
/// queue once held) and notices the host gone; then the host comes back.
#[test]
fn a_backlog_piped_while_the_host_is_suspended_arrives_once_each_in_order() {
    let setup = || Setup {
        env: &[FAST],
        state: None,
    };
    let host = Duplex::start_with("alice", &host_args(), setup());
    let addr = format!("127.0.0.1:{}", port_of(&host.event("listening")));
    let mut guest = Duplex::start_with("bob", &join_args(&addr), setup());
    host.event("joined");
    let joined = guest.event("joined");

    host.signal(libc::SIGSTOP);
    let lines = backlog();
    let writer = pipe_in(guest.stdin.take().expect("stdin"), &lines);
    let before = until_all_taken(&guest, true);
    let dropped = before
        .iter()
        .find(|event| event["event"] == "disconnected")
        .expect("a disconnection");
    assert_eq!(dropped["reason"], "silent", "{dropped}");
    host.signal(libc::SIGCONT);

    assert_eq!(messages(&host, BACKLOG), lines);
    // Every message is delivered, and the guest resumed once, with new
    // words it says have changed: no drop-and-resume cycle.
    let is_delivered = |e: &Value| e["event"] == "delivery" && e["state"] == "delivered";
    let mut all = before;
    let mut delivered = all.iter().filter(|e| is_delivered(e)).count();
    while delivered < BACKLOG {
        let event = guest.json_all();
        delivered += usize::from(is_delivered(&event));
        all.push(event);
    }
    assert_eq!(count(&all, "disconnected"), 1);
    assert_eq!(count(&all, "resumed"), 1);
    let resumed = all
        .iter()
        .find(|event| event["event"] == "resumed")
        .expect("resumed");
    assert_eq!(resumed["words_changed"], true, "{resumed}");
    assert_ne!(resumed["verification"], joined["verification"], "{resumed}");

    guest.stdin = Some(writer.join().expect("the writer"));
    guest.send("exit");
    assert!(guest.exit().success());
}

/// A guest killed with everything undelivered (its host was suspended)
/// restores the whole backlog from its journal when started again, and the
/// host gets each message once, in order.
#[test]
fn a_killed_guest_restores_a_backlog_from_its_journal_and_delivers_it() {
    let state = tempfile::tempdir().expect("a state directory");
    let host = Duplex::start_with(
        "alice",
        &host_args(),
        Setup {
            env: &[FAST],
            state: None,
        },
    );
    let addr = format!("127.0.0.1:{}", port_of(&host.event("listening")));
    let guest_setup = || Setup {
        env: &[FAST],
        state: Some(state.path()),
    };
    let mut guest = Duplex::start_with("bob", &join_args(&addr), guest_setup());
    host.event("joined");
    guest.event("joined");

    host.signal(libc::SIGSTOP);
    let lines = backlog();
    let writer = pipe_in(guest.stdin.take().expect("stdin"), &lines);
    until_all_taken(&guest, false);
    guest.signal(libc::SIGKILL);
    let _ = guest.child.wait();
    drop(writer.join());
    host.signal(libc::SIGCONT);

    let mut again = Duplex::start_with("bob", &join_args(&addr), guest_setup());
    let restored = again.event("info");
    assert!(
        restored["message"]
            .as_str()
            .is_some_and(|text| text.starts_with("10000 messages from before")),
        "{restored}"
    );
    let resumed = again.event("resumed");
    assert_eq!(resumed["restarted"], true, "{resumed}");
    assert_eq!(messages(&host, BACKLOG), lines);
    again.send("exit");
    assert!(again.exit().success());
}

/// A script pipes more than a window of lines and its input ends: the
/// guest leaves only once the host has every line (the end of input used
/// to be a goodbye sent after what was queued; with a window, what waits
/// in the outbox must not be dropped by leaving).
#[test]
fn the_end_of_piped_input_leaves_only_after_every_line_is_delivered() {
    let host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    let mut guest = Duplex::join("bob", port, &["--json"]);
    host.event("joined");
    guest.event("joined");
    let lines = backlog();
    let writer = pipe_in(guest.stdin.take().expect("stdin"), &lines);
    drop(writer.join().expect("the writer")); // the end of input
    assert_eq!(messages(&host, BACKLOG), lines);
    let left = host.event("left");
    assert_eq!(left["reason"], "left", "{left}");
    assert!(guest.exit().success());
}
