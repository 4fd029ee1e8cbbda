//! Whole-app snapshot tests: build an [`App`], feed it events as the runtime
//! would, draw it into a ratatui `TestBackend`, and compare the screen with
//! the accepted snapshot in `tests/it/snapshots/`.
//!
//! Time is fixed and shown in UTC, so the snapshots are the same everywhere.
//! To accept changed screens: `INSTA_UPDATE=always cargo test --test it ui::`,
//! then read every changed `.snap` file before committing it.

use std::net::SocketAddr;

use chrono::FixedOffset;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use duplex::app::{App, Clock, Event, Role};
use duplex::net::{ConnId, JoinHint, LeftReason, NetEvent, PeerInfo, PeerLink, Security};
use duplex::protocol::{ChatMessage, MessageId};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Position;
use unicode_width::UnicodeWidthStr;

/// 2023-11-14 22:13:20 UTC: every entry shows `22:13`.
const NOW_MS: i64 = 1_700_000_000_000;

/// The connection id every peer in these tests speaks on.
const PEER: ConnId = 7;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a valid socket address")
}

fn deterministic(mut app: App) -> App {
    app.clock = Clock::Fixed(NOW_MS);
    app.zone = FixedOffset::east_opt(0).expect("UTC is a valid offset");
    app
}

/// A host named alice, listening on port 7878 with one join hint.
fn host() -> App {
    deterministic(App::new(
        "alice",
        Role::Host {
            local: addr("0.0.0.0:7878"),
            hints: vec![JoinHint(addr("192.168.1.5:7878"))],
            code: None,
            show_code: true,
        },
        1,
    ))
}

/// A guest named bob.
fn guest() -> App {
    deterministic(App::new("bob", Role::Guest, 2))
}

fn joined(app: &mut App, name: &str, at: &str) {
    app.update(Event::Net(NetEvent::Joined {
        info: PeerInfo {
            id: PEER,
            name: name.to_owned(),
            addr: addr(at),
            security: Security::Encrypted {
                verification: "amber-otter-violin-maple".to_owned(),
                with_code: false,
            },
            resumed: false,
            resume: None,
            caps: Default::default(),
        },
        link: PeerLink::detached(PEER),
    }));
}

/// Host alice with bob connected.
fn host_with_bob() -> App {
    let mut app = host();
    joined(&mut app, "bob", "192.168.1.7:50312");
    app
}

/// A message from the connected peer.
fn receive(app: &mut App, seq: u64, text: &str) {
    app.update(Event::Net(NetEvent::Chat {
        from: PEER,
        msg: ChatMessage {
            id: MessageId { session: 9, seq },
            sent_at_ms: NOW_MS,
            text: text.to_owned(),
            action: false,
        },
    }));
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::CONTROL))
}

/// Types `text` key by key, as a person would.
fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

/// Types `text` and presses Enter, after a person's pause (keys at one
/// instant are a paste, whose Enter is a line break).
fn say(app: &mut App, text: &str) {
    type_text(app, text);
    pause(app);
    app.update(key(KeyCode::Enter));
}

/// Lets the app's clock run on past a paste's burst.
fn pause(app: &mut App) {
    if let Clock::Fixed(ms) = app.clock {
        app.clock = Clock::Fixed(ms + duplex::app::PASTE_GAP_MS);
    }
}

/// Tells the app the terminal size, then draws it on a terminal of that size.
fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    app.update(Event::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| duplex::ui::render(app, frame))
        .expect("drawing never fails on a TestBackend");
    terminal
}

fn cursor(terminal: &mut Terminal<TestBackend>) -> Position {
    assert!(
        terminal.backend().cursor_visible(),
        "the cursor must be shown in the input box"
    );
    terminal.get_cursor_position().expect("a cursor position")
}

/// The screen's rows as plain strings, wide characters once each.
fn rows(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            let mut row = String::new();
            let mut skip = 0;
            for x in 0..buffer.area.width {
                let cell = &buffer[(x, y)];
                if skip == 0 {
                    row.push_str(cell.symbol());
                }
                skip = skip.max(cell.symbol().width().max(1)).saturating_sub(1);
            }
            row
        })
        .collect()
}

#[test]
fn host_waiting_for_a_guest() {
    let mut app = host();
    let mut terminal = draw(&mut app, 80, 8);
    insta::assert_snapshot!(terminal.backend());
    // Empty input: the cursor waits at the start of the input row.
    assert_eq!(cursor(&mut terminal), Position::new(0, 6));
}

#[test]
fn host_waiting_keeps_what_was_typed_when_nobody_is_there() {
    let mut app = host();
    say(&mut app, "anyone there?");
    let mut terminal = draw(&mut app, 80, 8);
    insta::assert_snapshot!(terminal.backend());
    assert_eq!(cursor(&mut terminal), Position::new(13, 6));
}

