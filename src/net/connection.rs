//! One connection: its handshake, then a reader task and a writer task.
//!
//! The socket is split with `into_split()` into owned halves. The reader task
//! turns incoming frames into [`NetEvent`]s; the writer task drains a bounded
//! queue, writing every frame already queued before it flushes once. The UI
//! only ever calls [`PeerLink::send`], which never waits.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use tokio_util::codec::{Framed, FramedRead, FramedWrite};

use super::{ConnId, LeftReason, NetEvent, PeerInfo};
use crate::protocol::handshake::NOT_DUPLEX_REPLY;
use crate::protocol::{CodecError, Frame, FrameCodec, HandshakeError, Hello, Preamble};

/// How long a peer has to complete the handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Frames that may wait in one connection's send queue.
pub const SEND_QUEUE_LEN: usize = 4096;

/// Frames the writer writes before it flushes, when many are queued.
const WRITE_BATCH: usize = 256;

/// How long a closing connection may take to flush its queue.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Hands out connection ids, unique for the life of the program.
pub fn next_conn_id() -> ConnId {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What the writer task is asked to do.
enum Outgoing {
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

/// Opens a connection as the guest: preamble, then hellos.
///
/// Returns the host's hello and any bytes read past it.
pub async fn guest_handshake<S>(
    stream: &mut S,
    hello: &Hello,
) -> Result<(Hello, BytesMut), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    stream.write_all(&Preamble::current().to_bytes()).await?;
    let mut theirs = [0; Preamble::LEN];
    stream.read_exact(&mut theirs).await?;
    Preamble::parse(&theirs)?;

    let mut framed = Framed::new(stream, FrameCodec::new());
    framed.send(Frame::Hello(hello.clone())).await?;
    match framed.next().await {
        Some(Ok(Frame::Hello(host))) => Ok((host, framed.into_parts().read_buf)),
        Some(Ok(Frame::Refused { reason })) => Err(HandshakeError::Refused(reason)),
        Some(Ok(other)) => Err(HandshakeError::UnexpectedFrame(other.kind())),
        Some(Err(err)) => Err(err.into()),
        None => Err(HandshakeError::Closed),
    }
}

/// Accepts a connection as the host: checks the guest's preamble and hello,
/// asks `admit` whether to let this guest in, and answers.
///
/// `admit` returns what the connection should hold while it lives (a slot in
/// the conversation) or the reason to refuse. Returns the guest's hello, what
/// `admit` gave, and any bytes read past the hello.
pub async fn host_handshake<S, T>(
    stream: &mut S,
    hello: &Hello,
    admit: impl FnOnce(&Hello) -> Result<T, String>,
) -> Result<(Hello, T, BytesMut), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut theirs = [0; Preamble::LEN];
    stream.read_exact(&mut theirs).await?;
    match Preamble::parse(&theirs) {
        Ok(_) => {}
        Err(err @ HandshakeError::NotDuplex { .. }) => {
            // A plain socket program: tell its user how to connect.
            let _ = stream.write_all(NOT_DUPLEX_REPLY.as_bytes()).await;
            let _ = stream.shutdown().await;
            return Err(err);
        }
        Err(err) => {
            // Let the guest see our version so it can name both.
            let _ = stream.write_all(&Preamble::current().to_bytes()).await;
            return Err(err);
        }
    }
    stream.write_all(&Preamble::current().to_bytes()).await?;

    let mut framed = Framed::new(stream, FrameCodec::new());
    let guest = match framed.next().await {
        Some(Ok(Frame::Hello(guest))) => guest,
        Some(Ok(other)) => return Err(HandshakeError::UnexpectedFrame(other.kind())),
        Some(Err(err)) => return Err(err.into()),
        None => return Err(HandshakeError::Closed),
    };
    match admit(&guest) {
        Ok(held) => {
            framed.send(Frame::Hello(hello.clone())).await?;
            Ok((guest, held, framed.into_parts().read_buf))
        }
        Err(reason) => {
            framed
                .send(Frame::Refused {
                    reason: reason.clone(),
                })
                .await?;
            Err(HandshakeError::Refused(reason))
        }
    }
}

