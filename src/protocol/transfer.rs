//! The frames of a file transfer (capability `files`): an offer listing
//! every entry up front, the receiver's answer and credit, the chunks, and
//! the per-entry hash that makes each file verified on its own.
//!
//! All kinds are even (optional): an older peer skips them, and a peer is
//! only ever sent them once it announced `files`. Chunks and `Done` travel
//! on the connection's bulk lane (see [`TransferFrame::is_bulk`]), in order
//! behind each other and never in front of a chat line.

use serde::{Deserialize, Serialize};

use super::codec::MAX_PLAINTEXT_LEN;
use super::frame::{BodyError, MAX_TEXT_LEN};

/// Identifies one transfer within a conversation: chosen by its sender
/// (random, so both sides' ids do not collide).
pub type TransferId = u64;

/// A BLAKE3 hash.
pub type Hash = [u8; 32];

/// Most file bytes one chunk carries: what fits in one frame with room to
/// spare for the chunk's other fields (60 KiB).
pub const MAX_CHUNK: usize = 60 * 1024;

/// Longest offered path, in bytes.
pub const MAX_PATH_LEN: usize = 4096;

// One chunk, its fields and the kind must fit in one sealed frame.
const _: () = assert!(MAX_CHUNK + 64 < MAX_PLAINTEXT_LEN);

/// The kind numbers of the transfer frames (all even: optional).
pub mod kind {
    /// [`super::TransferFrame::Offer`].
    pub const OFFER: u32 = 14;
    /// [`super::TransferFrame::Accept`].
    pub const ACCEPT: u32 = 16;
    /// [`super::TransferFrame::Decline`].
    pub const DECLINE: u32 = 18;
    /// [`super::TransferFrame::Chunk`].
    pub const CHUNK: u32 = 20;
    /// [`super::TransferFrame::Credit`].
    pub const CREDIT: u32 = 22;
    /// [`super::TransferFrame::Done`].
    pub const DONE: u32 = 24;
    /// [`super::TransferFrame::Cancel`].
    pub const CANCEL: u32 = 26;
    /// [`super::TransferFrame::ResumeFrom`].
    pub const RESUME_FROM: u32 = 28;
}

/// What an offered entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    /// A regular file: its bytes follow in chunks.
    File,
    /// A folder (possibly empty): created, nothing follows.
    Dir,
}

/// One entry of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferEntry {
    /// The path relative to what was offered, components joined by `/`.
    /// Never trusted by the receiver (see `crate::transfer::names`).
    pub path: String,
    /// Size in bytes (0 for a folder).
    pub size: u64,
    /// File or folder.
    pub kind: EntryKind,
}

/// Files and folders offered to the peer, every entry listed up front.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The transfer.
    pub id: TransferId,
    /// Every entry, parents before their children.
    pub entries: Vec<OfferEntry>,
    /// Total bytes of the files.
    pub total: u64,
}

/// One frame of a file transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferFrame {
    /// Sender → receiver: here is what I would send.
    Offer(Offer),
    /// Receiver → sender: yes; chunks may follow once credit is granted.
    Accept {
        /// The transfer.
        id: TransferId,
    },
    /// Receiver → sender: no.
    Decline {
        /// The transfer.
        id: TransferId,
        /// Why, in words for a person.
        reason: String,
    },
    /// Sender → receiver: bytes of one file, at an offset (bulk lane).
    Chunk {
        /// The transfer.
        id: TransferId,
        /// Index of the entry in the offer.
        entry: u32,
        /// Where the bytes go in the file.
        offset: u64,
        /// At most [`MAX_CHUNK`] bytes.
        bytes: Vec<u8>,
    },
    /// Receiver → sender: this many more chunks may be sent (a window).
    Credit {
        /// The transfer.
        id: TransferId,
        /// How many chunks, added to what was granted before.
        chunks: u32,
    },
    /// Sender → receiver: the entry's last byte was sent; its BLAKE3 hash
    /// (bulk lane, after its chunks).
    Done {
        /// The transfer.
        id: TransferId,
        /// Index of the entry.
        entry: u32,
        /// BLAKE3 of the whole file.
        hash: Hash,
    },
    /// Either side: the transfer stops.
    Cancel {
        /// The transfer.
        id: TransferId,
        /// Why, in words for a person.
        reason: String,
    },
    /// Receiver → sender, after a reconnect: I have the first `offset`
    /// bytes of `entry`, whose BLAKE3 is `hash`; go on from there (the
    /// sender checks its own prefix and restarts from 0 if it differs).
    /// The receiver's window starts again with the credit that follows.
    ResumeFrom {
        /// The transfer.
        id: TransferId,
        /// Index of the entry.
        entry: u32,
        /// Bytes the receiver has.
        offset: u64,
        /// BLAKE3 of those bytes.
        hash: Hash,
    },
}

