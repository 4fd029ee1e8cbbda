//! The journal's bytes, pure: the header, the framing of records, and how
//! a file written by another version of duplex is read. No IO here.
//!
//! A journal outlives the program that wrote it, so a file may be read by
//! a duplex older or newer than the one that wrote it. The format is built
//! so that an older duplex never takes a newer file for a shorter one: it
//! reads what it knows, skips what it may skip, and refuses the rest with
//! an error that says why.
//!
//! # Format, version 2
//!
//! The 8-byte header `DUPLEXJ2`, then records. Each record is its length
//! (4 bytes, unsigned, little-endian: the bytes that follow, at most
//! [`MAX_RECORD_LEN`]), then its *kind* (a postcard varint `u32`), then the
//! kind's body (postcard). Kinds are numbered here, not by serde's variant
//! order, and their parity says what a reader that does not know one must
//! do: an **even** kind is *optional* (skipped, which the length makes
//! possible), an **odd** kind is *required* (the file is refused as
//! written by a newer duplex, and left as it is). A body longer than the
//! reader expects is read and its extra bytes ignored, so a newer duplex
//! may append fields that an older one can do without; a field whose loss
//! changes the meaning needs a new required kind instead.
//!
//! | kind | record | why |
//! | --- | --- | --- |
//! | 1 | [`Record::Session`] `{ session: u64, next_seq: u64 }` | required: without it ids would be reused; it also begins every journal |
//! | 3 | [`Record::Conversation`] `{ conversation: u64, token: u128 }` | required: without it the conversation could not be resumed |
//! | 5 | [`Record::Sent`] `{ session: u64, seq: u64, sent_at_ms: i64, text: string }` | required: an undelivered message must not be lost unnoticed |
//! | 7 | [`Record::Acked`] `{ up_to: u64 }` | required: without it delivered messages would be sent again |
//! | 9 | [`Record::GaveUp`] (empty) | required: without it messages shown as not delivered would go out after all |
//! | 11 | [`Record::Ended`] (empty) | required: without it an ended conversation would be resumed |
//! | 14 | [`Record::Code`] `{ code: string }` | optional: the secret code to come back with once the host's single-use code changed; a duplex that skips it gives the code it was started with, which the host then refuses (its user is told) |
//! | 12 | [`Record::Received`] `{ session: u64, seq: u64 }` | optional: the newest message taken in from that sending session (ids only, never text); a duplex that skips it shows again what the peer resends after a restart, as releases before it did, and loses nothing |
//!
//! Every kind but 12 and 14 is required: each changes what a restarted duplex
//! sends or resumes. Even kinds are for what an older duplex can safely
//! drop (it drops them at its next compaction): 12 only keeps repeats off
//! the screen (and 14 only saves its user typing the new code), and refusing the whole file for it would lose the resume
//! token and every undelivered message.
//!
//! Reading stops without complaint only at the end of the file: a record
//! cut short there (fewer bytes than its length says, or only zero bytes
//! left, as a crash of the machine may leave) is what a kill leaves, and is
//! ignored. Anything else that does not read (a length past the limit, a
//! record with no kind, a body that does not decode, a known record before
//! the session) makes the file damaged, an error. There is no checksum: a
//! damaged length that happens to point past the end reads as a cut end.
//!
//! # Version 1
//!
//! The previous release wrote `DUPLEXJ1`, then the same 4-byte lengths
//! around postcard `Record`s in serde's variant order. Such a file is still
//! read (as that release read it: up to the first record that does not
//! read), so undelivered messages survive an update; it is written again
//! as version 2 when the journal is opened. Any other `DUPLEXJ` version is
//! refused and left as it is.

use serde::{Deserialize, Serialize};

use super::record::{Record, Saved};
use crate::protocol::{ChatMessage, MessageId, Resume};

/// The first bytes of every journal file this duplex writes: the format
/// and its version.
pub const MAGIC: &[u8; 8] = b"DUPLEXJ2";

