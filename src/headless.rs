//! Headless mode, for scripts, bots, tests and benchmarks: standard input
//! lines are messages, received messages are standard output lines.
//!
//! The same [`App`](crate::app::App) runs underneath as in the TUI; this
//! front end turns stdin into events and renders the app's output stream:
//! `name: text` lines on stdout (other events on stderr, in the same words
//! the TUI shows), or with `--json` one JSON object per event on stdout,
//! including every delivery change, drop and resume.

use std::io::Write;
use std::net::SocketAddr;

use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};

use crate::app::{Event, Exit, Output as Happened, Role};
use crate::domain::Security;
use crate::history::{Delivery, SystemEvent};
use crate::present::system_text;
use crate::runtime::Session;
use crate::stdin::StdinLines;
use crate::text::display_width;

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
    // Ctrl-C on a terminal, or `kill -INT`: leave, as the TUI's Ctrl-C does.
    let mut sigint = signal(SignalKind::interrupt())?;
    // A pipe is read on this thread, without a hop through tokio's
    // blocking pool (see `crate::stdin`).
    let mut stdin = StdinLines::new();
    let mut stdin_open = true;
    let mut out = std::io::stdout();

    if let Role::Host {
        local, hints, code, ..
    } = &session.app.role
    {
        let hints: Vec<String> = hints
            .iter()
            .map(|hint| hint.with_code(code.as_deref()))
            .collect();
        emit_listening(&mut out, output, *local, &hints)?;
    }

    // Lines come whole, and a line put back in the box (an unknown
    // command) is nobody typing.
    session.app.presence.sends = false;
    let exit = loop {
        print(&mut out, output, session.take_outputs())?;
        // No terminal to ring here (and headless is never away).
        session.take_alerts();
        // Piped input is read only while the app can take it: a host reads
        // nothing until a guest is connected, so piped lines wait in the
        // pipe instead of being lost; after a drop, lines are read and
        // queued up to the outbox's budget; and never faster than the
        // network takes them.
        let can_send = stdin_open && session.can_send();
        let room_later = session.room_to_send();
        let deadline = session.deadline();
        let event = tokio::select! {
            line = stdin.next_line(), if can_send => match line {
                Ok(Some(line)) => Event::Submit(line),
                Ok(None) => {
                    stdin_open = false;
                    Event::EndOfInput
                }
                Err(err) => {
                    // Input that cannot be read any more ends it, as EOF does (bytes
                    // that are not UTF-8 are no error: they arrive as U+FFFD).
                    stdin_open = false;
                    emit_error(&mut out, output, &format!("cannot read standard input: {err}"))?;
                    Event::EndOfInput
                }
            },
            () = room_later, if stdin_open && !can_send => continue,
            Some(net) = session.events.recv() => Event::Net(net),
            () = deadline => Event::Tick,
            _ = sigterm.recv() => Event::Terminate(128 + 15),
            _ = sigint.recv() => Event::Terminate(128 + 2),
            _ = sighup.recv() => Event::HangUp,
        };
        if let Some(exit) = session.handle(event) {
            break exit;
        }
        // Printed at once: a message is written down as received before
        // it is printed, and nothing may come between the two.
        print(&mut out, output, session.take_outputs())?;
        // Whatever else the network already delivered, each printed as it
        // is taken in, then one acknowledgement for all of it.
        if let Some(exit) =
            session.handle_burst_then(|session| print(&mut out, output, session.take_outputs()))?
        {
            break exit;
        }
    };
    let last = session.take_outputs();
    // The peer's departure is already a line of its own: the exit message
    // would say it a second time.
    let departed = last
        .iter()
        .any(|item| matches!(item, Happened::System(SystemEvent::Left { .. })));
    print(&mut out, output, last)?;
    session.registry.close_all().await;
    Ok(if departed {
        Exit {
            message: None,
            ..exit
        }
    } else {
        exit
    })
}

