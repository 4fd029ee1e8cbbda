//! Files inside the conversation: pure state machines for both ends of a
//! transfer, and the rules for names a peer offers. Nothing here does IO:
//! each step returns [`Action`]s (send this frame, read this range, write
//! these bytes, give the file its name) that the runtime carries out, and
//! the runtime reports back with [`IoDone`].
//!
//! - [`names`]: which offered names are safe, and where each entry goes;
//! - [`send`]: the sending side (hashes while reading, spends credit);
//! - [`receive`]: the receiving side (hashes while writing, grants credit,
//!   names a file only once its hash matches).

pub mod names;
pub mod receive;
pub mod send;

use std::path::PathBuf;

use crate::protocol::transfer::{EntryKind, Hash, TransferFrame, TransferId};

pub use receive::Receiver;
pub use send::Sender;

/// Chunks the receiver lets be in flight at once (about 1 MiB).
pub const WINDOW: u32 = 16;

/// Something the runtime must do for a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a frame to the peer.
    Send(TransferFrame),
    /// Find what these paths hold (files and folders, symbolic links
    /// skipped) and report [`IoDone::Scanned`].
    Scan {
        /// The transfer to be.
        id: TransferId,
        /// What the person named.
        paths: Vec<PathBuf>,
    },
    /// Read `len` bytes of `path` at `offset`; report [`IoDone::Read`].
    Read {
        /// The transfer.
        id: TransferId,
        /// The entry.
        entry: u32,
        /// The local file.
        path: PathBuf,
        /// Where to read.
        offset: u64,
        /// How much (less only at the end of the file).
        len: usize,
    },
    /// Hash the first `len` bytes of `path`; report [`IoDone::PrefixHashed`].
    HashPrefix {
        /// The transfer.
        id: TransferId,
        /// The entry.
        entry: u32,
        /// The local file.
        path: PathBuf,
        /// How many bytes.
        len: u64,
    },
    /// Check room and create the folders of an accepted offer under `dir`;
    /// report [`IoDone::Prepared`] with where each entry goes.
    Prepare {
        /// The transfer.
        id: TransferId,
        /// The folder to receive in.
        dir: PathBuf,
        /// Each entry's safe local components and kind.
        plan: Vec<(Vec<String>, EntryKind)>,
        /// Bytes that will be written.
        total: u64,
    },
    /// Write `bytes` at `offset` of `part` (created anew, never following
    /// a link, when `offset` is 0).
    Write {
        /// The transfer.
        id: TransferId,
        /// The partial file.
        part: PathBuf,
        /// Where.
        offset: u64,
        /// What.
        bytes: Vec<u8>,
    },
    /// The hash matched: give `part` the name `path` (or the next free
    /// numbered name; never replacing a file); report [`IoDone::Finished`].
    Finish {
        /// The transfer.
        id: TransferId,
        /// The entry.
        entry: u32,
        /// The partial file.
        part: PathBuf,
        /// The name it should get.
        path: PathBuf,
    },
    /// Remove a partial file (a cancel, a mismatch, a failed write).
    Remove {
        /// The partial file.
        part: PathBuf,
    },
}

/// An offered entry with where its bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The local file or folder.
    pub source: PathBuf,
    /// Its path in the offer, relative, `/`-separated.
    pub path: String,
    /// Its size (0 for a folder).
    pub size: u64,
    /// File or folder.
    pub kind: EntryKind,
}

/// What the runtime did, for the app.
#[derive(Debug, Clone)]
pub enum IoDone {
    /// The paths of a `/send` were scanned.
    Scanned {
        /// The transfer to be.
        id: TransferId,
        /// What they hold, or why they cannot be sent.
        listing: Result<Vec<Listed>, String>,
    },
    /// Bytes read.
    Read {
        /// The transfer.
        id: TransferId,
        /// The entry.
        entry: u32,
        /// Where they were.
        offset: u64,
        /// What was read.
        bytes: Vec<u8>,
    },
    /// A prefix hashed, with the hasher to go on from.
    PrefixHashed {
        /// The transfer.
        id: TransferId,
        /// The entry.
        entry: u32,
        /// The hash state after `len` bytes.
        hasher: Box<blake3::Hasher>,
        /// Bytes hashed (fewer if the file is shorter).
        len: u64,
    },
    /// The folders exist; each entry's local path (files: their final
    /// name, the partial file is that plus `.part`).
    Prepared {
        /// The transfer.
        id: TransferId,
        /// Where each entry goes.
        paths: Vec<PathBuf>,
    },
    /// A file has its final name.
    Finished {
        /// The transfer.
        id: TransferId,
        /// The entry.
        entry: u32,
        /// The name it got.
        path: PathBuf,
    },
    /// Something could not be done: the transfer fails.
    Failed {
        /// The transfer.
        id: TransferId,
        /// What went wrong, for a person.
        error: String,
    },
}

impl IoDone {
    /// The transfer it is about.
    pub fn id(&self) -> TransferId {
        match self {
            IoDone::Scanned { id, .. }
            | IoDone::Read { id, .. }
            | IoDone::PrefixHashed { id, .. }
            | IoDone::Prepared { id, .. }
            | IoDone::Finished { id, .. }
            | IoDone::Failed { id, .. } => *id,
        }
    }
}

/// Where a transfer is, as its card shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Offered; the peer has not answered (or, receiving: we have not).
    Offered,
    /// Accepted, bytes moving.
    Moving,
    /// Every byte arrived; checking the last hash.
    Verifying,
    /// All entries arrived and matched; the last file's short hash.
    Done(String),
    /// Stopped: why.
    Failed(String),
}

impl Phase {
    /// Whether nothing more will happen.
    pub fn is_over(&self) -> bool {
        matches!(self, Phase::Done(_) | Phase::Failed(_))
    }
}

/// The first 8 hex digits of a hash, as cards show it.
pub fn short_hash(hash: &Hash) -> String {
    hash.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The partial file of `path`: `NAME.part` beside it.
pub fn part_of(path: &std::path::Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

#[cfg(test)]
mod sim;