#[test]
fn host_waiting_without_interfaces_shows_the_port() {
    let mut app = deterministic(App::new(
        "alice",
        Role::Host {
            local: addr("0.0.0.0:7878"),
            hints: vec![],
            code: None,
            show_code: true,
        },
        1,
    ));
    let terminal = draw(&mut app, 60, 4);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn conversation_with_both_authors_and_system_lines() {
    let mut app = host_with_bob();
    receive(&mut app, 1, "hi alice!");
    say(&mut app, "hello bob, how are you?");
    receive(&mut app, 2, "fine, thanks");
    app.update(Event::Net(NetEvent::Rejected {
        addr: addr("10.0.0.9:40000"),
        kind: duplex::domain::RejectKind::Busy,
        reason: "the host is already in a conversation with someone else; try again later"
            .to_owned(),
    }));
    type_text(&mut app, "draft");
    let mut terminal = draw(&mut app, 60, 12);
    insta::assert_snapshot!(terminal.backend());
    assert_eq!(cursor(&mut terminal), Position::new(5, 10));
}

#[test]
fn host_after_the_guest_left_waits_again() {
    let mut app = host_with_bob();
    receive(&mut app, 1, "gotta go");
    app.update(Event::Net(NetEvent::Left {
        from: PEER,
        reason: LeftReason::Left,
    }));
    joined(&mut app, "carol", "192.168.1.8:50400");
    app.update(Event::Net(NetEvent::Left {
        from: PEER,
        reason: LeftReason::Error("connection reset by peer".to_owned()),
    }));
    let terminal = draw(&mut app, 60, 8);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn guest_connected_to_the_host() {
    let mut app = guest();
    joined(&mut app, "alice", "192.168.1.5:7878");
    receive(&mut app, 1, "welcome");
    say(&mut app, "thanks");
    let mut terminal = draw(&mut app, 60, 8);
    insta::assert_snapshot!(terminal.backend());
    assert_eq!(cursor(&mut terminal), Position::new(0, 6));
}

#[test]
fn long_messages_wrap_under_the_text() {
    let mut app = host_with_bob();
    receive(
        &mut app,
        1,
        "This message is long enough that it has to wrap over several rows of a narrow pane.",
    );
    say(
        &mut app,
        "And so is this reply, which also wraps; every continuation row lines up.",
    );
    receive(&mut app, 2, "first line\nsecond line after a break");
    receive(
        &mut app,
        3,
        "averyveryverylongwordwithoutanyspacesatallthatmustbreak",
    );
    let terminal = draw(&mut app, 40, 20);
    insta::assert_snapshot!(terminal.backend());
    // Continuation rows start at the text column: "22:13 bob: " is 11 cells.
    let screen = rows(&terminal);
    let first = screen
        .iter()
        .position(|row| row.starts_with("22:13 bob: This"))
        .expect("bob's first message is on screen");
    assert!(screen[first + 1].starts_with("           "));
    assert!(!screen[first + 1].starts_with("            "));
}

#[test]
fn wide_and_combining_text_in_messages() {
    let mut app = host_with_bob();
    receive(
        &mut app,
        1,
        "你好，世界！这是一段很长的中文，用来测试换行是否按显示宽度进行。",
    );
    receive(&mut app, 2, "emoji 👍 family 👨‍👩‍👧 flag 🇯🇵 done");
    // "e" + combining acute, "n" + combining tilde: one cell each.
    receive(&mut app, 3, "cafe\u{301} man\u{303}ana");
    receive(&mut app, 4, "日本語とEnglishが混ざった文");
    let terminal = draw(&mut app, 30, 16);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn wide_text_in_the_input_places_the_cursor_by_width() {
    let mut app = host_with_bob();
    type_text(&mut app, "日本語 ok");
    let mut terminal = draw(&mut app, 40, 6);
    insta::assert_snapshot!(terminal.backend());
    // 3 wide characters (6 cells), a space and "ok": column 9.
    assert_eq!(cursor(&mut terminal), Position::new(9, 4));

    // Back over "ok" and the space: the cursor sits right after 語.
    for _ in 0..3 {
        app.update(key(KeyCode::Left));
    }
    let mut terminal = draw(&mut app, 40, 6);
    assert_eq!(cursor(&mut terminal), Position::new(6, 4));
    app.update(key(KeyCode::Left));
    let mut terminal = draw(&mut app, 40, 6);
    assert_eq!(cursor(&mut terminal), Position::new(4, 4));
}

#[test]
fn emoji_and_combining_marks_in_the_input_move_as_one() {
    let mut app = host_with_bob();
    // A ZWJ family (2 cells), then "é" written as e + U+0301 (1 cell).
    type_text(&mut app, "👨‍👩‍👧e\u{301}x");
    let mut terminal = draw(&mut app, 40, 6);
    insta::assert_snapshot!(terminal.backend());
    assert_eq!(cursor(&mut terminal), Position::new(4, 4));
    app.update(key(KeyCode::Left)); // before x
    app.update(key(KeyCode::Left)); // before é, as one grapheme
    let mut terminal = draw(&mut app, 40, 6);
    assert_eq!(cursor(&mut terminal), Position::new(2, 4));
    app.update(key(KeyCode::Left)); // before the whole family
    let mut terminal = draw(&mut app, 40, 6);
    assert_eq!(cursor(&mut terminal), Position::new(0, 4));
}

#[test]
fn wide_characters_wrap_in_the_input_without_splitting() {
    let mut app = host_with_bob();
    // 11 wide characters in a 9-cell box: 4 per row, never half a character.
    type_text(&mut app, "一二三四五六七八九十百");
    let mut terminal = draw(&mut app, 9, 9);
    insta::assert_snapshot!(terminal.backend());
    // Rows "一二三四", "五六七八", "九十百": the cursor follows 百 on row 3.
    assert_eq!(cursor(&mut terminal), Position::new(6, 7));
}

#[test]
fn long_input_grows_the_box_then_scrolls() {
    let mut app = host_with_bob();
    receive(&mut app, 1, "tell me everything");
    let sentence = "the quick brown fox jumps over the lazy dog ";

    // Three rows of text: the box grows to three rows.
    type_text(&mut app, &sentence.repeat(2));
    let mut terminal = draw(&mut app, 30, 15);
    insta::assert_snapshot!("long_input_three_rows", terminal.backend());
    // 88 cells in a 30-cell box: rows of 30, 30, 28; the cursor ends row 3.
    assert_eq!(cursor(&mut terminal), Position::new(28, 13));

    // Far more than five rows: the box stops at a third of the 15-row
    // screen, five rows, and shows the cursor's row.
    type_text(&mut app, &sentence.repeat(3));
    let mut terminal = draw(&mut app, 30, 15);
    insta::assert_snapshot!("long_input_scrolled_to_the_cursor", terminal.backend());
    // 220 cells = 7 full rows and 10 cells on an 8th row, which is the
    // bottom row of the five-row box (rows 9..=13).
    assert_eq!(cursor(&mut terminal), Position::new(10, 13));

    // Home: the box scrolls back to the first row, the cursor at its start.
    app.update(key(KeyCode::Home));
    let mut terminal = draw(&mut app, 30, 15);
    insta::assert_snapshot!("long_input_scrolled_to_the_start", terminal.backend());
    assert_eq!(cursor(&mut terminal), Position::new(0, 9));
}

#[test]
fn scrolled_up_view_counts_new_messages() {
    let mut app = host_with_bob();
    app.update(Event::Resize(80, 10));
    for seq in 1..=30 {
        receive(&mut app, seq, &format!("message number {seq}"));
    }
    app.update(key(KeyCode::PageUp));
    receive(&mut app, 31, "new while scrolled");
    receive(&mut app, 32, "and another");
    receive(&mut app, 33, "and a third");
    type_text(&mut app, "typing on");
    let mut terminal = draw(&mut app, 80, 10);
    insta::assert_snapshot!("scrolled_up_three_new", terminal.backend());
    assert_eq!(cursor(&mut terminal), Position::new(9, 8));
    assert!(rows(&terminal)[9].contains("3 new"));

    // Back to live: the newest messages and the name return.
    app.update(ctrl(KeyCode::End));
    let terminal = draw(&mut app, 80, 10);
    insta::assert_snapshot!("scrolled_back_to_live", terminal.backend());
}

/// With a long peer name or address the status bar is cut at the right
/// edge, and the cut falls on the scroll indicator, the only sign that
/// messages arrived below the view. Here, on an 80-column terminal, the bar
/// reads " ● Bartholomew Featherstone ([2001:db8:85a3::8a2e:370:7334]:50312)
/// · connected " and nothing of the indicator is left.
#[test]
fn scroll_indicator_survives_a_long_peer_address() {
    let mut app = host();
    joined(
        &mut app,
        "Bartholomew Featherstone",
        "[2001:db8:85a3::8a2e:370:7334]:50312",
    );
    app.update(Event::Resize(80, 10));
    for seq in 1..=30 {
        receive(&mut app, seq, &format!("message number {seq}"));
    }
    app.update(key(KeyCode::PageUp));
    receive(&mut app, 31, "new while scrolled");
    let terminal = draw(&mut app, 80, 10);
    let status = &rows(&terminal)[9];
    assert!(status.contains("1 new"), "status bar: {status:?}");
}

#[test]
fn scrolled_to_the_oldest_without_new_messages() {
    let mut app = host_with_bob();
    app.update(Event::Resize(50, 8));
    for seq in 1..=20 {
        receive(&mut app, seq, &format!("message number {seq}"));
    }
    app.update(ctrl(KeyCode::Home));
    let terminal = draw(&mut app, 50, 8);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn narrow_terminal() {
    let mut app = host_with_bob();
    receive(&mut app, 1, "hello there, alice");
    say(&mut app, "hi 你好 👋");
    type_text(&mut app, "a reply that wraps");
    let mut terminal = draw(&mut app, 20, 8);
    insta::assert_snapshot!(terminal.backend());
    let position = cursor(&mut terminal);
    assert!(position.x < 20 && position.y < 8, "{position:?}");
}

#[test]
fn tiny_terminal() {
    let mut app = host_with_bob();
    receive(&mut app, 1, "hello");
    type_text(&mut app, "typing");
    let mut terminal = draw(&mut app, 5, 4);
    insta::assert_snapshot!(terminal.backend());
    // "typin" fills the first row, "g" the second, which is what shows.
    assert_eq!(cursor(&mut terminal), Position::new(1, 2));
}

fn busy_app() -> App {
    let mut app = host_with_bob();
    receive(&mut app, 1, "你好 hello 👨‍👩‍👧 e\u{301}");
    say(&mut app, "a reply");
    type_text(&mut app, "日本語 and more text than fits");
    app
}

/// Draws at `width` x `height`, checks the cursor is on screen, and scrolls.
fn draw_and_scroll(app: &mut App, width: u16, height: u16) {
    let mut terminal = draw(app, width, height);
    if width > 0 && height > 0 {
        let position = cursor(&mut terminal);
        assert!(
            position.x < width && position.y < height,
            "{width}x{height}: cursor at {position:?}"
        );
    }
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::PageDown));
}

#[test]
fn small_sizes_draw_without_panicking() {
    let mut app = busy_app();
    // Heights 0, 1 and 3 are covered by the test below.
    for height in [2, 4, 5, 6, 7, 8] {
        for width in 0..=24 {
            draw_and_scroll(&mut app, width, height);
        }
    }
}

/// When the screen has fewer rows than the four parts need (messages, rule,
/// input, status), the layout gives the input box zero rows, and
/// `ui::input::render` computes `layout.cursor_row - first` with
/// `first = cursor_row + 1`: an integer underflow. Debug builds panic
/// ("attempt to subtract with overflow", src/ui/input.rs); release builds
/// wrap and put the cursor on the row above the input box.
#[test]
fn three_and_one_row_terminals_draw_without_panicking() {
    let mut app = busy_app();
    draw_and_scroll(&mut app, 5, 3);
    for height in [0, 1, 3] {
        for width in 0..=24 {
            draw_and_scroll(&mut app, width, height);
        }
    }
}

/// The foreground colour of the first cell of the row that shows `text`
/// (the time's), and of the cell where the author's name starts.
fn name_colour(terminal: &Terminal<TestBackend>, text: &str) -> ratatui::style::Color {
    let y = rows(terminal)
        .iter()
        .position(|row| row.contains(text))
        .unwrap_or_else(|| panic!("no row shows {text:?}"));
    // "22:13 " then the name.
    terminal.backend().buffer()[(6, y as u16)].fg
}

/// README: "Your own lines are always cyan; a peer whose name is the same
/// as yours ... is shown with its role ... and never as you."
#[test]
fn own_lines_are_cyan_and_a_peer_named_like_you_is_not() {
    let mut app = host();
    joined(&mut app, "alice", "192.168.1.7:50312");
    receive(&mut app, 1, "from the twin");
    say(&mut app, "from me");
    let terminal = draw(&mut app, 60, 8);
    let rows = rows(&terminal);
    assert!(
        rows.iter()
            .any(|row| row.contains("alice (guest): from the twin")),
        "{rows:#?}"
    );
    assert_eq!(
        name_colour(&terminal, "from me"),
        ratatui::style::Color::Cyan
    );
    assert_ne!(
        name_colour(&terminal, "from the twin"),
        ratatui::style::Color::Cyan
    );
}

/// README: "`✗ not delivered` if the peer left for good before receiving it".
#[test]
fn a_message_the_peer_never_got_is_marked_not_delivered() {
    let mut app = host_with_bob();
    say(&mut app, "are you still there?");
    app.update(Event::Net(NetEvent::Left {
        from: PEER,
        reason: LeftReason::Left,
    }));
    let terminal = draw(&mut app, 60, 8);
    let rows = rows(&terminal);
    assert!(
        rows.iter()
            .any(|row| row.contains("alice: are you still there? ✗ not delivered")),
        "{rows:#?}"
    );
}

#[test]
fn a_multi_line_draft_grows_the_box_and_a_multi_line_message_keeps_its_lines() {
    let mut app = host_with_bob();
    receive(
        &mut app,
        1,
        "three lines:\nthe second one is long enough to wrap under the text\n  and an indented third",
    );
    // Alt-Enter and Ctrl-J start new lines; a wide character on the last.
    type_text(&mut app, "first");
    app.update(Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)));
    type_text(&mut app, "second");
    app.update(ctrl(KeyCode::Char('j')));
    app.update(ctrl(KeyCode::Char('j')));
    type_text(&mut app, "fourth 中文");
    let mut terminal = draw(&mut app, 40, 16);
    insta::assert_snapshot!("multi_line_draft_and_message", terminal.backend());
    // Four rows in the box (rows 11..=14), the cursor after 中文.
    assert_eq!(cursor(&mut terminal), Position::new(11, 14));
    // Up twice: on "second" at the same column (its end is before it).
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Up));
    let mut terminal = draw(&mut app, 40, 16);
    assert_eq!(cursor(&mut terminal), Position::new(6, 12));
    // Sent, it is one message with its line breaks.
    pause(&mut app);
    app.update(key(KeyCode::Enter));
    let terminal = draw(&mut app, 40, 16);
    insta::assert_snapshot!("multi_line_message_sent", terminal.backend());
}

