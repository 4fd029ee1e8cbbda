//! Nothing lost, nothing doubled, every way out clean: each test plays an
//! accident (bad bytes on standard input, a receiver killed mid-stream, a
//! signal) and checks what the people on both ends see.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;

use crate::common::headless::{Duplex, Setup};

fn port_of(listening: &Value) -> u16 {
    listening["port"]
        .as_u64()
        .and_then(|port| u16::try_from(port).ok())
        .expect("a port")
}

/// The next `message` event `who` prints (skipping anything else).
fn next_message(who: &Duplex) -> Value {
    loop {
        let event = who.json();
        if event["event"] == "message" {
            return event;
        }
    }
}

#[test]
fn bytes_that_are_not_utf8_on_standard_input_are_sent_and_the_session_goes_on() {
    let host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    let mut guest = Duplex::join("bob", port, &["--json"]);
    host.event("joined");
    guest.event("joined");
    let stdin = guest.stdin.as_mut().expect("stdin is open");
    stdin
        .write_all(b"ok 1\n\xff\xfe bad\nok 2\n")
        .expect("writes the lines");
    stdin.flush().expect("flushes");
    let texts: Vec<Value> = (0..3)
        .map(|_| next_message(&host)["text"].clone())
        .collect();
    assert_eq!(texts, ["ok 1", "\u{fffd}\u{fffd} bad", "ok 2"]);
    // Still on: a later line arrives, and `exit` ends both normally.
    guest.send("still here");
    assert_eq!(next_message(&host)["text"], "still here");
    guest.send("exit");
    assert!(guest.exit().success());
}

/// How many lines the stream to a receiver that is killed carries.
const STREAM: usize = 1500;

/// The ids (`SESSION-SEQ`) and texts of the `message` events among `lines`.
fn messages_in(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["event"] == "message")
        .map(|event| {
            let id = event["id"].as_str().expect("an id").to_owned();
            (id, event["text"].as_str().expect("a text").to_owned())
        })
        .collect()
}

/// The sequence number of an id `SESSION-SEQ`.
fn seq(id: &str) -> u64 {
    id.split_once('-')
        .and_then(|(_, seq)| seq.parse().ok())
        .expect("an id SESSION-SEQ")
}

/// A receiver killed with SIGKILL in the middle of a stream and started
/// again (same state directory) prints every message exactly once, in
/// order, across both runs: what it printed before the kill is not printed
/// again when the sender sends it again.
#[test]
fn a_receiver_killed_mid_stream_prints_every_message_once_across_both_runs() {
    let state = tempfile::tempdir().expect("a state directory");
    let mut host = Duplex::host("alice", &["--json"]);
    let addr = format!("127.0.0.1:{}", port_of(&host.event("listening")));
    let guest_args = ["join", addr.as_str(), "--name", "bob", "--json"];
    let guest_setup = || Setup {
        env: &[],
        state: Some(state.path()),
    };
    let guest = Duplex::start_with("bob", &guest_args, guest_setup());
    host.event("joined");
    guest.event("joined");

    // A steady stream: acknowledgements trail what is printed by a few
    // milliseconds, so the kill lands between a message printed and its
    // acknowledgement.
    let mut stdin = host.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        for n in 1..=STREAM {
            writeln!(stdin, "line {n:05}").expect("writes a line");
            stdin.flush().expect("flushes");
            std::thread::sleep(Duration::from_millis(1));
        }
        stdin
    });
    let mut first = Vec::new();
    while first.len() < 300 {
        let line = guest.stdout_line();
        if !messages_in(std::slice::from_ref(&line)).is_empty() {
            first.push(line);
        }
    }
    guest.signal(libc::SIGKILL);
    first.extend(guest.rest_of_stdout());
    drop(guest);
    let first = messages_in(&first);
    assert!(first.len() < STREAM, "killed after the stream ended");

    let again = Duplex::start_with("bob", &guest_args, guest_setup());
    let mut second = Vec::new();
    let mut last = String::new();
    while last != format!("line {STREAM:05}") {
        let event = next_message(&again);
        last = event["text"].as_str().expect("a text").to_owned();
        second.push((
            event["id"].as_str().expect("an id").to_owned(),
            last.clone(),
        ));
    }
    let _stdin = writer.join().expect("the writer");

    let all: Vec<(String, String)> = first.iter().chain(&second).cloned().collect();
    let repeated: Vec<&(String, String)> = second
        .iter()
        .filter(|message| first.contains(message))
        .collect();
    assert!(
        repeated.is_empty(),
        "printed before the kill ({} messages) and again after it: {repeated:?}",
        first.len()
    );
    let texts: Vec<&str> = all.iter().map(|(_, text)| text.as_str()).collect();
    let expected: Vec<String> = (1..=STREAM).map(|n| format!("line {n:05}")).collect();
    assert_eq!(texts, expected, "every message once, in order");
    assert!(
        all.windows(2).all(|pair| seq(&pair[0].0) < seq(&pair[1].0)),
        "ids in order"
    );
}
