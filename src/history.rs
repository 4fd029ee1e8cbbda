//! The conversation as this side saw it: a compact, append-only list,
//! bounded in entries and in bytes of text.
//!
//! When a bound is passed the oldest entries go (a batch at a time, so the
//! front moves rarely) and the first entry becomes one line saying how many
//! older messages are no longer kept. Entry indices then move down:
//! [`History::shift`] counts by how much in all, so a holder of an index
//! (the pane's scroll anchor) can follow.
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

use crate::domain::{LeftReason, Limits, RejectKind, Security};
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
        /// Whether they are the host: the guest connected to them.
        host: bool,
        /// Whether a guest that was in a conversation with this host finds
        /// a new one (the host started afresh, or someone else answers).
        afresh: bool,
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
        /// Whether the person had compared the conversation's words
        /// (`/verify ok`): the resume proved it is the same two ends.
        compared: bool,
        /// Whether this run took over from one that was stopped (rather
        /// than the peer coming back to this run).
        restarted: bool,
    },
    /// We are leaving (`exit`, the end of input) once these many of our
    /// messages are delivered.
    Leaving {
        /// How many are still on their way.
        waiting: usize,
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
    /// Messages typed for an earlier conversation wait for the person to
    /// send them to the new one or drop them (guest only).
    Held {
        /// How many.
        count: usize,
        /// Who the new conversation is with.
        name: String,
    },
    /// The host's single-use secret code was used: the next guest needs
    /// this one (host only; the screen does not show it in the history).
    CodeChanged {
        /// The new code.
        code: String,
    },
    /// Someone new wants in while the guest is away: the host's person
    /// decides (host only).
    Knock {
        /// The newcomer's name.
        name: String,
        /// Where it connects from.
        addr: SocketAddr,
        /// Who is away.
        away: String,
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
    /// The oldest entries were dropped to keep the history bounded; always
    /// the first entry once that happened.
    Forgotten {
        /// How many messages are no longer kept, in all.
        messages: u64,
    },
    /// A participant changed its name (`/nick`).
    Renamed {
        /// The name before.
        old: String,
        /// The name now.
        new: String,
        /// Whether it is this side.
        me: bool,
    },
    /// A file transfer's card, updated in place as it moves (see
    /// [`History::update_transfer`]).
    Transfer(TransferCard),
    /// Something to tell the user that is not an error.
    Info(String),
    /// Something that went wrong.
    Error(String),
}

/// A file transfer as its card in the conversation shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCard {
    /// The transfer's id: the card is found by it.
    pub id: u64,
    /// What it is called: the one entry's name, or `3 files, 1 folder`.
    pub name: String,
    /// Whether we send it.
    pub sending: bool,
    /// Bytes moved so far.
    pub bytes: u64,
    /// Bytes in all.
    pub total: u64,
    /// Bytes per second while moving, once known.
    pub rate: Option<u64>,
    /// Where it is.
    pub state: CardState,
}

/// Where a transfer is, as its card says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardState {
    /// Offered to us: we have not answered.
    Offered,
    /// We offered it: the peer has not answered.
    Waiting,
    /// Bytes moving.
    Moving,
    /// Every byte arrived; the last hash is being checked.
    Verifying,
    /// Arrived and matched: the short hash, and where it was saved
    /// (receiving).
    Done {
        /// The first hex digits of the hash.
        hash: String,
        /// Where it was saved, when we received it.
        saved: Option<String>,
    },
    /// Stopped: why.
    Failed(String),
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
        /// Whether it is an action (`/me waves`: `* alice waves`).
        action: bool,
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

/// All entries of the conversation still kept, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    entries: Vec<Entry>,
    authors: Vec<Author>,
    /// Our own messages: sequence number and *global* entry index (the
    /// index plus [`History::shift`] at the time), in order, so a delivery
    /// change finds its entry without a scan, however the front moved.
    mine: Vec<(u64, u64)>,
    /// Most entries kept (the line about forgotten ones included).
    max_entries: usize,
    /// Most bytes of chat text kept (unless the newest entry alone is more).
    max_bytes: usize,
    /// Bytes of chat text in `entries`.
    bytes: usize,
    /// Messages dropped from the front, in all.
    forgotten: u64,
    /// Whether the first entry is the line about forgotten messages.
    marked: bool,
    /// How far entry indices have moved down, in all.
    shift: u64,
    /// Entries `/clear` kept and put back, in all: they have new indices
    /// past the old ones, but were added once (see [`History::added`]).
    put_back: u64,
}

