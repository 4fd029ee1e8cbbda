//! What one side must not forget when its process dies: the journal.
//!
//! A killed duplex (SIGKILL, out of memory, a closed laptop that never came
//! back) would otherwise lose what only it knew: its place in the
//! conversation (the resume token) and the messages it had not yet got
//! acknowledged. The journal keeps exactly that, and nothing else, in one
//! small file per conversation under the user's state directory
//! (`$XDG_STATE_HOME/duplex`, or `~/.local/state/duplex`), readable only by
//! the user (0600 in a 0700 directory). A duplex started again for the same
//! host picks it up: it resumes the conversation and sends what was never
//! delivered, and the peer drops what it already has by id.
//!
//! The file is a magic header and then length-prefixed postcard
//! [`Record`]s, appended as things happen (at most one `write` per event
//! handled). A record cut short by a kill is ignored when reading. Message
//! text stays in the file only while some message is undelivered: once
//! every message is acknowledged the file is rewritten to its few-byte
//! summary (and when it grows past 1 MiB, to what is still undelivered).
//! When the conversation ends on purpose (`exit`, Ctrl-C, SIGTERM, the
//! peer leaving) nothing is left to keep and the file is removed; a hang-up
//! (SIGHUP: the terminal or the SSH session went away) keeps it. An exclusive lock keeps two
//! duplex programs from sharing one journal (the second runs without one).
//!
//! What is not covered: the history shown on screen is not kept (a
//! restarted duplex shows what arrives from then on), and the file is not
//! synced to the disk, so a crash of the whole machine may lose the newest
//! records (a killed process loses nothing: the kernel has the data).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::protocol::{ChatMessage, Resume};

/// The first bytes of every journal file: the format and its version.
pub const MAGIC: &[u8; 8] = b"DUPLEXJ1";

/// Size past which an append-only journal with undelivered messages is
/// rewritten to its summary (or twice the last summary's size, if that is
/// more: a large backlog is not rewritten at every write).
pub const COMPACT_AT: u64 = 1 << 20;

/// Longest record accepted when reading (a message at the wire's limit fits).
const MAX_RECORD_LEN: usize = 1 << 20;

/// One thing that happened which a restarted duplex must know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

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
}

impl Saved {
    /// Nothing yet: a new session.
    pub fn new(session: u64) -> Self {
        Self {
            session,
            next_seq: 1,
            conversation: None,
            outbox: VecDeque::new(),
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
        records
    }
}

/// Appends one record, length-prefixed, to `out`.
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    match postcard::to_stdvec(record) {
        Ok(bytes) => {
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        // Not expected (a record is plain data), but never half a record.
        Err(err) => tracing::warn!(%err, "journal record not encoded"),
    }
}

/// What reading a journal found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The state, if the file held a journal.
    pub saved: Option<Saved>,
    /// Bytes at the end that were not a whole record (cut short by a kill).
    pub ignored: usize,
}

/// Reads a journal's bytes: the records up to the first one that is cut
/// short or unreadable. `None` if `bytes` is not a journal at all.
pub fn decode(bytes: &[u8]) -> Decoded {
    let Some(mut rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
        return Decoded {
            saved: None,
            ignored: bytes.len(),
        };
    };
    let mut saved: Option<Saved> = None;
    while let Some((record, after)) = next_record(rest) {
        // Every journal starts with its session; anything before it is noise.
        match (&mut saved, &record) {
            (None, Record::Session { session, .. }) => {
                let mut fresh = Saved::new(*session);
                fresh.apply(&record);
                saved = Some(fresh);
            }
            (None, _) => break,
            (Some(saved), record) => saved.apply(record),
        }
        rest = after;
    }
    Decoded {
        saved,
        ignored: rest.len(),
    }
}

fn next_record(bytes: &[u8]) -> Option<(Record, &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    if len > MAX_RECORD_LEN || len > rest.len() {
        return None;
    }
    let (body, rest) = rest.split_at(len);
    let record = postcard::from_bytes(body).ok()?;
    Some((record, rest))
}

/// Why the journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Another duplex is using this conversation's journal.
    #[error("another duplex is using {}", path.display())]
    InUse {
        /// The journal.
        path: PathBuf,
    },
    /// The file system said no.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        #[source]
        error: io::Error,
    },
}

/// Where journals go: `$XDG_STATE_HOME/duplex`, else `~/.local/state/duplex`.
pub fn default_dir() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    absolute("XDG_STATE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".local").join("state")))
        .map(|dir| dir.join("duplex"))
}

/// A file name for a conversation's journal: `key` with anything but
/// letters, digits, `.` and `-` turned into `_`.
pub fn file_name(key: &str) -> String {
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.journal")
}

