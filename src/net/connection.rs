//! One established connection: a reader task and a writer task.
//!
//! The socket is split with `into_split()` into owned halves. The reader task
//! turns incoming frames into [`NetEvent`]s; the writer task drains a bounded
//! queue, writing every frame already queued before it flushes once (and
//! coalescing acknowledgements, see [`ACK_DELAY`]). The UI only ever calls
//! [`PeerLink::send`], which never waits.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use tokio::time::{Instant, Sleep};
use tokio_util::codec::{FramedRead, FramedWrite};

use super::{ConnId, LeftReason, NetEvent, PeerInfo};
use crate::protocol::{CodecError, Frame, FrameCodec};

/// How long a peer has to complete the handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Frames that may wait in one connection's send queue.
pub const SEND_QUEUE_LEN: usize = 4096;

/// How long a side may be quiet before it sends a heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// How long a peer may be silent (no frame, not even a heartbeat) before
/// the connection counts as dead: three missed heartbeats.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(15);

/// Frames the writer writes before it flushes, when many are queued.
const WRITE_BATCH: usize = 256;

/// How long an acknowledgement may wait, so that those of the next
/// messages replace it instead of each going out on its own. Short enough
/// that nobody sees the ✓✓ come later.
pub const ACK_DELAY: Duration = Duration::from_millis(5);

/// How long a closing connection may take to flush its queue.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Hands out connection ids, unique for the life of the program.
pub fn next_conn_id() -> ConnId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What the writer task is asked to do.
pub(crate) enum Outgoing {
    Frame(Frame),
    /// Flush everything queued before this, close the socket, then answer.
    Close(oneshot::Sender<()>),
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The peer is not reading fast enough and the queue is full.
    #[error("the peer is not keeping up; its send queue is full")]
    Full,
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
}

/// The sending side of one connection. Cheap to clone.
#[derive(Clone)]
pub struct PeerLink {
    id: ConnId,
    tx: mpsc::Sender<Outgoing>,
}

impl fmt::Debug for PeerLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerLink").field("id", &self.id).finish()
    }
}

impl PeerLink {
    /// The connection this link sends on.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Queues a frame for sending without waiting.
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.tx
            .try_send(Outgoing::Frame(frame))
            .map_err(|err| match err {
                mpsc::error::TrySendError::Full(_) => SendError::Full,
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
            })
    }

    /// Waits until the send queue has room for `slots` more frames, so a
    /// fast local source (piped input) slows to the network's pace instead
    /// of overflowing the queue.
    pub async fn room_for(&self, slots: usize) {
        let _ = self.tx.reserve_many(slots.min(SEND_QUEUE_LEN)).await;
    }

    /// Whether the send queue has room for `slots` more frames right now.
    pub fn has_room_for(&self, slots: usize) -> bool {
        self.tx.capacity() >= slots
    }

    /// Sends everything queued so far, then closes the connection.
    ///
    /// Waits at most a couple of seconds, so a peer that stopped reading
    /// cannot hold up the exit.
    pub async fn close(&self) {
        let (ack_tx, ack_rx) = oneshot::channel();
        let flushed = async {
            if self.tx.send(Outgoing::Close(ack_tx)).await.is_ok() {
                let _ = ack_rx.await;
            }
        };
        if tokio::time::timeout(CLOSE_TIMEOUT, flushed).await.is_err() {
            tracing::warn!(
                conn = self.id,
                "connection did not flush in time; closing anyway"
            );
        }
    }

    /// A link connected to nothing, for tests of code that only stores links.
    pub fn detached(id: ConnId) -> Self {
        let (tx, _rx) = mpsc::channel(1);
        Self { id, tx }
    }
}

/// Splits an admitted connection, makes its send queue and link, and sends
/// [`NetEvent::Joined`], so every later event of the connection comes after
/// it. Returns the halves for the reader and writer tasks, the link, and the
/// queue the writer drains.
pub(crate) async fn announce(
    stream: TcpStream,
    info: PeerInfo,
    events: &mpsc::Sender<NetEvent>,
) -> (
    OwnedReadHalf,
    OwnedWriteHalf,
    PeerLink,
    mpsc::Receiver<Outgoing>,
) {
    let _ = stream.set_nodelay(true);
    let (read_half, write_half) = stream.into_split();
    let (tx, rx) = mpsc::channel(SEND_QUEUE_LEN);
    let link = PeerLink { id: info.id, tx };
    let _ = events
        .send(NetEvent::Joined {
            info,
            link: link.clone(),
        })
        .await;
    (read_half, write_half, link, rx)
}

