//! The chat screen inside a real tmux: emoji that terminals measure
//! differently (❤️ ✔️ 👍🏽 👨‍👩‍👧‍👦 1️⃣ 🇸🇬) never shift a row, whether drawn
//! fresh or redrawn after the log scrolled, and nothing is lost.
//!
//! The host runs in a tmux pane (so `--emoji auto` must see tmux and pick
//! the safe form); a headless guest sends the messages. `capture-pane -p`
//! reads tmux's own grid, cell by cell as tmux placed them. The safe form
//! holds only characters every width model agrees on, so the column of a
//! character in a captured row is the `unicode-width` of what precedes it.
//!
//! Needs the `tmux` program (`.ci/run` installs it); without it the test
//! says why and passes.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use unicode_width::UnicodeWidthStr;

use crate::common::headless::Duplex;
use crate::common::{Error, Result, join_port};

/// How long the pane may take to show something.
const WAIT: Duration = Duration::from_secs(20);

/// A private tmux server (its own socket and configuration), killed when
/// dropped.
struct Tmux {
    socket: PathBuf,
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// tmux's version, or why it cannot be used.
    fn version() -> std::result::Result<String, String> {
        match Command::new("tmux").arg("-V").output() {
            Ok(out) if out.status.success() => {
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
            }
            Ok(out) => Err(format!("`tmux -V` failed: {:?}", out.status)),
            Err(err) => Err(format!("no tmux program: {err}")),
        }
    }

