//! Typed frame bodies: every kind of traffic one connection carries, and
//! the envelope that lets the protocol grow.
//!
//! A frame body is a *kind* (a postcard varint) followed by that kind's
//! fields (postcard). Kinds are numbered here, explicitly, never by the
//! order of an enum, and their lowest bit says what a receiver that does
//! not know the kind must do, like the case bit of PNG's chunk names:
//!
//! - an **even** kind is *optional*: a receiver that does not know it skips
//!   the frame and reads on (a newer peer's typing indicator, say);
//! - an **odd** kind is *required*: a receiver that does not know it must not
//!   carry on as if nothing happened, so it ends the connection with an
//!   error naming the kind ("update duplex").
//!
//! A known kind may grow: new fields are appended at the end of its body,
//! and a receiver ignores bytes after the fields it knows. A peer sends a
//! kind that needs a capability only if the other side announced that
//! capability in its [`Hello`]. See `docs/protocol.md`.

use serde::{Deserialize, Serialize};

pub use crate::domain::Resume;

use super::transfer::TransferFrame;

/// Longest chat message text, in bytes, that a peer may send.
pub const MAX_TEXT_LEN: usize = 32 * 1024;

/// Longest name, in bytes, accepted on the wire (it is shortened further for display).
pub const MAX_NAME_LEN: usize = 256;

/// The capabilities this build announces in its hello: the optional
/// features added since protocol version 3 began.
pub const CAPABILITIES: &[&str] = &[
    capability::NICK,
    capability::WAITING,
    capability::FILES,
    capability::TYPING,
];

/// Names of optional features, as announced in [`Hello::capabilities`].
pub mod capability {
    /// The peer shows our name changes: [`super::Frame::Nick`].
    pub const NICK: &str = "nick";
    /// The guest understands [`super::Frame::Waiting`] before the host's hello.
    pub const WAITING: &str = "waiting";
    /// The peer can receive files: [`super::Frame::Transfer`] (kinds 14–28).
    pub const FILES: &str = "files";
    /// The peer understands [`super::Frame::Typing`] (and wants it: a
    /// duplex started with `--no-typing` does not announce it).
    pub const TYPING: &str = "typing";
}

/// What a person is doing with their draft, as IRCv3's `+typing` tag says
/// it: typing now, stopped with text still in the box, or no draft any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypingState {
    /// Typing now; shown for a few seconds unless repeated.
    Active,
    /// Stopped typing, with a draft left in the box.
    Paused,
    /// The draft was cleared (or sent).
    Done,
}

impl TypingState {
    /// Its byte on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            TypingState::Active => 0,
            TypingState::Paused => 1,
            TypingState::Done => 2,
        }
    }

    /// The state a byte names; a state a newer peer added is read as
    /// `Done` (whatever it is, it is not "typing now").
    pub fn from_byte(byte: u8) -> Self {
        match byte {
            0 => TypingState::Active,
            1 => TypingState::Paused,
            _ => TypingState::Done,
        }
    }

    /// Its name, as IRCv3 and `--json` spell it.
    pub fn name(self) -> &'static str {
        match self {
            TypingState::Active => "active",
            TypingState::Paused => "paused",
            TypingState::Done => "done",
        }
    }
}

/// The capability of [`Frame::Nick`]: the peer shows our name changes.
pub use capability::NICK;

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
    /// Whether it is an action (`/me waves`, shown as `* alice waves`).
    /// Appended to the kind's fields, and only when set: an older peer
    /// ignores it and shows the text as a message; none means `false`. (A
    /// field appended after it one day is written with the flag before it,
    /// `false` included.)
    pub action: bool,
}

/// A chat message's fields as the first version of the kind had them.
#[derive(Deserialize)]
struct ChatFields {
    id: MessageId,
    sent_at_ms: i64,
    text: String,
}

