//! The conversation as this side saw it: a compact, append-only list.
//!
//! A chat entry stores its author as an index into a small table of
//! participants rather than a copy of the name, and its text as a boxed
//! `str`, so a long conversation costs little more than its text. Rarer
//! system entries keep their details boxed for the same reason.
//!
//! Authors are participants, not names: each peer that joins (rather than
//! resumes) gets a new [`AuthorId`] whatever it calls itself, and names are
//! only labels. A label shared with another participant is shown qualified
//! (`alice (guest)`), so two people with the same name stay apart and a
//! peer can never pass for this side.

use std::borrow::Cow;
use std::net::SocketAddr;

use crate::domain::{LeftReason, RejectKind, Security};
use crate::protocol::MessageId;

/// Index into the table of author names; `0` is always this side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorId(u32);

impl AuthorId {
    /// This side's own author id.
    pub const ME: AuthorId = AuthorId(0);

    /// Whether this is this side.
    pub fn is_me(self) -> bool {
        self == Self::ME
    }
}

/// Something that happened in the conversation besides chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemEvent {
    /// A peer joined.
    Joined {
        /// Their name.
        name: String,
        /// Their address.
        addr: SocketAddr,
        /// How the conversation with them is protected.
        security: Security,
    },
    /// A peer left or was lost.
    Left {
        /// Their name.
        name: String,
        /// Why.
        reason: LeftReason,
    },
    /// A dropped peer came back and the conversation goes on.
    Resumed {
        /// Their name.
        name: String,
        /// The new session's verification words (encrypted sessions).
        verification: Option<String>,
        /// Whether those words differ from the last session's.
        words_changed: bool,
        /// Whether this run took over from one that was stopped (rather
        /// than the peer coming back to this run).
        restarted: bool,
    },
    /// Our messages that will never be delivered.
    Undelivered {
        /// How many.
        count: usize,
        /// To whom.
        name: String,
        /// Why, in words for a person.
        why: String,
    },
    /// A connection attempt was turned away (host only).
    Rejected {
        /// Where it came from.
        addr: SocketAddr,
        /// What kind of reason: a run of one kind is one line.
        kind: RejectKind,
        /// Why, in words (the last one's, when folded).
        reason: String,
        /// How many more were turned away right before this one (folded
        /// into this line, so a flood of connections is one line).
        earlier: u32,
    },
    /// Something to tell the user that is not an error.
    Info(String),
    /// Something that went wrong.
    Error(String),
}

/// Where one of our messages is on its way to the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A message from someone else.
    Received,
    /// Typed while disconnected: goes out when the peer is back.
    Pending,
    /// Handed to the connection, not yet acknowledged.
    Sent,
    /// The peer acknowledged it.
    Delivered,
    /// The peer left before acknowledging it.
    Failed,
}

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A chat message.
    Chat {
        /// When it was sent (sender's clock), ms since the Unix epoch.
        at_ms: i64,
        /// Who wrote it.
        author: AuthorId,
        /// Its id, for acknowledgement and de-duplication.
        id: MessageId,
        /// The sanitized text.
        text: Box<str>,
        /// For our own messages, how far they got.
        delivery: Delivery,
    },
    /// A system line.
    System {
        /// When it happened (our clock), ms since the Unix epoch.
        at_ms: i64,
        /// What happened.
        event: Box<SystemEvent>,
    },
}

impl Entry {
    /// When the entry was made, ms since the Unix epoch.
    pub fn at_ms(&self) -> i64 {
        match self {
            Entry::Chat { at_ms, .. } | Entry::System { at_ms, .. } => *at_ms,
        }
    }
}

/// One participant of the conversation, as the history names it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Author {
    /// The name they gave: only a label.
    label: Box<str>,
    /// What tells them apart when another participant has the same label
    /// (their role, say `guest`).
    qualifier: Box<str>,
}

/// All entries of the conversation, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    entries: Vec<Entry>,
    authors: Vec<Author>,
    /// Our own messages: sequence number and entry index, in order, so a
    /// delivery change finds its entry without a scan.
    mine: Vec<(u64, usize)>,
}

