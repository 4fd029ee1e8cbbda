//! Nothing lost, nothing doubled, every way out clean: each test plays an
//! accident (bad bytes on standard input, a receiver killed mid-stream, a
//! signal) and checks what the people on both ends see.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::headless::{Duplex, Setup, port_of};
use crate::common::{
    ENTER_ALT_SCREEN, Error, LEAVE_ALT_SCREEN, MOUSE_OFF, MOUSE_ON, Reading, Result, TIMEOUT, Tui,
    find, rfind, system_row,
};

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

/// SIGINT to a headless duplex (Ctrl-C on its terminal, `kill -INT`)
/// leaves as Ctrl-C in the TUI does: the peer is told, and the status is 130.
#[test]
fn sigint_to_a_headless_duplex_leaves_the_conversation() {
    let host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    let mut guest = Duplex::join("bob", port, &["--json"]);
    host.event("joined");
    guest.event("joined");
    guest.signal(libc::SIGINT);
    let left = host.event("left");
    assert_eq!(left["reason"], "left", "{left}");
    assert_eq!(guest.exit().code(), Some(130));
}

/// Waits (up to [`TIMEOUT`]) until everything `tui` wrote satisfies `cond`.
fn wait_raw(tui: &Tui, what: &str, cond: impl Fn(&[u8]) -> bool) -> Result {
    let deadline = Instant::now() + TIMEOUT;
    while !cond(&tui.raw()) {
        if Instant::now() >= deadline {
            let raw = tui.raw();
            let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(600)..]).into_owned();
            return Err(Error(format!(
                "[{}] not within {TIMEOUT:?}: {what}; the output ends with {tail:?}",
                tui.label()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// The process state letter of `pid` (`T` when stopped), from /proc.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn connected_pair() -> Result<(Tui, Tui)> {
    let (host, port) = Tui::host("alice", 24, 80)?;
    let guest = Tui::guest("bob", port, "alice", 24, 80)?;
    host.wait_for("bob to join", |s| s.status().contains("· connected"))?;
    Ok((host, guest))
}

/// SIGINT to the TUI leaves as its Ctrl-C does: the peer sees "left" (not
/// a dropped connection), the terminal is put back, the status is 130.
#[test]
fn sigint_to_the_tui_leaves_and_restores_the_terminal() -> Result {
    let (alice, mut bob) = connected_pair()?;
    bob.signal(libc::SIGINT)?;
    bob.expect_exit(130)?;
    bob.assert_restored();
    let raw = bob.raw();
    let (left, mouse_off) = (rfind(&raw, LEAVE_ALT_SCREEN), rfind(&raw, MOUSE_OFF));
    assert!(left > rfind(&raw, ENTER_ALT_SCREEN) && mouse_off > rfind(&raw, MOUSE_ON));
    alice.wait_for("bob to leave", |s| {
        s.pane()
            .iter()
            .any(|row| system_row(row) == Some("bob left"))
    })?;
    Ok(())
}

/// Ctrl-Z (a key in raw mode) and SIGTSTP give the terminal back and stop
/// duplex, as vim and less do; once continued it takes the screen again
/// and draws the conversation.
#[test]
fn ctrl_z_and_sigtstp_suspend_and_sigcont_redraws() -> Result {
    let (alice, bob) = connected_pair()?;
    alice.send_line("said before the suspension")?;
    bob.wait_for("the message", |s| s.contains("said before the suspension"))?;
    for how in ["Ctrl-Z", "SIGTSTP"] {
        let before = bob.raw().len();
        if how == "Ctrl-Z" {
            bob.send_keys("\x1a")?;
        } else {
            bob.signal(libc::SIGTSTP)?;
        }
        wait_raw(&bob, &format!("{how}: the terminal given back"), |raw| {
            let after = &raw[before..];
            rfind(after, LEAVE_ALT_SCREEN) > rfind(after, ENTER_ALT_SCREEN)
                && find(after, MOUSE_OFF).is_some()
        })?;
        let deadline = Instant::now() + TIMEOUT;
        while process_state(bob.pid()) != Some('T') {
            assert!(Instant::now() < deadline, "{how}: bob did not stop");
            std::thread::sleep(Duration::from_millis(10));
        }
        let stopped = bob.raw().len();
        bob.signal(libc::SIGCONT)?;
        wait_raw(
            &bob,
            &format!("{how}: the screen taken and drawn again"),
            |raw| {
                let after = &raw[stopped..];
                find(after, ENTER_ALT_SCREEN).is_some_and(|entered| {
                    // Drawn word by word: the last one is enough.
                    find(&after[entered..], b"suspension").is_some()
                }) && find(after, MOUSE_ON).is_some()
            },
        )?;
        bob.wait_for("the conversation on screen", |s| {
            s.alternate_screen() && s.contains("said before the suspension")
        })?;
    }
    Ok(())
}

/// A TUI whose standard output is not a terminal (`duplex host > file`
/// from a terminal) says why in one line and exits, writing nothing there.
#[test]
fn a_tui_whose_output_is_not_a_terminal_says_why_and_exits() -> Result {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("out");
    let command = format!(
        "exec '{}' host --port 0 --bind 127.0.0.1 --name alice > '{}'",
        env!("CARGO_BIN_EXE_duplex"),
        file.display()
    );
    let mut tui = Tui::spawn_program(
        "redirected",
        "/bin/sh",
        &["-c", &command],
        24,
        100,
        Reading::Frames,
    )?;
    let status = tui.wait_exit(TIMEOUT)?;
    assert_eq!(status.exit_code(), 1, "{status:?}");
    let raw = String::from_utf8_lossy(&tui.raw()).into_owned();
    assert!(
        raw.contains("duplex: standard output is not a terminal") && raw.contains("use --headless"),
        "{raw:?}"
    );
    assert!(!raw.contains("\x1b[?1049h"), "{raw:?}");
    assert_eq!(std::fs::read(&file)?, b"", "nothing written to the file");
    Ok(())
}

/// Ctrl-C with a message the peer has not acknowledged (the host is
/// stopped) asks once; the second Ctrl-C leaves, and the terminal keeps
/// the message that did not make it.
#[test]
fn ctrl_c_twice_leaves_with_an_undelivered_message() -> Result {
    let (alice, mut bob) = connected_pair()?;
    alice.signal(libc::SIGSTOP)?;
    bob.send_line("are you there?")?;
    bob.wait_for("the message sent", |s| s.contains("bob: are you there? ✓"))?;
    bob.ctrl_c()?;
    bob.wait_for("the question", |s| {
        s.status().trim() == "1 message not delivered · Ctrl-C again to leave"
    })?;
    assert!(bob.is_running()?, "bob left at the first Ctrl-C");
    bob.ctrl_c()?;
    bob.expect_exit(0)?;
    bob.assert_restored();
    assert!(
        bob.screen().contains("bob: are you there?"),
        "{}",
        bob.screen()
    );
    alice.signal(libc::SIGCONT)?;
    alice.wait_for("bob to leave", |s| {
        s.pane()
            .iter()
            .any(|row| system_row(row) == Some("bob left"))
    })?;
    Ok(())
}

/// Any other key than Ctrl-C cancels the question and types as usual.
#[test]
fn another_key_cancels_the_ctrl_c_question() -> Result {
    let (_alice, bob) = connected_pair()?;
    bob.send_keys("draft")?;
    bob.ctrl_c()?;
    bob.wait_for("the question", |s| {
        s.status().trim() == "your draft is not sent · Ctrl-C again to leave"
    })?;
    bob.send_keys("s")?;
    let screen = bob.wait_for("the question gone", |s| s.status().contains("● alice"))?;
    assert_eq!(
        screen.input().first().map(|row| row.trim_end()),
        Some("drafts"),
        "{screen}"
    );
    assert!(bob.is_running()?);
    Ok(())
}