/// The header of the previous release's journals, still read.
const MAGIC_V1: &[u8; 8] = b"DUPLEXJ1";

/// What every version's header starts with; the byte after it is the version.
const FAMILY: &[u8; 7] = b"DUPLEXJ";

/// Longest record (kind and body) written or read: a message at the wire's
/// limit fits many times over. Part of the format: a reader takes a longer
/// one for damage, not for a cut end.
pub const MAX_RECORD_LEN: usize = 1 << 20;

/// Bytes of a record's length.
const LEN_BYTES: usize = 4;

const SESSION: u32 = 1;
const CONVERSATION: u32 = 3;
const SENT: u32 = 5;
const ACKED: u32 = 7;
const GAVE_UP: u32 = 9;
const ENDED: u32 = 11;
const RECEIVED: u32 = 12;
const CODE: u32 = 14;

/// Whether a reader that does not know `kind` must refuse the file.
fn is_required(kind: u32) -> bool {
    kind % 2 == 1
}

#[derive(Serialize, Deserialize)]
struct SessionBody {
    session: u64,
    next_seq: u64,
}

#[derive(Serialize, Deserialize)]
struct ConversationBody {
    conversation: u64,
    token: u128,
}

#[derive(Serialize, Deserialize)]
struct SentBody<'a> {
    session: u64,
    seq: u64,
    sent_at_ms: i64,
    text: &'a str,
}

#[derive(Serialize, Deserialize)]
struct AckedBody {
    up_to: u64,
}

#[derive(Serialize, Deserialize)]
struct ReceivedBody {
    session: u64,
    seq: u64,
}

/// A record's kind and body, as postcard bytes.
fn kind_and_body(record: &Record) -> postcard::Result<Vec<u8>> {
    match record {
        Record::Session { session, next_seq } => postcard::to_stdvec(&(
            SESSION,
            SessionBody {
                session: *session,
                next_seq: *next_seq,
            },
        )),
        Record::Conversation(resume) => postcard::to_stdvec(&(
            CONVERSATION,
            ConversationBody {
                conversation: resume.conversation,
                token: resume.token,
            },
        )),
        Record::Sent(msg) => {
            let body = SentBody {
                session: msg.id.session,
                seq: msg.id.seq,
                sent_at_ms: msg.sent_at_ms,
                text: &msg.text,
            };
            // An action (`/me`) appends a flag; a message is as it was.
            if msg.action {
                postcard::to_stdvec(&(SENT, body, true))
            } else {
                postcard::to_stdvec(&(SENT, body))
            }
        }
        Record::Acked { up_to } => postcard::to_stdvec(&(ACKED, AckedBody { up_to: *up_to })),
        Record::GaveUp => postcard::to_stdvec(&GAVE_UP),
        Record::Ended => postcard::to_stdvec(&ENDED),
        Record::Received(id) => postcard::to_stdvec(&(
            RECEIVED,
            ReceivedBody {
                session: id.session,
                seq: id.seq,
            },
        )),
        Record::Code(code) => postcard::to_stdvec(&(CODE, code)),
    }
}

/// Appends one record, framed, to `out` (after a [`MAGIC`] header).
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    match kind_and_body(record) {
        Ok(bytes) if bytes.len() <= MAX_RECORD_LEN => {
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        // Not expected (a message is far smaller), but a reader would take
        // it for damage: never write one.
        Ok(bytes) => tracing::warn!(len = bytes.len(), "journal record too long, not written"),
        // Not expected (a record is plain data), but never half a record.
        Err(err) => tracing::warn!(%err, "journal record not encoded"),
    }
}

/// What reading a journal found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The state, if the file held a journal.
    pub saved: Option<Saved>,
    /// Bytes at the end that were not a whole record (cut short by a kill),
    /// or the whole file if it is not a journal.
    pub ignored: usize,
    /// Records of optional kinds this duplex does not know, skipped.
    pub skipped: usize,
}

