//! The application state and its pure update step (the Elm architecture).
//!
//! [`App::update`] takes one [`Event`] (a key, a mouse wheel turn, a resize,
//! something from the network, a line from standard input), changes the
//! state, and returns the [`Effect`]s the runtime must carry out: frames to
//! send and when to quit. It does no IO itself, so every behaviour can be
//! tested by feeding it events. Rendering reads the state in [`crate::ui`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use chrono::FixedOffset;
use crossterm::event::{KeyEvent, MouseEvent, MouseEventKind};

use crate::history::{AuthorId, Delivery, Entry, History, SystemEvent};
use crate::input::Input;
use crate::journal::{Record, Saved};
use crate::keymap::{self, Action, Keymap};
use crate::net::{ConnId, JoinHint, LeftReason, NetEvent, PeerInfo, Security};
use crate::protocol::frame::MAX_TEXT_LEN;
use crate::protocol::{ChatMessage, Frame, MessageId};
use crate::text::sanitize_text;
use crate::ui;
use crate::ui::messages::{Pane, Scroll};

/// Rows one turn of the mouse wheel scrolls.
pub const WHEEL_ROWS: usize = 3;

/// The line that ends the conversation on both sides.
pub const EXIT_COMMAND: &str = "exit";

/// Which end of the conversation this program is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Listening for guests.
    Host {
        /// The address we listen on.
        local: SocketAddr,
        /// Commands a guest can use to reach us.
        hints: Vec<JoinHint>,
        /// The secret code guests must give, if any.
        code: Option<String>,
    },
    /// Joined a host.
    Guest,
}

/// The state of the conversation's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// A host with no guest yet, or whose guest left.
    Waiting,
    /// Talking to this peer.
    Connected(PeerInfo),
    /// The connection to this peer dropped without a goodbye. A host waits
    /// for the guest to come back; a guest reconnects.
    Dropped {
        /// Who we were talking to.
        peer: PeerInfo,
        /// Guest only: when the next attempt starts (ms since the epoch).
        retry_at_ms: Option<i64>,
        /// Guest only: failed attempts since the drop.
        attempts: u32,
    },
}

/// Delays between a guest's reconnection attempts: at once, then backing
/// off to a cap.
pub const RECONNECT_BACKOFF_MS: [i64; 7] = [0, 250, 500, 1000, 2000, 5000, 10_000];

/// The delay before reconnection attempt `attempt` (0 is the first).
pub fn reconnect_delay_ms(attempt: u32) -> i64 {
    let last = RECONNECT_BACKOFF_MS.len() - 1;
    RECONNECT_BACKOFF_MS[(attempt as usize).min(last)]
}

/// How the program ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// Process exit status.
    pub code: i32,
    /// A line to print once the terminal is restored.
    pub message: Option<String>,
}

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum Event {
    /// A key press.
    Key(KeyEvent),
    /// A mouse event (only the wheel is used).
    Mouse(MouseEvent),
    /// Text pasted into the terminal.
    Paste(String),
    /// The terminal is now this many columns and rows.
    Resize(u16, u16),
    /// A complete line to send, as from standard input in headless mode.
    Submit(String),
    /// Standard input ended (headless): leave.
    EndOfInput,
    /// The process was asked to stop (SIGTERM): leave with this status.
    Terminate(i32),
    /// The terminal or the SSH session went away (SIGHUP): stop without
    /// leaving, as if the connection dropped, so the conversation can be
    /// resumed by starting duplex again.
    HangUp,
    /// Something happened on the network.
    Net(NetEvent),
    /// A second passed (sent only while a countdown is shown).
    Tick,
    /// Everything that arrived together has been handled: send what was
    /// held back until now (one acknowledgement for a whole burst).
    Flush,
}

/// Something the runtime must do for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a frame to a peer.
    Send {
        /// The connection.
        to: ConnId,
        /// The frame.
        frame: Frame,
    },
    /// Connect to the host again, with this secret code.
    Connect {
        /// The code the user typed.
        code: String,
    },
    /// Connect to the host again after a drop, resuming the conversation,
    /// once this many milliseconds have passed.
    Reconnect {
        /// Delay before the attempt.
        after_ms: u64,
    },
    /// Write this down in the journal, before any frame that follows it is
    /// sent, so that a killed process can carry on where it stopped.
    Remember(Record),
    /// Stop the program.
    Quit(Exit),
}

/// The guest is being asked for the host's secret code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodePrompt {
    /// What went wrong with the last code, if anything.
    pub error: Option<String>,
    /// Whether a code is being checked right now.
    pub checking: bool,
}

/// Where the time comes from: the system clock, or a fixed time for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// Always this many ms since the Unix epoch.
    Fixed(i64),
}

impl Clock {
    /// Now, in ms since the Unix epoch.
    pub fn now_ms(self) -> i64 {
        match self {
            Clock::System => chrono::Utc::now().timestamp_millis(),
            Clock::Fixed(ms) => ms,
        }
    }
}

/// The whole state of one side of the conversation.
#[derive(Debug)]
pub struct App {
    /// Our name.
    pub me: String,
    /// Host or guest.
    pub role: Role,
    /// The connection's state.
    pub link: Link,
    /// Everything said so far.
    pub history: History,
    /// The message being typed.
    pub input: Input,
    /// What the keys do.
    pub keymap: Keymap,
    /// Where the message pane looks.
    pub scroll: Scroll,
    /// Entries that arrived while scrolled back.
    pub unread: usize,
    /// Terminal size, columns and rows.
    pub size: (u16, u16),
    /// Time zone for displayed times.
    pub zone: FixedOffset,
    /// Source of timestamps.
    pub clock: Clock,
    /// Set while the guest must type the host's secret code.
    pub prompt: Option<CodePrompt>,
    /// Our messages the peer has not acknowledged: sequence number and
    /// index in the history, oldest first.
    unacked: VecDeque<(u64, usize)>,
    /// The newest message seen from each sending session, to drop repeats.
    seen: HashMap<u64, u64>,
    /// Whether this side ever had a conversation (to tell a new one apart).
    had_peer: bool,
    /// Whether this run took over undelivered messages from a killed one
    /// (see [`App::restore`]).
    restored: bool,
    /// The newest message received and not yet acknowledged, and on which
    /// connection: acknowledged at the next [`Event::Flush`].
    ack_due: Option<(ConnId, MessageId)>,
    session: u64,
    next_seq: u64,
}

