//! Typed frame bodies: every kind of traffic one connection carries.
//!
//! Frames are an enum so that later kinds of traffic (acknowledgements,
//! typing indicators, file chunks) are new variants on the same connection
//! rather than new connections. Variant order is part of the wire format:
//! append new variants at the end and bump
//! [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION) when old peers cannot cope.

use serde::{Deserialize, Serialize};

/// Longest chat message text, in bytes, that a peer may send.
pub const MAX_TEXT_LEN: usize = 32 * 1024;

/// Longest name, in bytes, accepted on the wire (it is shortened further for display).
pub const MAX_NAME_LEN: usize = 256;

/// Identifies one chat message across the whole conversation.
///
/// `session` is random per program run and `seq` counts up from 1, so ids are
/// unique without coordination and ordered per sender, which is what
/// acknowledgement and re-sending by id need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageId {
    /// Random number chosen once per running program.
    pub session: u64,
    /// Sequence number of this message within `session`, starting at 1.
    pub seq: u64,
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}-{}", self.session, self.seq)
    }
}

/// One chat message as sent on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Unique id of the message.
    pub id: MessageId,
    /// When the sender sent it, in milliseconds since the Unix epoch (sender's clock).
    pub sent_at_ms: i64,
    /// The text as typed; receivers sanitize it before display.
    pub text: String,
}

/// What lets a guest come back to the same conversation after its
/// connection dropped. Sent only inside the encrypted session, so nobody
/// else can learn it and take the conversation over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resume {
    /// The host's conversation: random per run of the host program.
    pub conversation: u64,
    /// The guest's secret place in it, chosen by the host.
    pub token: u128,
}

/// The first frame each side sends after the preamble.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The sender's display name (sanitized by the receiver).
    pub name: String,
    /// Name and version of the sending program, for diagnostics.
    pub software: String,
    /// From a guest: the conversation it wants to resume, if any. From the
    /// host: the conversation and the guest's token to resume it with later.
    pub resume: Option<Resume>,
    /// From the host: whether the guest's resume was accepted.
    pub resumed: bool,
}

impl Hello {
    /// A hello from this program with the given name.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            software: concat!("duplex ", env!("CARGO_PKG_VERSION")).to_owned(),
            resume: None,
            resumed: false,
        }
    }
}

/// Everything that travels over a duplex connection after the preamble.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Frame {
    /// Introduces the sender; the first frame in each direction.
    Hello(Hello),
    /// A chat message.
    Chat(ChatMessage),
    /// The sender leaves (Ctrl-C); a host stays and waits for another guest.
    Leave,
    /// The sender typed `exit`: the conversation ends on both sides.
    Bye,
    /// The host turns the connection away, with a reason to show the guest.
    Refused {
        /// Why, in words for a person.
        reason: String,
    },
    /// Every message of the receiver's session up to and including this one
    /// arrived (cumulative, as messages arrive in order).
    Ack {
        /// The newest message received, by its sender's id.
        up_to: MessageId,
    },
    /// Nothing to say, but still here: sent when a side has been quiet for a
    /// while, so a peer that vanished is noticed.
    Heartbeat,
}

impl Frame {
    /// A short name of the frame's kind, for logs and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Frame::Hello(_) => "hello",
            Frame::Chat(_) => "chat",
            Frame::Leave => "leave",
            Frame::Bye => "bye",
            Frame::Refused { .. } => "refused",
            Frame::Ack { .. } => "ack",
            Frame::Heartbeat => "heartbeat",
        }
    }
}
