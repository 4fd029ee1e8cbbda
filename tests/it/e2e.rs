//! End-to-end tests: real `duplex` processes, each in its own
//! pseudo-terminal, talking over loopback. Every wait is for a condition on
//! the screen (or for an exit), bounded by a generous timeout.

use std::sync::Barrier;

use crate::common::{CTRL_U, ESC, Error, Result, Screen, Tui, WHEEL_DOWN, WHEEL_UP};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Starts host `alice` and guest `bob`, both `rows` × `cols`, and waits
/// until each shows the other. Returns them and the host's port.
fn pair(rows: u16, cols: u16) -> Result<(Tui, Tui, u16)> {
    let (host, port) = Tui::host("alice", rows, cols)?;
    let guest = Tui::guest("bob", port, "alice", rows, cols)?;
    host.wait_for("bob to join", |s| {
        s.status().contains("● bob (127.0.0.1:") && s.status().contains("· connected")
    })?;
    Ok((host, guest, port))
}

/// Types `text` and Enter on `me`'s screen, and waits until it shows as
/// sent there: so the next line's keys come after a pause, as a person's
/// do (keys that come all at once are a paste, whose Enters are line
/// breaks).
fn say(tui: &Tui, me: &str, text: &str) -> Result {
    tui.send_line(text)?;
    wait_message(tui, me, text).map(|_| ())
}

/// Waits until `tui` shows the message `text` from `author` in its pane.
fn wait_message(tui: &Tui, author: &str, text: &str) -> Result<Screen> {
    let line = format!("{author}: {text}");
    tui.wait_for(&format!("the message {line:?}"), |s| {
        s.pane()
            .iter()
            .any(|row| crate::common::chat_row(row) == Some((author, text)))
    })
    .map_err(|err| Error(format!("{err}\n(looking for {line:?})")))
}

/// The current `HH:MM` in UTC.
fn utc_clock() -> String {
    chrono::Utc::now().format("%H:%M").to_string()
}

/// Compares two sequences and names the first place they differ.
fn assert_sequence(what: &str, got: &[String], expected: &[String]) {
    if got == expected {
        return;
    }
    let first = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    let around = |list: &[String]| {
        let from = first.saturating_sub(3);
        let to = (first + 4).min(list.len());
        format!("{:?}", &list[from..to])
    };
    panic!(
        "{what}: got {} items, expected {}; first difference at index {first}:\n  got      … {}\n  expected … {}",
        got.len(),
        expected.len(),
        around(got),
        around(expected),
    );
}

/// Pages through the whole history on `tui` (from the live view: Ctrl-Home,
/// then PgDn until live again) and returns every row of it, oldest first.
///
/// While the view is scrolled, PgDn moves by the pane's height less one, so
/// consecutive pages must share exactly one row; that is checked, not
/// assumed. The last page is the live view, which shows the newest rows and
/// overlaps the page before by an unknown number of rows: it is joined at
/// the longest overlap.
fn read_history(tui: &Tui) -> Result<Vec<String>> {
    let live = tui.screen();
    assert!(!live.scrolled(), "read_history starts from the live view");
    tui.ctrl_home()?;
    let mut page = tui
        .wait_for("Ctrl-Home to scroll to the oldest message", |s| {
            s.scrolled()
        })?
        .pane();
    let height = page.len();
    let mut rows = page.clone();
    let mut pages = 1;
    loop {
        tui.pg_dn()?;
        let screen = tui.wait_for("PgDn to move the view", |s| s.pane() != page)?;
        let next = screen.pane();
        pages += 1;
        assert_eq!(next.len(), height, "the pane changed height while paging");
        if screen.scrolled() {
            assert_eq!(
                next.first(),
                rows.last(),
                "PgDn should keep one row of context (page {pages}):\n{screen}"
            );
            rows.extend_from_slice(&next[1..]);
        } else {
            let overlap = (1..height)
                .rev()
                .find(|&k| rows.len() >= k && rows[rows.len() - k..] == next[..k])
                .unwrap_or_else(|| {
                    panic!("the live page does not continue the history:\n{screen}")
                });
            rows.extend_from_slice(&next[overlap..]);
            return Ok(rows);
        }
        page = next;
        assert!(pages < 1000, "paging does not end");
    }
}

