//! What one side must not forget when its process dies: the journal.
//!
//! A killed duplex (SIGKILL, out of memory, a closed laptop that never came
//! back) would otherwise lose what only it knew: its place in the
//! conversation (the resume token) and the messages it had not yet got
//! acknowledged; and would show again the messages it had taken in but
//! not yet acknowledged, which the peer then sends again. The journal keeps
//! exactly that (for the last, only the newest id taken in from each
//! sending session, written before the message is shown or printed), and
//! nothing else, in one
//! small file per conversation under the user's state directory
//! (`$XDG_STATE_HOME/duplex`, or `~/.local/state/duplex`), readable only by
//! the user (0600 in a 0700 directory). A duplex started again for the same
//! host picks it up: it resumes the conversation and sends what was never
//! delivered, and the peer drops what it already has by id.
//!
//! The file is a header and then length-prefixed [`Record`]s, appended as
//! things happen (at most one `write` per event handled). Each record
//! carries a numbered kind whose parity says whether a duplex that does not
//! know it may skip it, so a journal written by a newer duplex is read in
//! part only where that is safe, and otherwise refused and left alone
//! ([`JournalError::NewerFormat`]); never read as a shorter file. A record
//! cut short by a kill is ignored when reading. [`format`] describes the
//! bytes and which kinds are required. Message text stays in the file only
//! while some message is undelivered: once every message is acknowledged
//! the file is rewritten to its few-byte summary (and when it grows past 1
//! MiB, to what is still undelivered). When the conversation ends on
//! purpose (`exit`, Ctrl-C, SIGTERM, the peer leaving) nothing is left to
//! keep and the file is removed; a hang-up (SIGHUP: the terminal or the SSH
//! session went away) keeps it. An exclusive lock keeps two duplex programs
//! from sharing one journal (the second runs without one).
//!
//! What is not covered: the history shown on screen is not kept (a
//! restarted duplex shows what arrives from then on), and the file is not
//! synced to the disk, so a crash of the whole machine may lose the newest
//! records (a killed process loses nothing: the kernel has the data).
//!
//! Three parts: [`record`] (what is remembered, pure), [`format`] (bytes
//! and versions, pure) and [`file`] (the locked file on disk).

pub mod file;
pub mod format;
pub mod record;

pub use file::{COMPACT_AT, Journal, JournalError, default_dir, file_name};
pub use format::{Decoded, FormatError, MAGIC, decode, encode};
pub use record::{Record, Saved};