impl TransferFrame {
    /// The transfer this frame belongs to.
    pub fn id(&self) -> TransferId {
        match self {
            TransferFrame::Offer(offer) => offer.id,
            TransferFrame::Accept { id }
            | TransferFrame::Decline { id, .. }
            | TransferFrame::Chunk { id, .. }
            | TransferFrame::Credit { id, .. }
            | TransferFrame::Done { id, .. }
            | TransferFrame::Cancel { id, .. }
            | TransferFrame::ResumeFrom { id, .. } => *id,
        }
    }

    /// The kind number on the wire.
    pub fn kind(&self) -> u32 {
        match self {
            TransferFrame::Offer(_) => kind::OFFER,
            TransferFrame::Accept { .. } => kind::ACCEPT,
            TransferFrame::Decline { .. } => kind::DECLINE,
            TransferFrame::Chunk { .. } => kind::CHUNK,
            TransferFrame::Credit { .. } => kind::CREDIT,
            TransferFrame::Done { .. } => kind::DONE,
            TransferFrame::Cancel { .. } => kind::CANCEL,
            TransferFrame::ResumeFrom { .. } => kind::RESUME_FROM,
        }
    }

    /// A short name of the kind, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            TransferFrame::Offer(_) => "offer",
            TransferFrame::Accept { .. } => "accept",
            TransferFrame::Decline { .. } => "decline",
            TransferFrame::Chunk { .. } => "chunk",
            TransferFrame::Credit { .. } => "credit",
            TransferFrame::Done { .. } => "done",
            TransferFrame::Cancel { .. } => "cancel",
            TransferFrame::ResumeFrom { .. } => "resume from",
        }
    }

    /// Whether the frame goes on the bulk lane: chunks, and the `Done`
    /// that must follow its entry's chunks.
    pub fn is_bulk(&self) -> bool {
        matches!(
            self,
            TransferFrame::Chunk { .. } | TransferFrame::Done { .. }
        )
    }

    /// About how many bytes of fields the frame carries (for budgets).
    pub fn fields_len(&self) -> usize {
        match self {
            TransferFrame::Offer(offer) => offer
                .entries
                .iter()
                .map(|entry| entry.path.len() + 12)
                .sum(),
            TransferFrame::Chunk { bytes, .. } => bytes.len() + 24,
            TransferFrame::Decline { reason, .. } | TransferFrame::Cancel { reason, .. } => {
                reason.len()
            }
            TransferFrame::Done { .. } | TransferFrame::ResumeFrom { .. } => 48,
            TransferFrame::Accept { .. } | TransferFrame::Credit { .. } => 8,
        }
    }

    /// Encodes the fields (not the kind).
    pub fn encode_fields(&self) -> Result<Vec<u8>, postcard::Error> {
        match self {
            TransferFrame::Offer(offer) => postcard::to_stdvec(offer),
            TransferFrame::Accept { id } => postcard::to_stdvec(id),
            TransferFrame::Decline { id, reason } | TransferFrame::Cancel { id, reason } => {
                postcard::to_stdvec(&(id, reason))
            }
            TransferFrame::Chunk {
                id,
                entry,
                offset,
                bytes,
            } => postcard::to_stdvec(&(id, entry, offset, bytes)),
            TransferFrame::Credit { id, chunks } => postcard::to_stdvec(&(id, chunks)),
            TransferFrame::Done { id, entry, hash } => postcard::to_stdvec(&(id, entry, hash)),
            TransferFrame::ResumeFrom {
                id,
                entry,
                offset,
                hash,
            } => postcard::to_stdvec(&(id, entry, offset, hash)),
        }
    }

    /// Decodes the fields of a transfer kind; `None` if `kind` is not one.
    /// Fields over their limits are refused; bytes after the known fields
    /// are ignored (appended by a newer peer).
    pub fn decode(kind: u32, fields: &[u8]) -> Option<Result<TransferFrame, BodyError>> {
        fn take<'a, T: Deserialize<'a>>(fields: &'a [u8]) -> Result<T, BodyError> {
            Ok(postcard::take_from_bytes::<T>(fields)?.0)
        }
        let within = |what: &'static str, len: usize, limit: usize| {
            if len > limit {
                Err(BodyError::OverLimit { what, len, limit })
            } else {
                Ok(())
            }
        };
        let decoded = (|| -> Result<Option<TransferFrame>, BodyError> {
            Ok(Some(match kind {
                kind::OFFER => {
                    let offer: Offer = take(fields)?;
                    for entry in &offer.entries {
                        within("an offered path", entry.path.len(), MAX_PATH_LEN)?;
                    }
                    TransferFrame::Offer(offer)
                }
                kind::ACCEPT => TransferFrame::Accept { id: take(fields)? },
                kind::DECLINE | kind::CANCEL => {
                    let (id, reason): (TransferId, String) = take(fields)?;
                    within("a reason", reason.len(), MAX_TEXT_LEN)?;
                    if kind == kind::DECLINE {
                        TransferFrame::Decline { id, reason }
                    } else {
                        TransferFrame::Cancel { id, reason }
                    }
                }
                kind::CHUNK => {
                    let (id, entry, offset, bytes): (TransferId, u32, u64, &[u8]) = take(fields)?;
                    within("a file chunk", bytes.len(), MAX_CHUNK)?;
                    TransferFrame::Chunk {
                        id,
                        entry,
                        offset,
                        bytes: bytes.to_vec(),
                    }
                }
                kind::CREDIT => {
                    let (id, chunks) = take(fields)?;
                    TransferFrame::Credit { id, chunks }
                }
                kind::DONE => {
                    let (id, entry, hash) = take(fields)?;
                    TransferFrame::Done { id, entry, hash }
                }
                kind::RESUME_FROM => {
                    let (id, entry, offset, hash) = take(fields)?;
                    TransferFrame::ResumeFrom {
                        id,
                        entry,
                        offset,
                        hash,
                    }
                }
                _ => return Ok(None),
            }))
        })();
        decoded.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::{Frame, kind as frame_kind};
    use proptest::prelude::*;

    fn every_kind() -> Vec<TransferFrame> {
        vec![
            TransferFrame::Offer(Offer {
                id: 7,
                entries: vec![
                    OfferEntry {
                        path: "logs".into(),
                        size: 0,
                        kind: EntryKind::Dir,
                    },
                    OfferEntry {
                        path: "logs/a.txt".into(),
                        size: 12,
                        kind: EntryKind::File,
                    },
                ],
                total: 12,
            }),
            TransferFrame::Accept { id: 7 },
            TransferFrame::Decline {
                id: 7,
                reason: "no".into(),
            },
            TransferFrame::Chunk {
                id: 7,
                entry: 1,
                offset: 1 << 40,
                bytes: vec![0xab; MAX_CHUNK],
            },
            TransferFrame::Credit { id: 7, chunks: 16 },
            TransferFrame::Done {
                id: 7,
                entry: 1,
                hash: [3; 32],
            },
            TransferFrame::Cancel {
                id: 7,
                reason: "stopped".into(),
            },
            TransferFrame::ResumeFrom {
                id: 7,
                entry: 1,
                offset: 4,
                hash: [9; 32],
            },
        ]
    }

    #[test]
    fn every_transfer_kind_round_trips_and_is_optional() {
        for frame in every_kind() {
            assert!(!frame_kind::is_required(frame.kind()), "{}", frame.name());
            let frame = Frame::Transfer(frame);
            assert_eq!(frame.capability(), Some("files"));
            let bytes = frame.encode().unwrap();
            assert!(bytes.len() <= MAX_PLAINTEXT_LEN);
            assert!(frame.wire_len() >= bytes.len() + 4 + 16, "{}", frame.name());
            assert_eq!(Frame::decode(&bytes).unwrap(), frame);
        }
    }

    /// What an older duplex does with them: its decoder knows none of
    /// these kinds, and since they are even it skips them.
    #[test]
    fn an_older_peer_skips_every_transfer_frame() {
        for frame in every_kind() {
            let bytes = Frame::Transfer(frame.clone()).encode().unwrap();
            let (kind, fields) = postcard::take_from_bytes::<u32>(&bytes).unwrap();
            assert_eq!(kind, frame.kind());
            // What an older build's `Frame::decode` falls back to.
            let old = Frame::Unknown {
                kind,
                body: fields.to_vec(),
            };
            assert_eq!(old.encode().unwrap(), bytes);
            assert!(!frame_kind::is_required(kind));
        }
    }

    #[test]
    fn only_chunks_and_their_hash_go_on_the_bulk_lane() {
        let bulk: Vec<_> = every_kind()
            .into_iter()
            .filter(TransferFrame::is_bulk)
            .map(|frame| frame.name())
            .collect();
        assert_eq!(bulk, ["chunk", "done"]);
    }

    #[test]
    fn chunks_and_paths_over_their_limits_are_refused() {
        let over = Frame::Transfer(TransferFrame::Chunk {
            id: 1,
            entry: 0,
            offset: 0,
            bytes: vec![0; MAX_CHUNK + 1],
        });
        let err = Frame::decode(&over.encode().unwrap()).unwrap_err();
        assert!(err.to_string().contains("a file chunk"), "{err}");
        let long = Frame::Transfer(TransferFrame::Offer(Offer {
            id: 1,
            entries: vec![OfferEntry {
                path: "a".repeat(MAX_PATH_LEN + 1),
                size: 1,
                kind: EntryKind::File,
            }],
            total: 1,
        }));
        let err = Frame::decode(&long.encode().unwrap()).unwrap_err();
        assert!(err.to_string().contains("an offered path"), "{err}");
    }

    #[test]
    fn fields_a_newer_peer_appends_are_ignored() {
        for frame in every_kind() {
            let mut bytes = Frame::Transfer(frame.clone()).encode().unwrap();
            bytes.extend_from_slice(&[1, 2, 3]);
            assert_eq!(Frame::decode(&bytes).unwrap(), Frame::Transfer(frame));
        }
    }

    proptest! {
        #[test]
        fn any_transfer_body_decodes_or_fails_without_panicking(
            kind in 14_u32..30,
            bytes in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            let _ = TransferFrame::decode(kind, &bytes);
        }
    }
}
