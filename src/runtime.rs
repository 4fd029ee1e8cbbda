//! What the TUI and headless front ends share: starting the network for a
//! role, and carrying out the [`Effect`]s that [`App::update`] returns.

use std::collections::HashMap;
use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::app::{App, CodePrompt, Effect, Event, Exit, Role};
use crate::history::SystemEvent;
use crate::journal::Journal;
use crate::net::handshake::HostPolicy;
use crate::net::{self, ConnId, Host, NetError, NetEvent, PeerLink, SendError, Target};
use crate::protocol::{HandshakeError, Hello};

/// Network events that may wait for the front end before readers pause.
pub const EVENT_QUEUE_LEN: usize = 1024;

/// What the command line asked for, network-wise.
#[derive(Debug)]
pub enum Mode {
    /// Listen for guests.
    Host(Host),
    /// Join a duplex host.
    Join(Target),
    /// Chat with a plain text server.
    JoinPlain(Target),
}

/// How a session is set up, besides its mode.
#[derive(Debug, Clone)]
pub struct Options {
    /// Our name.
    pub name: String,
    /// The secret code: the host's to require, the guest's to give.
    pub code: Option<String>,
    /// Whether a guest whose host wants a code it does not have may ask for
    /// it (in the TUI).
    pub can_ask: bool,
    /// Whether a host also chats with plain text clients.
    pub allow_plain: bool,
    /// The text encoding of plain peers.
    pub encoding: &'static encoding_rs::Encoding,
    /// Where to keep this conversation's [`Journal`]: a directory and a key
    /// (`None`: keep nothing on disk).
    pub journal: Option<(PathBuf, String)>,
}

/// A started network role: the app to drive and where its events come from.
#[derive(Debug)]
pub struct Session {
    /// The state, with the role filled in.
    pub app: App,
    /// Network events, in order.
    pub events: mpsc::Receiver<NetEvent>,
    /// Open connections.
    pub links: Links,
    /// Where a guest connects again from within the session.
    rejoin: Option<Rejoin>,
    /// What a restarted run needs, kept on disk.
    journal: Option<Journal>,
}

/// What a guest needs to connect again: where, as whom, with which code,
/// and (once it has one) its token to resume the conversation.
#[derive(Debug, Clone)]
struct Rejoin {
    target: Target,
    hello: Hello,
    code: Option<String>,
    events: mpsc::Sender<NetEvent>,
}

impl Rejoin {
    /// Connects in the background after `after_ms`; failure arrives as
    /// [`NetEvent::ConnectFailed`].
    fn spawn(&self, after_ms: u64) {
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(after_ms)).await;
            let code = this.code.as_deref();
            if let Err(err) =
                net::connect(&this.target, &this.hello, code, this.events.clone()).await
            {
                tracing::info!(%err, "connecting again failed");
                let wrong_code = matches!(
                    &err,
                    NetError::Handshake {
                        error: HandshakeError::WrongCode { .. },
                        ..
                    }
                );
                let _ = this
                    .events
                    .send(NetEvent::ConnectFailed {
                        reason: err.to_string(),
                        wrong_code,
                    })
                    .await;
            }
        });
    }
}

impl Session {
    /// Starts listening or connects, before any UI exists, so setup errors
    /// are printed on a clean terminal.
    pub async fn start(mode: Mode, options: Options) -> Result<Self, NetError> {
        let Options {
            name,
            code,
            can_ask,
            allow_plain,
            encoding,
            journal,
        } = options;
        let (tx, events) = mpsc::channel(EVENT_QUEUE_LEN);
        let mut hello = Hello::new(&name);
        let session = rand::random();
        let (journal, restored, journal_error) = match journal {
            None => (None, None, None),
            Some((dir, key)) => match Journal::open(&dir, &key, session) {
                Ok((journal, restored)) => (Some(journal), restored, None),
                Err(err) => {
                    tracing::warn!(%err, "running without a journal");
                    (None, None, Some(err))
                }
            },
        };
        let conversation = restored.as_ref().and_then(|saved| saved.conversation);
        let mut ask_code = false;
        let mut rejoin = None;
        let role = match mode {
            Mode::Host(host) => {
                let role = Role::Host {
                    local: host.local_addr(),
                    hints: host.join_hints(),
                    code: code.clone(),
                };
                let policy = HostPolicy {
                    allow_plain,
                    encoding,
                    conversation,
                    ..HostPolicy::new(code)
                };
                host.spawn(hello, policy, tx);
                role
            }
            Mode::JoinPlain(target) => {
                net::connect_plain(&target, encoding, tx).await?;
                Role::Guest
            }
            Mode::Join(target) => {
                hello.resume = conversation;
                match net::connect(&target, &hello, code.as_deref(), tx.clone()).await {
                    Ok(_) => {}
                    Err(NetError::Handshake {
                        error: HandshakeError::CodeRequired,
                        ..
                    }) if can_ask => ask_code = true,
                    Err(err) => return Err(err),
                }
                rejoin = Some(Rejoin {
                    target,
                    hello,
                    code,
                    events: tx,
                });
                Role::Guest
            }
        };
        let mut app = App::new(&name, role, session);
        if let Some(saved) = &restored {
            app.restore(saved);
        }
        if let Some(err) = journal_error {
            app.history.push_system(
                app.clock.now_ms(),
                SystemEvent::Error(format!(
                    "keeping nothing on disk ({err}): if this duplex is stopped, \
                     what it has not delivered is lost"
                )),
            );
        }
        if ask_code {
            app.prompt = Some(CodePrompt::default());
        }
        Ok(Self {
            app,
            events,
            links: Links::default(),
            rejoin,
            journal,
        })
    }

