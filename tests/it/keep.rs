//! Keeping the conversation: `--log DIR` transcripts and `/save FILE`, with
//! two real duplex processes (headless) talking over 127.0.0.1.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::headless::{Duplex, port_of};

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

/// The one file in `dir`.
fn only_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

/// Each line's name and text, after checking its time is ISO 8601.
fn names_and_texts(file: &Path) -> Vec<(String, String)> {
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "{line:?}");
            chrono::DateTime::parse_from_rfc3339(fields[0])
                .unwrap_or_else(|err| panic!("{line:?}: {err}"));
            (fields[1].to_owned(), fields[2].to_owned())
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect()
}

/// README: "`--log DIR` appends each conversation to a text file in DIR
/// (made 0700 if it is missing), `DIR/2026-11-29T14-03-22_alice-bob.log`
/// … one line per message … file mode 0600 … sanitized as on screen … both
/// your messages and the peer's, and the conversation's events with the
/// name `*`".
#[test]
fn log_appends_each_conversation_to_a_private_transcript() {
    let tmp = tempfile::tempdir().unwrap();
    let host_dir = tmp.path().join("alice/logs");
    let guest_dir = tmp.path().join("bob");
    let host = Duplex::host("alice", &["--json", "--log", host_dir.to_str().unwrap()]);
    let port = port_of(&host.event("listening"));
    let mut guest = Duplex::join(
        "bob",
        port,
        &["--json", "--log", guest_dir.to_str().unwrap()],
    );
    assert_eq!(host.event("joined")["name"], "bob");
    assert_eq!(guest.event("joined")["name"], "alice");
    guest.send("hello \u{1b}[31m alice \\o/");
    assert_eq!(host.event("message")["text"], "hello ␛[31m alice \\o/");
    let mut host = host;
    host.send("hi bob");
    assert_eq!(guest.event("message")["text"], "hi bob");
    guest.send("exit");
    assert_eq!(host.event("left")["reason"], "exit");
    assert_eq!(guest.exit().code(), Some(0));

    assert_eq!(mode(&host_dir), 0o700);
    let file = only_file(&host_dir);
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(name.ends_with("_alice-bob.log"), "{name}");
    chrono::NaiveDateTime::parse_from_str(&name[..19], "%Y-%m-%dT%H-%M-%S")
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    assert_eq!(mode(&file), 0o600);
    let lines = names_and_texts(&file);
    assert_eq!(lines[0].0, "*");
    assert!(
        lines[0].1.starts_with("bob joined (127.0.0.1:"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1..],
        pairs(&[
            ("bob", "hello ␛[31m alice \\\\o/"),
            ("alice", "hi bob"),
            ("*", "bob ended the conversation"),
        ])
    );

    let file = only_file(&guest_dir);
    assert!(file.to_str().unwrap().ends_with("_bob-alice.log"));
    assert_eq!(mode(&file), 0o600);
    assert_eq!(
        names_and_texts(&file),
        pairs(&[
            ("*", &format!("connected to alice (host, 127.0.0.1:{port})")),
            ("bob", "hello ␛[31m alice \\\\o/"),
            ("alice", "hi bob"),
        ])
    );
    host.close_stdin();
    assert_eq!(host.exit().code(), Some(0));
}

/// README: "`--log` to a path that is not a folder is refused at start".
#[test]
fn log_to_a_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-folder");
    fs::write(&file, "").unwrap();
    let mut host = Duplex::host("alice", &["--json", "--log", file.to_str().unwrap()]);
    let error = host.event("error");
    assert_eq!(
        error["message"],
        format!(
            "--log cannot keep transcripts there: {} is not a folder",
            file.display()
        )
    );
    assert_eq!(host.exit().code(), Some(1));
}