impl App {
    /// A new app for `me` in `role`; `session` makes message ids unique.
    pub fn new(me: &str, role: Role, session: u64) -> Self {
        Self {
            me: me.to_owned(),
            role,
            link: Link::Waiting,
            history: History::new(me),
            input: Input::new(),
            keymap: Keymap::default(),
            scroll: Scroll::Live,
            unread: 0,
            size: (80, 24),
            zone: *chrono::Local::now().offset(),
            clock: Clock::System,
            prompt: None,
            unacked: VecDeque::new(),
            seen: HashMap::new(),
            had_peer: false,
            restored: false,
            ack_due: None,
            session,
            next_seq: 1,
        }
    }

    /// Carries on from a run that was killed: the same message ids, and
    /// its undelivered messages back in the history as pending, to go out
    /// when the conversation resumes.
    pub fn restore(&mut self, saved: &Saved) {
        let now = self.clock.now_ms();
        // Only undelivered messages make a new conversation worth a word:
        // a bare token left by a killed run may be for a host long gone.
        self.restored = !saved.outbox.is_empty();
        self.session = saved.session;
        self.next_seq = saved.next_seq;
        if !saved.outbox.is_empty() {
            self.history.push_system(
                now,
                SystemEvent::Info(format!(
                    "{} message(s) from before duplex was stopped were not delivered yet: \
                     they go out when the conversation resumes",
                    saved.outbox.len()
                )),
            );
        }
        // A journal is the user's own file, but a damaged one must not put
        // control characters on screen or send what no peer would take.
        let usable = |msg: &&ChatMessage| {
            msg.id.session == saved.session
                && msg.id.seq < saved.next_seq
                && msg.text.len() <= MAX_TEXT_LEN
        };
        for msg in saved.outbox.iter().filter(usable) {
            self.unacked.push_back((msg.id.seq, self.history.len()));
            self.history.push(Entry::Chat {
                at_ms: msg.sent_at_ms,
                author: AuthorId::ME,
                id: msg.id,
                text: sanitize_text(&msg.text).as_ref().into(),
                delivery: Delivery::Pending,
            });
        }
    }

    /// The peer currently connected, if any.
    pub fn peer(&self) -> Option<&PeerInfo> {
        match &self.link {
            Link::Connected(peer) => Some(peer),
            Link::Waiting | Link::Dropped { .. } => None,
        }
    }

    /// Whether a countdown is on screen, so the runtime should send ticks.
    pub fn wants_ticks(&self) -> bool {
        matches!(
            self.link,
            Link::Dropped {
                retry_at_ms: Some(_),
                ..
            }
        )
    }

    /// How many of our messages await the peer's acknowledgement.
    pub fn unacked(&self) -> usize {
        self.unacked.len()
    }

    /// Whether this side is the host.
    pub fn is_host(&self) -> bool {
        matches!(self.role, Role::Host { .. })
    }