#[test]
fn a_big_paste_asks_on_the_rule() {
    let mut app = host_with_bob();
    let big: String = (1..=120).map(|n| format!("line {n}\n")).collect();
    app.update(Event::Paste(big));
    let terminal = draw(&mut app, 60, 10);
    insta::assert_snapshot!("paste_confirm", terminal.backend());
    // Too narrow for the whole question: the short one.
    let terminal = draw(&mut app, 24, 10);
    let rule = rows(&terminal)[7].clone();
    assert!(rule.contains(" Paste 120 lines? y/n "), "{rule:?}");
    app.update(key(KeyCode::Char('y')));
    let terminal = draw(&mut app, 60, 10);
    insta::assert_snapshot!("paste_confirmed", terminal.backend());
}

/// The screen with its styles: per row, the runs of cells that share a
/// style, as `"text" fg/bg/modifiers` (runs of blank unstyled cells left
/// out), so a snapshot holds the colours and emphasis as well as the text.
fn styled(terminal: &Terminal<TestBackend>) -> String {
    use ratatui::style::{Color, Modifier};
    let buffer = terminal.backend().buffer();
    let describe = |fg: Color, bg: Color, modifier: Modifier| {
        let colour = |c: Color| match c {
            Color::Reset => "-".to_owned(),
            c => format!("{c:?}"),
        };
        let mut text = format!("{}/{}", colour(fg), colour(bg));
        if !modifier.is_empty() {
            text.push_str(&format!(" {modifier:?}"));
        }
        text
    };
    let mut out = String::new();
    for y in 0..buffer.area.height {
        out.push_str(&format!("{y:2}:"));
        let mut run = String::new();
        let mut run_style = None;
        let mut flush = |run: &mut String, style: Option<(Color, Color, Modifier)>| {
            if let Some((fg, bg, modifier)) = style {
                let plain = fg == Color::Reset && bg == Color::Reset && modifier.is_empty();
                if !(plain && run.trim().is_empty()) {
                    out.push_str(&format!(" {run:?} {}", describe(fg, bg, modifier)));
                }
            }
            run.clear();
        };
        for x in 0..buffer.area.width {
            let cell = &buffer[(x, y)];
            let style = Some((cell.fg, cell.bg, cell.modifier));
            if style != run_style {
                flush(&mut run, run_style);
                run_style = style;
            }
            run.push_str(cell.symbol());
        }
        flush(&mut run, run_style);
        out.push('\n');
    }
    out
}