/// Starts the reader and writer tasks of a connection whose handshake is done.
///
/// Sends [`NetEvent::Joined`] first, so every later event of this connection
/// comes after it. `codec` holds the session's keys; `leftover` holds bytes
/// the handshake read past its last frame; `slot` is released when the
/// connection ends.
pub async fn spawn(
    stream: TcpStream,
    info: PeerInfo,
    codec: FrameCodec,
    leftover: BytesMut,
    events: mpsc::Sender<NetEvent>,
    slot: Option<OwnedSemaphorePermit>,
) -> PeerLink {
    let (read_codec, write_codec) = codec.split();
    let id = info.id;
    let (read_half, write_half, link, rx) = announce(stream, info, &events).await;

    // Bytes the handshake read past its last frame are read first: a frame
    // glued to the hello must not wait for the next packet.
    let mut reader = FramedRead::new(std::io::Cursor::new(leftover).chain(read_half), read_codec);
    tokio::spawn(async move {
        let reason = read_frames(id, &mut reader, &events).await;
        tracing::info!(conn = id, ?reason, "connection ended");
        // Free the place in the conversation before saying so, so the next
        // guest is never refused as busy after the host saw this one leave.
        drop(slot);
        let _ = events.send(NetEvent::Left { from: id, reason }).await;
    });
    tokio::spawn(write_frames(
        id,
        FramedWrite::new(write_half, write_codec),
        rx,
    ));
    link
}

/// The reader task's loop: frames in, events out, until the connection ends.
async fn read_frames<R>(
    id: ConnId,
    reader: &mut FramedRead<R, FrameCodec>,
    events: &mpsc::Sender<NetEvent>,
) -> LeftReason
where
    R: AsyncRead + Unpin,
{
    let mut silence = Watch::new(SILENCE_LIMIT);
    loop {
        let next = tokio::select! {
            biased;
            next = reader.next() => next,
            () = silence.expired() => {
                tracing::warn!(conn = id, "no sign of life; dropping connection");
                return LeftReason::Error(format!(
                    "no sign of life for {} seconds",
                    SILENCE_LIMIT.as_secs()
                ));
            }
        };
        silence.touch();
        let frame = match next {
            Some(Ok(frame)) => frame,
            Some(Err(err)) => {
                tracing::warn!(conn = id, %err, "dropping connection");
                return LeftReason::Error(err.to_string());
            }
            None => return LeftReason::Closed,
        };
        let event = match frame {
            Frame::Chat(msg) => NetEvent::Chat { from: id, msg },
            Frame::Ack { up_to } => NetEvent::Ack { from: id, up_to },
            Frame::Heartbeat => continue,
            Frame::Leave => return LeftReason::Left,
            Frame::Bye => return LeftReason::Bye,
            other => {
                tracing::warn!(conn = id, kind = other.kind(), "ignoring unexpected frame");
                continue;
            }
        };
        if events.send(event).await.is_err() {
            return LeftReason::Closed; // nobody is listening any more
        }
    }
}