/// Why a journal's bytes cannot be used. The file is then left as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// A header of a version this duplex does not read.
    #[error("journal format version {}, which this duplex does not read", char::from(*version).escape_default())]
    Version {
        /// The byte after `DUPLEXJ`.
        version: u8,
    },
    /// A required record of a kind this duplex does not know.
    #[error(
        "record kind {kind} at byte {offset}, which this duplex does not know and must not skip"
    )]
    RequiredKind {
        /// The record's kind (odd).
        kind: u32,
        /// Where the record starts in the file.
        offset: usize,
    },
    /// Bytes in the middle that are not a record.
    #[error("damaged at byte {offset}: {reason}")]
    Damaged {
        /// Where the record starts in the file.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl FormatError {
    /// Whether the file was written by a newer duplex (rather than damaged).
    pub fn is_newer(&self) -> bool {
        !matches!(self, Self::Damaged { .. })
    }
}

/// Reads a journal's bytes. A file that is not a journal at all reads as
/// nothing (`saved: None`); one written by a newer duplex, or damaged
/// before its end, is an error.
pub fn decode(bytes: &[u8]) -> Result<Decoded, FormatError> {
    if let Some(records) = bytes.strip_prefix(MAGIC.as_slice()) {
        return decode_v2(records, MAGIC.len());
    }
    if let Some(records) = bytes.strip_prefix(MAGIC_V1.as_slice()) {
        return Ok(v1::decode(records));
    }
    if let Some((&version, _)) = bytes
        .strip_prefix(FAMILY.as_slice())
        .and_then(<[u8]>::split_first)
    {
        return Err(FormatError::Version { version });
    }
    Ok(Decoded {
        saved: None,
        ignored: bytes.len(),
        skipped: 0,
    })
}

/// Reads version 2 records; `start` is where `records` begins in the file.
fn decode_v2(records: &[u8], start: usize) -> Result<Decoded, FormatError> {
    let mut rest = records;
    let mut saved: Option<Saved> = None;
    let mut skipped = 0;
    let ignored = loop {
        let offset = start + (records.len() - rest.len());
        let damaged = |reason| FormatError::Damaged { offset, reason };
        // The end, or what a kill (or a machine crash) left of the last write.
        if rest.iter().all(|&byte| byte == 0) {
            break rest.len();
        }
        let Some((len, after)) = rest.split_first_chunk::<LEN_BYTES>() else {
            break rest.len();
        };
        let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
        if len > MAX_RECORD_LEN {
            return Err(damaged("a record longer than any duplex writes"));
        }
        let Some((record, after)) = after.split_at_checked(len) else {
            break rest.len();
        };
        match read_record(record) {
            Ok(Some(record)) => match (&mut saved, &record) {
                (None, Record::Session { session, .. }) => {
                    let mut fresh = Saved::new(*session);
                    fresh.apply(&record);
                    saved = Some(fresh);
                }
                (None, _) => return Err(damaged("a record before the session")),
                (Some(saved), record) => saved.apply(record),
            },
            Ok(None) => skipped += 1,
            Err(Unread::Required(kind)) => return Err(FormatError::RequiredKind { kind, offset }),
            Err(Unread::Damaged(reason)) => return Err(damaged(reason)),
        }
        rest = after;
    };
    Ok(Decoded {
        saved,
        ignored,
        skipped,
    })
}