/// A conversation with something of every style: names on both sides, a
/// notice, an error, and the view scrolled back to the oldest message.
fn every_style(theme: duplex::theme::Theme) -> Terminal<TestBackend> {
    let mut app = host_with_bob();
    app.theme = theme;
    receive(&mut app, 1, "hello alice");
    say(&mut app, "hi bob");
    say(&mut app, "/nonsense");
    for seq in 2..8 {
        receive(&mut app, seq, &format!("line {seq}"));
    }
    draw(&mut app, 48, 8);
    app.update(ctrl(KeyCode::Home));
    draw(&mut app, 48, 8)
}

#[test]
fn the_light_theme() {
    let terminal = every_style(duplex::theme::Theme::light());
    insta::assert_snapshot!(styled(&terminal));
}

#[test]
fn the_dark_theme() {
    let terminal = every_style(duplex::theme::Theme::dark());
    insta::assert_snapshot!(styled(&terminal));
}

/// `--color never` and `NO_COLOR`: not one cell has a colour, but names
/// stay bold and the status bar is in reverse video.
#[test]
fn without_colour_only_emphasis() {
    use ratatui::style::{Color, Modifier};
    let terminal = every_style(duplex::theme::Theme::monochrome());
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    let rows = rows(&terminal);
    let me = rows
        .iter()
        .position(|r| r.contains("hi bob"))
        .expect("my line");
    assert!(buffer[(6, me as u16)].modifier.contains(Modifier::BOLD));
    let status = buffer.area.height - 1;
    assert!(buffer[(0, status)].modifier.contains(Modifier::REVERSED));
    insta::assert_snapshot!(styled(&terminal));
}