/// Splits history rows into system lines and, per author, chat texts, in
/// order. Any other row (a continuation, a blank) fails the test.
fn split_history(rows: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    let mut system = Vec::new();
    let mut chat = Vec::new();
    for row in rows {
        if let Some(text) = crate::common::system_row(row) {
            system.push(text.to_owned());
        } else if let Some((author, text)) = crate::common::chat_row(row) {
            chat.push((author.to_owned(), text.to_owned()));
        } else {
            panic!("unexpected row in the history: {row:?}\nhistory: {rows:#?}");
        }
    }
    (system, chat)
}

fn texts_by(chat: &[(String, String)], author: &str) -> Vec<String> {
    chat.iter()
        .filter(|(who, _)| who == author)
        .map(|(_, text)| text.clone())
        .collect()
}

/// Whether `text` is drawn on `row` from column `col`, grapheme by
/// grapheme at the columns its display width gives; if not, where not.
///
/// vt100 lays text out by code point, not by grapheme cluster, so a cell
/// holding an emoji sequence (a skin tone, a ZWJ family) keeps only its
/// first emoji, and the rest may spill into cells the program then draws
/// over; for those the cell must start with that emoji, and
/// [`assert_clusters_sent`] checks the program wrote the whole cluster.
fn drawn(screen: &Screen, row: u16, col: u16, text: &str) -> std::result::Result<(), String> {
    let mut col = col;
    for grapheme in text.graphemes(true) {
        let width = grapheme.width() as u16;
        let cell = screen
            .vt()
            .cell(row, col)
            .map(|cell| cell.contents().to_owned())
            .unwrap_or_default();
        let ok = if is_emoji_sequence(grapheme) {
            grapheme
                .chars()
                .next()
                .is_some_and(|first| cell.starts_with(first))
        } else if grapheme == " " {
            cell.is_empty() || cell == " "
        } else {
            cell == grapheme
        };
        if !ok {
            return Err(format!(
                "expected {grapheme:?} at row {row}, column {col}, found {cell:?}"
            ));
        }
        col += width;
    }
    Ok(())
}

/// A grapheme of several code points that starts with an emoji.
fn is_emoji_sequence(grapheme: &str) -> bool {
    grapheme.chars().count() > 1 && grapheme.chars().next().is_some_and(|c| c as u32 >= 0x1F000)
}

/// Checks the program wrote every emoji sequence of `text` whole.
fn assert_clusters_sent(tui: &Tui, text: &str) {
    let raw = String::from_utf8_lossy(&tui.raw()).into_owned();
    for grapheme in text.graphemes(true).filter(|g| is_emoji_sequence(g)) {
        assert!(
            raw.contains(grapheme),
            "[{}] the output never held the whole cluster {grapheme:?}",
            tui.label()
        );
    }
}

/// The row of the pane that starts the message `author: text…`.
fn message_row(screen: &Screen, author: &str, starts_with: &str) -> Option<u16> {
    screen
        .pane()
        .iter()
        .position(|row| {
            crate::common::chat_row(row)
                .is_some_and(|(who, text)| who == author && text.starts_with(starts_with))
        })
        .map(|row| row as u16)
}

