//! A guest finds its seat: one told "busy" by the host of its
//! conversation keeps trying instead of exiting; a plain client gives the
//! seat up when it says `exit` or goes idle, and the host serves the next.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use crate::common::headless::{Duplex, Setup, port_of};

/// README: "A guest told 'busy' by a host it was talking to keeps trying,
/// as after any drop, instead of exiting." Bob is killed; Carol takes the
/// seat (the host lets newcomers in: `--newcomers admit`); Bob, started
/// again with his journal, is told "busy": he waits and tries again, and
/// gets in once Carol has left.
#[test]
fn a_restarted_guest_told_busy_keeps_trying() {
    let state = tempfile::tempdir().expect("a state directory");
    let host = Duplex::host("alice", &["--json", "--newcomers", "admit"]);
    let port = port_of(&host.event("listening"));
    let addr = format!("127.0.0.1:{port}");
    let bob_args = ["join", addr.as_str(), "--name", "bob", "--json"];
    let bob_setup = || Setup {
        env: &[],
        state: Some(state.path()),
    };
    let mut bob = Duplex::start_with("bob", &bob_args, bob_setup());
    assert_eq!(host.event("joined")["name"], "bob");
    bob.event("joined");
    bob.signal(libc::SIGKILL);
    let _ = bob.child.wait();
    host.event("disconnected");

    let mut carol = Duplex::join("carol", port, &["--json"]);
    assert_eq!(host.until("joined")["name"], "carol");
    carol.event("joined");

    let mut bob = Duplex::start_with("bob", &bob_args, bob_setup());
    let error = bob.until("error");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("cannot reconnect yet:")
            && message.contains("already in a conversation"),
        "{error}"
    );
    assert!(
        matches!(bob.child.try_wait(), Ok(None)),
        "bob exited: {:?}",
        bob.rest_of_stderr()
    );

    carol.close_stdin();
    assert_eq!(host.until("left")["name"], "carol");
    assert!(carol.exit().success());
    let joined = bob.until("joined");
    assert_eq!(joined["name"], "alice", "{joined}");
    // A new participant to the host (Carol's session replaced the secret).
    assert_eq!(host.until("joined")["name"], "bob (guest 2)");
    bob.send("exit");
    assert!(bob.exit().success());
}

/// Every event up to (and with) the next one named `name`.
fn events_until(duplex: &Duplex, name: &str) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let event = duplex.json_all();
        let done = event["event"] == name;
        events.push(event);
        if done {
            return events;
        }
    }
}

/// A plain client on the host at `port`, that said `first`.
fn plain_client(port: u16, first: &str) -> TcpStream {
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connects");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    client
        .write_all(format!("{first}\n").as_bytes())
        .expect("writes");
    client
}

/// Reads until the host closes the connection; returns what came.
fn until_closed(client: &mut TcpStream) -> String {
    let mut rest = Vec::new();
    client
        .read_to_end(&mut rest)
        .expect("the host closes the connection");
    String::from_utf8_lossy(&rest).into_owned()
}

/// README: "a plain client's `exit` ends the conversation with that
/// client, and the host goes back to waiting, like the accept loop of a
/// socket server", and messages to it show "✓" sent, never "✗ not
/// delivered".
#[test]
fn a_plain_clients_exit_ends_only_its_conversation() {
    let mut host = Duplex::host("alice", &["--json", "--allow-plain"]);
    let port = port_of(&host.event("listening"));
    let mut client = plain_client(port, "hi");
    assert_eq!(host.event("joined")["plaintext"], true);
    assert_eq!(host.event("message")["text"], "hi");
    host.send("hello, netcat");
    let sent = events_until(&host, "sent");
    assert_eq!(sent.last().unwrap()["state"], "sent", "{sent:?}");
    let mut line = [0; 14];
    client.read_exact(&mut line).expect("the line");
    assert_eq!(&line, b"hello, netcat\n");

    client.write_all(b"exit\n").expect("writes");
    let mut seen = events_until(&host, "left");
    let left = seen.last().unwrap().clone();
    assert_eq!(left["reason"], "exit", "{left}");
    assert_eq!(until_closed(&mut client), "");

    // The host is still there, and the next guest gets in.
    let mut bob = Duplex::join("bob", port, &["--json"]);
    seen.extend(events_until(&host, "joined"));
    assert_eq!(seen.last().unwrap()["name"], "bob");
    assert_eq!(bob.event("joined")["name"], "alice");
    let failed: Vec<&Value> = seen
        .iter()
        .filter(|event| {
            event["event"] == "undelivered"
                || event["event"] == "delivery" && event["state"] != "sent"
        })
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    bob.send("exit");
    assert!(bob.exit().success());
    assert_eq!(host.until("left")["reason"], "exit");
    host.close_stdin();
    assert!(host.exit().success());
}

/// README: "a plain client that sends nothing for 10 minutes" (here one
/// second) is dropped, and the host waits for the next guest.
#[test]
fn an_idle_plain_client_gives_up_the_seat() {
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
            "--allow-plain",
        ],
        Setup {
            env: &[("DUPLEX_TEST_LIMITS", "plain_idle=1s")],
            state: None,
        },
    );
    let port = port_of(&host.event("listening"));
    let mut idle = plain_client(port, "hi");
    host.event("joined");
    assert_eq!(host.event("message")["text"], "hi");
    let left = host.until("left");
    assert_eq!(left["reason"], "idle", "{left}");
    assert_eq!(left["detail"], "it sent nothing for 1 second", "{left}");
    assert_eq!(until_closed(&mut idle), "");

    let _next = plain_client(port, "my turn");
    assert_eq!(host.until("joined")["plaintext"], true);
    assert_eq!(host.event("message")["text"], "my turn");
}