/// Writes what happened.
fn print(out: &mut impl Write, output: Output, happened: Vec<Happened>) -> std::io::Result<()> {
    if happened.is_empty() {
        return Ok(());
    }
    for item in happened {
        match (item, output) {
            (
                Happened::Message {
                    from,
                    text,
                    action: true,
                    ..
                },
                Output::Text,
            ) => {
                // "* " and the name and a space: the lines after the first
                // start under the text.
                writeln!(
                    out,
                    "* {from} {}",
                    indented(&text, display_width(&from) + 3)
                )?;
            }
            (Happened::Message { from, text, .. }, Output::Text) => {
                writeln!(out, "{from}: {}", indented(&text, display_width(&from) + 2))?;
            }
            (
                Happened::Message {
                    from,
                    text,
                    id,
                    sent_at_ms,
                    action,
                    ..
                },
                Output::Json,
            ) => {
                // Written straight from the message, without building a
                // `serde_json::Value` first: this is every message's path.
                let line = MessageLine {
                    event: "message",
                    from: &from,
                    text: &text,
                    id: id.to_string(),
                    sent_at_ms,
                    action,
                };
                let mut bytes = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
                bytes.push(b'\n');
                out.write_all(&bytes)?;
            }
            (Happened::Sent { id, text, delivery }, Output::Json) => {
                writeln!(
                    out,
                    "{}",
                    json!({"event": "sent", "id": id.to_string(), "text": &*text, "state": state(delivery)})
                )?;
            }
            (Happened::Delivery { id, delivery }, Output::Json) => {
                writeln!(
                    out,
                    "{}",
                    json!({"event": "delivery", "id": id.to_string(), "state": state(delivery)})
                )?;
            }
            // Text mode says only what a person reading along needs:
            // undelivered messages come as a system line.
            (Happened::Typing { name, state }, Output::Json) => {
                writeln!(
                    out,
                    "{}",
                    json!({"event": "typing", "name": name, "state": state.name()})
                )?;
            }
            // Text mode says only what a person reading along needs:
            // undelivered messages come as a system line, and nobody reads
            // "is typing" after the fact.
            (
                Happened::Sent { .. } | Happened::Delivery { .. } | Happened::Typing { .. },
                Output::Text,
            ) => {}
            // Whoever runs a headless host needs the next code itself.
            (Happened::System(SystemEvent::CodeChanged { code }), Output::Text) => {
                eprintln!(
                    "duplex: the secret code let one guest in and no longer works; \
                     the next guest's code: {code}"
                );
            }
            (Happened::System(event), Output::Text) => {
                eprintln!("duplex: {}", system_text(&event));
            }
            (Happened::System(event), Output::Json) => {
                writeln!(out, "{}", system_json(&event))?;
            }
            (Happened::Transfer(note), Output::Text) => {
                if note.event != "progress" {
                    eprintln!("duplex: {}", note.text);
                }
            }
            (Happened::Transfer(note), Output::Json) => {
                writeln!(
                    out,
                    "{}",
                    json!({
                        "event": format!("transfer_{}", note.event),
                        "id": note.id,
                        "direction": if note.sending { "send" } else { "receive" },
                        "name": note.name,
                        "bytes": note.bytes,
                        "total": note.total,
                        "text": note.text,
                    })
                )?;
            }
        }
    }
    out.flush()
}

/// A delivery state's name for scripts.
fn state(delivery: Delivery) -> &'static str {
    match delivery {
        Delivery::Received => "received",
        Delivery::Pending => "queued",
        Delivery::Sent => "sent",
        Delivery::Delivered => "delivered",
        Delivery::Failed => "failed",
    }
}

/// A received message as a JSON line (`--json`); fields in this order.
#[derive(serde::Serialize)]
struct MessageLine<'a> {
    event: &'static str,
    from: &'a str,
    text: &'a str,
    id: String,
    sent_at_ms: i64,
    /// Only on an action (`/me`): `"action":true`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    action: bool,
}

/// A received message's text with every line after the first indented by
/// `indent` spaces, under the first line's text: so a line that starts with
/// a space always continues the message above it.
fn indented(text: &str, indent: usize) -> String {
    text.replace('\n', &format!("\n{:indent$}", ""))
}

