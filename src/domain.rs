//! The words every layer shares, at the bottom of the house: who is on the
//! other end of a connection, how the conversation is protected, why a peer
//! went away, and the time limits everything runs by.
//!
//! Nothing here does IO or knows about the wire format, the screen or the
//! update step, so `protocol`, `net`, `history` and `app` can all use these
//! types without using each other.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Identifies one connection for the lifetime of the program.
pub type ConnId = u64;

/// The line that ends the conversation on both sides.
pub const EXIT_COMMAND: &str = "exit";

/// What lets a guest come back to the same conversation after its
/// connection dropped: the conversation, and the secret both ends of its
/// last session derived from that session's handshake. The secret is never
/// sent: in a `Hello`, `token` carries a proof of it bound to the new
/// session instead, so only the two ends of the earlier session can resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resume {
    /// The host's conversation: random per run of the host program.
    pub conversation: u64,
    /// Kept: the secret of the last session. In a `Hello`: a proof of it.
    pub token: u128,
}

/// The optional features a peer announced in its hello, by name.
///
/// A frame that needs a capability is sent only to a peer that announced
/// it; names this build does not know are kept (for diagnostics) and
/// otherwise ignored, so a newer peer can announce anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(BTreeSet<String>);

impl Capabilities {
    /// The capabilities named in a hello.
    pub fn from_names<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(names.into_iter().map(Into::into).collect())
    }

    /// Whether the peer announced `name`.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// Who is on the other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The connection this peer speaks on: its identity for the program.
    pub id: ConnId,
    /// The name the peer gave, already sanitized: only a label.
    pub name: String,
    /// The peer's socket address.
    pub addr: SocketAddr,
    /// How the conversation is protected.
    pub security: Security,
    /// Whether this peer resumed the conversation it had before its
    /// connection dropped (rather than starting anew). Decided in one
    /// place: the host's conversation, when it admits the guest.
    pub resumed: bool,
    /// What resumes this conversation after a drop: on a guest, its own
    /// place; on the host, the place it gave this guest.
    pub resume: Option<Resume>,
    /// The optional features the peer announced.
    pub caps: Capabilities,
}

impl PeerInfo {
    /// Whether the peer is a plain text program (no acknowledgements, no
    /// resuming).
    pub fn is_plain(&self) -> bool {
        matches!(self.security, Security::Plain { .. })
    }

    /// The verification words of an encrypted session.
    pub fn verification(&self) -> Option<&str> {
        match &self.security {
            Security::Encrypted { verification, .. } => Some(verification),
            Security::Plain { .. } => None,
        }
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
    /// Nothing arrived from the peer, not even a heartbeat, for this long.
    Silent(Duration),
    /// The peer took none of what we sent for this long (it stopped reading).
    Stalled(Duration),
    /// The peer speaks a newer protocol and sent something this build may
    /// not skip: reconnecting cannot help.
    Incompatible(String),
    /// The connection failed; the text says how.
    Error(String),
    /// A plain peer sent nothing for this long: its place goes to the next
    /// one (it cannot send heartbeats, so silence is all there is to go by).
    Idle(Duration),
}

impl LeftReason {
    /// Whether the connection dropped (rather than ended on purpose), so the
    /// conversation may resume.
    pub fn is_drop(&self) -> bool {
        matches!(
            self,
            LeftReason::Closed
                | LeftReason::Silent(_)
                | LeftReason::Stalled(_)
                | LeftReason::Error(_)
        )
    }

    /// A short name for scripts (`--json`'s `reason`).
    pub fn code(&self) -> &'static str {
        match self {
            LeftReason::Left => "left",
            LeftReason::Bye => "exit",
            LeftReason::Closed => "closed",
            LeftReason::Silent(_) => "silent",
            LeftReason::Stalled(_) => "stalled",
            LeftReason::Incompatible(_) => "incompatible",
            LeftReason::Error(_) => "error",
            LeftReason::Idle(_) => "idle",
        }
    }

