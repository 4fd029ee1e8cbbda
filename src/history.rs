//! The conversation as this side saw it: a compact, append-only list.
//!
//! A chat entry stores its author as an index into a small table of names
//! rather than a copy of the name, and its text as a boxed `str`, so a long
//! conversation costs little more than its text. Rarer system entries keep
//! their details boxed for the same reason.

use std::net::SocketAddr;

use crate::net::{LeftReason, Security};
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
    /// A connection attempt was turned away (host only).
    Rejected {
        /// Where it came from.
        addr: SocketAddr,
        /// Why.
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

/// All entries of the conversation, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    entries: Vec<Entry>,
    authors: Vec<Box<str>>,
}

impl History {
    /// An empty history in which this side is called `me`.
    pub fn new(me: &str) -> Self {
        Self {
            entries: Vec::new(),
            authors: vec![me.into()],
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

    /// The name of an author.
    pub fn author_name(&self, author: AuthorId) -> &str {
        self.authors
            .get(author.0 as usize)
            .map_or("?", |name| name.as_ref())
    }

    /// The id for an author's name, adding the name if it is new.
    pub fn author(&mut self, name: &str) -> AuthorId {
        let index = match self.authors.iter().position(|known| known.as_ref() == name) {
            Some(index) => index,
            None => {
                self.authors.push(name.into());
                self.authors.len() - 1
            }
        };
        AuthorId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// The entry at `index`, to update its delivery.
    pub fn entry_mut(&mut self, index: usize) -> Option<&mut Entry> {
        self.entries.get_mut(index)
    }

    /// The newest entry, to change in place.
    pub fn last_mut(&mut self) -> Option<&mut Entry> {
        self.entries.last_mut()
    }

    /// Appends an entry.
    pub fn push(&mut self, entry: Entry) {
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
    fn authors_are_interned() {
        let mut history = History::new("me");
        let bob = history.author("bob");
        assert_eq!(history.author("bob"), bob);
        assert_eq!(history.author("me"), AuthorId::ME);
        assert_eq!(history.author_name(bob), "bob");
        assert!(!bob.is_me());
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