/// Why one whole record was not read.
enum Unread {
    Required(u32),
    Damaged(&'static str),
}

/// One record's kind and body: `None` for an optional kind this duplex does
/// not know. Bytes after the body (a newer duplex's fields) are ignored.
fn read_record(bytes: &[u8]) -> Result<Option<Record>, Unread> {
    fn body<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Unread> {
        postcard::take_from_bytes(bytes)
            .map(|(body, _newer_fields)| body)
            .map_err(|_| Unread::Damaged("a body that does not read"))
    }
    let (kind, bytes) = postcard::take_from_bytes::<u32>(bytes)
        .map_err(|_| Unread::Damaged("a record without a kind"))?;
    let record = match kind {
        SESSION => {
            let SessionBody { session, next_seq } = body(bytes)?;
            Record::Session { session, next_seq }
        }
        CONVERSATION => {
            let ConversationBody {
                conversation,
                token,
            } = body(bytes)?;
            Record::Conversation(Resume {
                conversation,
                token,
            })
        }
        SENT => {
            let (
                SentBody {
                    session,
                    seq,
                    sent_at_ms,
                    text,
                },
                appended,
            ) = postcard::take_from_bytes::<SentBody<'_>>(bytes)
                .map_err(|_| Unread::Damaged("a body that does not read"))?;
            // Appended after the body: whether it is an action (`/me`);
            // absent in an earlier duplex's records.
            let action = postcard::take_from_bytes::<bool>(appended)
                .map(|(action, _)| action)
                .unwrap_or(false);
            Record::Sent(ChatMessage {
                id: MessageId { session, seq },
                sent_at_ms,
                text: text.to_owned(),
                action,
            })
        }
        ACKED => {
            let AckedBody { up_to } = body(bytes)?;
            Record::Acked { up_to }
        }
        GAVE_UP => Record::GaveUp,
        ENDED => Record::Ended,
        RECEIVED => {
            let ReceivedBody { session, seq } = body(bytes)?;
            Record::Received(MessageId { session, seq })
        }
        CODE => Record::Code(body(bytes)?),
        kind if is_required(kind) => return Err(Unread::Required(kind)),
        _ => return Ok(None),
    };
    Ok(Some(record))
}

/// The previous release's format, frozen: read only.
mod v1 {
    use serde::Deserialize;

    use super::{Decoded, LEN_BYTES, MAX_RECORD_LEN};
    use crate::journal::record::{Record, Saved};
    use crate::protocol::{ChatMessage, MessageId, Resume};

    /// Version 1's records, in its serde variant order.
    #[derive(Deserialize)]
    #[cfg_attr(test, derive(serde::Serialize))]
    pub(super) enum V1Record {
        Session { session: u64, next_seq: u64 },
        Conversation(V1Resume),
        Sent(V1Message),
        Acked { up_to: u64 },
        GaveUp,
        Ended,
    }

    #[derive(Deserialize)]
    #[cfg_attr(test, derive(serde::Serialize))]
    pub(super) struct V1Resume {
        pub(super) conversation: u64,
        pub(super) token: u128,
    }

    #[derive(Deserialize)]
    #[cfg_attr(test, derive(serde::Serialize))]
    pub(super) struct V1Message {
        pub(super) session: u64,
        pub(super) seq: u64,
        pub(super) sent_at_ms: i64,
        pub(super) text: String,
    }

    impl From<V1Record> for Record {
        fn from(record: V1Record) -> Self {
            match record {
                V1Record::Session { session, next_seq } => Self::Session { session, next_seq },
                V1Record::Conversation(V1Resume {
                    conversation,
                    token,
                }) => Self::Conversation(Resume {
                    conversation,
                    token,
                }),
                V1Record::Sent(V1Message {
                    session,
                    seq,
                    sent_at_ms,
                    text,
                }) => Self::Sent(ChatMessage {
                    id: MessageId { session, seq },
                    sent_at_ms,
                    text,
                    action: false,
                }),
                V1Record::Acked { up_to } => Self::Acked { up_to },
                V1Record::GaveUp => Self::GaveUp,
                V1Record::Ended => Self::Ended,
            }
        }
    }

    /// Reads version 1 records (after the header) as that release did: up
    /// to the first one that is cut short or does not read.
    pub(super) fn decode(bytes: &[u8]) -> Decoded {
        let mut rest = bytes;
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
            skipped: 0,
        }
    }