/// The first frame each side sends after the Noise handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The sender's display name (sanitized by the receiver): only a label.
    pub name: String,
    /// Name and version of the sending program, for diagnostics.
    pub software: String,
    /// From a guest: the conversation it wants to resume, if any, with its
    /// proof. From the host: the conversation, with the host's proof when
    /// the guest resumed (see [`crate::protocol::crypto::resume_proof`]).
    pub resume: Option<Resume>,
    /// From the host: whether the guest's resume was accepted.
    pub resumed: bool,
    /// The optional features the sender understands, by name.
    pub capabilities: Vec<String>,
    /// From a host whose secret codes are single-use: the code the guest
    /// must give to come back after a drop (the one it joined with no
    /// longer works). An appended field: written only when set, and an
    /// older peer stops reading before it.
    #[serde(skip)]
    pub next_code: Option<String>,
}

impl Hello {
    /// A hello from this program with the given name and this build's capabilities.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            software: concat!("duplex ", env!("CARGO_PKG_VERSION")).to_owned(),
            resume: None,
            resumed: false,
            capabilities: CAPABILITIES.iter().map(|&name| name.to_owned()).collect(),
            next_code: None,
        }
    }
}

/// Everything that travels over a duplex connection after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// From the host, before its hello: the guest must wait for a decision
    /// (the host's person is asked whether to let it in), for at most
    /// `seconds`; the guest keeps waiting instead of timing out.
    Waiting {
        /// Why, in words for a person.
        reason: String,
        /// How long the host may take to decide.
        seconds: u32,
    },
    /// A frame of a file transfer (capability `files`).
    Transfer(TransferFrame),
    /// The sender is typing (or stopped): shown as "alice is typing…".
    /// Optional, and sent only to a peer that announced `typing`.
    Typing {
        /// What the sender's person is doing.
        state: TypingState,
    },
    /// The sender is now called `name` (`/nick`); only to a peer that
    /// announced [`NICK`].
    Nick {
        /// The new name (sanitized by the receiver, as a hello's is).
        name: String,
    },
    /// A frame of an optional kind this build does not know: received from a
    /// newer peer (and skipped), or sent by tests that play one.
    Unknown {
        /// Its kind (even: optional).
        kind: u32,
        /// Its body, uninterpreted.
        body: Vec<u8>,
    },
}

/// The kind numbers of the wire format. Odd: required; even: optional.
pub mod kind {
    /// [`super::Frame::Hello`].
    pub const HELLO: u32 = 1;
    /// [`super::Frame::Chat`].
    pub const CHAT: u32 = 3;
    /// [`super::Frame::Leave`].
    pub const LEAVE: u32 = 5;
    /// [`super::Frame::Bye`].
    pub const BYE: u32 = 7;
    /// [`super::Frame::Refused`].
    pub const REFUSED: u32 = 9;
    /// [`super::Frame::Ack`].
    pub const ACK: u32 = 2;
    /// [`super::Frame::Heartbeat`].
    pub const HEARTBEAT: u32 = 4;
    /// [`super::Frame::Typing`].
    pub const TYPING: u32 = 8;
    /// [`super::Frame::Nick`].
    pub const NICK: u32 = 10;
    /// [`super::Frame::Waiting`].
    pub const WAITING: u32 = 12;

    /// Whether a receiver that does not know `kind` must refuse it.
    pub fn is_required(kind: u32) -> bool {
        kind & 1 == 1
    }
}

/// Why a frame body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Not even a kind, or a known kind whose fields are malformed.
    #[error("undecodable frame: {0}")]
    Undecodable(#[from] postcard::Error),
    /// A required kind this build does not know.
    #[error(
        "the peer sent a frame of kind {0}, which this duplex does not know and may not skip; \
         update duplex"
    )]
    UnknownRequired(u32),
    /// A known kind whose field is longer than the protocol allows (chat
    /// text over [`MAX_TEXT_LEN`], a name over [`MAX_NAME_LEN`]).
    #[error("the peer sent {what} of {len} bytes, over the {limit}-byte limit")]
    OverLimit {
        /// What was too long, in words ("a chat message", "a name").
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
}