    /// The message pane as currently laid out.
    pub fn pane(&self) -> Pane<'_> {
        let area = ui::layout(
            self,
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
        );
        Pane::new(
            &self.history,
            area.messages.width as usize,
            area.messages.height as usize,
        )
    }

    /// Applies one event and returns what the runtime must do.
    pub fn update(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Key(key) => self.on_key(key),
            Event::Mouse(mouse) => {
                match mouse.kind {
                    MouseEventKind::ScrollUp => self.scroll_up(WHEEL_ROWS),
                    MouseEventKind::ScrollDown => self.scroll_down(WHEEL_ROWS),
                    _ => {}
                }
                Vec::new()
            }
            Event::Paste(text) => {
                self.input.insert_str(&text);
                Vec::new()
            }
            Event::Resize(columns, rows) => {
                self.size = (columns, rows);
                self.set_scroll(self.pane().normalize(self.scroll));
                Vec::new()
            }
            Event::Submit(line) => self.submit(line),
            Event::EndOfInput => self.leave(LeaveKind::Leave, 0),
            Event::Terminate(code) => self.leave(LeaveKind::Leave, code),
            // No goodbye and nothing forgotten: the peer sees a dropped
            // connection and waits for us, and the journal stays.
            Event::HangUp => vec![Effect::Quit(Exit {
                code: 128 + 1,
                message: None,
            })],
            Event::Net(net) => self.on_net(net),
            Event::Tick => Vec::new(),
            Event::Flush => match self.ack_due.take() {
                Some((to, up_to)) if self.peer().is_some_and(|peer| peer.id == to) => {
                    vec![Effect::Send {
                        to,
                        frame: Frame::Ack { up_to },
                    }]
                }
                _ => Vec::new(),
            },
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(action) = self.keymap.action(&key) else {
            // A key bound to nothing types itself, if it is a typing key.
            if let Some(c) = keymap::typed_char(&key) {
                self.input.insert_char(c);
            }
            return Vec::new();
        };
        if self.prompt.is_some() {
            return self.on_prompt_key(action);
        }
        match action {
            Action::Leave => return self.leave(LeaveKind::Leave, 0),
            Action::Send => {
                let line = self.input.take();
                return self.submit(line);
            }
            Action::PageUp => self.scroll_up(self.page()),
            Action::PageDown => self.scroll_down(self.page()),
            Action::Oldest => self.set_scroll(self.pane().oldest()),
            Action::Live => self.set_scroll(Scroll::Live),
            Action::Edit(edit) => self.input.apply(edit),
        }
        Vec::new()
    }

    /// Keys while the secret code is asked for: editing, Send to try the
    /// code, Leave to give up; scrolling does nothing.
    fn on_prompt_key(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Leave => {
                return vec![Effect::Quit(Exit {
                    code: 1,
                    message: Some("No secret code given; not joined.".to_owned()),
                })];
            }
            Action::Send => {
                let code = crate::words::normalize_code(self.input.text());
                let Some(prompt) = self.prompt.as_mut() else {
                    return Vec::new();
                };
                if code.is_empty() || prompt.checking {
                    return Vec::new();
                }
                self.input.take();
                prompt.checking = true;
                prompt.error = None;
                return vec![Effect::Connect { code }];
            }
            Action::Edit(edit) => self.input.apply(edit),
            Action::PageUp | Action::PageDown | Action::Oldest | Action::Live => {}
        }
        Vec::new()
    }

    /// Rows one PgUp/PgDn moves: a page, keeping one row of context.
    fn page(&self) -> usize {
        self.pane().height.saturating_sub(1).max(1)
    }

    fn scroll_up(&mut self, rows: usize) {
        self.set_scroll(self.pane().up(self.scroll, rows));
    }

    fn scroll_down(&mut self, rows: usize) {
        self.set_scroll(self.pane().down(self.scroll, rows));
    }

    fn set_scroll(&mut self, scroll: Scroll) {
        self.scroll = scroll;
        if scroll == Scroll::Live {
            self.unread = 0;
        }
    }

    /// Sends a typed line, or acts on `exit`.
    fn submit(&mut self, line: String) -> Vec<Effect> {
        if line.trim() == EXIT_COMMAND {
            return self.leave(LeaveKind::Bye, 0);
        }
        if line.trim().is_empty() {
            return Vec::new();
        }
        let now = self.clock.now_ms();
        let line = match command(&line) {
            Command::Text(text) => text,
            Command::Verify => {
                let text = match self.peer() {
                    Some(peer) => verify_text(peer),
                    None => "Nobody is connected: there is nothing to verify yet.".to_owned(),
                };
                self.history.push_system(now, SystemEvent::Info(text));
                self.set_scroll(Scroll::Live);
                return Vec::new();
            }
            Command::Help => {
                let help = format!("{}\n{COMMANDS_HELP}", self.keymap.help_text());
                self.history.push_system(now, SystemEvent::Info(help));
                self.set_scroll(Scroll::Live);
                return Vec::new();
            }
            Command::Unknown(name) => {
                self.history.push_system(
                    now,
                    SystemEvent::Error(format!(
                        "unknown command /{name}; /help lists them (start a message with // to send a /)"
                    )),
                );
                self.input.set_text(&line);
                return Vec::new();
            }
        };
        if line.len() > MAX_TEXT_LEN {
            self.history.push_system(
                now,
                SystemEvent::Error(format!(
                    "not sent: the message is {} KiB, the limit is {} KiB",
                    line.len().div_ceil(1024),
                    MAX_TEXT_LEN / 1024
                )),
            );
            self.input.set_text(&line);
            return Vec::new();
        }
        let (to, journaled) = match &self.link {
            Link::Connected(peer) => (Some(peer.id), !peer.is_plain()),
            // Queued: it goes out when the peer is back.
            Link::Dropped { .. } => (None, true),
            Link::Waiting => {
                self.history.push_system(
                    now,
                    SystemEvent::Error("not sent: nobody is connected yet".to_owned()),
                );
                self.input.set_text(&line);
                return Vec::new();
            }
        };
        let msg = ChatMessage {
            id: MessageId {
                session: self.session,
                seq: self.next_seq,
            },
            sent_at_ms: now,
            text: line,
        };
        self.next_seq = self.next_seq.saturating_add(1);
        self.unacked.push_back((msg.id.seq, self.history.len()));
        self.history.push(Entry::Chat {
            at_ms: now,
            author: AuthorId::ME,
            id: msg.id,
            text: msg.text.as_str().into(),
            delivery: if to.is_some() {
                Delivery::Sent
            } else {
                Delivery::Pending
            },
        });
        // Sending is a deliberate act: show the conversation's end.
        self.set_scroll(Scroll::Live);
        let mut effects = Vec::new();
        // Plain peers never acknowledge: nothing to carry over for them.
        if journaled {
            effects.push(Effect::Remember(Record::Sent(msg.clone())));
        }
        if let Some(to) = to {
            effects.push(Effect::Send {
                to,
                frame: Frame::Chat(msg),
            });
        }
        effects
    }

    /// Sends again, in order, every message the peer has not acknowledged.
    fn resend_unacked(&mut self, to: ConnId) -> Vec<Effect> {
        let mut effects = Vec::new();
        for &(_, index) in &self.unacked {
            if let Some(Entry::Chat {
                at_ms,
                id,
                text,
                delivery,
                ..
            }) = self.history.entry_mut(index)
            {
                *delivery = Delivery::Sent;
                effects.push(Effect::Send {
                    to,
                    frame: Frame::Chat(ChatMessage {
                        id: *id,
                        sent_at_ms: *at_ms,
                        text: text.to_string(),
                    }),
                });
            }
        }
        effects
    }

    /// Marks every unacknowledged message as never delivered; returns how
    /// many there were and the effect that forgets them.
    fn fail_unacked(&mut self) -> (usize, Effect) {
        let failed = self.unacked.len();
        for (_, index) in self.unacked.drain(..) {
            if let Some(Entry::Chat { delivery, .. }) = self.history.entry_mut(index) {
                *delivery = Delivery::Failed;
            }
        }
        (failed, Effect::Remember(Record::GaveUp))
    }

    /// Leaves: with a goodbye that ends the peer too (`exit`), or alone.
    fn leave(&mut self, kind: LeaveKind, code: i32) -> Vec<Effect> {
        // Leaving on purpose ends the conversation: nothing to resume.
        let mut effects = vec![Effect::Remember(Record::Ended)];
        if let Some(peer) = self.peer() {
            let frame = match kind {
                LeaveKind::Bye => Frame::Bye,
                LeaveKind::Leave => Frame::Leave,
            };
            effects.push(Effect::Send { to: peer.id, frame });
        }
        effects.push(Effect::Quit(Exit {
            code,
            message: None,
        }));
        effects
    }

    fn on_net(&mut self, event: NetEvent) -> Vec<Effect> {
        let now = self.clock.now_ms();
        match event {
            NetEvent::Joined { info, .. } => return self.on_joined(info, now),
            NetEvent::ConnectFailed { reason, wrong_code } => {
                if wrong_code && let Some(prompt) = self.prompt.as_mut() {
                    prompt.checking = false;
                    prompt.error = Some(reason);
                    return Vec::new();
                }
                if let Link::Dropped {
                    retry_at_ms: Some(retry_at_ms),
                    attempts,
                    ..
                } = &mut self.link
                {
                    *attempts += 1;
                    let delay = reconnect_delay_ms(*attempts);
                    *retry_at_ms = now + delay;
                    return vec![Effect::Reconnect {
                        after_ms: delay.unsigned_abs(),
                    }];
                }
                return vec![Effect::Quit(Exit {
                    code: 1,
                    message: Some(reason),
                })];
            }
            NetEvent::Chat { from, msg } => {
                let Some(peer) = self.peer().filter(|peer| peer.id == from) else {
                    return Vec::new();
                };
                let plain = peer.is_plain();
                let name = peer.name.clone();
                if !plain {
                    // Acknowledged cumulatively, once per burst.
                    self.ack_due = Some((from, msg.id));
                }
                let newest = self.seen.entry(msg.id.session).or_insert(0);
                if msg.id.seq <= *newest && !plain {
                    // Sent again after a reconnect: we have it already.
                    return Vec::new();
                }
                *newest = msg.id.seq;
                let author = self.history.author(&name);
                let text = sanitize_text(&msg.text);
                self.history.push(Entry::Chat {
                    at_ms: msg.sent_at_ms,
                    author,
                    id: msg.id,
                    text: text.as_ref().into(),
                    delivery: Delivery::Received,
                });
                self.note_arrival();
            }
            NetEvent::Ack { from, up_to } => {
                if self.peer().is_some_and(|peer| peer.id == from) && up_to.session == self.session
                {
                    let mut acked = None;
                    while let Some(&(seq, index)) = self.unacked.front() {
                        if seq > up_to.seq {
                            break;
                        }
                        self.unacked.pop_front();
                        acked = Some(seq);
                        if let Some(Entry::Chat { delivery, .. }) = self.history.entry_mut(index) {
                            *delivery = Delivery::Delivered;
                        }
                    }
                    if let Some(up_to) = acked {
                        return vec![Effect::Remember(Record::Acked { up_to })];
                    }
                }
            }
            NetEvent::Left { from, reason } => {
                let Some(peer) = self.peer().filter(|peer| peer.id == from).cloned() else {
                    return Vec::new();
                };
                self.push_system(
                    now,
                    SystemEvent::Left {
                        name: peer.name.clone(),
                        reason: reason.clone(),
                    },
                );
                return self.after_peer_left(peer, &reason, now);
            }
            NetEvent::Rejected { addr, reason } => {
                // Connections turned away in a row for the same reason fold
                // into one line, so a flood of them does not push the
                // conversation off screen.
                if let Some(Entry::System { at_ms, event }) = self.history.last_mut()
                    && let SystemEvent::Rejected {
                        addr: last_addr,
                        reason: last_reason,
                        earlier,
                    } = &mut **event
                    && *last_reason == reason
                {
                    *at_ms = now;
                    *last_addr = addr;
                    *earlier = earlier.saturating_add(1);
                } else {
                    self.push_system(
                        now,
                        SystemEvent::Rejected {
                            addr,
                            reason,
                            earlier: 0,
                        },
                    );
                }
            }
        }
        Vec::new()
    }

    /// A peer completed the handshake: a new conversation, or the same one
    /// resumed after a drop, which sends again what the peer did not get.
    fn on_joined(&mut self, info: PeerInfo, now: i64) -> Vec<Effect> {
        // A host's conversation may have had several guests, one after the
        // other: an earlier one coming back is not the one we were waiting
        // for, and must not get its messages.
        let last = match &self.link {
            Link::Connected(peer) | Link::Dropped { peer, .. } => peer.resume,
            Link::Waiting => None,
        };
        let someone_else = matches!((last, info.resume), (Some(last), Some(now))
            if self.is_host() && last.token != now.token);
        let resumed = info.resumed && !someone_else;
        // The host admits one guest at a time; only that guest coming back
        // over a new connection (before its old one was seen to end)
        // replaces the current one.
        if self.peer().is_some() && !resumed {
            return Vec::new();
        }
        self.prompt = None;
        let was = match &self.link {
            Link::Dropped { peer, .. } => Some(peer.name.clone()),
            _ => None,
        };
        // Our place in the conversation, for a run that takes over from this one.
        let mut effects: Vec<Effect> = info
            .resume
            .map(|resume| Effect::Remember(Record::Conversation(resume)))
            .into_iter()
            .collect();
        if resumed {
            let text = if self.had_peer {
                format!("{} is back: the conversation goes on", info.name)
            } else {
                // This run took over from one that was stopped.
                format!("Resumed the conversation with {}", info.name)
            };
            self.push_system(now, SystemEvent::Info(text));
            effects.extend(self.resend_unacked(info.id));
        } else {
            if (self.had_peer || self.restored) && !self.is_host() {
                self.push_system(
                    now,
                    SystemEvent::Info(format!(
                        "{} restarted duplex: this is a new conversation",
                        info.name
                    )),
                );
                // What we typed was meant for this host: it still goes out.
                effects.extend(self.resend_unacked(info.id));
            } else if !self.unacked.is_empty() {
                let (failed, forget) = self.fail_unacked();
                effects.push(forget);
                let whom = was.unwrap_or_else(|| "the last guest".to_owned());
                self.push_system(
                    now,
                    SystemEvent::Error(format!(
                        "{failed} message(s) to {whom} were not delivered: {whom} did not come back"
                    )),
                );
            }
            self.push_system(
                now,
                SystemEvent::Joined {
                    name: info.name.clone(),
                    addr: info.addr,
                    security: info.security.clone(),
                },
            );
        }
        self.had_peer = true;
        self.link = Link::Connected(info);
        effects
    }

    /// What follows a peer's departure: `exit` ends everyone; a dropped
    /// connection is waited for (host) or reconnected (guest); a guest whose
    /// host left is done; a host waits for the next guest.
    fn after_peer_left(&mut self, peer: PeerInfo, reason: &LeftReason, now: i64) -> Vec<Effect> {
        let name = peer.name.clone();
        let plain = peer.is_plain();
        let dropped = matches!(reason, LeftReason::Closed | LeftReason::Error(_));
        if dropped && !plain {
            let host = self.is_host();
            let delay = reconnect_delay_ms(0);
            self.link = Link::Dropped {
                peer,
                retry_at_ms: (!host).then_some(now + delay),
                attempts: 0,
            };
            return if host {
                Vec::new()
            } else {
                vec![Effect::Reconnect {
                    after_ms: delay.unsigned_abs(),
                }]
            };
        }
        self.link = Link::Waiting;
        // The conversation is over (on purpose, or a plain peer's
        // connection closed): nothing to resume.
        let mut effects = vec![Effect::Remember(Record::Ended)];
        if !matches!(reason, LeftReason::Bye) && !self.unacked.is_empty() {
            let (failed, forget) = self.fail_unacked();
            effects.push(forget);
            self.push_system(
                now,
                SystemEvent::Error(format!("{failed} message(s) to {name} were not delivered")),
            );
        }
        let name = &name;
        let exit = match (reason, self.is_host()) {
            (LeftReason::Bye, _) => Exit {
                code: 0,
                message: Some(format!("{name} ended the conversation.")),
            },
            (_, true) => return effects,
            (LeftReason::Left, false) => Exit {
                code: 0,
                message: Some(format!("{name} (the host) left the conversation.")),
            },
            (LeftReason::Closed, false) if plain => Exit {
                code: 0,
                message: Some(format!("{name} closed the connection.")),
            },
            (LeftReason::Closed, false) => Exit {
                code: 1,
                message: Some(format!(
                    "The connection to {name} (the host, {}) closed unexpectedly.",
                    peer.addr
                )),
            },
            (LeftReason::Error(why), false) => Exit {
                code: 1,
                message: Some(format!(
                    "Lost the connection to {name} (the host, {}): {why}",
                    peer.addr
                )),
            },
        };
        effects.push(Effect::Quit(exit));
        effects
    }

    fn push_system(&mut self, at_ms: i64, event: SystemEvent) {
        self.history.push_system(at_ms, event);
        self.note_arrival();
    }

    /// Keeps a scrolled-back view still and counts what arrived below it.
    fn note_arrival(&mut self) {
        if self.scroll != Scroll::Live {
            self.unread += 1;
        }
    }
}

