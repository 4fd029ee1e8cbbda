//! The real binary's screen in a pseudo-terminal: the emoji mode `auto`
//! picks for an xterm, and the copy view (Alt-L) with mouse reporting off;
//! headless mode, which prints emoji as they came whatever `--emoji` says.

use crate::common::headless::{Duplex, port_of};
use crate::common::{MOUSE_OFF, MOUSE_ON, Result, TIMEOUT, Tui, rfind};

/// Alt-L as a terminal sends it.
const ALT_L: &str = "\x1bl";

fn pair(extra: &[&str], rows: u16, cols: u16) -> Result<(Tui, Tui)> {
    let (alice, port) = Tui::host_with("alice", extra, rows, cols)?;
    let bob = Tui::guest_with("bob", port, "alice", extra, &[], rows, cols)?;
    alice.wait_for("bob to join", |s| s.status().contains("· connected"))?;
    Ok((alice, bob))
}

#[test]
fn auto_draws_the_safe_form_in_an_xterm_and_sends_the_text_as_typed() -> Result {
    let (alice, bob) = pair(&[], 24, 80)?;
    bob.send_line("love ❤\u{fe0f} and 👨\u{200d}👩\u{200d}👧\u{200d}👦 end")?;
    let screen = alice.wait_for("the message", |s| {
        s.pane()
            .iter()
            .any(|r| r.ends_with("bob: love ❤  and 👨 end"))
    })?;
    let raw = String::from_utf8_lossy(&alice.raw()).into_owned();
    assert!(
        !raw.contains('\u{fe0f}') && !raw.contains('\u{200d}'),
        "the safe form has no VS16 or ZWJ:\n{screen}"
    );
    // `--emoji full` draws the message as it came: it was sent unchanged.
    let (carol, dave) = pair(&["--emoji", "full"], 24, 80)?;
    dave.send_line("love ❤\u{fe0f} end")?;
    carol.wait_for("the message", |s| s.contains("bob: love"))?;
    let raw = String::from_utf8_lossy(&carol.raw()).into_owned();
    assert!(raw.contains("love"), "{raw:?}");
    assert!(raw.contains("❤\u{fe0f}"), "{raw:?}");
    Ok(())
}

#[test]
fn the_copy_view_prints_messages_for_the_terminal_to_wrap_with_the_mouse_off() -> Result {
    let (alice, bob) = pair(&[], 12, 80)?;
    let link = "https://example.com/a/long/path/that/wraps/over/the/right/edge/of/the/terminal?q=1";
    bob.send_line(&format!("see {link}"))?;
    alice.wait_for("the link", |s| s.contains("bob: see"))?;
    let before = alice.raw().len();
    // The copy view is no ratatui frame: watch the screen as it is parsed.
    alice.set_probe(Box::new(|s: &vt100::Screen| {
        let contents = s.contents();
        contents.starts_with("· bob joined") && contents.contains("?q=1")
    }));
    alice.send_keys(ALT_L)?;
    alice.wait_probe(TIMEOUT)?;
    let mut parser = vt100::Parser::new(12, 80, 0);
    parser.process(&alice.raw());
    let rows: Vec<String> = parser.screen().rows(0, 80).collect();
    // No time, no indent, no rule, no status bar: the link starts right
    // after "bob: see " and goes on at the start of the next row.
    assert!(rows[0].starts_with("· bob joined ("), "{rows:#?}");
    assert_eq!(
        rows[1],
        format!("bob: see {}", &link[..80 - 9]),
        "{rows:#?}"
    );
    assert_eq!(rows[2], link[80 - 9..], "{rows:#?}");
    assert!(rows[3..].iter().all(String::is_empty), "{rows:#?}");
    // The link was written in one piece (the terminal wrapped it), and the
    // mouse was handed back to the terminal for selecting.
    let raw = alice.raw();
    let copy = String::from_utf8_lossy(&raw[before..]).into_owned();
    assert!(copy.contains(&format!("bob: see {link}")), "{copy:?}");
    assert!(
        rfind(&raw, MOUSE_OFF) > rfind(&raw, MOUSE_ON),
        "mouse still reported"
    );
    // Any key goes back, to the whole chat screen with the mouse on again,
    // and does nothing else: "x" is not typed, the "y" after it is.
    let before = alice.raw().len();
    alice.send_keys("x")?;
    alice.send_keys("y")?;
    let screen = alice.wait_for("the chat screen", |s| {
        s.input().first().is_some_and(|r| r.trim() == "y")
    })?;
    assert!(screen.contains("Enter send"), "{screen}");
    assert!(
        screen.pane()[1].starts_with(|c: char| c.is_ascii_digit()),
        "times are back: {screen}"
    );
    let raw = alice.raw();
    assert!(
        rfind(&raw, MOUSE_ON) > rfind(&raw, MOUSE_OFF),
        "mouse off after the copy view"
    );
    assert!(rfind(&raw, MOUSE_ON) > Some(before));
    Ok(())
}

/// README: "messages are sent, kept and printed in headless and `--json`
/// mode exactly as typed", whatever `--emoji` says.
#[test]
fn headless_and_json_print_emoji_exactly_as_typed() {
    let text = "❤\u{fe0f} 👨\u{200d}👩\u{200d}👧\u{200d}👦 👍\u{1f3fd} 1\u{fe0f}\u{20e3} 🇸🇬";
    let mut host = Duplex::host("alice", &["--json", "--emoji", "safe"]);
    let port = port_of(&host.event("listening"));
    let mut guest = Duplex::join("bob", port, &["--headless", "--emoji", "safe"]);
    host.event("joined");
    guest.send(text);
    let message = host.event("message");
    assert_eq!(message["text"], text, "{message}");
    host.send(text);
    assert_eq!(guest.stdout_line(), format!("alice: {text}"));
}
