//! What goes into transcripts (`--log`, `/save`): the messages and the
//! conversation's events (joined, left, back, not delivered, no longer
//! kept), as [`crate::transcript`] lines; not the notes meant only for the
//! screen (`/help`, errors, turned-away connections).
//!
//! With `--log`, each update's new entries are appended to the file of the
//! conversation they belong to: a new one for each new participant (named
//! for when it began and who is in it), the same one when a dropped peer
//! comes back. Lines before the first participant have no conversation and
//! are not kept.

use chrono::FixedOffset;

use crate::history::{Entry, History, SystemEvent};
use crate::present::system_text;
use crate::transcript;

/// The state of `--log`: whether it is on, the conversation's file, and
/// how far the history was looked at.
#[derive(Debug, Clone, Default)]
pub struct Keeping {
    /// Whether lines are appended (`--log`, until writing failed).
    pub on: bool,
    /// The current conversation's file name, once there is one.
    pub file: Option<String>,
    /// Entries ever added to the history when it last looked.
    seen: u64,
}

impl Keeping {
    /// The lines for what the history gained since the last call, with the
    /// file they go to; `None` if there is nothing to write.
    pub(crate) fn new_lines(
        &mut self,
        history: &History,
        zone: FixedOffset,
    ) -> Option<(String, Vec<String>)> {
        // Not `shift() + len()`: a message `/clear` kept is not new.
        let total = history.added();
        let added = usize::try_from(total.saturating_sub(self.seen)).unwrap_or(usize::MAX);
        self.seen = total;
        if added == 0 || !self.on {
            return None;
        }
        let file = self.file.clone()?;
        let entries = history.entries();
        let from = entries.len().saturating_sub(added);
        let lines: Vec<String> = entries[from..]
            .iter()
            .filter_map(|entry| entry_line(history, entry, zone))
            .collect();
        (!lines.is_empty()).then_some((file, lines))
    }
}

/// Whether a system event belongs in a transcript.
fn kept(event: &SystemEvent) -> bool {
    match event {
        SystemEvent::Joined { .. }
        | SystemEvent::Left { .. }
        | SystemEvent::Resumed { .. }
        | SystemEvent::Undelivered { .. }
        | SystemEvent::Forgotten { .. }
        | SystemEvent::Renamed { .. } => true,
        SystemEvent::Leaving { .. }
        | SystemEvent::Rejected { .. }
        | SystemEvent::Held { .. }
        | SystemEvent::Knock { .. }
        | SystemEvent::CodeChanged { .. }
        // A card changes after it is written: its end is in `/transfers`.
        | SystemEvent::Transfer(_)
        | SystemEvent::Info(_)
        | SystemEvent::Error(_) => false,
    }
}

/// The transcript line of one entry, if it has one.
pub(crate) fn entry_line(history: &History, entry: &Entry, zone: FixedOffset) -> Option<String> {
    match entry {
        // An action (`/me waves`) is written as the screen shows it,
        // `* bob waves`: named `*`, as events are.
        Entry::Chat {
            at_ms,
            author,
            text,
            action: true,
            ..
        } => Some(transcript::line(
            *at_ms,
            zone,
            None,
            &format!("{} {text}", history.author_name(*author)),
        )),
        Entry::Chat {
            at_ms,
            author,
            text,
            ..
        } => Some(transcript::line(
            *at_ms,
            zone,
            Some(&history.author_name(*author)),
            text,
        )),
        Entry::System { at_ms, event } if kept(event) => {
            Some(transcript::line(*at_ms, zone, None, &system_text(event)))
        }
        Entry::System { .. } => None,
    }
}

