//! End-to-end security tests: real `duplex` processes in pseudo-terminals,
//! against each other or against a foreign program on a plain TCP socket,
//! checking what each screen shows and what each program wrote to its
//! terminal. Every wait is for a condition (on a screen, a socket or an
//! exit), bounded by a generous timeout.

use crate::common::{Error, PlainPeer, Result, Screen, SideEffects, Tui};
use duplex::words::WORDS;

/// Rows and columns of every terminal here: wide enough for the longest
/// rule hint and status bar (a join hint with a three-word code).
const ROWS: u16 = 24;
const COLS: u16 = 100;

/// The name a plain text peer gets from 127.0.0.1.
const PLAIN: &str = "plain@127.0.0.1";

/// Waits until `tui` shows the message `text` from `author` in its pane.
fn wait_message(tui: &Tui, author: &str, text: &str) -> Result<Screen> {
    tui.wait_for(&format!("the message {author}: {text:?}"), |s| {
        s.pane()
            .iter()
            .any(|row| crate::common::chat_row(row) == Some((author, text)))
    })
}

/// Waits until `tui` shows a system line for which `cond` holds.
fn wait_system(tui: &Tui, what: &str, cond: impl Fn(&str) -> bool) -> Result<Screen> {
    tui.wait_for(what, |s| {
        s.pane()
            .iter()
            .any(|row| crate::common::system_row(row).is_some_and(&cond))
    })
}

