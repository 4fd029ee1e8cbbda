//! The waiting host's first screen: who you are, whether a code is needed,
//! and every join command in full, wrapped to fit (`src/ui/welcome.rs`).
//!
//! Snapshots at 80×24 and 40×12, with and without a code, with several
//! addresses; and checks that no command is ever cut, that the code shown is
//! the current one, and when the welcome goes away and comes back.
//! To accept changed screens: `INSTA_UPDATE=always cargo test --test it welcome::`.

use std::net::SocketAddr;

use chrono::FixedOffset;
use duplex::app::{App, Clock, Event, Role};
use duplex::net::{ConnId, JoinHint, LeftReason, NetEvent, PeerInfo, PeerLink, Security};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use unicode_width::UnicodeWidthStr;

/// 2023-11-14 22:13:20 UTC: every entry shows `22:13`.
const NOW_MS: i64 = 1_700_000_000_000;
const PEER: ConnId = 7;
const CODE: &str = "amber-otter-violin-maple";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a valid socket address")
}

/// Host alice on port 7878, reachable at two IPv4 and one IPv6 address.
fn host(code: Option<&str>) -> App {
    let mut app = App::new(
        "alice",
        Role::Host {
            local: addr("[::]:7878"),
            hints: vec![
                JoinHint(addr("192.168.1.5:7878")),
                JoinHint(addr("10.8.0.2:7878")),
                JoinHint(addr("[2001:db8:85a3::8a2e:370:7334]:7878")),
            ],
            code: code.map(str::to_owned),
            show_code: true,
        },
        1,
    );
    app.clock = Clock::Fixed(NOW_MS);
    app.zone = FixedOffset::east_opt(0).expect("UTC is a valid offset");
    app
}

fn joined(app: &mut App, name: &str) {
    app.update(Event::Net(NetEvent::Joined {
        info: PeerInfo {
            id: PEER,
            name: name.to_owned(),
            addr: addr("192.168.1.7:50312"),
            security: Security::Encrypted {
                verification: "cactus-bridge-toast-canyon".to_owned(),
                with_code: true,
            },
            resumed: false,
            resume: None,
            caps: Default::default(),
        },
        link: PeerLink::detached(PEER),
    }));
}

fn left(app: &mut App) {
    app.update(Event::Net(NetEvent::Left {
        from: PEER,
        reason: LeftReason::Left,
    }));
}

fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    app.update(Event::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| duplex::ui::render(app, frame))
        .expect("drawing never fails on a TestBackend");
    terminal
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

