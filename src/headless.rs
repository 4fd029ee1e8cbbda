//! Headless mode, for scripts, bots, tests and benchmarks: standard input
//! lines are messages, received messages are standard output lines.
//!
//! The same [`App`](crate::app::App) runs underneath as in the TUI; this
//! front end only turns stdin into events and new history entries into
//! output: `name: text` lines on stdout (other events on stderr), or with
//! `--json` one JSON object per event on stdout.

use std::io::Write;
use std::net::SocketAddr;

use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};

use crate::app::{Event, Exit, Link, Role};
use crate::history::{Entry, History, SystemEvent};
use crate::net::{LeftReason, Security};
use crate::runtime::Session;
use crate::stdin::StdinLines;
use crate::text::sanitize_text;
use crate::ui::messages::system_text;

/// How events are written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `name: text` lines on stdout, other events on stderr.
    Text,
    /// One JSON object per line on stdout.
    Json,
}

/// Runs without a UI until the app quits.
pub async fn run(mut session: Session, output: Output) -> anyhow::Result<Exit> {
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    // A pipe is read on this thread, without a hop through tokio's
    // blocking pool (see `crate::stdin`).
    let mut stdin = StdinLines::new();
    let mut stdin_open = true;
    let mut printed = 0;
    let mut out = std::io::stdout();

    if let Role::Host { local, hints, code } = &session.app.role {
        let secret = code
            .as_deref()
            .map(|code| format!(" --secret {code}"))
            .unwrap_or_default();
        let hints: Vec<String> = hints.iter().map(|hint| format!("{hint}{secret}")).collect();
        emit_listening(&mut out, output, *local, &hints)?;
    }

    let exit = loop {
        printed = print_new(&mut out, output, &session.app.history, printed)?;
        // A host reads no input until someone can receive it, so piped
        // lines wait in the pipe instead of being lost; after a drop, lines
        // are read and queued for when the peer is back.
        let can_send = !matches!(session.app.link, Link::Waiting);
        // Piped input is read at the pace the network takes it.
        let room = session.can_send();
        let room_later = session.room_to_send();
        let event = tokio::select! {
            line = stdin.next_line(), if stdin_open && can_send && room => match line {
                Ok(Some(line)) => Event::Submit(line),
                Ok(None) => {
                    stdin_open = false;
                    Event::EndOfInput
                }
                Err(err) => {
                    // Unreadable input (say, invalid UTF-8) ends it, as EOF does.
                    stdin_open = false;
                    emit_error(&mut out, output, &format!("cannot read standard input: {err}"))?;
                    Event::EndOfInput
                }
            },
            () = room_later, if stdin_open && can_send && !room => continue,
            Some(net) = session.events.recv() => Event::Net(net),
            _ = sigterm.recv() => Event::Terminate(128 + 15),
            _ = sighup.recv() => Event::HangUp,
        };
        if let Some(exit) = session.handle(event) {
            break exit;
        }
        // Whatever else the network already delivered, then one
        // acknowledgement for all of it.
        if let Some(exit) = session.handle_burst() {
            break exit;
        }
    };
    print_new(&mut out, output, &session.app.history, printed)?;
    session.links.close_all().await;
    Ok(exit)
}

/// Writes the entries after the first `printed` that came from elsewhere;
/// returns how many entries are now printed.
fn print_new(
    out: &mut impl Write,
    output: Output,
    history: &History,
    printed: usize,
) -> std::io::Result<usize> {
    for entry in history.entries().iter().skip(printed) {
        match (entry, output) {
            (Entry::Chat { author, .. }, _) if author.is_me() => {}
            (Entry::Chat { author, text, .. }, Output::Text) => {
                writeln!(out, "{}: {}", history.author_name(*author), one_line(text))?;
            }
            (
                Entry::Chat {
                    author,
                    text,
                    id,
                    at_ms,
                    ..
                },
                Output::Json,
            ) => {
                // Written straight from the entry, without building a
                // `serde_json::Value` first: this is every message's path.
                let line = MessageLine {
                    event: "message",
                    from: history.author_name(*author),
                    text,
                    id: id.to_string(),
                    sent_at_ms: *at_ms,
                };
                let mut bytes = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
                bytes.push(b'\n');
                out.write_all(&bytes)?;
            }
            (Entry::System { event, .. }, Output::Text) => {
                eprintln!("duplex: {}", system_text(event));
            }
            (Entry::System { event, .. }, Output::Json) => {
                writeln!(out, "{}", system_json(event))?;
            }
        }
    }
    out.flush()?;
    Ok(history.len())
}

