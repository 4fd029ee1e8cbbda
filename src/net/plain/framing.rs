//! How a plain peer marks where one message ends: a newline (netcat,
//! telnet), or a 4-byte length before each message (Python's
//! `struct.pack('i', len(data)) + data`, the classic cure for "sticky
//! packets"). [`PlainCodec`] is the tokio-util codec for both, over text in
//! the peer's encoding.

use std::collections::VecDeque;

use bytes::{Buf, BufMut, BytesMut};
use encoding_rs::Encoding;
use tokio_util::codec::{Decoder, Encoder};

use super::text::{self, Encoded, TextCodec};
use crate::protocol::frame::MAX_TEXT_LEN;

/// The byte order of a length header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Least significant byte first: Python's `struct.pack('i', n)` on
    /// x86 and ARM machines (native order), and `'<i'`.
    Little,
    /// Most significant byte first, network order: `struct.pack('!i', n)`,
    /// Java's `DataOutputStream.writeInt`.
    Big,
}

/// How a plain peer's messages are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// One message per line.
    #[default]
    Line,
    /// Each message is a signed 32-bit length in this byte order, then
    /// that many bytes of text.
    Length(ByteOrder),
}

/// The most bytes a length header may announce: a message's limit.
pub const MAX_FRAME_LEN: usize = MAX_TEXT_LEN;

/// The bytes of a length header.
pub const HEADER_LEN: usize = 4;

/// Why a plain peer's bytes cannot be read as messages.
#[derive(Debug, thiserror::Error)]
pub enum PlainError {
    /// A length header announced more than a message may hold.
    #[error(
        "the peer announced a message of {len} bytes, over the limit of {limit} bytes \
         (messages are framed with a 4-byte length, --plain-framing {name})"
    )]
    TooLong {
        /// The announced length.
        len: i64,
        /// [`MAX_FRAME_LEN`].
        limit: usize,
        /// The framing's name on the command line.
        name: &'static str,
    },
    /// A length header was negative.
    #[error(
        "the peer announced a message of {len} bytes, a negative length \
         (messages are framed with a 4-byte length, --plain-framing {name})"
    )]
    Negative {
        /// The announced length.
        len: i64,
        /// The framing's name on the command line.
        name: &'static str,
    },
    /// The connection failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Framing {
    /// Its name for `--plain-framing`.
    pub fn name(self) -> &'static str {
        match self {
            Framing::Line => "line",
            Framing::Length(ByteOrder::Little) => "length",
            Framing::Length(ByteOrder::Big) => "length-be",
        }
    }
}

/// Reads and writes a plain peer's messages: framed as [`Framing`] says,
/// in its encoding. Decoded messages are at most [`MAX_TEXT_LEN`] bytes
/// (longer ones are cut in several, between words where they can be) and
/// never empty.
#[derive(Debug)]
pub struct PlainCodec {
    text: TextCodec,
    framing: Framing,
    ready: VecDeque<String>,
    unmappable: Option<char>,
}

impl PlainCodec {
    /// A codec for `framing` in `encoding`.
    pub fn new(framing: Framing, encoding: &'static Encoding) -> Self {
        Self {
            text: TextCodec::new(encoding),
            framing,
            ready: VecDeque::new(),
            unmappable: None,
        }
    }

    /// Whether text without a newline is waiting (line framing only).
    pub fn has_partial(&self) -> bool {
        self.text.has_partial()
    }

    /// Makes the waiting text a message: all of it, or with `words`, up to
    /// its last whitespace.
    pub fn flush(&mut self, words: bool) -> Option<String> {
        if words {
            self.text.flush_words()
        } else {
            self.text.flush()
        }
    }

    /// The first character that could not be written since this was last
    /// asked (it went out as `?`).
    pub fn take_unmappable(&mut self) -> Option<char> {
        self.unmappable.take()
    }

    /// The length a header announces, if `src` holds a whole header.
    fn announced(order: ByteOrder, src: &[u8]) -> Option<i32> {
        let header: [u8; HEADER_LEN] = src.get(..HEADER_LEN)?.try_into().ok()?;
        Some(match order {
            ByteOrder::Little => i32::from_le_bytes(header),
            ByteOrder::Big => i32::from_be_bytes(header),
        })
    }