    /// Words for a person: the detail after the reason, if any.
    pub fn detail(&self) -> Option<String> {
        match self {
            LeftReason::Left | LeftReason::Bye | LeftReason::Closed => None,
            LeftReason::Silent(limit) => Some(format!(
                "no sign of life for {}",
                crate::domain::seconds(*limit)
            )),
            LeftReason::Stalled(limit) => Some(format!(
                "it took nothing we sent for {}",
                crate::domain::seconds(*limit)
            )),
            LeftReason::Idle(limit) => Some(format!(
                "it sent nothing for {}",
                crate::domain::seconds(*limit)
            )),
            LeftReason::Incompatible(why) | LeftReason::Error(why) => Some(why.clone()),
        }
    }
}

/// Why the host turned a connection away, by kind: a run of turned-away
/// connections of one kind is one line on screen, whatever their reasons'
/// texts (which name the bytes, the address or the versions) say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// The client does not speak duplex (and plain peers are not allowed).
    NotDuplex,
    /// The client speaks no protocol version this duplex speaks.
    Version,
    /// The handshake did not finish in time.
    TimedOut,
    /// The secret code was wrong, or code attempts are locked out.
    WrongCode,
    /// No secret code was given (a guest that hangs up to ask its user).
    NoCode,
    /// Another guest is already in the conversation.
    Busy,
    /// The host waits for its lost guest to come back, and did not let a
    /// newcomer take its place.
    Away,
    /// The client sent a field over its limit (a name too long).
    OverLimit,
    /// The handshake failed some other way (closed, forged, malformed).
    Failed,
}

impl RejectKind {
    /// A short name for scripts (`--json`'s `kind`).
    pub fn code(self) -> &'static str {
        match self {
            RejectKind::NotDuplex => "not-duplex",
            RejectKind::Version => "version",
            RejectKind::TimedOut => "timed-out",
            RejectKind::WrongCode => "wrong-code",
            RejectKind::NoCode => "no-code",
            RejectKind::Busy => "busy",
            RejectKind::Away => "away",
            RejectKind::OverLimit => "over-limit",
            RejectKind::Failed => "failed",
        }
    }
}

/// A duration in words: `15 seconds`, `1 second`, `0.3 seconds`.
pub fn seconds(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis.is_multiple_of(1000) {
        let secs = millis / 1000;
        format!("{secs} second{}", if secs == 1 { "" } else { "s" })
    } else {
        format!("{:.1} seconds", duration.as_secs_f64())
    }
}

/// Every time limit duplex runs by, in one place, so tests can shorten
/// them instead of waiting them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a peer has to complete the handshake.
    pub handshake: Duration,
    /// How long a side may be quiet before it sends a heartbeat.
    pub heartbeat: Duration,
    /// How long a peer may be silent (no frame, not even a heartbeat)
    /// before the connection counts as dead.
    pub silence: Duration,
    /// How long a connection may take nothing of what we write before the
    /// peer counts as gone (it stopped reading, perhaps still sending).
    pub stall: Duration,
    /// How long an acknowledgement may wait so that the next ones replace it.
    pub ack_delay: Duration,
    /// Bytes of our messages that may be on their way to a peer without
    /// its acknowledgement; the rest wait, so a peer that is slow or
    /// suspended never faces an unbounded queue.
    pub window: usize,
    /// Bytes of undelivered messages the outbox takes from piped input
    /// before it stops reading more (connected or not).
    pub input_budget: usize,
    /// Most entries the screen's history keeps (`--history-limit`); the
    /// oldest go first.
    pub history_entries: usize,
    /// Most bytes of message text the screen's history keeps.
    pub history_bytes: usize,
    /// How long a host's plain peer may send nothing before it is dropped
    /// and the host waits for the next guest.
    pub plain_idle: Duration,
    /// How long a newcomer waits for the host's person to let it in while
    /// the host's guest is away (see [`Newcomers::Ask`]).
    pub knock: Duration,
}

/// What a guest does with the messages it typed for a conversation when it
/// reconnects and finds a new one at the host's address (a restarted host,
/// or someone else listening there): they never go to it unasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeldMessages {
    /// Hold them and ask (the chat screen), or wait for `/held send` or
    /// `/held discard` (headless).
    #[default]
    Ask,
    /// Send them to the new conversation.
    Send,
    /// Drop them (marked not delivered).
    Discard,
}