/// The message pane's text with the rows of each wrapped command joined
/// back (indentation and the ` \` continuation marks taken out).
fn pane_text(terminal: &Terminal<TestBackend>) -> String {
    let screen = rows(terminal);
    let pane = &screen[..screen.len() - 3];
    pane.iter()
        .map(|row| row.trim().trim_end_matches('\\').trim_end().to_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every join command appears in full: `pane_text` with the spaces at
/// row breaks taken out must contain the command with its spaces taken out
/// (a command is broken only at its own spaces or inside a long word).
fn assert_every_command_in_full(terminal: &Terminal<TestBackend>, code: Option<&str>) {
    let text = pane_text(terminal).replace(' ', "");
    for address in [
        "192.168.1.5:7878",
        "10.8.0.2:7878",
        "[2001:db8:85a3::8a2e:370:7334]:7878",
    ] {
        let command = match code {
            Some(code) => format!("DUPLEX_SECRET={code} duplex join {address}"),
            None => format!("duplex join {address}"),
        };
        assert!(
            text.contains(&command.replace(' ', "")),
            "{command} not in full:\n{}",
            rows(terminal).join("\n")
        );
    }
}

#[test]
fn at_80_by_24_with_a_code() {
    let mut app = host(Some(CODE));
    let terminal = draw(&mut app, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert_every_command_in_full(&terminal, Some(CODE));
}

#[test]
fn at_80_by_24_without_a_code() {
    let mut app = host(None);
    let terminal = draw(&mut app, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert_every_command_in_full(&terminal, None);
}

#[test]
fn at_40_by_12_with_a_code() {
    let mut app = host(Some(CODE));
    let terminal = draw(&mut app, 40, 12);
    insta::assert_snapshot!(terminal.backend());
    assert_every_command_in_full(&terminal, Some(CODE));
}

#[test]
fn at_40_by_12_without_a_code() {
    let mut app = host(None);
    let terminal = draw(&mut app, 40, 12);
    insta::assert_snapshot!(terminal.backend());
    assert_every_command_in_full(&terminal, None);
}

/// The code is given the safe way, in the environment (a command line's
/// arguments are visible to every user of the guest's machine in `ps`).
#[test]
fn the_code_goes_in_the_environment_not_on_the_command_line() {
    let mut app = host(Some(CODE));
    let text = pane_text(&draw(&mut app, 80, 24));
    assert!(text.contains(&format!("DUPLEX_SECRET={CODE} duplex join")));
    assert!(!text.contains("--secret"));
}

#[test]
fn the_welcome_goes_once_a_guest_is_in() {
    let mut app = host(Some(CODE));
    joined(&mut app, "bob");
    let text = pane_text(&draw(&mut app, 80, 24));
    assert!(!text.contains("duplex join"), "{text}");
    assert!(!text.contains(CODE), "the code is off the screen: {text}");
}

/// Once the seat is free again the earlier conversation stays on screen,
/// and the commands come back below it, with the code duplex made up for
/// the next guest (the one that let bob in no longer works).
#[test]
fn the_seat_free_again_shows_the_commands_below_the_conversation() {
    let mut app = host(Some(CODE));
    joined(&mut app, "bob");
    app.update(Event::Net(NetEvent::CodeChanged {
        code: "cobalt-maple-otter-amber".to_owned(),
    }));
    left(&mut app);
    let terminal = draw(&mut app, 80, 24);
    insta::assert_snapshot!(terminal.backend());
    assert_every_command_in_full(&terminal, Some("cobalt-maple-otter-amber"));
    assert!(!pane_text(&terminal).contains(CODE));
}

/// The status bar shows as many commands as fit, cut short; the pane shows
/// them all, at every width down to 40 columns and below.
#[test]
fn every_command_is_present_at_any_width() {
    for width in [120, 80, 60, 50, 40, 32] {
        let mut app = host(Some(CODE));
        let terminal = draw(&mut app, width, 24);
        assert_every_command_in_full(&terminal, Some(CODE));
        for row in rows(&terminal) {
            assert!(row.width() <= width as usize);
        }
    }
}

/// The real binary: a guest's screen appears at once and says where it
/// connects while the handshake goes on (here a server that accepts and
/// says nothing, as a host asking its person would keep it waiting); when
/// the handshake then fails, the terminal is given back and the reason
/// printed, with exit status 1.
#[test]
fn a_joining_guest_sees_where_it_connects_at_once() -> crate::common::Result {
    use crate::common::{Error, Tui};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    let mut guest = Tui::spawn("bob", &["join", &addr, "--name", "bob"], 24, 80)?;
    let (silent, _) = listener.accept()?;
    let screen = guest.wait_for("the guest to say where it connects", |s| {
        s.status().contains(&format!("◌ connecting to {addr}…"))
    })?;
    assert!(
        screen.pane()[0].contains(&format!("You are bob, connecting to {addr}…")),
        "{screen}"
    );
    // The server hangs up without a word: the handshake fails.
    drop(silent);
    let status = guest.wait_exit(crate::common::TIMEOUT)?;
    let screen = guest.screen();
    assert_eq!(status.exit_code(), 1, "{screen}");
    assert!(!screen.alternate_screen(), "{screen}");
    let line = screen
        .rows()
        .into_iter()
        .find(|row| row.starts_with("duplex: "))
        .ok_or_else(|| Error(format!("no error line:\n{screen}")))?;
    assert!(line.contains(&addr), "{screen}");
    Ok(())
}

/// README shows screenshots that `assets/screenshot.sh` makes: every image
/// README names is there, and the script writes it.
#[test]
fn readme_screenshots_exist_and_the_script_makes_them() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let script = std::fs::read_to_string(root.join("assets/screenshot.sh")).unwrap();
    let images: Vec<&str> = readme
        .split("](assets/")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(name, _)| name))
        .collect();
    assert!(images.contains(&"duplex-session.png"), "{images:?}");
    assert!(images.contains(&"duplex-first-screen.png"), "{images:?}");
    for image in images {
        assert!(root.join("assets").join(image).is_file(), "{image}");
        assert!(script.contains(&format!("$here/{image}")), "{image}");
    }
    assert!(readme.contains("`assets/screenshot.sh`"));
}
