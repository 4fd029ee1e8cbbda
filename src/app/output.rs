//! What happened, as the update step tells it: one stream of outputs that
//! every front end renders its own way. The TUI shows the state (these
//! events are already in the history it draws); headless mode prints each
//! as a line of text, and `--json` as a JSON object, so scripts see every
//! change a person sees: a message, a delivery mark, a drop, a resume, new
//! verification words, a folded line of turned-away connections.

use crate::history::{AuthorId, Delivery, SystemEvent};
use crate::protocol::MessageId;

/// One thing that happened, for the front ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A message from a peer arrived (not a repeat).
    Message {
        /// Who wrote it.
        author: AuthorId,
        /// Their name as shown (qualified when names collide).
        from: String,
        /// Its id.
        id: MessageId,
        /// When they sent it, ms since the Unix epoch (their clock).
        sent_at_ms: i64,
        /// The sanitized text.
        text: Box<str>,
        /// Whether it is an action (`/me`): `* alice waves`.
        action: bool,
    },
    /// We sent a message (or queued it, while disconnected).
    Sent {
        /// Its id.
        id: MessageId,
        /// The text.
        text: Box<str>,
        /// Where it is: `Sent`, or `Pending` while it waits.
        delivery: Delivery,
    },
    /// One of our messages moved on: sent, delivered, or given up.
    Delivery {
        /// Its id.
        id: MessageId,
        /// Where it is now.
        delivery: Delivery,
    },
    /// The peer started typing (`Active`) or stopped (`Done`: it paused,
    /// cleared its draft, sent it, or the indicator expired).
    Typing {
        /// Its name as shown.
        name: String,
        /// `Active` or `Done`.
        state: crate::protocol::TypingState,
    },
    /// A system event (also in the history).
    System(SystemEvent),
    /// Something happened to a file transfer.
    Transfer(super::transfer::TransferNote),
}
