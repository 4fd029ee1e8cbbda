//! Networking: the host's accept loop, the guest's connect, and per
//! connection one reader task and one writer task joined to the rest of the
//! program by channels.
//!
//! Everything the network produces arrives as a [`NetEvent`] on one channel;
//! everything to send goes to a [`PeerLink`], whose queue the writer task
//! drains. Neither side ever waits for the other.

pub mod connection;
pub mod guest;
pub mod handshake;
pub mod host;
pub mod limiter;
pub mod plain;

use std::net::SocketAddr;

pub use connection::{PeerLink, SendError};
pub use guest::{Target, connect, connect_plain};
pub use host::{Host, JoinHint};

use crate::protocol::{ChatMessage, HandshakeError, MessageId, Resume};

/// Identifies one connection for the lifetime of the program.
pub type ConnId = u64;

/// Who is on the other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The connection this peer speaks on.
    pub id: ConnId,
    /// The peer's name, already sanitized.
    pub name: String,
    /// The peer's socket address.
    pub addr: SocketAddr,
    /// How the conversation is protected.
    pub security: Security,
    /// Whether this peer resumed the conversation it had before its
    /// connection dropped (rather than starting anew).
    pub resumed: bool,
    /// What resumes this conversation after a drop: on a guest, its own
    /// place; on the host, the place it gave this guest.
    pub resume: Option<Resume>,
}

impl PeerInfo {
    /// Whether the peer is a plain text program (no acknowledgements, no
    /// resuming).
    pub fn is_plain(&self) -> bool {
        matches!(self.security, Security::Plain { .. })
    }
}

/// How a conversation is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// Encrypted duplex session.
    Encrypted {
        /// Words both sides show; different words mean a man in the middle.
        verification: String,
        /// Whether a secret code let the peer in.
        with_code: bool,
    },
    /// A plain text peer: nothing is encrypted or verified.
    Plain {
        /// The text encoding spoken, e.g. `GBK`.
        encoding: &'static str,
    },
}

/// Why a peer is no longer connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftReason {
    /// The peer left on purpose (Ctrl-C, end of input).
    Left,
    /// The peer typed `exit`, ending the conversation for both.
    Bye,
    /// The connection closed without a goodbye.
    Closed,
    /// The connection failed; the text says how.
    Error(String),
}

/// Something that happened on the network.
#[derive(Debug, Clone)]
pub enum NetEvent {
    /// A peer completed the handshake; `link` sends to it.
    Joined {
        /// Who joined.
        info: PeerInfo,
        /// Where to send frames for this peer.
        link: PeerLink,
    },
    /// A chat message arrived.
    Chat {
        /// The connection it came on.
        from: ConnId,
        /// The message, text not yet sanitized.
        msg: ChatMessage,
    },
    /// The peer received our messages up to this one.
    Ack {
        /// The connection it came on.
        from: ConnId,
        /// Our newest message the peer has.
        up_to: MessageId,
    },
    /// A peer is gone.
    Left {
        /// The connection that ended.
        from: ConnId,
        /// Why.
        reason: LeftReason,
    },
    /// A connection attempt made from within the session failed.
    ConnectFailed {
        /// What went wrong, for a person.
        reason: String,
        /// Whether it was a wrong secret code (the user may try again).
        wrong_code: bool,
    },
    /// A host turned a connection attempt away or its handshake failed.
    Rejected {
        /// Where the attempt came from.
        addr: SocketAddr,
        /// What went wrong, for a person.
        reason: String,
    },
}

/// Why the network could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The listening port is taken.
    #[error(
        "port {port} is already in use on {addr}; is another duplex host running? Pick another with --port"
    )]
    AddrInUse {
        /// The port asked for.
        port: u16,
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Binding failed for another reason.
    // The cause is part of the message, not a separate `source`, so it is
    // printed once.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        error: std::io::Error,
    },
    /// The address to join is malformed.
    #[error("invalid address '{input}': {why}")]
    InvalidTarget {
        /// What the user typed.
        input: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The host name did not resolve.
    #[error("cannot resolve '{host}': {why}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's answer.
        why: String,
    },
    /// No connection could be made.
    #[error("cannot connect to {addr}: {why}")]
    Connect {
        /// The address tried last.
        addr: SocketAddr,
        /// What went wrong, for a person.
        why: String,
    },
    /// Connected, but the handshake failed.
    #[error("{addr}: {error}")]
    Handshake {
        /// The peer's address.
        addr: SocketAddr,
        /// What went wrong.
        error: HandshakeError,
    },
}