/// `Err` if `len` is over `limit`: a field a peer may not send.
fn within(what: &'static str, len: usize, limit: usize) -> Result<(), BodyError> {
    if len > limit {
        return Err(BodyError::OverLimit { what, len, limit });
    }
    Ok(())
}

impl Frame {
    /// A short name of the frame's kind, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Frame::Hello(_) => "hello",
            Frame::Chat(_) => "chat",
            Frame::Leave => "leave",
            Frame::Bye => "bye",
            Frame::Refused { .. } => "refused",
            Frame::Ack { .. } => "ack",
            Frame::Heartbeat => "heartbeat",
            Frame::Waiting { .. } => "waiting",
            Frame::Transfer(frame) => frame.name(),
            Frame::Typing { .. } => "typing",
            Frame::Nick { .. } => "nick",
            Frame::Unknown { .. } => "unknown",
        }
    }

    /// The frame's kind number on the wire.
    pub fn kind(&self) -> u32 {
        match self {
            Frame::Hello(_) => kind::HELLO,
            Frame::Chat(_) => kind::CHAT,
            Frame::Leave => kind::LEAVE,
            Frame::Bye => kind::BYE,
            Frame::Refused { .. } => kind::REFUSED,
            Frame::Ack { .. } => kind::ACK,
            Frame::Heartbeat => kind::HEARTBEAT,
            Frame::Waiting { .. } => kind::WAITING,
            Frame::Transfer(frame) => frame.kind(),
            Frame::Typing { .. } => kind::TYPING,
            Frame::Nick { .. } => kind::NICK,
            Frame::Unknown { kind, .. } => *kind,
        }
    }

    /// The capability a peer must have announced before it is sent this
    /// frame. Every kind of protocol version 3 as it began is part of the
    /// version itself; later optional features name theirs here.
    pub fn capability(&self) -> Option<&'static str> {
        match self {
            Frame::Waiting { .. } => Some(capability::WAITING),
            Frame::Transfer(_) => Some(capability::FILES),
            Frame::Typing { .. } => Some(capability::TYPING),
            Frame::Nick { .. } => Some(NICK),
            _ => None,
        }
    }

    /// About how many bytes the frame takes on the wire, for byte budgets.
    pub fn wire_len(&self) -> usize {
        /// Length prefix, kind, ids and the seal's tag, roughly.
        const OVERHEAD: usize = 48;
        OVERHEAD
            + match self {
                Frame::Chat(msg) => msg.text.len(),
                Frame::Hello(hello) => hello.name.len() + hello.software.len(),
                Frame::Refused { reason }
                | Frame::Waiting { reason, .. }
                | Frame::Nick { name: reason } => reason.len(),
                Frame::Unknown { body, .. } => body.len(),
                Frame::Transfer(frame) => frame.fields_len(),
                Frame::Leave
                | Frame::Bye
                | Frame::Ack { .. }
                | Frame::Heartbeat
                | Frame::Typing { .. } => 0,
            }
    }

    /// Encodes the frame body: its kind, then its fields.
    pub fn encode(&self) -> Result<Vec<u8>, postcard::Error> {
        let mut out = postcard::to_stdvec(&self.kind())?;
        let fields = match self {
            Frame::Hello(hello) => {
                let mut fields = postcard::to_stdvec(hello)?;
                if hello.next_code.is_some() {
                    fields.extend(postcard::to_stdvec(&hello.next_code)?);
                }
                fields
            }
            // The action flag is appended only when set: a message's bytes
            // are as they were before actions.
            Frame::Chat(msg) if msg.action => postcard::to_stdvec(msg)?,
            Frame::Chat(msg) => postcard::to_stdvec(&(msg.id, msg.sent_at_ms, &msg.text))?,
            Frame::Refused { reason } => postcard::to_stdvec(reason)?,
            Frame::Nick { name } => postcard::to_stdvec(name)?,
            Frame::Ack { up_to } => postcard::to_stdvec(up_to)?,
            Frame::Waiting { reason, seconds } => postcard::to_stdvec(&(reason, seconds))?,
            Frame::Typing { state } => vec![state.to_byte()],
            Frame::Leave | Frame::Bye | Frame::Heartbeat => Vec::new(),
            Frame::Unknown { body, .. } => body.clone(),
            Frame::Transfer(frame) => frame.encode_fields()?,
        };
        out.extend_from_slice(&fields);
        Ok(out)
    }

    /// Decodes a frame body. Bytes after the fields of a known kind are
    /// ignored (a newer peer appended fields); an unknown optional kind is
    /// [`Frame::Unknown`]; an unknown required kind is an error, and so is
    /// chat text over [`MAX_TEXT_LEN`] or a name over [`MAX_NAME_LEN`]:
    /// refused on receipt, before they reach anything else.
    pub fn decode(body: &[u8]) -> Result<Frame, BodyError> {
        let (kind, fields) = postcard::take_from_bytes::<u32>(body)?;
        fn take<'a, T: Deserialize<'a>>(fields: &'a [u8]) -> Result<T, BodyError> {
            Ok(postcard::take_from_bytes::<T>(fields)?.0)
        }
        Ok(match kind {
            kind::HELLO => {
                let (mut hello, appended) = postcard::take_from_bytes::<Hello>(fields)?;
                within("a name", hello.name.len(), MAX_NAME_LEN)?;
                // An older peer appends nothing: no code.
                hello.next_code = postcard::take_from_bytes::<Option<String>>(appended)
                    .ok()
                    .and_then(|(code, _)| code);
                if let Some(code) = &hello.next_code {
                    within("a secret code", code.len(), MAX_NAME_LEN)?;
                }
                Frame::Hello(hello)
            }
            kind::CHAT => {
                let (msg, appended) = postcard::take_from_bytes::<ChatFields>(fields)?;
                within("a chat message", msg.text.len(), MAX_TEXT_LEN)?;
                // An older peer sends no action flag: a plain message.
                let action = postcard::take_from_bytes::<bool>(appended)
                    .map(|(action, _)| action)
                    .unwrap_or(false);
                Frame::Chat(ChatMessage {
                    id: msg.id,
                    sent_at_ms: msg.sent_at_ms,
                    text: msg.text,
                    action,
                })
            }
            kind::LEAVE => Frame::Leave,
            kind::BYE => Frame::Bye,
            kind::REFUSED => Frame::Refused {
                reason: take(fields)?,
            },
            kind::ACK => Frame::Ack {
                up_to: take(fields)?,
            },
            kind::HEARTBEAT => Frame::Heartbeat,
            kind::WAITING => {
                let (reason, seconds): (String, u32) = take(fields)?;
                within("a reason", reason.len(), MAX_TEXT_LEN)?;
                Frame::Waiting { reason, seconds }
            }
            kind::TYPING => Frame::Typing {
                state: TypingState::from_byte(
                    *fields
                        .first()
                        .ok_or(postcard::Error::DeserializeUnexpectedEnd)?,
                ),
            },
            kind::NICK => {
                let name: String = take(fields)?;
                within("a name", name.len(), MAX_NAME_LEN)?;
                Frame::Nick { name }
            }
            other if kind::is_required(other) => return Err(BodyError::UnknownRequired(other)),
            other => match TransferFrame::decode(other, fields) {
                Some(frame) => Frame::Transfer(frame?),
                None => Frame::Unknown {
                    kind: other,
                    body: fields.to_vec(),
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next code is an appended field: a hello without one has the
    /// bytes it always had, and an older peer reading one with it stops
    /// before it.
    #[test]
    fn the_next_code_is_an_appended_field() {
        let plain = Frame::Hello(Hello::new("alice"));
        let old_bytes = plain.encode().unwrap();
        assert_eq!(Frame::decode(&old_bytes).unwrap(), plain);
        let mut hello = Hello::new("alice");
        hello.next_code = Some("amber-otter-violin".into());
        let bytes = Frame::Hello(hello.clone()).encode().unwrap();
        assert!(bytes.starts_with(&old_bytes));
        assert_eq!(Frame::decode(&bytes).unwrap(), Frame::Hello(hello));
        let mut long = Hello::new("alice");
        long.next_code = Some("x".repeat(MAX_NAME_LEN + 1));
        let bytes = Frame::Hello(long).encode().unwrap();
        assert!(matches!(
            Frame::decode(&bytes),
            Err(BodyError::OverLimit { .. })
        ));
    }
    use proptest::prelude::*;

    fn chat(text: &str) -> Frame {
        Frame::Chat(ChatMessage {
            id: MessageId { session: 7, seq: 9 },
            sent_at_ms: 1,
            text: text.to_owned(),
            action: false,
        })
    }

    #[test]
    fn text_and_names_over_their_limits_are_refused_on_decoding() {
        let at_limit = chat(&"x".repeat(MAX_TEXT_LEN)).encode().unwrap();
        assert!(Frame::decode(&at_limit).is_ok());
        let over = chat(&"x".repeat(MAX_TEXT_LEN + 1)).encode().unwrap();
        let err = Frame::decode(&over).unwrap_err();
        assert!(
            matches!(err, BodyError::OverLimit { len, limit: MAX_TEXT_LEN, .. } if len == MAX_TEXT_LEN + 1)
        );
        assert!(err.to_string().contains("32768-byte limit"), "{err}");
        let named = |name: &str| Frame::Hello(Hello::new(name)).encode().unwrap();
        assert!(Frame::decode(&named(&"n".repeat(MAX_NAME_LEN))).is_ok());
        let err = Frame::decode(&named(&"n".repeat(MAX_NAME_LEN + 1))).unwrap_err();
        assert!(err.to_string().contains("a name of 257 bytes"), "{err}");
    }

    #[test]
    fn every_kind_round_trips() {
        let mut hello = Hello::new("ann");
        hello.capabilities = vec!["typing".into()];
        hello.resume = Some(Resume {
            conversation: 3,
            token: 4,
        });
        for frame in [
            Frame::Hello(hello),
            chat("hi 你好"),
            Frame::Leave,
            Frame::Bye,
            Frame::Refused {
                reason: "busy".into(),
            },
            Frame::Ack {
                up_to: MessageId { session: 1, seq: 2 },
            },
            Frame::Heartbeat,
            Frame::Typing {
                state: TypingState::Active,
            },
            Frame::Typing {
                state: TypingState::Paused,
            },
            Frame::Typing {
                state: TypingState::Done,
            },
            Frame::Nick {
                name: "ally".into(),
            },
            Frame::Chat(ChatMessage {
                action: true,
                ..chat_message("waves")
            }),
            Frame::Unknown {
                kind: 1000,
                body: vec![1, 2, 3],
            },
        ] {
            let bytes = frame.encode().unwrap();
            assert_eq!(Frame::decode(&bytes).unwrap(), frame);
        }
    }

    /// Typing is optional (even), needs its capability, reads a state a
    /// newer peer added as not typing, and ignores appended bytes.
    #[test]
    fn typing_is_an_optional_kind_behind_its_capability() {
        assert!(!kind::is_required(kind::TYPING));
        let frame = Frame::Typing {
            state: TypingState::Active,
        };
        assert_eq!(frame.capability(), Some(capability::TYPING));
        assert!(CAPABILITIES.contains(&capability::TYPING));
        assert_eq!(frame.encode().unwrap(), vec![8, 0]);
        assert_eq!(
            Frame::decode(&[8, 9, 1, 2]).unwrap(),
            Frame::Typing {
                state: TypingState::Done
            }
        );
        assert!(Frame::decode(&[8]).is_err());
    }

    fn chat_message(text: &str) -> ChatMessage {
        match chat(text) {
            Frame::Chat(msg) => msg,
            _ => unreachable!(),
        }
    }

    /// An action reaches an older peer as a plain message (it stops reading
    /// at the text), and an older peer's message (no flag) is no action.
    #[test]
    fn the_action_flag_is_an_appended_field() {
        #[derive(Serialize)]
        struct OldChat<'a> {
            id: MessageId,
            sent_at_ms: i64,
            text: &'a str,
        }
        let old = OldChat {
            id: MessageId { session: 7, seq: 9 },
            sent_at_ms: 1,
            text: "waves",
        };
        let mut old_bytes = postcard::to_stdvec(&kind::CHAT).unwrap();
        old_bytes.extend(postcard::to_stdvec(&old).unwrap());
        assert_eq!(Frame::decode(&old_bytes).unwrap(), chat("waves"));
        let action = Frame::Chat(ChatMessage {
            action: true,
            ..chat_message("waves")
        });
        let new_bytes = action.encode().unwrap();
        assert_eq!(new_bytes[..old_bytes.len()], old_bytes[..]);
        assert_eq!(new_bytes.len(), old_bytes.len() + 1);
        let (_, fields) = postcard::take_from_bytes::<u32>(&new_bytes).unwrap();
        let (read, _) = postcard::take_from_bytes::<ChatFields>(fields).unwrap();
        assert_eq!(read.text, "waves");
    }

    /// A name change is optional (an older peer skips it), needs the nick
    /// capability, and is held to the name limit.
    #[test]
    fn a_name_change_is_an_optional_kind_behind_a_capability() {
        let nick = Frame::Nick {
            name: "ally".into(),
        };
        assert!(!kind::is_required(nick.kind()));
        assert_eq!(nick.capability(), Some(NICK));
        assert!(CAPABILITIES.contains(&NICK));
        assert_eq!(chat("x").capability(), None);
        let long = Frame::Nick {
            name: "n".repeat(MAX_NAME_LEN + 1),
        };
        let err = Frame::decode(&long.encode().unwrap()).unwrap_err();
        assert!(err.to_string().contains("a name of 257 bytes"), "{err}");
    }

    #[test]
    fn kinds_say_whether_they_may_be_skipped() {
        assert!(kind::is_required(kind::CHAT) && kind::is_required(kind::HELLO));
        assert!(!kind::is_required(kind::ACK) && !kind::is_required(kind::HEARTBEAT));
    }

    #[test]
    fn an_unknown_optional_kind_is_skipped_and_a_required_one_refused() {
        let mut optional = postcard::to_stdvec(&40_u32).unwrap();
        optional.extend_from_slice(b"future");
        assert_eq!(
            Frame::decode(&optional).unwrap(),
            Frame::Unknown {
                kind: 40,
                body: b"future".to_vec()
            }
        );
        let required = postcard::to_stdvec(&41_u32).unwrap();
        let err = Frame::decode(&required).unwrap_err();
        assert!(matches!(err, BodyError::UnknownRequired(41)));
        assert!(err.to_string().contains("update duplex"), "{err}");
    }

    #[test]
    fn fields_a_newer_peer_appended_are_ignored() {
        let frame = chat("hello");
        let mut bytes = frame.encode().unwrap();
        bytes.extend_from_slice(&[0xff, 0x01, 0x02]);
        assert_eq!(Frame::decode(&bytes).unwrap(), frame);
        // A hello from a newer peer with a field after the capabilities.
        let mut hello = Frame::Hello(Hello::new("x")).encode().unwrap();
        hello.extend_from_slice(&postcard::to_stdvec(&"new field").unwrap());
        assert!(matches!(Frame::decode(&hello), Ok(Frame::Hello(h)) if h.name == "x"));
    }

    #[test]
    fn the_wire_estimate_is_at_least_the_encoded_size() {
        for frame in [chat(&"x".repeat(1000)), Frame::Heartbeat, Frame::Leave] {
            assert!(frame.wire_len() >= frame.encode().unwrap().len() + 4 + 16);
        }
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Frame::decode(&bytes);
        }

        #[test]
        fn chat_text_round_trips(text in ".{0,200}", seq in any::<u64>()) {
            let frame = Frame::Chat(ChatMessage { id: MessageId { session: 1, seq }, sent_at_ms: -5, text, action: seq % 2 == 0 });
            prop_assert_eq!(Frame::decode(&frame.encode().unwrap()).unwrap(), frame);
        }
    }
}
