//! The wire protocol, kept free of IO so it can be tested byte by byte.
//!
//! A connection is a TCP byte stream, which has no message boundaries (the
//! "sticky packet" problem). duplex therefore speaks in *frames*:
//!
//! 1. Each side opens with a 10-byte [`preamble`](handshake::Preamble): magic
//!    bytes and the range of protocol versions it speaks, so that a peer
//!    speaking something else is recognised at once and told so, and both
//!    use the highest version in common.
//! 2. After the preamble every frame is a 4-byte big-endian length followed
//!    by a [`Frame`](frame::Frame) body encoded with postcard
//!    ([`codec::FrameCodec`]), never longer than [`codec::MAX_FRAME_LEN`].
//! 3. Both sides exchange a [`Hello`](frame::Hello) carrying their name and
//!    capabilities, then chat frames flow both ways independently. Every
//!    frame names its kind, and says by that kind whether a receiver that
//!    does not know it may skip it (see [`frame`]).
//!
//! `docs/protocol.md` describes the whole format.

pub mod codec;
pub mod crypto;
pub mod frame;
pub mod handshake;
pub mod transfer;

pub use codec::{CodecError, FrameCodec, MAX_FRAME_LEN};
pub use frame::{ChatMessage, Frame, Hello, MessageId, Resume, TypingState};
pub use handshake::{HandshakeError, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, Preamble, Versions};
