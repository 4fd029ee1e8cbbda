//! End-to-end reliability: two real `duplex` programs in pseudo-terminals
//! whose peer vanishes, is suspended, or restarts, and one that panics.

mod common;

use std::time::Duration;

use common::{Result, Screen, Tui};

const ROWS: u16 = 24;
const COLS: u16 = 100;

/// A host and a guest, connected.
fn pair() -> Result<(Tui, Tui, u16)> {
    let (host, port) = Tui::host("alice", ROWS, COLS)?;
    let guest = Tui::guest("bob", port, "alice", ROWS, COLS)?;
    host.wait_for("bob to join", |s| s.status().contains("· connected"))?;
    Ok((host, guest, port))
}

/// Whether `screen` shows `author: text` with the delivery mark `mark`
/// (`""` for someone else's message).
fn shows(screen: &Screen, author: &str, text: &str, mark: &str) -> bool {
    screen
        .pane()
        .iter()
        .any(|row| common::chat_row_with_mark(row) == Some((author, text, mark)))
}

/// How many times `screen` shows `author: text`.
fn count(screen: &Screen, author: &str, text: &str) -> usize {
    screen
        .pane()
        .iter()
        .filter(|row| common::chat_row(row) == Some((author, text)))
        .count()
}

fn system_line(screen: &Screen, starts: &str) -> bool {
    screen
        .pane()
        .iter()
        .any(|row| common::system_row(row).is_some_and(|t| t.starts_with(starts)))
}

#[test]
fn a_panic_restores_the_terminal() -> Result {
    let mut tui = Tui::spawn_env(
        "alice",
        &[
            "host",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--name",
            "alice",
        ],
        &[("DUPLEX_TEST_PANIC", "1")],
        ROWS,
        COLS,
    )?;
    let status = tui.wait_exit(Duration::from_secs(20))?;
    assert!(!status.success());
    tui.assert_restored();
    let raw = String::from_utf8_lossy(&tui.raw()).into_owned();
    assert!(raw.contains("panicking on purpose"), "{raw:?}");
    Ok(())
}

#[test]
fn delivery_marks_go_from_sent_to_delivered() -> Result {
    let (alice, bob, _) = pair()?;
    alice.send_line("are you there?")?;
    bob.wait_for("the message", |s| shows(s, "alice", "are you there?", ""))?;
    alice.wait_for("the acknowledgement", |s| {
        shows(s, "alice", "are you there?", "✓✓")
    })?;
    Ok(())
}

#[test]
fn a_suspended_guest_is_noticed_and_resumes_without_loss() -> Result {
    let (alice, bob, _) = pair()?;
    bob.signal(libc::SIGSTOP)?;
    // Heartbeats stop: the host notices within 15 s (allow for a slow machine).
    let lost = alice.wait_for_within("bob to be noticed gone", Duration::from_secs(25), |s| {
        system_line(s, "lost bob: no sign of life")
    })?;
    assert!(lost.status().contains("lost bob"), "{lost}");
    // Typed while bob is away: queued, shown as pending.
    alice.send_line("while you were away")?;
    alice.wait_for("the pending mark", |s| {
        shows(s, "alice", "while you were away", "⌛")
    })?;
    bob.signal(libc::SIGCONT)?;
    // Bob finds the connection dead, reconnects and resumes.
    alice.wait_for("bob to be back", |s| {
        system_line(s, "bob is back") && shows(s, "alice", "while you were away", "✓✓")
    })?;
    let screen = bob.wait_for("the queued message", |s| {
        shows(s, "alice", "while you were away", "")
    })?;
    assert_eq!(
        count(&screen, "alice", "while you were away"),
        1,
        "{screen}"
    );
    // And the conversation goes on both ways.
    bob.send_line("back again")?;
    alice.wait_for("bob's message", |s| shows(s, "bob", "back again", ""))?;
    Ok(())
}

#[test]
fn a_guest_reconnects_to_a_restarted_host_as_a_new_conversation() -> Result {
    let (mut alice, bob, port) = pair()?;
    alice.signal(libc::SIGKILL)?;
    let _ = alice.wait_exit(Duration::from_secs(10))?;
    let screen = bob.wait_for("bob to try again", |s| {
        s.status().contains("reconnecting to alice")
    })?;
    assert!(system_line(&screen, "alice disconnected"), "{screen}");
    bob.send_line("anyone?")?;
    bob.wait_for("the pending mark", |s| shows(s, "bob", "anyone?", "⌛"))?;
    // A new host on the same port (at once: SO_REUSEADDR).
    let port_arg = port.to_string();
    let alice = Tui::spawn(
        "alice again",
        &[
            "host",
            "--port",
            &port_arg,
            "--bind",
            "127.0.0.1",
            "--name",
            "alice",
        ],
        ROWS,
        COLS,
    )?;
    let screen = bob.wait_for("the new conversation", |s| {
        system_line(s, "alice restarted duplex: this is a new conversation")
            && s.status().contains("· connected")
    })?;
    assert!(!screen.status().contains("reconnecting"), "{screen}");
    alice.wait_for("what bob typed meanwhile", |s| {
        shows(s, "bob", "anyone?", "")
    })?;
    bob.wait_for("its delivery", |s| shows(s, "bob", "anyone?", "✓✓"))?;
    Ok(())
}

#[test]
fn diagnostics_go_to_the_log_file_not_the_screen() -> Result {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("duplex.log");
    let log_arg = log.to_string_lossy().into_owned();
    let (alice, port) = Tui::host_with("alice", &["--log-file", &log_arg], ROWS, COLS)?;
    // A client that sends garbage in place of a handshake.
    let mut stranger = std::net::TcpStream::connect(("127.0.0.1", port))?;
    std::io::Write::write_all(&mut stranger, b"\x00\xffnot duplex at all\r\n")?;
    let screen = alice.wait_for("the connection to be turned away", |s| {
        system_line(s, "turned away a connection from 127.0.0.1")
    })?;
    let text = String::from_utf8_lossy(&alice.raw()).into_owned();
    for level in ["INFO", "WARN", "DEBUG", "duplex::net"] {
        assert!(!text.contains(level), "log output on the screen:\n{screen}");
    }
    // The reason is in the log (it may take a moment to be written).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let written = std::fs::read_to_string(&log).unwrap_or_default();
        if written.contains("connection turned away") && written.contains("does not speak") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the log does not name the reason:\n{written}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
