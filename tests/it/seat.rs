//! A guest finds its seat: one told "busy" by the host of its
//! conversation keeps trying instead of exiting.

use serde_json::Value;

use crate::common::headless::{Duplex, Setup};

fn port_of(listening: &Value) -> u16 {
    listening["port"]
        .as_u64()
        .and_then(|port| u16::try_from(port).ok())
        .expect("a port")
}

/// The next event of `duplex` named `name`, skipping others.
fn until(duplex: &Duplex, name: &str) -> Value {
    loop {
        let event = duplex.json();
        if event["event"] == name {
            return event;
        }
    }
}

/// README: "A guest told 'busy' by a host it was talking to keeps trying,
/// as after any drop, instead of exiting." Bob is killed; Carol takes the
/// seat; Bob, started again with his journal, is told "busy": he waits and
/// tries again, and gets in once Carol has left.
#[test]
fn a_restarted_guest_told_busy_keeps_trying() {
    let state = tempfile::tempdir().expect("a state directory");
    let host = Duplex::host("alice", &["--json"]);
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
    assert_eq!(until(&host, "joined")["name"], "carol");
    carol.event("joined");

    let mut bob = Duplex::start_with("bob", &bob_args, bob_setup());
    let error = until(&bob, "error");
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
    assert_eq!(until(&host, "left")["name"], "carol");
    assert!(carol.exit().success());
    let joined = until(&bob, "joined");
    assert_eq!(joined["name"], "alice", "{joined}");
    // A new participant to the host (Carol's session replaced the secret).
    assert_eq!(until(&host, "joined")["name"], "bob (guest 2)");
    bob.send("exit");
    assert!(bob.exit().success());
}
