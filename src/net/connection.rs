//! One established connection: a reader task and a writer task.
//!
//! The socket is split with `into_split()` into owned halves. The reader task
//! turns incoming frames into [`NetEvent`]s; the writer task drains two
//! queues (*lanes*): the conversation lane (chat, acknowledgements,
//! goodbyes) always goes before the bulk lane (later: file chunks), so a
//! chat line never waits behind a file. Each lane is budgeted in bytes, not
//! frames: [`PeerLink::send`] never waits, and refuses a frame only when its
//! lane is over budget, which the app's window keeps from happening (see
//! `crate::app`). A connection whose peer takes nothing of what we write
//! for [`Limits::stall`] is ended, even if the peer still sends.
//!
//! Heartbeats and the silence limit are the app's deadlines (time is data
//! there); this module only reports every frame that arrives.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::seat::Seat;
use super::{ConnId, LeftReason, NetEvent, PeerInfo};
use crate::domain::Limits;
use crate::protocol::{CodecError, Frame, FrameCodec};

/// Bytes that may wait in one lane of a connection's send queue. The app
/// keeps far less than this in flight; the budget only bounds memory if
/// something goes wrong.
pub const LANE_BUDGET: usize = 4 * 1024 * 1024;

/// Frames the writer writes before it flushes, when many are queued.
const WRITE_BATCH: usize = 256;

/// How long a closing connection may take to flush its queue.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Hands out connection ids, unique for the life of the program.
pub fn next_conn_id() -> ConnId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Which queue of a connection a frame waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Chat, acknowledgements, goodbyes: always written first.
    Conversation,
    /// Bulk traffic: written only while the conversation lane is empty.
    Bulk,
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
    /// The lane is over its byte budget.
    #[error("the peer is not keeping up; its send queue is full")]
    Full,
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
}

/// What the two tasks and the links of one connection share.
#[derive(Debug, Default)]
struct Shared {
    /// Bytes waiting in each lane.
    queued: [AtomicUsize; 2],
    /// Signalled whenever the writer takes frames out of a lane.
    room: Notify,
    /// Set when the connection must end (stalled writer, or asked to by
    /// the app), with the reason the reader reports.
    abort: Mutex<Option<LeftReason>>,
    /// Signalled when `abort` is set.
    aborted: Notify,
}

impl Shared {
    fn lane(&self, lane: Lane) -> &AtomicUsize {
        &self.queued[lane as usize]
    }

    fn release(&self, lane: Lane, bytes: usize) {
        let _ = self
            .lane(lane)
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                Some(queued.saturating_sub(bytes))
            });
        self.room.notify_waiters();
    }

    fn abort(&self, reason: LeftReason) {
        let mut slot = self
            .abort
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(reason);
        }
        drop(slot);
        self.aborted.notify_one();
    }

    async fn aborted(&self) -> LeftReason {
        loop {
            let notified = self.aborted.notified();
            if let Some(reason) = self
                .abort
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
            {
                return reason;
            }
            notified.await;
        }
    }
}

/// The sending side of one connection. Cheap to clone.
#[derive(Clone)]
pub struct PeerLink {
    id: ConnId,
    conversation: mpsc::UnboundedSender<Outgoing>,
    bulk: mpsc::UnboundedSender<Frame>,
    shared: Arc<Shared>,
}

impl fmt::Debug for PeerLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerLink")
            .field("id", &self.id)
            .field("queued", &self.queued(Lane::Conversation))
            .finish()
    }
}

impl PeerLink {
    /// The connection this link sends on.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// Queues a conversation frame without waiting.
    pub fn send(&self, frame: Frame) -> Result<(), SendError> {
        self.send_on(Lane::Conversation, frame)
    }

    /// Queues a frame on `lane` without waiting.
    pub fn send_on(&self, lane: Lane, frame: Frame) -> Result<(), SendError> {
        let len = frame.wire_len();
        let queued = self.shared.lane(lane);
        if queued.load(Ordering::Acquire).saturating_add(len) > LANE_BUDGET {
            return Err(SendError::Full);
        }
        queued.fetch_add(len, Ordering::AcqRel);
        let sent = match lane {
            Lane::Conversation => self.conversation.send(Outgoing::Frame(frame)).is_ok(),
            Lane::Bulk => self.bulk.send(frame).is_ok(),
        };
        if sent {
            Ok(())
        } else {
            self.shared.release(lane, len);
            Err(SendError::Closed)
        }
    }

