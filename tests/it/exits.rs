//! Nothing lost, nothing doubled, every way out clean: each test plays an
//! accident (bad bytes on standard input, a receiver killed mid-stream, a
//! signal) and checks what the people on both ends see.

use std::io::Write;

use serde_json::Value;

use crate::common::headless::Duplex;

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
