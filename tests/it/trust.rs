//! Messages go only where they were meant to go: a stranger never takes a
//! lost guest's place (nor its messages, nor its journal), and a guest
//! that finds a new conversation at its host's address holds what it typed
//! for the earlier one until its person decides.

use crate::common::headless::{Duplex, Setup, port_of};
use crate::common::pty::{Result, Tui};

/// A port of 127.0.0.1 that was free a moment ago (a host on a fixed port
/// keeps a journal; one on port 0 could not be found again).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

fn journals(state: &std::path::Path) -> usize {
    std::fs::read_dir(state.join("duplex"))
        .map(|dir| dir.count())
        .unwrap_or(0)
}

/// README: "While the host waits for a guest whose connection dropped, a
/// newcomer does not take its place unless the host's person lets it in".
/// Bob is killed with a message for him on its way; Carol, a stranger,
/// tries to join (and would say goodbye at once): she is turned away, bob's
/// message is not given up, the journal stays, and bob, started again,
/// gets the message.
#[test]
fn a_stranger_cannot_take_a_lost_guests_place_nor_end_its_conversation() {
    let host_state = tempfile::tempdir().expect("a state directory");
    let bob_state = tempfile::tempdir().expect("a state directory");
    let port = free_port().to_string();
    let host_args = [
        "host",
        "--port",
        &port,
        "--bind",
        "127.0.0.1",
        "--name",
        "alice",
        "--json",
    ];
    let mut alice = Duplex::start_with(
        "alice",
        &host_args,
        Setup {
            env: &[],
            state: Some(host_state.path()),
        },
    );
    assert_eq!(port_of(&alice.event("listening")).to_string(), port);
    let addr = format!("127.0.0.1:{port}");
    let bob_args = ["join", addr.as_str(), "--name", "bob", "--json"];
    let bob_setup = || Setup {
        env: &[],
        state: Some(bob_state.path()),
    };
    let bob = Duplex::start_with("bob", &bob_args, bob_setup());
    assert_eq!(alice.until("joined")["name"], "bob");
    bob.until("joined");
    // Bob takes nothing in, then dies.
    bob.signal(libc::SIGSTOP);
    alice.send("for bob");
    bob.signal(libc::SIGKILL);
    assert_eq!(alice.until("disconnected")["name"], "bob");

    let carol_args = ["join", addr.as_str(), "--name", "carol", "--json"];
    let mut carol = Duplex::start_with("carol", &carol_args, Setup::default());
    carol.send("exit"); // a goodbye, if she ever got in
    let rejected = alice.until("rejected");
    assert_eq!(rejected["kind"], "away", "{rejected}");
    let error = carol.until("error");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("waiting for its guest to come back")),
        "{error}"
    );
    assert!(!carol.exit().success(), "carol was let in");
    assert_eq!(journals(host_state.path()), 1, "the journal is gone");

    let bob = Duplex::start_with("bob", &bob_args, bob_setup());
    let resumed = alice.until("resumed");
    assert_eq!(resumed["name"], "bob", "{resumed}");
    let message = bob.until("message");
    assert_eq!(message["text"], "for bob", "{message}");
    let delivered = alice.until("delivery");
    assert_eq!(delivered["state"], "delivered", "{delivered}");
}

/// README: "What the guest typed for the earlier conversation is held"
/// (headless: until `/held send` or `/held discard`). Alice's host is
/// killed and started afresh on the same port while bob, cut off, types a
/// line: the new alice gets nothing until bob says so.
#[test]
fn a_guest_holds_what_it_typed_for_an_earlier_conversation() {
    let port = free_port().to_string();
    let host_args = [
        "host",
        "--port",
        &port,
        "--bind",
        "127.0.0.1",
        "--name",
        "alice",
        "--json",
        "--ephemeral",
    ];
    let alice = Duplex::start("alice", &host_args);
    alice.event("listening");
    let addr = format!("127.0.0.1:{port}");
    let mut bob = Duplex::start("bob", &["join", &addr, "--name", "bob", "--json"]);
    alice.until("joined");
    bob.until("joined");
    let mut alice = alice;
    alice.signal(libc::SIGKILL);
    let _ = alice.child.wait(); // its port is free once it is gone
    bob.until("disconnected");
    bob.send("anyone?");
    let sent = bob.until("sent");
    assert_eq!(sent["state"], "queued", "{sent}");

    let mut alice = Duplex::start("alice", &host_args);
    alice.event("listening");
    alice.until("joined");
    let held = bob.until("held");
    assert_eq!(held["count"], 1, "{held}");
    bob.send("hello, new alice");
    let first = alice.until("message");
    assert_eq!(first["text"], "hello, new alice", "held one went unasked");
    bob.send("/held send");
    let second = alice.until("message");
    assert_eq!(second["text"], "anyone?", "{second}");
    alice.send("exit");
    bob.until("left");
    assert!(bob.exit().success());
    assert!(alice.exit().success());
}

