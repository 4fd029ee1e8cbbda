//! Transcripts people keep: `--log DIR` appends each conversation to a
//! text file as it goes, and `/save FILE` writes the whole history kept on
//! screen; both in one grep-able line format.
//!
//! One line per message or event: the time (ISO 8601, with the offset),
//! the name, the text, separated by tabs. The text is sanitized as on
//! screen (a tab becomes a space); then a tab, a newline, a carriage return
//! and a backslash left in the name or text are written `\t`, `\n`, `\r`
//! and `\\`, so one message is always one line of three fields. Events (joined, left, …) have the name `*`; a
//! participant who calls themselves `*` is written `\*`, so a `*` line is
//! always duplex's own.
//!
//! Two parts: [`line`] (the format and the file names, pure) and [`file`]
//! (the private files on disk: 0600, in a 0700 folder made if missing,
//! never through a symbolic link).

pub mod file;
pub mod line;

pub use file::{Logbook, TranscriptError, make_log_dir, resolve, save};
pub use line::{EVENT_NAME, escape, file_name, line};