/// Bytes an entry counts for against the bound.
fn text_len(entry: &Entry) -> usize {
    match entry {
        Entry::Chat { text, .. } => text.len(),
        Entry::System { .. } => 0,
    }
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
            max_entries: Limits::DEFAULT.history_entries,
            max_bytes: Limits::DEFAULT.history_bytes,
            bytes: 0,
            forgotten: 0,
            marked: false,
            shift: 0,
            put_back: 0,
        }
    }

    /// Keeps at most `entries` entries (at least 2: the line about
    /// forgotten messages and the newest) and `bytes` bytes of text.
    pub fn set_limit(&mut self, entries: usize, bytes: usize) {
        self.max_entries = entries.max(2);
        self.max_bytes = bytes;
        self.bound();
    }

    /// How far entry indices have moved down since the history began (as
    /// the oldest entries were dropped): an index `i` taken when this was
    /// `s` is now `i - (shift() - s)`, or gone if that is below zero.
    pub fn shift(&self) -> u64 {
        self.shift
    }

    /// How many entries were ever added, each once: the newest `n` added
    /// since this was `a` are the last `added() - a` entries. (An entry
    /// `/clear` kept gets a new index, `shift() + len()` grows for it, but
    /// it was not added again.)
    pub fn added(&self) -> u64 {
        (self.shift + self.entries.len() as u64).saturating_sub(self.put_back)
    }

    /// How many messages were dropped from the front to keep the bound.
    pub fn forgotten(&self) -> u64 {
        self.forgotten
    }

    /// Bytes of message text kept.
    pub fn text_bytes(&self) -> usize {
        self.bytes
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
    /// when labels collide (numbered from the second with the same label
    /// and qualifier: `bob (guest 2)`). Never merged with an existing one
    /// by name.
    pub fn add_author(&mut self, label: &str, qualifier: &str) -> AuthorId {
        let alike = self
            .authors
            .iter()
            .skip(1)
            .filter(|known| &*known.label == label && known.qualifier.starts_with(qualifier))
            .count();
        let qualifier = if alike == 0 {
            qualifier.to_owned()
        } else {
            format!("{qualifier} {}", alike + 1)
        };
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
        let global = self.mine.get(at)?.1;
        let index = usize::try_from(global.checked_sub(self.shift)?).ok()?;
        match self.entries.get_mut(index) {
            Some(Entry::Chat { delivery, .. }) => Some(delivery),
            _ => None,
        }
    }

    /// The newest entry, to change in place.
    pub fn last_mut(&mut self) -> Option<&mut Entry> {
        self.entries.last_mut()
    }

    /// Appends an entry (dropping the oldest if the history is full).
    pub fn push(&mut self, entry: Entry) {
        if let Entry::Chat { author, id, .. } = &entry
            && author.is_me()
            && self.mine.last().is_none_or(|&(seq, _)| seq < id.seq)
        {
            let global = self.shift + self.entries.len() as u64;
            self.mine.push((id.seq, global));
        }
        self.bytes += text_len(&entry);
        self.entries.push(entry);
        self.bound();
    }

    /// Empties the history as the screen shows it (`/clear`), keeping only
    /// our messages still on their way, so their marks can move on. Every
    /// index held before counts as moved out (see [`History::shift`]).
    pub fn clear_shown(&mut self) {
        let old = std::mem::take(&mut self.entries);
        self.shift += old.len() as u64;
        self.mine.clear();
        self.bytes = 0;
        self.marked = false;
        for entry in old {
            if let Entry::Chat {
                author,
                delivery: Delivery::Pending | Delivery::Sent,
                ..
            } = &entry
                && author.is_me()
            {
                self.push(entry);
                self.put_back += 1;
            }
        }
    }

    /// Puts `card` in place of the card of the same transfer, the newest
    /// one kept; `false` if there is none (it was forgotten or cleared).
    pub fn update_transfer(&mut self, card: TransferCard) -> bool {
        let found = self.entries.iter_mut().rev().find_map(|entry| match entry {
            Entry::System { event, .. } => match &mut **event {
                SystemEvent::Transfer(old) if old.id == card.id => Some(old),
                _ => None,
            },
            Entry::Chat { .. } => None,
        });
        match found {
            Some(old) => {
                *old = card;
                true
            }
            None => false,
        }
    }

    /// Appends a system line.
    pub fn push_system(&mut self, at_ms: i64, event: SystemEvent) {
        self.push(Entry::System {
            at_ms,
            event: Box::new(event),
        });
    }

    /// Drops the oldest entries while a bound is passed, down to 15/16 of
    /// it so the front moves once per many entries, never the newest; the
    /// first entry then says how many messages are no longer kept.
    fn bound(&mut self) {
        if self.entries.len() <= self.max_entries && self.bytes <= self.max_bytes {
            return;
        }
        let keep_entries = self.max_entries - self.max_entries / 16;
        let keep_bytes = self.max_bytes - self.max_bytes / 16;
        // The line about forgotten messages stays first once it is there.
        let start = usize::from(self.marked);
        let newest = self.entries.len() - 1;
        // Entries left after the drop, the line about forgotten ones included.
        let mut left = self.entries.len() + 1 - start;
        let mut end = start;
        let mut messages = 0;
        let mut at_ms = 0;
        while end < newest && (left > keep_entries || self.bytes > keep_bytes) {
            let entry = &self.entries[end];
            self.bytes -= text_len(entry);
            messages += u64::from(matches!(entry, Entry::Chat { .. }));
            at_ms = entry.at_ms();
            left -= 1;
            end += 1;
        }
        if end == start {
            return;
        }
        self.forgotten += messages;
        let marker = Entry::System {
            at_ms,
            event: Box::new(SystemEvent::Forgotten {
                messages: self.forgotten,
            }),
        };
        let old_shift = self.shift;
        if start == 0 {
            self.marked = true;
            self.entries.splice(0..end, [marker]);
            self.shift += end as u64 - 1;
        } else {
            self.entries.drain(start..end);
            self.entries[0] = marker;
            self.shift += (end - start) as u64;
        }
        // Our messages among the dropped ones are no longer found.
        let gone = old_shift + end as u64;
        let dropped = self.mine.partition_point(|&(_, global)| global < gone);
        self.mine.drain(..dropped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        // Two peers with one name are told apart too, also in one role.
        let other_bob = history.add_author("bob", "host");
        assert_eq!(history.author_name(bob), "bob (guest)");
        assert_eq!(history.author_name(other_bob), "bob (host)");
        let third_bob = history.add_author("bob", "guest");
        assert_eq!(history.author_name(third_bob), "bob (guest 2)");
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
                action: false,
            });
        }
        *history.delivery_mut(4).unwrap() = Delivery::Delivered;
        assert_eq!(history.delivery_mut(4).copied(), Some(Delivery::Delivered));
        assert_eq!(history.delivery_mut(3).copied(), Some(Delivery::Sent));
        assert!(history.delivery_mut(5).is_none());
    }

    fn own(seq: u64, text: &str) -> Entry {
        Entry::Chat {
            at_ms: 0,
            author: AuthorId::ME,
            id: MessageId { session: 1, seq },
            text: text.into(),
            delivery: Delivery::Sent,
            action: false,
        }
    }

    #[test]
    fn the_oldest_entries_go_and_the_first_line_says_how_many() {
        let mut history = History::new("me");
        history.set_limit(10, usize::MAX);
        for seq in 1..=1234 {
            history.push(own(seq, "hi"));
        }
        assert!(history.len() <= 10);
        let Some(Entry::System { event, .. }) = history.entries().first() else {
            panic!("{:?}", history.entries().first());
        };
        assert!(history.forgotten() > 1000);
        assert_eq!(
            **event,
            SystemEvent::Forgotten {
                messages: history.forgotten()
            }
        );
        assert_eq!(history.forgotten() as usize + history.len() - 1, 1234);
        assert!(history.delivery_mut(1234).is_some());
        assert!(history.delivery_mut(1).is_none());
    }

    #[test]
    fn a_hostile_flood_stays_within_the_bytes() {
        let mut history = History::new("me");
        history.set_limit(usize::MAX, 1 << 20);
        let bob = history.add_author("bob", "guest");
        let text = "x".repeat(60_000);
        for seq in 1..=5000 {
            history.push(Entry::Chat {
                at_ms: 0,
                author: bob,
                id: MessageId { session: 2, seq },
                text: text.as_str().into(),
                delivery: Delivery::Received,
                action: false,
            });
            assert!(history.text_bytes() <= 1 << 20);
        }
    }

    /// One push of the property test: whose, and how long a text.
    #[derive(Debug, Clone)]
    enum Push {
        Mine(usize),
        Theirs(usize),
        System,
    }

    fn pushes() -> impl Strategy<Value = Vec<Push>> {
        prop::collection::vec(
            prop_oneof![
                (0..200usize).prop_map(Push::Mine),
                (0..200usize).prop_map(Push::Theirs),
                Just(Push::System),
            ],
            0..400,
        )
    }

    proptest! {
        #[test]
        fn prop_any_pushes_keep_the_bound_and_find_our_messages(
            max_entries in 2..40usize,
            max_bytes in 0..2000usize,
            pushes in pushes(),
        ) {
            let mut history = History::new("me");
            history.set_limit(max_entries, max_bytes);
            let bob = history.add_author("bob", "guest");
            // Every chat pushed: its id and its global index.
            let mut pushed: Vec<(MessageId, u64)> = Vec::new();
            let mut seq = 0;
            for push in pushes {
                seq += 1;
                let global = history.shift() + history.len() as u64;
                let (entry, newest_len) = match push {
                    Push::Mine(len) => (own(seq, &"m".repeat(len)), len),
                    Push::Theirs(len) => (Entry::Chat {
                        at_ms: 0,
                        author: bob,
                        id: MessageId { session: 2, seq },
                        text: "t".repeat(len).into(),
                        delivery: Delivery::Received,
                        action: false,
                    }, len),
                    Push::System => (Entry::System {
                        at_ms: 0,
                        event: Box::new(SystemEvent::Info("i".into())),
                    }, 0),
                };
                if let Entry::Chat { id, .. } = &entry {
                    pushed.push((*id, global));
                }
                history.push(entry);
                prop_assert!(history.len() <= max_entries.max(2));
                prop_assert!(history.text_bytes() <= max_bytes.max(newest_len));
                let counted: usize = history.entries().iter().map(text_len).sum();
                prop_assert_eq!(counted, history.text_bytes());
            }
            // Every chat is where its global index says, or gone; our own
            // are found by sequence number exactly when they are kept.
            let mut kept = 0;
            for &(id, global) in &pushed {
                let local = global.checked_sub(history.shift()).map(|l| l as usize);
                let there = local
                    .and_then(|l| history.entries().get(l))
                    .is_some_and(|e| l_is(e, id));
                let mine = id.session == 1;
                if let Some(local) = local.filter(|_| there) {
                    kept += 1;
                    prop_assert!(local > 0 || history.forgotten() == 0);
                }
                if mine {
                    let found = history.delivery_mut(id.seq).is_some();
                    prop_assert_eq!(found, there, "{:?}", id);
                }
            }
            let chats = history.entries().iter().filter(|e| matches!(e, Entry::Chat { .. })).count();
            prop_assert_eq!(kept, chats);
            prop_assert_eq!(history.forgotten() as usize + chats, pushed.len());
            if history.forgotten() > 0 {
                let first_is_marker = matches!(
                    history.entries().first(),
                    Some(Entry::System { event, .. })
                        if **event == SystemEvent::Forgotten { messages: history.forgotten() }
                );
                prop_assert!(first_is_marker);
            }
        }
    }

    fn l_is(entry: &Entry, want: MessageId) -> bool {
        matches!(entry, Entry::Chat { id, .. } if *id == want)
    }

    #[test]
    fn a_transfer_card_is_updated_in_place_by_its_id() {
        let card = |id, bytes| TransferCard {
            id,
            name: "a".into(),
            sending: true,
            bytes,
            total: 10,
            rate: None,
            state: CardState::Moving,
        };
        let mut history = History::new("me");
        assert!(!history.update_transfer(card(1, 0)));
        history.push_system(0, SystemEvent::Transfer(card(1, 0)));
        history.push_system(0, SystemEvent::Transfer(card(2, 0)));
        history.push_system(0, SystemEvent::Info("after".into()));
        assert!(history.update_transfer(card(1, 5)));
        assert_eq!(history.len(), 3);
        assert!(matches!(
            history.entries()[0],
            Entry::System { ref event, .. } if **event == SystemEvent::Transfer(card(1, 5))
        ));
        assert!(matches!(
            history.entries()[1],
            Entry::System { ref event, .. } if **event == SystemEvent::Transfer(card(2, 0))
        ));
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
