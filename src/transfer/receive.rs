//! The receiving side of one transfer: checks every offered name before
//! anything else, writes nothing before the person accepts, writes each
//! file to `NAME.part` while hashing it, grants credit as it writes, and
//! gives a file its final name only when its hash matches the sender's.

use std::path::PathBuf;

use crate::protocol::transfer::{EntryKind, Offer, TransferFrame, TransferId};

use super::names;
use super::{Action, IoDone, Phase, WINDOW, part_of, short_hash};

/// One incoming transfer.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// What was offered.
    pub offer: Offer,
    /// Each entry's safe local components.
    plan: Vec<Vec<String>>,
    /// Each entry's local path, once prepared.
    paths: Vec<PathBuf>,
    /// Where it is.
    pub phase: Phase,
    /// The entry being received.
    entry: usize,
    /// Bytes of it written (and hashed).
    written: u64,
    /// Whether its partial file exists.
    created: bool,
    hasher: blake3::Hasher,
    /// Chunks written since credit was last granted.
    since_credit: u32,
    /// Bytes of every file written so far.
    pub received: u64,
    /// Where the files went (final names), for the person.
    pub saved: Vec<PathBuf>,
    /// The last confirmation sent (a `Done` back to the sender), to send
    /// again if it was lost in a drop.
    confirmed: Option<TransferFrame>,
    /// Whether we asked to resume and no chunk has come since.
    resuming: bool,
    /// Where a resume after a reconnect picked up (bytes of the whole
    /// transfer), until it has been told.
    pub resumed_at: Option<u64>,
}

impl Receiver {
    /// An offer from the peer, or why it is refused (an unsafe name, sizes
    /// that do not add up).
    pub fn new(offer: Offer) -> Result<Self, String> {
        if offer.entries.is_empty() {
            return Err("the offer is empty".to_owned());
        }
        let sum = offer
            .entries
            .iter()
            .filter(|entry| entry.kind == EntryKind::File)
            .try_fold(0_u64, |sum, entry| sum.checked_add(entry.size));
        if sum != Some(offer.total)
            || offer
                .entries
                .iter()
                .any(|entry| entry.kind == EntryKind::Dir && entry.size != 0)
        {
            return Err("the offer's sizes do not add up".to_owned());
        }
        let plan = names::plan(&offer.entries).map_err(|(index, err)| {
            format!(
                "an unsafe name in the offer ({:?}: {err})",
                offer.entries[index].path
            )
        })?;
        Ok(Self {
            offer,
            plan,
            paths: Vec::new(),
            phase: Phase::Offered,
            entry: 0,
            written: 0,
            created: false,
            hasher: blake3::Hasher::new(),
            since_credit: 0,
            received: 0,
            saved: Vec::new(),
            confirmed: None,
            resuming: false,
            resumed_at: None,
        })
    }

    fn id(&self) -> TransferId {
        self.offer.id
    }

    /// Whether the person has not answered yet.
    pub fn is_offered(&self) -> bool {
        self.phase == Phase::Offered && self.paths.is_empty()
    }

    /// The person accepts, into `dir`: check room and make the folders.
    pub fn accept(&mut self, dir: PathBuf) -> Vec<Action> {
        if !self.is_offered() {
            return Vec::new();
        }
        let plan = self
            .plan
            .iter()
            .zip(&self.offer.entries)
            .map(|(components, entry)| (components.clone(), entry.kind))
            .collect();
        vec![Action::Prepare {
            id: self.id(),
            dir,
            plan,
            total: self.offer.total,
        }]
    }

    /// The person declines.
    pub fn decline(&mut self, reason: &str) -> Vec<Action> {
        if !self.is_offered() {
            return Vec::new();
        }
        self.phase = Phase::Failed(format!("declined: {reason}"));
        vec![Action::Send(TransferFrame::Decline {
            id: self.id(),
            reason: reason.to_owned(),
        })]
    }