/// What `/help` shows after the keys (which come from the keymap).
pub const COMMANDS_HELP: &str = "The mouse wheel scrolls too. \
Commands: exit (ends the chat for both) · /verify (the words to compare with your peer) · /help. \
Start a message with // to send one starting with /.";

/// What a typed line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    /// A message to send (with a leading `//` turned into `/`).
    Text(String),
    /// `/verify`.
    Verify,
    /// `/help`.
    Help,
    /// `/something` else.
    Unknown(String),
}

/// Reads a typed line: a message, or a `/command`.
fn command(line: &str) -> Command {
    if let Some(text) = line.strip_prefix("//") {
        return Command::Text(format!("/{text}"));
    }
    let Some(rest) = line.trim().strip_prefix('/') else {
        return Command::Text(line.to_owned());
    };
    match rest.split_whitespace().next().unwrap_or("") {
        "verify" => Command::Verify,
        "help" | "?" => Command::Help,
        other => Command::Unknown(other.to_owned()),
    }
}

/// How to check who is on the other end.
fn verify_text(peer: &PeerInfo) -> String {
    match &peer.security {
        Security::Encrypted {
            verification,
            with_code,
        } => {
            let code = if *with_code {
                " (admitted with the secret code)"
            } else {
                ""
            };
            format!(
                "Encrypted{code}. Verification words: {verification} — read them to {}; \
                 different words on their screen mean someone is in the middle.",
                peer.name
            )
        }
        Security::Plain { encoding } => format!(
            "Plaintext, unverified: {} is a plain text program ({encoding}). Nothing is encrypted \
             and nobody vouches for who is on the other end.",
            peer.name
        ),
    }
}