    /// The next length-framed message in `src`, if a whole one is there.
    fn decode_frame(
        &mut self,
        order: ByteOrder,
        src: &mut BytesMut,
    ) -> Result<Option<String>, PlainError> {
        loop {
            let Some(len) = Self::announced(order, src) else {
                return Ok(None);
            };
            let name = self.framing.name();
            let len = usize::try_from(len).map_err(|_| PlainError::Negative {
                len: len.into(),
                name,
            })?;
            if len > MAX_FRAME_LEN {
                return Err(PlainError::TooLong {
                    len: i64::try_from(len).unwrap_or(i64::MAX),
                    limit: MAX_FRAME_LEN,
                    name,
                });
            }
            if src.len() < HEADER_LEN + len {
                src.reserve(HEADER_LEN + len - src.len());
                return Ok(None);
            }
            src.advance(HEADER_LEN);
            let body = src.split_to(len);
            let (decoded, _) = self.text.encoding().decode_without_bom_handling(&body);
            self.ready.extend(text::split_long(&decoded));
            if let Some(message) = self.ready.pop_front() {
                return Ok(Some(message));
            }
            // An empty message: nothing to show; read on.
        }
    }
}

impl Decoder for PlainCodec {
    type Item = String;
    type Error = PlainError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<String>, PlainError> {
        if let Some(message) = self.ready.pop_front() {
            return Ok(Some(message));
        }
        match self.framing {
            Framing::Line => {
                if !src.is_empty() {
                    let bytes = src.split();
                    self.ready
                        .extend(self.text.feed(&bytes).into_iter().filter(|l| !l.is_empty()));
                }
                Ok(self.ready.pop_front())
            }
            Framing::Length(order) => self.decode_frame(order, src),
        }
    }

    /// At the end, the text of a line without its newline still counts; a
    /// length-framed message cut short does not.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<String>, PlainError> {
        if let Some(message) = self.decode(src)? {
            return Ok(Some(message));
        }
        src.clear();
        Ok(self.text.flush())
    }
}

impl Encoder<&str> for PlainCodec {
    type Error = PlainError;

    /// Our message: a line per line of it, or a length header and the
    /// text (line breaks and all). A character the encoding cannot write goes out
    /// as `?` ([`PlainCodec::take_unmappable`] tells which).
    fn encode(&mut self, text: &str, dst: &mut BytesMut) -> Result<(), PlainError> {
        let Encoded { bytes, unmappable } = match self.framing {
            Framing::Line => self.text.encode_line_checked(text),
            Framing::Length(_) => text::encode(self.text.encoding(), text),
        };
        if self.unmappable.is_none() {
            self.unmappable = unmappable;
        }
        if let Framing::Length(order) = self.framing {
            // Our text is at most MAX_TEXT_LEN bytes of UTF-8, and no
            // encoding writes it longer, so it fits an i32.
            let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
            dst.reserve(HEADER_LEN + bytes.len());
            match order {
                ByteOrder::Little => dst.put_i32_le(len),
                ByteOrder::Big => dst.put_i32(len),
            }
        }
        dst.extend_from_slice(&bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length(order: ByteOrder) -> PlainCodec {
        PlainCodec::new(Framing::Length(order), encoding_rs::UTF_8)
    }

    /// What Python's `struct.pack('i', len(data)) + data` sends on x86.
    fn python(data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as i32).to_le_bytes().to_vec();
        out.extend_from_slice(data);
        out
    }

    fn decode_all(codec: &mut PlainCodec, src: &mut BytesMut) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(message) = codec.decode(src).unwrap() {
            out.push(message);
        }
        out
    }

    #[test]
    fn length_frames_stuck_together_or_split_anywhere_come_apart() {
        let stream = [
            python(b"hello"),
            python(b""),
            python("two\nlines".as_bytes()),
            python(b"x"),
        ]
        .concat();
        for cut in 0..stream.len() {
            let mut codec = length(ByteOrder::Little);
            let mut src = BytesMut::from(&stream[..cut]);
            let mut got = decode_all(&mut codec, &mut src);
            src.extend_from_slice(&stream[cut..]);
            got.extend(decode_all(&mut codec, &mut src));
            assert_eq!(got, ["hello", "two\nlines", "x"], "cut at {cut}");
            assert!(src.is_empty());
        }
    }

