//! Starting a session: listening or connecting for the role the command
//! line asked for, opening the journal, and the first events that tell the
//! app what it starts from. Setup errors surface here, before any UI
//! exists, so they print on a clean terminal.

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::app::{App, Event, Role};
use crate::domain::{HeldMessages, Limits, Newcomers};
use crate::journal::Journal;
use crate::keymap::Keymap;
use crate::net::handshake::HostPolicy;
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
    /// The folder `--log` appends transcripts to (made already).
    pub log: Option<PathBuf>,
}

impl Session {
    /// Starts listening or connects, before any UI exists, so setup errors
    /// are printed on a clean terminal.
    pub async fn start(mode: Mode, options: Options) -> Result<Self, NetError> {
        let Options {
            name,
            code,
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
            log,
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
                    (None, None, Some(err.to_string()))
                }
            },
        };
        let conversation = restored.as_ref().and_then(|saved| saved.conversation);
        let mut ask_code = false;
        let mut refused = None;
        let mut rejoin = None;
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
                    ..HostPolicy::new(code)
                };
                let (tx_hello, rx_hello) = tokio::sync::watch::channel(hello);
                host_hello = Some(tx_hello);
                host.spawn_watching(rx_hello, policy, tx);
                role
            }
            Mode::JoinPlain(target) => {
                let dialect = net::plain::Dialect {
                    encoding,
                    framing: plain_framing,
                };
                net::connect_plain(&target, dialect, tx).await?;
                Role::Guest
            }
            Mode::Join(target) => {
                hello.resume = conversation;
                match net::connect(&target, &hello, code.as_deref(), tx.clone(), limits).await {
                    Ok(_) => {}
                    Err(NetError::Handshake {
                        error: HandshakeError::CodeRequired,
                        ..
                    }) if can_ask => ask_code = true,
                    // The host of our conversation is busy with someone
                    // else (or has not noticed yet that we are back): keep
                    // trying, as after any drop.
                    Err(NetError::Handshake {
                        addr,
                        error: error @ HandshakeError::Refused(_),
                    }) if conversation.is_some() => {
                        let reason = NetError::Handshake { addr, error }.to_string();
                        refused = Some(Event::Refused { addr, reason });
                    }
                    Err(err) => return Err(err),
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
        app.limits = limits;
        app.held_policy = held;
        app.keymap = keymap;
        app.theme = theme;
        app.history
            .set_limit(limits.history_entries, limits.history_bytes);
        app.keeping.on = log.is_some();
        let logbook = log.map(Logbook::new);
        let mut session = Self::new(app, events, rejoin, journal, logbook);
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

/// The events a started session's network sends: its receiving end.
pub type Events = mpsc::Receiver<NetEvent>;
