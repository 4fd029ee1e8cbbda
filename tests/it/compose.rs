//! Composing messages in the real TUI: pastes, line breaks and bursts of
//! keys reach a real peer as the messages the person meant.

use crate::common::headless::{Duplex, port_of};
use crate::common::pty::{ENTER, Result, Tui, find, rfind};

/// A TUI guest named bob, joined to a `--json` headless host alice.
fn json_host_and_tui_guest(host_args: &[&str]) -> Result<(Duplex, Tui)> {
    let host = Duplex::host("alice", host_args);
    let port = port_of(&host.event("listening"));
    let guest = Tui::guest("bob", port, "alice", 24, 80)?;
    Ok((host, guest))
}

/// The next message event's text, skipping other events.
fn next_message(host: &Duplex) -> String {
    loop {
        let event = host.json();
        if event["event"] == "message" {
            return event["text"].as_str().unwrap_or_default().to_owned();
        }
    }
}

/// Waits until the input box shows `rows` (and nothing sent yet), then
/// presses Enter.
fn send_when_drafted(tui: &Tui, rows: &[&str]) -> Result {
    tui.wait_for(&format!("the draft {rows:?}"), |s| {
        let input = s.input();
        input.len() >= rows.len()
            && input
                .iter()
                .zip(rows)
                .all(|(row, want)| row.trim_end() == *want)
    })?;
    tui.enter()
}

#[test]
fn a_pasted_block_a_shift_enter_and_a_burst_of_keys_are_one_message_each() -> Result {
    let (host, guest) = json_host_and_tui_guest(&["--json"])?;
    assert_eq!(host.event("joined")["name"], "bob");

    // A bracketed paste of three lines (terminals send its line breaks as
    // CR) is one draft, not sent until Enter.
    guest.paste("one\rtwo\rthree")?;
    send_when_drafted(&guest, &["one", "two", "three"])?;
    assert_eq!(next_message(&host), "one\ntwo\nthree");

    // Shift-Enter as terminals with the kitty keyboard protocol report it,
    // and Alt-Enter as every terminal does.
    guest.send_keys("a\x1b[13;2ub\x1b\rc")?;
    send_when_drafted(&guest, &["a", "b", "c"])?;
    assert_eq!(next_message(&host), "a\nb\nc");

    // Keys in one burst, as a terminal without bracketed paste sends a
    // paste: its Enters are line breaks.
    guest.send_keys(&format!("x{ENTER}y{ENTER}z"))?;
    send_when_drafted(&guest, &["x", "y", "z"])?;
    assert_eq!(next_message(&host), "x\ny\nz");

    // Nothing else came: the next message is the next one sent.
    guest.send_line("end")?;
    assert_eq!(next_message(&host), "end");
    Ok(())
}

#[test]
fn the_keyboard_protocol_is_asked_for_and_given_back() -> Result {
    let (_host, mut guest) = json_host_and_tui_guest(&["--json"])?;
    guest.ctrl_c()?;
    guest.expect_exit(0)?;
    guest.assert_restored();
    let raw = guest.raw();
    let pushed = find(&raw, b"\x1b[>1u").expect("the kitty keyboard protocol is asked for");
    let popped = rfind(&raw, b"\x1b[<1u").expect("the keyboard protocol is given back");
    assert!(popped > pushed);
    Ok(())
}

#[test]
fn a_headless_host_prints_a_multi_line_message_indented() -> Result {
    let host = Duplex::host("alice", &["--headless"]);
    let banner = host.stderr_line();
    let port: u16 = banner
        .strip_prefix("duplex: listening on 127.0.0.1:")
        .and_then(|rest| rest.split_once(';'))
        .and_then(|(port, _)| port.parse().ok())
        .unwrap_or_else(|| panic!("unexpected banner {banner:?}"));
    let guest = Tui::guest("bob", port, "alice", 24, 80)?;
    guest.send_keys("first\x1b\r  second")?;
    send_when_drafted(&guest, &["first", "  second"])?;
    // "bob: " is 5 columns: the second line starts under "first".
    assert_eq!(host.stdout_line(), "bob: first");
    assert_eq!(host.stdout_line(), "       second");
    Ok(())
}