/// README: "`/save FILE` writes the whole history kept on screen to FILE
/// … 0600 … refuses to write over a file that is there; `/save! FILE`
/// replaces it".
#[test]
fn save_writes_the_history_to_a_new_private_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("chat.txt");
    let host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    let mut guest = Duplex::join("bob", port, &["--json"]);
    assert_eq!(host.event("joined")["name"], "bob");
    assert_eq!(guest.event("joined")["name"], "alice");
    let mut host = host;
    host.send("one\tword");
    assert_eq!(guest.event("message")["text"], "one word");
    guest.send("two");
    assert_eq!(host.event("message")["text"], "two");

    guest.send(&format!("/save {}", path.display()));
    assert_eq!(
        guest.event("info")["message"],
        format!("saved 3 lines to {}", path.display())
    );
    assert_eq!(mode(&path), 0o600);
    let lines = names_and_texts(&path);
    assert_eq!(
        lines,
        pairs(&[
            ("*", &format!("connected to alice (host, 127.0.0.1:{port})")),
            ("alice", "one word"),
            ("bob", "two"),
        ])
    );
    // Not over a file that is there, unless told.
    guest.send(&format!("/save {}", path.display()));
    assert_eq!(
        guest.event("error")["message"],
        format!(
            "not saved: {} already exists (/save! replaces it)",
            path.display()
        )
    );
    assert_eq!(names_and_texts(&path), lines);
    guest.send(&format!("/save! {}", path.display()));
    assert_eq!(
        guest.event("info")["message"],
        format!("saved 3 lines to {}", path.display())
    );
    // A folder that is not there is an error; the chat goes on.
    let missing = tmp.path().join("no/such/folder.txt");
    guest.send(&format!("/save {}", missing.display()));
    let error = guest.event("error")["message"].as_str().unwrap().to_owned();
    assert!(
        error.starts_with(&format!("not saved: {}: ", missing.display())),
        "{error}"
    );
    guest.send("still here");
    assert_eq!(host.event("message")["text"], "still here");
}

/// In the real TUI, between two duplexes in pseudo-terminals: Ctrl-F
/// searches back to an old message, Esc leaves the view there; and `--log`
/// keeps the conversation as the TUI shows it.
#[test]
fn ctrl_f_finds_an_old_message_in_the_real_tui_and_log_keeps_it() -> crate::common::Result {
    use crate::common::{ESC, Tui};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    let (host, port) = Tui::host_with("alice", &["--log", dir.to_str().unwrap()], 12, 80)?;
    let guest = Tui::guest("bob", port, "alice", 12, 80)?;
    host.wait_for("bob to join", |s| s.status().contains("· connected"))?;
    // Line by line, each once it shows as sent: keys that come all at
    // once are a paste, whose Enters are line breaks.
    let say = |text: &str| {
        guest.send_line(text)?;
        guest.wait_for(&format!("{text:?} sent"), |s| {
            s.pane()
                .iter()
                .any(|row| crate::common::chat_row(row) == Some(("bob", text)))
        })
    };
    say("the old mill at eight?")?;
    for n in 0..20 {
        say(&format!("filler {n}"))?;
    }
    host.wait_for("the last filler", |s| s.contains("bob: filler 19"))?;
    assert!(!host.screen().contains("old mill"));
    host.send_keys("\x06mill")?;
    host.wait_for("the match", |s| {
        s.input().iter().any(|row| row.starts_with("search: mill"))
            && s.status().contains("match 1/1")
            && s.contains("bob: the old mill at eight?")
    })?;
    host.send_keys(ESC)?;
    let screen = host.wait_for("the search to end", |s| s.scrolled())?;
    assert!(screen.contains("bob: the old mill at eight?"), "{screen}");
    host.send_keys(ESC)?;
    host.wait_for("live again", |s| s.contains("bob: filler 19"))?;

    let file = only_file(&dir);
    let lines = names_and_texts(&file);
    assert_eq!(lines.len(), 22, "{lines:?}");
    assert_eq!(
        lines[1],
        ("bob".to_owned(), "the old mill at eight?".to_owned())
    );
    assert_eq!(lines[21], ("bob".to_owned(), "filler 19".to_owned()));
    drop(guest);
    Ok(())
}

/// README: "A write that fails later (a full disk) is said once on screen,
/// and the chat goes on without the transcript."
#[test]
fn a_transcript_that_cannot_be_written_is_said_once_and_the_chat_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    let host = Duplex::host("alice", &["--json", "--log", dir.to_str().unwrap()]);
    let port = port_of(&host.event("listening"));
    // The folder goes away under it (a file takes its place).
    fs::remove_dir(&dir).unwrap();
    fs::write(&dir, "").unwrap();
    let mut guest = Duplex::join("bob", port, &["--json"]);
    assert_eq!(host.event("joined")["name"], "bob");
    let error = host.event("error")["message"].as_str().unwrap().to_owned();
    assert!(
        error.starts_with(&format!(
            "not keeping the transcript any more ({}/",
            dir.display()
        )) && error.ends_with("; the chat goes on"),
        "{error}"
    );
    assert_eq!(guest.event("joined")["name"], "alice");
    guest.send("still talking");
    assert_eq!(host.event("message")["text"], "still talking");
    guest.send("and again");
    // No second error: the next event is the message.
    assert_eq!(host.event("message")["text"], "and again");
}