    /// Stops here (this side's choice or a failure), telling the peer.
    pub fn cancel(&mut self, reason: &str) -> Vec<Action> {
        if self.phase.is_over() {
            return Vec::new();
        }
        let mut actions = self.stop(reason.to_owned());
        actions.push(Action::Send(TransferFrame::Cancel {
            id: self.id(),
            reason: reason.to_owned(),
        }));
        actions
    }

    /// Ends the transfer with `reason`, removing a partial file.
    fn stop(&mut self, reason: String) -> Vec<Action> {
        self.phase = Phase::Failed(reason);
        match self.part() {
            Some(part) if self.created => vec![Action::Remove { part }],
            _ => Vec::new(),
        }
    }

    fn part(&self) -> Option<PathBuf> {
        self.paths.get(self.entry).map(|path| part_of(path))
    }

    /// After a reconnect: tell the sender where we are, and open the
    /// window again (chunks in flight were lost).
    pub fn reconnected(&mut self) -> Vec<Action> {
        if matches!(self.phase, Phase::Done(_)) {
            // Our last word may have been lost with the connection.
            return self
                .confirmed
                .clone()
                .map(Action::Send)
                .into_iter()
                .collect();
        }
        if self.phase.is_over() || self.paths.is_empty() {
            return Vec::new();
        }
        self.since_credit = 0;
        self.resuming = true;
        let entry = self.entry.min(self.offer.entries.len().saturating_sub(1)) as u32;
        vec![
            Action::Send(TransferFrame::ResumeFrom {
                id: self.id(),
                entry,
                offset: self.written,
                hash: *self.hasher.finalize().as_bytes(),
            }),
            Action::Send(TransferFrame::Credit {
                id: self.id(),
                chunks: WINDOW,
            }),
        ]
    }

    /// A frame from the sender.
    pub fn on_frame(&mut self, frame: TransferFrame) -> Vec<Action> {
        if self.phase.is_over() {
            return Vec::new();
        }
        match frame {
            TransferFrame::Chunk {
                entry,
                offset,
                bytes,
                ..
            } => self.chunk(entry, offset, bytes),
            TransferFrame::Done { entry, hash, .. } => {
                if entry as usize != self.entry || self.paths.is_empty() {
                    return self.cancel("a file ended out of order");
                }
                let size = self.offer.entries[self.entry].size;
                if self.written != size {
                    return self.cancel("a file ended before all its bytes arrived");
                }
                if *self.hasher.finalize().as_bytes() != hash {
                    return self.cancel(&format!(
                        "{}: the BLAKE3 hash does not match the sender's (the file was not kept)",
                        self.offer.entries[self.entry].path
                    ));
                }
                self.phase = Phase::Verifying;
                let mut actions = Vec::new();
                let Some(part) = self.part() else {
                    return Vec::new();
                };
                if !self.created {
                    // An empty file: no chunk created it.
                    actions.push(Action::Write {
                        id: self.id(),
                        part: part.clone(),
                        offset: 0,
                        bytes: Vec::new(),
                    });
                    self.created = true;
                }
                actions.push(Action::Finish {
                    id: self.id(),
                    entry,
                    part,
                    path: self.paths[self.entry].clone(),
                });
                actions
            }
            TransferFrame::Cancel { reason, .. } => {
                self.stop(format!("cancelled by the peer: {reason}"))
            }
            TransferFrame::Offer(_)
            | TransferFrame::Accept { .. }
            | TransferFrame::Decline { .. }
            | TransferFrame::Credit { .. }
            | TransferFrame::ResumeFrom { .. } => Vec::new(),
        }
    }

