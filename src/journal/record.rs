//! What the journal remembers, as plain values: the [`Record`]s a running
//! duplex writes down and the [`Saved`] state they add up to.
//!
//! Kept apart from the bytes ([`super::format`]) and the file
//! ([`super::file`]) so that what a record *means* is defined once, pure and
//! testable, whatever the encoding on disk and however the file is kept.

use std::collections::VecDeque;

use crate::protocol::{ChatMessage, MessageId, Resume};

/// One thing that happened which a restarted duplex must know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Our message ids: the session and the next sequence number to use.
    Session {
        /// Random per conversation side; kept so that ids stay unique.
        session: u64,
        /// The next sequence number.
        next_seq: u64,
    },
    /// The conversation we are in, and the guest's place in it.
    Conversation(Resume),
    /// One of our messages, written before it goes out.
    Sent(ChatMessage),
    /// The peer acknowledged our messages up to this sequence number.
    Acked {
        /// The newest acknowledged sequence number.
        up_to: u64,
    },
    /// Our undelivered messages were given up (shown as not delivered).
    GaveUp,
    /// The conversation ended on purpose: nothing is left to keep.
    Ended,
    /// A message from the peer was taken in (written before it is shown or
    /// printed): its id only, never its text.
    Received(MessageId),
    /// The secret code that lets the guest in from now on (the host's
    /// codes are single-use): a restarted duplex uses it, not the used one.
    Code(String),
}

/// Sending sessions whose newest message id is kept; the oldest goes first.
/// A conversation has one peer at a time; more sessions only come from
/// guests that dropped and never came back.
pub const MAX_SENDERS: usize = 16;

/// What the records add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// Session of our message ids.
    pub session: u64,
    /// The next sequence number to use.
    pub next_seq: u64,
    /// The conversation, if we are in one.
    pub conversation: Option<Resume>,
    /// Our messages not yet acknowledged, oldest first.
    pub outbox: VecDeque<ChatMessage>,
    /// The newest message taken in from each sending session (at most
    /// [`MAX_SENDERS`], the one heard from last at the back), so that a
    /// restarted duplex drops what the peer sends again.
    pub inbox: VecDeque<MessageId>,
    /// The secret code of the conversation from now on, if it changed.
    pub code: Option<String>,
}

impl Saved {
    /// Nothing yet: a new session.
    pub fn new(session: u64) -> Self {
        Self {
            session,
            next_seq: 1,
            conversation: None,
            outbox: VecDeque::new(),
            inbox: VecDeque::new(),
            code: None,
        }
    }

    /// Applies one record.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Session { session, next_seq } => {
                self.session = *session;
                // Never below a message still in the outbox.
                let after_outbox = self
                    .outbox
                    .iter()
                    .map(|msg| msg.id.seq.saturating_add(1))
                    .max()
                    .unwrap_or(1);
                self.next_seq = (*next_seq).max(after_outbox);
            }
            Record::Conversation(resume) => self.conversation = Some(*resume),
            Record::Sent(msg) => {
                self.next_seq = self.next_seq.max(msg.id.seq.saturating_add(1));
                self.outbox.push_back(msg.clone());
            }
            Record::Acked { up_to } => {
                while self.outbox.front().is_some_and(|msg| msg.id.seq <= *up_to) {
                    self.outbox.pop_front();
                }
            }
            Record::GaveUp => self.outbox.clear(),
            Record::Ended => {
                self.conversation = None;
                self.outbox.clear();
                self.inbox.clear();
                self.code = None;
            }
            Record::Code(code) => self.code = Some(code.clone()),
            Record::Received(id) => {
                let newest = match self
                    .inbox
                    .iter()
                    .position(|seen| seen.session == id.session)
                {
                    Some(at) => self
                        .inbox
                        .remove(at)
                        .map_or(id.seq, |seen| seen.seq.max(id.seq)),
                    None => id.seq,
                };
                self.inbox.push_back(MessageId {
                    session: id.session,
                    seq: newest,
                });
                while self.inbox.len() > MAX_SENDERS {
                    self.inbox.pop_front();
                }
            }
        }
    }

    /// Whether a restarted duplex would need any of this.
    pub fn worth_keeping(&self) -> bool {
        self.conversation.is_some() || !self.outbox.is_empty()
    }

    /// The fewest records that add up to this.
    pub fn summary(&self) -> Vec<Record> {
        let mut records = vec![Record::Session {
            session: self.session,
            next_seq: self.next_seq,
        }];
        records.extend(self.conversation.map(Record::Conversation));
        records.extend(self.outbox.iter().cloned().map(Record::Sent));
        records.extend(self.inbox.iter().copied().map(Record::Received));
        records.extend(self.code.clone().map(Record::Code));
        records
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MessageId;

    fn msg(seq: u64) -> ChatMessage {
        ChatMessage {
            id: MessageId { session: 7, seq },
            sent_at_ms: 0,
            text: String::new(),
            action: false,
        }
    }

    #[test]
    fn the_summary_adds_up_to_the_same_state() {
        let mut saved = Saved::new(7);
        for record in [
            Record::Conversation(Resume {
                conversation: 1,
                token: 2,
            }),
            Record::Sent(msg(1)),
            Record::Sent(msg(2)),
            Record::Acked { up_to: 1 },
            Record::Session {
                session: 7,
                next_seq: 1,
            },
            Record::Received(MessageId { session: 9, seq: 4 }),
            Record::Received(MessageId { session: 8, seq: 1 }),
            Record::Received(MessageId { session: 9, seq: 5 }),
            Record::Code("amber-otter-violin".into()),
        ] {
            saved.apply(&record);
        }
        assert_eq!(saved.next_seq, 3, "never below the outbox");
        assert_eq!(
            saved.inbox,
            [
                MessageId { session: 8, seq: 1 },
                MessageId { session: 9, seq: 5 }
            ]
        );
        let mut again = Saved::new(0);
        for record in saved.summary() {
            again.apply(&record);
        }
        assert_eq!(again, saved);
        saved.apply(&Record::Ended);
        assert!(!saved.worth_keeping());
        assert!(saved.inbox.is_empty());
    }

    #[test]
    fn the_inbox_keeps_the_newest_id_of_the_senders_heard_from_last() {
        let mut saved = Saved::new(7);
        for session in 0..=MAX_SENDERS as u64 {
            saved.apply(&Record::Received(MessageId { session, seq: 3 }));
        }
        // An older id (a repeat) never lowers what was seen.
        saved.apply(&Record::Received(MessageId { session: 1, seq: 2 }));
        assert_eq!(saved.inbox.len(), MAX_SENDERS);
        assert!(
            saved.inbox.iter().all(|id| id.session != 0),
            "the oldest went"
        );
        assert_eq!(saved.inbox.back(), Some(&MessageId { session: 1, seq: 3 }));
    }
}