/// How we leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeaveKind {
    /// `exit`: end the conversation for both.
    Bye,
    /// Ctrl-C, end of input, a signal: only this side goes.
    Leave,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::PeerLink;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    fn peer(id: ConnId, name: &str) -> PeerInfo {
        PeerInfo {
            id,
            name: name.to_owned(),
            addr: "127.0.0.1:5000".parse().unwrap(),
            security: Security::Encrypted {
                verification: "amber-otter-violin-maple".to_owned(),
                with_code: false,
            },
            resumed: false,
            resume: None,
        }
    }

    fn joined(id: ConnId, name: &str) -> Event {
        Event::Net(NetEvent::Joined {
            info: peer(id, name),
            link: PeerLink::detached(id),
        })
    }

    fn chat(from: ConnId, seq: u64, text: &str) -> Event {
        Event::Net(NetEvent::Chat {
            from,
            msg: ChatMessage {
                id: MessageId { session: 9, seq },
                sent_at_ms: 0,
                text: text.to_owned(),
            },
        })
    }

    fn left(from: ConnId, reason: LeftReason) -> Event {
        Event::Net(NetEvent::Left { from, reason })
    }

    fn host() -> App {
        let mut app = App::new(
            "alice",
            Role::Host {
                local: "0.0.0.0:7878".parse().unwrap(),
                hints: vec![],
                code: None,
            },
            1,
        );
        app.clock = Clock::Fixed(0);
        app.update(Event::Resize(60, 20));
        app
    }

    fn guest() -> App {
        let mut app = App::new("bob", Role::Guest, 2);
        app.clock = Clock::Fixed(0);
        app.update(Event::Resize(60, 20));
        app
    }

    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            app.update(key(KeyCode::Char(c)));
        }
    }

    fn quits(effects: &[Effect]) -> Option<&Exit> {
        effects.iter().find_map(|e| match e {
            Effect::Quit(exit) => Some(exit),
            _ => None,
        })
    }

    #[test]
    fn enter_sends_the_line_with_a_fresh_id() {
        let mut app = host();
        app.update(joined(7, "bob"));
        type_text(&mut app, "hi 你好");
        let effects = app.update(key(KeyCode::Enter));
        // Written down first, so a killed process still has it.
        let [
            Effect::Remember(Record::Sent(journaled)),
            Effect::Send {
                to: 7,
                frame: Frame::Chat(first),
            },
        ] = effects.as_slice()
        else {
            panic!("unexpected {effects:?}");
        };
        assert_eq!(journaled, first);
        assert_eq!(first.text, "hi 你好");
        assert!(app.input.is_empty());
        type_text(&mut app, "again");
        let effects = app.update(key(KeyCode::Enter));
        let [
            Effect::Remember(_),
            Effect::Send {
                frame: Frame::Chat(second),
                ..
            },
        ] = effects.as_slice()
        else {
            panic!("unexpected {effects:?}");
        };
        assert_ne!(first.id, second.id);
        assert!(matches!(
            app.history.entries().last(),
            Some(Entry::Chat { author: AuthorId::ME, text, .. }) if &**text == "again"
        ));
    }

    #[test]
    fn exit_says_goodbye_and_quits_cleanly() {
        let mut app = guest();
        app.update(joined(3, "alice"));
        type_text(&mut app, "exit");
        let effects = app.update(key(KeyCode::Enter));
        assert_eq!(
            effects,
            vec![
                Effect::Remember(Record::Ended),
                Effect::Send {
                    to: 3,
                    frame: Frame::Bye
                },
                Effect::Quit(Exit {
                    code: 0,
                    message: None
                })
            ]
        );
    }

    #[test]
    fn exit_inside_a_sentence_is_just_text() {
        let mut app = guest();
        app.update(joined(3, "alice"));
        type_text(&mut app, "exit now");
        let effects = app.update(key(KeyCode::Enter));
        assert!(quits(&effects).is_none());
    }

    #[test]
    fn ctrl_c_leaves_alone() {
        let mut app = host();
        app.update(joined(3, "bob"));
        let effects = app.update(ctrl('c'));
        assert_eq!(
            effects[..2],
            [
                Effect::Remember(Record::Ended),
                Effect::Send {
                    to: 3,
                    frame: Frame::Leave
                }
            ]
        );
        assert_eq!(quits(&effects).map(|e| e.code), Some(0));
    }

    #[test]
    fn peer_exit_ends_this_side_too() {
        let mut app = host();
        app.update(joined(3, "bob"));
        let effects = app.update(left(3, LeftReason::Bye));
        assert_eq!(quits(&effects).map(|e| e.code), Some(0));
    }

    #[test]
    fn host_keeps_history_and_waits_after_a_guest_leaves() {
        let mut app = host();
        app.update(joined(3, "bob"));
        app.update(chat(3, 1, "hello"));
        let effects = app.update(left(3, LeftReason::Left));
        assert_eq!(effects, [Effect::Remember(Record::Ended)]);
        assert_eq!(app.link, Link::Waiting);
        assert_eq!(app.history.len(), 3, "joined, hello, left");
        app.update(joined(4, "carol"));
        assert_eq!(app.peer().map(|p| p.name.as_str()), Some("carol"));
    }

    #[test]
    fn guest_exits_when_the_host_is_gone() {
        let mut app = guest();
        app.update(joined(3, "alice"));
        let effects = app.update(left(3, LeftReason::Left));
        let exit = quits(&effects).expect("guest quits");
        assert_eq!(exit.code, 0);
        assert!(exit.message.as_deref().unwrap_or("").contains("alice"));
    }

    fn resumed(id: ConnId, name: &str) -> Event {
        let mut info = peer(id, name);
        info.resumed = true;
        Event::Net(NetEvent::Joined {
            info,
            link: PeerLink::detached(id),
        })
    }

    fn ack(from: ConnId, session: u64, seq: u64) -> Event {
        Event::Net(NetEvent::Ack {
            from,
            up_to: MessageId { session, seq },
        })
    }

    fn sent_chats(effects: &[Effect]) -> Vec<(u64, String)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send {
                    frame: Frame::Chat(msg),
                    ..
                } => Some((msg.id.seq, msg.text.clone())),
                _ => None,
            })
            .collect()
    }

    fn deliveries(app: &App) -> Vec<Delivery> {
        app.history
            .entries()
            .iter()
            .filter_map(|e| match e {
                Entry::Chat {
                    author, delivery, ..
                } if author.is_me() => Some(*delivery),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn acknowledgements_mark_messages_delivered() {
        let mut app = host();
        app.update(joined(3, "bob"));
        app.update(Event::Submit("one".into()));
        app.update(Event::Submit("two".into()));
        app.update(Event::Submit("three".into()));
        assert_eq!(deliveries(&app), vec![Delivery::Sent; 3]);
        app.update(ack(3, 1, 2)); // our session is 1
        assert_eq!(
            deliveries(&app),
            vec![Delivery::Delivered, Delivery::Delivered, Delivery::Sent]
        );
        assert_eq!(app.unacked(), 1);
        app.update(ack(3, 99, 3)); // another session's ack changes nothing
        assert_eq!(app.unacked(), 1);
    }

    #[test]
    fn received_messages_are_acknowledged_and_repeats_dropped() {
        let mut app = host();
        app.update(joined(3, "bob"));
        assert!(app.update(chat(3, 1, "hello")).is_empty());
        let ack_for = |seq| {
            vec![Effect::Send {
                to: 3,
                frame: Frame::Ack {
                    up_to: MessageId { session: 9, seq },
                },
            }]
        };
        assert_eq!(app.update(Event::Flush), ack_for(1));
        assert!(
            app.update(Event::Flush).is_empty(),
            "nothing new to acknowledge"
        );
        let before = app.history.len();
        // The same message again, as after a reconnect: acknowledged, not shown.
        assert!(app.update(chat(3, 1, "hello")).is_empty());
        assert_eq!(app.update(Event::Flush), ack_for(1));
        assert_eq!(app.history.len(), before);
        // A burst is acknowledged once, up to its newest message.
        for seq in 2..=5 {
            app.update(chat(3, seq, "more"));
        }
        assert_eq!(app.update(Event::Flush), ack_for(5));
        assert_eq!(app.history.len(), before + 4);
    }

    #[test]
    fn a_dropped_guest_reconnects_with_backoff_and_resends_what_was_not_acknowledged() {
        let mut app = guest();
        app.update(joined(3, "alice"));
        app.update(Event::Submit("delivered".into()));
        app.update(ack(3, 2, 1)); // the guest's session is 2
        app.update(Event::Submit("in flight".into()));
        let effects = app.update(left(3, LeftReason::Error("reset".into())));
        assert_eq!(effects, vec![Effect::Reconnect { after_ms: 0 }]);
        assert!(matches!(app.link, Link::Dropped { .. }));
        assert!(app.wants_ticks());
        // Typed while disconnected: queued, shown as pending.
        let effects = app.update(Event::Submit("queued".into()));
        assert!(
            matches!(effects.as_slice(), [Effect::Remember(Record::Sent(msg))] if msg.text == "queued"),
            "{effects:?}"
        );
        assert_eq!(
            deliveries(&app),
            vec![Delivery::Delivered, Delivery::Sent, Delivery::Pending]
        );
        // Failed attempts back off, up to a cap.
        let mut delays = Vec::new();
        for _ in 0..10 {
            let effects = app.update(Event::Net(NetEvent::ConnectFailed {
                reason: "refused".into(),
                wrong_code: false,
            }));
            let [Effect::Reconnect { after_ms }] = effects.as_slice() else {
                panic!("{effects:?}");
            };
            delays.push(*after_ms);
        }
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert_eq!(delays.last(), Some(&10_000));
        // Back: everything unacknowledged goes out again, in order.
        let effects = app.update(resumed(4, "alice"));
        assert_eq!(
            sent_chats(&effects),
            vec![(2, "in flight".to_owned()), (3, "queued".to_owned())]
        );
        assert_eq!(
            deliveries(&app),
            vec![Delivery::Delivered, Delivery::Sent, Delivery::Sent]
        );
        assert!(!app.wants_ticks());
    }

    fn saved_run(outbox: &[(u64, &str)]) -> Saved {
        let mut saved = Saved::new(42);
        saved.apply(&Record::Conversation(RESUME));
        for &(seq, text) in outbox {
            saved.apply(&Record::Sent(ChatMessage {
                id: MessageId { session: 42, seq },
                sent_at_ms: 5,
                text: text.to_owned(),
            }));
        }
        saved
    }

    const RESUME: crate::protocol::Resume = crate::protocol::Resume {
        conversation: 8,
        token: 80,
    };

    #[test]
    fn a_restarted_run_carries_on_with_what_it_had_not_delivered() {
        let mut app = guest();
        app.restore(&saved_run(&[(4, "said before the kill"), (5, "and this")]));
        assert_eq!(deliveries(&app), vec![Delivery::Pending, Delivery::Pending]);
        // Back in the same conversation: sent again with the same ids.
        let mut info = peer(3, "alice");
        info.resumed = true;
        info.resume = Some(RESUME);
        let effects = app.update(Event::Net(NetEvent::Joined {
            info,
            link: PeerLink::detached(3),
        }));
        assert_eq!(effects[0], Effect::Remember(Record::Conversation(RESUME)));
        assert_eq!(
            sent_chats(&effects),
            vec![
                (4, "said before the kill".to_owned()),
                (5, "and this".to_owned())
            ]
        );
        assert!(app.history.entries().iter().any(|entry| matches!(
            entry,
            Entry::System { event, .. }
                if **event == SystemEvent::Info("Resumed the conversation with alice".into())
        )));
        // New messages go on from there, in the same session.
        let effects = app.update(Event::Submit("new".into()));
        assert_eq!(sent_chats(&effects), vec![(6, "new".to_owned())]);
        // The peer's acknowledgement is written down.
        let effects = app.update(ack(3, 42, 5));
        assert_eq!(effects, vec![Effect::Remember(Record::Acked { up_to: 5 })]);
        assert_eq!(
            deliveries(&app),
            vec![Delivery::Delivered, Delivery::Delivered, Delivery::Sent]
        );
    }

    #[test]
    fn a_restarted_guest_whose_host_also_restarted_still_delivers() {
        let mut app = guest();
        app.restore(&saved_run(&[(1, "for alice")]));
        let effects = app.update(joined(3, "alice")); // not resumed
        assert_eq!(sent_chats(&effects), vec![(1, "for alice".to_owned())]);
    }

    #[test]
    fn an_earlier_guest_coming_back_does_not_get_the_last_ones_messages() {
        let mut app = host();
        let with_token = |id: ConnId, name: &str, token: u128, resumed: bool| {
            let mut info = peer(id, name);
            info.resume = Some(crate::protocol::Resume {
                conversation: 8,
                token,
            });
            info.resumed = resumed;
            Event::Net(NetEvent::Joined {
                info,
                link: PeerLink::detached(id),
            })
        };
        app.update(with_token(3, "bob", 1, false));
        app.update(left(3, LeftReason::Closed));
        app.update(with_token(4, "carol", 2, false));
        app.update(Event::Submit("for carol only".into()));
        app.update(left(4, LeftReason::Closed));
        // Bob still holds a token of this conversation.
        let effects = app.update(with_token(5, "bob", 1, true));
        assert!(sent_chats(&effects).is_empty(), "{effects:?}");
        assert_eq!(deliveries(&app), vec![Delivery::Failed]);
        // Carol herself would have got it.
        let mut app = host();
        app.update(with_token(4, "carol", 2, false));
        app.update(Event::Submit("for carol only".into()));
        app.update(left(4, LeftReason::Closed));
        let effects = app.update(with_token(6, "carol", 2, true));
        assert_eq!(sent_chats(&effects), vec![(1, "for carol only".to_owned())]);
    }

    #[test]
    fn a_hang_up_stops_without_leaving() {
        let mut app = guest();
        app.update(joined(3, "alice"));
        let effects = app.update(Event::HangUp);
        assert_eq!(
            effects,
            vec![Effect::Quit(Exit {
                code: 129,
                message: None
            })]
        );
    }

    #[test]
    fn a_damaged_journal_cannot_put_controls_on_screen() {
        let mut app = guest();
        app.restore(&saved_run(&[(1, "bell\u{7}")]));
        assert!(app.history.entries().iter().any(|entry| matches!(
            entry,
            Entry::Chat { text, .. } if &**text == "bell␇"
        )));
    }

    #[test]
    fn a_stale_token_alone_makes_no_fuss() {
        let mut app = guest();
        app.restore(&saved_run(&[]));
        app.update(joined(3, "alice")); // the token was not accepted
        let said = |app: &App, needle: &str| {
            app.history.entries().iter().any(|entry| {
                matches!(entry, Entry::System { event, .. }
                    if ui::messages::system_text(event).contains(needle))
            })
        };
        assert!(!said(&app, "restarted duplex"));
        assert!(said(&app, "alice joined"), "{:?}", app.history.entries());
    }

    #[test]
    fn a_restarted_host_gives_up_its_queue_for_a_new_guest() {
        let mut app = host();
        app.restore(&saved_run(&[(1, "for bob")]));
        let effects = app.update(joined(3, "carol")); // not bob
        assert!(sent_chats(&effects).is_empty());
        assert!(effects.contains(&Effect::Remember(Record::GaveUp)));
        assert_eq!(deliveries(&app), vec![Delivery::Failed]);
    }

    #[test]
    fn messages_to_plain_peers_are_not_written_down() {
        let mut app = host();
        let mut info = peer(3, "plain@127.0.0.1");
        info.security = Security::Plain { encoding: "UTF-8" };
        app.update(Event::Net(NetEvent::Joined {
            info,
            link: PeerLink::detached(3),
        }));
        let effects = app.update(Event::Submit("hi".into()));
        assert!(
            !effects.iter().any(|e| matches!(e, Effect::Remember(_))),
            "{effects:?}"
        );
    }

    #[test]
    fn a_flood_of_turned_away_connections_is_one_line() {
        let mut app = host();
        app.update(joined(3, "bob"));
        let rejected = |port: u16| {
            Event::Net(NetEvent::Rejected {
                addr: SocketAddr::from(([10, 0, 0, 9], port)),
                reason: "handshake timed out".into(),
            })
        };
        let before = app.history.len();
        for port in 1..=2000 {
            app.update(rejected(port));
        }
        assert_eq!(app.history.len(), before + 1);
        let text = |app: &App| match app.history.entries().last() {
            Some(Entry::System { event, .. }) => ui::messages::system_text(event),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            text(&app),
            "turned away 2000 connections, the last from 10.0.0.9:2000: handshake timed out"
        );
        // The conversation goes on between them; the next one is a new line.
        app.update(chat(3, 1, "still here"));
        app.update(rejected(1));
        assert_eq!(app.history.len(), before + 3);
        assert_eq!(
            text(&app),
            "turned away a connection from 10.0.0.9:1: handshake timed out"
        );
        // Another reason is worth its own line.
        app.update(Event::Net(NetEvent::Rejected {
            addr: SocketAddr::from(([10, 0, 0, 9], 2)),
            reason: "wrong code".into(),
        }));
        assert_eq!(app.history.len(), before + 4);
    }

    #[test]
    fn a_host_waits_for_a_dropped_guest_and_fails_its_queue_for_a_new_one() {
        let mut app = host();
        app.update(joined(3, "bob"));
        let effects = app.update(left(3, LeftReason::Closed));
        assert!(effects.is_empty());
        assert!(matches!(
            app.link,
            Link::Dropped {
                retry_at_ms: None,
                ..
            }
        ));
        app.update(Event::Submit("for bob".into()));
        assert_eq!(deliveries(&app), vec![Delivery::Pending]);
        // Someone else joins instead: the message was never delivered.
        let effects = app.update(joined(4, "carol"));
        assert!(sent_chats(&effects).is_empty());
        assert_eq!(deliveries(&app), vec![Delivery::Failed]);
    }

    #[test]
    fn a_host_that_restarted_is_a_new_conversation() {
        let mut app = guest();
        app.update(joined(3, "alice"));
        app.update(left(3, LeftReason::Closed));
        app.update(Event::Submit("still here?".into()));
        let effects = app.update(joined(4, "alice")); // not resumed
        assert_eq!(sent_chats(&effects), vec![(1, "still here?".to_owned())]);
        assert!(app.history.entries().iter().any(|e| matches!(
            e,
            Entry::System { event, .. }
                if matches!(&**event, SystemEvent::Info(t) if t.contains("new conversation"))
        )));
    }

    #[test]
    fn nothing_typed_is_lost_when_nobody_is_connected() {
        let mut app = host();
        type_text(&mut app, "anyone?");
        let effects = app.update(key(KeyCode::Enter));
        assert!(effects.is_empty());
        assert_eq!(app.input.text(), "anyone?");
        assert!(matches!(
            app.history.entries().last(),
            Some(Entry::System { event, .. }) if matches!(**event, SystemEvent::Error(_))
        ));
    }

    #[test]
    fn too_long_a_message_stays_in_the_box() {
        let mut app = host();
        app.update(joined(3, "bob"));
        let long = "x".repeat(MAX_TEXT_LEN + 1);
        let effects = app.update(Event::Submit(long.clone()));
        assert!(effects.is_empty());
        assert_eq!(app.input.text(), long);
    }

    #[test]
    fn messages_from_a_stale_connection_are_ignored() {
        let mut app = host();
        app.update(joined(3, "bob"));
        let before = app.history.len();
        app.update(chat(99, 1, "ghost"));
        assert_eq!(app.history.len(), before);
    }

    #[test]
    fn received_text_is_sanitized() {
        let mut app = host();
        app.update(joined(3, "bob"));
        app.update(chat(3, 1, "\u{1b}]52;c;aGk=\u{7}red"));
        let Some(Entry::Chat { text, .. }) = app.history.entries().last() else {
            panic!("no chat entry");
        };
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
    }

    #[test]
    fn scrolled_back_view_holds_still_and_counts_new_messages() {
        let mut app = host();
        app.update(joined(3, "bob"));
        for seq in 0..50 {
            app.update(chat(3, seq, &format!("line {seq}")));
        }
        app.update(key(KeyCode::PageUp));
        let held = app.scroll;
        assert!(matches!(held, Scroll::At(_)));
        app.update(chat(3, 50, "new one"));
        app.update(chat(3, 51, "and another"));
        assert_eq!(app.scroll, held);
        assert_eq!(app.unread, 2);
        app.update(Event::Key(KeyEvent::new(
            KeyCode::End,
            KeyModifiers::CONTROL,
        )));
        assert_eq!(app.scroll, Scroll::Live);
        assert_eq!(app.unread, 0);
    }

    #[test]
    fn ctrl_home_jumps_to_the_oldest_and_wheel_scrolls() {
        let mut app = host();
        app.update(joined(3, "bob"));
        for seq in 0..50 {
            app.update(chat(3, seq, &format!("line {seq}")));
        }
        app.update(Event::Key(KeyEvent::new(
            KeyCode::Home,
            KeyModifiers::CONTROL,
        )));
        let top = |app: &App| {
            let visible = app.pane().visible(app.scroll);
            (visible[0].0, visible[0].2.start)
        };
        assert_eq!(top(&app), (0, 0));
        let wheel = |kind| {
            Event::Mouse(MouseEvent {
                kind,
                column: 0,
                row: 0,
                modifiers: KeyModifiers::NONE,
            })
        };
        app.update(wheel(MouseEventKind::ScrollDown));
        assert_ne!(top(&app), (0, 0));
        assert!(matches!(app.scroll, Scroll::At(_)));
        app.update(wheel(MouseEventKind::ScrollUp));
        assert_eq!(top(&app), (0, 0));
    }

    #[test]
    fn verify_shows_the_words_and_sends_nothing() {
        let mut app = host();
        app.update(joined(3, "bob"));
        let effects = app.update(Event::Submit("/verify".into()));
        assert!(effects.is_empty());
        assert!(matches!(
            app.history.entries().last(),
            Some(Entry::System { event, .. })
                if matches!(&**event, SystemEvent::Info(t) if t.contains("amber-otter-violin-maple"))
        ));
    }

    #[test]
    fn slash_commands_and_escapes() {
        assert_eq!(command("/verify"), Command::Verify);
        assert_eq!(command(" /help "), Command::Help);
        assert_eq!(command("//shrug"), Command::Text("/shrug".into()));
        assert_eq!(command("/nope x"), Command::Unknown("nope".into()));
        assert_eq!(command("a /b"), Command::Text("a /b".into()));
        let mut app = host();
        app.update(joined(3, "bob"));
        assert!(app.update(Event::Submit("/nope".into())).is_empty());
        assert_eq!(app.input.text(), "/nope");
    }

    #[test]
    fn the_code_prompt_connects_and_retries_after_a_wrong_code() {
        let mut app = guest();
        app.prompt = Some(CodePrompt::default());
        type_text(&mut app, "Amber Otter violin");
        let effects = app.update(key(KeyCode::Enter));
        assert_eq!(
            effects,
            vec![Effect::Connect {
                code: "amber-otter-violin".into()
            }]
        );
        assert!(app.input.is_empty());
        let effects = app.update(Event::Net(NetEvent::ConnectFailed {
            reason: "wrong code".into(),
            wrong_code: true,
        }));
        assert!(effects.is_empty());
        assert_eq!(
            app.prompt.as_ref().and_then(|p| p.error.as_deref()),
            Some("wrong code")
        );
        app.update(joined(5, "alice"));
        assert!(app.prompt.is_none());
        assert!(app.peer().is_some());
    }

    #[test]
    fn giving_up_on_the_code_prompt_quits() {
        let mut app = guest();
        app.prompt = Some(CodePrompt::default());
        let effects = app.update(ctrl('c'));
        assert_eq!(quits(&effects).map(|e| e.code), Some(1));
    }

    #[test]
    fn typing_is_not_disturbed_by_arrivals() {
        let mut app = host();
        app.update(joined(3, "bob"));
        type_text(&mut app, "half a sent");
        app.update(key(KeyCode::Left));
        let cursor = app.input.cursor();
        app.update(chat(3, 1, "interrupting"));
        assert_eq!(app.input.text(), "half a sent");
        assert_eq!(app.input.cursor(), cursor);
    }
}