    #[test]
    fn network_order_reads_big_endian_headers() {
        let mut codec = length(ByteOrder::Big);
        let mut src = BytesMut::from(&b"\x00\x00\x00\x02hi"[..]);
        assert_eq!(codec.decode(&mut src).unwrap().as_deref(), Some("hi"));
    }

    #[test]
    fn a_length_over_the_limit_or_negative_is_a_clear_error() {
        let mut codec = length(ByteOrder::Little);
        let mut src = BytesMut::from(&((MAX_FRAME_LEN + 1) as i32).to_le_bytes()[..]);
        let err = codec.decode(&mut src).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "the peer announced a message of {} bytes, over the limit of {MAX_FRAME_LEN} bytes \
                 (messages are framed with a 4-byte length, --plain-framing length)",
                MAX_FRAME_LEN + 1
            )
        );
        let mut codec = length(ByteOrder::Big);
        let mut src = BytesMut::from(&(-5i32).to_be_bytes()[..]);
        let err = codec.decode(&mut src).unwrap_err().to_string();
        assert!(
            err.contains("a message of -5 bytes, a negative length"),
            "{err}"
        );
        assert!(err.contains("--plain-framing length-be"), "{err}");
        // Exactly the limit is fine.
        let mut codec = length(ByteOrder::Little);
        let mut src = BytesMut::from(&python(&vec![b'a'; MAX_FRAME_LEN])[..]);
        assert_eq!(
            codec.decode(&mut src).unwrap().map(|m| m.len()),
            Some(MAX_FRAME_LEN)
        );
    }

    #[test]
    fn a_gbk_frame_that_decodes_longer_than_a_message_is_cut() {
        let mut codec = PlainCodec::new(Framing::Length(ByteOrder::Little), encoding_rs::GBK);
        let text = "中".repeat(MAX_FRAME_LEN / 2);
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        let mut src = BytesMut::from(&python(&gbk)[..]);
        let got = decode_all(&mut codec, &mut src);
        assert_eq!(got.len(), 2, "3 bytes of UTF-8 for each 2 of GBK");
        assert!(got.iter().all(|m| m.len() <= MAX_TEXT_LEN));
        assert_eq!(got.concat(), "中".repeat(MAX_FRAME_LEN / 2));
    }

    #[test]
    fn our_messages_go_out_framed_in_the_encoding_with_question_marks() {
        let mut codec = PlainCodec::new(Framing::Length(ByteOrder::Little), encoding_rs::GBK);
        let mut dst = BytesMut::new();
        codec.encode("你好😀\nok", &mut dst).unwrap();
        let (gbk, _, _) = encoding_rs::GBK.encode("你好?\nok");
        assert_eq!(&dst[..], python(&gbk));
        assert_eq!(codec.take_unmappable(), Some('😀'));
        assert_eq!(codec.take_unmappable(), None);

        let mut codec = PlainCodec::new(Framing::Line, encoding_rs::GBK);
        let mut dst = BytesMut::new();
        codec.encode("a😀\nb", &mut dst).unwrap();
        // A line-framed peer gets a line per line of the message.
        assert_eq!(&dst[..], b"a?\nb\n");
        assert_eq!(codec.take_unmappable(), Some('😀'));

        let mut codec = length(ByteOrder::Big);
        let mut dst = BytesMut::new();
        codec.encode("hi", &mut dst).unwrap();
        assert_eq!(&dst[..], b"\x00\x00\x00\x02hi");
    }

    #[test]
    fn lines_come_out_one_by_one_and_the_last_at_the_end() {
        let mut codec = PlainCodec::new(Framing::Line, encoding_rs::UTF_8);
        let mut src = BytesMut::from(&b"one\n\ntwo\nthr"[..]);
        assert_eq!(decode_all(&mut codec, &mut src), ["one", "two"]);
        assert!(codec.has_partial());
        assert_eq!(codec.decode_eof(&mut src).unwrap().as_deref(), Some("thr"));
        assert_eq!(codec.decode_eof(&mut src).unwrap(), None);
        // A length frame cut short by the end is dropped.
        let mut codec = length(ByteOrder::Little);
        let mut src = BytesMut::from(&python(b"whole")[..3]);
        assert_eq!(codec.decode_eof(&mut src).unwrap(), None);
    }
}
