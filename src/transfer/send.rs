//! The sending side of one transfer: offers, then reads each file in
//! chunks as credit allows, hashing while reading (no pass over the file
//! before the first byte), and ends each file with its BLAKE3 hash.

use std::path::PathBuf;

use crate::protocol::transfer::{EntryKind, Hash, MAX_CHUNK, Offer, TransferFrame, TransferId};

use super::{Action, IoDone, Listed, Phase, short_hash};

/// One outgoing transfer.
#[derive(Debug, Clone)]
pub struct Sender {
    /// What was offered.
    pub offer: Offer,
    /// Where each entry's bytes come from.
    sources: Vec<PathBuf>,
    /// Where it is.
    pub phase: Phase,
    /// The entry being sent.
    entry: usize,
    /// The next offset of the entry to read.
    requested: u64,
    /// Bytes of the entry read, hashed and sent.
    hashed: u64,
    hasher: blake3::Hasher,
    /// Chunks the receiver allows now.
    credit: u32,
    /// Bytes of every file sent so far (resent ones counted once).
    pub sent: u64,
    /// Set while checking the receiver's prefix after a reconnect: the
    /// hash it claims.
    resuming: Option<Hash>,
    /// Where a resume after a reconnect picked up (bytes of the whole
    /// transfer), until it has been told.
    pub resumed_at: Option<u64>,
}

impl Sender {
    /// A transfer of `listing` under `id`: the offer to send, or why it
    /// cannot be offered (nothing in it).
    pub fn new(id: TransferId, listing: Vec<Listed>) -> Result<(Self, Vec<Action>), String> {
        if listing.is_empty() {
            return Err("nothing to send".to_owned());
        }
        let total = listing
            .iter()
            .filter(|entry| entry.kind == EntryKind::File)
            .map(|entry| entry.size)
            .fold(0_u64, u64::saturating_add);
        let mut sources = Vec::with_capacity(listing.len());
        let mut entries = Vec::with_capacity(listing.len());
        for listed in listing {
            sources.push(listed.source);
            entries.push(crate::protocol::transfer::OfferEntry {
                path: listed.path,
                size: if listed.kind == EntryKind::File {
                    listed.size
                } else {
                    0
                },
                kind: listed.kind,
            });
        }
        let offer = Offer { id, entries, total };
        let sender = Self {
            offer: offer.clone(),
            sources,
            phase: Phase::Offered,
            entry: 0,
            requested: 0,
            hashed: 0,
            hasher: blake3::Hasher::new(),
            credit: 0,
            sent: 0,
            resuming: None,
            resumed_at: None,
        };
        Ok((sender, vec![Action::Send(TransferFrame::Offer(offer))]))
    }

    fn id(&self) -> TransferId {
        self.offer.id
    }

    /// A frame from the receiver.
    pub fn on_frame(&mut self, frame: TransferFrame) -> Vec<Action> {
        if self.phase.is_over() {
            return Vec::new();
        }
        match frame {
            TransferFrame::Accept { .. } => {
                if self.phase == Phase::Moving {
                    // Accepted again after a reconnect: the receiver
                    // restarted without what it had, so start over.
                    self.start_over();
                }
                self.phase = Phase::Moving;
                Vec::new()
            }
            TransferFrame::Decline { reason, .. } => {
                self.phase = Phase::Failed(format!("declined: {reason}"));
                Vec::new()
            }
            TransferFrame::Credit { chunks, .. } => {
                if self.phase == Phase::Offered {
                    self.phase = Phase::Moving;
                }
                self.credit = self.credit.saturating_add(chunks);
                self.pump()
            }
            TransferFrame::Cancel { reason, .. } => {
                self.phase = Phase::Failed(format!("cancelled by the peer: {reason}"));
                Vec::new()
            }
            TransferFrame::ResumeFrom {
                entry,
                offset,
                hash,
                ..
            } => self.resume_from(entry, offset, hash),
            TransferFrame::Done { entry, hash, .. } => {
                // The receiver confirms a file: the transfer is done once
                // it confirms the last one.
                let last = self.last_file().unwrap_or(0);
                if entry as usize == last && self.entry >= self.offer.entries.len() {
                    self.phase = Phase::Done(short_hash(&hash));
                }
                Vec::new()
            }
            TransferFrame::Offer(_) | TransferFrame::Chunk { .. } => Vec::new(),
        }
    }

    fn last_file(&self) -> Option<usize> {
        self.offer
            .entries
            .iter()
            .rposition(|entry| entry.kind == EntryKind::File)
    }

