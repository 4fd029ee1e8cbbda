//! Delivery per participant: what we owe a peer and what it owes us.
//!
//! Each peer has its own [`Outbox`], which owns the text of every message
//! the peer has not acknowledged (never indices into the screen's history),
//! and its own [`Inbox`], which remembers the ids it has seen (to drop
//! repeats after a resume) and the acknowledgement it is due.
//!
//! The outbox is also the flow control: at most a *window* of bytes is on
//! its way to the peer without its acknowledgement; the rest waits here and
//! goes out as acknowledgements come back. A peer that is slow or
//! suspended therefore never faces more than a window in its connection's
//! queue, and after a reconnect a backlog of any size goes out window by
//! window instead of all at once.

use std::collections::{HashMap, VecDeque};

use crate::history::AuthorId;
use crate::protocol::{ChatMessage, Frame, MessageId};

/// What a message costs against the window: its size on the wire.
pub fn cost(msg: &ChatMessage) -> usize {
    /// Length prefix, kind, id, time and the seal's tag, roughly.
    const OVERHEAD: usize = 48;
    OVERHEAD + msg.text.len()
}

/// Our messages to one peer that it has not acknowledged, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    queue: VecDeque<ChatMessage>,
    /// How many at the front were handed to the current connection.
    sent: usize,
    /// Their bytes.
    sent_bytes: usize,
    /// Bytes of the whole queue.
    total_bytes: usize,
}

impl Outbox {
    /// Adds a message to send.
    pub fn push(&mut self, msg: ChatMessage) {
        self.total_bytes += cost(&msg);
        self.queue.push_back(msg);
    }

    /// Messages not acknowledged.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether everything was acknowledged.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes of all unacknowledged messages.
    pub fn total_bytes(&self) -> usize {
        self.total_bytes
    }

    /// Bytes handed to the connection and not yet acknowledged.
    pub fn in_flight_bytes(&self) -> usize {
        self.sent_bytes
    }

    /// Messages handed to the connection and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.sent
    }

    /// Takes the messages that may go out now: as many waiting ones as fit
    /// in `window` bytes with those already in flight (always at least one
    /// when nothing is in flight, so a message larger than the window still
    /// goes).
    pub fn take_window(&mut self, window: usize) -> Vec<ChatMessage> {
        let mut out = Vec::new();
        while let Some(msg) = self.queue.get(self.sent) {
            let size = cost(msg);
            if self.sent_bytes > 0 && self.sent_bytes + size > window {
                break;
            }
            out.push(msg.clone());
            self.sent += 1;
            self.sent_bytes += size;
        }
        out
    }

    /// The peer has everything up to `seq`: forgets those messages and
    /// returns their ids, oldest first. Only what was sent can be
    /// acknowledged: an acknowledgement beyond it (a confused or hostile
    /// peer) covers no message that never left.
    pub fn ack(&mut self, seq: u64) -> Vec<MessageId> {
        let mut acked = Vec::new();
        while let Some(msg) = self.queue.front() {
            if msg.id.seq > seq || self.sent == 0 {
                break;
            }
            let size = cost(msg);
            self.total_bytes -= size;
            self.sent -= 1;
            self.sent_bytes -= size;
            acked.push(msg.id);
            self.queue.pop_front();
        }
        acked
    }

    /// The connection is gone: nothing is in flight any more, and all of it
    /// goes out again, in order, on the next one.
    pub fn rewind(&mut self) {
        self.sent = 0;
        self.sent_bytes = 0;
    }

    /// Takes every message out (to be held, or sent elsewhere).
    pub fn take_all(&mut self) -> Vec<ChatMessage> {
        self.rewind();
        self.total_bytes = 0;
        self.queue.drain(..).collect()
    }

    /// Gives up on every message; returns their ids.
    pub fn drain(&mut self) -> Vec<MessageId> {
        self.rewind();
        self.total_bytes = 0;
        self.queue.drain(..).map(|msg| msg.id).collect()
    }
}

/// What one peer sent us: ids seen, and the acknowledgement due.
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    /// The newest message seen from each sending session.
    seen: HashMap<u64, u64>,
    /// The newest message received and not yet acknowledged.
    ack_due: Option<MessageId>,
}

impl Inbox {
    /// Takes a message in: whether it is new (not a repeat after a resume).
    /// Either way it is acknowledged at the next flush.
    pub fn accept(&mut self, id: MessageId) -> bool {
        let newest = self.seen.entry(id.session).or_insert(0);
        let new = id.seq > *newest;
        *newest = (*newest).max(id.seq);
        // Acknowledge the newest seen, not a repeat's id: a repeat after a
        // resume must not make the peer send everything after it again.
        self.ack_due = Some(MessageId {
            session: id.session,
            seq: *newest,
        });
        new
    }

    /// What a killed run had taken in already (from its journal): repeats
    /// of those are dropped.
    pub fn restore(&mut self, newest: impl IntoIterator<Item = MessageId>) {
        for id in newest {
            let seen = self.seen.entry(id.session).or_insert(0);
            *seen = (*seen).max(id.seq);
        }
    }

    /// The acknowledgement to send now, if one is due.
    pub fn take_ack(&mut self) -> Option<Frame> {
        self.ack_due.take().map(|up_to| Frame::Ack { up_to })
    }
}