#[test]
fn messages_go_both_ways() -> Result {
    // This host listens on every interface, as by default, and its port is
    // read from the join hint in its status bar.
    let host = Tui::spawn("alice", &["host", "--port", "0", "--name", "alice"], 24, 80)?;
    let waiting = host.wait_for("the host to wait for a guest", |s| {
        s.status().contains("◌ waiting for a guest · duplex join ")
    })?;
    let port = crate::common::join_port(&waiting.status())
        .ok_or_else(|| Error(format!("no port in the status bar:\n{waiting}")))?;

    let guest = Tui::guest("bob", port, "alice", 24, 80)?;
    let joined = host.wait_for("bob to join", |s| s.status().contains("· connected"))?;
    let status = joined.status();
    assert!(status.starts_with(" ● bob (127.0.0.1:"), "{joined}");
    let host_words = status
        .rsplit_once("🔒 ")
        .map(|(_, words)| words.trim().to_owned())
        .unwrap_or_default();
    assert_eq!(host_words.split('-').count(), 4, "{joined}");
    assert!(
        joined.pane().iter().any(|row| {
            crate::common::system_row(row).is_some_and(|t| t.starts_with("bob joined (127.0.0.1:"))
        }),
        "{joined}"
    );
    let guest_status = guest.screen().status();
    assert!(
        guest_status.starts_with(&format!(" ● alice (host, 127.0.0.1:{port}) · connected")),
        "{guest_status}"
    );
    // Both sides show the same verification words.
    assert!(
        guest_status.ends_with(&format!("🔒 {host_words}")),
        "{guest_status} vs {host_words}"
    );

    let before = utc_clock();
    guest.send_line("hello from bob")?;
    let on_host = wait_message(&host, "bob", "hello from bob")?;
    wait_message(&guest, "bob", "hello from bob")?;
    host.send_line("hi bob, alice here")?;
    wait_message(&guest, "alice", "hi bob, alice here")?;
    let on_host_2 = wait_message(&host, "alice", "hi bob, alice here")?;
    let after = utc_clock();

    // Times are HH:MM in TZ=UTC.
    let row = on_host
        .pane()
        .into_iter()
        .find(|row| row.ends_with("bob: hello from bob"))
        .expect("the message row");
    assert!(
        row[..5] == before || row[..5] == after,
        "time {:?} is not the UTC time ({before}..{after})",
        &row[..5]
    );
    // The input is empty again after sending, with the cursor at its start.
    assert_eq!(on_host_2.input(), vec![String::new()], "{on_host_2}");
    let input_row = on_host_2.rows().len() as u16 - 2;
    assert_eq!(on_host_2.cursor(), (input_row, 0), "{on_host_2}");
    Ok(())
}

