//! Starting a session: listening or connecting for the role the command
//! line asked for, opening the journal, and the first events that tell the
//! app what it starts from. Setup errors surface here, before any UI
//! exists, so they print on a clean terminal; a guest's first connection
//! may be left to the front end ([`Session::first_join`]), so the chat
//! screen shows where it connects while the handshake goes on.

use std::path::PathBuf;

use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::app::{App, Event, Role};
use crate::domain::{HeldMessages, Limits, Newcomers};
use crate::journal::Journal;
use crate::keymap::Keymap;
use crate::net::handshake::{CodeBook, HostPolicy};
use crate::net::{self, Host, NetError, NetEvent, Target};
use crate::protocol::{HandshakeError, Hello};
use crate::theme::Theme;
use crate::transcript::Logbook;

use super::{Rejoin, Session};

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
    /// Whether the host's code is single-use (one duplex made up): once a
    /// guest joined with it, the next one replaces it.
    pub single_use: bool,
    /// What a host does with newcomers while its guest is away.
    pub newcomers: Newcomers,
    /// What a guest does with messages typed for an earlier conversation.
    pub held: HeldMessages,
    /// Whether a guest whose host wants a code it does not have may ask for
    /// it (in the TUI).
    pub can_ask: bool,
    /// Whether a host also chats with plain text clients.
    pub allow_plain: bool,
    /// The text encoding of plain peers.
    pub encoding: &'static encoding_rs::Encoding,
    /// How plain peers frame their messages.
    pub plain_framing: net::plain::Framing,
    /// Where to keep this conversation's [`Journal`]: a directory and a key
    /// (`None`: keep nothing on disk).
    pub journal: Option<(PathBuf, String)>,
    /// The time limits and budgets to run by.
    pub limits: Limits,
    /// What the keys do.
    pub keymap: Keymap,
    /// The styles the screen is drawn with.
    pub theme: Theme,
    /// Where received files land and what is accepted.
    pub files: crate::app::transfer::FileOptions,
    /// Whether typing is sent, shown and announced (`--no-typing`: no).
    pub typing: bool,
    /// `--quiet`: no bell, no desktop notifications.
    pub quiet: bool,
    /// Whether a guest's first connection is made once the front end runs
    /// ([`Session::first_join`]), so the chat screen shows "connecting to
    /// ADDR…" meanwhile (the handshake may wait for the host's person), rather
    /// than before it starts (headless: a failure is printed before
    /// anything else).
    pub join_later: bool,
    /// The folder `--log` appends transcripts to (made already).
    pub log: Option<PathBuf>,
}

/// A guest's first connection, its handshake made once the front end runs.
#[derive(Debug)]
pub struct FirstJoin {
    /// The connection, already open: an address that cannot be reached
    /// fails at once, before the screen changes.
    stream: TcpStream,
    /// The host's address.
    addr: SocketAddr,
    /// Whether the person may be asked for a code the host wants.
    can_ask: bool,
    /// Whether this run carries on a conversation (its journal's): a busy
    /// host is then tried again, as after a drop.
    resuming: bool,
}

