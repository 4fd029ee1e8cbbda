//! Plain text peers: netcat, telnet, and small socket programs that send raw
//! text, often in a legacy encoding such as GBK, one message per line or
//! each after a 4-byte length ([`framing`]).
//!
//! A line without a newline becomes a message once the peer has been quiet
//! for a while ([`pause`]), because simple programs often send without
//! newlines. Our messages go out framed the same way, in the chosen
//! encoding; a character it cannot write goes out as `?`, and the sender is
//! told once per connection. A message that is exactly `exit` ends the
//! conversation with that peer. A host's plain peer that sends nothing for
//! [`Limits::plain_idle`](crate::domain::Limits) is dropped, so an idle
//! socket cannot hold the seat for ever. Nothing is encrypted or verified,
//! and the screen says so.

pub mod framing;
pub mod pause;
pub mod text;

use std::time::Duration;

use bytes::BytesMut;
use encoding_rs::Encoding;
use futures::SinkExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::{Decoder, FramedWrite};

use super::connection::{Outgoing, PeerLink, Queues, announce};
use super::seat::Seat;
use super::{ConnId, LeftReason, NetEvent, PeerInfo};
use crate::domain::EXIT_COMMAND;
use crate::protocol::{ChatMessage, Frame, MessageId};

pub use framing::{ByteOrder, Framing, PlainCodec, PlainError};
pub use pause::{PLAIN_PAUSE, PLAIN_PAUSE_CAP, PLAIN_PAUSE_MAX, Pause, Show};
pub use text::{TextCodec, encoding_for};

/// How a plain peer speaks: its encoding and how its messages are framed.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// The text encoding.
    pub encoding: &'static Encoding,
    /// Where one message ends.
    pub framing: Framing,
}

impl Dialect {
    /// Lines of text in `encoding`.
    pub fn lines(encoding: &'static Encoding) -> Self {
        Self {
            encoding,
            framing: Framing::Line,
        }
    }

    /// Its codec.
    pub fn codec(self) -> PlainCodec {
        PlainCodec::new(self.framing, self.encoding)
    }
}

impl From<&'static Encoding> for Dialect {
    fn from(encoding: &'static Encoding) -> Self {
        Self::lines(encoding)
    }
}

/// What a sender is told when a character of theirs went out as `?`.
pub fn unmappable_notice(c: char, encoding: &'static Encoding) -> String {
    format!(
        "{c} (U+{:04X}) cannot be written in {}: sent as ?",
        u32::from(c),
        encoding.name()
    )
}