#[test]
fn simultaneous_bursts_arrive_complete_and_in_order() -> Result {
    const COUNT: usize = 200;
    let (rows, cols) = (50, 80);
    let (alice, bob, _) = pair(rows, cols)?;

    // Both sides type COUNT messages at the same moment, each waiting only
    // for its own line to go (keys sent all at once would be a paste).
    let start = Barrier::new(2);
    let burst = |tui: &Tui, side: char| -> Result {
        start.wait();
        let me = if side == 'a' { "alice" } else { "bob" };
        for n in 0..COUNT {
            say(tui, me, &format!("msg-{side}-{n}"))?;
        }
        Ok(())
    };
    std::thread::scope(|scope| {
        let a = scope.spawn(|| burst(&alice, 'a'));
        let b = scope.spawn(|| burst(&bob, 'b'));
        a.join().expect("alice's typist")?;
        b.join().expect("bob's typist")
    })?;

    // Each side starts a line; once it shows, every earlier key was handled.
    let input_row = rows - 2;
    alice.send_keys("half typed")?;
    bob.send_keys("interrupt")?;
    alice.wait_for("alice's half-typed line", |s| {
        s.input() == ["half typed"] && s.cursor() == (input_row, 10)
    })?;
    bob.wait_for("bob's line", |s| s.input() == ["interrupt"])?;
    // Bob sends while Alice's line is half typed; once his message arrives,
    // so has every earlier one of his.
    bob.enter()?;
    let screen = wait_message(&alice, "bob", "interrupt")?;
    assert_eq!(
        screen.input(),
        ["half typed"],
        "an arriving message disturbed the input:\n{screen}"
    );
    assert_eq!(
        screen.cursor(),
        (input_row, 10),
        "the cursor is not right after the half-typed text:\n{screen}"
    );
    // Alice clears her line and sends a last message, so Bob can tell when
    // all of hers have arrived.
    alice.send_keys(CTRL_U)?;
    alice.send_line("end-a")?;
    wait_message(&bob, "alice", "end-a")?;
    wait_message(&alice, "alice", "end-a")?;

    let expected = |side: char, last: &str| -> Vec<String> {
        (0..COUNT)
            .map(|n| format!("msg-{side}-{n}"))
            .chain([last.to_owned()])
            .collect()
    };
    for (tui, me, peer, mine, theirs) in [
        (
            &alice,
            "alice",
            "bob",
            expected('a', "end-a"),
            expected('b', "interrupt"),
        ),
        (
            &bob,
            "bob",
            "alice",
            expected('b', "interrupt"),
            expected('a', "end-a"),
        ),
    ] {
        let history = read_history(tui)?;
        let (system, chat) = split_history(&history);
        assert_eq!(system.len(), 1, "[{me}] system lines: {system:?}");
        // The host sees its guest join; the guest, that it connected.
        let joined = if me == "alice" {
            format!("{peer} joined (127.0.0.1:")
        } else {
            format!("connected to {peer} (host, 127.0.0.1:")
        };
        assert!(system[0].starts_with(&joined), "[{me}] {system:?}");
        assert_sequence(
            &format!("[{me}] messages from {peer}"),
            &texts_by(&chat, peer),
            &theirs,
        );
        assert_sequence(&format!("[{me}] own messages"), &texts_by(&chat, me), &mine);
        assert_eq!(chat.len(), 2 * (COUNT + 1), "[{me}] stray messages");
    }
    Ok(())
}

#[test]
fn cjk_and_emoji_arrive_intact_and_long_lines_wrap() -> Result {
    // Emoji drawn as they are (`--emoji auto` would pick the safe form for
    // this xterm): vt100 measures them as duplex does.
    let full = ["--emoji", "full"];
    let (alice, port) = Tui::host_with("alice", &full, 24, 80)?;
    let bob = Tui::guest_with("bob", port, "alice", &full, &[], 24, 80)?;
    alice.wait_for("bob to join", |s| s.status().contains("· connected"))?;
    let mixed = "你好，世界 こんにちは 한국어 👍🏽 👨‍👩‍👧";

    // Typed key by key on one side, pasted on the other (with an arrow
    // after it, to see that what follows the emoji is in its place).
    let back = format!("{mixed} ←");
    let input_row = 24 - 2;
    alice.send_line(mixed)?;
    bob.paste(&back)?;
    bob.wait_for("the pasted text in the input", |s| {
        drawn(s, input_row, 0, &back).is_ok() && s.cursor() == (input_row, back.width() as u16)
    })?;
    bob.enter()?;

    for (tui, me) in [(&alice, "alice"), (&bob, "bob")] {
        let find = |s: &Screen, author: &str, text: &str| {
            message_row(s, author, "你好，世界").is_some_and(|row| {
                // Time (6 cells), the name, ": ", then the text.
                drawn(s, row, 6 + author.len() as u16 + 2, text).is_ok()
            })
        };
        let screen = tui.wait_for("both mixed-script messages", |s| {
            find(s, "alice", mixed) && find(s, "bob", &back)
        });
        if let Err(err) = screen {
            // Say which grapheme is wrong.
            let s = tui.screen();
            let detail: Vec<String> = [("alice", mixed), ("bob", back.as_str())]
                .iter()
                .map(|(author, text)| match message_row(&s, author, "你好") {
                    Some(row) => format!(
                        "{author}: {:?}",
                        drawn(&s, row, 6 + author.len() as u16 + 2, text)
                    ),
                    None => format!("{author}: no row"),
                })
                .collect();
            return Err(Error(format!("[{me}] {err}\n{detail:?}")));
        }
        assert_clusters_sent(tui, &back);
    }

    // A line of wide characters too long for one row: rows fill completely
    // (80 columns less the 13 of "HH:MM alice: " hold 33 wide characters),
    // and continuation rows are indented under the text.
    let long: String = "日本語の文章と中文句子和한국어문장".repeat(5);
    alice.send_line(&long)?;
    let chars: Vec<char> = long.chars().collect();
    let expected_rows: Vec<String> = chars.chunks(33).map(|c| c.iter().collect()).collect();
    assert_eq!(expected_rows.len(), 3);
    // The sender's own copy ends in its delivery mark.
    let bare = |row: &str| -> String {
        crate::common::DELIVERY_MARKS
            .iter()
            .find_map(|mark| row.strip_suffix(mark))
            .unwrap_or(row)
            .to_owned()
    };
    for (tui, me) in [(&alice, "alice"), (&bob, "bob")] {
        let screen = tui.wait_for("the long line", |s| {
            s.pane().iter().any(|row| {
                bare(row).trim_start() == expected_rows.last().map(String::as_str).unwrap_or("")
            })
        })?;
        let pane = screen.pane();
        let first = message_row(&screen, "alice", &expected_rows[0])
            .unwrap_or_else(|| panic!("[{me}] the long line's first row:\n{screen}"))
            as usize;
        let (_, text) = crate::common::chat_row(&pane[first]).unwrap_or_default();
        assert_eq!(text, expected_rows[0], "[{me}]\n{screen}");
        for (i, expected) in expected_rows.iter().enumerate().skip(1) {
            assert_eq!(
                bare(&pane[first + i]),
                format!("{}{expected}", " ".repeat(13)),
                "[{me}] continuation row {i}:\n{screen}"
            );
        }
        assert!(
            pane[first + 3..].iter().all(String::is_empty),
            "[{me}] rows after the long line:\n{screen}"
        );
    }
    Ok(())
}