impl Session {
    /// Starts listening or connects, before any UI exists, so setup errors
    /// are printed on a clean terminal.
    pub async fn start(mode: Mode, options: Options) -> Result<Self, NetError> {
        let Options {
            name,
            code,
            single_use,
            newcomers,
            held,
            can_ask,
            allow_plain,
            encoding,
            plain_framing,
            journal,
            limits,
            keymap,
            theme,
            files,
            typing,
            quiet,
            join_later,
            log,
        } = options;
        let (tx, events) = mpsc::channel(EVENT_QUEUE_LEN);
        let mut hello = Hello::new(&name);
        if !typing {
            // Not announced: a peer sends none.
            hello
                .capabilities
                .retain(|name| name != crate::protocol::frame::capability::TYPING);
        }
        let session = rand::random();
        let (journal, restored, journal_error) = match journal {
            None => (None, None, None),
            Some((dir, key)) => match Journal::open(&dir, &key, session) {
                Ok((journal, restored)) => (Some(journal), restored, None),
                Err(err) => {
                    tracing::warn!(%err, "running without a journal");
                    (None, None, Some(err.to_string()))
                }
            },
        };
        let conversation = restored.as_ref().and_then(|saved| saved.conversation);
        // A single-use code changed while the conversation was on: the one
        // this run was started with no longer works.
        let code = match restored.as_ref().and_then(|saved| saved.code.clone()) {
            Some(kept) if single_use || matches!(mode, Mode::Join(_)) => Some(kept),
            _ => code,
        };
        let mut ask_code = false;
        let mut refused = None;
        let mut rejoin = None;
        let mut first = None;
        let mut joining = None;
        let mut host_hello = None;
        let role = match mode {
            Mode::Host(host) => {
                let role = Role::Host {
                    local: host.local_addr(),
                    hints: host.join_hints(),
                    code: code.clone(),
                    show_code: true,
                };
                let policy = HostPolicy {
                    allow_plain,
                    encoding,
                    framing: plain_framing,
                    conversation,
                    limits,
                    newcomers,
                    code: code.map(|code| {
                        if single_use {
                            CodeBook::single_use(code)
                        } else {
                            CodeBook::fixed(code)
                        }
                    }),
                    ..HostPolicy::new(None)
                };
                let (tx_hello, rx_hello) = tokio::sync::watch::channel(hello);
                host_hello = Some(tx_hello);
                host.spawn_watching(rx_hello, policy, tx);
                role
            }
            Mode::JoinPlain(target) => {
                joining = Some(target.to_string());
                let dialect = net::plain::Dialect {
                    encoding,
                    framing: plain_framing,
                };
                net::connect_plain(&target, dialect, tx).await?;
                Role::Guest
            }
            Mode::Join(target) => {
                hello.resume = conversation;
                joining = Some(target.to_string());
                let (stream, addr) = net::dial(&target).await?;
                let resuming = conversation.is_some();
                if join_later {
                    first = Some(FirstJoin {
                        stream,
                        addr,
                        can_ask,
                        resuming,
                    });
                } else {
                    let opened =
                        net::open(stream, addr, &hello, code.as_deref(), tx.clone(), limits).await;
                    if let Err(err) = opened {
                        match outcome(err, can_ask, resuming) {
                            Ok(Event::CodeNeeded) => ask_code = true,
                            Ok(event) => refused = Some(event),
                            Err(err) => return Err(err),
                        }
                    }
                }
                rejoin = Some(Rejoin {
                    target,
                    hello,
                    code,
                    events: tx,
                    limits,
                });
                Role::Guest
            }
        };
        let mut app = App::new(&name, role, session);
        app.joining = joining;
        app.limits = limits;
        app.held_policy = held;
        app.keymap = keymap;
        app.theme = theme;
        app.transfers.options = files;
        app.presence.enabled = typing;
        app.attention.quiet = quiet;
        app.history
            .set_limit(limits.history_entries, limits.history_bytes);
        app.keeping.on = log.is_some();
        let logbook = log.map(Logbook::new);
        let mut session = Self::new(app, events, rejoin, journal, logbook);
        session.first = first;
        session.host_hello = host_hello;
        if let Some(saved) = restored {
            session.handle(Event::Restore(Box::new(saved)));
        }
        if let Some(error) = journal_error {
            session.handle(Event::JournalFailed {
                error,
                at_start: true,
            });
        }
        if ask_code {
            session.handle(Event::CodeNeeded);
        }
        if let Some(refused) = refused {
            session.handle(refused);
        }
        Ok(session)
    }
}

impl Session {
    /// The guest's first connection, when it is made once the front end
    /// runs ([`Options::join_later`]): a future that ends with the event
    /// its failure is to the app (a code to ask for, a busy host to try
    /// again, or the reason to exit with), or `None` once connected (the
    /// peer arrives as [`NetEvent::Joined`]). Without one, it never ends.
    /// It owns what it needs: the front end polls it beside its events, and
    /// dropping it (the person left meanwhile) gives up the attempt.
    pub fn first_join(&mut self) -> impl std::future::Future<Output = Option<Event>> + 'static {
        let attempt = self.first.take().zip(self.rejoin.clone());
        async move {
            let Some((first, rejoin)) = attempt else {
                return std::future::pending().await;
            };
            let connected = net::open(
                first.stream,
                first.addr,
                &rejoin.hello,
                rejoin.code.as_deref(),
                rejoin.events.clone(),
                rejoin.limits,
            )
            .await;
            match connected {
                Ok(_) => None,
                Err(err) => Some(outcome(err, first.can_ask, first.resuming).unwrap_or_else(
                    |err| {
                        // As a failed start says it: exit status 1 and the
                        // error with its causes.
                        let reason = format!("{:#}", anyhow::Error::from(err));
                        Event::Net(NetEvent::ConnectFailed {
                            reason,
                            wrong_code: false,
                        })
                    },
                )),
            }
        }
    }
}

/// What a failed first connection is to the app: asking for the code
/// (if the person `can_ask`), trying a busy host again (when `resuming` a
/// conversation), or (`Err`) the end of the run.
fn outcome(err: NetError, can_ask: bool, resuming: bool) -> Result<Event, NetError> {
    match err {
        NetError::Handshake {
            error: HandshakeError::CodeRequired,
            ..
        } if can_ask => Ok(Event::CodeNeeded),
        // The host of our conversation is busy with someone else (or has
        // not noticed yet that we are back): keep trying, as after any drop.
        NetError::Handshake {
            addr,
            error: error @ HandshakeError::Refused(_),
        } if resuming => {
            let reason = NetError::Handshake { addr, error }.to_string();
            Ok(Event::Refused { addr, reason })
        }
        err => Err(err),
    }
}

/// The events a started session's network sends: its receiving end.
pub type Events = mpsc::Receiver<NetEvent>;