/// Starts the reader and writer tasks for a plain text peer. `initial` holds
/// bytes already read while telling the peer apart from a duplex program;
/// with `idle`, a peer that sends nothing for that long is dropped.
pub async fn spawn(
    stream: TcpStream,
    info: PeerInfo,
    initial: Vec<u8>,
    dialect: Dialect,
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
    let notices = events.clone();
    tokio::spawn(async move {
        let reason = read_messages(id, read_half, initial, dialect.codec(), idle, &events).await;
        tracing::info!(conn = id, ?reason, "plain connection ended");
        drop(seat);
        let _ = events.send(NetEvent::Left { from: id, reason }).await;
    });
    tokio::spawn(write_messages(id, write_half, dialect, queues, notices));
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

/// Hands a received message on; `Err` with the reason to end with.
async fn deliver(
    id: ConnId,
    seq: &mut u64,
    text: String,
    events: &mpsc::Sender<NetEvent>,
) -> Result<(), LeftReason> {
    if text.trim() == EXIT_COMMAND {
        return Err(LeftReason::Bye);
    }
    let msg = message(seq, text);
    match events.send(NetEvent::Chat { from: id, msg }).await {
        Ok(()) => Ok(()),
        Err(_) => Err(LeftReason::Closed),
    }
}

/// Reads a plain peer's messages until it leaves; returns why it did.
async fn read_messages<R>(
    id: ConnId,
    mut reader: R,
    initial: Vec<u8>,
    mut codec: PlainCodec,
    idle: Option<Duration>,
    events: &mpsc::Sender<NetEvent>,
) -> LeftReason
where
    R: AsyncRead + Unpin,
{
    let mut seq = 0;
    let mut buf = BytesMut::from(&initial[..]);
    let mut pause = Pause::default();
    let mut arrived = !buf.is_empty();
    loop {
        let mut completed = false;
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(text)) => {
                    completed = true;
                    if let Err(reason) = deliver(id, &mut seq, text, events).await {
                        return reason;
                    }
                }
                Ok(None) => break,
                Err(err) => return LeftReason::Incompatible(err.to_string()),
            }
        }
        if arrived {
            pause.arrived(Instant::now(), completed, codec.has_partial());
        }
        // Wait for more; a quiet peer's unfinished line is shown after a
        // pause, and an idle one is dropped at the limit.
        let deadline = match (pause.deadline(), idle) {
            (Some((at, show)), _) => Some((at, Some(show))),
            (None, Some(idle)) => Some((Instant::now() + idle, None)),
            (None, None) => None,
        };
        buf.reserve(8192);
        let read = match deadline {
            None => reader.read_buf(&mut buf).await,
            Some((at, show)) => {
                match tokio::time::timeout_at(at, reader.read_buf(&mut buf)).await {
                    Ok(read) => read,
                    Err(_) => match show {
                        Some(show) => {
                            arrived = false;
                            let shown = codec.flush(show == Show::Words);
                            pause.shown(Instant::now(), codec.has_partial());
                            if let Some(text) = shown
                                && let Err(reason) = deliver(id, &mut seq, text, events).await
                            {
                                return reason;
                            }
                            continue;
                        }
                        None => return LeftReason::Idle(idle.unwrap_or_default()),
                    },
                }
            }
        };
        match read {
            Ok(0) => {
                // Whatever came last without a newline still counts.
                loop {
                    match codec.decode_eof(&mut buf) {
                        Ok(Some(text)) => {
                            if let Err(reason) = deliver(id, &mut seq, text, events).await {
                                return reason;
                            }
                        }
                        Ok(None) => return LeftReason::Closed,
                        Err(err) => return LeftReason::Incompatible(err.to_string()),
                    }
                }
            }
            Ok(_) => arrived = true,
            Err(err) => return LeftReason::Error(err.to_string()),
        }
    }
}