    /// The receiver says it has `offset` bytes of `entry` hashing to
    /// `hash` (after a reconnect): check our own prefix first.
    fn resume_from(&mut self, entry: u32, offset: u64, hash: Hash) -> Vec<Action> {
        let index = entry as usize;
        let Some(offered) = self.offer.entries.get(index) else {
            return self.fail("the peer asked to resume an entry that was not offered".into());
        };
        if offset > offered.size {
            return self.fail("the peer asked to resume past the end of a file".into());
        }
        self.phase = Phase::Moving;
        self.sent = self.bytes_before(index).saturating_add(offset);
        self.entry = index;
        self.credit = 0;
        self.requested = 0;
        self.hashed = 0;
        self.hasher = blake3::Hasher::new();
        self.resuming = Some(hash);
        vec![Action::HashPrefix {
            id: self.id(),
            entry,
            path: self.sources[index].clone(),
            len: offset,
        }]
    }

    /// Back to the first byte of the first entry.
    fn start_over(&mut self) {
        self.sent = 0;
        self.entry = 0;
        self.credit = 0;
        self.requested = 0;
        self.hashed = 0;
        self.hasher = blake3::Hasher::new();
        self.resuming = None;
    }

    fn bytes_before(&self, index: usize) -> u64 {
        self.offer.entries[..index.min(self.offer.entries.len())]
            .iter()
            .map(|entry| entry.size)
            .fold(0, u64::saturating_add)
    }

    /// The runtime did what was asked.
    pub fn on_io(&mut self, done: IoDone) -> Vec<Action> {
        if self.phase.is_over() {
            return Vec::new();
        }
        match done {
            IoDone::Read {
                entry,
                offset,
                bytes,
                ..
            } => {
                if entry as usize != self.entry || offset != self.hashed {
                    return Vec::new(); // from before a resume
                }
                let size = self.offer.entries[self.entry].size;
                let expected = (size - offset).min(MAX_CHUNK as u64);
                if (bytes.len() as u64) < expected {
                    return self.fail(format!(
                        "{} got shorter while being sent",
                        self.offer.entries[self.entry].path
                    ));
                }
                self.hasher.update(&bytes);
                self.hashed += bytes.len() as u64;
                self.sent = self.sent.saturating_add(bytes.len() as u64);
                let mut actions = vec![Action::Send(TransferFrame::Chunk {
                    id: self.id(),
                    entry,
                    offset,
                    bytes,
                })];
                actions.extend(self.pump());
                actions
            }
            IoDone::PrefixHashed {
                entry, hasher, len, ..
            } => {
                let Some(claimed) = self.resuming.take() else {
                    return Vec::new();
                };
                if entry as usize != self.entry {
                    return Vec::new();
                }
                if *hasher.finalize().as_bytes() == claimed {
                    self.hasher = *hasher;
                    self.hashed = len;
                    self.requested = len;
                    if self.sent > 0 {
                        self.resumed_at = Some(self.sent);
                    }
                } else {
                    // Not what we have: that file starts again from 0.
                    self.sent = self.bytes_before(self.entry);
                }
                self.pump()
            }
            IoDone::Failed { error, .. } => self.fail(error),
            IoDone::Scanned { .. } | IoDone::Prepared { .. } | IoDone::Finished { .. } => {
                Vec::new()
            }
        }
    }

    /// Stops here, telling the peer why.
    pub fn cancel(&mut self, reason: &str) -> Vec<Action> {
        if self.phase.is_over() {
            return Vec::new();
        }
        self.phase = Phase::Failed(reason.to_owned());
        vec![Action::Send(TransferFrame::Cancel {
            id: self.id(),
            reason: reason.to_owned(),
        })]
    }

    fn fail(&mut self, error: String) -> Vec<Action> {
        self.cancel(&error)
    }

    /// After a reconnect: wait for the receiver to say where it is.
    pub fn reconnected(&mut self) {
        self.credit = 0;
    }

    /// Reads as much as credit allows, and ends each entry whose bytes are
    /// all sent.
    fn pump(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        while self.phase == Phase::Moving && self.resuming.is_none() {
            let Some(entry) = self.offer.entries.get(self.entry) else {
                break;
            };
            if entry.kind == EntryKind::Dir {
                self.next_entry();
                continue;
            }
            let size = entry.size;
            if self.hashed == size {
                let hash = *self.hasher.finalize().as_bytes();
                actions.push(Action::Send(TransferFrame::Done {
                    id: self.id(),
                    entry: self.entry as u32,
                    hash,
                }));
                self.next_entry();
                continue;
            }
            if self.requested < size && self.credit > 0 {
                let len = (size - self.requested).min(MAX_CHUNK as u64) as usize;
                actions.push(Action::Read {
                    id: self.id(),
                    entry: self.entry as u32,
                    path: self.sources[self.entry].clone(),
                    offset: self.requested,
                    len,
                });
                self.requested += len as u64;
                self.credit -= 1;
                continue;
            }
            break;
        }
        if self.entry >= self.offer.entries.len() && self.phase == Phase::Moving {
            self.phase = Phase::Verifying;
        }
        actions
    }

    fn next_entry(&mut self) {
        self.entry += 1;
        self.requested = 0;
        self.hashed = 0;
        self.hasher = blake3::Hasher::new();
    }
}