/// The pane's rows joined into one text, continuation rows unwrapped (the
/// space a row was broken at comes back as one space).
fn pane_text(screen: &Screen) -> String {
    screen
        .pane()
        .iter()
        .map(|row| row.trim())
        .filter(|row| !row.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The rule above the input box.
fn rule(screen: &Screen) -> String {
    screen
        .rule_row()
        .map(|row| screen.rows()[row].clone())
        .unwrap_or_default()
}

/// The verification words at the end of a status bar (`🔒 w1-w2-w3-w4`).
fn status_words(screen: &Screen) -> Option<String> {
    let status = screen.status();
    let (_, words) = status.rsplit_once("🔒 ")?;
    Some(words.trim().to_owned())
}

/// Checks `code` is `count` words from the word list joined by dashes.
fn assert_words(code: &str, count: usize, context: &Screen) {
    let words: Vec<_> = code.split('-').collect();
    assert_eq!(words.len(), count, "{code:?} in:\n{context}");
    for word in words {
        assert!(
            WORDS.contains(&word),
            "{word:?} is no code word:\n{context}"
        );
    }
}

/// Waits until host `host` and guest `guest` both show they are connected
/// to each other.
fn wait_connected(host: &Tui, guest: &Tui, port: u16) -> Result<(Screen, Screen)> {
    let guest_name = guest.label().to_owned();
    let on_host = host.wait_for("the guest to join", |s| {
        s.status().contains(&format!("● {guest_name} (127.0.0.1:"))
            && s.status().contains("· connected")
    })?;
    let expected = format!("● {} (host, 127.0.0.1:{port}) · connected", host.label());
    let on_guest = guest.wait_for("the guest to connect", |s| s.status().contains(&expected))?;
    Ok((on_host, on_guest))
}

/// Everything `tui` wrote to its terminal, checked for sequences a peer
/// must never get through to it, and what its terminal was asked to do
/// besides drawing (nothing, for duplex).
fn assert_nothing_dangerous_written(tui: &Tui) {
    let raw = tui.raw();
    let label = tui.label();
    for (what, needle) in [
        ("an OSC 0 title", &b"\x1b]0;"[..]),
        ("an OSC 2 title", b"\x1b]2;"),
        ("an OSC 52 clipboard write", b"\x1b]52;"),
        ("an OSC 8 hyperlink", b"\x1b]8;"),
        ("a BEL", b"\x07"),
        ("a backspace", b"\x08"),
        ("a terminal reset (ESC c)", b"\x1bc"),
        ("U+202E RIGHT-TO-LEFT OVERRIDE", "\u{202E}".as_bytes()),
        ("U+202C POP DIRECTIONAL FORMATTING", "\u{202C}".as_bytes()),
        ("U+200B ZERO WIDTH SPACE", "\u{200B}".as_bytes()),
        ("U+2060 WORD JOINER", "\u{2060}".as_bytes()),
        ("U+FEFF ZERO WIDTH NO-BREAK SPACE", "\u{FEFF}".as_bytes()),
        ("U+009B, the C1 CSI", "\u{009B}".as_bytes()),
    ] {
        assert!(
            crate::common::find(&raw, needle).is_none(),
            "[{label}] wrote {what} to its terminal: {:?}",
            String::from_utf8_lossy(&raw)
        );
    }
    let effects = tui.side_effects();
    let drawing_only = SideEffects {
        undrawn: effects.undrawn.clone(),
        ..SideEffects::default()
    };
    assert!(
        effects == drawing_only && effects.undrawn.iter().all(|&c| c == '\u{FFFD}'),
        "[{label}] asked its terminal for more than drawing: {effects:?}"
    );
}

#[test]
fn the_harness_notices_what_a_terminal_would_obey() {
    // The checks above would pass vacuously if vt100 ignored these.
    let mut parser = vt100::Parser::new_with_callbacks(5, 40, 0, SideEffects::default());
    parser.process(b"\x1b]0;pwned\x07\x1b]52;c;aGVsbG8=\x07\x07\x1b]8;;http://x/\x07");
    parser.process("\u{FFFD}".as_bytes());
    let seen = parser.callbacks();
    assert_eq!(seen.titles, ["pwned"]);
    assert_eq!(seen.icon_names, ["pwned"]);
    assert_eq!(seen.clipboard, ["c;aGVsbG8="]);
    assert_eq!(seen.bells, 1);
    assert_eq!(seen.other_osc, ["8;;http://x/"]);
    assert_eq!(seen.undrawn, ['\u{FFFD}']);
    // vt100 swallows a C1 control sent as UTF-8 without a trace, so
    // `assert_nothing_dangerous_written` looks for those in the raw bytes.
}

// 1. Verification words.

#[test]
fn both_sides_show_the_same_verification_words_and_verify_stays_local() -> Result {
    // Wide enough for the whole /verify line on one row.
    const WIDE: u16 = 180;
    let (host, port) = Tui::host("alice", ROWS, WIDE)?;
    let guest = Tui::guest("bob", port, "alice", ROWS, WIDE)?;
    let (on_host, on_guest) = wait_connected(&host, &guest, port)?;
    let words = status_words(&on_host)
        .ok_or_else(|| Error(format!("no verification words on the host:\n{on_host}")))?;
    assert_words(&words, 4, &on_host);
    assert_eq!(
        status_words(&on_guest).as_deref(),
        Some(words.as_str()),
        "the guest shows other words than the host's {words:?}:\n{on_guest}"
    );

    let verify_line = |peer: &str| {
        format!("Encrypted. Verification words: {words} — read them to {peer}; different words")
    };
    let verify_rows = |screen: &Screen| {
        screen
            .pane()
            .iter()
            .filter(|row| {
                crate::common::system_row(row).is_some_and(|t| t.contains("Verification"))
            })
            .count()
    };

    // No message carries the command (the /verify line itself names
    // `/verify ok`, so look at messages only).
    let verify_sent = |screen: &Screen| {
        screen.pane().iter().any(|row| {
            crate::common::chat_row(row).is_some_and(|(_, text)| text.contains("/verify"))
        })
    };

    // The guest's /verify shows the words on the guest only…
    guest.send_line("/verify")?;
    let line = verify_line("alice");
    let screen = wait_system(&guest, "the guest's /verify line", |t| t.starts_with(&line))?;
    assert_eq!(screen.input(), vec![String::new()], "{screen}");
    // …and sends nothing: a message sent after it arrives with nothing
    // before it (one connection keeps the order).
    guest.send_line("after the guest's verify")?;
    let screen = wait_message(&host, "bob", "after the guest's verify")?;
    assert_eq!(verify_rows(&screen), 0, "{screen}");
    assert!(!verify_sent(&screen), "{screen}");

    host.send_line("/verify")?;
    let line = verify_line("bob");
    wait_system(&host, "the host's /verify line", |t| t.starts_with(&line))?;
    host.send_line("after the host's verify")?;
    let screen = wait_message(&guest, "alice", "after the host's verify")?;
    assert_eq!(verify_rows(&screen), 1, "only the guest's own:\n{screen}");
    assert!(!verify_sent(&screen), "{screen}");
    Ok(())
}

// 2. Secret codes.

/// The code in a waiting host's join hint (`DUPLEX_SECRET=CODE duplex join …`).
fn hint_code(screen: &Screen) -> Option<String> {
    let status = screen.status();
    let (_, after) = status.split_once("DUPLEX_SECRET=")?;
    after.split_whitespace().next().map(str::to_owned)
}

/// Checks nothing `tui` ever wrote holds any of `words`, in any case.
/// The words must not be code words: verification words are made of
/// those, and may be on the screen.
fn assert_never_written(tui: &Tui, words: &[&str]) {
    for word in words {
        assert!(!WORDS.contains(word), "{word:?} is a code word");
    }
    let raw = String::from_utf8_lossy(&tui.raw()).to_lowercase();
    for word in words {
        assert!(
            !raw.contains(&word.to_lowercase()),
            "[{}] wrote {word:?} to its terminal",
            tui.label()
        );
    }
}

#[test]
fn the_guest_is_asked_for_the_code_which_stays_hidden_and_may_be_retried() -> Result {
    let (host, port) = coded_host()?;
    let waiting = host.screen();
    assert!(
        waiting.status().contains(&format!(
            "◌ waiting for a guest · DUPLEX_SECRET=saffron-gazebo-trombone duplex join 127.0.0.1:{port}"
        )),
        "{waiting}"
    );

    let addr = format!("127.0.0.1:{port}");
    let guest = Tui::spawn("bob", &["join", &addr, "--name", "bob"], ROWS, COLS)?;
    let asking = guest.wait_for("the code prompt", |s| {
        rule(s).contains("Secret code (hidden)")
            && s.status().contains("◌ the host asks for its secret code")
    })?;
    assert_eq!(asking.input(), vec![String::new()], "{asking}");
    // The first connection, which only learnt that a code is needed.
    wait_system(&host, "the codeless attempt", |t| {
        t.contains("left without giving the secret code")
    })?;

    // A wrong code, one key at a time: only dots ever show.
    let wrong = "kumquat nebula quokka";
    for count in 1..=wrong.len() {
        guest.send_keys(&wrong[count - 1..count])?;
        let screen = guest.wait_for(&format!("{count} dots"), |s| {
            s.input() == vec!["•".repeat(count)]
        })?;
        let typed = wrong[..count].trim();
        assert!(
            typed.len() < 3 || !screen.contains(typed),
            "the typed code shows:\n{screen}"
        );
        assert_eq!(screen.cursor(), (ROWS - 2, count as u16), "{screen}");
    }
    guest.enter()?;
    let refused = guest.wait_for("the code to be refused", |s| {
        rule(s).contains(&format!("{addr}: wrong code · type the code again"))
            && s.status().contains("◌ the host asks for its secret code")
    })?;
    assert_eq!(refused.input(), vec![String::new()], "{refused}");
    let on_host = wait_system(&host, "the wrong code on the host", |t| {
        t.starts_with("turned away a connection from 127.0.0.1:") && t.contains("wrong code")
    })?;
    assert!(
        on_host.status().contains(&format!(
            "◌ waiting for a guest · DUPLEX_SECRET=saffron-gazebo-trombone duplex join {addr}"
        )),
        "the host should keep waiting:\n{on_host}"
    );

    // The right code, in another case and spacing, gets in.
    let right = "Saffron Gazebo  Trombone";
    guest.send_keys(right)?;
    guest.wait_for("the dots of the right code", |s| {
        s.input() == vec!["•".repeat(right.chars().count())]
    })?;
    guest.enter()?;
    wait_connected(&host, &guest, port)?;
    assert_never_written(
        &guest,
        &[
            "kumquat", "nebula", "quokka", "saffron", "gazebo", "trombone",
        ],
    );

    guest.send_line("/verify")?;
    wait_system(&guest, "the verify line", |t| {
        t.starts_with("Encrypted (admitted with the secret code). Verification words: ")
    })?;
    guest.send_line("in with the code")?;
    wait_message(&host, "bob", "in with the code")?;
    Ok(())
}

/// A host that requires the code `saffron-gazebo-trombone`, and its port.
fn coded_host() -> Result<(Tui, u16)> {
    Tui::host_with(
        "alice",
        &["--secret", "saffron-gazebo-trombone"],
        ROWS,
        COLS,
    )
}

#[test]
fn the_code_may_be_given_on_the_command_line() -> Result {
    let (host, port) = coded_host()?;
    let guest = Tui::guest_with(
        "bob",
        port,
        "alice",
        &["--secret", "Saffron Gazebo Trombone"],
        &[],
        ROWS,
        COLS,
    )?;
    let (on_host, on_guest) = wait_connected(&host, &guest, port)?;
    assert_eq!(status_words(&on_host), status_words(&on_guest));
    guest.send_line("hello with a code")?;
    wait_message(&host, "bob", "hello with a code")?;
    Ok(())
}

#[test]
fn the_code_may_be_given_in_duplex_secret() -> Result {
    let (host, port) = coded_host()?;
    let guest = Tui::guest_with(
        "bob",
        port,
        "alice",
        &[],
        &[("DUPLEX_SECRET", "saffron-gazebo-trombone")],
        ROWS,
        COLS,
    )?;
    wait_connected(&host, &guest, port)?;
    assert_never_written(&guest, &["saffron", "gazebo", "trombone"]);
    host.send_line("hello via the environment")?;
    wait_message(&guest, "alice", "hello via the environment")?;
    Ok(())
}

#[test]
fn a_host_without_a_code_value_makes_one_up_and_shows_it() -> Result {
    let (host, port) = Tui::host_with("alice", &["--secret"], ROWS, COLS)?;
    let waiting = host.screen();
    let code = hint_code(&waiting)
        .ok_or_else(|| Error(format!("no code in the join hint:\n{waiting}")))?;
    assert_words(&code, 3, &waiting);
    // The hint keeps the code off the guest's command line (where `ps`
    // shows it to every user of that machine).
    assert!(
        waiting.status().contains(&format!(
            "DUPLEX_SECRET={code} duplex join 127.0.0.1:{port}"
        )),
        "{waiting}"
    );
    assert!(!waiting.contains("--secret"), "{waiting}");

    // Without it, the host turns the guest away…
    let addr = format!("127.0.0.1:{port}");
    crate::common::expect_join_error(
        "wrong",
        &[
            "join",
            &addr,
            "--name",
            "mallory",
            "--secret",
            "not-the-code",
        ],
        &[],
        "wrong code",
    )?;
    wait_system(&host, "the wrong code on the host", |t| {
        t.contains("wrong code")
    })?;
    // …and with it, lets it in.
    let guest = Tui::guest_with(
        "bob",
        port,
        "alice",
        &[],
        &[("DUPLEX_SECRET", &code)],
        ROWS,
        COLS,
    )?;
    let (on_host, _) = wait_connected(&host, &guest, port)?;
    assert!(!on_host.status().contains(&code), "{on_host}");
    // Once the guest is in, the code stays off the host's status bar.
    guest.ctrl_c()?;
    let after = host.wait_for("the hint again", |s| {
        s.status()
            .contains(&format!("duplex join 127.0.0.1:{port}"))
    })?;
    assert!(!after.contains(&code), "{after}");
    Ok(())
}

#[test]
fn a_code_on_the_command_line_or_a_short_one_is_warned_about_and_an_empty_one_is_none() {
    use crate::common::headless::{Duplex, Setup};
    let host = Duplex::host("alice", &["--json", "--secret", "abc"]);
    let listening = host.event("listening");
    let port = listening["port"].as_u64().unwrap();
    assert_eq!(
        listening["join"][0],
        format!("DUPLEX_SECRET=abc duplex join 127.0.0.1:{port}")
    );
    let first = host.stderr_line();
    assert!(
        first.starts_with("duplex: warning: the secret code is on the command line"),
        "{first}"
    );
    assert!(first.contains("DUPLEX_SECRET=CODE"), "{first}");
    let second = host.stderr_line();
    assert!(
        second.starts_with("duplex: warning: the secret code is short"),
        "{second}"
    );
    drop(host);

    // In the environment: nothing shows it, nothing to warn about.
    let host = Duplex::start_with(
        "alice",
        &["host", "--port", "0", "--bind", "127.0.0.1", "--json"],
        Setup {
            env: &[("DUPLEX_SECRET", "saffron-gazebo-trombone")],
            ..Default::default()
        },
    );
    host.event("listening");
    assert!(
        host.stderr
            .recv_timeout(std::time::Duration::from_millis(500))
            .is_err()
    );
    drop(host);

    // An empty DUPLEX_SECRET is no code.
    let host = Duplex::start_with(
        "alice",
        &["host", "--port", "0", "--bind", "127.0.0.1", "--json"],
        Setup {
            env: &[("DUPLEX_SECRET", "")],
            ..Default::default()
        },
    );
    let listening = host.event("listening");
    let port = listening["port"].as_u64().unwrap();
    assert_eq!(
        listening["join"][0],
        format!("duplex join 127.0.0.1:{port}")
    );
    let guest = Duplex::start_with(
        "bob",
        &["join", &format!("127.0.0.1:{port}"), "--json"],
        Setup {
            env: &[("DUPLEX_SECRET", "")],
            ..Default::default()
        },
    );
    assert_eq!(guest.event("joined")["with_code"], false);
}

#[test]
fn a_wrong_code_on_the_command_line_fails_clearly() -> Result {
    let (host, port) = coded_host()?;
    let addr = format!("127.0.0.1:{port}");
    let guest = crate::common::expect_join_error(
        "bob",
        &[
            "join",
            &addr,
            "--name",
            "bob",
            "--secret",
            "kumquat-nebula-quokka",
        ],
        &[],
        &format!("duplex: {addr}: wrong code"),
    )?;
    // Named once: the line is exactly that, with no repeated cause.
    let screen = guest.screen();
    let line = screen
        .rows()
        .into_iter()
        .find(|row| row.starts_with("duplex: ") && !row.starts_with("duplex: warning: "))
        .unwrap_or_default();
    assert_eq!(line, format!("duplex: {addr}: wrong code"), "{screen}");
    // Warned first: the code was on the command line, for `ps` to show.
    assert!(
        screen.rows()[0].starts_with("duplex: warning: the secret code is on the command line"),
        "{screen}"
    );
    assert_never_written(&guest, &["kumquat", "nebula", "quokka", "saffron"]);
    let screen = wait_system(&host, "the wrong code on the host", |t| {
        t.starts_with("turned away a connection from 127.0.0.1:") && t.contains("wrong code")
    })?;
    assert!(
        screen.status().contains("◌ waiting for a guest"),
        "{screen}"
    );
    Ok(())
}

// 3. A hostile peer cannot touch the terminal.

#[test]
fn a_hostile_plain_peer_cannot_touch_the_terminal() -> Result {
    let (host, port) = Tui::host_with("alice", &["--allow-plain"], ROWS, COLS)?;
    let mut peer = PlainPeer::connect(port)?;
    // Each line and what the host must show for it.
    let attacks: [(&str, &str); 9] = [
        ("csi \x1b[31m\x1b[2Jred\x1b[0m", "csi ␛[31m␛[2Jred␛[0m"),
        ("move \x1b[10;10Hhere\x1b[H", "move ␛[10;10Hhere␛[H"),
        (
            "title \x1b]0;pwned\x07 clip \x1b]52;c;aGVsbG8=\x07",
            "title ␛]0;pwned␇ clip ␛]52;c;aGVsbG8=␇",
        ),
        (
            "link \x1b]8;;http://evil.example/\x07click\x1b]8;;\x07",
            "link ␛]8;;http://evil.example/␇click␛]8;;␇",
        ),
        (
            "bidi \u{202E}olleh\u{202C} zw a\u{200B}b\u{200D}c\u{2060}d\u{FEFF}e",
            "bidi olleh zw abcde",
        ),
        // Last on its line: see the check of the rows below.
        ("bel \x07\x07 c1 \u{009B}", "bel ␇␇ c1 \u{FFFD}"),
        ("bs abc\x08\x08\x08xyz cr abc\rXY", "bs abc␈␈␈xyz cr abc␍XY"),
        (
            "screen \x1b[?1049l\x1bc\x1b[?25l\x1b[?1000l",
            "screen ␛[?1049l␛c␛[?25l␛[?1000l",
        ),
        ("back to normal", "back to normal"),
    ];
    let mut bytes = Vec::new();
    for (line, _) in attacks {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    peer.send(&bytes)?;
    let screen = wait_message(&host, PLAIN, "back to normal")?;

    // Every line shows, in order, with its controls made visible.
    let pane = screen.pane();
    assert!(
        crate::common::system_row(&pane[0])
            .is_some_and(|t| t.starts_with(&format!("{PLAIN} joined (127.0.0.1:"))
                && t.ends_with(") · plaintext, unverified (UTF-8)")),
        "{screen}"
    );
    for (row, (sent, shown)) in pane[1..].iter().zip(attacks) {
        // vt100 does not draw U+FFFD (a real terminal shows �); that it
        // was written is checked below.
        let drawn = shown.trim_end_matches('\u{FFFD}').trim_end();
        assert_eq!(
            crate::common::chat_row(row),
            Some((PLAIN, drawn)),
            "for {sent:?}:\n{screen}"
        );
    }
    assert!(
        pane[attacks.len() + 1..].iter().all(String::is_empty),
        "{screen}"
    );
    // The layout is whole: rule, an empty input box with the cursor in it,
    // and the status bar on the last row.
    assert_eq!(screen.rule_row(), Some(usize::from(ROWS) - 3), "{screen}");
    assert!(rule(&screen).starts_with("── Enter send"), "{screen}");
    assert_eq!(screen.input(), vec![String::new()], "{screen}");
    assert_eq!(screen.cursor(), (ROWS - 2, 0), "{screen}");
    assert!(
        screen
            .status()
            .starts_with(&format!(" ● {PLAIN} (127.0.0.1:"))
            && screen.status().ends_with("⚠ plaintext, unverified"),
        "{screen}"
    );
    assert!(!screen.vt().hide_cursor(), "{screen}");
    assert!(screen.alternate_screen(), "{screen}");
    assert_nothing_dangerous_written(&host);
    // The C1 control became one replacement character, written whole.
    assert_eq!(host.side_effects().undrawn, vec!['\u{FFFD}']);
    assert!(
        crate::common::find(&host.raw(), "\u{FFFD}".as_bytes()).is_some(),
        "no replacement character written"
    );

    // The conversation goes on.
    host.send_line("all good here")?;
    assert_eq!(peer.read_line()?, "all good here");
    peer.send_line("still talking")?;
    wait_message(&host, PLAIN, "still talking")?;
    assert_nothing_dangerous_written(&host);
    Ok(())
}

#[test]
fn names_with_controls_are_refused_on_the_command_line() -> Result {
    for (label, name) in [
        ("osc-title", "ev\x1b]0;pwned\x07il"),
        ("csi-clear", "\x1b[2J\x1b[Hbob"),
        ("bidi", "\u{202E}ecila"),
        ("zero-width", "bo\u{200B}b"),
        ("c1", "c1\u{009B}31m"),
        ("newline", "bob\nalice"),
    ] {
        let tui = crate::common::expect_setup_error(
            label,
            &["host", "--bind", "127.0.0.1", "--port", "0", "--name", name],
            &[],
            "invalid --name",
        )?;
        let screen = tui.screen();
        assert!(
            screen.contains("use up to 24 columns of visible characters"),
            "[{label}]\n{screen}"
        );
        assert_nothing_dangerous_written(&tui);
    }
    Ok(())
}

/// A hostile name and what duplex must show for it: controls made visible,
/// the bidi override dropped, the newline a space.
const EVIL_NAME: &str = "\x1b]0;pwned\x07\u{202E}evil\x1b[2J\nname";
const EVIL_NAME_SHOWN: &str = "␛]0;pwned␇evil␛[2J name";

/// Columns for a peer with that name: room in the status bar for it, the
/// address and the longest verification words.
const HOSTILE_COLS: u16 = 120;

/// A hostile message and what duplex must show for it.
const EVIL_TEXT: &str = "\x1b]52;c;aGVsbG8=\x07\x1b[2J\u{202E}gotcha\x1b]8;;http://x/\x07\x08";
const EVIL_TEXT_SHOWN: &str = "␛]52;c;aGVsbG8=␇␛[2Jgotcha␛]8;;http://x/␇␈";

/// A chat frame with `text`.
fn chat(seq: u64, text: &str) -> duplex::protocol::Frame {
    duplex::protocol::Frame::Chat(duplex::protocol::ChatMessage {
        id: duplex::protocol::MessageId { session: 7, seq },
        sent_at_ms: chrono::Utc::now().timestamp_millis(),
        text: text.to_owned(),
        action: false,
    })
}

fn net_error(err: impl std::fmt::Display) -> Error {
    Error(format!("the library peer failed: {err}"))
}

#[test]
fn a_hostile_duplex_guest_cannot_touch_the_host_terminal() -> Result {
    let (host, port) = Tui::host("alice", ROWS, HOSTILE_COLS)?;
    // A guest made from the library, with a name no duplex CLI would send.
    let runtime = tokio::runtime::Runtime::new()?;
    let (events, _keep) = tokio::sync::mpsc::channel(64);
    let target: duplex::net::Target = format!("127.0.0.1:{port}").parse().map_err(net_error)?;
    let hello = duplex::protocol::Hello::new(EVIL_NAME);
    let (_, link) = runtime
        .block_on(duplex::net::connect(
            &target,
            &hello,
            None,
            events,
            duplex::domain::Limits::default(),
        ))
        .map_err(net_error)?;
    let screen = host.wait_for("the hostile guest to join", |s| {
        s.status()
            .starts_with(&format!(" ● {EVIL_NAME_SHOWN} (127.0.0.1:"))
    })?;
    assert!(
        screen
            .pane()
            .iter()
            .any(|row| crate::common::system_row(row)
                .is_some_and(|t| t.starts_with(&format!("{EVIL_NAME_SHOWN} joined")))),
        "{screen}"
    );
    link.send(chat(1, EVIL_TEXT)).map_err(net_error)?;
    link.send(chat(2, "and a normal line")).map_err(net_error)?;
    wait_message(&host, EVIL_NAME_SHOWN, EVIL_TEXT_SHOWN)?;
    let screen = wait_message(&host, EVIL_NAME_SHOWN, "and a normal line")?;
    assert_eq!(screen.input(), vec![String::new()], "{screen}");
    assert_eq!(screen.cursor(), (ROWS - 2, 0), "{screen}");
    assert_nothing_dangerous_written(&host);
    Ok(())
}

#[test]
fn a_hostile_duplex_host_cannot_touch_the_guest_terminal() -> Result {
    let runtime = tokio::runtime::Runtime::new()?;
    let _enter = runtime.enter();
    let bound = duplex::net::Host::bind(Some([127, 0, 0, 1].into()), 0).map_err(net_error)?;
    let port = bound.local_addr().port();
    let (events, mut joined) = tokio::sync::mpsc::channel(64);
    bound.spawn(
        duplex::protocol::Hello::new(EVIL_NAME),
        duplex::net::handshake::HostPolicy::new(None),
        events,
    );
    let guest = Tui::guest("bob", port, EVIL_NAME_SHOWN, ROWS, HOSTILE_COLS)?;
    let link = runtime
        .block_on(async {
            loop {
                match tokio::time::timeout(crate::common::TIMEOUT, joined.recv()).await {
                    Ok(Some(duplex::net::NetEvent::Joined { link, .. })) => return Ok(link),
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => return Err("no guest joined"),
                }
            }
        })
        .map_err(net_error)?;
    link.send(chat(1, EVIL_TEXT)).map_err(net_error)?;
    link.send(chat(2, "and a normal line")).map_err(net_error)?;
    wait_message(&guest, EVIL_NAME_SHOWN, EVIL_TEXT_SHOWN)?;
    let screen = wait_message(&guest, EVIL_NAME_SHOWN, "and a normal line")?;
    assert_eq!(screen.input(), vec![String::new()], "{screen}");
    assert_eq!(screen.cursor(), (ROWS - 2, 0), "{screen}");
    assert_nothing_dangerous_written(&guest);
    Ok(())
}

#[test]
fn a_hostile_refusal_reason_is_printed_safely() -> Result {
    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let port = listener.local_addr()?.port();
    // A host that refuses everyone with a reason full of escape sequences.
    runtime.spawn(async move {
        use duplex::net::handshake::{self, HostPolicy, Opening};
        let Ok((mut stream, addr)) = listener.accept().await else {
            return;
        };
        if let Ok(Opening::Duplex(theirs)) = handshake::read_opening(&mut stream, None).await {
            let _ = handshake::host(
                &mut stream,
                theirs,
                addr.ip(),
                &HostPolicy::new(None),
                |_| {
                    Err::<((), duplex::protocol::Hello), _>(
                        "busy \x1b]0;pwned\x07\u{202E}\x1b[2J".to_owned(),
                    )
                },
            )
            .await;
        }
    });
    let addr = format!("127.0.0.1:{port}");
    let guest = crate::common::expect_join_error(
        "bob",
        &["join", &addr, "--name", "bob"],
        &[],
        &format!("duplex: {addr}: the host refused the connection: busy ␛]0;pwned␇␛[2J"),
    )?;
    assert_nothing_dangerous_written(&guest);
    Ok(())
}

/// A host that lets the guest in with `amber-otter-violin` once, drops
/// it, then answers every attempt as a wrong code, as a fake host
/// harvesting guesses would. Returns its port and the attempts after the
/// drop.
fn a_host_that_then_says_wrong_code(
    runtime: &tokio::runtime::Runtime,
) -> std::io::Result<(u16, std::sync::Arc<std::sync::atomic::AtomicUsize>)> {
    use duplex::net::handshake::{self, HostPolicy, Opening};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let port = listener.local_addr()?.port();
    let attempts = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = attempts.clone();
    runtime.spawn(async move {
        let mut code = "amber-otter-violin";
        while let Ok((mut stream, addr)) = listener.accept().await {
            if code != "amber-otter-violin" {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            if let Ok(Opening::Duplex(theirs)) = handshake::read_opening(&mut stream, None).await {
                let policy = HostPolicy::new(Some(code.to_owned()));
                let _ = handshake::host(&mut stream, theirs, addr.ip(), &policy, |_| {
                    Ok::<_, String>(((), duplex::protocol::Hello::new("alice")))
                })
                .await;
            }
            // The joined guest's connection drops here.
            code = "not-the-same-code";
        }
    });
    Ok((port, attempts))
}

#[test]
fn a_reconnecting_guest_that_meets_a_wrong_code_stops_and_says_so() -> Result {
    let runtime = tokio::runtime::Runtime::new()?;
    let (port, attempts) = a_host_that_then_says_wrong_code(&runtime)?;
    let mut guest = crate::common::headless::Duplex::start_with(
        "bob",
        &["join", &format!("127.0.0.1:{port}"), "--name", "bob"],
        crate::common::headless::Setup {
            env: &[("DUPLEX_SECRET", "amber-otter-violin")],
            ..Default::default()
        },
    );
    let stderr = guest.rest_of_stderr();
    let status = guest.child.wait()?;
    assert_eq!(status.code(), Some(1), "{stderr:?}");
    assert_eq!(
        attempts.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one attempt after the drop, then no more"
    );
    let expected = format!(
        "duplex: 127.0.0.1:{port}: wrong code; {}",
        duplex::app::CODE_NOT_TAKEN
    );
    assert!(stderr.contains(&expected), "{stderr:?}");
    Ok(())
}

// 4. Plain text clients of a host.

#[test]
fn a_plain_client_chats_marked_as_plaintext_and_its_exit_ends_only_its_conversation() -> Result {
    let (mut host, port) = Tui::host_with("alice", &["--allow-plain"], ROWS, COLS)?;
    let mut peer = PlainPeer::connect(port)?;
    peer.send_line("hello from nc")?;
    let screen = wait_message(&host, PLAIN, "hello from nc")?;
    assert!(
        screen
            .status()
            .starts_with(&format!(" ● {PLAIN} (127.0.0.1:"))
            && screen.status().contains("⚠ plaintext"),
        "{screen}"
    );
    assert!(
        screen
            .pane()
            .iter()
            .any(|row| crate::common::system_row(row)
                .is_some_and(|t| t.contains("· plaintext, unverified (UTF-8)"))),
        "{screen}"
    );

    host.send_line("hi netcat")?;
    assert_eq!(peer.read_line()?, "hi netcat");

    // A chunk without a newline shows once the client pauses.
    peer.send(b"no newline")?;
    wait_message(&host, PLAIN, "no newline")?;

    // Its `exit` ends the conversation with it, and the host goes back to
    // waiting, like the accept loop of a socket server.
    peer.send_line("exit")?;
    wait_system(&host, "the plain client's exit", |t| {
        t.contains(&format!("{PLAIN} ended the conversation"))
    })?;
    assert_eq!(peer.read_to_end()?, b"", "the host closes the connection");
    host.wait_for("the host to wait for the next guest", |s| {
        s.status().contains("waiting for a guest")
    })?;
    host.send_line("exit")?;
    host.expect_exit(0)?;
    host.assert_restored();
    Ok(())
}

#[test]
fn a_plain_client_in_gbk_is_decoded_and_answered_in_gbk() -> Result {
    let (host, port) =
        Tui::host_with("alice", &["--allow-plain", "--encoding", "gbk"], ROWS, COLS)?;
    let mut peer = PlainPeer::connect(port)?;
    // 你好，世界 in GBK.
    peer.send(&[196, 227, 186, 195, 163, 172, 202, 192, 189, 231, b'\n'])?;
    let screen = wait_message(&host, PLAIN, "你好，世界")?;
    assert!(
        screen
            .pane()
            .iter()
            .any(|row| crate::common::system_row(row)
                .is_some_and(|t| t.ends_with("· plaintext, unverified (GBK)"))),
        "{screen}"
    );
    assert!(screen.status().contains("⚠ plaintext"), "{screen}");

    // 收到 in GBK; the emoji GBK lacks goes out as `?`, and alice is told.
    host.send_line("收到 ok 😀")?;
    let mut expected = vec![202, 213, 181, 189];
    expected.extend_from_slice(b" ok ?\n");
    assert_eq!(peer.read_line_bytes()?, expected);
    wait_system(&host, "the note on the emoji", |t| {
        t == "😀 (U+1F600) cannot be written in GBK: sent as ?"
    })?;
    Ok(())
}

#[test]
fn a_plain_client_of_a_duplex_only_host_is_told_how_to_connect() -> Result {
    let (host, port) = Tui::host("alice", ROWS, COLS)?;
    let mut peer = PlainPeer::connect(port)?;
    peer.send(b"\x1b]0;pwn\x07 hello\n")?;
    let reply = peer.read_to_end()?;
    assert_eq!(
        String::from_utf8_lossy(&reply),
        duplex::protocol::handshake::NOT_DUPLEX_REPLY
    );
    let screen = wait_system(&host, "the plain client to be turned away", |t| {
        t.starts_with("turned away a connection from 127.0.0.1:")
    })?;
    assert!(
        pane_text(&screen)
            .contains(r#"does not speak the duplex protocol (it sent "\x1b]0;pwn\x07")"#),
        "{screen}"
    );
    assert!(
        screen.status().contains(&format!(
            "◌ waiting for a guest · duplex join 127.0.0.1:{port}"
        )),
        "{screen}"
    );
    assert_nothing_dangerous_written(&host);

    // It keeps waiting: a duplex guest still gets in.
    let guest = Tui::guest("bob", port, "alice", ROWS, COLS)?;
    wait_connected(&host, &guest, port)?;
    Ok(())
}

#[test]
fn a_plain_client_cannot_skip_the_secret_code() -> Result {
    // Either the command line refuses the combination (as `join --plain
    // --secret` is refused), or the host turns plain clients away.
    let host = Tui::spawn(
        "alice",
        &[
            "host",
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--name",
            "alice",
            "--secret",
            "saffron-gazebo-trombone",
            "--allow-plain",
        ],
        ROWS,
        COLS,
    )?;
    let waiting = match host.wait_for("the host to wait", |s| {
        s.status()
            .contains("waiting for a guest · duplex join 127.0.0.1:")
    }) {
        Ok(waiting) => waiting,
        Err(_) => {
            let screen = host.screen();
            assert!(
                screen
                    .rows()
                    .iter()
                    .any(|row| row.starts_with("duplex: ") && row.contains("--secret")),
                "neither waiting nor a clear error:\n{screen}"
            );
            return Ok(());
        }
    };
    let port = crate::common::join_port(&waiting.status())
        .ok_or_else(|| Error(format!("no port:\n{waiting}")))?;
    let mut peer = PlainPeer::connect(port)?;
    peer.send_line("let me in without the code")?;
    let screen = host.wait_for("the plain client to be let in or turned away", |s| {
        s.pane().iter().any(|row| {
            crate::common::system_row(row)
                .is_some_and(|t| t.starts_with("turned away a connection"))
                || crate::common::chat_row(row).is_some()
        })
    })?;
    assert!(
        screen
            .pane()
            .iter()
            .all(|row| crate::common::chat_row(row).is_none())
            && screen.status().contains("◌ waiting for a guest"),
        "a plain client got in without the secret code:\n{screen}"
    );
    Ok(())
}

// 5. join --plain.

/// A line server on a free port, and `duplex join --plain` connected to it.
fn plain_join() -> Result<(Tui, PlainPeer, u16)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    let guest = Tui::spawn(
        "bob",
        &["join", "--plain", &addr, "--name", "bob"],
        ROWS,
        COLS,
    )?;
    let server = PlainPeer::accept(&listener)?;
    let expected = format!("● {PLAIN} (host, {addr}) · connected");
    let screen = guest.wait_for("the plain connection", |s| s.status().contains(&expected))?;
    assert!(screen.status().contains("⚠ plaintext"), "{screen}");
    Ok((guest, server, port))
}

#[test]
fn join_plain_chats_with_a_line_server_and_exit_ends_both() -> Result {
    let (mut guest, mut server, _) = plain_join()?;
    server.send_line("hello from the server")?;
    wait_message(&guest, PLAIN, "hello from the server")?;
    server.send_line("\x1b]0;pwned\x07\x1b[2Jstill here\x07")?;
    wait_message(&guest, PLAIN, "␛]0;pwned␇␛[2Jstill here␇")?;
    assert_nothing_dangerous_written(&guest);

    guest.send_line("hi server")?;
    assert_eq!(server.read_line()?, "hi server");
    guest.send_line("exit")?;
    assert_eq!(server.read_line()?, "exit");
    assert_eq!(server.read_to_end()?, b"");
    guest.expect_exit(0)?;
    guest.assert_restored();
    Ok(())
}

#[test]
fn join_plain_ends_cleanly_when_the_server_closes() -> Result {
    let (mut guest, mut server, _) = plain_join()?;
    server.send_line("bye now")?;
    wait_message(&guest, PLAIN, "bye now")?;
    server.close();
    let ended = format!("{PLAIN} closed the connection · press any key");
    guest.wait_for("the ended line", |s| s.status().trim() == ended)?;
    guest.send_keys("q")?;
    guest.expect_exit(0)?;
    guest.assert_restored();
    let after = guest.screen();
    assert!(
        after.contains(&format!("duplex: {PLAIN} closed the connection.")),
        "{after}"
    );
    // The last lines stay in the terminal, above the reason.
    assert!(after.contains(&format!("{PLAIN}: bye now")), "{after}");
    Ok(())
}

#[test]
fn join_plain_ends_when_the_server_says_exit() -> Result {
    let (mut guest, mut server, _) = plain_join()?;
    server.send_line("exit")?;
    let ended = format!("{PLAIN} ended the conversation · press any key");
    guest.wait_for("the ended line", |s| s.status().trim() == ended)?;
    guest.send_keys("q")?;
    guest.expect_exit(0)?;
    guest.assert_restored();
    let after = guest.screen();
    assert!(
        after.contains(&format!("duplex: {PLAIN} ended the conversation.")),
        "{after}"
    );
    Ok(())
}