    fn chunk(&mut self, entry: u32, offset: u64, bytes: Vec<u8>) -> Vec<Action> {
        if self.paths.is_empty() || entry as usize != self.entry {
            return self.cancel("a chunk arrived out of order");
        }
        let size = self.offer.entries[self.entry].size;
        let mut actions = Vec::new();
        if std::mem::take(&mut self.resuming) && offset == self.written && self.received > 0 {
            // The sender checked our prefix and goes on after it.
            self.resumed_at = Some(self.received);
        }
        if offset == 0 && self.written > 0 {
            // The sender starts this file again (our prefix was not its).
            actions.extend(self.part().map(|part| Action::Remove { part }));
            self.received = self.received.saturating_sub(self.written);
            self.written = 0;
            self.created = false;
            self.hasher = blake3::Hasher::new();
        }
        if offset != self.written || offset.saturating_add(bytes.len() as u64) > size {
            return self.cancel("a chunk arrived out of order");
        }
        self.hasher.update(&bytes);
        self.written += bytes.len() as u64;
        self.received = self.received.saturating_add(bytes.len() as u64);
        self.created = true;
        if let Some(part) = self.part() {
            actions.push(Action::Write {
                id: self.id(),
                part,
                offset,
                bytes,
            });
        }
        self.since_credit += 1;
        if self.since_credit >= WINDOW / 2 {
            actions.push(Action::Send(TransferFrame::Credit {
                id: self.id(),
                chunks: self.since_credit,
            }));
            self.since_credit = 0;
        }
        actions
    }

    /// The runtime did what was asked.
    pub fn on_io(&mut self, done: IoDone) -> Vec<Action> {
        if self.phase.is_over() {
            return Vec::new();
        }
        match done {
            IoDone::Prepared { paths, .. } => {
                if paths.len() != self.offer.entries.len() {
                    return self.cancel("could not prepare the folders");
                }
                self.paths = paths;
                self.phase = Phase::Moving;
                let mut actions = vec![
                    Action::Send(TransferFrame::Accept { id: self.id() }),
                    Action::Send(TransferFrame::Credit {
                        id: self.id(),
                        chunks: WINDOW,
                    }),
                ];
                actions.extend(self.skip_folders());
                actions
            }
            IoDone::Finished { entry, path, .. } => {
                if entry as usize != self.entry {
                    return Vec::new();
                }
                let hash = *self.hasher.finalize().as_bytes();
                self.saved.push(path);
                self.entry += 1;
                self.written = 0;
                self.created = false;
                self.hasher = blake3::Hasher::new();
                self.phase = Phase::Moving;
                let done = TransferFrame::Done {
                    id: self.id(),
                    entry,
                    hash,
                };
                self.confirmed = Some(done.clone());
                let mut actions = vec![Action::Send(done)];
                actions.extend(self.skip_folders());
                if self.phase == Phase::Done(String::new()) {
                    self.phase = Phase::Done(short_hash(&hash));
                }
                actions
            }
            IoDone::Failed { error, .. } => self.cancel(&error),
            IoDone::Scanned { .. } | IoDone::Read { .. } | IoDone::PrefixHashed { .. } => {
                Vec::new()
            }
        }
    }

    /// Moves past folders (made when accepted); once past the last entry
    /// the transfer is done. Only folders: tell the sender.
    fn skip_folders(&mut self) -> Vec<Action> {
        while self
            .offer
            .entries
            .get(self.entry)
            .is_some_and(|entry| entry.kind == EntryKind::Dir)
        {
            self.entry += 1;
        }
        if self.entry < self.offer.entries.len() {
            return Vec::new();
        }
        self.phase = Phase::Done(String::new());
        if self.saved.is_empty() {
            // Nothing but folders: the sender waits for a word.
            let hash = *blake3::Hasher::new().finalize().as_bytes();
            self.phase = Phase::Done(short_hash(&hash));
            let done = TransferFrame::Done {
                id: self.id(),
                entry: 0,
                hash,
            };
            self.confirmed = Some(done.clone());
            return vec![Action::Send(done)];
        }
        Vec::new()
    }

    /// The local path of each entry, once prepared.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }
}