/// A received message as a JSON line (`--json`); fields in this order.
#[derive(serde::Serialize)]
struct MessageLine<'a> {
    event: &'static str,
    from: &'a str,
    text: &'a str,
    id: String,
    sent_at_ms: i64,
}

/// A received message on one output line: line breaks become `\n`.
fn one_line(text: &str) -> String {
    sanitize_text(text).replace('\n', "\\n")
}

fn system_json(event: &SystemEvent) -> serde_json::Value {
    match event {
        SystemEvent::Joined {
            name,
            addr,
            security,
        } => match security {
            Security::Encrypted {
                verification,
                with_code,
            } => json!({
                "event": "joined",
                "name": name,
                "addr": addr.to_string(),
                "encrypted": true,
                "verification": verification,
                "with_code": with_code,
            }),
            Security::Plain { encoding } => json!({
                "event": "joined",
                "name": name,
                "addr": addr.to_string(),
                "encrypted": false,
                "plaintext": true,
                "encoding": encoding,
            }),
        },
        SystemEvent::Left { name, reason } => {
            let (reason, detail) = match reason {
                LeftReason::Left => ("left", None),
                LeftReason::Bye => ("exit", None),
                LeftReason::Closed => ("closed", None),
                LeftReason::Error(why) => ("error", Some(why.as_str())),
            };
            json!({"event": "left", "name": name, "reason": reason, "detail": detail})
        }
        SystemEvent::Rejected { addr, reason, .. } => {
            json!({"event": "error", "message": system_text(event), "addr": addr.to_string(), "reason": reason})
        }
        SystemEvent::Info(text) => json!({"event": "info", "message": text}),
        SystemEvent::Error(text) => json!({"event": "error", "message": text}),
    }
}

fn emit_listening(
    out: &mut impl Write,
    output: Output,
    local: SocketAddr,
    hints: &[String],
) -> std::io::Result<()> {
    match output {
        Output::Text => {
            eprintln!(
                "duplex: listening on {local}; join with: {}",
                hints.join(" or ")
            );
            Ok(())
        }
        Output::Json => {
            let line = json!({
                "event": "listening",
                "addr": local.to_string(),
                "port": local.port(),
                "join": hints,
            });
            writeln!(out, "{line}")?;
            out.flush()
        }
    }
}

/// Reports an error in the chosen output form.
pub fn emit_error(out: &mut impl Write, output: Output, message: &str) -> std::io::Result<()> {
    match output {
        Output::Text => {
            eprintln!("duplex: {message}");
            Ok(())
        }
        Output::Json => {
            writeln!(out, "{}", json!({"event": "error", "message": message}))?;
            out.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Delivery;
    use crate::protocol::MessageId;

    fn history_with(text: &str) -> History {
        let mut history = History::new("me");
        let author = history.author("bob \"b\"");
        history.push(Entry::Chat {
            at_ms: 1_700_000_000_123,
            author,
            id: MessageId {
                session: 0xab,
                seq: 7,
            },
            text: text.into(),
            delivery: Delivery::Received,
        });
        history
    }

    #[test]
    fn a_message_is_one_json_line_with_its_fields_in_order() {
        let history = history_with("hi \"there\"\nand é");
        let mut out = Vec::new();
        let printed = print_new(&mut out, Output::Json, &history, 0).unwrap();
        assert_eq!(printed, 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"event\":\"message\",\"from\":\"bob \\\"b\\\"\",\"text\":\"hi \\\"there\\\"\\nand é\",\
             \"id\":\"00000000000000ab-7\",\"sent_at_ms\":1700000000123}\n"
        );
    }

    #[test]
    fn printed_entries_are_not_printed_again() {
        let history = history_with("once");
        let mut out = Vec::new();
        print_new(&mut out, Output::Text, &history, 0).unwrap();
        assert_eq!(out, b"bob \"b\": once\n");
        let printed = print_new(&mut out, Output::Text, &history, 1).unwrap();
        assert_eq!((printed, out.len()), (1, b"bob \"b\": once\n".len()));
    }
}