    fn new() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("tmux.conf");
        // No status line: the pane is the whole window. A pane whose program
        // exits stays, so a failure shows what it printed.
        std::fs::write(&config, "set -g status off\nset -g remain-on-exit on\n")?;
        Ok(Self {
            socket: dir.path().join("socket"),
            config,
            _dir: dir,
        })
    }

    /// Runs `tmux ARGS` on this server; its standard output.
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("-f")
            .arg(&self.config)
            .args(args)
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .output()?;
        if !out.status.success() {
            return Err(Error(format!(
                "tmux {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `command` in a new detached session `name` of `cols` × `rows`.
    fn start(&self, name: &str, cols: u16, rows: u16, command: &str) -> Result {
        let (cols, rows) = (cols.to_string(), rows.to_string());
        self.run(&[
            "-u",
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &cols,
            "-y",
            &rows,
            command,
        ])?;
        Ok(())
    }

    /// The pane's rows as tmux holds them, trailing blanks cut.
    fn capture(&self, target: &str) -> Result<Vec<String>> {
        let text = self.run(&["capture-pane", "-p", "-t", target])?;
        Ok(text.lines().map(|l| l.trim_end().to_owned()).collect())
    }

    /// Waits (up to [`WAIT`]) until the pane satisfies `cond`; its rows.
    fn wait_for(
        &self,
        target: &str,
        what: &str,
        cond: impl Fn(&[String]) -> bool,
    ) -> Result<Vec<String>> {
        let deadline = Instant::now() + WAIT;
        loop {
            let rows = self.capture(target)?;
            if cond(&rows) {
                return Ok(rows);
            }
            if Instant::now() >= deadline {
                return Err(Error(format!(
                    "waited {WAIT:?} for {what}; the pane:\n{}",
                    rows.join("\n")
                )));
            }
            // tmux tells nobody when a pane changes: look again shortly.
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Types `text` into the pane as it is.
    fn type_text(&self, target: &str, text: &str) -> Result {
        self.run(&["send-keys", "-t", target, "-l", text])?;
        Ok(())
    }

    /// Presses `key` (a tmux key name: `PageUp`, `Escape`, `Enter`).
    fn press(&self, target: &str, key: &str) -> Result {
        self.run(&["send-keys", "-t", target, key])?;
        Ok(())
    }

    /// Where the pane's cursor is, column and row.
    fn cursor(&self, target: &str) -> Result<(usize, usize)> {
        let out = self.run(&[
            "display-message",
            "-p",
            "-t",
            target,
            "#{cursor_x} #{cursor_y}",
        ])?;
        let mut parts = out.split_whitespace().map(str::parse::<usize>);
        match (parts.next(), parts.next()) {
            (Some(Ok(x)), Some(Ok(y))) => Ok((x, y)),
            _ => Err(Error(format!("no cursor in {out:?}"))),
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The messages with emoji, each with the form the safe mode draws.
const EMOJI_LINES: [(&str, &str); 6] = [
    ("A heart ❤\u{fe0f} x|end", "A heart ❤  x|end"),
    ("B thumbs 👍\u{1f3fd} x|end", "B thumbs 👍 x|end"),
    (
        "C family 👨\u{200d}👩\u{200d}👧\u{200d}👦 x|end",
        "C family 👨 x|end",
    ),
    ("D key 1\u{fe0f}\u{20e3} x|end", "D key 1  x|end"),
    ("E flag 🇸🇬 x|end", "E flag 🇸🇬 x|end"),
    ("F check ✔\u{fe0f} x|end", "F check ✔  x|end"),
];

/// How `line` is drawn: the safe form of an emoji line, others as they are.
fn shown(line: &str) -> &str {
    EMOJI_LINES
        .iter()
        .find(|(text, _)| *text == line)
        .map_or(line, |(_, shown)| shown)
}

/// `HH:MM bob: `: where a message from bob starts.
const BOB_PREFIX: usize = "00:00 bob: ".len();

/// Checks every emoji row among `rows`: its text starts right after bob's
/// name and is exactly the safe form, so `|end` is in its column and
/// nothing is left over after it. Returns how many were on screen.
fn check_emoji_rows(rows: &[String]) -> usize {
    let mut seen = 0;
    for (_, shown) in EMOJI_LINES {
        let key = &shown[..shown.find(' ').unwrap_or(1) + 2];
        let Some(row) = rows.iter().find(|r| r.contains(key)) else {
            continue;
        };
        seen += 1;
        let at = row.find(key).unwrap_or_default();
        assert_eq!(
            row[..at].width(),
            BOB_PREFIX,
            "the text starts in its column: {row:?}"
        );
        assert_eq!(&row[at..], shown, "the row is drawn as it should be");
        let bar = row.find('|').unwrap_or_default();
        let expected = BOB_PREFIX + shown[..shown.find('|').unwrap_or_default()].width();
        assert_eq!(
            row[..bar].width(),
            expected,
            "`|end` in its column: {row:?}"
        );
    }
    seen
}

#[test]
fn emoji_never_shift_a_row_inside_tmux() -> Result {
    let version = match Tmux::version() {
        Ok(version) => version,
        Err(why) => {
            println!("skipped: {why} (.ci/run installs tmux)");
            return Ok(());
        }
    };
    let tmux = Tmux::new()?;
    let home = tempfile::tempdir()?;
    let command = format!(
        "env TZ=UTC HOME={home} USER=tester LANG=C.UTF-8 {bin} host --port 0 --bind 127.0.0.1 \
         --name alice --ephemeral",
        home = home.path().display(),
        bin = env!("CARGO_BIN_EXE_duplex"),
    );
    tmux.start("host", 72, 20, &command)?;
    let rows = tmux.wait_for("host", "the host to wait", |rows| {
        rows.iter().any(|r| r.contains("duplex join 127.0.0.1:"))
    })?;
    let port = rows
        .iter()
        .find_map(|r| join_port(r))
        .ok_or_else(|| Error(format!("no port on screen ({version})")))?;
    let mut bob = Duplex::join("bob", port, &["--ephemeral"]);
    tmux.wait_for("host", "bob to join", |rows| {
        rows.iter().any(|r| r.contains("bob joined"))
    })?;

    // Filler, the emoji, and more filler: the log scrolls, and every emoji
    // row is redrawn over rows that held other text.
    let mut sent = Vec::new();
    for n in 1..=6 {
        sent.push(format!("filler before {n}"));
    }
    sent.extend(EMOJI_LINES.iter().map(|(text, _)| (*text).to_owned()));
    for n in 1..=10 {
        sent.push(format!("filler after {n}"));
    }
    for (i, line) in sent.iter().enumerate() {
        bob.send(line);
        // One at a time, so each arrives in a frame of its own.
        if i % 4 == 3 {
            let want = format!("bob: {}", shown(line));
            tmux.wait_for("host", "the message", |rows| {
                rows.iter().any(|r| r.ends_with(&want))
            })?;
        }
    }
    let live = tmux.wait_for("host", "the last message", |rows| {
        rows.iter().any(|r| r.ends_with("bob: filler after 10"))
    })?;
    assert_eq!(check_emoji_rows(&live), EMOJI_LINES.len(), "{live:#?}");

    // Scrolled back a page, the rows are redrawn again: still in place.
    tmux.press("host", "PageUp")?;
    let back = tmux.wait_for("host", "the scrolled view", |rows| {
        rows.iter().any(|r| r.contains("bob: filler before 1"))
    })?;
    check_emoji_rows(&back);

    // Nothing lost: every message is in one of the two views.
    for line in &sent {
        let shown = format!("bob: {}", shown(line));
        assert!(
            live.iter().chain(&back).any(|r| r.ends_with(&shown)),
            "{line:?} is on no screen:\n{}\n---\n{}",
            live.join("\n"),
            back.join("\n")
        );
    }
    tmux.press("host", "Escape")?;
    tmux.wait_for("host", "the live view", |rows| {
        rows.iter().any(|r| r.ends_with("bob: filler after 10"))
    })?;

    // The input box: ✔️ is drawn "✔ ", and the cursor is after what is drawn.
    tmux.type_text("host", "✔\u{fe0f} ok")?;
    let rows = tmux.wait_for("host", "the typed text", |rows| {
        rows.iter().any(|r| r.starts_with("✔  ok"))
    })?;
    let input_row = rows
        .iter()
        .position(|r| r.starts_with("✔  ok"))
        .unwrap_or(0);
    assert_eq!(tmux.cursor("host")?, (5, input_row), "{rows:#?}");
    // Sent, the message is the one typed: only the screen shows it safe.
    tmux.press("host", "Enter")?;
    assert_eq!(bob.stdout_line(), "alice: ✔\u{fe0f} ok");
    Ok(())
}
