//! The journal's file: where it lives, who may read it (0600 in a 0700
//! directory of this user's, made private if need be; never another
//! user's, and never through a symbolic link), the lock that keeps one duplex per journal, appending,
//! compaction and removal.
//!
//! All the IO is here, kept apart from the bytes ([`super::format`]) and the
//! meaning ([`super::record`]) so that what can go wrong on a disk (a kill
//! mid-write, a second duplex, a newer duplex's file) is handled in one
//! place: a file is only ever replaced whole (written aside, then renamed),
//! and a file this duplex cannot read is never touched.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::format::{FormatError, MAGIC, decode, encode};
use super::record::{Record, Saved};

/// Size past which an append-only journal with undelivered messages is
/// rewritten to its summary (or twice the last summary's size, if that is
/// more: a large backlog is not rewritten at every write).
pub const COMPACT_AT: u64 = 1 << 20;

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
    /// The journal was written by a newer duplex, in a form this one must
    /// not read in part. It is left as it is, for that duplex.
    #[error(
        "{} was written by a newer duplex ({error}); it is left as it is: \
         a newer duplex can carry on from it",
        path.display()
    )]
    NewerFormat {
        /// The journal.
        path: PathBuf,
        /// What this duplex does not know.
        #[source]
        error: FormatError,
    },
    /// The state directory is not safe to keep a journal in: owned by
    /// someone else (who could read or replace what is in it). A directory
    /// of ours that others may use is made private instead.
    #[error("{} {why}; duplex keeps no journal there", path.display())]
    Unsafe {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The journal is damaged before its end. It is left as it is: what it
    /// holds may still matter to whoever looks at it.
    #[error(
        "{} is {error}; it is left as it is: move it away to start afresh",
        path.display()
    )]
    Damaged {
        /// The journal.
        path: PathBuf,
        /// Where and how.
        #[source]
        error: FormatError,
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
    /// something to keep, that. A new journal starts with `session`. A
    /// journal this duplex cannot read ([`JournalError::NewerFormat`],
    /// [`JournalError::Damaged`]) is not touched; a file that is not a
    /// journal at all is replaced.
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
        check_private_dir(dir)?;
        let path = dir.join(file_name(key));
        let mut file = lock_at(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(&path))?;
        // A file this duplex cannot read is not touched: the lock goes with
        // `file`, and nothing was written.
        let found = decode(&bytes).map_err(|error| {
            if error.is_newer() {
                JournalError::NewerFormat {
                    path: path.clone(),
                    error,
                }
            } else {
                JournalError::Damaged {
                    path: path.clone(),
                    error,
                }
            }
        })?;
        // Left by a run killed in the middle of a compaction: the journal
        // itself is still whole, and this must not keep old text around.
        remove_if_there(&fresh_path(&path));
        if found.ignored > 0 && !bytes.is_empty() {
            tracing::info!(
                path = %path.display(),
                ignored = found.ignored,
                "journal: ignored an incomplete end, or a file that is not a journal"
            );
        }
        if found.skipped > 0 {
            tracing::info!(
                path = %path.display(),
                skipped = found.skipped,
                "journal: skipped optional records of a newer duplex"
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
        // Whatever is there (a kill's leftover, or a planted link) goes,
        // and the new file is created, never opened: a link is not followed.
        remove_if_there(&fresh);
        let mut file = private_options()
            .create_new(true)
            .append(true)
            .open(&fresh)?;
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
        self.saved.inbox.clear();
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

/// Options for the journal's files: created 0600, and a symbolic link at
/// the path is never followed (opening it fails instead).
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options
}

/// Refuses a state directory owned by someone else, and makes one of ours
/// private (0700) if others may use it.
#[cfg(unix)]
fn check_private_dir(dir: &Path) -> Result<(), JournalError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let io_err = |error| JournalError::Io {
        path: dir.to_owned(),
        error,
    };
    let meta = fs::metadata(dir).map_err(io_err)?;
    let me = rustix::process::geteuid().as_raw();
    if !meta.is_dir() {
        return Err(JournalError::Unsafe {
            path: dir.to_owned(),
            why: "is not a directory".to_owned(),
        });
    }
    if meta.uid() != me {
        return Err(JournalError::Unsafe {
            path: dir.to_owned(),
            why: format!("belongs to user {}, not to this user ({me})", meta.uid()),
        });
    }
    if meta.mode() & 0o077 != 0 {
        tracing::warn!(
            path = %dir.display(),
            mode = format!("{:o}", meta.mode() & 0o777),
            "journal: the state directory was open to others; made private (0700)"
        );
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err)?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_dir(_: &Path) -> Result<(), JournalError> {
    Ok(())
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
    use crate::journal::format::testing::{msg, raw_record, record, v1_file};
    use crate::protocol::Resume;

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
        let found = decode(&bytes).unwrap().saved.unwrap();
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
        let found = decode(&bytes).unwrap().saved.unwrap();
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
        let found = decode(&bytes).unwrap().saved.unwrap();
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
            decode(&file_bytes(&journal)).unwrap().saved.as_ref(),
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

    #[cfg(unix)]
    #[test]
    fn a_state_directory_open_to_others_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let state = root.path().join("duplex");
        fs::create_dir(&state).unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o777)).unwrap();
        let (_journal, _) = Journal::open(&state, "k", 7).unwrap();
        let mode = fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn a_state_directory_of_another_user_is_refused() {
        if !rustix::process::geteuid().is_root() {
            return; // only root can give a directory away
        }
        let root = tempfile::tempdir().unwrap();
        let state = root.path().join("duplex");
        fs::create_dir(&state).unwrap();
        std::os::unix::fs::chown(&state, Some(12_345), Some(12_345)).unwrap();
        let err = Journal::open(&state, "k", 7).map(|_| ()).unwrap_err();
        assert!(matches!(err, JournalError::Unsafe { .. }), "{err}");
        assert!(err.to_string().contains("belongs to user 12345"), "{err}");
        assert_eq!(fs::read_dir(&state).unwrap().count(), 0, "nothing written");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_planted_at_the_journal_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        fs::write(&target, b"keep me").unwrap();
        let path = dir.path().join(file_name("k"));
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(Journal::open(dir.path(), "k", 7).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"keep me");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_planted_at_the_compaction_file_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        fs::write(&target, b"keep me").unwrap();
        let (mut journal, _) = Journal::open(dir.path(), "k", 7).unwrap();
        journal.record(&Record::Conversation(RESUME));
        journal.record(&Record::Sent(msg(1, "hi")));
        journal.flush().unwrap();
        std::os::unix::fs::symlink(&target, fresh_path(journal.path())).unwrap();
        // All delivered: the journal is rewritten through the fresh path.
        journal.record(&Record::Acked { up_to: 1 });
        journal.flush().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"keep me");
        let found = decode(&file_bytes(&journal)).unwrap().saved.unwrap();
        assert!(found.outbox.is_empty());
        assert!(!fs::symlink_metadata(journal.path()).unwrap().is_symlink());
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

    /// Writes `bytes` as the journal for "k" in `dir`, returning its path.
    fn left_behind(dir: &Path, bytes: &[u8]) -> PathBuf {
        let path = dir.join(file_name("k"));
        fs::write(&path, bytes).unwrap();
        path
    }

    fn journal_file(records: &[Record]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        for record in records {
            encode(record, &mut bytes);
        }
        bytes
    }

    #[test]
    fn a_newer_duplex_s_journal_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = journal_file(&[
            Record::Session {
                session: 5,
                next_seq: 1,
            },
            Record::Conversation(RESUME),
        ]);
        raw_record(13, b"a kind from the future", &mut bytes);
        encode(&Record::Sent(msg(1, "undelivered")), &mut bytes);
        for bytes in [bytes, b"DUPLEXJ3 a later version".to_vec()] {
            let path = left_behind(dir.path(), &bytes);
            // Twice: the first refusal leaves it as it was, lock released.
            for _ in 0..2 {
                let err = Journal::open(dir.path(), "k", 7).unwrap_err();
                assert!(matches!(err, JournalError::NewerFormat { .. }), "{err}");
                assert!(err.to_string().contains("newer duplex"), "{err}");
                assert_eq!(fs::read(&path).unwrap(), bytes);
            }
        }
    }

    #[test]
    fn a_journal_damaged_in_the_middle_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = journal_file(&[Record::Session {
            session: 5,
            next_seq: 1,
        }]);
        bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        encode(&Record::Sent(msg(1, "undelivered")), &mut bytes);
        let path = left_behind(dir.path(), &bytes);
        let err = Journal::open(dir.path(), "k", 7).unwrap_err();
        assert!(matches!(err, JournalError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains("damaged at byte 15"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn a_newer_duplex_s_optional_records_are_read_past_then_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = journal_file(&[
            Record::Session {
                session: 5,
                next_seq: 1,
            },
            Record::Conversation(RESUME),
        ]);
        raw_record(16, b"something a newer duplex noted", &mut bytes);
        encode(&Record::Sent(msg(1, "undelivered")), &mut bytes);
        left_behind(dir.path(), &bytes);
        let (journal, restored) = Journal::open(dir.path(), "k", 7).unwrap();
        let restored = restored.unwrap();
        assert_eq!(restored.outbox, [msg(1, "undelivered")]);
        assert_eq!(restored.conversation, Some(RESUME));
        let now = file_bytes(&journal);
        assert!(!find(&now, b"a newer duplex noted"));
        assert_eq!(decode(&now).unwrap().saved, Some(restored));
    }

    #[test]
    fn a_version_1_journal_is_restored_and_written_again_as_version_2() {
        let dir = tempfile::tempdir().unwrap();
        let records = [
            Record::Session {
                session: 5,
                next_seq: 1,
            },
            Record::Conversation(RESUME),
            Record::Sent(msg(1, "delivered")),
            Record::Sent(msg(2, "undelivered")),
            Record::Acked { up_to: 1 },
        ];
        left_behind(dir.path(), &v1_file(&records));
        let (mut journal, restored) = Journal::open(dir.path(), "k", 7).unwrap();
        let restored = restored.unwrap();
        assert_eq!(restored.session, 5);
        assert_eq!(restored.conversation, Some(RESUME));
        assert_eq!(restored.outbox, [msg(2, "undelivered")]);
        let now = file_bytes(&journal);
        assert!(now.starts_with(b"DUPLEXJ2"));
        assert!(!find(&now, b"\x09delivered"), "delivered text dropped");
        assert_eq!(decode(&now).unwrap().saved.as_ref(), Some(&restored));
        // And carries on in version 2.
        journal.record(&Record::Sent(msg(3, "new")));
        journal.flush().unwrap();
        let read = decode(&file_bytes(&journal)).unwrap();
        assert_eq!(read.saved.as_ref(), Some(journal.saved()));
        assert_eq!(journal.saved().outbox.len(), 2);
    }

    #[test]
    fn names_are_safe_file_names() {
        assert_eq!(file_name("join-[::1]:7878"), "join-___1__7878.journal");
        assert_eq!(file_name("join-../../x"), "join-.._.._x.journal");
        assert!(!file_name("a/b").contains('/'));
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
            let read = decode(&bytes).unwrap();
            prop_assert_eq!(read.ignored, 0);
            prop_assert_eq!(read.saved.as_ref(), Some(journal.saved()));
            let cut = cut.index(bytes.len() + 1);
            prop_assert!(decode(&bytes[..cut]).is_ok());
        }
    }
}
