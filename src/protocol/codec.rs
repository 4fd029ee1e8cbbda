//! Length-prefixed framing: turns the TCP byte stream into [`Frame`]s and back.
//!
//! Framing is delegated to tokio-util's [`LengthDelimitedCodec`] (a 4-byte
//! big-endian length, then the body) with a hard maximum. A body is a
//! postcard-encoded [`Frame`], sealed by the session's [`Sealer`] on a real
//! connection. A frame that is too large, forged or undecodable is an error
//! for that connection only; nothing here panics on peer input.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

use super::crypto::{CryptoError, MAX_NOISE_MESSAGE, Opener, Sealer, TAG_LEN};
use super::frame::{BodyError, Frame};

/// Largest frame body on the wire, in bytes, either side accepts (the
/// largest Noise message).
pub const MAX_FRAME_LEN: usize = MAX_NOISE_MESSAGE;

/// Largest encoded frame before sealing.
pub const MAX_PLAINTEXT_LEN: usize = MAX_FRAME_LEN - TAG_LEN;

/// Size of the length prefix in front of every frame body.
const LENGTH_PREFIX_LEN: usize = 4;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The length prefix announces more than [`MAX_FRAME_LEN`] bytes.
    #[error("peer sent a frame of {len} bytes, over the {MAX_FRAME_LEN}-byte limit")]
    TooLarge {
        /// The announced length.
        len: usize,
    },
    /// We were asked to send a frame larger than [`MAX_FRAME_LEN`].
    #[error("frame of {len} bytes is over the {MAX_FRAME_LEN}-byte limit")]
    OutgoingTooLarge {
        /// The encoded length.
        len: usize,
    },
    /// The body is not a valid frame.
    #[error("peer sent an undecodable frame: {0}")]
    Undecodable(#[from] postcard::Error),
    /// The peer sent a required kind of frame this build does not know.
    #[error(
        "the peer sent a frame of kind {0}, which this duplex does not know and may not skip; \
         update duplex"
    )]
    UnknownRequired(u32),
    /// A field over its limit (chat text, a name): see [`BodyError::OverLimit`].
    #[error("the peer sent {what} of {len} bytes, over the {limit}-byte limit")]
    OverLimit {
        /// What was too long, in words.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A sealed frame did not open.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The stream ended in the middle of a frame.
    #[error("connection closed in the middle of a frame")]
    Truncated,
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Encodes and decodes [`Frame`]s with a length prefix, sealing and opening
/// them when it holds the session's keys.
#[derive(Debug)]
pub struct FrameCodec {
    inner: LengthDelimitedCodec,
    /// Whether `inner` has consumed a length prefix and awaits its body.
    in_body: bool,
    sealer: Option<Sealer>,
    opener: Option<Opener>,
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameCodec {
    /// A codec that frames without encryption: for tests and fuzzing of the
    /// framing itself. Connections always use [`FrameCodec::encrypted`].
    pub fn new() -> Self {
        Self {
            inner: length_delimited(),
            in_body: false,
            sealer: None,
            opener: None,
        }
    }

    /// A codec that seals what it encodes and opens what it decodes.
    pub fn encrypted(sealer: Sealer, opener: Opener) -> Self {
        Self {
            sealer: Some(sealer),
            opener: Some(opener),
            ..Self::new()
        }
    }

    /// Splits into a reading codec (with the opener and the decoding state)
    /// and a writing codec (with the sealer), one for each task.
    pub fn split(self) -> (FrameCodec, FrameCodec) {
        let writer = FrameCodec {
            sealer: self.sealer,
            ..FrameCodec::new()
        };
        let reader = FrameCodec {
            inner: self.inner,
            in_body: self.in_body,
            sealer: None,
            opener: self.opener,
        };
        (reader, writer)
    }
}

/// The length-prefix codec every duplex stream uses, also for the
/// handshake's raw messages.
pub fn length_delimited() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(LENGTH_PREFIX_LEN)
        .max_frame_length(MAX_FRAME_LEN)
        .new_codec()
}

/// Decodes one frame body (without its length prefix).
pub fn decode_body(body: &[u8]) -> Result<Frame, CodecError> {
    Frame::decode(body).map_err(|err| match err {
        BodyError::Undecodable(err) => CodecError::Undecodable(err),
        BodyError::UnknownRequired(kind) => CodecError::UnknownRequired(kind),
        BodyError::OverLimit { what, len, limit } => CodecError::OverLimit { what, len, limit },
    })
}

/// Encodes one frame body (without its length prefix).
pub fn encode_body(frame: &Frame) -> Result<Vec<u8>, CodecError> {
    let body = frame.encode()?;
    if body.len() > MAX_PLAINTEXT_LEN {
        return Err(CodecError::OutgoingTooLarge { len: body.len() });
    }
    Ok(body)
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        // Check the announced length ourselves so the error can name it.
        let has_prefix = !self.in_body && src.len() >= LENGTH_PREFIX_LEN;
        if has_prefix {
            let len = (&src[..LENGTH_PREFIX_LEN]).get_u32() as usize;
            if len > MAX_FRAME_LEN {
                return Err(CodecError::TooLarge { len });
            }
        }
        match self.inner.decode(src)? {
            Some(body) => {
                self.in_body = false;
                match &mut self.opener {
                    Some(opener) => decode_body(&opener.open(&body)?).map(Some),
                    None => decode_body(&body).map(Some),
                }
            }
            None => {
                // The inner codec keeps a length prefix it consumed.
                self.in_body |= has_prefix;
                Ok(None)
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            // A consumed length prefix with no body is a cut-off frame too.
            None if src.is_empty() && !self.in_body => Ok(None),
            None => Err(CodecError::Truncated),
        }
    }
}

impl Encoder<Frame> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut body = encode_body(&frame)?;
        if let Some(sealer) = &mut self.sealer {
            body = sealer.seal(&body)?;
        }
        self.inner.encode(bytes::Bytes::from(body), dst)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::{ChatMessage, Hello, MessageId};
    use bytes::BufMut;
    use proptest::prelude::*;

    fn chat(text: &str) -> Frame {
        Frame::Chat(ChatMessage {
            id: MessageId { session: 7, seq: 1 },
            sent_at_ms: 1_700_000_000_000,
            text: text.to_owned(),
            action: false,
        })
    }

    fn encode(frame: Frame) -> BytesMut {
        let mut buf = BytesMut::new();
        FrameCodec::new().encode(frame, &mut buf).expect("encodes");
        buf
    }

    #[test]
    fn round_trips_every_kind() {
        let frames = [
            Frame::Hello(Hello::new("alice")),
            chat("hello 世界 👨‍👩‍👧"),
            Frame::Leave,
            Frame::Bye,
            Frame::Refused {
                reason: "busy".into(),
            },
            Frame::Ack {
                up_to: MessageId { session: 3, seq: 9 },
            },
            Frame::Heartbeat,
            Frame::Waiting {
                reason: "asking".into(),
                seconds: 60,
            },
        ];
        for frame in frames {
            let mut buf = encode(frame.clone());
            let decoded = FrameCodec::new().decode(&mut buf).expect("decodes");
            assert_eq!(decoded, Some(frame));
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn sticky_packets_split_into_frames() {
        // Three frames glued together in one read, as TCP may deliver them.
        let mut buf = encode(chat("one"));
        buf.extend_from_slice(&encode(chat("two")));
        buf.extend_from_slice(&encode(Frame::Bye));
        let mut codec = FrameCodec::new();
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(chat("one")));
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(chat("two")));
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(Frame::Bye));
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
    }

    #[test]
    fn partial_frame_waits_for_more_bytes() {
        let whole = encode(chat("split across reads"));
        let mut codec = FrameCodec::new();
        let mut buf = BytesMut::new();
        for (i, byte) in whole.iter().enumerate() {
            buf.put_u8(*byte);
            let got = codec.decode(&mut buf).expect("no error on partial input");
            if i + 1 < whole.len() {
                assert_eq!(got, None, "frame complete too early at byte {i}");
            } else {
                assert_eq!(got, Some(chat("split across reads")));
            }
        }
    }

    #[test]
    fn oversized_length_prefix_is_rejected_before_buffering() {
        let mut buf = BytesMut::new();
        buf.put_u32(u32::MAX);
        let err = FrameCodec::new().decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, CodecError::TooLarge { len } if len == u32::MAX as usize),
            "{err}"
        );
        assert!(err.to_string().contains("limit"));
    }

    #[test]
    fn outgoing_oversized_frame_is_refused() {
        let err = FrameCodec::new()
            .encode(chat(&"x".repeat(MAX_FRAME_LEN)), &mut BytesMut::new())
            .unwrap_err();
        assert!(matches!(err, CodecError::OutgoingTooLarge { .. }), "{err}");
    }

    #[test]
    fn truncated_frame_at_eof_is_an_error() {
        let whole = encode(chat("cut short"));
        let mut buf = BytesMut::from(&whole[..whole.len() - 3]);
        let err = FrameCodec::new().decode_eof(&mut buf).unwrap_err();
        assert!(matches!(err, CodecError::Truncated), "{err}");
    }

    #[test]
    fn eof_right_after_a_length_prefix_is_truncation() {
        let mut buf = BytesMut::new();
        buf.put_u32(10);
        let mut codec = FrameCodec::new();
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(buf.is_empty(), "the prefix was consumed");
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert!(matches!(err, CodecError::Truncated), "{err}");
    }

    #[test]
    fn clean_eof_is_not_an_error() {
        let mut buf = BytesMut::new();
        assert_eq!(FrameCodec::new().decode_eof(&mut buf).unwrap(), None);
    }

    #[test]
    fn undecodable_body_is_an_error() {
        let mut buf = BytesMut::new();
        buf.put_u32(3);
        buf.put_slice(&[0x03, 0xff, 0xff]); // a chat whose fields are cut short
        let err = FrameCodec::new().decode(&mut buf).unwrap_err();
        assert!(matches!(err, CodecError::Undecodable(_)), "{err}");
    }

    #[test]
    fn invalid_utf8_text_is_an_error() {
        let mut body = encode_body(&chat("ab")).unwrap();
        let last = body.len() - 1;
        body[last] = 0xff; // the last text byte becomes invalid UTF-8
        assert!(matches!(
            decode_body(&body),
            Err(CodecError::Undecodable(_))
        ));
    }

    #[test]
    fn an_unknown_required_kind_ends_the_connection_clearly() {
        let body = postcard::to_stdvec(&99_u32).unwrap();
        let err = decode_body(&body).unwrap_err();
        assert!(matches!(err, CodecError::UnknownRequired(99)), "{err}");
    }

    fn session_codecs() -> (FrameCodec, FrameCodec) {
        use crate::protocol::crypto::Handshake;
        let mut guest = Handshake::new(true, b"", None).unwrap();
        let mut host = Handshake::new(false, b"", None).unwrap();
        host.read(&guest.write().unwrap()).unwrap();
        guest.read(&host.write().unwrap()).unwrap();
        let (gs, go) = guest.finish().unwrap().split();
        let (hs, ho) = host.finish().unwrap().split();
        (FrameCodec::encrypted(gs, go), FrameCodec::encrypted(hs, ho))
    }

    #[test]
    fn encrypted_frames_round_trip_and_hide_their_text() {
        let (mut guest, mut host) = session_codecs();
        let mut wire = BytesMut::new();
        guest.encode(chat("secret words"), &mut wire).unwrap();
        guest
            .encode(Frame::Hello(Hello::new("alice")), &mut wire)
            .unwrap();
        assert!(!wire.windows(6).any(|w| w == b"secret"));
        assert!(!wire.windows(5).any(|w| w == b"alice"));
        assert_eq!(host.decode(&mut wire).unwrap(), Some(chat("secret words")));
        assert_eq!(
            host.decode(&mut wire).unwrap(),
            Some(Frame::Hello(Hello::new("alice")))
        );
    }

    #[test]
    fn a_plaintext_frame_on_an_encrypted_session_is_refused() {
        let (_, mut host) = session_codecs();
        let mut wire = encode(chat("injected"));
        let err = host.decode(&mut wire).unwrap_err();
        assert!(matches!(err, CodecError::Crypto(_)), "{err}");
    }

    #[test]
    fn split_halves_keep_working() {
        let (guest, host) = session_codecs();
        let (_, mut guest_writer) = guest.split();
        let (mut host_reader, _) = host.split();
        let mut wire = BytesMut::new();
        for n in 0..3 {
            guest_writer
                .encode(chat(&n.to_string()), &mut wire)
                .unwrap();
        }
        for n in 0..3 {
            assert_eq!(
                host_reader.decode(&mut wire).unwrap(),
                Some(chat(&n.to_string()))
            );
        }
    }

    proptest! {
        #[test]
        fn chat_round_trips(session: u64, seq: u64, at: i64, text in ".{0,200}") {
            let frame = Frame::Chat(ChatMessage { id: MessageId { session, seq }, sent_at_ms: at, text, action: false });
            let mut buf = encode(frame.clone());
            prop_assert_eq!(FrameCodec::new().decode(&mut buf).unwrap(), Some(frame));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut buf = BytesMut::from(&bytes[..]);
            let mut codec = FrameCodec::new();
            // Decode until an error or no more complete frames; must not panic.
            while let Ok(Some(_)) = codec.decode(&mut buf) {}
            let _ = codec.decode_eof(&mut buf);
        }
    }
}