/// An open, locked journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// The state as of every record given so far.
    saved: Saved,
    /// Bytes in the file.
    len: u64,
    /// Bytes of the summary last written.
    summary_len: u64,
    /// Whether the file holds message text (which goes once it is delivered).
    holds_text: bool,
    /// Records not yet written.
    buffer: Vec<u8>,
}

impl Journal {
    /// Opens (creating if need be) the journal for `key` in `dir` and reads
    /// what it holds. Returns the journal and, if an earlier run left
    /// something to keep, that. A new journal starts with `session`.
    pub fn open(
        dir: &Path,
        key: &str,
        session: u64,
    ) -> Result<(Self, Option<Saved>), JournalError> {
        let io_err = |path: &Path| {
            let path = path.to_owned();
            move |error| JournalError::Io { path, error }
        };
        create_private_dir(dir).map_err(io_err(dir))?;
        let path = dir.join(file_name(key));
        let mut file = lock_at(&path)?;
        // Left by a run killed in the middle of a compaction: the journal
        // itself is still whole, and this must not keep old text around.
        remove_if_there(&fresh_path(&path));
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(&path))?;
        let found = decode(&bytes);
        if found.ignored > 0 && !bytes.is_empty() {
            tracing::info!(
                path = %path.display(),
                ignored = found.ignored,
                "journal: ignored an incomplete or unreadable end"
            );
        }
        let restored = found.saved.filter(Saved::worth_keeping);
        let saved = restored.clone().unwrap_or_else(|| Saved::new(session));
        let mut journal = Self {
            path,
            file,
            saved,
            len: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            summary_len: 0,
            holds_text: true,
            buffer: Vec::new(),
        };
        // Start from the summary: drops what was delivered and any torn end.
        journal.rewrite().map_err(io_err(&journal.path))?;
        Ok((journal, restored))
    }

    /// The state as of every record given so far.
    pub fn saved(&self) -> &Saved {
        &self.saved
    }

    /// The journal's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes a record; it is written at the next [`Journal::flush`].
    pub fn record(&mut self, record: &Record) {
        self.saved.apply(record);
        self.holds_text |= matches!(record, Record::Sent(_));
        encode(record, &mut self.buffer);
    }

    /// Writes the records taken since the last flush, in one write; or, when
    /// nothing undelivered is left (or the file grew large), rewrites the
    /// file to its summary so delivered text does not stay on disk.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let all_delivered = self.holds_text && self.saved.outbox.is_empty();
        // Amortized: the file grows at least as much as the summary between
        // two compactions.
        let too_large = self.len >= COMPACT_AT.max(self.summary_len.saturating_mul(2));
        let outcome = if all_delivered || too_large {
            self.rewrite()
        } else {
            let written = self.file.write_all(&self.buffer);
            let added = u64::try_from(self.buffer.len()).unwrap_or(u64::MAX);
            self.len = self.len.saturating_add(added);
            written
        };
        self.buffer.clear();
        outcome.map_err(|error| JournalError::Io {
            path: self.path.clone(),
            error,
        })
    }

    /// Replaces the file's contents with the summary of the state: the
    /// summary goes to a new file (locked before it takes the journal's
    /// name) that then replaces the old one, so a kill at any moment leaves
    /// one whole journal or the other. Acknowledgements come at most every
    /// few milliseconds, so this stays cheap.
    fn rewrite(&mut self) -> io::Result<()> {
        let mut bytes = MAGIC.to_vec();
        for record in self.saved.summary() {
            encode(&record, &mut bytes);
        }
        let fresh = fresh_path(&self.path);
        let mut file = private_options().append(true).open(&fresh)?;
        file.try_lock().map_err(io::Error::from)?;
        file.set_len(0)?;
        file.write_all(&bytes)?;
        fs::rename(&fresh, &self.path)?;
        self.file = file;
        self.len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        self.summary_len = self.len;
        self.holds_text = !self.saved.outbox.is_empty();
        self.buffer.clear();
        Ok(())
    }
}

impl Journal {
    /// Gives the journal up after a failed write: the file no longer says
    /// what happened, and a later run must not act on it (reuse message
    /// numbers, resend what was delivered), so it goes.
    pub fn abandon(mut self) {
        self.saved.conversation = None;
        self.saved.outbox.clear();
        self.buffer.clear();
        // Dropped now: nothing worth keeping, so the file is removed.
    }
}

impl Drop for Journal {
    /// Removes the file once nothing in it is worth keeping; otherwise
    /// writes what is left, for the next run.
    fn drop(&mut self) {
        if self.saved.worth_keeping() {
            if let Err(err) = self.flush() {
                tracing::warn!(%err, "journal: last records not written");
            }
        } else {
            remove_if_there(&self.path);
            remove_if_there(&fresh_path(&self.path));
        }
    }
}

