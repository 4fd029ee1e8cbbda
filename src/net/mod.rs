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
pub mod seat;

use std::net::SocketAddr;

pub use crate::domain::{ConnId, LeftReason, PeerInfo, RejectKind, Security};
pub use connection::{Lane, PeerLink, SendError};
pub use guest::{Target, connect, connect_plain};
pub use host::{Host, JoinHint};

use crate::protocol::{ChatMessage, HandshakeError, MessageId};

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
    /// The peer is still there: a heartbeat arrived.
    Heartbeat {
        /// The connection it came on.
        from: ConnId,
    },
    /// The peer received our messages up to this one.
    Ack {
        /// The connection it came on.
        from: ConnId,
        /// Our newest message the peer has.
        up_to: MessageId,
    },
    /// The peer is now called `name` (`/nick`), not yet sanitized.
    Renamed {
        /// The connection it came on.
        from: ConnId,
        /// The new name as sent.
        name: String,
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
        /// Whether the host did not take the secret code (see
        /// [`NetError::is_wrong_code`]): a person may try again at the
        /// prompt, but a guest does not reconnect on its own.
        wrong_code: bool,
    },
    /// A host turned a connection attempt away or its handshake failed.
    Rejected {
        /// Where the attempt came from.
        addr: SocketAddr,
        /// What kind of reason (runs of one kind fold into one line).
        kind: RejectKind,
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

impl NetError {
    /// Whether the host did not take our secret code: a wrong one, none
    /// when it wants one, or one when it uses none. A person at a prompt
    /// may try again; a guest reconnecting on its own must not (a fake
    /// host would collect a guess each time).
    pub fn is_wrong_code(&self) -> bool {
        matches!(
            self,
            NetError::Handshake {
                error: HandshakeError::WrongCode { .. }
                    | HandshakeError::CodeRequired
                    | HandshakeError::HostHasNoCode,
                ..
            }
        )
    }
}