/// The peer typing: "bob is typing…" in the status bar, with the address
/// while it fits and without it when it does not.
#[test]
fn the_status_bar_says_the_peer_is_typing() {
    let mut app = host_with_bob();
    receive(&mut app, 1, "let me think");
    app.update(Event::Net(NetEvent::Typing {
        from: PEER,
        state: duplex::protocol::TypingState::Active,
    }));
    let terminal = draw(&mut app, 80, 8);
    insta::assert_snapshot!(terminal.backend());
    let narrow = draw(&mut app, 44, 8);
    let status = &rows(&narrow)[7];
    assert!(status.starts_with(" ● bob is typing…"), "{status:?}");
    // Its message ends it.
    receive(&mut app, 2, "done thinking");
    let terminal = draw(&mut app, 80, 8);
    assert!(rows(&terminal)[7].contains("· connected"));
}

/// The unread marker: a rule above the first message that arrived while
/// the terminal was unfocused, still there once back, gone after a send.
#[test]
fn the_unread_marker_is_above_the_first_message_while_away() {
    let mut app = host_with_bob();
    receive(&mut app, 1, "read this");
    app.update(Event::Focus(false));
    receive(&mut app, 2, "while you were away");
    receive(&mut app, 3, "and more");
    app.update(Event::Focus(true));
    let terminal = draw(&mut app, 60, 10);
    insta::assert_snapshot!(terminal.backend());
    let rows = rows(&terminal);
    let rule = rows.iter().position(|row| row.contains("─ new ─")).unwrap();
    assert!(rows[rule - 1].contains("read this"), "{rows:#?}");
    assert!(rows[rule + 1].contains("while you were away"), "{rows:#?}");
    say(&mut app, "got it");
    let terminal = draw(&mut app, 60, 10);
    assert!(!rows_of(&terminal).iter().any(|row| row.contains(" new ")));
}

fn rows_of(terminal: &Terminal<TestBackend>) -> Vec<String> {
    rows(terminal)
}

fn alt(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT))
}

#[test]
fn copy_view_shows_the_messages_alone() {
    let mut app = host_with_bob();
    receive(
        &mut app,
        1,
        "see https://example.com/a/very/long/path/that/wraps/over/the/terminal/edge?query=1",
    );
    say(&mut app, "thanks ❤\u{fe0f}");
    receive(&mut app, 2, "two\nlines");
    app.update(Event::Resize(40, 12));
    app.update(alt('l'));
    assert!(app.copy_view, "Alt-L shows the copy view");
    let text = duplex::ui::copy_view::copy_view_text(&app);
    // No time, no indent, no rule or status bar; links whole on one line;
    // emoji as sent, whatever the emoji mode.
    insta::assert_snapshot!(text);
    assert!(!text.contains("22:13"));
    assert!(text.contains(
        "bob: see https://example.com/a/very/long/path/that/wraps/over/the/terminal/edge?query=1\n"
    ));
    assert!(text.contains("alice: thanks ❤\u{fe0f}"));
}