/// One participant of the conversation, for as long as it lasts: across
/// drops and resumes it stays the same participant.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Who they are in the history.
    pub author: AuthorId,
    /// What we owe them.
    pub outbox: Outbox,
    /// What they sent us.
    pub inbox: Inbox,
    /// The verification words of the last session with them.
    pub verification: Option<String>,
    /// Whether the person said they compared the words (`/verify ok`).
    /// Kept across resumes: a resume proves it is the same two ends as the
    /// session whose words were compared.
    pub compared: bool,
    /// When anything last arrived from them (monotonic ms).
    pub heard_at: i64,
    /// When we last sent them anything (monotonic ms).
    pub sent_at: i64,
    /// Since when messages have been in flight to them without any being
    /// acknowledged (monotonic ms); `None` while nothing is in flight.
    pub waiting_since: Option<i64>,
}

impl Peer {
    /// A new participant known as `author`.
    pub fn new(author: AuthorId) -> Self {
        Self {
            author,
            outbox: Outbox::default(),
            inbox: Inbox::default(),
            verification: None,
            compared: false,
            heard_at: 0,
            sent_at: 0,
            waiting_since: None,
        }
    }

    /// Notes, at `now`, how the outbox stands after sending or an
    /// acknowledgement: the wait starts when something is in flight and
    /// starts again with every acknowledgement that moves it on.
    pub fn note_progress(&mut self, now: i64, acked: bool) {
        self.waiting_since = match (self.outbox.in_flight(), self.waiting_since) {
            (0, _) => None,
            (_, Some(since)) if !acked => Some(since),
            _ => Some(now),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn msg(seq: u64, len: usize) -> ChatMessage {
        ChatMessage {
            id: MessageId { session: 1, seq },
            sent_at_ms: 0,
            text: "x".repeat(len),
            action: false,
        }
    }

    #[test]
    fn a_window_holds_back_what_does_not_fit() {
        let mut outbox = Outbox::default();
        for seq in 1..=10 {
            outbox.push(msg(seq, 52)); // 100 bytes each
        }
        let first = outbox.take_window(350);
        assert_eq!(first.len(), 3);
        assert!(outbox.take_window(350).is_empty(), "the window is full");
        assert_eq!(outbox.ack(2).len(), 2);
        let more = outbox.take_window(350);
        assert_eq!(more.iter().map(|m| m.id.seq).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(outbox.in_flight_bytes(), 300);
    }

    #[test]
    fn a_message_larger_than_the_window_still_goes() {
        let mut outbox = Outbox::default();
        outbox.push(msg(1, 10_000));
        assert_eq!(outbox.take_window(100).len(), 1);
    }

    #[test]
    fn a_rewind_sends_everything_again_in_order() {
        let mut outbox = Outbox::default();
        for seq in 1..=4 {
            outbox.push(msg(seq, 10));
        }
        assert_eq!(outbox.take_window(1000).len(), 4);
        outbox.ack(1);
        outbox.rewind();
        let again: Vec<u64> = outbox.take_window(1000).iter().map(|m| m.id.seq).collect();
        assert_eq!(again, [2, 3, 4]);
    }

    #[test]
    fn repeats_are_seen_but_still_acknowledged() {
        let mut inbox = Inbox::default();
        let id = MessageId { session: 5, seq: 1 };
        assert!(inbox.accept(id));
        assert!(inbox.take_ack().is_some());
        assert!(!inbox.accept(id));
        assert_eq!(inbox.take_ack(), Some(Frame::Ack { up_to: id }));
        assert_eq!(inbox.take_ack(), None);
        // A repeat of an older one acknowledges the newest seen.
        let newer = MessageId { session: 5, seq: 9 };
        assert!(inbox.accept(newer));
        assert!(!inbox.accept(id));
        assert_eq!(inbox.take_ack(), Some(Frame::Ack { up_to: newer }));
    }

    #[test]
    fn an_acknowledgement_covers_only_what_was_sent() {
        let mut outbox = Outbox::default();
        for seq in 1..=5 {
            outbox.push(msg(seq, 52));
        }
        assert_eq!(outbox.take_window(100).len(), 1);
        assert_eq!(outbox.ack(5).len(), 1, "2..5 never left");
        assert_eq!(outbox.len(), 4);
        outbox.rewind();
        assert!(
            outbox.ack(5).is_empty(),
            "nothing is in flight after a rewind"
        );
    }

    proptest! {
        /// Whatever the sizes, window and acknowledgements, the messages go
        /// out once each, in order, never more than a window at a time
        /// (beyond the first), and the byte counts add up.
        #[test]
        fn windows_send_everything_once_in_order(
            sizes in proptest::collection::vec(0usize..3000, 1..60),
            window in 1usize..10_000,
            acks in proptest::collection::vec(1usize..5, 1..100),
        ) {
            let mut outbox = Outbox::default();
            for (i, &len) in sizes.iter().enumerate() {
                outbox.push(msg(i as u64 + 1, len));
            }
            let mut sent = Vec::new();
            let mut acked = 0u64;
            for step in acks.iter().cycle().take(10 * sizes.len() + 10) {
                let taken = outbox.take_window(window);
                prop_assert!(outbox.in_flight() <= 1 || outbox.in_flight_bytes() <= window);
                sent.extend(taken.iter().map(|m| m.id.seq));
                acked = (acked + *step as u64).min(sent.last().copied().unwrap_or(0));
                outbox.ack(acked);
                if outbox.is_empty() { break; }
            }
            let expected: Vec<u64> = (1..=sizes.len() as u64).collect();
            prop_assert_eq!(sent, expected);
            prop_assert_eq!(outbox.total_bytes(), 0);
        }
    }
}
