//! Text in a plain peer's encoding: its bytes into lines of text, and our
//! text into bytes, with `?` for a character the encoding cannot write.

use encoding_rs::{Decoder, EncoderResult, Encoding};

use crate::protocol::frame::MAX_TEXT_LEN;

/// Looks up an encoding by any of its WHATWG labels (`utf-8`, `gbk`,
/// `gb18030`, `big5`, `shift_jis`, `euc-kr`, `windows-1252`, …).
pub fn encoding_for(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes())
}

/// Our text in an encoding: the bytes, and the first character the
/// encoding could not write (sent as `?`), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The bytes to send.
    pub bytes: Vec<u8>,
    /// The first character that went out as `?`.
    pub unmappable: Option<char>,
}

/// Encodes `text` in `encoding`; a character it cannot write becomes `?`
/// (rather than encoding_rs's `&#128512;`, which a plain program shows as
/// is). Encodings WHATWG only decodes (UTF-16, `replacement`) write UTF-8.
pub fn encode(encoding: &'static Encoding, text: &str) -> Encoded {
    let mut encoder = encoding.new_encoder();
    let mut bytes = Vec::with_capacity(text.len() + 8);
    let mut unmappable = None;
    let mut rest = text;
    loop {
        let room = encoder
            .max_buffer_length_from_utf8_without_replacement(rest.len())
            .unwrap_or(rest.len().saturating_mul(4))
            .max(16);
        bytes.reserve(room);
        let (result, read) =
            encoder.encode_from_utf8_to_vec_without_replacement(rest, &mut bytes, true);
        rest = rest.get(read..).unwrap_or_default();
        match result {
            EncoderResult::InputEmpty => break,
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(c) => {
                unmappable.get_or_insert(c);
                // Through the encoder, so a stateful encoding (ISO-2022-JP)
                // writes it in its ASCII state.
                bytes.reserve(16);
                let _ = encoder.encode_from_utf8_to_vec_without_replacement("?", &mut bytes, false);
            }
        }
    }
    Encoded { bytes, unmappable }
}

/// Where to cut `text` so the head is at most `max` bytes: after the last
/// whitespace that leaves a non-empty head, else at the last character
/// boundary, so a word is cut only when it alone is longer than `max`.
pub fn cut_point(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    match text[..cut].rfind(char::is_whitespace) {
        Some(space) if space > 0 => {
            let width = text[space..].chars().next().map_or(1, char::len_utf8);
            space + width
        }
        _ => cut,
    }
}

/// Splits `text` into pieces of at most [`MAX_TEXT_LEN`] bytes, cut
/// between words where it can be ([`cut_point`]).
pub fn split_long(mut text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    while text.len() > MAX_TEXT_LEN {
        let (head, rest) = text.split_at(cut_point(text, MAX_TEXT_LEN));
        pieces.push(head.to_owned());
        text = rest;
    }
    if !text.is_empty() {
        pieces.push(text.to_owned());
    }
    pieces
}

/// Turns a plain peer's bytes into lines of text and our text into bytes.
pub struct TextCodec {
    encoding: &'static Encoding,
    decoder: Decoder,
    pending: String,
}