/// The chat screen asks the host's person: bob is lost, carol knocks, the
/// question names both, `n` turns carol away, and when dave knocks `y`
/// lets him in (and only then is what bob never got given up).
#[test]
fn the_host_is_asked_on_screen_before_a_newcomer_takes_a_lost_guests_place() -> Result {
    let (alice, port) = Tui::host("alice", 24, 100)?;
    let bob = Duplex::join("bob", port, &["--json"]);
    alice.wait_for("bob", |s| s.contains("bob joined"))?;
    bob.signal(libc::SIGSTOP);
    alice.send_line("for bob")?;
    alice.wait_for("the message sent", |s| {
        s.pane().iter().any(|row| row.contains("for bob"))
    })?;
    bob.signal(libc::SIGKILL);
    alice.wait_for("bob lost", |s| {
        s.status().contains("waiting for them to come back")
    })?;

    let mut carol = Duplex::join("carol", port, &["--json"]);
    let screen = alice.wait_for("the question", |s| {
        s.contains("someone new calling itself carol wants to join while bob is away")
            && s.contains("n turn away")
    })?;
    assert!(!screen.contains("not delivered"), "{screen}");
    alice.send_keys("n")?;
    alice.wait_for("carol turned away", |s| s.contains("turned carol away"))?;
    let error = carol.until("error");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("waiting for its guest"))
    );
    assert!(!carol.exit().success());

    let dave = Duplex::join("dave", port, &["--json"]);
    alice.wait_for("the question", |s| {
        s.contains("someone new calling itself dave")
    })?;
    alice.send_keys("y")?;
    let screen = alice.wait_for("dave in", |s| {
        s.contains("dave joined") && s.contains("✗ not delivered")
    })?;
    assert!(screen.contains("dave was let in"), "{screen}");
    assert_eq!(dave.until("joined")["name"], "alice");
    Ok(())
}

/// README: "a code duplex made up lets one guest in" and "a guest comes
/// back with the next one, also when started again". Bob joins with the
/// code alice's host made up; the host makes the next one (a `code` event);
/// the first no longer works for anyone; bob, killed and started again the
/// same way (the old code in his environment), resumes all the same.
#[test]
fn a_made_up_code_works_once_and_its_guest_comes_back_with_the_next() {
    let alice = Duplex::host("alice", &["--json", "--secret"]);
    let listening = alice.event("listening");
    let port = port_of(&listening);
    let join = listening["join"][0].as_str().expect("a join command");
    let code = join
        .strip_prefix("DUPLEX_SECRET=")
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the code in the join command")
        .to_owned();
    let state = tempfile::tempdir().expect("a state directory");
    let addr = format!("127.0.0.1:{port}");
    let bob_args = ["join", addr.as_str(), "--name", "bob", "--json"];
    let env = [("DUPLEX_SECRET", code.as_str())];
    let bob_setup = || Setup {
        env: &env,
        state: Some(state.path()),
    };
    let bob = Duplex::start_with("bob", &bob_args, bob_setup());
    alice.until("joined");
    let next = alice.until("code");
    let next = next["code"].as_str().expect("the next code").to_owned();
    assert_ne!(next, code);
    bob.until("joined");

    let mut carol = Duplex::start_with(
        "carol",
        &["join", addr.as_str(), "--name", "carol", "--json"],
        Setup {
            env: &env,
            state: None,
        },
    );
    let rejected = alice.until("rejected");
    assert_eq!(rejected["kind"], "wrong-code", "{rejected}");
    carol.until("error");
    assert!(!carol.exit().success());

    bob.signal(libc::SIGKILL);
    alice.until("disconnected");
    let bob = Duplex::start_with("bob", &bob_args, bob_setup());
    let resumed = alice.until("resumed");
    assert_eq!(resumed["name"], "bob", "{resumed}");
    // Nothing was owed either way: for bob's new run, alice just joined.
    assert_eq!(bob.until("joined")["name"], "alice");
}

/// README: `--newcomers ask` needs the chat screen; headless there is
/// nobody to ask, so it is refused with a clear error instead of hanging
/// newcomers.
#[test]
fn asking_about_newcomers_needs_the_chat_screen() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_duplex"))
        .args(["host", "--headless", "--newcomers", "ask", "--port", "0"])
        .env("XDG_STATE_HOME", std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--newcomers ask needs the chat screen"),
        "{stderr}"
    );
}