#[test]
fn copy_view_holds_as_many_messages_as_the_terminal_rows_and_follows_the_scroll() {
    let mut app = host_with_bob();
    for seq in 1..=30 {
        receive(&mut app, seq, &format!("message {seq}"));
    }
    app.update(Event::Resize(40, 10));
    app.update(alt('l'));
    let text = duplex::ui::copy_view::copy_view_text(&app);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10, "{text}");
    assert_eq!(lines.last(), Some(&"bob: message 30"));
    // Scrolled back, the copy view ends where the chat screen did.
    app.update(key(KeyCode::Esc));
    app.update(key(KeyCode::PageUp));
    app.update(alt('l'));
    let text = duplex::ui::copy_view::copy_view_text(&app);
    let last = text.lines().last().unwrap_or_default().to_owned();
    assert_ne!(last, "bob: message 30", "{text}");
    assert!(last.starts_with("bob: message "), "{text}");
}

#[test]
fn any_key_or_alt_l_again_leaves_the_copy_view_and_does_nothing_else() {
    let mut app = host_with_bob();
    for seq in 1..=40 {
        receive(&mut app, seq, &format!("message {seq}"));
    }
    app.update(Event::Resize(60, 20));
    app.update(key(KeyCode::PageUp));
    let scrolled = app.scroll;
    type_text(&mut app, "draft");
    for leave in [
        alt('l'),
        key(KeyCode::Char('x')),
        key(KeyCode::Enter),
        key(KeyCode::Esc),
        ctrl(KeyCode::Char('c')),
    ] {
        app.update(alt('l'));
        assert!(app.copy_view);
        let effects = app.update(leave.clone());
        assert!(!app.copy_view, "{leave:?} goes back");
        assert!(effects.is_empty(), "{leave:?} only goes back: {effects:?}");
        assert_eq!(app.input.text(), "draft", "{leave:?} did not type or send");
        assert_eq!(app.scroll, scrolled, "{leave:?} did not scroll");
    }
}

#[test]
fn safe_emoji_mode_draws_a_form_every_terminal_agrees_on() {
    let mut app = host_with_bob();
    app.emoji = duplex::text::EmojiMode::Safe;
    receive(&mut app, 1, "A heart ❤\u{fe0f} x|end");
    receive(&mut app, 2, "B thumbs 👍\u{1f3fd} x|end");
    receive(
        &mut app,
        3,
        "C family 👨\u{200d}👩\u{200d}👧\u{200d}👦 x|end",
    );
    receive(&mut app, 4, "D key 1\u{fe0f}\u{20e3} x|end");
    receive(&mut app, 5, "E flag 🇸🇬 x|end");
    type_text(&mut app, "✔\u{fe0f}!");
    let mut terminal = draw(&mut app, 40, 12);
    insta::assert_snapshot!(terminal.backend());
    let screen = rows(&terminal);
    for (row, shown) in [
        ("A heart", "A heart ❤  x|end"),
        ("B thumbs", "B thumbs 👍 x|end"),
        ("C family", "C family 👨 x|end"),
        ("D key", "D key 1  x|end"),
        ("E flag", "E flag 🇸🇬 x|end"),
    ] {
        let line = screen
            .iter()
            .find(|r| r.contains(row))
            .unwrap_or_else(|| panic!("{row} on screen"));
        assert!(line.contains(shown), "{line:?}");
    }
    // The input draws ✔️ as "✔ " and the cursor is after its 2 cells and "!".
    assert!(screen.iter().any(|r| r.starts_with("✔ !")));
    assert_eq!(cursor(&mut terminal).x, 3);
    // The message itself is unchanged.
    assert_eq!(app.input.text(), "✔\u{fe0f}!");
}

#[test]
fn safe_emoji_mode_draws_names_the_same_way() {
    let mut app = host();
    app.emoji = duplex::text::EmojiMode::Safe;
    joined(&mut app, "ann❤\u{fe0f}", "192.168.1.7:50312");
    receive(&mut app, 1, "hi|end");
    let terminal = draw(&mut app, 60, 8);
    let screen = rows(&terminal);
    assert!(
        screen.iter().any(|r| r.starts_with("22:13 ann❤ : hi|end")),
        "{screen:#?}"
    );
    assert!(
        screen.iter().any(|r| r.starts_with(" ● ann❤  (")),
        "{screen:#?}"
    );
    assert!(
        !screen.concat().contains('\u{fe0f}'),
        "no VS16 drawn: {screen:#?}"
    );
}

/// The screen's rows with the search's highlights marked: `[pizza]` for a
/// match, `{pizza}` for the one the view is on.
fn marked_rows(terminal: &Terminal<TestBackend>) -> Vec<String> {
    use ratatui::style::Color;
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            let mut row = String::new();
            let mut open: Option<Color> = None;
            for x in 0..buffer.area.width {
                let cell = &buffer[(x, y)];
                let bg = Some(cell.bg).filter(|bg| matches!(bg, Color::Yellow | Color::LightRed));
                // The status bar's own yellow is not a match.
                let bg = bg.filter(|_| y + 1 < buffer.area.height);
                if bg != open {
                    match open {
                        Some(Color::LightRed) => row.push('}'),
                        Some(_) => row.push(']'),
                        None => {}
                    }
                    match bg {
                        Some(Color::LightRed) => row.push('{'),
                        Some(_) => row.push('['),
                        None => {}
                    }
                    open = bg;
                }
                row.push_str(cell.symbol());
            }
            match open {
                Some(Color::LightRed) => row.push('}'),
                Some(_) => row.push(']'),
                None => {}
            }
            row.trim_end().to_owned()
        })
        .collect()
}