/// Writes our messages to a plain peer; the first character its encoding
/// cannot write is told to us, once.
async fn write_messages<W>(
    id: ConnId,
    writer: W,
    dialect: Dialect,
    mut queues: Queues,
    events: mpsc::Sender<NetEvent>,
) where
    W: AsyncWrite + Unpin,
{
    let mut framed = FramedWrite::new(writer, dialect.codec());
    let mut told = false;
    let mut close_ack = None;
    while let Some(item) = queues.recv().await {
        let sent = match item {
            Outgoing::Frame(Frame::Chat(msg)) => framed.send(msg.text.as_str()).await,
            Outgoing::Frame(Frame::Bye) => framed.send(EXIT_COMMAND).await,
            Outgoing::Frame(_) => continue,
            Outgoing::Close(ack) => {
                close_ack = Some(ack);
                break;
            }
        };
        if sent.is_err() {
            break;
        }
        if let Some(c) = framed.encoder_mut().take_unmappable()
            && !told
        {
            told = true;
            let text = unmappable_notice(c, dialect.encoding);
            let _ = events.send(NetEvent::Notice { from: id, text }).await;
        }
    }
    let _ = framed.get_mut().shutdown().await;
    if let Some(ack) = close_ack {
        let _ = ack.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::DuplexStream;

    /// A plain peer's reader on an in-memory pipe: the far end to write
    /// to, the events it sends, and its task (which ends with its reason).
    fn reader(
        framing: Framing,
        idle: Option<Duration>,
    ) -> (
        DuplexStream,
        mpsc::Receiver<NetEvent>,
        tokio::task::JoinHandle<LeftReason>,
    ) {
        let (near, far) = tokio::io::duplex(1 << 16);
        let (tx, rx) = mpsc::channel(64);
        let codec = PlainCodec::new(framing, encoding_rs::UTF_8);
        let task =
            tokio::spawn(async move { read_messages(7, near, Vec::new(), codec, idle, &tx).await });
        (far, rx, task)
    }

    fn text(event: Option<NetEvent>) -> String {
        match event {
            Some(NetEvent::Chat { from: 7, msg }) => msg.text,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Lets virtual time pass (the runtime's clock is paused).
    async fn after(ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_unfinished_line_is_shown_once_the_peer_is_quiet() {
        let (mut peer, mut events, _task) = reader(Framing::Line, None);
        peer.write_all(b"first\nhel").await.unwrap();
        after(1).await;
        assert_eq!(text(events.try_recv().ok()), "first");
        after(PLAIN_PAUSE.as_millis() as u64 - 10).await;
        assert!(events.try_recv().is_err(), "shown before the pause");
        after(20).await;
        assert_eq!(text(events.try_recv().ok()), "hel");
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_trickles_slowly_is_waited_for_longer() {
        let (mut peer, mut events, _task) = reader(Framing::Line, None);
        // A slow typist on telnet in character mode: 400 ms between keys.
        peer.write_all(b"hel").await.unwrap();
        after(400).await;
        // Shown at 300 ms: nothing was known of the peer's rhythm yet.
        assert_eq!(text(events.try_recv().ok()), "hel");
        peer.write_all(b"lo ").await.unwrap();
        after(400).await;
        peer.write_all(b"world").await.unwrap();
        // Now the pause is twice the gap: no word is cut at 300 ms.
        after(790).await;
        assert!(events.try_recv().is_err(), "cut mid-way");
        after(20).await;
        assert_eq!(text(events.try_recv().ok()), "lo world");
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_that_never_ends_is_shown_up_to_its_last_word_at_the_cap() {
        let (mut peer, mut events, _task) = reader(Framing::Line, None);
        let started = Instant::now();
        let mut sent = String::new();
        let mut n = 0;
        while started.elapsed() < PLAIN_PAUSE_CAP + Duration::from_millis(100) {
            let chunk = if n % 4 == 3 {
                " ".to_owned()
            } else {
                format!("{}", n % 10)
            };
            sent.push_str(&chunk);
            peer.write_all(chunk.as_bytes()).await.unwrap();
            n += 1;
            after(200).await;
        }
        let shown = text(events.try_recv().ok());
        assert!(shown.ends_with(|c: char| c.is_ascii_digit()), "{shown:?}");
        assert!(
            sent.starts_with(&format!("{shown} ")),
            "cut at a word: {shown:?} of {sent:?}"
        );
        assert!(events.try_recv().is_err(), "once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_plain_peer_is_dropped_at_the_idle_limit() {
        let idle = Duration::from_secs(600);
        let (mut peer, _events, task) = reader(Framing::Line, Some(idle));
        peer.write_all(b"hi\n").await.unwrap();
        assert_eq!(task.await.unwrap(), LeftReason::Idle(idle));
    }

    #[tokio::test(start_paused = true)]
    async fn length_framed_messages_arrive_whole_and_exit_ends() {
        let (mut peer, mut events, task) = reader(Framing::Length(ByteOrder::Little), None);
        // Python: sock.send(struct.pack('i', len(data)) + data), twice in a
        // row (stuck together), then a header on its own.
        for data in [&b"hello, line\nand more"[..], b"second"] {
            peer.write_all(&(data.len() as i32).to_ne_bytes())
                .await
                .unwrap();
            peer.write_all(data).await.unwrap();
        }
        peer.write_all(&4i32.to_le_bytes()).await.unwrap();
        after(PLAIN_PAUSE_CAP.as_millis() as u64).await;
        assert_eq!(text(events.recv().await), "hello, line\nand more");
        assert_eq!(text(events.recv().await), "second");
        assert!(events.try_recv().is_err(), "half a message waits whole");
        peer.write_all(b"exit").await.unwrap();
        assert_eq!(task.await.unwrap(), LeftReason::Bye);
    }

    #[tokio::test]
    async fn a_length_over_the_limit_ends_only_that_connection_with_a_clear_reason() {
        let (mut peer, mut events, task) = reader(Framing::Length(ByteOrder::Little), None);
        peer.write_all(&(1i32 << 20).to_le_bytes()).await.unwrap();
        let reason = task.await.unwrap();
        assert_eq!(
            reason,
            LeftReason::Incompatible(format!(
                "the peer announced a message of 1048576 bytes, over the limit of {} bytes \
                 (messages are framed with a 4-byte length, --plain-framing length)",
                framing::MAX_FRAME_LEN
            ))
        );
        assert!(events.try_recv().is_err());
    }

    #[test]
    fn the_notice_names_the_character_and_the_encoding() {
        assert_eq!(
            unmappable_notice('😀', encoding_rs::GBK),
            "😀 (U+1F600) cannot be written in GBK: sent as ?"
        );
    }
}