/// The writer task's loop: drains the queue, writing whatever is already
/// queued before flushing once, so bursts cost one flush.
///
/// Acknowledgements are coalesced: one waits up to [`ACK_DELAY`] and a newer
/// one replaces it meanwhile (they are cumulative) without moving its
/// deadline, so a busy conversation sends at most one per [`ACK_DELAY`]
/// instead of one per message, each of which the peer would wake up for. A
/// waiting acknowledgement goes out before a frame that ends the
/// connection, and before it closes.
async fn write_frames<W>(
    id: ConnId,
    mut writer: FramedWrite<W, FrameCodec>,
    mut rx: mpsc::Receiver<Outgoing>,
) where
    W: AsyncWrite + Unpin,
{
    let mut close_ack = None;
    // The acknowledgement waiting to go out, and the timer for its deadline.
    let mut held: Option<Frame> = None;
    let mut ack_due = Box::pin(tokio::time::sleep(ACK_DELAY));
    let mut quiet = Watch::new(HEARTBEAT_EVERY);
    loop {
        let first = tokio::select! {
            biased;
            first = rx.recv() => match first {
                Some(first) => first,
                None => break,
            },
            () = &mut ack_due, if held.is_some() => {
                let Some(ack) = held.take() else { continue };
                if !feed(id, &mut writer, ack).await || !flush(id, &mut writer).await {
                    return;
                }
                quiet.touch();
                continue;
            }
            () = quiet.expired() => {
                // A quiet connection says it is still alive every so often.
                if !feed(id, &mut writer, Frame::Heartbeat).await || !flush(id, &mut writer).await {
                    return;
                }
                quiet.touch();
                continue;
            }
        };
        let mut next = Some(first);
        let mut taken = 0;
        let mut fed = false;
        while let Some(item) = next.take() {
            match item {
                Outgoing::Frame(ack @ Frame::Ack { .. }) => {
                    if held.is_none() {
                        ack_due.as_mut().reset(Instant::now() + ACK_DELAY);
                    }
                    held = Some(ack);
                }
                Outgoing::Frame(frame) => {
                    if matches!(frame, Frame::Leave | Frame::Bye | Frame::Refused { .. }) {
                        // The peer reads nothing after these.
                        if let Some(ack) = held.take()
                            && !feed(id, &mut writer, ack).await
                        {
                            return;
                        }
                    }
                    if !feed(id, &mut writer, frame).await {
                        return;
                    }
                    fed = true;
                }
                Outgoing::Close(ack) => {
                    close_ack = Some(ack);
                    break;
                }
            }
            taken += 1;
            if taken < WRITE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if close_ack.is_some() {
            break;
        }
        if fed {
            if !flush(id, &mut writer).await {
                return;
            }
            quiet.touch();
        }
    }
    if let Some(ack) = held.take() {
        let _ = feed(id, &mut writer, ack).await;
    }
    let _ = writer.flush().await;
    let _ = writer.into_inner().shutdown().await;
    if let Some(ack) = close_ack {
        let _ = ack.send(());
    }
}

/// A deadline that moves with activity without going back to tokio's timer
/// for every frame: the timer stays set for an older deadline and, when it
/// fires early, is set again for the real one.
struct Watch {
    timer: Pin<Box<Sleep>>,
    last: Instant,
    limit: Duration,
}

impl Watch {
    /// Expires `limit` from now, unless touched meanwhile.
    fn new(limit: Duration) -> Self {
        Self {
            timer: Box::pin(tokio::time::sleep(limit)),
            last: Instant::now(),
            limit,
        }
    }

    /// Something happened: the deadline is `limit` from now.
    fn touch(&mut self) {
        self.last = Instant::now();
    }

    /// Completes once `limit` has passed since the last touch. Cancel safe.
    async fn expired(&mut self) {
        loop {
            self.timer.as_mut().await;
            let due = self.last + self.limit;
            if due <= Instant::now() {
                return;
            }
            self.timer.as_mut().reset(due);
        }
    }
}

/// Queues one frame in the writer's buffer; false if the connection failed.
async fn feed<W>(id: ConnId, writer: &mut FramedWrite<W, FrameCodec>, frame: Frame) -> bool
where
    W: AsyncWrite + Unpin,
{
    match writer.feed(frame).await {
        Ok(()) => true,
        Err(CodecError::OutgoingTooLarge { len }) => {
            tracing::error!(conn = id, len, "not sending an oversized frame");
            true
        }
        Err(err) => {
            tracing::warn!(conn = id, %err, "write failed");
            false
        }
    }
}

/// Writes out the writer's buffer; false if the connection failed.
async fn flush<W>(id: ConnId, writer: &mut FramedWrite<W, FrameCodec>) -> bool
where
    W: AsyncWrite + Unpin,
{
    match writer.flush().await {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(conn = id, %err, "flush failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChatMessage, MessageId};

    /// Time enough for anything here; only reached if a test fails.
    const PATIENCE: Duration = Duration::from_secs(10);

    fn ack(seq: u64) -> Outgoing {
        Outgoing::Frame(Frame::Ack {
            up_to: MessageId { session: 1, seq },
        })
    }

    fn chat(seq: u64) -> Outgoing {
        Outgoing::Frame(Frame::Chat(ChatMessage {
            id: MessageId { session: 2, seq },
            sent_at_ms: 0,
            text: format!("message {seq}"),
        }))
    }

    /// A writer task on one end of an in-memory stream, its queue, and a
    /// frame reader on the other end.
    fn writer() -> (
        mpsc::Sender<Outgoing>,
        FramedRead<tokio::io::DuplexStream, FrameCodec>,
    ) {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        let (tx, rx) = mpsc::channel(SEND_QUEUE_LEN);
        tokio::spawn(write_frames(
            1,
            FramedWrite::new(ours, FrameCodec::new()),
            rx,
        ));
        (tx, FramedRead::new(theirs, FrameCodec::new()))
    }

    async fn next(reader: &mut FramedRead<tokio::io::DuplexStream, FrameCodec>) -> Frame {
        tokio::time::timeout(PATIENCE, reader.next())
            .await
            .expect("a frame in time")
            .expect("a frame, not the end")
            .expect("a well-formed frame")
    }

    #[tokio::test]
    async fn acknowledgements_are_coalesced_and_do_not_hold_up_messages() {
        let (tx, mut reader) = writer();
        let queued_at = Instant::now();
        for item in [ack(1), ack(2), chat(1), ack(3), chat(2)] {
            tx.send(item).await.unwrap();
        }
        assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == 1));
        assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == 2));
        // Only the newest acknowledgement goes out, once its wait is over.
        let Frame::Ack { up_to } = next(&mut reader).await else {
            panic!("expected the acknowledgement");
        };
        assert_eq!(up_to.seq, 3);
        assert!(queued_at.elapsed() >= ACK_DELAY);
        tx.send(chat(3)).await.unwrap();
        assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == 3));
    }

    #[tokio::test]
    async fn a_waiting_acknowledgement_goes_out_before_leave_and_close() {
        let (tx, mut reader) = writer();
        tx.send(ack(1)).await.unwrap();
        tx.send(Outgoing::Frame(Frame::Leave)).await.unwrap();
        assert!(matches!(next(&mut reader).await, Frame::Ack { up_to } if up_to.seq == 1));
        assert!(matches!(next(&mut reader).await, Frame::Leave));

        tx.send(ack(2)).await.unwrap();
        let (done, closed) = oneshot::channel();
        tx.send(Outgoing::Close(done)).await.unwrap();
        assert!(matches!(next(&mut reader).await, Frame::Ack { up_to } if up_to.seq == 2));
        let end = tokio::time::timeout(PATIENCE, reader.next()).await.unwrap();
        assert!(end.is_none(), "closed after the acknowledgement");
        closed.await.unwrap();
    }

    #[tokio::test]
    async fn frames_go_out_in_order_and_close_flushes_them() {
        let (tx, mut reader) = writer();
        tx.send(chat(1)).await.unwrap();
        tx.send(chat(2)).await.unwrap();
        let (done, closed) = oneshot::channel();
        tx.send(Outgoing::Close(done)).await.unwrap();
        assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == 1));
        assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == 2));
        let end = tokio::time::timeout(PATIENCE, reader.next()).await.unwrap();
        assert!(end.is_none(), "closed after the frames");
        closed.await.unwrap();
    }

    #[tokio::test]
    async fn a_watch_expires_its_limit_after_the_last_touch() {
        let limit = Duration::from_millis(40);
        let mut watch = Watch::new(limit);
        // Activity halfway: the first deadline passes without expiry.
        tokio::time::sleep(limit / 2).await;
        let touched = Instant::now();
        watch.touch();
        tokio::time::timeout(PATIENCE, watch.expired())
            .await
            .unwrap();
        assert!(touched.elapsed() >= limit);
        // Expired stays expired until touched again.
        tokio::time::timeout(PATIENCE, watch.expired())
            .await
            .unwrap();
    }
}