    /// Bytes waiting in `lane`.
    pub fn queued(&self, lane: Lane) -> usize {
        self.shared.lane(lane).load(Ordering::Acquire)
    }

    /// Whether `lane` can take `bytes` more right now.
    pub fn has_room(&self, lane: Lane, bytes: usize) -> bool {
        self.queued(lane).saturating_add(bytes) <= LANE_BUDGET
    }

    /// Waits until at most `limit` bytes wait in `lane`, so a fast local
    /// source (piped input to a plain peer) slows to the network's pace.
    pub async fn drained_to(&self, lane: Lane, limit: usize) {
        loop {
            let notified = self.shared.room.notified();
            if self.queued(lane) <= limit || self.conversation.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// Ends the connection at once: the reader reports `reason`.
    pub fn abort(&self, reason: LeftReason) {
        self.shared.abort(reason);
    }

    /// Sends everything queued so far, then closes the connection.
    ///
    /// Waits at most a couple of seconds, so a peer that stopped reading
    /// cannot hold up the exit.
    pub async fn close(&self) {
        let (ack_tx, ack_rx) = oneshot::channel();
        let flushed = async {
            if self.conversation.send(Outgoing::Close(ack_tx)).is_ok() {
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
        let (link, _queues) = Self::new(id);
        link
    }

    fn new(id: ConnId) -> (Self, Queues) {
        let (conversation, conversation_rx) = mpsc::unbounded_channel();
        let (bulk, bulk_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        (
            Self {
                id,
                conversation,
                bulk,
                shared: shared.clone(),
            },
            Queues {
                conversation: conversation_rx,
                bulk: bulk_rx,
                shared,
            },
        )
    }
}

/// The writer's end of a connection's two lanes.
pub(crate) struct Queues {
    conversation: mpsc::UnboundedReceiver<Outgoing>,
    bulk: mpsc::UnboundedReceiver<Frame>,
    shared: Arc<Shared>,
}

impl Queues {
    /// The next item: the conversation lane first, bulk only when it is
    /// empty. `None` once every link is gone.
    pub(crate) async fn recv(&mut self) -> Option<Outgoing> {
        if let Some(item) = self.try_recv() {
            return Some(item);
        }
        tokio::select! {
            biased;
            item = self.conversation.recv() => item.map(|item| self.taken(Lane::Conversation, item)),
            frame = self.bulk.recv() => frame.map(|frame| self.taken(Lane::Bulk, Outgoing::Frame(frame))),
        }
    }

    /// The next item already waiting, conversation lane first.
    pub(crate) fn try_recv(&mut self) -> Option<Outgoing> {
        if let Ok(item) = self.conversation.try_recv() {
            return Some(self.taken(Lane::Conversation, item));
        }
        self.bulk
            .try_recv()
            .ok()
            .map(|frame| self.taken(Lane::Bulk, Outgoing::Frame(frame)))
    }

    fn taken(&self, lane: Lane, item: Outgoing) -> Outgoing {
        if let Outgoing::Frame(frame) = &item {
            self.shared.release(lane, frame.wire_len());
        }
        item
    }
}

/// Splits an admitted connection, makes its lanes and link, and sends
/// [`NetEvent::Joined`], so every later event of the connection comes after
/// it. Returns the halves for the reader and writer tasks, the link, and the
/// queues the writer drains; or, when the connection's `seat` was taken
/// over before it could start (its guest came back on another one), the
/// link alone, and the socket is closed without a word to the app.
pub(crate) async fn announce(
    stream: TcpStream,
    info: PeerInfo,
    seat: Option<&Seat>,
    events: &mpsc::Sender<NetEvent>,
) -> Result<(OwnedReadHalf, OwnedWriteHalf, PeerLink, Queues), PeerLink> {
    let _ = stream.set_nodelay(true);
    let (link, queues) = PeerLink::new(info.id);
    if seat.is_some_and(|seat| !seat.hold(&link)) {
        tracing::info!(conn = info.id, "its seat was taken over; not starting");
        return Err(link);
    }
    let (read_half, write_half) = stream.into_split();
    let _ = events
        .send(NetEvent::Joined {
            info,
            link: link.clone(),
        })
        .await;
    Ok((read_half, write_half, link, queues))
}

/// Starts the reader and writer tasks of a connection whose handshake is done.
///
/// Sends [`NetEvent::Joined`] first, so every later event of this connection
/// comes after it. `codec` holds the session's keys; `leftover` holds bytes
/// the handshake read past its last frame; `seat` (a host's guest) is freed
/// when the connection ends.
pub async fn spawn(
    stream: TcpStream,
    info: PeerInfo,
    codec: FrameCodec,
    leftover: BytesMut,
    events: mpsc::Sender<NetEvent>,
    seat: Option<Seat>,
    limits: Limits,
) -> PeerLink {
    let (read_codec, write_codec) = codec.split();
    let id = info.id;
    let (read_half, write_half, link, queues) =
        match announce(stream, info, seat.as_ref(), &events).await {
            Ok(parts) => parts,
            Err(link) => return link,
        };
    let shared = queues.shared.clone();

    // Bytes the handshake read past its last frame are read first: a frame
    // glued to the hello must not wait for the next packet.
    let mut reader = FramedRead::new(std::io::Cursor::new(leftover).chain(read_half), read_codec);
    tokio::spawn(async move {
        let (reason, misbehaved) = read_frames(id, &mut reader, &events, &shared).await;
        tracing::info!(conn = id, ?reason, "connection ended");
        // Free the seat before saying so, so the next guest is never
        // refused as busy after the host saw this one leave.
        // A guest whose connection dropped keeps its seat to come back to;
        // one that broke it with what it sent (forged, malformed, over a
        // limit) does not hold it against everyone else.
        if let Some(seat) = seat {
            seat.vacate(&reason, !misbehaved);
        }
        let _ = events.send(NetEvent::Left { from: id, reason }).await;
    });
    let progress = Progress::default();
    tokio::spawn(write_frames(
        id,
        FramedWrite::new(Watched::new(write_half, progress.clone()), write_codec),
        queues,
        progress,
        limits,
    ));
    link
}

/// The reader task's loop: frames in, events out, until the connection ends.
async fn read_frames<R>(
    id: ConnId,
    reader: &mut FramedRead<R, FrameCodec>,
    events: &mpsc::Sender<NetEvent>,
    shared: &Shared,
) -> (LeftReason, bool)
where
    R: AsyncRead + Unpin,
{
    match read_until_end(id, reader, events, shared).await {
        Ended::Reason(reason) => (reason, false),
        Ended::Misbehaved(reason) => (reason, true),
    }
}

/// How a connection's reading ended.
enum Ended {
    /// Closed, dropped, or left: nothing the peer did wrong.
    Reason(LeftReason),
    /// The peer sent what may not be sent (malformed, forged, over a limit).
    Misbehaved(LeftReason),
}

impl From<LeftReason> for Ended {
    fn from(reason: LeftReason) -> Self {
        Ended::Reason(reason)
    }
}

async fn read_until_end<R>(
    id: ConnId,
    reader: &mut FramedRead<R, FrameCodec>,
    events: &mpsc::Sender<NetEvent>,
    shared: &Shared,
) -> Ended
where
    R: AsyncRead + Unpin,
{
    // Frames this side does not act on are counted, and logged once per
    // connection, so a peer cannot fill the log (or the disk) with them.
    let mut ignored: u64 = 0;
    loop {
        let next = tokio::select! {
            biased;
            reason = shared.aborted() => return reason.into(),
            next = reader.next() => next,
        };
        let frame = match next {
            Some(Ok(frame)) => frame,
            Some(Err(CodecError::UnknownRequired(kind))) => {
                let err = CodecError::UnknownRequired(kind);
                tracing::warn!(conn = id, %err, "dropping connection");
                return LeftReason::Incompatible(err.to_string()).into();
            }
            Some(Err(err @ CodecError::Io(_))) => {
                tracing::warn!(conn = id, %err, "dropping connection");
                return LeftReason::Error(err.to_string()).into();
            }
            Some(Err(err)) => {
                tracing::warn!(conn = id, %err, "dropping connection");
                return Ended::Misbehaved(LeftReason::Error(err.to_string()));
            }
            None => return LeftReason::Closed.into(),
        };
        let event = match frame {
            Frame::Chat(msg) => NetEvent::Chat { from: id, msg },
            Frame::Ack { up_to } => NetEvent::Ack { from: id, up_to },
            Frame::Heartbeat => NetEvent::Heartbeat { from: id },
            Frame::Transfer(frame) => NetEvent::Transfer { from: id, frame },
            Frame::Typing { state } => NetEvent::Typing { from: id, state },
            Frame::Nick { name } => NetEvent::Renamed { from: id, name },
            Frame::Leave => return LeftReason::Left.into(),
            Frame::Bye => return LeftReason::Bye.into(),
            // A newer peer's optional frame is skipped, as the protocol says,
            // and a frame out of place is ignored; either is still a sign
            // of life (a peer busy with optional frames sends no heartbeat).
            skipped @ (Frame::Unknown { .. }
            | Frame::Hello(_)
            | Frame::Refused { .. }
            | Frame::Waiting { .. }) => {
                ignored += 1;
                if ignored == 1 {
                    tracing::info!(
                        conn = id,
                        kind = skipped.kind(),
                        name = skipped.name(),
                        "skipping frames this side does not act on (logged once)"
                    );
                }
                NetEvent::Heartbeat { from: id }
            }
        };
        if events.send(event).await.is_err() {
            return LeftReason::Closed.into(); // nobody is listening any more
        }
    }
}

/// When the socket last took bytes from us: the writer's sign of progress.
#[derive(Debug, Clone)]
struct Progress(Arc<Mutex<Instant>>);

impl Default for Progress {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }
}

impl Progress {
    fn touch(&self) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    }

    fn last(&self) -> Instant {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A writer that records when it last made progress.
struct Watched<W> {
    inner: W,
    progress: Progress,
}

impl<W> Watched<W> {
    fn new(inner: W, progress: Progress) -> Self {
        Self { inner, progress }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Watched<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.progress.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Why the writer stopped early.
enum WriteFailed {
    /// The socket failed.
    Io,
    /// The peer took nothing for the stall limit.
    Stalled,
}

/// Runs one write step (`feed` or `flush`), ending it as stalled if the
/// socket takes no byte for `limit` meanwhile.
async fn unless_stalled<F>(step: F, progress: &Progress, limit: Duration) -> Result<(), WriteFailed>
where
    F: std::future::Future<Output = Result<(), CodecError>>,
{
    use futures::FutureExt;

    tokio::pin!(step);
    // Most steps finish at once (the frame goes into the buffer, the
    // socket takes the flush): no timer for those, only for a step that
    // has to wait for the peer.
    if let Some(done) = (&mut step).now_or_never() {
        return outcome(done);
    }
    // Waiting for a write to start counts from now, not from the last one.
    progress.touch();
    loop {
        let since = progress.last();
        tokio::select! {
            biased;
            done = &mut step => return outcome(done),
            () = tokio::time::sleep_until(since + limit) => {
                if progress.last() == since {
                    return Err(WriteFailed::Stalled);
                }
            }
        }
    }
}

/// What a finished write step means for the writer.
fn outcome(done: Result<(), CodecError>) -> Result<(), WriteFailed> {
    match done {
        Ok(()) => Ok(()),
        Err(CodecError::OutgoingTooLarge { len }) => {
            tracing::error!(len, "not sending an oversized frame");
            Ok(())
        }
        Err(err) => {
            tracing::warn!(%err, "write failed");
            Err(WriteFailed::Io)
        }
    }
}

/// The writer task's loop: drains the lanes, writing whatever is already
/// queued before flushing once, so bursts cost one flush.
///
/// Acknowledgements are coalesced: one waits up to [`Limits::ack_delay`]
/// and a newer one replaces it meanwhile (they are cumulative) without
/// moving its deadline, so a busy conversation sends at most one per delay
/// instead of one per message, each of which the peer would wake up for. A
/// waiting acknowledgement goes out before a frame that ends the
/// connection, and before it closes.
async fn write_frames<W>(
    id: ConnId,
    mut writer: FramedWrite<W, FrameCodec>,
    mut queues: Queues,
    progress: Progress,
    limits: Limits,
) where
    W: AsyncWrite + Unpin,
{
    let stall = limits.stall;
    let mut close_ack = None;
    // The acknowledgement waiting to go out, and the timer for its deadline.
    let mut held: Option<Frame> = None;
    let mut ack_due = Box::pin(tokio::time::sleep(limits.ack_delay));
    let outcome: Result<(), WriteFailed> = async {
        loop {
            let first = tokio::select! {
                biased;
                first = queues.recv() => match first {
                    Some(first) => first,
                    None => return Ok(()),
                },
                () = &mut ack_due, if held.is_some() => {
                    let Some(ack) = held.take() else { continue };
                    unless_stalled(writer.feed(ack), &progress, stall).await?;
                    unless_stalled(writer.flush(), &progress, stall).await?;
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
                            ack_due.as_mut().reset(Instant::now() + limits.ack_delay);
                        }
                        held = Some(ack);
                    }
                    Outgoing::Frame(frame) => {
                        if matches!(frame, Frame::Leave | Frame::Bye | Frame::Refused { .. }) {
                            // The peer reads nothing after these.
                            if let Some(ack) = held.take() {
                                unless_stalled(writer.feed(ack), &progress, stall).await?;
                            }
                        }
                        unless_stalled(writer.feed(frame), &progress, stall).await?;
                        fed = true;
                    }
                    Outgoing::Close(ack) => {
                        close_ack = Some(ack);
                        return Ok(());
                    }
                }
                taken += 1;
                if taken < WRITE_BATCH {
                    next = queues.try_recv();
                }
            }
            if fed {
                unless_stalled(writer.flush(), &progress, stall).await?;
            }
        }
    }
    .await;
    match outcome {
        Ok(()) => {
            if let Some(ack) = held.take() {
                let _ = writer.feed(ack).await;
            }
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, writer.flush()).await;
            let _ = writer.into_inner().shutdown().await;
        }
        Err(WriteFailed::Stalled) => {
            tracing::warn!(
                conn = id,
                "the peer took nothing we sent; dropping the connection"
            );
            queues.shared.abort(LeftReason::Stalled(stall));
        }
        Err(WriteFailed::Io) => queues.shared.abort(LeftReason::Error(
            "the connection failed while sending".to_owned(),
        )),
    }
    if let Some(ack) = close_ack {
        let _ = ack.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChatMessage, MessageId};

    /// Time enough for anything here; only reached if a test fails.
    const PATIENCE: Duration = Duration::from_secs(10);

    fn ack(seq: u64) -> Frame {
        Frame::Ack {
            up_to: MessageId { session: 1, seq },
        }
    }

    fn chat(seq: u64) -> Frame {
        Frame::Chat(ChatMessage {
            id: MessageId { session: 2, seq },
            sent_at_ms: 0,
            text: format!("message {seq}"),
            action: false,
        })
    }

    type Reader = FramedRead<tokio::io::DuplexStream, FrameCodec>;

    /// A writer task on one end of an in-memory stream of `capacity` bytes,
    /// its link, and a frame reader on the other end.
    fn writer_with(capacity: usize, limits: Limits) -> (PeerLink, Reader, Arc<Shared>) {
        let (ours, theirs) = tokio::io::duplex(capacity);
        let (link, queues) = PeerLink::new(1);
        let shared = queues.shared.clone();
        let progress = Progress::default();
        tokio::spawn(write_frames(
            1,
            FramedWrite::new(Watched::new(ours, progress.clone()), FrameCodec::new()),
            queues,
            progress,
            limits,
        ));
        (link, FramedRead::new(theirs, FrameCodec::new()), shared)
    }

    fn writer() -> (PeerLink, Reader) {
        let (link, reader, _) = writer_with(1 << 16, Limits::default());
        (link, reader)
    }

    async fn next(reader: &mut Reader) -> Frame {
        tokio::time::timeout(PATIENCE, reader.next())
            .await
            .expect("a frame in time")
            .expect("a frame, not the end")
            .expect("a well-formed frame")
    }

    #[tokio::test]
    async fn acknowledgements_are_coalesced_and_do_not_hold_up_messages() {
        let (link, mut reader) = writer();
        let queued_at = Instant::now();
        for frame in [ack(1), ack(2), chat(1), ack(3), chat(2)] {
            link.send(frame).unwrap();
        }
        assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == 1));
        assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == 2));
        // Only the newest acknowledgement goes out, once its wait is over.
        let Frame::Ack { up_to } = next(&mut reader).await else {
            panic!("expected the acknowledgement");
        };
        assert_eq!(up_to.seq, 3);
        assert!(queued_at.elapsed() >= Limits::default().ack_delay);
        link.send(chat(3)).unwrap();
        assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == 3));
    }

    #[tokio::test]
    async fn a_waiting_acknowledgement_goes_out_before_leave_and_close() {
        let (link, mut reader) = writer();
        link.send(ack(1)).unwrap();
        link.send(Frame::Leave).unwrap();
        assert!(matches!(next(&mut reader).await, Frame::Ack { up_to } if up_to.seq == 1));
        assert!(matches!(next(&mut reader).await, Frame::Leave));

        link.send(ack(2)).unwrap();
        link.close().await;
        assert!(matches!(next(&mut reader).await, Frame::Ack { up_to } if up_to.seq == 2));
        let end = tokio::time::timeout(PATIENCE, reader.next()).await.unwrap();
        assert!(end.is_none(), "closed after the acknowledgement");
    }

    #[tokio::test]
    async fn frames_go_out_in_order_and_close_flushes_them() {
        let (link, mut reader) = writer();
        link.send(chat(1)).unwrap();
        link.send(chat(2)).unwrap();
        let closing = tokio::spawn({
            let link = link.clone();
            async move { link.close().await }
        });
        assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == 1));
        assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == 2));
        let end = tokio::time::timeout(PATIENCE, reader.next()).await.unwrap();
        assert!(end.is_none(), "closed after the frames");
        closing.await.unwrap();
    }

    #[tokio::test]
    async fn conversation_frames_overtake_queued_bulk_frames() {
        // A pipe too small for the bulk backlog, so it waits in its lane.
        let (link, mut reader, _) = writer_with(256, Limits::default());
        for n in 0..50 {
            link.send_on(Lane::Bulk, chat(1000 + n)).unwrap();
        }
        link.send(chat(1)).unwrap();
        let mut bulk_before_chat = 0;
        loop {
            match next(&mut reader).await {
                Frame::Chat(m) if m.id.seq == 1 => break,
                _ => bulk_before_chat += 1,
            }
        }
        assert!(
            bulk_before_chat < 50,
            "the chat line waited behind every bulk frame"
        );
        for _ in bulk_before_chat..50 {
            assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq >= 1000));
        }
    }

    #[tokio::test]
    async fn lanes_are_budgeted_in_bytes() {
        let link = PeerLink::detached(3);
        let big = Frame::Chat(ChatMessage {
            id: MessageId { session: 1, seq: 1 },
            sent_at_ms: 0,
            text: "x".repeat(30_000),
            action: false,
        });
        let fits = LANE_BUDGET / big.wire_len();
        // The detached link's writer is gone: frames are refused as closed,
        // and their bytes are given back.
        assert_eq!(link.send(big.clone()), Err(SendError::Closed));
        assert_eq!(link.queued(Lane::Conversation), 0);
        let (link, _queues) = PeerLink::new(4);
        for _ in 0..fits {
            link.send(big.clone()).unwrap();
        }
        assert_eq!(link.send(big.clone()), Err(SendError::Full));
        assert!(
            link.has_room(Lane::Bulk, big.wire_len()),
            "lanes are separate"
        );
        assert!(link.queued(Lane::Conversation) <= LANE_BUDGET);
    }

    #[tokio::test]
    async fn a_peer_that_takes_nothing_is_dropped_after_the_stall_limit() {
        let limits = Limits {
            stall: Duration::from_millis(100),
            ..Limits::default()
        };
        // Nobody reads the other end: the pipe fills and stays full.
        let (link, _reader, shared) = writer_with(64, limits);
        for n in 1..=10 {
            link.send(chat(n)).unwrap();
        }
        let reason = tokio::time::timeout(PATIENCE, shared.aborted())
            .await
            .unwrap();
        assert_eq!(reason, LeftReason::Stalled(limits.stall));
    }

    #[tokio::test]
    async fn a_slow_reader_is_not_a_stalled_one() {
        let limits = Limits {
            stall: Duration::from_millis(300),
            ..Limits::default()
        };
        let (link, mut reader, shared) = writer_with(64, limits);
        for n in 1..=20 {
            link.send(chat(n)).unwrap();
        }
        // Reading a frame now and then keeps the writer making progress.
        for n in 1..=20 {
            assert!(matches!(next(&mut reader).await, Frame::Chat(m) if m.id.seq == n));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(shared.abort.lock().unwrap().is_none());
    }

    #[tokio::test]
    async fn waiting_for_room_ends_when_the_lane_drains() {
        let (link, mut reader, _) = writer_with(64, Limits::default());
        for n in 1..=20 {
            link.send(chat(n)).unwrap();
        }
        let waiter = tokio::spawn({
            let link = link.clone();
            async move { link.drained_to(Lane::Conversation, 0).await }
        });
        for _ in 1..=20 {
            next(&mut reader).await;
        }
        tokio::time::timeout(PATIENCE, waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