    /// Feeds one event to the app and carries out its effects. Returns how to
    /// exit once the app asks to quit.
    pub fn handle(&mut self, event: Event) -> Option<Exit> {
        if let Event::Net(net) = &event {
            self.links.observe(net);
            if let (NetEvent::Joined { info, .. }, Some(rejoin)) = (net, self.rejoin.as_mut())
                && info.resume.is_some()
            {
                rejoin.hello.resume = info.resume;
            }
        }
        let mut effects = self.app.update(event);
        // Written down before any frame goes out (frames leave from the
        // writer tasks, which run only after this returns).
        effects.retain(|effect| match effect {
            Effect::Remember(record) => {
                if let Some(journal) = &mut self.journal {
                    journal.record(record);
                }
                false
            }
            _ => true,
        });
        self.flush_journal();
        let mut exit = None;
        for effect in effects {
            match effect {
                Effect::Send { to, frame } => {
                    if let Err(err) = self.links.send(to, frame) {
                        tracing::warn!(conn = to, %err, "frame not queued");
                        if err == SendError::Full {
                            // A peer that stops reading is dropped rather than
                            // letting its queue grow without bound.
                            self.links.forget(to);
                            let follow_up = self.handle(Event::Net(NetEvent::Left {
                                from: to,
                                reason: net::LeftReason::Error(err.to_string()),
                            }));
                            exit = exit.or(follow_up);
                        }
                    }
                }
                Effect::Connect { code } => match &mut self.rejoin {
                    Some(rejoin) => {
                        rejoin.code = Some(code);
                        rejoin.spawn(0);
                    }
                    None => tracing::warn!("asked to connect, but this side is the host"),
                },
                Effect::Reconnect { after_ms } => match &self.rejoin {
                    Some(rejoin) => rejoin.spawn(after_ms),
                    None => tracing::warn!("asked to reconnect, but this side is the host"),
                },
                Effect::Quit(how) => exit = exit.or(Some(how)),
                Effect::Remember(_) => {}
            }
        }
        exit
    }

    /// Writes what the journal took; if the disk says no, carries on
    /// without one and says so.
    fn flush_journal(&mut self) {
        let Some(journal) = &mut self.journal else {
            return;
        };
        if let Err(err) = journal.flush() {
            tracing::warn!(%err, "journal not written; going on without it");
            if let Some(journal) = self.journal.take() {
                journal.abandon();
            }
            self.app.history.push_system(
                self.app.clock.now_ms(),
                SystemEvent::Error(format!(
                    "cannot keep undelivered messages on disk any more ({err}): \
                     if this duplex is stopped, they are lost"
                )),
            );
        }
    }
}

/// Most network events handled as one burst (one redraw, one
/// acknowledgement), so a burst costs little while the screen keeps up.
pub const MAX_BURST: usize = 4096;

/// Room the send queue must have before more piped input is read.
pub const INPUT_RESERVE: usize = 256;

impl Session {
    /// Handles the network events already waiting (up to [`MAX_BURST`]),
    /// then [`Event::Flush`]. Returns how to exit if the app quits.
    pub fn handle_burst(&mut self) -> Option<Exit> {
        for _ in 0..MAX_BURST {
            let Ok(net) = self.events.try_recv() else {
                break;
            };
            if let Some(exit) = self.handle(Event::Net(net)) {
                return Some(exit);
            }
        }
        self.handle(Event::Flush)
    }

    /// Whether the current peer's send queue can take more of our input.
    pub fn can_send(&self) -> bool {
        self.current_link()
            .is_none_or(|link| link.has_room_for(INPUT_RESERVE))
    }

    /// A future that ends once the current peer's send queue can take more
    /// input (never, if nobody is connected).
    pub fn room_to_send(&self) -> impl std::future::Future<Output = ()> + 'static {
        let link = self.current_link().cloned();
        async move {
            match link {
                Some(link) => link.room_for(INPUT_RESERVE).await,
                None => std::future::pending().await,
            }
        }
    }

    fn current_link(&self) -> Option<&PeerLink> {
        self.app
            .peer()
            .and_then(|peer| self.links.links.get(&peer.id))
    }
}

/// The open connections, by id.
#[derive(Debug, Default)]
pub struct Links {
    links: HashMap<ConnId, PeerLink>,
}

impl Links {
    /// Keeps track of connections as they open and close.
    pub fn observe(&mut self, event: &NetEvent) {
        match event {
            NetEvent::Joined { info, link } => {
                self.links.insert(info.id, link.clone());
            }
            NetEvent::Left { from, .. } => {
                self.links.remove(from);
            }
            _ => {}
        }
    }

    /// Queues a frame for a connection.
    pub fn send(&self, to: ConnId, frame: crate::protocol::Frame) -> Result<(), SendError> {
        self.links
            .get(&to)
            .ok_or(SendError::Closed)
            .and_then(|link| link.send(frame))
    }

    /// Stops tracking a connection (its tasks end when the socket does).
    pub fn forget(&mut self, id: ConnId) {
        self.links.remove(&id);
    }

    /// Flushes and closes every connection, for a clean exit.
    pub async fn close_all(&mut self) {
        let closing = self
            .links
            .drain()
            .map(|(_, link)| async move { link.close().await });
        futures::future::join_all(closing).await;
    }
}
