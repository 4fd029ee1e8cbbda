//! Presence and attention with two real duplex in pseudo-terminals: the
//! typing indicator crosses over and ends with the message, and a message
//! that arrives while the window is unfocused (the terminal's focus-out
//! report, `ESC [ O`, written to the program) rings the bell, asks for a
//! notification and counts in the title, never with the peer's text inside;
//! `--quiet` rings nothing.

use std::time::Duration;

use crate::common::{Result, Screen, Tui, find};

const ROWS: u16 = 16;
const COLS: u16 = 100;

/// What a terminal sends when its window loses and gains the focus.
const FOCUS_OUT: &[u8] = b"\x1b[O";
const FOCUS_IN: &[u8] = b"\x1b[I";

fn wait_message(tui: &Tui, author: &str, text: &str) -> Result<Screen> {
    tui.wait_for(&format!("the message {author}: {text:?}"), |s| {
        s.pane()
            .iter()
            .any(|row| crate::common::chat_row(row) == Some((author, text)))
    })
}

/// Host alice and guest bob, connected.
fn pair(host_extra: &[&str]) -> Result<(Tui, Tui)> {
    let (host, port) = Tui::host_with("alice", host_extra, ROWS, COLS)?;
    let guest = Tui::guest("bob", port, "alice", ROWS, COLS)?;
    host.wait_for("bob to join", |s| s.status().contains("● bob (127.0.0.1:"))?;
    Ok((host, guest))
}

/// Loses the focus, and waits until alice's duplex has taken that in (the
/// key typed after it shows in the box: terminal input is read in order).
fn unfocus(host: &Tui) -> Result {
    host.send_bytes(FOCUS_OUT)?;
    host.send_keys("z")?;
    host.wait_for("the key after the focus report", |s| {
        s.input().first().is_some_and(|row| row.starts_with('z'))
    })?;
    Ok(())
}

#[test]
fn typing_shows_on_the_other_side_and_ends_with_the_message() -> Result {
    let (host, guest) = pair(&[])?;
    guest.send_keys("hello th")?;
    host.wait_for("bob to be shown typing", |s| {
        s.status().contains("· bob is typing…")
    })?;
    guest.send_keys("ere")?;
    guest.enter()?;
    let screen = wait_message(&host, "bob", "hello there")?;
    assert!(
        !screen.status().contains("typing"),
        "the message ends typing in the same frame:\n{screen}"
    );
    assert!(screen.status().contains("· connected"), "{screen}");
    // Typing and then clearing the line ends it too.
    guest.send_keys("wait")?;
    host.wait_for("bob typing again", |s| {
        s.status().contains("bob is typing…")
    })?;
    guest.send_keys("\x15")?; // Ctrl-U
    host.wait_for("bob no longer typing", |s| {
        s.status().contains("· connected")
    })?;
    Ok(())
}

#[test]
fn no_typing_neither_sends_nor_shows() -> Result {
    let (host, guest) = pair(&["--no-typing"])?;
    // Bob types; alice's screen never says so, and its message still comes.
    guest.send_keys("psst")?;
    guest.enter()?;
    wait_message(&host, "bob", "psst")?;
    // Alice types; bob is never told (alice announced no typing).
    host.send_keys("secret draft")?;
    host.wait_for("alice's draft", |s| {
        s.input()
            .first()
            .is_some_and(|row| row.contains("secret draft"))
    })?;
    host.enter()?;
    let screen = wait_message(&guest, "alice", "secret draft")?;
    let raw = guest.raw();
    assert!(
        find(&raw, "is typing".as_bytes()).is_none(),
        "bob's screen said alice was typing:\n{screen}"
    );
    let raw = host.raw();
    assert!(find(&raw, "is typing".as_bytes()).is_none());
    Ok(())
}