impl std::fmt::Debug for TextCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextCodec")
            .field("encoding", &self.encoding.name())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl TextCodec {
    /// A codec for `encoding`.
    pub fn new(encoding: &'static Encoding) -> Self {
        Self {
            encoding,
            decoder: encoding.new_decoder(),
            pending: String::new(),
        }
    }

    /// The encoding it reads and writes.
    pub fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// Decodes more bytes and returns the lines they complete. Bytes that do
    /// not decode become U+FFFD; a multi-byte character split across reads
    /// is kept until its end arrives. A line longer than a message may be is
    /// cut into several, between words where it can be, so memory stays
    /// bounded.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let room = self
            .decoder
            .max_utf8_buffer_length(bytes.len())
            .unwrap_or(bytes.len().saturating_mul(3));
        self.pending.reserve(room);
        let (_, _, _) = self
            .decoder
            .decode_to_string(bytes, &mut self.pending, false);
        let mut lines = Vec::new();
        while let Some(end) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=end).collect();
            // Earlier reads may have left up to MAX_TEXT_LEN bytes pending.
            lines.extend(split_long(line.trim_end_matches(['\n', '\r'])));
        }
        while self.pending.len() > MAX_TEXT_LEN {
            let cut = cut_point(&self.pending, MAX_TEXT_LEN);
            lines.push(self.pending.drain(..cut).collect());
        }
        lines
    }

    /// Whether text without a newline is waiting ([`TextCodec::flush`]).
    pub fn has_partial(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The text received since the last complete line, if any.
    pub fn flush(&mut self) -> Option<String> {
        let text = std::mem::take(&mut self.pending);
        let text = text.trim_end_matches('\r');
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// The words received since the last complete line, up to the last
    /// whitespace; the word after it keeps waiting. All of it when there
    /// is no whitespace to cut at.
    pub fn flush_words(&mut self) -> Option<String> {
        if self.pending.ends_with(char::is_whitespace) {
            let words = self.flush()?;
            let words = words.trim_end();
            return (!words.is_empty()).then(|| words.to_owned());
        }
        match self.pending.rfind(char::is_whitespace) {
            Some(space) if space > 0 => {
                let width = self.pending[space..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                let words: String = self.pending.drain(..space + width).collect();
                let words = words.trim_end();
                (!words.is_empty()).then(|| words.to_owned())
            }
            _ => self.flush(),
        }
    }

    /// Our message as lines of text in the peer's encoding: one line, or
    /// one per line of a multi-line message (a line-framed peer has no
    /// other way to see a line break); a character the encoding cannot
    /// write becomes `?` ([`encode`]).
    pub fn encode_line_checked(&self, text: &str) -> Encoded {
        let mut out = Encoded {
            bytes: Vec::with_capacity(text.len() + 1),
            unmappable: None,
        };
        for line in text.split('\n') {
            let encoded = encode(self.encoding, line.trim_end_matches('\r'));
            out.bytes.extend_from_slice(&encoded.bytes);
            out.bytes.push(b'\n');
            if out.unmappable.is_none() {
                out.unmappable = encoded.unmappable;
            }
        }
        out
    }

    /// [`TextCodec::encode_line_checked`]'s bytes.
    pub fn encode_line(&self, text: &str) -> Vec<u8> {
        self.encode_line_checked(text).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utf8() -> TextCodec {
        TextCodec::new(encoding_rs::UTF_8)
    }

    #[test]
    fn lines_split_on_newlines_with_or_without_cr() {
        let mut codec = utf8();
        assert_eq!(codec.feed(b"one\r\ntwo\nthr"), vec!["one", "two"]);
        assert_eq!(codec.feed(b"ee\n"), vec!["three"]);
        assert_eq!(codec.flush(), None);
    }

    #[test]
    fn a_chunk_without_newline_waits_for_flush() {
        let mut codec = utf8();
        assert!(codec.feed(b"no newline").is_empty());
        assert!(codec.has_partial());
        assert_eq!(codec.flush().as_deref(), Some("no newline"));
        assert_eq!(codec.flush(), None);
        assert!(!codec.has_partial());
    }

    #[test]
    fn flushing_words_keeps_the_unfinished_word() {
        let mut codec = utf8();
        assert!(codec.feed("one two thr".as_bytes()).is_empty());
        assert_eq!(codec.flush_words().as_deref(), Some("one two"));
        assert_eq!(codec.feed(b"ee\n"), vec!["three"]);
        // One long word, or words ending in a space: all of it.
        assert!(codec.feed(b"unbroken").is_empty());
        assert_eq!(codec.flush_words().as_deref(), Some("unbroken"));
        assert!(codec.feed(b"ends here ").is_empty());
        assert_eq!(codec.flush_words().as_deref(), Some("ends here"));
        assert_eq!(codec.flush(), None);
    }

    #[test]
    fn gbk_bytes_decode_even_when_split() {
        let (bytes, _, _) = encoding_rs::GBK.encode("你好，世界\n");
        let mut codec = TextCodec::new(encoding_rs::GBK);
        let (a, b) = bytes.split_at(3); // splits the second character
        assert!(codec.feed(a).is_empty());
        assert_eq!(codec.feed(b), vec!["你好，世界"]);
    }

    #[test]
    fn undecodable_bytes_become_replacement_characters() {
        let mut codec = utf8();
        assert_eq!(
            codec.feed(b"ok \xff\xfe end\n"),
            vec!["ok \u{fffd}\u{fffd} end"]
        );
    }

    #[test]
    fn outgoing_text_is_a_line_per_line_in_the_encoding() {
        let codec = TextCodec::new(encoding_rs::GBK);
        let line = codec.encode_line("你好 there");
        let (expected, _, _) = encoding_rs::GBK.encode("你好 there\n");
        assert_eq!(line, expected.into_owned());
        let lines = codec.encode_line("你好\nthere\r\n\nend");
        let (expected, _, _) = encoding_rs::GBK.encode("你好\nthere\n\nend\n");
        assert_eq!(lines, expected.into_owned());
    }

    #[test]
    fn a_character_the_encoding_cannot_write_goes_out_as_a_question_mark() {
        let codec = TextCodec::new(encoding_rs::GBK);
        let encoded = codec.encode_line_checked("你好 😀 and 👍!");
        let (expected, _, _) = encoding_rs::GBK.encode("你好 ? and ?!\n");
        assert_eq!(encoded.bytes, expected.into_owned());
        assert_eq!(encoded.unmappable, Some('😀'), "the first one");
        let fine = codec.encode_line_checked("你好");
        assert_eq!(fine.unmappable, None);
        // A stateful encoding writes the `?` in its ASCII state.
        let jis = encode(encoding_rs::ISO_2022_JP, "日😀本");
        let (back, _) = encoding_rs::ISO_2022_JP.decode_without_bom_handling(&jis.bytes);
        assert_eq!(back, "日?本");
    }

    #[test]
    fn an_endless_line_is_cut_into_messages() {
        let mut codec = utf8();
        let lines = codec.feed(&vec![b'x'; MAX_TEXT_LEN * 2 + 10]);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.len() == MAX_TEXT_LEN));
        assert_eq!(codec.flush().map(|s| s.len()), Some(10));
    }

    #[test]
    fn a_long_line_is_cut_between_words() {
        let mut codec = utf8();
        let word = "word ";
        let text = word.repeat(MAX_TEXT_LEN / word.len() + 10);
        let lines = codec.feed(format!("{text}\n").as_bytes());
        assert_eq!(lines.len(), 2);
        assert!(lines[0].len() <= MAX_TEXT_LEN);
        assert!(
            lines[0].ends_with("word "),
            "{:?}",
            &lines[0][lines[0].len() - 8..]
        );
        assert!(lines[1].starts_with("word"), "{:?}", &lines[1][..8]);
        assert_eq!(lines.concat(), text.trim_end_matches('\n'));
    }

    #[test]
    fn a_long_line_ended_by_a_later_read_is_cut_too() {
        // Found by fuzz/plain_text: text pending from earlier reads plus a
        // read that ends the line made one line over MAX_TEXT_LEN.
        let mut codec = utf8();
        assert!(codec.feed(&vec![b'x'; MAX_TEXT_LEN - 1]).is_empty());
        let lines = codec.feed("é and more\n".as_bytes());
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], "x".repeat(MAX_TEXT_LEN - 1), "cut before the 'é'");
        assert_eq!(lines[1], "é and more");
    }

    #[test]
    fn labels_are_looked_up() {
        assert_eq!(encoding_for("GBK"), Some(encoding_rs::GBK));
        assert_eq!(encoding_for("shift_jis"), Some(encoding_rs::SHIFT_JIS));
        assert_eq!(encoding_for("big5"), Some(encoding_rs::BIG5));
        assert!(encoding_for("klingon").is_none());
    }

    proptest! {
        #[test]
        fn any_bytes_in_any_chunks_never_panic_and_keep_text(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..400,
        ) {
            let mut codec = TextCodec::new(encoding_rs::GB18030);
            let cut = cut.min(bytes.len());
            let mut lines = codec.feed(&bytes[..cut]);
            lines.extend(codec.feed(&bytes[cut..]));
            for line in &lines {
                prop_assert!(!line.contains('\n'));
            }
        }

        #[test]
        fn utf8_lines_round_trip(lines in proptest::collection::vec("[^\r\n\u{feff}]{1,20}", 1..10)) {
            let codec = utf8();
            let mut reader = utf8();
            let mut got = Vec::new();
            for line in &lines {
                got.extend(reader.feed(&codec.encode_line(line)));
            }
            prop_assert_eq!(got, lines);
        }

        #[test]
        fn cuts_keep_every_byte_and_respect_the_limit(text in "[a-z é\u{4e00}]{0,60}", max in 4usize..20) {
            let cut = cut_point(&text, max);
            prop_assert!(text.is_char_boundary(cut));
            prop_assert!(cut <= max);
            prop_assert!(cut > 0 || text.is_empty());
        }
    }
}
