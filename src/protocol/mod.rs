//! The wire protocol, kept free of IO so it can be tested byte by byte.
//!
//! A connection is a TCP byte stream, which has no message boundaries (the
//! "sticky packet" problem). duplex therefore speaks in *frames*:
//!
//! 1. The guest opens with an 8-byte [`preamble`](handshake::Preamble): magic
//!    bytes and the protocol version, so that a peer speaking something else
//!    is recognised at once and told so.
//! 2. After the preamble every frame is a 4-byte big-endian length followed
//!    by a [`Frame`](frame::Frame) body encoded with postcard
//!    ([`codec::FrameCodec`]), never longer than [`codec::MAX_FRAME_LEN`].
//! 3. Both sides exchange a [`Hello`](frame::Hello) carrying their name, then
//!    chat frames flow both ways independently.

pub mod codec;
pub mod crypto;
pub mod frame;
pub mod handshake;

pub use codec::{CodecError, FrameCodec, MAX_FRAME_LEN};
pub use frame::{ChatMessage, Frame, Hello, MessageId, Resume};
pub use handshake::{HandshakeError, PROTOCOL_VERSION, Preamble};
