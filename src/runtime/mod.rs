//! What the TUI and headless front ends share: a started [`Session`] that
//! feeds events to the app and carries out the [`Effect`]s its update step
//! returns, in order: records go to the journal before any frame of the
//! same step leaves, frames go to the [`registry`]'s connections, outputs
//! are kept for the front end to show.
//!
//! - [`start`]: listening or connecting, and the first events;
//! - this module: interpreting effects, and the deadline to wake up for;
//! - [`registry`]: the open connections.

pub mod files;
pub mod registry;
pub mod start;

use tokio::sync::mpsc;

use crate::app::{Alert, App, Effect, Event, Exit, Output};
use crate::domain::Limits;
use crate::journal::Journal;
use crate::net::{self, Lane, NetEvent, Target};
use crate::protocol::Hello;
use crate::transcript::{self, Logbook};

pub use registry::{Refused, Registry};
pub use start::{EVENT_QUEUE_LEN, Mode, Options};

/// A started network role: the app to drive and where its events come from.
#[derive(Debug)]
pub struct Session {
    /// The state, with the role filled in.
    pub app: App,
    /// Network events, in order.
    pub events: mpsc::Receiver<NetEvent>,
    /// Open connections.
    pub registry: Registry,
    /// What happened, for the front end to show; it takes them with
    /// [`Session::take_outputs`].
    outputs: Vec<Output>,
    /// Attention the app asked for, for the TUI to carry out (headless
    /// mode has no terminal to ring, and drops them).
    alerts: Vec<Alert>,
    /// Where a guest connects again from within the session.
    rejoin: Option<Rejoin>,
    /// What a restarted run needs, kept on disk.
    journal: Option<Journal>,
    /// A guest's first connection, still to be made by the front end.
    first: Option<start::FirstJoin>,
    /// Where `--log` transcripts go, while they can be written.
    logbook: Option<Logbook>,
    /// The host's hello for the guests to come (our name in it changes
    /// with `/nick`).
    host_hello: Option<tokio::sync::watch::Sender<Hello>>,
    /// Whether the front end must draw the whole screen again (Ctrl-L).
    redraw: bool,
}

/// What a guest needs to connect again: where, as whom, with which code,
/// and (once it has one) its secret to resume the conversation.
#[derive(Debug, Clone)]
struct Rejoin {
    target: Target,
    hello: Hello,
    code: Option<String>,
    events: mpsc::Sender<NetEvent>,
    limits: Limits,
}