impl History {
    /// An empty history in which this side is called `me`.
    pub fn new(me: &str) -> Self {
        Self {
            entries: Vec::new(),
            authors: vec![Author {
                label: me.into(),
                qualifier: "you".into(),
            }],
            mine: Vec::new(),
        }
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The name an author is shown by: their label, qualified when another
    /// participant has the same label (this side's own label never is).
    pub fn author_name(&self, author: AuthorId) -> Cow<'_, str> {
        let Some(this) = self.authors.get(author.0 as usize) else {
            return Cow::Borrowed("?");
        };
        let collides = !author.is_me()
            && self
                .authors
                .iter()
                .enumerate()
                .any(|(index, other)| index != author.0 as usize && other.label == this.label);
        if collides {
            Cow::Owned(format!("{} ({})", this.label, this.qualifier))
        } else {
            Cow::Borrowed(&this.label)
        }
    }

    /// A new participant, labelled `label` and told apart by `qualifier`
    /// when labels collide. Never merged with an existing one by name.
    pub fn add_author(&mut self, label: &str, qualifier: &str) -> AuthorId {
        self.authors.push(Author {
            label: label.into(),
            qualifier: qualifier.into(),
        });
        AuthorId(u32::try_from(self.authors.len() - 1).unwrap_or(u32::MAX))
    }

    /// Gives a participant a new label (a peer that came back under
    /// another name).
    pub fn relabel(&mut self, author: AuthorId, label: &str) {
        if let Some(known) = self.authors.get_mut(author.0 as usize) {
            known.label = label.into();
        }
    }

    /// The delivery of our message `seq`, to change in place.
    pub fn delivery_mut(&mut self, seq: u64) -> Option<&mut Delivery> {
        let at = self.mine.binary_search_by_key(&seq, |&(s, _)| s).ok()?;
        let index = self.mine.get(at)?.1;
        match self.entries.get_mut(index) {
            Some(Entry::Chat { delivery, .. }) => Some(delivery),
            _ => None,
        }
    }

    /// The newest entry, to change in place.
    pub fn last_mut(&mut self) -> Option<&mut Entry> {
        self.entries.last_mut()
    }

    /// Appends an entry.
    pub fn push(&mut self, entry: Entry) {
        if let Entry::Chat { author, id, .. } = &entry
            && author.is_me()
            && self.mine.last().is_none_or(|&(seq, _)| seq < id.seq)
        {
            self.mine.push((id.seq, self.entries.len()));
        }
        self.entries.push(entry);
    }

    /// Appends a system line.
    pub fn push_system(&mut self, at_ms: i64, event: SystemEvent) {
        self.entries.push(Entry::System {
            at_ms,
            event: Box::new(event),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participants_are_never_merged_by_name() {
        let mut history = History::new("x");
        let bob = history.add_author("bob", "guest");
        assert_eq!(history.author_name(bob), "bob");
        assert!(!bob.is_me());
        // A peer named like us is someone else, shown qualified.
        let twin = history.add_author("x", "guest");
        assert_ne!(twin, AuthorId::ME);
        assert_eq!(history.author_name(twin), "x (guest)");
        assert_eq!(history.author_name(AuthorId::ME), "x");
        // Two peers with one name are told apart too.
        let other_bob = history.add_author("bob", "host");
        assert_eq!(history.author_name(bob), "bob (guest)");
        assert_eq!(history.author_name(other_bob), "bob (host)");
    }

    #[test]
    fn our_messages_are_found_by_sequence_number() {
        let mut history = History::new("me");
        for seq in [3, 4, 7] {
            history.push_system(0, SystemEvent::Info("between".into()));
            history.push(Entry::Chat {
                at_ms: 0,
                author: AuthorId::ME,
                id: MessageId { session: 1, seq },
                text: "hi".into(),
                delivery: Delivery::Sent,
            });
        }
        *history.delivery_mut(4).unwrap() = Delivery::Delivered;
        assert_eq!(history.delivery_mut(4).copied(), Some(Delivery::Delivered));
        assert_eq!(history.delivery_mut(3).copied(), Some(Delivery::Sent));
        assert!(history.delivery_mut(5).is_none());
    }

    #[test]
    fn chat_entries_are_compact() {
        // Per-message overhead beyond the text itself stays small.
        assert!(
            std::mem::size_of::<Entry>() <= 56,
            "{}",
            std::mem::size_of::<Entry>()
        );
    }
}