/// Starts the reader and writer tasks of a connection whose handshake is done.
///
/// Sends [`NetEvent::Joined`] first, so every later event of this connection
/// comes after it. `leftover` holds bytes the handshake read past its last
/// frame; `slot` is released when the connection ends.
pub async fn spawn(
    stream: TcpStream,
    info: PeerInfo,
    leftover: BytesMut,
    events: mpsc::Sender<NetEvent>,
    slot: Option<OwnedSemaphorePermit>,
) -> PeerLink {
    let _ = stream.set_nodelay(true);
    let (read_half, write_half) = stream.into_split();
    let (tx, rx) = mpsc::channel(SEND_QUEUE_LEN);
    let link = PeerLink { id: info.id, tx };
    let id = info.id;
    let _ = events
        .send(NetEvent::Joined {
            info,
            link: link.clone(),
        })
        .await;

    let mut reader = FramedRead::new(read_half, FrameCodec::new());
    *reader.read_buffer_mut() = leftover;
    tokio::spawn(async move {
        let reason = read_frames(id, &mut reader, &events).await;
        tracing::info!(conn = id, ?reason, "connection ended");
        let _ = events.send(NetEvent::Left { from: id, reason }).await;
        drop(slot);
    });
    tokio::spawn(write_frames(
        id,
        FramedWrite::new(write_half, FrameCodec::new()),
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
    loop {
        let frame = match reader.next().await {
            Some(Ok(frame)) => frame,
            Some(Err(err)) => {
                tracing::warn!(conn = id, %err, "dropping connection");
                return LeftReason::Error(err.to_string());
            }
            None => return LeftReason::Closed,
        };
        match frame {
            Frame::Chat(msg) => {
                if events.send(NetEvent::Chat { from: id, msg }).await.is_err() {
                    return LeftReason::Closed; // nobody is listening any more
                }
            }
            Frame::Leave => return LeftReason::Left,
            Frame::Bye => return LeftReason::Bye,
            other => tracing::warn!(conn = id, kind = other.kind(), "ignoring unexpected frame"),
        }
    }
}

/// The writer task's loop: drains the queue, writing whatever is already
/// queued before flushing once, so bursts cost one flush.
async fn write_frames<W>(
    id: ConnId,
    mut writer: FramedWrite<W, FrameCodec>,
    mut rx: mpsc::Receiver<Outgoing>,
) where
    W: AsyncWrite + Unpin,
{
    let mut close_ack = None;
    'queue: while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let mut written = 0;
        while let Some(item) = next.take() {
            match item {
                Outgoing::Frame(frame) => match writer.feed(frame).await {
                    Ok(()) => {}
                    Err(CodecError::OutgoingTooLarge { len }) => {
                        tracing::error!(conn = id, len, "not sending an oversized frame");
                    }
                    Err(err) => {
                        tracing::warn!(conn = id, %err, "write failed");
                        break 'queue;
                    }
                },
                Outgoing::Close(ack) => {
                    close_ack = Some(ack);
                    break 'queue;
                }
            }
            written += 1;
            if written < WRITE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if let Err(err) = writer.flush().await {
            tracing::warn!(conn = id, %err, "flush failed");
            break;
        }
    }
    let _ = writer.flush().await;
    let _ = writer.into_inner().shutdown().await;
    if let Some(ack) = close_ack {
        let _ = ack.send(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(name: &str) -> Hello {
        Hello::new(name)
    }

    #[tokio::test]
    async fn handshake_exchanges_names() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let host = tokio::spawn(async move {
            host_handshake(&mut b, &hello("host"), |_| Ok::<_, String>(()))
                .await
                .map(|(h, _, _)| h.name)
        });
        let (host_hello, _) = guest_handshake(&mut a, &hello("guest")).await.unwrap();
        assert_eq!(host_hello.name, "host");
        assert_eq!(host.await.unwrap().unwrap(), "guest");
    }

    #[tokio::test]
    async fn refused_guest_gets_the_reason() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let host = tokio::spawn(async move {
            host_handshake(&mut b, &hello("host"), |_| Err::<(), _>("busy".to_owned())).await
        });
        let err = guest_handshake(&mut a, &hello("guest")).await.unwrap_err();
        assert!(
            matches!(&err, HandshakeError::Refused(r) if r == "busy"),
            "{err}"
        );
        assert!(matches!(
            host.await.unwrap(),
            Err(HandshakeError::Refused(_))
        ));
    }

    #[tokio::test]
    async fn plain_client_is_told_how_to_connect() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let host = tokio::spawn(async move {
            host_handshake(&mut b, &hello("host"), |_| Ok::<_, String>(())).await
        });
        a.write_all(b"hello there\n").await.unwrap();
        let mut reply = String::new();
        a.read_to_string(&mut reply).await.unwrap();
        assert_eq!(reply, NOT_DUPLEX_REPLY);
        assert!(matches!(
            host.await.unwrap(),
            Err(HandshakeError::NotDuplex { .. })
        ));
    }

    #[tokio::test]
    async fn guest_sees_a_non_duplex_server() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            let mut buf = [0; 8];
            let _ = b.read_exact(&mut buf).await;
            let _ = b.write_all(b"HTTP/1.1 400 Bad Request\r\n").await;
        });
        let err = guest_handshake(&mut a, &hello("guest")).await.unwrap_err();
        assert!(matches!(err, HandshakeError::NotDuplex { .. }), "{err}");
    }

    #[tokio::test]
    async fn bytes_after_the_hello_are_kept() {
        // The host's first chat frame arrives glued to its hello.
        let (mut a, mut b) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let (_, (), _) = host_handshake(&mut b, &hello("host"), |_| Ok(()))
                .await
                .unwrap();
            let mut framed = FramedWrite::new(b, FrameCodec::new());
            framed.send(Frame::Bye).await.unwrap();
        });
        let (_, leftover) = guest_handshake(&mut a, &hello("guest")).await.unwrap();
        let mut reader = FramedRead::new(a, FrameCodec::new());
        *reader.read_buffer_mut() = leftover;
        assert_eq!(reader.next().await.unwrap().unwrap(), Frame::Bye);
    }
}