#[test]
fn scrolling_holds_the_view_and_counts_new_messages() -> Result {
    let rows = 20;
    let (alice, bob, _) = pair(rows, 80)?;
    let height = (rows - 3) as usize; // rule, one input row, status bar
    for n in 0..40 {
        say(&bob, "bob", &format!("line-{n:02}"))?;
    }
    let live = wait_message(&alice, "bob", "line-39")?;

    // The live view shows the newest rows, line-23 to line-39.
    let numbers = |screen: &Screen| -> Vec<usize> {
        screen
            .pane()
            .iter()
            .filter_map(|row| {
                crate::common::chat_row(row)?
                    .1
                    .strip_prefix("line-")?
                    .parse()
                    .ok()
            })
            .collect()
    };
    assert_eq!(live.pane().len(), height, "{live}");
    assert_eq!(numbers(&live), (23..40).collect::<Vec<_>>(), "{live}");
    assert!(live.status().contains("🔒 "), "{live}");

    // PgUp goes back a page, keeping one row of context.
    alice.pg_up()?;
    let up = alice.wait_for("PgUp to scroll back", |s| s.scrolled())?;
    assert_eq!(numbers(&up), (7..24).collect::<Vec<_>>(), "{up}");
    assert!(up.status().ends_with("↑ scrolled · Ctrl-End: live"), "{up}");

    // The wheel moves three rows each way.
    alice.send_keys(WHEEL_UP)?;
    let wheel = alice.wait_for("the wheel to scroll up", |s| s.pane() != up.pane())?;
    assert_eq!(numbers(&wheel), (4..21).collect::<Vec<_>>(), "{wheel}");
    alice.send_keys(WHEEL_DOWN)?;
    let back = alice.wait_for("the wheel to scroll down", |s| s.pane() != wheel.pane())?;
    assert_eq!(back.pane(), up.pane(), "{back}");

    // A message arriving now leaves the view where it is and is counted.
    bob.send_line("fresh news")?;
    wait_message(&bob, "bob", "fresh news")?;
    let held = alice.wait_for("the new-message count", |s| s.status().contains("1 new"))?;
    assert_eq!(held.pane(), up.pane(), "the view moved:\n{held}");
    assert!(
        held.status()
            .ends_with("↑ scrolled · 1 new ↓ · Ctrl-End: live"),
        "{held}"
    );

    // Ctrl-End returns to the live view, which shows it.
    alice.ctrl_end()?;
    let live = alice.wait_for("Ctrl-End to return to live", |s| !s.scrolled())?;
    assert_eq!(
        live.pane()
            .last()
            .and_then(|row| crate::common::chat_row(row)),
        Some(("bob", "fresh news")),
        "{live}"
    );
    assert!(live.status().contains("🔒 "), "{live}");

    // Ctrl-Home shows the very first line; PgDn pages forward; Esc is live too.
    alice.ctrl_home()?;
    let oldest = alice.wait_for("Ctrl-Home", |s| s.scrolled())?;
    assert!(
        crate::common::system_row(&oldest.pane()[0]).is_some_and(|t| t.starts_with("bob joined")),
        "{oldest}"
    );
    assert_eq!(numbers(&oldest)[0], 0, "{oldest}");
    alice.pg_dn()?;
    let down = alice.wait_for("PgDn", |s| s.pane() != oldest.pane())?;
    assert_eq!(down.pane()[0], oldest.pane()[height - 1], "{down}");
    alice.send_keys(ESC)?;
    let live = alice.wait_for("Esc to return to live", |s| !s.scrolled())?;
    assert_eq!(
        live.pane()
            .last()
            .and_then(|row| crate::common::chat_row(row)),
        Some(("bob", "fresh news")),
        "{live}"
    );
    Ok(())
}