#[test]
fn search_highlights_every_match_and_the_current_one_most() {
    let mut app = host_with_bob();
    receive(&mut app, 1, "pizza tonight?");
    say(
        &mut app,
        "PIZZA! the place with the wood-fired pizzas near the station?",
    );
    receive(&mut app, 2, "no, the other one");
    receive(&mut app, 3, "café? or cafe\u{301} pizza?");
    type_text(&mut app, "draft");
    app.update(ctrl(KeyCode::Char('f')));
    type_text(&mut app, "pizza");
    app.update(key(KeyCode::Enter));
    let mut terminal = draw(&mut app, 40, 14);
    insta::assert_snapshot!("search_highlights", marked_rows(&terminal).join("\n"));
    insta::assert_snapshot!(terminal.backend());
    // The cursor is in the query, after "search: pizza".
    assert_eq!(cursor(&mut terminal), Position::new(13, 12));
    // Esc: no more highlights, and the draft is back.
    app.update(key(KeyCode::Esc));
    let terminal = draw(&mut app, 40, 14);
    let screen = marked_rows(&terminal);
    assert!(
        screen
            .iter()
            .all(|row| !row.contains('[') && !row.contains('{')),
        "{screen:#?}"
    );
    assert!(screen[12].starts_with("draft"), "{screen:#?}");
}

#[test]
fn search_scrolls_back_to_an_old_match() {
    let mut app = host_with_bob();
    receive(&mut app, 1, "where shall we meet? the old mill?");
    for seq in 2..40 {
        receive(&mut app, seq, &format!("filler {seq}"));
    }
    app.update(Event::Submit("/search Mill".into()));
    assert_eq!(app.search.as_ref().map(|s| s.count()), Some(0));
    app.update(Event::Submit("/search mill".into()));
    let terminal = draw(&mut app, 40, 10);
    insta::assert_snapshot!(marked_rows(&terminal).join("\n"));
}

/// Bob, on a screen (so Ctrl-C asks and the end stays), with alice.
fn guest_on_screen() -> App {
    let mut app = guest();
    app.interactive = true;
    joined(&mut app, "alice", "192.168.1.5:7878");
    app
}

