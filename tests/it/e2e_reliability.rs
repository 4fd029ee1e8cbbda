//! End-to-end reliability: two real `duplex` programs in pseudo-terminals
//! whose peer vanishes, is suspended, or restarts, and one that panics.

use std::time::Duration;

use crate::common::{Result, Screen, Tui};

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
        .any(|row| crate::common::chat_row_with_mark(row) == Some((author, text, mark)))
}

/// How many times `screen` shows `author: text`.
fn count(screen: &Screen, author: &str, text: &str) -> usize {
    screen
        .pane()
        .iter()
        .filter(|row| crate::common::chat_row(row) == Some((author, text)))
        .count()
}

fn system_line(screen: &Screen, starts: &str) -> bool {
    screen
        .pane()
        .iter()
        .any(|row| crate::common::system_row(row).is_some_and(|t| t.starts_with(starts)))
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

/// Time limits shortened for the tests that are about them, so the test
/// waits two seconds of silence instead of the real fifteen (debug builds
/// read `DUPLEX_TEST_LIMITS`; the limits are data).
const SHORT_SILENCE: (&str, &str) = ("DUPLEX_TEST_LIMITS", "heartbeat=250ms,silence=2s");

#[test]
fn a_suspended_guest_is_noticed_and_resumes_without_loss() -> Result {
    let (alice, port) = Tui::host_env("alice", &[], &[SHORT_SILENCE], ROWS, COLS)?;
    let bob = Tui::guest_with("bob", port, "alice", &[], &[SHORT_SILENCE], ROWS, COLS)?;
    alice.wait_for("bob to join", |s| s.status().contains("· connected"))?;
    bob.signal(libc::SIGSTOP)?;
    // Heartbeats stop: the host notices once the silence limit has passed.
    let lost = alice.wait_for("bob to be noticed gone", |s| {
        system_line(s, "lost bob: no sign of life for 2 seconds")
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
    let home = tempfile::tempdir()?; // a new HOME: nothing kept from the last run
    let alice = host_alice_on(port, &home, "alice again")?;
    let screen = bob.wait_for("the new conversation", |s| {
        s.contains("is a new conversation") && s.status().contains("· connected")
    })?;
    assert!(!screen.status().contains("reconnecting"), "{screen}");
    // What bob typed for the earlier conversation does not go to a host
    // that could not prove it is the same one, unasked: it is held, and
    // bob is asked.
    let screen = bob.wait_for("the question", |s| {
        s.contains("held: send it to alice") && s.contains("y send")
    })?;
    assert!(shows(&screen, "bob", "anyone?", "⌛"), "{screen}");
    let before = alice.wait_for("bob on alice's screen", |s| s.contains("bob joined"))?;
    assert_eq!(
        count(&before, "bob", "anyone?"),
        0,
        "sent unasked: {before}"
    );
    // Bob says yes: it goes, as a new message, once.
    bob.send_keys("y")?;
    alice.wait_for("the held message", |s| shows(s, "bob", "anyone?", ""))?;
    bob.send_line("hello again")?;
    let screen = alice.wait_for("bob's new message", |s| shows(s, "bob", "hello again", ""))?;
    assert_eq!(count(&screen, "bob", "anyone?"), 1, "{screen}");
    Ok(())
}

/// Starts alice as a host on `port` (of 127.0.0.1) with `home` as HOME.
fn host_alice_on(port: u16, home: &tempfile::TempDir, label: &str) -> Result<Tui> {
    let port = port.to_string();
    let args = [
        "host",
        "--port",
        &port,
        "--bind",
        "127.0.0.1",
        "--name",
        "alice",
    ];
    Tui::spawn_at(label, &args, &[], home.path(), ROWS, COLS)
}

/// The journals a HOME holds.
fn journals(home: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(home.join(".local/state/duplex"))
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn join_at(home: &std::path::Path, port: u16, label: &str) -> Result<Tui> {
    let addr = format!("127.0.0.1:{port}");
    Tui::spawn_at(
        label,
        &["join", &addr, "--name", "bob"],
        &[],
        home,
        ROWS,
        COLS,
    )
}

/// Kills `victim` while its last message is undelivered (the survivor is
/// stopped and cannot acknowledge it), lets the survivor notice (`gone`)
/// and write meanwhile, starts the victim again with `restart`, and checks
/// that both carry on with nothing lost or doubled. Returns the new victim.
fn kill_and_start_again(
    mut victim: Tui,
    victim_name: &str,
    survivor: &Tui,
    survivor_name: &str,
    gone: impl Fn(&Screen) -> bool,
    restart: impl FnOnce() -> Result<Tui>,
) -> Result<Tui> {
    let (last_words, meanwhile) = ("said just before the kill", "written meanwhile");
    survivor.signal(libc::SIGSTOP)?;
    victim.send_line(last_words)?;
    victim.wait_for("the sent mark", |s| shows(s, victim_name, last_words, "✓"))?;
    victim.signal(libc::SIGKILL)?;
    let _ = victim.wait_exit(Duration::from_secs(10))?;
    survivor.signal(libc::SIGCONT)?;
    survivor.wait_for("the victim to be gone", gone)?;
    survivor.send_line(meanwhile)?;
    survivor.wait_for("the pending mark", |s| {
        shows(s, survivor_name, meanwhile, "⌛")
    })?;

    let victim = restart()?;
    let resumed = format!("Resumed the conversation with {survivor_name}");
    let screen = victim.wait_for("the victim to carry on", |s| {
        system_line(s, &resumed)
            && shows(s, victim_name, last_words, "✓✓")
            && shows(s, survivor_name, meanwhile, "")
    })?;
    assert!(screen.status().contains("· connected"), "{screen}");
    let back = format!("{victim_name} is back");
    let screen = survivor.wait_for("the survivor's message to be delivered", |s| {
        system_line(s, &back) && shows(s, survivor_name, meanwhile, "✓✓")
    })?;
    // Got before the kill and again after it: shown once.
    assert_eq!(count(&screen, victim_name, last_words), 1, "{screen}");
    Ok(victim)
}

#[test]
fn a_killed_guest_started_again_resumes_and_loses_nothing() -> Result {
    let (alice, port) = Tui::host("alice", ROWS, COLS)?;
    let bob_home = tempfile::tempdir()?;
    let bob = join_at(bob_home.path(), port, "bob")?;
    alice.wait_for("bob to join", |s| s.status().contains("· connected"))?;
    let gone = |s: &Screen| system_line(s, "bob disconnected");
    let restart = || {
        assert_eq!(journals(bob_home.path()).len(), 1, "bob's journal is kept");
        join_at(bob_home.path(), port, "bob again")
    };
    let mut bob = kill_and_start_again(bob, "bob", &alice, "alice", gone, restart)?;
    // Ending the conversation on purpose leaves nothing on disk.
    bob.send_line("exit")?;
    let _ = bob.wait_exit(Duration::from_secs(10))?;
    assert_eq!(journals(bob_home.path()), Vec::<std::path::PathBuf>::new());
    Ok(())
}

#[test]
fn ephemeral_keeps_nothing_on_disk() -> Result {
    let (alice, port) = Tui::host("alice", ROWS, COLS)?;
    let home = tempfile::tempdir()?;
    let addr = format!("127.0.0.1:{port}");
    let bob = Tui::spawn_at(
        "bob",
        &["join", &addr, "--name", "bob", "--ephemeral"],
        &[],
        home.path(),
        ROWS,
        COLS,
    )?;
    bob.wait_for("bob to connect", |s| s.status().contains("· connected"))?;
    bob.send_line("hello")?;
    alice.wait_for("bob's message", |s| shows(s, "bob", "hello", ""))?;
    assert_eq!(journals(home.path()), Vec::<std::path::PathBuf>::new());
    Ok(())
}

#[test]
fn a_killed_host_started_again_carries_on_the_conversation() -> Result {
    // A port to come back to (the host keeps a journal only on a fixed port).
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let alice_home = tempfile::tempdir()?;
    let start_alice = |label: &str| host_alice_on(port, &alice_home, label);
    let alice = start_alice("alice")?;
    alice.wait_for("alice to listen", |s| {
        s.status().contains("waiting for a guest")
    })?;
    let bob = Tui::guest("bob", port, "alice", ROWS, COLS)?;
    alice.wait_for("bob to join", |s| s.status().contains("· connected"))?;
    let gone = |s: &Screen| s.status().contains("reconnecting to alice");
    kill_and_start_again(alice, "alice", &bob, "bob", gone, || {
        start_alice("alice again")
    })?;
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