/// The peer types `exit`: the other screen stays with the ended line until
/// a key, then the terminal's normal screen keeps the last messages and
/// the reason.
#[test]
fn exit_ends_both_sides_and_the_last_lines_stay_in_the_terminal() -> Result {
    let (mut alice, mut bob, _) = pair(24, 80)?;
    bob.send_line("hi alice")?;
    wait_message(&alice, "bob", "hi alice")?;
    alice.send_line("bye bob")?;
    wait_message(&bob, "alice", "bye bob")?;
    alice.send_line("exit")?;
    alice.expect_exit(0)?;
    let ended = bob.wait_for("the ended line", |s| {
        s.status().trim() == "alice ended the conversation · press any key"
    })?;
    assert!(ended.alternate_screen(), "{ended}");
    // The screen waits: the last messages can still be read.
    assert!(bob.is_running()?, "bob left before a key");
    let waiting = bob.screen();
    assert!(
        waiting
            .pane()
            .iter()
            .any(|row| crate::common::chat_row(row) == Some(("alice", "bye bob"))),
        "{waiting}"
    );
    bob.send_keys("x")?;
    bob.expect_exit(0)?;
    alice.assert_restored();
    bob.assert_restored();
    let after = bob.screen();
    let text = after.text();
    let hi = text
        .find("bob: hi alice")
        .ok_or_else(|| Error(format!("no hi in:\n{text}")))?;
    let bye = text
        .find("alice: bye bob")
        .ok_or_else(|| Error(format!("no bye in:\n{text}")))?;
    let why = text
        .find("duplex: alice ended the conversation.")
        .ok_or_else(|| Error(format!("no reason in:\n{text}")))?;
    assert!(
        hi < bye && bye < why,
        "bob's terminal after the exit:\n{text}"
    );
    // `HH:MM alice: bye bob`, as on screen.
    assert!(
        text.lines()
            .any(|line| line.trim_end().len() == "HH:MM alice: bye bob".len()
                && line.trim_end().ends_with(" alice: bye bob")),
        "{text}"
    );
    let after = alice.screen();
    assert!(!after.contains("duplex:"), "alice's terminal:\n{after}");
    assert!(
        after.contains("alice: bye bob"),
        "alice's terminal:\n{after}"
    );
    Ok(())
}