#[test]
fn help_overlay_at_40x12() {
    let mut app = guest_on_screen();
    receive(&mut app, 1, "hi bob");
    app.update(key(KeyCode::F(1)));
    let terminal = draw(&mut app, 40, 12);
    // No cursor blinking inside the help.
    assert!(!terminal.backend().cursor_visible());
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn help_overlay_at_40x12_scrolled_to_its_end() {
    let mut app = guest_on_screen();
    app.update(Event::Resize(40, 12));
    say(&mut app, "/help");
    app.update(key(KeyCode::End));
    let terminal = draw(&mut app, 40, 12);
    let shown = rows(&terminal).join("\n");
    assert!(shown.contains("//text"), "{shown}");
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn help_overlay_at_80x24() {
    let mut app = guest_on_screen();
    app.update(key(KeyCode::F(1)));
    let terminal = draw(&mut app, 80, 24);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn the_ended_screen_waits_for_a_key() {
    let mut app = guest_on_screen();
    receive(&mut app, 1, "that's all from me");
    say(&mut app, "bye!");
    app.update(Event::Net(NetEvent::Ack {
        from: PEER,
        up_to: MessageId { session: 2, seq: 1 },
    }));
    app.update(Event::Net(NetEvent::Left {
        from: PEER,
        reason: LeftReason::Bye,
    }));
    let terminal = draw(&mut app, 60, 8);
    let shown = rows(&terminal);
    assert_eq!(
        shown.last().map(|row| row.trim_end()),
        Some(" alice ended the conversation · press any key")
    );
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn ctrl_c_asks_before_leaving_an_undelivered_message() {
    let mut app = guest_on_screen();
    say(&mut app, "are you there?");
    app.update(ctrl(KeyCode::Char('c')));
    let terminal = draw(&mut app, 60, 8);
    let shown = rows(&terminal);
    assert_eq!(
        shown.last().map(|row| row.trim_end()),
        Some(" 1 message not delivered · Ctrl-C again to leave")
    );
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn actions_and_name_changes() {
    let mut app = guest_on_screen();
    app.update(Event::Net(NetEvent::Chat {
        from: PEER,
        msg: ChatMessage {
            id: MessageId { session: 9, seq: 1 },
            sent_at_ms: NOW_MS,
            text: "waves".to_owned(),
            action: true,
        },
    }));
    say(&mut app, "/me waves back at alice, who is far away");
    app.update(Event::Net(NetEvent::Renamed {
        from: PEER,
        name: "ally".to_owned(),
    }));
    say(&mut app, "/nick bobby");
    let terminal = draw(&mut app, 40, 14);
    let shown = rows(&terminal).join("\n");
    // Names are labels of one participant: earlier lines show the new one.
    assert!(shown.contains("22:13 * ally waves"), "{shown}");
    assert!(shown.contains("alice is now known as ally"), "{shown}");
    assert!(shown.contains("bob is now known as bobby"), "{shown}");
    insta::assert_snapshot!(terminal.backend());
}

/// Bob offers alice a file: `id`, one entry of `size` bytes.
fn offered(app: &mut App, id: u64, name: &str, size: u64) {
    use duplex::protocol::transfer::{EntryKind, Offer, OfferEntry, TransferFrame};
    app.update(Event::Net(NetEvent::Transfer {
        from: PEER,
        frame: TransferFrame::Offer(Offer {
            id,
            entries: vec![OfferEntry {
                path: name.to_owned(),
                size,
                kind: EntryKind::File,
            }],
            total: size,
        }),
    }));
}

/// Alice accepts the newest offer, and the runtime made its folder.
fn accepted(app: &mut App, id: u64, name: &str) {
    app.update(Event::Submit("/accept".to_owned()));
    app.update(Event::Files(duplex::transfer::IoDone::Prepared {
        id,
        paths: vec![std::path::PathBuf::from(format!("/dl/{name}"))],
    }));
}

/// A chunk of transfer `id`'s first file arrives.
fn chunk(app: &mut App, id: u64, offset: u64, bytes: Vec<u8>) {
    use duplex::protocol::transfer::TransferFrame;
    app.update(Event::Net(NetEvent::Transfer {
        from: PEER,
        frame: TransferFrame::Chunk {
            id,
            entry: 0,
            offset,
            bytes,
        },
    }));
}

fn later(app: &mut App, ms: i64) {
    if let Clock::Fixed(now) = app.clock {
        app.clock = Clock::Fixed(now + ms);
    }
}

/// README: "each transfer is one card in the conversation, updated in
/// place"; "its percent, rate and time left while it moves"; "done ✓ with
/// the first digits of its hash, or failed and why"; "While anything moves,
/// the status bar shows the total: `⇅ report.pdf · 45% · 2.2 MiB/s`". (The
/// other states and `3 files, 1 folder`: `present` and `app::transfer`'s
/// unit tests.)
#[test]
fn transfer_cards_are_updated_in_place_and_the_status_bar_has_the_total() {
    use duplex::protocol::transfer::TransferFrame;
    let mut app = host_with_bob();
    // One arrives and is verified.
    offered(&mut app, 1, "notes.txt", 5);
    accepted(&mut app, 1, "notes.txt");
    chunk(&mut app, 1, 0, b"hello".to_vec());
    app.update(Event::Net(NetEvent::Transfer {
        from: PEER,
        frame: TransferFrame::Done {
            id: 1,
            entry: 0,
            hash: *blake3::hash(b"hello").as_bytes(),
        },
    }));
    app.update(Event::Files(duplex::transfer::IoDone::Finished {
        id: 1,
        entry: 0,
        path: "/dl/notes.txt".into(),
    }));
    // One is declined.
    offered(&mut app, 2, "big.iso", 4 << 30);
    app.update(Event::Submit("/decline".to_owned()));
    // One moves: 9 of 20 MiB in 4 s, with a chat line after its card.
    let mib = 1024 * 1024;
    offered(&mut app, 3, "report.pdf", 20 * mib);
    accepted(&mut app, 3, "report.pdf");
    receive(&mut app, 1, "here it comes");
    later(&mut app, 2000);
    chunk(&mut app, 3, 0, vec![0; 4 * mib as usize]);
    later(&mut app, 2000);
    chunk(&mut app, 3, 4 * mib, vec![0; 5 * mib as usize]);
    let terminal = draw(&mut app, 80, 12);
    let shown = rows(&terminal).join("\n");
    assert_eq!(shown.matches("report.pdf").count(), 2, "{shown}");
    assert!(
        shown.contains("⇣ report.pdf · 45% of 20.0 MiB · 2.2 MiB/s · 5 s left · receiving"),
        "{shown}"
    );
    let hash = &blake3::hash(b"hello").to_hex()[..8];
    assert!(
        shown.contains(&format!(
            "⇣ notes.txt · 5 B · done ✓ {hash}, saved in /dl/notes.txt"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("⇣ big.iso · failed: declined: the person declined"),
        "{shown}"
    );
    let status = rows(&terminal).last().cloned().unwrap_or_default();
    assert!(
        status.contains("⇅ report.pdf · 45% · 2.2 MiB/s"),
        "{status}"
    );
    // Each card in the theme's colour for its state.
    let colour = |text: &str| {
        let y = rows(&terminal)
            .iter()
            .position(|row| row.contains(text))
            .unwrap_or_else(|| panic!("no row shows {text:?}"));
        // "22:13 · " then the card.
        terminal.backend().buffer()[(8, y as u16)].fg
    };
    assert_eq!(colour("notes.txt"), app.theme.transfer_done.fg.unwrap());
    assert_eq!(colour("big.iso"), app.theme.error.fg.unwrap());
    assert_eq!(colour("45% of"), app.theme.transfer.fg.unwrap());
    insta::assert_snapshot!(terminal.backend());
    // Once nothing moves, the status bar no longer has a total.
    app.update(Event::Submit("/cancel".to_owned()));
    let terminal = draw(&mut app, 80, 12);
    let shown = rows(&terminal).join("\n");
    assert!(!shown.contains('⇅'), "{shown}");
    assert!(
        shown.contains("⇣ report.pdf · failed: cancelled by the receiver"),
        "{shown}"
    );
}

/// A 20-column terminal: the question about a newcomer still says, in
/// full, who wants in and what y and n do (wrapped, never cut), and the
/// keys that answer it.
#[test]
fn a_knock_question_fits_a_20_column_terminal() {
    let mut app = host_with_bob();
    app.update(Event::Net(NetEvent::Left {
        from: PEER,
        reason: duplex::domain::LeftReason::Closed,
    }));
    let (knock, _answer) = duplex::net::Knock::new(
        "carol".into(),
        "10.0.0.7:4000".parse().unwrap(),
        std::time::Duration::from_secs(60),
    );
    app.update(Event::Net(NetEvent::Knock(knock)));
    let terminal = draw(&mut app, 20, 24);
    let screen = rows(&terminal).join("");
    let squeezed: String = screen
        .chars()
        .filter(|c| !c.is_whitespace() && !"│┌┐└┘─".contains(*c))
        .collect();
    for words in ["someonenewcallingitselfcarol", "yletin", "nturnaway"] {
        assert!(squeezed.contains(words), "{words}: {:#?}", rows(&terminal));
    }
}