/// What a host does with a newcomer while its guest is away (dropped, and
/// may come back): the lost guest's place is not given to a stranger
/// without the host's consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Newcomers {
    /// Ask the host's person (the chat screen), who lets it in or not.
    #[default]
    Ask,
    /// Turn it away; the seat waits for the lost guest (headless default).
    Refuse,
    /// Let it in: the lost guest's place is given up.
    Admit,
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Limits {
    /// The limits duplex runs by.
    pub const DEFAULT: Limits = Limits {
        handshake: Duration::from_secs(10),
        heartbeat: Duration::from_secs(5),
        silence: Duration::from_secs(15),
        stall: Duration::from_secs(30),
        ack_delay: Duration::from_millis(5),
        window: 256 * 1024,
        input_budget: 1024 * 1024,
        history_entries: 100_000,
        history_bytes: 64 * 1024 * 1024,
        plain_idle: Duration::from_secs(10 * 60),
        knock: Duration::from_secs(60),
    };

    /// The limits, with any overrides from `DUPLEX_TEST_LIMITS` in debug
    /// builds (for the end-to-end tests: `silence=300ms,heartbeat=100ms`).
    /// Release builds always use the defaults.
    pub fn from_env() -> Self {
        let limits = Self::default();
        #[cfg(debug_assertions)]
        if let Ok(spec) = std::env::var("DUPLEX_TEST_LIMITS") {
            return limits.with_overrides(&spec);
        }
        limits
    }

    /// These limits with `name=value` overrides (`value` in `ms` or `s`, or
    /// a byte count for `window` and `input_budget`); unknown or malformed
    /// items are ignored.
    pub fn with_overrides(mut self, spec: &str) -> Self {
        for item in spec.split(',') {
            let Some((name, value)) = item.split_once('=') else {
                continue;
            };
            let value = value.trim();
            let duration = value
                .strip_suffix("ms")
                .and_then(|ms| ms.parse().ok())
                .map(Duration::from_millis)
                .or_else(|| {
                    value
                        .strip_suffix('s')
                        .and_then(|s| s.parse().ok())
                        .map(Duration::from_secs)
                });
            let bytes = value.parse::<usize>().ok();
            match (name.trim(), duration, bytes) {
                ("handshake", Some(d), _) => self.handshake = d,
                ("heartbeat", Some(d), _) => self.heartbeat = d,
                ("silence", Some(d), _) => self.silence = d,
                ("stall", Some(d), _) => self.stall = d,
                ("ack_delay", Some(d), _) => self.ack_delay = d,
                ("plain_idle", Some(d), _) => self.plain_idle = d,
                ("knock", Some(d), _) => self.knock = d,
                ("window", _, Some(b)) => self.window = b,
                ("input_budget", _, Some(b)) => self.input_budget = b,
                ("history_entries", _, Some(n)) => self.history_entries = n,
                ("history_bytes", _, Some(b)) => self.history_bytes = b,
                _ => {}
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_shorten_limits_and_ignore_junk() {
        let limits = Limits::default()
            .with_overrides("silence=300ms, stall=2s,window=100,bogus=1,heartbeat=x,plain_idle=1s");
        assert_eq!(limits.silence, Duration::from_millis(300));
        assert_eq!(limits.plain_idle, Duration::from_secs(1));
        assert_eq!(limits.stall, Duration::from_secs(2));
        assert_eq!(limits.window, 100);
        assert_eq!(limits.heartbeat, Limits::default().heartbeat);
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(seconds(Duration::from_secs(15)), "15 seconds");
        assert_eq!(seconds(Duration::from_secs(1)), "1 second");
        assert_eq!(seconds(Duration::from_millis(300)), "0.3 seconds");
    }

    #[test]
    fn only_drops_may_resume() {
        assert!(LeftReason::Closed.is_drop());
        assert!(LeftReason::Silent(Duration::from_secs(1)).is_drop());
        assert!(!LeftReason::Bye.is_drop());
        assert!(!LeftReason::Incompatible("x".into()).is_drop());
        assert!(!LeftReason::Idle(Duration::from_secs(1)).is_drop());
    }
}