/// `/nick` is seen by the peer, `/me` shows as an action on both screens,
/// and a slip of a command is answered with the nearest one.
#[test]
fn nick_and_me_are_seen_by_the_peer() -> Result {
    let (alice, bob, _) = pair(24, 80)?;
    bob.send_line("/nick bobby")?;
    let seen = alice.wait_for("the name change", |s| {
        s.pane()
            .iter()
            .any(|row| crate::common::system_row(row) == Some("bob is now known as bobby"))
    })?;
    alice
        .wait_for("the new name in the status bar", |s| {
            s.status().contains("● bobby (127.0.0.1:")
        })
        .map_err(|err| Error(format!("{err}\n{seen}")))?;
    bob.wait_for("the change on bob's screen", |s| {
        s.pane()
            .iter()
            .any(|row| crate::common::system_row(row) == Some("bob is now known as bobby"))
    })?;
    bob.send_line("/me waves")?;
    alice.wait_for("the action", |s| {
        s.pane()
            .iter()
            .any(|row| row.trim_end().ends_with(" * bobby waves"))
    })?;
    bob.wait_for("the action on bob's screen", |s| {
        s.pane().iter().any(|row| row.contains(" * bobby waves"))
    })?;
    bob.send_line("/hlep")?;
    bob.wait_for("the suggestion", |s| {
        s.pane().iter().any(|row| {
            crate::common::system_row(row) == Some("unknown command /hlep — did you mean /help?")
        })
    })?;
    Ok(())
}