/// The whole history kept, as transcript lines (for `/save`).
pub(crate) fn all_lines(history: &History, zone: FixedOffset) -> Vec<String> {
    history
        .entries()
        .iter()
        .filter_map(|entry| entry_line(history, entry, zone))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{App, Clock, Effect, Event, Role};
    use crate::domain::{LeftReason, PeerInfo, Security};
    use crate::net::{NetEvent, PeerLink};
    use crate::protocol::{ChatMessage, MessageId};

    /// 2026-11-29 13:03:22.500 UTC.
    const AT: i64 = 1_795_957_402_500;
    const FILE: &str = "2026-11-29T13-03-22_alice-bob.log";

    fn host(logging: bool) -> App {
        let mut app = App::new(
            "alice",
            Role::Host {
                local: "127.0.0.1:7878".parse().unwrap(),
                hints: vec![],
                code: None,
                show_code: true,
            },
            1,
        );
        app.clock = Clock::Fixed(AT);
        app.zone = FixedOffset::east_opt(0).unwrap();
        app.keeping.on = logging;
        app
    }

    fn joined(id: u64, name: &str, resumed: bool) -> Event {
        Event::Net(NetEvent::Joined {
            info: PeerInfo {
                id,
                name: name.to_owned(),
                addr: "127.0.0.1:5000".parse().unwrap(),
                security: Security::Encrypted {
                    verification: "amber-otter-violin-maple".to_owned(),
                    with_code: false,
                },
                resumed,
                resume: None,
                caps: Default::default(),
            },
            link: PeerLink::detached(id),
        })
    }

    fn chat(from: u64, seq: u64, text: &str) -> Event {
        Event::Net(NetEvent::Chat {
            from,
            msg: ChatMessage {
                id: MessageId { session: 9, seq },
                sent_at_ms: AT,
                text: text.to_owned(),
                action: false,
            },
        })
    }

    fn transcribed(effects: &[Effect]) -> Vec<(String, Vec<String>)> {
        effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::Transcribe { file, lines } => Some((file.clone(), lines.clone())),
                _ => None,
            })
            .collect()
    }

    fn at(line: &str) -> String {
        format!("2026-11-29T13:03:22+00:00\t{line}\n")
    }

    #[test]
    fn messages_both_ways_and_events_are_appended_as_they_happen() {
        let mut app = host(true);
        assert_eq!(
            transcribed(&app.update(joined(1, "bob", false))),
            [(FILE.to_owned(), vec![at("*\tbob joined (127.0.0.1:5000)")])]
        );
        assert_eq!(
            transcribed(&app.update(chat(1, 1, "hi\talice\nhow are you"))),
            [(FILE.to_owned(), vec![at("bob\thi alice\\nhow are you")])]
        );
        assert_eq!(
            transcribed(&app.update(Event::Submit("fine \\o/".into()))),
            [(FILE.to_owned(), vec![at("alice\tfine \\\\o/")])]
        );
        // An action as the screen shows it, a name change as an event.
        assert_eq!(
            transcribed(&app.update(Event::Submit("/me waves".into()))),
            [(FILE.to_owned(), vec![at("*\talice waves")])]
        );
        assert_eq!(
            transcribed(&app.update(Event::Submit("/nick ally".into()))),
            [(FILE.to_owned(), vec![at("*\talice is now known as ally")])]
        );
        // Notes for the screen only are not kept.
        assert!(transcribed(&app.update(Event::Submit("/help".into()))).is_empty());
        assert!(transcribed(&app.update(Event::Submit("/nope".into()))).is_empty());
        assert_eq!(
            transcribed(&app.update(Event::Net(NetEvent::Left {
                from: 1,
                reason: LeftReason::Left
            }))),
            [(
                FILE.to_owned(),
                vec![
                    at("*\tbob left"),
                    at("*\t2 messages to bob were not delivered: bob left")
                ]
            )]
        );
    }

    #[test]
    fn a_clear_writes_nothing_again() {
        let mut app = host(true);
        app.update(joined(1, "bob", false));
        // Ours, not acknowledged yet: `/clear` keeps it on screen.
        assert_eq!(
            transcribed(&app.update(Event::Submit("on its way".into()))),
            [(FILE.to_owned(), vec![at("alice\ton its way")])]
        );
        assert!(transcribed(&app.update(Event::Submit("/clear".into()))).is_empty());
        assert_eq!(app.history.len(), 1, "the message on its way stays");
        // What comes next is written once, and the kept message not again.
        assert_eq!(
            transcribed(&app.update(chat(1, 1, "after the clear"))),
            [(FILE.to_owned(), vec![at("bob\tafter the clear")])]
        );
        // `/save` writes what the screen keeps.
        let effects = app.update(Event::Submit("/save x.txt".into()));
        let saved: Vec<&Vec<String>> = effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::Save { lines, .. } => Some(lines),
                _ => None,
            })
            .collect();
        assert_eq!(
            saved,
            [&vec![at("alice\ton its way"), at("bob\tafter the clear")]]
        );
    }

    #[test]
    fn a_peers_message_has_its_senders_time_as_on_screen() {
        let mut app = host(true);
        app.update(joined(1, "bob", false));
        let effects = app.update(Event::Net(NetEvent::Chat {
            from: 1,
            msg: ChatMessage {
                id: MessageId { session: 9, seq: 1 },
                sent_at_ms: AT - 3_600_000,
                text: "an hour slow".to_owned(),
                action: false,
            },
        }));
        assert_eq!(
            transcribed(&effects)[0].1,
            ["2026-11-29T12:03:22+00:00\tbob\tan hour slow\n"]
        );
    }

    #[test]
    fn nothing_is_written_without_log() {
        let mut app = host(false);
        for event in [
            joined(1, "bob", false),
            chat(1, 1, "hi"),
            Event::Submit("hello".into()),
        ] {
            assert!(transcribed(&app.update(event)).is_empty());
        }
    }

    #[test]
    fn a_new_guest_is_a_new_file_and_one_that_comes_back_is_not() {
        let mut app = host(true);
        app.update(joined(1, "bob", false));
        app.update(Event::Net(NetEvent::Left {
            from: 1,
            reason: LeftReason::Closed,
        }));
        app.clock = Clock::Fixed(AT + 60_000);
        let back = transcribed(&app.update(joined(2, "bob", true)));
        assert_eq!(back[0].0, FILE, "{back:?}");
        assert!(back[0].1[0].contains("bob is back"), "{back:?}");
        app.update(Event::Net(NetEvent::Left {
            from: 2,
            reason: LeftReason::Left,
        }));
        let carol = transcribed(&app.update(joined(3, "carol", false)));
        assert_eq!(carol[0].0, "2026-11-29T13-04-22_alice-carol.log");
        assert_eq!(
            transcribed(&app.update(chat(3, 1, "hello")))[0].0,
            "2026-11-29T13-04-22_alice-carol.log"
        );
    }

    #[test]
    fn a_write_failure_is_said_once_and_the_chat_goes_on() {
        let mut app = host(true);
        app.update(joined(1, "bob", false));
        let said = app.update(Event::TranscriptFailed("disk full".into()));
        assert!(transcribed(&said).is_empty());
        let errors = |app: &App| {
            app.history
                .entries()
                .iter()
                .filter(|entry| {
                    matches!(entry, Entry::System { event, .. }
                        if matches!(**event, SystemEvent::Error(ref text)
                            if text == "not keeping the transcript any more (disk full); the chat goes on"))
                })
                .count()
        };
        assert_eq!(errors(&app), 1);
        app.update(Event::TranscriptFailed("disk full".into()));
        assert_eq!(errors(&app), 1);
        assert!(transcribed(&app.update(chat(1, 1, "still here"))).is_empty());
        assert!(matches!(
            app.history.entries().last(),
            Some(Entry::Chat { text, .. }) if &**text == "still here"
        ));
    }

    #[test]
    fn save_says_when_older_messages_are_no_longer_kept() {
        let mut app = host(false);
        app.history.set_limit(4, usize::MAX);
        app.update(joined(1, "bob", false));
        for seq in 1..=6 {
            app.update(chat(1, seq, &format!("m{seq}")));
        }
        let effects = app.update(Event::Submit("/save x".into()));
        let [Effect::Save { lines, .. }] = &effects[..] else {
            panic!("{effects:?}");
        };
        assert_eq!(lines[0], at("*\t… 3 older messages are no longer kept"));
        assert_eq!(lines.last(), Some(&at("bob\tm6")));
    }

    #[test]
    fn save_writes_the_whole_history_and_says_where() {
        let mut app = host(false);
        app.update(joined(1, "bob", false));
        app.update(chat(1, 1, "one"));
        app.update(Event::Submit("/help".into()));
        app.update(Event::Submit("two".into()));
        let effects = app.update(Event::Submit("/save  ~/chat log.txt ".into()));
        assert_eq!(
            effects,
            [Effect::Save {
                path: "~/chat log.txt".into(),
                lines: vec![
                    at("*\tbob joined (127.0.0.1:5000)"),
                    at("bob\tone"),
                    at("alice\ttwo"),
                ],
                replace: false,
            }]
        );
        let effects = app.update(Event::Submit("/save! x".into()));
        assert!(
            matches!(&effects[..], [Effect::Save { path, replace: true, .. }] if path == "x"),
            "{effects:?}"
        );
        app.update(Event::Saved {
            path: "/home/alice/chat log.txt".into(),
            count: 3,
            error: None,
        });
        assert!(matches!(
            app.history.entries().last(),
            Some(Entry::System { event, .. })
                if **event == SystemEvent::Info("saved 3 lines to /home/alice/chat log.txt".into())
        ));
        app.update(Event::Saved {
            path: "/x".into(),
            count: 3,
            error: Some("/x already exists (/save! replaces it)".into()),
        });
        assert!(matches!(
            app.history.entries().last(),
            Some(Entry::System { event, .. })
                if **event == SystemEvent::Error("not saved: /x already exists (/save! replaces it)".into())
        ));
        // No file name: said, and the line stays to be completed.
        assert!(
            app.update(Event::Submit("/save".into()))
                .iter()
                .all(|e| !matches!(e, Effect::Save { .. }))
        );
        assert_eq!(app.input.text(), "/save");
    }
}