fn system_json(event: &SystemEvent) -> serde_json::Value {
    match event {
        SystemEvent::Joined {
            name,
            addr,
            security,
            ..
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
            let event = if reason.is_drop() {
                "disconnected"
            } else {
                "left"
            };
            json!({"event": event, "name": name, "reason": reason.code(), "detail": reason.detail()})
        }
        SystemEvent::Resumed {
            name,
            verification,
            words_changed,
            compared,
            restarted,
        } => json!({
            "event": "resumed",
            "name": name,
            "verification": verification,
            "words_changed": words_changed,
            "compared": compared,
            "restarted": restarted,
        }),
        SystemEvent::Leaving { waiting } => json!({"event": "leaving", "waiting": waiting}),
        SystemEvent::Undelivered { count, name, why } => {
            json!({"event": "undelivered", "count": count, "name": name, "reason": why})
        }
        SystemEvent::Held { count, name } => {
            json!({"event": "held", "count": count, "name": name, "message": system_text(event)})
        }
        SystemEvent::Rejected {
            addr,
            kind,
            reason,
            earlier,
        } => json!({
            "event": "rejected",
            "addr": addr.to_string(),
            "kind": kind.code(),
            "reason": reason,
            "count": u64::from(*earlier) + 1,
            "message": system_text(event),
        }),
        // Only the screen's history drops entries; said as information.
        SystemEvent::CodeChanged { code } => {
            json!({"event": "code", "code": code, "message": system_text(event)})
        }
        // Knocks are asked about on the chat screen only; said as information.
        // Transfers reach scripts as their own events (`transfer_*`); a card
        // is the screen's, said as information if it ever comes here.
        SystemEvent::Forgotten { .. }
        | SystemEvent::Knock { .. }
        | SystemEvent::Transfer(_)
        | SystemEvent::Info(_) => {
            json!({"event": "info", "message": system_text(event)})
        }
        SystemEvent::Renamed { old, new, me } => {
            json!({"event": "renamed", "old": old, "new": new, "me": me})
        }
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
    use crate::domain::LeftReason;
    use crate::history::AuthorId;
    use crate::protocol::MessageId;

    fn message(text: &str) -> Happened {
        Happened::Message {
            author: AuthorId::ME,
            from: "bob \"b\"".into(),
            id: MessageId {
                session: 0xab,
                seq: 7,
            },
            sent_at_ms: 1_700_000_000_123,
            text: text.into(),
            action: false,
        }
    }

    fn printed(output: Output, happened: Vec<Happened>) -> String {
        let mut out = Vec::new();
        print(&mut out, output, happened).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_message_is_one_json_line_with_its_fields_in_order() {
        assert_eq!(
            printed(Output::Json, vec![message("hi \"there\"\nand é")]),
            "{\"event\":\"message\",\"from\":\"bob \\\"b\\\"\",\"text\":\"hi \\\"there\\\"\\nand é\",\
             \"id\":\"00000000000000ab-7\",\"sent_at_ms\":1700000000123}\n"
        );
        assert_eq!(
            printed(Output::Text, vec![message("once")]),
            "bob \"b\": once\n"
        );
    }

    #[test]
    fn a_multi_line_message_continues_indented_under_its_text() {
        assert_eq!(
            printed(Output::Text, vec![message("one\n  two\n\nfour")]),
            "bob \"b\": one\n           two\n         \n         four\n"
        );
    }

    #[test]
    fn an_action_says_so_in_both_forms_and_a_rename_is_an_event() {
        let action_of = |said: &str| match message(said) {
            Happened::Message {
                author,
                from,
                id,
                sent_at_ms,
                text,
                ..
            } => Happened::Message {
                author,
                from,
                id,
                sent_at_ms,
                text,
                action: true,
            },
            other => other,
        };
        let action = || action_of("waves");
        assert_eq!(printed(Output::Text, vec![action()]), "* bob \"b\" waves\n");
        // Its further lines start under its text, as a message's do.
        assert_eq!(
            printed(Output::Text, vec![action_of("waves\nand smiles")]),
            "* bob \"b\" waves\n          and smiles\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&printed(Output::Json, vec![action()])).unwrap();
        assert_eq!(json["action"], true);
        assert_eq!(json["text"], "waves");
        let renamed = Happened::System(SystemEvent::Renamed {
            old: "bob".into(),
            new: "bobby".into(),
            me: false,
        });
        let json: serde_json::Value =
            serde_json::from_str(&printed(Output::Json, vec![renamed])).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"event": "renamed", "old": "bob", "new": "bobby", "me": false})
        );
    }

    #[test]
    fn scripts_see_every_delivery_drop_and_resume() {
        let id = MessageId { session: 1, seq: 2 };
        let out = printed(
            Output::Json,
            vec![
                Happened::Delivery {
                    id,
                    delivery: Delivery::Delivered,
                },
                Happened::System(SystemEvent::Left {
                    name: "bob".into(),
                    reason: LeftReason::Silent(std::time::Duration::from_secs(15)),
                }),
                Happened::System(SystemEvent::Resumed {
                    name: "bob".into(),
                    verification: Some("a-b-c-d".into()),
                    words_changed: true,
                    compared: false,
                    restarted: false,
                }),
            ],
        );
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines[0]["event"], "delivery");
        assert_eq!(lines[0]["state"], "delivered");
        assert_eq!(lines[0]["id"], id.to_string());
        assert_eq!(lines[1]["event"], "disconnected");
        assert_eq!(lines[1]["reason"], "silent");
        assert_eq!(lines[2]["event"], "resumed");
        assert_eq!(lines[2]["words_changed"], true);
        assert_eq!(lines[2]["verification"], "a-b-c-d");
        // Text mode prints no delivery noise on stdout.
        assert_eq!(
            printed(
                Output::Text,
                vec![Happened::Delivery {
                    id,
                    delivery: Delivery::Delivered
                }]
            ),
            ""
        );
    }

    /// One output of every kind there is, so a new kind cannot be left
    /// out of README's table unnoticed (the match below is exhaustive).
    fn one_of_each() -> Vec<Happened> {
        let id = MessageId { session: 1, seq: 1 };
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let systems = [
            SystemEvent::Joined {
                name: "b".into(),
                addr,
                security: Security::Plain { encoding: "UTF-8" },
                host: false,
                afresh: false,
            },
            SystemEvent::Left {
                name: "b".into(),
                reason: LeftReason::Closed,
            },
            SystemEvent::Left {
                name: "b".into(),
                reason: LeftReason::Bye,
            },
            SystemEvent::Resumed {
                name: "b".into(),
                verification: None,
                words_changed: false,
                compared: false,
                restarted: false,
            },
            SystemEvent::Undelivered {
                count: 1,
                name: "b".into(),
                why: "b left".into(),
            },
            SystemEvent::Leaving { waiting: 2 },
            SystemEvent::Held {
                count: 2,
                name: "b".into(),
            },
            SystemEvent::Knock {
                name: "c".into(),
                addr,
                away: "b".into(),
            },
            SystemEvent::CodeChanged { code: "c".into() },
            SystemEvent::Rejected {
                addr,
                kind: crate::domain::RejectKind::Busy,
                reason: "x".into(),
                earlier: 0,
            },
            SystemEvent::Forgotten { messages: 3 },
            SystemEvent::Renamed {
                old: "b".into(),
                new: "c".into(),
                me: false,
            },
            SystemEvent::Transfer(crate::history::TransferCard {
                id: 1,
                name: "f".into(),
                sending: true,
                bytes: 0,
                total: 1,
                rate: None,
                state: crate::history::CardState::Waiting,
            }),
            SystemEvent::Info("i".into()),
            SystemEvent::Error("e".into()),
        ];
        for event in &systems {
            match event {
                SystemEvent::Joined { .. }
                | SystemEvent::Left { .. }
                | SystemEvent::Resumed { .. }
                | SystemEvent::Undelivered { .. }
                | SystemEvent::Leaving { .. }
                | SystemEvent::Held { .. }
                | SystemEvent::Knock { .. }
                | SystemEvent::CodeChanged { .. }
                | SystemEvent::Rejected { .. }
                | SystemEvent::Forgotten { .. }
                | SystemEvent::Renamed { .. }
                | SystemEvent::Transfer(_)
                | SystemEvent::Info(_)
                | SystemEvent::Error(_) => {}
            }
        }
        let mut all = vec![
            message("m"),
            Happened::Sent {
                id,
                text: "t".into(),
                delivery: Delivery::Sent,
            },
            Happened::Delivery {
                id,
                delivery: Delivery::Delivered,
            },
            Happened::Typing {
                name: "b".into(),
                state: crate::protocol::TypingState::Active,
            },
        ];
        all.extend(systems.into_iter().map(Happened::System));
        all
    }

    #[test]
    fn readme_lists_every_event_and_every_reason() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let mut out = Vec::new();
        print(&mut out, Output::Json, one_of_each()).unwrap();
        let mut listening = Vec::new();
        emit_listening(
            &mut listening,
            Output::Json,
            "127.0.0.1:1".parse().unwrap(),
            &[],
        )
        .unwrap();
        out.extend(listening);
        for line in String::from_utf8(out).unwrap().lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let event = value["event"].as_str().unwrap();
            let row = format!("| `{event}`");
            assert!(
                readme.contains(&row) || readme.contains(&format!(", `{event}` |")),
                "README's --json table does not list the event {event:?}"
            );
        }
        let limit = std::time::Duration::from_secs(1);
        for reason in [
            LeftReason::Left,
            LeftReason::Bye,
            LeftReason::Closed,
            LeftReason::Silent(limit),
            LeftReason::Stalled(limit),
            LeftReason::Incompatible(String::new()),
            LeftReason::Error(String::new()),
            LeftReason::Idle(limit),
        ] {
            let code = format!("`{}`", reason.code());
            assert!(
                readme.contains(&code),
                "README does not explain the reason {code}"
            );
        }
        use crate::domain::RejectKind;
        for kind in [
            RejectKind::NotDuplex,
            RejectKind::Version,
            RejectKind::TimedOut,
            RejectKind::WrongCode,
            RejectKind::NoCode,
            RejectKind::Busy,
            RejectKind::Away,
            RejectKind::OverLimit,
            RejectKind::Failed,
        ] {
            // Exhaustive: a new kind must be added here, and to README.
            match kind {
                RejectKind::NotDuplex
                | RejectKind::Version
                | RejectKind::TimedOut
                | RejectKind::WrongCode
                | RejectKind::NoCode
                | RejectKind::Busy
                | RejectKind::Away
                | RejectKind::OverLimit
                | RejectKind::Failed => {}
            }
            let code = format!("`{}`", kind.code());
            assert!(
                readme.contains(&code),
                "README does not explain the kind {code}"
            );
        }
    }
}