    fn next_record(bytes: &[u8]) -> Option<(Record, &[u8])> {
        let (len, rest) = bytes.split_first_chunk::<LEN_BYTES>()?;
        let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
        if len > MAX_RECORD_LEN {
            return None;
        }
        let (body, rest) = rest.split_at_checked(len)?;
        let record = postcard::from_bytes::<V1Record>(body).ok()?;
        Some((record.into(), rest))
    }
}

/// Building blocks for tests here and in [`super::file`]: records of kinds
/// this build does not know, bodies with fields it does not know, version 1
/// files.
#[cfg(test)]
pub(super) mod testing {
    use proptest::prelude::*;

    use super::v1::{V1Message, V1Record, V1Resume};
    use super::{LEN_BYTES, MAGIC_V1, Record, kind_and_body};
    use crate::protocol::{ChatMessage, MessageId, Resume};

    pub(in crate::journal) fn msg(seq: u64, text: &str) -> ChatMessage {
        ChatMessage {
            id: MessageId { session: 7, seq },
            sent_at_ms: 1_000 + i64::try_from(seq).unwrap(),
            text: text.to_owned(),
            action: false,
        }
    }

    /// Appends a record of any `kind` with any `body`.
    pub(in crate::journal) fn raw_record(kind: u32, body: &[u8], out: &mut Vec<u8>) {
        let mut bytes = postcard::to_stdvec(&kind).unwrap();
        bytes.extend_from_slice(body);
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&bytes);
    }

    /// Appends `record` as a newer duplex might: with `extra` bytes after
    /// its body.
    pub(in crate::journal) fn with_extra(record: &Record, extra: &[u8], out: &mut Vec<u8>) {
        let mut bytes = kind_and_body(record).unwrap();
        // A newer duplex writes every field this one knows before its own:
        // a message's action flag too, which this one leaves out when false.
        if let Record::Sent(msg) = record
            && !msg.action
            && !extra.is_empty()
        {
            bytes.push(0);
        }
        bytes.extend_from_slice(extra);
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&bytes);
    }

    /// A journal as the previous release wrote it.
    pub(in crate::journal) fn v1_file(records: &[Record]) -> Vec<u8> {
        let mut out = MAGIC_V1.to_vec();
        for record in records {
            let v1 = match record.clone() {
                Record::Session { session, next_seq } => V1Record::Session { session, next_seq },
                Record::Conversation(Resume {
                    conversation,
                    token,
                }) => V1Record::Conversation(V1Resume {
                    conversation,
                    token,
                }),
                Record::Sent(msg) => V1Record::Sent(V1Message {
                    session: msg.id.session,
                    seq: msg.id.seq,
                    sent_at_ms: msg.sent_at_ms,
                    text: msg.text,
                }),
                Record::Acked { up_to } => V1Record::Acked { up_to },
                Record::GaveUp => V1Record::GaveUp,
                Record::Ended => V1Record::Ended,
                // Version 1 had no such record.
                Record::Received(_) | Record::Code(_) => continue,
            };
            let bytes = postcard::to_stdvec(&v1).unwrap();
            let len = u32::try_from(bytes.len()).unwrap().to_le_bytes();
            assert_eq!(len.len(), LEN_BYTES);
            out.extend_from_slice(&len);
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Any record this build knows.
    pub(in crate::journal) fn record() -> impl Strategy<Value = Record> {
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
            (any::<u64>(), any::<u64>())
                .prop_map(|(session, seq)| Record::Received(MessageId { session, seq })),
            "[a-z-]{0,30}".prop_map(Record::Code),
        ]
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::testing::{msg, raw_record, record, v1_file, with_extra};
    use super::*;

    const RESUME: Resume = Resume {
        conversation: 3,
        token: 99,
    };

    const SESSION_7: Record = Record::Session {
        session: 7,
        next_seq: 1,
    };

    fn every_kind() -> Vec<Record> {
        vec![
            Record::Session {
                session: u64::MAX,
                next_seq: 5,
            },
            Record::Conversation(RESUME),
            Record::Sent(msg(5, "hé\nthere")),
            Record::Acked { up_to: 4 },
            Record::GaveUp,
            Record::Ended,
            Record::Received(MessageId { session: 9, seq: 3 }),
        ]
    }

    fn file(records: &[Record]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for record in records {
            encode(record, &mut out);
        }
        out
    }

    fn state(records: &[Record]) -> Option<Saved> {
        let (first, rest) = records.split_first()?;
        let Record::Session { session, .. } = first else {
            return None;
        };
        let mut saved = Saved::new(*session);
        for record in std::iter::once(first).chain(rest) {
            saved.apply(record);
        }
        Some(saved)
    }

    fn saved(bytes: &[u8]) -> Option<Saved> {
        decode(bytes).unwrap().saved
    }

    #[test]
    fn every_kind_reads_back_as_itself() {
        for record in every_kind() {
            let mut bytes = Vec::new();
            encode(&record, &mut bytes);
            let (len, body) = bytes.split_first_chunk::<4>().unwrap();
            assert_eq!(
                usize::try_from(u32::from_le_bytes(*len)).unwrap(),
                body.len()
            );
            assert!(matches!(read_record(body), Ok(Some(read)) if read == record));
        }
        let records = every_kind();
        let read = decode(&file(&records)).unwrap();
        assert_eq!((read.ignored, read.skipped), (0, 0));
        assert_eq!(read.saved, state(&records));
    }

    /// An action (`/me`) keeps its flag, appended after the body; a
    /// message's record is as it always was.
    #[test]
    fn an_action_keeps_its_flag() {
        let action = Record::Sent(ChatMessage {
            action: true,
            ..msg(6, "waves")
        });
        let plain = Record::Sent(msg(6, "waves"));
        let (with, without) = (
            kind_and_body(&action).unwrap(),
            kind_and_body(&plain).unwrap(),
        );
        assert_eq!(with.len(), without.len() + 1);
        assert!(matches!(read_record(&with), Ok(Some(read)) if read == action));
        assert!(matches!(read_record(&without), Ok(Some(read)) if read == plain));
    }

    /// The bytes on disk are part of the format: they must not change by
    /// accident (a renamed or reordered variant, a changed wire type).
    #[test]
    fn the_bytes_are_as_documented() {
        let bytes = file(&[
            Record::Session {
                session: 7,
                next_seq: 2,
            },
            Record::Conversation(RESUME),
            Record::Sent(ChatMessage {
                id: MessageId { session: 7, seq: 1 },
                sent_at_ms: -1,
                text: "hi".to_owned(),
                action: false,
            }),
            Record::Acked { up_to: 1 },
            Record::GaveUp,
            Record::Ended,
            Record::Received(MessageId { session: 9, seq: 3 }),
        ]);
        let mut expected = b"DUPLEXJ2".to_vec();
        expected.extend_from_slice(&[3, 0, 0, 0, 1, 7, 2]);
        expected.extend_from_slice(&[3, 0, 0, 0, 3, 3, 99]);
        expected.extend_from_slice(&[7, 0, 0, 0, 5, 7, 1, 1, 2, b'h', b'i']);
        expected.extend_from_slice(&[2, 0, 0, 0, 7, 1]);
        expected.extend_from_slice(&[1, 0, 0, 0, 9]);
        expected.extend_from_slice(&[1, 0, 0, 0, 11]);
        expected.extend_from_slice(&[3, 0, 0, 0, 12, 9, 3]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn unknown_optional_records_are_skipped() {
        let mut bytes = MAGIC.to_vec();
        raw_record(2, b"before the session", &mut bytes);
        encode(&SESSION_7, &mut bytes);
        raw_record(4, &[], &mut bytes);
        encode(&Record::Conversation(RESUME), &mut bytes);
        raw_record(1_000_000, &[0xff; 300], &mut bytes);
        encode(&Record::Sent(msg(1, "kept")), &mut bytes);
        raw_record(0, b"x", &mut bytes);
        let read = decode(&bytes).unwrap();
        assert_eq!((read.ignored, read.skipped), (0, 4));
        assert_eq!(
            read.saved,
            state(&[
                SESSION_7,
                Record::Conversation(RESUME),
                Record::Sent(msg(1, "kept"))
            ])
        );
    }

    #[test]
    fn an_unknown_required_record_refuses_the_file() {
        let mut bytes = file(&[SESSION_7, Record::Conversation(RESUME)]);
        let offset = bytes.len();
        raw_record(13, b"something new", &mut bytes);
        encode(&Record::Sent(msg(1, "after")), &mut bytes);
        let err = decode(&bytes).unwrap_err();
        assert_eq!(err, FormatError::RequiredKind { kind: 13, offset });
        assert!(err.is_newer());
        assert!(err.to_string().contains("kind 13"), "{err}");
    }

    #[test]
    fn another_version_is_refused() {
        let err = decode(b"DUPLEXJ3 whatever follows").unwrap_err();
        assert_eq!(err, FormatError::Version { version: b'3' });
        assert!(err.is_newer());
        assert!(err.to_string().contains("version 3"), "{err}");
        // Not a journal at all: nothing to read, nothing refused.
        for other in [&b""[..], b"DUPLEX", b"DUPLEXJ", b"hello, world"] {
            let read = decode(other).unwrap();
            assert_eq!((read.saved, read.ignored), (None, other.len()));
        }
    }

    #[test]
    fn fields_a_newer_duplex_appended_are_ignored() {
        let mut bytes = MAGIC.to_vec();
        for record in every_kind() {
            with_extra(&record, &[1, 2, 3, 0xff], &mut bytes);
        }
        assert_eq!(saved(&bytes), state(&every_kind()));
    }

    #[test]
    fn a_record_cut_short_at_the_end_is_ignored() {
        let whole = file(&[SESSION_7, Record::Conversation(RESUME)]);
        let mut bytes = whole.clone();
        encode(&Record::Sent(msg(1, "cut short")), &mut bytes);
        for cut in whole.len()..bytes.len() {
            let read = decode(&bytes[..cut]).unwrap();
            assert_eq!(read.ignored, cut - whole.len());
            assert_eq!(read.saved, saved(&whole));
        }
        // What a crash of the machine may leave: zeros where the data was.
        let mut zeros = whole.clone();
        zeros.extend_from_slice(&[0; 4096]);
        assert_eq!(saved(&zeros), saved(&whole));
    }

    #[test]
    fn damage_in_the_middle_is_an_error() {
        let before = file(&[SESSION_7]);
        let offset = before.len();
        let mut after = Vec::new();
        encode(&Record::Sent(msg(1, "after")), &mut after);
        let damaged = |middle: &[u8]| {
            let mut bytes = before.clone();
            bytes.extend_from_slice(middle);
            bytes.extend_from_slice(&after);
            decode(&bytes)
        };
        // A length past the limit, a record with no kind, a body that does
        // not read.
        for middle in [
            &[0xff, 0xff, 0xff, 0x7f][..],
            &[0, 0, 0, 0],
            &[1, 0, 0, 0, 0x80],
            &[2, 0, 0, 0, 5, 7],
        ] {
            let err = damaged(middle).unwrap_err();
            assert!(
                matches!(err, FormatError::Damaged { offset: at, .. } if at == offset),
                "{middle:?}: {err}"
            );
            assert!(!err.is_newer());
        }
        // A known record before the session.
        let err = decode(&file(&[Record::Conversation(RESUME), SESSION_7])).unwrap_err();
        assert!(
            matches!(err, FormatError::Damaged { offset: 8, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_version_1_file_reads_back() {
        let records = every_kind()[..4].to_vec();
        let bytes = v1_file(&records);
        assert!(bytes.starts_with(b"DUPLEXJ1"));
        let read = decode(&bytes).unwrap();
        assert_eq!(read.ignored, 0);
        assert_eq!(read.saved, state(&records));
        // Cut short, as a kill leaves it: what is whole.
        let read = decode(&bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(read.saved, state(&records[..3]));
    }

    /// One entry of a generated file: a record this build knows, maybe with
    /// fields it does not, or an optional record of an unknown kind.
    #[derive(Debug, Clone)]
    enum Entry {
        Known(Record, Vec<u8>),
        Optional(u32, Vec<u8>),
    }

    fn entry() -> impl Strategy<Value = Entry> {
        prop_oneof![
            3 => (record(), prop_oneof![Just(Vec::new()), prop::collection::vec(any::<u8>(), 0..8)])
                .prop_map(|(record, extra)| Entry::Known(record, extra)),
            1 => (0..u32::MAX / 2, prop::collection::vec(any::<u8>(), 0..40))
                .prop_filter("a kind this build knows", |(half, _)| {
                    half * 2 != RECEIVED && half * 2 != CODE
                })
                .prop_map(|(half, body)| Entry::Optional(half * 2, body)),
        ]
    }

    proptest! {
        /// What the fuzz target checks, on small inputs: arbitrary bytes
        /// never panic; what reads writes back as its summary and reads as
        /// the same state; a file that reads also reads cut anywhere.
        #[test]
        fn arbitrary_bytes_read_or_fail_cleanly(
            header in prop_oneof![Just(&b""[..]), Just(&MAGIC[..]), Just(&MAGIC_V1[..])],
            body in prop::collection::vec(
                prop_oneof![3 => any::<u8>(), 1 => Just(0u8), 1 => 1..14u8],
                0..64,
            ),
        ) {
            let bytes = [header, &body].concat();
            let Ok(read) = decode(&bytes) else {
                return Ok(());
            };
            prop_assert!(read.ignored <= bytes.len());
            if let Some(saved) = &read.saved {
                let again = decode(&file(&saved.summary())).unwrap();
                prop_assert_eq!(again.saved.as_ref(), Some(saved));
            }
            for cut in 0..bytes.len() {
                prop_assert!(decode(&bytes[..cut]).is_ok(), "cut at {}", cut);
            }
        }

        /// Any records, with unknown optional ones among them, read back as
        /// the state they add up to; the file cut anywhere reads as the
        /// state of the entries wholly before the cut, never an error.
        #[test]
        fn any_records_read_back_and_a_cut_never_fails(
            session in any::<u64>(),
            entries in prop::collection::vec(entry(), 0..12),
            cut in any::<prop::sample::Index>(),
        ) {
            let first = Record::Session { session, next_seq: 1 };
            let mut bytes = MAGIC.to_vec();
            encode(&first, &mut bytes);
            // (end of the entry in the file, state after it)
            let mut states = vec![(bytes.len(), state(std::slice::from_ref(&first)))];
            let mut known = vec![first];
            for entry in &entries {
                match entry {
                    Entry::Known(record, extra) => {
                        with_extra(record, extra, &mut bytes);
                        known.push(record.clone());
                    }
                    Entry::Optional(kind, body) => raw_record(*kind, body, &mut bytes),
                }
                states.push((bytes.len(), state(&known)));
            }
            let read = decode(&bytes).unwrap();
            prop_assert_eq!(read.ignored, 0);
            prop_assert_eq!(&read.saved, &state(&known));
            let optional = entries.iter().filter(|e| matches!(e, Entry::Optional(..))).count();
            prop_assert_eq!(read.skipped, optional);

            let cut = cut.index(bytes.len() + 1);
            let read = decode(&bytes[..cut]).unwrap();
            let expected = states
                .iter()
                .rev()
                .find(|(end, _)| *end <= cut)
                .and_then(|(_, state)| state.clone());
            prop_assert_eq!(read.saved, expected);
        }
    }
}