/// Where a compaction writes the new journal before it takes the name.
fn fresh_path(path: &Path) -> PathBuf {
    path.with_extension("journal.new")
}

fn remove_if_there(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => tracing::warn!(path = %path.display(), %err, "journal: not removed"),
    }
}

/// Opens and locks the journal at `path`. Checks that the locked file is
/// still the one at `path` (its owner may have replaced or removed it
/// between our open and our lock), and tries again if not.
fn lock_at(path: &Path) -> Result<File, JournalError> {
    let io_err = |error| JournalError::Io {
        path: path.to_owned(),
        error,
    };
    for _ in 0..3 {
        let file = private_options()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(JournalError::InUse {
                    path: path.to_owned(),
                });
            }
            Err(TryLockError::Error(error)) => return Err(io_err(error)),
        }
        if same_file(&file, path) {
            return Ok(file);
        }
    }
    Err(JournalError::InUse {
        path: path.to_owned(),
    })
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, _: &Path) -> bool {
    true
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::protocol::MessageId;

    fn msg(seq: u64, text: &str) -> ChatMessage {
        ChatMessage {
            id: MessageId { session: 7, seq },
            sent_at_ms: 1_000 + i64::try_from(seq).unwrap(),
            text: text.to_owned(),
        }
    }

    const RESUME: Resume = Resume {
        conversation: 3,
        token: 99,
    };

    fn file_bytes(journal: &Journal) -> Vec<u8> {
        fs::read(journal.path()).unwrap()
    }

    #[test]
    fn a_killed_run_leaves_its_conversation_and_undelivered_messages() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, restored) = Journal::open(dir.path(), "join-h:1", 7).unwrap();
        assert_eq!(restored, None);
        journal.record(&Record::Conversation(RESUME));
        journal.record(&Record::Sent(msg(1, "one")));
        journal.record(&Record::Sent(msg(2, "two")));
        journal.record(&Record::Sent(msg(3, "three")));
        journal.record(&Record::Acked { up_to: 1 });
        journal.flush().unwrap();
        // A kill: the file stays as it is, lock released.
        let bytes = file_bytes(&journal);
        std::mem::forget(journal);
        let found = decode(&bytes).saved.unwrap();
        assert_eq!(found.conversation, Some(RESUME));
        assert_eq!(
            found.outbox.iter().map(|m| m.id.seq).collect::<Vec<_>>(),
            [2, 3]
        );
        assert_eq!(found.next_seq, 4);
    }

    #[test]
    fn reopening_restores_and_keeps_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), "k", 7).unwrap();
        journal.record(&Record::Conversation(RESUME));
        journal.record(&Record::Sent(msg(1, "hi")));
        drop(journal); // something to keep: the file stays
        let (journal, restored) = Journal::open(dir.path(), "k", 1234).unwrap();
        let restored = restored.unwrap();
        assert_eq!(restored.session, 7);
        assert_eq!(restored.outbox, [msg(1, "hi")]);
        assert_eq!(journal.saved(), &restored);
    }

    #[test]
    fn the_file_goes_once_the_conversation_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), "k", 7).unwrap();
        let path = journal.path().to_owned();
        journal.record(&Record::Conversation(RESUME));
        journal.record(&Record::Sent(msg(1, "hi")));
        journal.flush().unwrap();
        assert!(path.exists());
        journal.record(&Record::Ended);
        drop(journal);
        assert!(!path.exists());
        // And a journal that never had anything leaves no file either.
        drop(Journal::open(dir.path(), "k", 7).unwrap());
        assert!(!path.exists());
    }

    #[test]
    fn delivered_text_does_not_stay_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), "k", 7).unwrap();
        journal.record(&Record::Conversation(RESUME));
        journal.record(&Record::Sent(msg(1, "a secret")));
        journal.flush().unwrap();
        assert!(find(&file_bytes(&journal), b"a secret"));
        journal.record(&Record::Acked { up_to: 1 });
        journal.flush().unwrap();
        let bytes = file_bytes(&journal);
        assert!(!find(&bytes, b"a secret"));
        let found = decode(&bytes).saved.unwrap();
        assert_eq!((found.next_seq, found.conversation), (2, Some(RESUME)));
    }

    fn find(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_large_journal_is_compacted_and_stays_locked() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), "k", 7).unwrap();
        let long = "x".repeat(30_000);
        let mut seq = 0;
        // Never all delivered: only the size starts a compaction.
        while journal.len < COMPACT_AT {
            seq += 1;
            journal.record(&Record::Sent(msg(seq, &long)));
            journal.record(&Record::Acked { up_to: seq - 1 });
            journal.flush().unwrap();
        }
        seq += 1;
        journal.record(&Record::Sent(msg(seq, "last")));
        journal.flush().unwrap();
        let bytes = file_bytes(&journal);
        assert!(bytes.len() < 70_000, "{} bytes", bytes.len());
        let found = decode(&bytes).saved.unwrap();
        assert_eq!(&found, journal.saved());
        assert_eq!(found.outbox.len(), 2);
        assert!(matches!(
            Journal::open(dir.path(), "k", 8),
            Err(JournalError::InUse { .. })
        ));
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no stray files"
        );
    }

    #[test]
    fn a_large_backlog_is_not_rewritten_at_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), "k", 7).unwrap();
        let long = "x".repeat(30_000);
        // Nothing acknowledged: the summary itself outgrows COMPACT_AT.
        for seq in 1..=60 {
            journal.record(&Record::Sent(msg(seq, &long)));
            journal.flush().unwrap();
        }
        assert!(journal.summary_len >= COMPACT_AT, "{}", journal.summary_len);
        journal.record(&Record::Sent(msg(61, "small")));
        journal.flush().unwrap();
        assert!(journal.len > journal.summary_len, "appended, not rewritten");
        assert_eq!(
            decode(&file_bytes(&journal)).saved.as_ref(),
            Some(journal.saved())
        );
    }

    #[test]
    fn an_abandoned_journal_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), "k", 7).unwrap();
        journal.record(&Record::Conversation(RESUME));
        journal.record(&Record::Sent(msg(1, "hi")));
        journal.flush().unwrap();
        // As a kill in the middle of a compaction would leave it.
        fs::write(fresh_path(journal.path()), b"half a compaction").unwrap();
        journal.abandon();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_half_done_compaction_is_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = fresh_path(&dir.path().join(file_name("k")));
        fs::write(&fresh, b"old text").unwrap();
        let (journal, _) = Journal::open(dir.path(), "k", 7).unwrap();
        assert!(!fresh.exists());
        drop(journal);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_second_duplex_cannot_share_a_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Journal::open(dir.path(), "k", 7).unwrap();
        let err = Journal::open(dir.path(), "k", 8).unwrap_err();
        assert!(matches!(err, JournalError::InUse { .. }), "{err}");
        drop(first);
        Journal::open(dir.path(), "k", 8).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn only_the_user_can_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let (journal, _) = Journal::open(&state, "k", 7).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(journal.path()), 0o600);
        assert_eq!(mode(&state), 0o700);
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(file_name("k")), b"something else entirely").unwrap();
        let (journal, restored) = Journal::open(dir.path(), "k", 7).unwrap();
        assert_eq!(restored, None);
        assert_eq!(journal.saved().session, 7);
        assert!(file_bytes(&journal).starts_with(MAGIC));
    }

    #[test]
    fn names_are_safe_file_names() {
        assert_eq!(file_name("join-[::1]:7878"), "join-___1__7878.journal");
        assert_eq!(file_name("join-../../x"), "join-.._.._x.journal");
        assert!(!file_name("a/b").contains('/'));
    }

    fn record() -> impl Strategy<Value = Record> {
        prop_oneof![
            (any::<u64>(), 1..100u64)
                .prop_map(|(session, next_seq)| Record::Session { session, next_seq }),
            (any::<u64>(), any::<u128>()).prop_map(|(conversation, token)| {
                Record::Conversation(Resume {
                    conversation,
                    token,
                })
            }),
            (1..100u64, ".{0,20}").prop_map(|(seq, text)| Record::Sent(msg(seq, &text))),
            (0..100u64).prop_map(|up_to| Record::Acked { up_to }),
            Just(Record::GaveUp),
            Just(Record::Ended),
        ]
    }

    proptest! {
        /// Whatever happened, the file read back says the same as memory,
        /// and a file cut anywhere reads as some earlier state, never an error.
        #[test]
        fn the_file_always_reads_back_as_the_state(
            batches in prop::collection::vec(prop::collection::vec(record(), 0..6), 0..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let (mut journal, _) = Journal::open(dir.path(), "k", 7).unwrap();
            for batch in &batches {
                for record in batch {
                    journal.record(record);
                }
                journal.flush().unwrap();
            }
            let bytes = file_bytes(&journal);
            let read = decode(&bytes);
            prop_assert_eq!(read.ignored, 0);
            prop_assert_eq!(read.saved.as_ref(), Some(journal.saved()));
            let cut = cut.index(bytes.len() + 1);
            let _ = decode(&bytes[..cut]);
        }
    }
}