/// A host's new name goes to its next guest in the hello, and Ctrl-L
/// clears the terminal and draws the whole screen again.
#[test]
fn the_next_guest_meets_the_new_name_and_ctrl_l_redraws() -> Result {
    let (alice, mut bob, port) = pair(24, 80)?;
    alice.send_line("/nick ally")?;
    bob.wait_for("the name change", |s| s.status().contains("● ally (host, "))?;
    bob.ctrl_c()?;
    bob.expect_exit(0)?;
    alice.wait_for("bob to leave", |s| {
        s.status().contains("◌ waiting for a guest")
    })?;
    let carol = Tui::guest("carol", port, "ally", 24, 80)?;
    carol.send_line("hi ally")?;
    wait_message(&alice, "carol", "hi ally")?;
    // Ctrl-L: the screen cleared (ESC [2J), then every row drawn again.
    let before = carol.raw().len();
    carol.send_keys("\x0c")?;
    let deadline = std::time::Instant::now() + crate::common::TIMEOUT;
    loop {
        let raw = carol.raw();
        let after = &raw[before.min(raw.len())..];
        if let Some(at) = crate::common::find(after, b"\x1b[2J")
            && crate::common::find(&after[at..], b"carol").is_some()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no whole redraw after Ctrl-L: {:?}",
            String::from_utf8_lossy(after)
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(())
}

#[test]
fn ctrl_c_leaves_alone_and_the_host_takes_the_next_guest() -> Result {
    let (mut alice, mut bob, port) = pair(24, 80)?;
    bob.ctrl_c()?;
    bob.expect_exit(0)?;
    bob.assert_restored();
    let screen = alice.wait_for("bob to leave", |s| {
        s.pane()
            .iter()
            .any(|row| crate::common::system_row(row) == Some("bob left"))
    })?;
    assert!(
        screen.status().contains(&format!(
            "◌ waiting for a guest · duplex join 127.0.0.1:{port}"
        )),
        "{screen}"
    );
    assert!(alice.is_running()?, "the host should keep running");

    let mut carol = Tui::guest("carol", port, "alice", 24, 80)?;
    alice.wait_for("carol to join", |s| {
        s.status().contains("● carol (127.0.0.1:")
    })?;
    carol.send_line("hi, I'm carol")?;
    wait_message(&alice, "carol", "hi, I'm carol")?;
    alice.send_line("welcome carol")?;
    wait_message(&carol, "alice", "welcome carol")?;

    // When the host leaves, its guest ends too, cleanly, after a key.
    alice.ctrl_c()?;
    alice.expect_exit(0)?;
    carol.wait_for("the ended line", |s| {
        s.status().trim() == "alice (the host) left the conversation · press any key"
    })?;
    carol.send_keys(" ")?;
    carol.expect_exit(0)?;
    alice.assert_restored();
    carol.assert_restored();
    let after = carol.screen();
    assert!(
        after.contains("duplex: alice (the host) left the conversation."),
        "{after}"
    );
    Ok(())
}

/// Runs duplex with `args`, which must fail before its TUI starts (see
/// [`crate::common::expect_setup_error`]).
fn expect_setup_error(label: &str, args: &[&str], needle: &str) -> Result {
    crate::common::expect_setup_error(label, args, &[], needle).map(drop)
}

#[test]
fn join_where_nothing_listens_is_refused() -> Result {
    // A port held by a socket that does not listen: connecting is refused,
    // and no other test can get the port while it is held.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    let port = socket
        .local_addr()?
        .as_socket()
        .map(|addr| addr.port())
        .ok_or_else(|| Error("no port".to_owned()))?;
    let addr = format!("127.0.0.1:{port}");
    expect_setup_error(
        "refused",
        &["join", &addr, "--name", "bob"],
        "connection refused",
    )?;
    drop(socket);
    Ok(())
}

#[test]
fn join_an_unresolvable_name_fails() -> Result {
    expect_setup_error(
        "unresolvable",
        &["join", "nonexistent.invalid", "--name", "bob"],
        "cannot resolve 'nonexistent.invalid'",
    )
}

#[test]
fn join_a_malformed_address_fails() -> Result {
    expect_setup_error(
        "bad-address",
        &["join", "host:notaport", "--name", "bob"],
        "invalid address 'host:notaport'",
    )
}

#[test]
fn host_on_a_port_in_use_fails() -> Result {
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = taken.local_addr()?.port().to_string();
    expect_setup_error(
        "in-use",
        &[
            "host",
            "--bind",
            "127.0.0.1",
            "--port",
            &port,
            "--name",
            "alice",
        ],
        "already in use",
    )?;
    drop(taken);
    Ok(())
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() -> Result {
    let (mut alice, mut bob, _) = pair(24, 80)?;
    bob.signal(libc::SIGTERM)?;
    bob.expect_exit(143)?;
    bob.assert_restored();
    alice.wait_for("bob to leave", |s| {
        s.pane()
            .iter()
            .any(|row| crate::common::system_row(row) == Some("bob left"))
    })?;
    alice.signal(libc::SIGHUP)?;
    alice.expect_exit(129)?;
    alice.assert_restored();
    Ok(())
}

#[test]
fn a_hang_up_is_a_dropped_connection_not_a_goodbye() -> Result {
    let (alice, mut bob, _) = pair(24, 80)?;
    // The terminal or SSH session went away: bob may come back and resume.
    bob.signal(libc::SIGHUP)?;
    bob.expect_exit(129)?;
    bob.assert_restored();
    alice.wait_for("bob to be waited for", |s| {
        s.pane()
            .iter()
            .any(|row| crate::common::system_row(row) == Some("bob disconnected"))
            && s.status().contains("waiting for them to come back")
    })?;
    Ok(())
}

#[test]
fn typing_faster_than_it_is_read_is_not_stalled() -> Result {
    // 1.5 KiB of keys in one write, as a terminal sends a paste when
    // bracketed paste is off (tmux paste-buffer, a slow link): every key
    // must be handled without waiting for another.
    let (host, _port) = Tui::host("alice", 24, 80)?;
    let keys = format!("{}END", "abcdefghij".repeat(150));
    host.send_keys(&keys)?;
    host.wait_for("every key to be handled", |s| {
        s.input().last().is_some_and(|row| row.ends_with("ijEND"))
    })?;
    Ok(())
}