#[test]
fn a_message_while_unfocused_rings_notifies_and_counts_in_the_title() -> Result {
    let (mut host, guest) = pair(&[])?;
    assert!(
        find(&host.raw(), b"\x1b[22;0t").is_some(),
        "the title is saved at the start"
    );
    unfocus(&host)?;
    guest.send_line("are you there?")?;
    wait_message(&host, "bob", "are you there?")?;
    let raw = host.raw();
    assert!(
        find(&raw, b"\x1b]9;duplex: new message from bob\x07").is_some(),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
    assert!(find(&raw, b"\x1b]777;notify;duplex;new message from bob\x07").is_some());
    let effects = host.side_effects();
    assert_eq!(effects.bells, 1, "{effects:?}");
    assert_eq!(effects.titles, ["duplex (1)"], "{effects:?}");
    assert!(find(&raw, b"are you there?\x07").is_none());
    // Back in focus: the title is the terminal's again.
    let before = host.raw().len();
    host.send_bytes(FOCUS_IN)?;
    host.send_keys("y")?;
    host.wait_for("the key after focus in", |s| {
        s.input().first().is_some_and(|row| row.starts_with("zy"))
    })?;
    assert!(find(&host.raw()[before..], b"\x1b[23;0t").is_some());
    // A message while here rings nothing.
    guest.send_line("good")?;
    wait_message(&host, "bob", "good")?;
    assert_eq!(host.side_effects().bells, 1);
    // Leaving puts the title back (the draft makes Ctrl-C ask first).
    host.send_keys("\x03")?;
    host.wait_for("the question", |s| s.contains("Ctrl-C again to leave"))?;
    host.send_keys("\x03")?;
    host.wait_exit(Duration::from_secs(10))?;
    let raw = host.raw();
    let last_pop = raw.windows(7).rposition(|w| w == b"\x1b[23;0t");
    let last_set = raw.windows(4).rposition(|w| w == b"\x1b]2;");
    assert!(last_pop > last_set, "the title restored at the end");
    Ok(())
}

/// `--quiet`, or `quiet = true` in the config file.
#[test]
fn quiet_rings_nothing_but_still_counts() -> Result {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "quiet = true\n")?;
    let config = config.to_string_lossy().into_owned();
    for extra in [&["--quiet"][..], &["--config", &config][..]] {
        let (host, guest) = pair(extra)?;
        unfocus(&host)?;
        guest.send_line("psst")?;
        wait_message(&host, "bob", "psst")?;
        let effects = host.side_effects();
        assert_eq!(effects.bells, 0, "{extra:?}: {effects:?}");
        assert!(effects.other_osc.is_empty(), "{effects:?}");
        assert_eq!(effects.titles, ["duplex (1)"]);
        let raw = host.raw();
        assert!(find(&raw, b"\x07").is_none());
    }
    Ok(())
}

/// A hostile peer (a library guest with a name and a message full of
/// escape sequences) messaging an unfocused duplex gets exactly duplex's
/// own bell, notification and title: nothing of its text, no sequence of
/// its own.
#[test]
fn a_hostile_peer_cannot_put_a_sequence_into_the_notification() -> Result {
    const EVIL_NAME: &str = "\x1b]0;pwned\x07\u{9c};evil";
    let (host, port) = Tui::host("alice", ROWS, COLS)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let (events, _keep) = tokio::sync::mpsc::channel(64);
    let target: duplex::net::Target = format!("127.0.0.1:{port}")
        .parse()
        .map_err(|err| crate::common::Error(format!("{err}")))?;
    let (_, link) = runtime
        .block_on(duplex::net::connect(
            &target,
            &duplex::protocol::Hello::new(EVIL_NAME),
            None,
            events,
            duplex::domain::Limits::default(),
        ))
        .map_err(|err| crate::common::Error(format!("{err}")))?;
    host.wait_for("the hostile guest", |s| s.status().contains("evil"))?;
    unfocus(&host)?;
    link.send(duplex::protocol::Frame::Chat(
        duplex::protocol::ChatMessage {
            id: duplex::protocol::MessageId { session: 7, seq: 1 },
            sent_at_ms: chrono::Utc::now().timestamp_millis(),
            text: "\x07\x1b]9;fake\x07\x1b]52;c;aGVsbG8=\x07gotcha".to_owned(),
            action: false,
        },
    ))
    .map_err(|err| crate::common::Error(format!("{err}")))?;
    host.wait_for("the hostile message", |s| s.text().contains("gotcha"))?;
    let effects = host.side_effects();
    assert_eq!(effects.bells, 1, "{effects:?}");
    assert_eq!(effects.titles, ["duplex (1)"], "{effects:?}");
    assert!(effects.icon_names.is_empty() && effects.clipboard.is_empty());
    assert_eq!(
        effects.other_osc,
        [
            "9;duplex: new message from ␛]0pwned␇\u{FFFD}evil",
            "777;notify;duplex;new message from ␛]0pwned␇\u{FFFD}evil"
        ],
        "{effects:?}"
    );
    Ok(())
}

/// A script (`--json`) sees the person at the chat screen type: `typing`
/// `active`, then `done` as the message arrives; it sends none itself.
#[test]
fn json_reports_the_peer_typing() -> Result {
    let host = crate::common::headless::Duplex::host("alice", &["--json"]);
    let port = crate::common::headless::port_of(&host.event("listening"));
    let guest = Tui::guest("bob", port, "alice", ROWS, COLS)?;
    assert_eq!(host.event("joined")["name"], "bob");
    guest.send_keys("hel")?;
    let typing = host.event("typing");
    assert_eq!(
        (&typing["name"], &typing["state"]),
        (&"bob".into(), &"active".into())
    );
    guest.send_keys("lo")?;
    guest.enter()?;
    // Another `active` only if 3 s passed (a slow machine); then `done`.
    while host.event("typing")["state"] != "done" {}
    assert_eq!(host.event("message")["text"], "hello");
    assert!(!guest.raw().windows(9).any(|w| w == b"is typing"));
    Ok(())
}