impl Rejoin {
    /// Connects in the background; failure arrives as
    /// [`NetEvent::ConnectFailed`].
    fn spawn(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let code = this.code.as_deref();
            if let Err(err) = net::connect(
                &this.target,
                &this.hello,
                code,
                this.events.clone(),
                this.limits,
            )
            .await
            {
                let err = err.reconnecting();
                tracing::info!(%err, "connecting again failed");
                let wrong_code = err.is_wrong_code();
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

/// Most network events handled as one burst (one redraw, one
/// acknowledgement), so a burst costs little while the screen keeps up.
pub const MAX_BURST: usize = 4096;

/// Bytes the connection's queue must have free before more piped input
/// for a plain peer is read.
pub const INPUT_RESERVE: usize = 64 * 1024;

impl Session {
    fn new(
        app: App,
        events: mpsc::Receiver<NetEvent>,
        rejoin: Option<Rejoin>,
        journal: Option<Journal>,
        logbook: Option<Logbook>,
    ) -> Self {
        Self {
            app,
            events,
            registry: Registry::default(),
            outputs: Vec::new(),
            alerts: Vec::new(),
            rejoin,
            journal,
            first: None,
            logbook,
            host_hello: None,
            redraw: false,
        }
    }

    /// Feeds one event to the app and carries out its effects, then the
    /// results of the file IO they asked for, in order. Returns how to
    /// exit once the app asks to quit.
    pub fn handle(&mut self, event: Event) -> Option<Exit> {
        let mut done = std::collections::VecDeque::new();
        let mut exit = self.handle_one(event, &mut done);
        while let Some(io) = done.pop_front() {
            exit = exit.or(self.handle_one(Event::Files(io), &mut done));
        }
        exit
    }

    fn handle_one(
        &mut self,
        event: Event,
        done: &mut std::collections::VecDeque<crate::transfer::IoDone>,
    ) -> Option<Exit> {
        if let Event::Net(net) = &event {
            self.registry.observe(net);
            if let (NetEvent::Joined { info, .. }, Some(rejoin)) = (net, self.rejoin.as_mut())
                && info.resume.is_some()
            {
                rejoin.hello.resume = info.resume;
            }
            // The host's single-use code changed: come back with the new one.
            if let (NetEvent::CodeChanged { code }, Some(rejoin)) = (net, self.rejoin.as_mut()) {
                rejoin.code = Some(code.clone());
            }
        }
        let mut effects = self.app.update(event);
        // Written down before any frame goes out (frames leave from the
        // writer tasks, which run only after this returns).
        let mut remembered = false;
        effects.retain(|effect| match effect {
            Effect::Remember(record) => {
                if let Some(journal) = &mut self.journal {
                    journal.record(record);
                    remembered = true;
                }
                false
            }
            _ => true,
        });
        let mut exit = None;
        if remembered && let Some(error) = self.flush_journal() {
            exit = exit.or(self.handle(Event::JournalFailed {
                error,
                at_start: false,
            }));
        }
        for effect in effects {
            match effect {
                Effect::Send { to, frame } => {
                    if let Err(err) = self.registry.send(to, frame) {
                        tracing::warn!(conn = to, %err, "frame not queued");
                        if matches!(err, Refused::Link(net::SendError::Full)) {
                            // Over budget: something is badly wrong with
                            // this connection. End it; the conversation can
                            // resume on a fresh one.
                            self.registry
                                .disconnect(to, net::LeftReason::Error(err.to_string()));
                        }
                    }
                }
                Effect::Disconnect { conn, reason } => self.registry.disconnect(conn, reason),
                Effect::Answer { knock, admit } => self.registry.answer(knock, admit),
                Effect::Connect { code } => match &mut self.rejoin {
                    Some(rejoin) => {
                        if code.is_some() {
                            rejoin.code = code;
                        }
                        rejoin.spawn();
                    }
                    None => tracing::warn!("asked to connect, but this side is the host"),
                },
                Effect::Output(output) => self.outputs.push(output),
                Effect::Files(action) => done.extend(files::perform(action)),
                Effect::Attention(alert) => self.alerts.push(alert),
                Effect::Quit(how) => exit = exit.or(Some(how)),
                Effect::Remember(_) => {}
                Effect::Transcribe { file, lines } => {
                    let Some(book) = self.logbook.as_mut() else {
                        continue;
                    };
                    if let Err(err) = book.append(&file, &lines) {
                        tracing::warn!(%err, "transcript not written; going on without it");
                        self.logbook = None;
                        exit = exit.or(self.handle(Event::TranscriptFailed(err.to_string())));
                    }
                }
                Effect::Save {
                    path,
                    lines,
                    replace,
                } => {
                    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
                    let path = transcript::resolve(&path, home.as_deref());
                    let error = transcript::save(&path, &lines, replace)
                        .err()
                        .map(|err| err.to_string());
                    exit = exit.or(self.handle(Event::Saved {
                        path,
                        count: lines.len(),
                        error,
                    }));
                }
                Effect::Redraw => self.redraw = true,
                Effect::Rename(name) => {
                    if let Some(rejoin) = &mut self.rejoin {
                        rejoin.hello.name.clone_from(&name);
                    }
                    if let Some(hello) = &self.host_hello {
                        hello.send_modify(|hello| hello.name = name);
                    }
                }
            }
        }
        exit
    }

    /// Whether the screen must be drawn whole (and forgets it was asked).
    pub fn take_redraw(&mut self) -> bool {
        std::mem::take(&mut self.redraw)
    }

    /// Takes what happened since the last call, oldest first.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }

    /// Takes the attention asked for since the last call, oldest first.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.alerts)
    }

    /// Writes what the journal took; if the disk says no, carries on
    /// without one and returns why.
    fn flush_journal(&mut self) -> Option<String> {
        let journal = self.journal.as_mut()?;
        let err = journal.flush().err()?;
        tracing::warn!(%err, "journal not written; going on without it");
        if let Some(journal) = self.journal.take() {
            journal.abandon();
        }
        Some(err.to_string())
    }

    /// Handles the network events already waiting (up to [`MAX_BURST`]),
    /// then [`Event::Flush`]. Returns how to exit if the app quits.
    pub fn handle_burst(&mut self) -> Option<Exit> {
        match self.handle_burst_then(|_| Ok::<(), std::convert::Infallible>(())) {
            Ok(exit) => exit,
            Err(never) => match never {},
        }
    }

    /// [`Session::handle_burst`], calling `after_each` after each event of
    /// the burst: a front end that prints does so at once, so what was
    /// written down as received is printed before anything else happens
    /// (a process killed mid-burst has printed all it recorded but the
    /// message it was on).
    pub fn handle_burst_then<E>(
        &mut self,
        mut after_each: impl FnMut(&mut Self) -> Result<(), E>,
    ) -> Result<Option<Exit>, E> {
        for _ in 0..MAX_BURST {
            let Ok(net) = self.events.try_recv() else {
                break;
            };
            if let Some(exit) = self.handle(Event::Net(net)) {
                return Ok(Some(exit));
            }
            after_each(self)?;
        }
        Ok(self.handle(Event::Flush))
    }

    /// Whether more of our input may be read now: the app has room for it,
    /// and a plain peer's connection (which has no window) can take it.
    pub fn can_send(&self) -> bool {
        self.app.wants_input()
            && self
                .plain_link()
                .is_none_or(|link| link.has_room(Lane::Conversation, INPUT_RESERVE))
    }

    /// A future that ends once a plain peer's connection has drained enough
    /// to take more input (never, for anything else: the app's window moves
    /// with events, which wake the front end anyway).
    pub fn room_to_send(&self) -> impl std::future::Future<Output = ()> + 'static {
        let link = self.plain_link().cloned();
        async move {
            match link {
                Some(link) => {
                    link.drained_to(
                        Lane::Conversation,
                        net::connection::LANE_BUDGET - INPUT_RESERVE,
                    )
                    .await
                }
                None => std::future::pending().await,
            }
        }
    }

    /// A future that ends at the app's next deadline (never, if it has none).
    pub fn deadline(&self) -> impl std::future::Future<Output = ()> + 'static {
        let wait = self.app.next_deadline().map(|at| {
            let now = self.app.clock.mono_ms();
            std::time::Duration::from_millis(u64::try_from(at - now).unwrap_or(0))
        });
        async move {
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => std::future::pending().await,
            }
        }
    }

    fn plain_link(&self) -> Option<&net::PeerLink> {
        self.app
            .connected()
            .filter(|info| info.is_plain())
            .and_then(|info| self.registry.link(info.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Role;
    use crate::domain::{PeerInfo, Security};
    use crate::net::PeerLink;
    use crate::protocol::{ChatMessage, MessageId};

    fn bob() -> PeerInfo {
        PeerInfo {
            id: 3,
            name: "bob".into(),
            addr: "127.0.0.1:1".parse().expect("an address"),
            security: Security::Encrypted {
                verification: "a-b-c-d".into(),
                with_code: false,
            },
            resumed: false,
            resume: None,
            caps: Default::default(),
        }
    }

    /// Exactly once across a kill: each message of a burst is written
    /// down as received, then handed to the front end to print, before the
    /// next one is taken in; never a whole burst recorded and then printed.
    #[test]
    fn each_message_of_a_burst_is_printed_right_after_it_is_recorded() {
        let dir = tempfile::tempdir().expect("a directory");
        let (journal, _) = Journal::open(dir.path(), "k", 1).expect("a journal");
        let (tx, events) = mpsc::channel(16);
        let app = App::new("alice", Role::Guest, 1);
        let mut session = Session::new(app, events, None, Some(journal), None);
        session.handle(Event::Net(NetEvent::Joined {
            info: bob(),
            link: PeerLink::detached(3),
        }));
        session.take_outputs();
        for seq in 1..=3 {
            let msg = ChatMessage {
                id: MessageId { session: 9, seq },
                sent_at_ms: 0,
                text: format!("m{seq}"),
                action: false,
            };
            tx.try_send(NetEvent::Chat { from: 3, msg })
                .expect("queued");
        }
        let path = dir.path().join(crate::journal::file::file_name("k"));
        let mut printed = Vec::new();
        let exit = session
            .handle_burst_then(|session| {
                let outputs = session.take_outputs();
                let bytes = std::fs::read(&path).map_err(|err| err.to_string())?;
                let saved = crate::journal::decode(&bytes)
                    .map_err(|err| err.to_string())?
                    .saved
                    .ok_or("nothing saved")?;
                for output in outputs {
                    if let Output::Message { id, .. } = output {
                        assert!(saved.inbox.contains(&id), "printed before recorded");
                        printed.push(id.seq);
                    }
                }
                // One at a time: nothing recorded but not printed.
                assert_eq!(
                    saved.inbox.iter().map(|id| id.seq).max(),
                    printed.last().copied()
                );
                Ok::<(), String>(())
            })
            .expect("no error");
        assert!(exit.is_none());
        assert_eq!(printed, [1, 2, 3]);
    }
}
