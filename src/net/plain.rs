//! Plain text peers: netcat, telnet, and small socket programs that send raw
//! text with no framing at all, often in a legacy encoding such as GBK.
//!
//! Text from such a peer becomes one message per line; a chunk without a
//! newline becomes a message once the peer has been quiet for
//! [`PLAIN_PAUSE`], because simple programs often send without newlines.
//! Our messages go out as lines of text in the chosen encoding. A line that
//! is exactly `exit` ends the conversation with that peer. A host's plain
//! peer that sends nothing for [`Limits::plain_idle`](crate::domain::Limits)
//! is dropped, so an idle socket cannot hold the seat for ever. Nothing is
//! encrypted or verified, and the screen says so.

use std::time::Duration;

use encoding_rs::{Decoder, Encoding};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::connection::{Outgoing, PeerLink, Queues, announce};
use super::seat::Seat;
use super::{ConnId, LeftReason, NetEvent, PeerInfo};
use crate::domain::EXIT_COMMAND;
use crate::protocol::frame::MAX_TEXT_LEN;
use crate::protocol::{ChatMessage, Frame, MessageId};

/// How long a plain peer must be quiet before a line without a newline is shown.
pub const PLAIN_PAUSE: Duration = Duration::from_millis(300);

/// Looks up an encoding by any of its WHATWG labels (`utf-8`, `gbk`,
/// `gb18030`, `big5`, `shift_jis`, `euc-kr`, `windows-1252`, …).
pub fn encoding_for(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes())
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

    /// Decodes more bytes and returns the lines they complete. Bytes that do
    /// not decode become U+FFFD; a multi-byte character split across reads
    /// is kept until its end arrives. A line longer than a message may be is
    /// cut into several, so memory stays bounded.
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
            let mut line = line.trim_end_matches(['\n', '\r']);
            while line.len() > MAX_TEXT_LEN {
                let mut cut = MAX_TEXT_LEN;
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                let (head, rest) = line.split_at(cut);
                lines.push(head.to_owned());
                line = rest;
            }
            if !line.is_empty() {
                lines.push(line.to_owned());
            }
        }
        while self.pending.len() > MAX_TEXT_LEN {
            let mut cut = MAX_TEXT_LEN;
            while !self.pending.is_char_boundary(cut) {
                cut -= 1;
            }
            lines.push(self.pending.drain(..cut).collect());
        }
        lines
    }

    /// The text received since the last complete line, if any.
    pub fn flush(&mut self) -> Option<String> {
        let text = std::mem::take(&mut self.pending);
        let text = text.trim_end_matches('\r');
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// Our message as one line of text in the peer's encoding. Characters the
    /// encoding cannot represent become numeric character references.
    pub fn encode_line(&self, text: &str) -> Vec<u8> {
        let one_line = text.replace(['\r', '\n'], " ");
        let (bytes, _, _) = self.encoding.encode(&one_line);
        let mut line = bytes.into_owned();
        line.push(b'\n');
        line
    }
}

/// Starts the reader and writer tasks for a plain text peer. `initial` holds
/// bytes already read while telling the peer apart from a duplex program;
/// with `idle`, a peer that sends nothing for that long is dropped.
pub async fn spawn(
    stream: TcpStream,
    info: PeerInfo,
    initial: Vec<u8>,
    encoding: &'static Encoding,
    events: mpsc::Sender<NetEvent>,
    seat: Option<Seat>,
    idle: Option<Duration>,
) -> PeerLink {
    let id = info.id;
    let (read_half, write_half, link, queues) =
        match announce(stream, info, seat.as_ref(), &events).await {
            Ok(parts) => parts,
            Err(link) => return link,
        };
    tokio::spawn(async move {
        let reason = read_lines(id, read_half, initial, encoding, idle, &events).await;
        tracing::info!(conn = id, ?reason, "plain connection ended");
        drop(seat);
        let _ = events.send(NetEvent::Left { from: id, reason }).await;
    });
    tokio::spawn(write_lines(write_half, TextCodec::new(encoding), queues));
    link
}

/// A received line as a chat message (plain peers send no ids or times).
fn message(seq: &mut u64, text: String) -> ChatMessage {
    *seq += 1;
    ChatMessage {
        id: MessageId {
            session: 0,
            seq: *seq,
        },
        sent_at_ms: chrono::Utc::now().timestamp_millis(),
        text,
        action: false,
    }
}

async fn read_lines(
    id: ConnId,
    mut reader: OwnedReadHalf,
    initial: Vec<u8>,
    encoding: &'static Encoding,
    idle: Option<Duration>,
    events: &mpsc::Sender<NetEvent>,
) -> LeftReason {
    let mut codec = TextCodec::new(encoding);
    let mut seq = 0;
    let mut buf = vec![0; 8192];
    let mut fresh = codec.feed(&initial);
    loop {
        for line in fresh.drain(..) {
            if line.trim() == EXIT_COMMAND {
                return LeftReason::Bye;
            }
            let msg = message(&mut seq, line);
            if events.send(NetEvent::Chat { from: id, msg }).await.is_err() {
                return LeftReason::Closed;
            }
        }
        // Wait for more; a quiet peer's unfinished line is shown after a
        // pause, and an idle one is dropped at the limit.
        let pause = !codec.pending.is_empty();
        let limit = if pause { Some(PLAIN_PAUSE) } else { idle };
        let read = match limit {
            None => reader.read(&mut buf).await,
            Some(limit) => match tokio::time::timeout(limit, reader.read(&mut buf)).await {
                Ok(read) => read,
                Err(_) if pause => {
                    fresh.extend(codec.flush());
                    continue;
                }
                Err(_) => return LeftReason::Idle(limit),
            },
        };
        match read {
            Ok(0) => {
                // Whatever came last without a newline still counts.
                match codec.flush() {
                    Some(last) if last.trim() == EXIT_COMMAND => return LeftReason::Bye,
                    Some(last) => {
                        let msg = message(&mut seq, last);
                        let _ = events.send(NetEvent::Chat { from: id, msg }).await;
                    }
                    None => {}
                }
                return LeftReason::Closed;
            }
            Ok(n) => fresh = codec.feed(&buf[..n]),
            Err(err) => return LeftReason::Error(err.to_string()),
        }
    }
}

async fn write_lines(mut writer: OwnedWriteHalf, codec: TextCodec, mut queues: Queues) {
    let mut close_ack = None;
    while let Some(item) = queues.recv().await {
        let bytes = match item {
            Outgoing::Frame(Frame::Chat(msg)) => codec.encode_line(&msg.text),
            Outgoing::Frame(Frame::Bye) => codec.encode_line(EXIT_COMMAND),
            Outgoing::Frame(_) => continue,
            Outgoing::Close(ack) => {
                close_ack = Some(ack);
                break;
            }
        };
        if writer.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let _ = writer.shutdown().await;
    if let Some(ack) = close_ack {
        let _ = ack.send(());
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
        assert_eq!(codec.flush().as_deref(), Some("no newline"));
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
    fn outgoing_text_is_one_line_in_the_encoding() {
        let codec = TextCodec::new(encoding_rs::GBK);
        let line = codec.encode_line("你好\nthere");
        let (expected, _, _) = encoding_rs::GBK.encode("你好 there\n");
        assert_eq!(line, expected.into_owned());
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
    }
}
