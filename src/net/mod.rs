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
pub use guest::{Target, connect, connect_plain, dial, open};
pub use host::{Host, JoinHint};

use crate::protocol::transfer::TransferFrame;
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
    /// The peer's person is typing (or stopped): a `Typing` frame arrived.
    Typing {
        /// The connection it came on.
        from: ConnId,
        /// What they are doing.
        state: crate::protocol::TypingState,
    },
    /// The peer is still there: a heartbeat arrived.
    Heartbeat {
        /// The connection it came on.
        from: ConnId,
    },
    /// A frame of a file transfer arrived.
    Transfer {
        /// The connection it came on.
        from: ConnId,
        /// The frame, not yet checked against any transfer.
        frame: TransferFrame,
    },
    /// The peer received our messages up to this one.
    Ack {
        /// The connection it came on.
        from: ConnId,
        /// Our newest message the peer has.
        up_to: MessageId,
    },
    /// Something to tell the user about a connection (not from the peer):
    /// a character of ours a plain peer's encoding cannot write.
    Notice {
        /// The connection.
        from: ConnId,
        /// What to tell, for a person.
        text: String,
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
    /// The host asks us to wait while its person decides whether to let
    /// us in.
    Waiting {
        /// The host's words, sanitized.
        reason: String,
    },
    /// The secret code a guest must give from now on (single-use codes):
    /// on a host, the next guest's; on a guest, the one to come back with.
    CodeChanged {
        /// The code.
        code: String,
    },
    /// Someone new wants the seat of a guest the host is waiting for: the
    /// host's person decides ([`Knock::answer`]).
    Knock(Knock),
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

/// A newcomer waiting at the door while the seat's guest is away.
#[derive(Debug, Clone)]
pub struct Knock {
    /// Tells this knock apart from others.
    pub id: u64,
    /// The newcomer's name (sanitized).
    pub name: String,
    /// Where it connects from.
    pub addr: SocketAddr,
    /// How long the newcomer waits for the answer.
    pub patience: std::time::Duration,
    answer: std::sync::Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<bool>>>>,
}

impl Knock {
    /// A knock whose answer arrives on the returned receiver.
    pub fn new(
        name: String,
        addr: SocketAddr,
        patience: std::time::Duration,
    ) -> (Self, tokio::sync::oneshot::Receiver<bool>) {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let knock = Self {
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            name,
            addr,
            patience,
            answer: std::sync::Arc::new(std::sync::Mutex::new(Some(tx))),
        };
        (knock, rx)
    }

    /// Lets the newcomer in (`true`) or turns it away. Only the first
    /// answer counts; one for a newcomer that gave up does nothing.
    pub fn answer(&self, admit: bool) {
        let sender = self
            .answer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(sender) = sender {
            let _ = sender.send(admit);
        }
    }
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
    /// A URL was given where an address belongs.
    #[error("duplex join takes an address, not a URL: try duplex join {suggestion}")]
    Url {
        /// What the user typed.
        input: String,
        /// The address inside it, as `duplex join` takes it.
        suggestion: String,
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
    /// The same failure of an attempt to get back to a host that spoke
    /// duplex before: a host that sent nothing is slow or stopped, not
    /// perhaps a plain text server, so no `--plain` hint.
    pub fn reconnecting(self) -> Self {
        match self {
            NetError::Handshake {
                addr,
                error: HandshakeError::SilentHost(limit),
            } => NetError::Handshake {
                addr,
                error: HandshakeError::Timeout(limit),
            },
            other => other,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_host_met_again_is_a_timeout_without_the_plain_hint() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 7878));
        let limit = std::time::Duration::from_secs(10);
        let first = NetError::Handshake {
            addr,
            error: HandshakeError::SilentHost(limit),
        };
        assert!(first.to_string().contains("--plain"), "{first}");
        let again = first.reconnecting();
        assert!(
            matches!(&again, NetError::Handshake { error: HandshakeError::Timeout(l), .. } if *l == limit),
            "{again:?}"
        );
        assert!(!again.to_string().contains("--plain"), "{again}");
    }
}
