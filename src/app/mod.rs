//! The application state and its pure update step (the Elm architecture).
//!
//! [`App::update`] takes one [`Event`] (a key, a mouse wheel turn, a resize,
//! something from the network, a line from standard input, a deadline
//! reached), changes the state, and returns the [`Effect`]s the runtime must
//! carry out: frames to send, records to write down, outputs to show, when
//! to connect and when to quit. It does no IO itself and reads the time only
//! from its [`Clock`], so every behaviour, time limits included, can be
//! tested by feeding it events. Rendering reads the state in `crate::ui`.
//!
//! Time is data: the app says when it next needs to be woken
//! ([`App::next_deadline`]: a heartbeat due, a silent peer to give up on, a
//! reconnection to start, a countdown to redraw) and the runtime sends
//! [`Event::Tick`] then. There is no other timer.

pub mod attention;
pub mod command;
#[cfg(test)]
mod command_tests;
pub mod keep;
pub mod layer;
pub mod output;
pub mod peer;
pub mod presence;
pub mod search;
pub mod transfer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use chrono::FixedOffset;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};

use crate::domain::{
    Capabilities, ConnId, EXIT_COMMAND, HeldMessages, LeftReason, Limits, PeerInfo, RejectKind,
    Security,
};
use crate::history::{AuthorId, Delivery, Entry, History, SystemEvent};
use crate::input::Input;
use crate::journal::{Record, Saved};
use crate::keymap::{self, Action, EditAction, Keymap, Layer as KeyLayer};
use crate::net::{JoinHint, NetEvent};
use crate::protocol::frame::{MAX_NAME_LEN, MAX_TEXT_LEN, NICK};
use crate::protocol::{ChatMessage, Frame, MessageId};
use crate::text::{EmojiMode, MAX_NAME_WIDTH, sanitize_name, sanitize_text};
use crate::theme::Theme;
use crate::view::pane::layout_entry;
use crate::view::{Anchor, Pane, Scroll, layout, layout::overlay, layout::overlay_inner_width};

pub use attention::{Alert, Attention, Notification, Title};
pub use command::{COMMANDS, CommandInfo};
use command::{Command, LeaveKind, command, unknown_text, verify_text};
pub use keep::Keeping;
pub use layer::{Layer, LeaveQuestion, PendingPaste, Question};
pub use output::Output;
pub use peer::{Inbox, Outbox, Peer};
pub use presence::Presence;
pub use search::{Edge, Search};

/// Rows one turn of the mouse wheel scrolls.
pub const WHEEL_ROWS: usize = 3;

/// Keys that come less than this many ms apart are a burst no person
/// types: text pasted into a terminal that does not bracket pastes. An
/// Enter in a burst that more keys follow within this time is a line break
/// in the draft, not a send.
pub const PASTE_GAP_MS: i64 = 10;

/// A paste of more lines than this asks before it goes into the draft.
pub const PASTE_ASK_LINES: usize = 20;

/// A paste of more bytes than this asks before it goes into the draft.
pub const PASTE_ASK_BYTES: usize = 16 * 1024;

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
        /// Whether the join hint shows the code: only until a guest is in.
        show_code: bool,
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
        /// Guest only: when the next attempt starts (monotonic ms), or
        /// `None` while one is under way.
        retry_at_ms: Option<i64>,
        /// Guest only: failed attempts since the drop.
        attempts: u32,
        /// Guest only: why the last attempt failed, once said.
        failure: Option<String>,
    },
}

/// Why a reconnecting guest whose code the host did not take stops
/// instead of trying again.
pub const CODE_NOT_TAKEN: &str = "stopped reconnecting: the host did not take the code this \
     conversation was joined with (a new guest may have taken its place, or this is not \
     the same host); join again to retry";

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
    /// The terminal gained (`true`) or lost the focus.
    Focus(bool),
    /// A complete line to send, as from standard input in headless mode.
    Submit(String),
    /// Standard input ended (headless): leave.
    EndOfInput,
    /// The process was asked to stop (SIGTERM, SIGINT): leave with this status.
    Terminate(i32),
    /// The terminal or the SSH session went away (SIGHUP): stop without
    /// leaving, as if the connection dropped, so the conversation can be
    /// resumed by starting duplex again.
    HangUp,
    /// Something happened on the network.
    Net(NetEvent),
    /// The deadline [`App::next_deadline`] named has come (or passed).
    Tick,
    /// Everything that arrived together has been handled: send what was
    /// held back until now (one acknowledgement for a whole burst).
    Flush,
    /// A run that was killed left this behind: carry on from it.
    Restore(Box<Saved>),
    /// The runtime did file IO a transfer asked for.
    Files(crate::transfer::IoDone),
    /// The journal cannot be kept (at start, or it failed since).
    JournalFailed {
        /// What went wrong.
        error: String,
        /// Whether it failed when opening (nothing was kept yet).
        at_start: bool,
    },
    /// The host wants a secret code the guest was not given: ask for it.
    CodeNeeded,
    /// The `--log` transcript could not be written: it stops, the chat
    /// goes on.
    TranscriptFailed(String),
    /// `/save` is done.
    Saved {
        /// The file, as written to.
        path: PathBuf,
        /// Lines written.
        count: usize,
        /// Why nothing was saved, if so.
        error: Option<String>,
    },
    /// A restarted guest's first attempt to get back into its conversation
    /// was refused (the host is busy with someone else): it goes on as
    /// after a drop, trying again.
    Refused {
        /// The host's address.
        addr: SocketAddr,
        /// What the host said, for a person.
        reason: String,
    },
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
    /// End a connection at once (its peer went silent).
    Disconnect {
        /// The connection.
        conn: ConnId,
        /// Why, for its reader to report.
        reason: LeftReason,
    },
    /// Answer a newcomer's knock: let it in, or turn it away.
    Answer {
        /// Which knock.
        knock: u64,
        /// Whether to let it in.
        admit: bool,
    },
    /// Connect to the host (again): with a code the user typed, or resuming
    /// the conversation after a drop.
    Connect {
        /// The code the user typed, if this attempt is for it.
        code: Option<String>,
    },
    /// Write this down in the journal, before any frame that follows it is
    /// sent, so that a killed process can carry on where it stopped.
    Remember(Record),
    /// Tell the front end what happened.
    Output(Output),
    /// Do file IO for a transfer, and report back with [`Event::Files`].
    Files(crate::transfer::Action),
    /// Get the person's attention: bell, notification, window title.
    Attention(Alert),
    /// Append these lines to the conversation's transcript file (`--log`).
    Transcribe {
        /// The file's name in the `--log` folder.
        file: String,
        /// The lines, each ending in a newline.
        lines: Vec<String>,
    },
    /// Write the history to a file (`/save`), then tell with
    /// [`Event::Saved`].
    Save {
        /// The file, as typed.
        path: String,
        /// The lines, each ending in a newline.
        lines: Vec<String>,
        /// Whether to write over a file that is there (`/save!`).
        replace: bool,
    },
    /// Stop the program.
    Quit(Exit),
    /// Clear the terminal and draw the whole screen again (Ctrl-L).
    Redraw,
    /// We are now called this (`/nick`): the hello of any later connection
    /// (a guest's reconnection, the host's next guest) says so.
    Rename(String),
}

/// `"s"` unless there is exactly one.
fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// The guest is being asked for the host's secret code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodePrompt {
    /// What went wrong with the last code, if anything.
    pub error: Option<String>,
    /// Whether a code is being checked right now.
    pub checking: bool,
}

/// Where the time comes from: the system's clocks, or a fixed time for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock, and a monotonic clock for deadlines.
    System,
    /// Always this many ms, for both.
    Fixed(i64),
}

impl Clock {
    /// Now, in ms since the Unix epoch: for timestamps people read.
    pub fn now_ms(self) -> i64 {
        match self {
            Clock::System => chrono::Utc::now().timestamp_millis(),
            Clock::Fixed(ms) => ms,
        }
    }

    /// Now, in ms on a clock that never jumps: for deadlines.
    pub fn mono_ms(self) -> i64 {
        match self {
            Clock::System => {
                static START: OnceLock<Instant> = OnceLock::new();
                let start = START.get_or_init(Instant::now);
                i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX)
            }
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
    /// The styles the screen is drawn with.
    pub theme: Theme,
    /// Where the message pane looks.
    pub scroll: Scroll,
    /// Entries that arrived while scrolled back.
    pub unread: usize,
    /// The typing indicator, both ways.
    pub presence: Presence,
    /// Bell, notifications, title and the unread marker.
    pub attention: Attention,
    /// [`History::shift`] when the scroll anchor last followed it.
    seen_shift: u64,
    /// Terminal size, columns and rows.
    pub size: (u16, u16),
    /// Time zone for displayed times.
    pub zone: FixedOffset,
    /// How emoji are drawn (the front end picks it for its terminal).
    pub emoji: EmojiMode,
    /// Source of timestamps and deadlines.
    pub clock: Clock,
    /// The time limits and budgets.
    pub limits: Limits,
    /// Where a guest connects, as given (the screen shows it while
    /// connecting).
    pub joining: Option<String>,
    /// Set while the guest must type the host's secret code.
    pub prompt: Option<CodePrompt>,
    /// When the last key came (monotonic ms), to tell a burst of pasted
    /// keys from typing.
    last_key_ms: Option<i64>,
    /// When an Enter in a burst came: it was put in the draft as a line
    /// break, and is a send after all if no key follows it soon.
    held_enter_ms: Option<i64>,
    /// What to do with messages typed for an earlier conversation.
    pub held_policy: HeldMessages,
    /// Messages typed for an earlier conversation, held until the person
    /// decides (never sent to a new one unasked).
    held: Vec<ChatMessage>,
    /// Whether the screen shows the copy view (the messages alone, for
    /// selecting with the mouse) instead of the chat screen.
    pub copy_view: bool,
    /// The `--log` transcript.
    pub keeping: Keeping,
    /// The search, while it is open: its keys come first.
    pub search: Option<Search>,
    /// Layers over the chat screen, bottom first: the top one sees keys
    /// first and is drawn last (see [`layer`]).
    pub layers: Vec<Layer>,
    /// Whether a person at a screen drives the app (the TUI): Ctrl-C asks
    /// before losing anything, and an ended conversation stays on screen
    /// until a key. Headless mode is not: it leaves at once.
    pub interactive: bool,
    /// The participant of the conversation (connected or dropped), with
    /// what we owe them and what they sent.
    peer: Option<Peer>,
    /// Whether this side ever had a conversation (to tell a new one apart).
    had_peer: bool,
    /// Whether this run took over undelivered messages from a killed one.
    restored: bool,
    /// Set when leaving waits for the outbox to be delivered (`exit`, end
    /// of input): how to leave then.
    leaving: Option<LeaveKind>,
    session: u64,
    next_seq: u64,
    /// Files moving, both ways.
    pub transfers: transfer::Transfers,
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
            theme: Theme::default(),
            scroll: Scroll::Live,
            unread: 0,
            presence: Presence::default(),
            attention: Attention::default(),
            seen_shift: 0,
            size: (80, 24),
            zone: *chrono::Local::now().offset(),
            emoji: EmojiMode::Full,
            clock: Clock::System,
            limits: Limits::default(),
            joining: None,
            prompt: None,
            last_key_ms: None,
            held_enter_ms: None,
            held_policy: HeldMessages::default(),
            held: Vec::new(),
            copy_view: false,
            keeping: Keeping::default(),
            search: None,
            layers: Vec::new(),
            interactive: false,
            peer: None,
            had_peer: false,
            restored: false,
            leaving: None,
            session,
            next_seq: 1,
            transfers: transfer::Transfers::default(),
        }
    }

    /// The peer currently connected, if any.
    pub fn connected(&self) -> Option<&PeerInfo> {
        match &self.link {
            Link::Connected(peer) => Some(peer),
            Link::Waiting | Link::Dropped { .. } => None,
        }
    }

    /// Whether the person said they compared the verification words of
    /// this conversation (`/verify ok`).
    pub fn words_compared(&self) -> bool {
        self.peer.as_ref().is_some_and(|peer| peer.compared)
    }

    /// How many of our messages await the peer's acknowledgement.
    pub fn unacked(&self) -> usize {
        self.peer.as_ref().map_or(0, |peer| peer.outbox.len())
    }

    /// The name of the conversation's participant, as shown.
    fn peer_name(&self) -> Option<String> {
        let peer = self.peer.as_ref()?;
        Some(self.history.author_name(peer.author).into_owned())
    }

    /// Whether this side is the host.
    pub fn is_host(&self) -> bool {
        matches!(self.role, Role::Host { .. })
    }

    /// Whether more piped input may be read now: somebody to send to (or
    /// to queue for), and room in the outbox's budget.
    pub fn wants_input(&self) -> bool {
        !matches!(self.link, Link::Waiting)
            && self
                .peer
                .as_ref()
                .is_none_or(|peer| peer.outbox.total_bytes() < self.limits.input_budget)
    }

    /// Rows the input box's text takes at `width` columns (the search's
    /// one line, while it is open).
    pub fn input_rows(&self, width: u16) -> usize {
        if self.search.is_some() {
            return 1;
        }
        self.input.layout(width as usize, self.emoji).rows.len()
    }

    /// The message pane as currently laid out.
    pub fn pane(&self) -> Pane<'_> {
        let area = layout(
            self.input_rows(self.size.0),
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
        );
        Pane::new(
            &self.history,
            area.messages.width as usize,
            area.messages.height as usize,
            self.emoji,
        )
        .with_marker(self.marker())
    }

    /// When the app next needs an [`Event::Tick`] (monotonic ms), if ever.
    pub fn next_deadline(&self) -> Option<i64> {
        let held = self.held_enter_ms.map(|at| at + PASTE_GAP_MS);
        let knock = self
            .layers
            .iter()
            .filter_map(|layer| match layer {
                Layer::Question(Question::Knock { until_ms, .. }) => Some(*until_ms),
                _ => None,
            })
            .min();
        [self.link_deadline(), self.presence.deadline(), held, knock]
            .into_iter()
            .flatten()
            .min()
    }

    /// When the connection's state next needs a tick, if ever.
    fn link_deadline(&self) -> Option<i64> {
        let now = self.clock.mono_ms();
        match &self.link {
            Link::Connected(info) if !info.is_plain() => {
                let peer = self.peer.as_ref()?;
                let heartbeat = peer.sent_at + millis(self.limits.heartbeat);
                let silence = peer.heard_at + millis(self.limits.silence);
                let stall = peer
                    .waiting_since
                    .map_or(i64::MAX, |since| since + millis(self.limits.stall));
                Some(heartbeat.min(silence).min(stall))
            }
            Link::Dropped {
                retry_at_ms: Some(retry_at),
                ..
            } => {
                // The countdown on screen changes every second until then.
                let left = retry_at - now;
                Some(if left > 1000 {
                    now + (left % 1000).max(1)
                } else {
                    *retry_at
                })
            }
            _ => None,
        }
    }

    /// Applies one event and returns what the runtime must do.
    pub fn update(&mut self, event: Event) -> Vec<Effect> {
        let mut effects = self.apply(event);
        self.follow_history();
        effects.extend(self.typing_step());
        effects.extend(self.settle_attention());
        if let Some(search) = self.search.as_mut() {
            search.follow(&self.history);
        }
        if let Some((file, lines)) = self.keeping.new_lines(&self.history, self.zone) {
            effects.push(Effect::Transcribe { file, lines });
        }
        effects.extend(self.recount_question());
        effects
    }

    /// Keeps the Ctrl-C question true as messages get delivered (or given
    /// up); once nothing would be lost any more, leaves as asked.
    fn recount_question(&mut self) -> Vec<Effect> {
        let undelivered = self.unacked();
        let Some(Layer::Confirm(question)) = self.layers.last_mut() else {
            return Vec::new();
        };
        question.undelivered = undelivered;
        if undelivered > 0 || question.draft {
            return Vec::new();
        }
        self.layers.pop();
        self.leave(LeaveKind::Leave, 0)
    }

    /// Keeps a scrolled-back view on the same entry when the history
    /// dropped its oldest ones (entry indices moved down); a view on an
    /// entry that is gone goes to the oldest one kept.
    fn follow_history(&mut self) {
        let shift = self.history.shift();
        let moved = usize::try_from(shift - self.seen_shift).unwrap_or(usize::MAX);
        self.seen_shift = shift;
        if let Scroll::At(anchor) = &mut self.scroll
            && moved > 0
        {
            *anchor = match anchor.entry.checked_sub(moved) {
                Some(entry) => Anchor { entry, ..*anchor },
                None => Anchor { entry: 0, row: 0 },
            };
        }
    }

    fn apply(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Key(key) => self.on_key(key),
            Event::Mouse(mouse) => {
                let help = matches!(self.layers.last(), Some(Layer::Help { .. }));
                match mouse.kind {
                    MouseEventKind::ScrollUp if help => self.scroll_help(-(WHEEL_ROWS as isize)),
                    MouseEventKind::ScrollDown if help => self.scroll_help(WHEEL_ROWS as isize),
                    MouseEventKind::ScrollUp => self.scroll_up(WHEEL_ROWS),
                    MouseEventKind::ScrollDown => self.scroll_down(WHEEL_ROWS),
                    _ => {}
                }
                Vec::new()
            }
            Event::Paste(text) => {
                let effects = self.settle_enter();
                self.on_paste(&text);
                effects
            }
            Event::Resize(columns, rows) => {
                self.size = (columns, rows);
                self.set_scroll(self.pane().normalize(self.scroll));
                Vec::new()
            }
            Event::Submit(line) => self.submit(line),
            Event::EndOfInput => match self.ended() {
                Some(exit) => vec![Effect::Quit(exit)],
                None => self.leave_when_delivered(LeaveKind::Leave),
            },
            Event::Terminate(code) => self.leave(LeaveKind::Leave, code),
            // No goodbye and nothing forgotten: the peer sees a dropped
            // connection and waits for us, and the journal stays.
            Event::HangUp => vec![Effect::Quit(Exit {
                code: 128 + 1,
                message: None,
            })],
            Event::Focus(focused) => {
                self.attention.focused = focused;
                Vec::new()
            }
            Event::Net(net) => self.on_net(net),
            Event::Files(done) => self.on_files_io(done),
            Event::Tick => {
                let mut effects: Vec<Effect> = self.typing_tick().into_iter().collect();
                effects.extend(self.on_tick());
                if self
                    .held_enter_ms
                    .is_some_and(|at| self.clock.mono_ms() >= at + PASTE_GAP_MS)
                {
                    effects.extend(self.settle_enter());
                }
                effects
            }
            Event::Flush => {
                let ack = self.peer.as_mut().and_then(|peer| peer.inbox.take_ack());
                match (ack, self.connected().map(|info| info.id)) {
                    (Some(frame), Some(to)) => vec![self.send(to, frame)],
                    _ => Vec::new(),
                }
            }
            Event::Restore(saved) => self.restore(&saved),
            Event::JournalFailed { error, at_start } => {
                let text = if at_start {
                    format!(
                        "keeping nothing on disk ({error}): if this duplex is stopped, \
                         what it has not delivered is lost"
                    )
                } else {
                    format!(
                        "cannot keep undelivered messages on disk any more ({error}): \
                         if this duplex is stopped, they are lost"
                    )
                };
                self.system(SystemEvent::Error(text))
            }
            Event::CodeNeeded => {
                self.prompt = Some(CodePrompt::default());
                Vec::new()
            }
            Event::TranscriptFailed(error) => {
                if !self.keeping.on {
                    return Vec::new();
                }
                self.keeping.on = false;
                self.system(SystemEvent::Error(format!(
                    "not keeping the transcript any more ({error}); the chat goes on"
                )))
            }
            Event::Saved { path, count, error } => {
                self.set_scroll(Scroll::Live);
                self.system(match error {
                    None => SystemEvent::Info(format!(
                        "saved {count} line{} to {}",
                        if count == 1 { "" } else { "s" },
                        path.display()
                    )),
                    Some(error) => SystemEvent::Error(format!("not saved: {error}")),
                })
            }
            Event::Refused { addr, reason } => {
                // Whom we wait for is named once it answers.
                self.link = Link::Dropped {
                    peer: PeerInfo {
                        id: 0,
                        name: "the host".to_owned(),
                        addr,
                        security: Security::Encrypted {
                            verification: String::new(),
                            with_code: false,
                        },
                        resumed: false,
                        resume: None,
                        caps: Capabilities::default(),
                    },
                    retry_at_ms: None,
                    attempts: 0,
                    failure: None,
                };
                self.on_net(NetEvent::ConnectFailed {
                    reason,
                    wrong_code: false,
                })
            }
        }
    }

    /// Carries on from a run that was killed: the same message ids, and
    /// its undelivered messages back in the outbox, to go out when the
    /// conversation resumes.
    fn restore(&mut self, saved: &Saved) -> Vec<Effect> {
        // Only undelivered messages make a new conversation worth a word:
        // a bare token left by a killed run may be for a host long gone.
        self.restored = !saved.outbox.is_empty();
        self.session = saved.session;
        self.next_seq = saved.next_seq;
        let mut effects = Vec::new();
        if !saved.inbox.is_empty() {
            // What it took in already: repeats the peer sends again on
            // resuming are dropped, not shown a second time.
            let qualifier = self.peer_qualifier();
            let history = &mut self.history;
            let peer = self
                .peer
                .get_or_insert_with(|| Peer::new(history.add_author(qualifier, qualifier)));
            peer.inbox.restore(saved.inbox.iter().copied());
        }
        if saved.outbox.is_empty() {
            return effects;
        }
        effects.extend(self.system(SystemEvent::Info(format!(
            "{} message{} from before duplex was stopped {} not delivered yet: \
             they go out when the conversation resumes",
            saved.outbox.len(),
            if saved.outbox.len() == 1 { "" } else { "s" },
            if saved.outbox.len() == 1 {
                "was"
            } else {
                "were"
            },
        ))));
        // The participant is not known yet: it is named when it is back.
        let qualifier = self.peer_qualifier();
        let history = &mut self.history;
        let peer = self
            .peer
            .get_or_insert_with(|| Peer::new(history.add_author(qualifier, qualifier)));
        // A journal is the user's own file, but a damaged one must not put
        // control characters on screen or send what no peer would take.
        let usable = |msg: &&ChatMessage| {
            msg.id.session == saved.session
                && msg.id.seq < saved.next_seq
                && msg.text.len() <= MAX_TEXT_LEN
        };
        for msg in saved.outbox.iter().filter(usable) {
            let text = sanitize_text(&msg.text).into_owned();
            self.history.push(Entry::Chat {
                at_ms: msg.sent_at_ms,
                author: AuthorId::ME,
                id: msg.id,
                text: text.as_str().into(),
                delivery: Delivery::Pending,
                action: msg.action,
            });
            peer.outbox.push(ChatMessage {
                text,
                ..msg.clone()
            });
        }
        effects
    }

    /// What tells the peer apart when its name is ours: its role.
    fn peer_qualifier(&self) -> &'static str {
        if self.is_host() { "guest" } else { "host" }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        // In the copy view, any key (Ctrl-C too, which some terminals send
        // to copy) only goes back to the chat screen.
        if self.copy_view {
            self.copy_view = false;
            return Vec::new();
        }
        let now = self.clock.mono_ms();
        let in_burst = self
            .last_key_ms
            .is_some_and(|last| now - last < PASTE_GAP_MS);
        self.last_key_ms = Some(now);
        // An Enter held as a line break stays one if this key came right
        // after it; otherwise it was a real Enter, and sends now.
        let mut effects = if in_burst {
            self.held_enter_ms = None;
            Vec::new()
        } else {
            self.settle_enter()
        };
        effects.extend(self.on_layer_key(&key, in_burst));
        effects
    }

    /// The layers over the screen see a key first, the top one first (see
    /// [`layer`]); one that lets it through hands it to the one under it,
    /// and the screen itself (the code prompt, the search, the chat) gets
    /// it last.
    fn on_layer_key(&mut self, key: &KeyEvent, in_burst: bool) -> Vec<Effect> {
        let action = self.keymap.action(key);
        while let Some(top) = self.layers.last() {
            match top {
                Layer::Ended { exit, .. } => {
                    return match action {
                        // Scrolling still reads back; any other key leaves.
                        Some(Action::PageUp) => self.on_action(Action::PageUp),
                        Some(Action::PageDown) => self.on_action(Action::PageDown),
                        Some(Action::Oldest) => self.on_action(Action::Oldest),
                        _ => vec![Effect::Quit(exit.clone())],
                    };
                }
                Layer::Confirm(_) => {
                    self.layers.pop();
                    if action == Some(Action::Leave) {
                        return self.leave(LeaveKind::Leave, 0);
                    }
                    // Any other key cancels the question and does what it
                    // does, to the layer under it.
                }
                Layer::Help { .. } => {
                    let rows = match key.code {
                        KeyCode::Up | KeyCode::Char('k') => Some(-1),
                        KeyCode::Down | KeyCode::Char('j') => Some(1),
                        KeyCode::PageUp => Some(-(self.help_page() as isize)),
                        KeyCode::PageDown | KeyCode::Char(' ') => Some(self.help_page() as isize),
                        KeyCode::Home => Some(isize::MIN),
                        KeyCode::End => Some(isize::MAX),
                        _ => None,
                    };
                    if let Some(rows) = rows
                        && key.modifiers.is_empty()
                    {
                        self.scroll_help(rows);
                        return Vec::new();
                    }
                    self.layers.pop();
                    // Ctrl-C is not lost on the help: it closes it and acts.
                    if action != Some(Action::Leave) {
                        return Vec::new();
                    }
                }
                Layer::Question(_) => return self.on_question_key(key),
                Layer::Paste(_) => return self.on_paste_key(key),
            }
        }
        let layer = if self.search.is_some() && self.prompt.is_none() {
            KeyLayer::Search
        } else {
            KeyLayer::Chat
        };
        let Some(action) = self.keymap.action_in(layer, key) else {
            // A key bound to nothing types itself, if it is a typing key.
            if let Some(c) = keymap::typed_char(key) {
                match self.search.as_mut().filter(|_| self.prompt.is_none()) {
                    Some(search) => {
                        search.query.insert_char(c);
                        self.requery();
                    }
                    None => self.input.insert_char(c),
                }
            }
            return Vec::new();
        };
        if self.prompt.is_some() {
            return self.on_prompt_key(action);
        }
        if layer == KeyLayer::Search {
            return self.on_search_key(action);
        }
        match action {
            // Keys faster than typing: a paste without brackets, whose line
            // breaks must not send each line on its own.
            Action::Send if in_burst => {
                self.input.newline();
                self.held_enter_ms = Some(self.clock.mono_ms());
                Vec::new()
            }
            action => self.on_action(action),
        }
    }

    /// What a key's action does on the chat screen.
    fn on_action(&mut self, action: Action) -> Vec<Effect> {
        let width = usize::from(self.size.0);
        match action {
            Action::Leave => return self.ask_to_leave(),
            Action::Send => return self.send_draft(),
            Action::Up => {
                self.input.set_emoji(self.emoji);
                self.input.up(width);
            }
            Action::Down => {
                self.input.set_emoji(self.emoji);
                self.input.down(width);
            }
            Action::Complete => {
                self.input.complete(&command::completions());
            }
            Action::PageUp => self.scroll_up(self.page()),
            Action::PageDown => self.scroll_down(self.page()),
            Action::Oldest => self.set_scroll(self.pane().oldest()),
            Action::Live => self.set_scroll(Scroll::Live),
            Action::CopyView => self.copy_view = true,
            Action::Edit(edit) => self.input.apply(edit),
            Action::Help => self.layers.push(Layer::Help { scroll: 0 }),
            Action::Redraw => return vec![Effect::Redraw],
            Action::Search => self.open_search(""),
            Action::MatchOlder | Action::MatchNewer | Action::EndSearch => {}
        }
        Vec::new()
    }

    /// Sends the draft (or acts on its command), keeping it for Up.
    fn send_draft(&mut self) -> Vec<Effect> {
        let draft = self.input.take();
        // Line breaks before and after the text show nothing.
        let line = draft.trim_matches('\n').to_owned();
        self.input.remember(&line);
        self.submit(line)
    }

    /// An Enter held as a line break with no key after it was a real
    /// Enter: takes the line break out again and sends.
    fn settle_enter(&mut self) -> Vec<Effect> {
        if self.held_enter_ms.take().is_none() {
            return Vec::new();
        }
        // Nothing has touched the draft since: the cursor is after the
        // line break the Enter put in.
        self.input.apply(EditAction::DeleteBack);
        self.send_draft()
    }

    /// Pasted text goes into the draft, line breaks and all; a big paste
    /// asks first. Into the code prompt or the search's query, it is one
    /// line.
    fn on_paste(&mut self, text: &str) {
        // Terminals send a pasted line break as CR.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if let Some(search) = self.search.as_mut().filter(|_| self.prompt.is_none()) {
            // The query is one line.
            search
                .query
                .insert_str(text.trim_end_matches('\n').replace('\n', " ").as_str());
            self.requery();
            return;
        }
        if self.prompt.is_some() {
            // A code is one line: a copied line's break is not part of it.
            self.input
                .insert_str(text.trim_end_matches('\n').replace('\n', " ").as_str());
            return;
        }
        let lines = text.trim_end_matches('\n').split('\n').count();
        if lines > PASTE_ASK_LINES || text.len() > PASTE_ASK_BYTES {
            // A paste while one asks takes its place.
            if matches!(self.layers.last(), Some(Layer::Paste(_))) {
                self.layers.pop();
            }
            self.layers.push(Layer::Paste(PendingPaste { text, lines }));
        } else {
            self.input.insert_str(&text);
        }
    }

    /// Keys while a big paste asks (the top layer): y or Enter puts it in
    /// the draft, n or Esc drops it, Ctrl-C leaves (asking first if that
    /// would lose something); other keys do nothing.
    fn on_paste_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        let action = self.keymap.action(key);
        let typed = keymap::typed_char(key).map(|c| c.to_ascii_lowercase());
        match (action, typed) {
            (Some(Action::Leave), _) => return self.ask_to_leave(),
            (Some(Action::Send), _) | (_, Some('y')) => {
                if let Some(Layer::Paste(paste)) = self.layers.pop() {
                    self.input.insert_str(&paste.text);
                }
            }
            (Some(Action::Live), _) | (_, Some('n')) => {
                self.layers.pop();
            }
            _ => {}
        }
        Vec::new()
    }

    /// Keys while a question is asked (the top layer): `y` or `n` answer
    /// it, Esc answers no to a newcomer and puts off held messages; Ctrl-C
    /// still leaves (asking first if that would lose something); other keys
    /// do nothing, so a word typed in a hurry answers nothing.
    fn on_question_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        if self.keymap.action(key) == Some(Action::Leave) {
            return self.ask_to_leave();
        }
        let answer = match key.code {
            KeyCode::Char('y' | 'Y') => Some(true),
            KeyCode::Char('n' | 'N') => Some(false),
            KeyCode::Esc => None,
            _ => return Vec::new(),
        };
        let question = match self.layers.pop() {
            Some(Layer::Question(question)) => Some(question),
            Some(other) => {
                self.layers.push(other);
                None
            }
            None => None,
        };
        match question {
            Some(Question::Knock { knock, name, .. }) => {
                let admit = answer == Some(true);
                let mut effects = vec![Effect::Answer { knock, admit }];
                let text = if admit {
                    format!("letting {name} in")
                } else {
                    format!("turned {name} away")
                };
                effects.extend(self.system(SystemEvent::Info(text)));
                effects
            }
            Some(Question::Held { .. }) => match answer {
                Some(send) => self.decide_held(send),
                None => self.system(SystemEvent::Info(
                    "the held messages wait: /held send or /held discard decides".to_owned(),
                )),
            },
            None => Vec::new(),
        }
    }

    /// Holds what we typed for an earlier conversation, found to be a new
    /// one, until the person decides (or does what the policy says).
    fn hold_earlier(&mut self, mut earlier: Peer, name: &str) -> Vec<Effect> {
        let mut held = earlier.outbox.take_all();
        if held.is_empty() {
            return Vec::new();
        }
        self.held.append(&mut held);
        let count = self.held.len();
        // Kept in memory only: a run started again from the journal would
        // otherwise send them to whoever answers, unasked.
        let mut effects = vec![Effect::Remember(Record::GaveUp)];
        effects.extend(self.system(SystemEvent::Held {
            count,
            name: name.to_owned(),
        }));
        match self.held_policy {
            HeldMessages::Ask => self.ask(Question::Held {
                count,
                name: name.to_owned(),
            }),
            HeldMessages::Send => effects.extend(self.decide_held(true)),
            HeldMessages::Discard => effects.extend(self.decide_held(false)),
        }
        effects
    }

    /// Sends the held messages to the conversation we are in (as new
    /// messages, after what was said since) or drops them.
    fn decide_held(&mut self, send: bool) -> Vec<Effect> {
        self.layers
            .retain(|layer| !matches!(layer, Layer::Question(Question::Held { .. })));
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return self.system(SystemEvent::Info("no messages are held".to_owned()));
        }
        let mut effects = Vec::new();
        for msg in &held {
            if let Some(delivery) = self.history.delivery_mut(msg.id.seq) {
                *delivery = Delivery::Failed;
            }
            effects.push(Effect::Output(Output::Delivery {
                id: msg.id,
                delivery: Delivery::Failed,
            }));
        }
        let count = held.len();
        let text = if send && count == 1 {
            "sending the held message again, as a new one".to_owned()
        } else if send {
            format!("sending the {count} held messages again, as new ones")
        } else {
            format!("discarded {count} held message{}", plural(count))
        };
        effects.extend(self.system(SystemEvent::Info(text)));
        if send {
            for msg in held {
                effects.extend(self.send_text(msg.text, msg.action));
            }
        }
        effects
    }

    /// Keys while the search is open: its own, and the chat's keys that
    /// make sense there (editing applies to the query).
    fn on_search_key(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::MatchOlder | Action::MatchNewer => {
                if let Some(search) = self.search.as_mut() {
                    if action == Action::MatchOlder {
                        search.older();
                    } else {
                        search.newer();
                    }
                }
                self.reveal_match();
            }
            Action::EndSearch => self.search = None,
            // The query is one line.
            Action::Edit(EditAction::Newline) => {}
            Action::Edit(edit) => {
                if let Some(search) = self.search.as_mut() {
                    search.query.apply(edit);
                }
                self.requery();
            }
            Action::Leave => return self.ask_to_leave(),
            Action::PageUp => self.scroll_up(self.page()),
            Action::PageDown => self.scroll_down(self.page()),
            Action::Oldest => self.set_scroll(self.pane().oldest()),
            Action::Live => self.set_scroll(Scroll::Live),
            Action::Help => self.layers.push(Layer::Help { scroll: 0 }),
            Action::Redraw => return vec![Effect::Redraw],
            Action::CopyView => self.copy_view = true,
            Action::Send | Action::Search | Action::Up | Action::Down | Action::Complete => {}
        }
        Vec::new()
    }

    /// Opens the search (Ctrl-F, `/search TEXT`) with `query` typed.
    fn open_search(&mut self, query: &str) {
        let mut search = Search::new();
        search.query.set_text(query);
        self.search = Some(search);
        self.requery();
    }

    /// Searches for the query as it now is, and shows the match.
    fn requery(&mut self) {
        if let Some(search) = self.search.as_mut() {
            search.requery(&self.history);
        }
        self.reveal_match();
    }

    /// Scrolls so the match the search is on shows: the view does not
    /// move if it already does, otherwise the match's row goes to the
    /// middle of the pane.
    fn reveal_match(&mut self) {
        let Some((index, range)) = self
            .search
            .as_ref()
            .and_then(|search| search.current(&self.history))
        else {
            return;
        };
        let pane = self.pane();
        let Some(entry) = self.history.entries().get(index) else {
            return;
        };
        let layout = layout_entry(&self.history, entry, pane.width, self.emoji);
        let row = layout
            .rows
            .iter()
            .rposition(|row| row.start <= range.start)
            .unwrap_or(0);
        let shows = pane
            .visible(self.scroll)
            .iter()
            .any(|(shown, _, rows)| *shown == index && rows.contains(&row));
        if shows {
            return;
        }
        let target = pane.up(Scroll::At(Anchor { entry: index, row }), pane.height / 2);
        let target = pane.normalize(target);
        self.set_scroll(target);
    }

    /// Ctrl-C or `/quit`: leaves, but first asks once (on a screen) when
    /// that would lose messages not yet delivered or a typed draft.
    fn ask_to_leave(&mut self) -> Vec<Effect> {
        let question = LeaveQuestion {
            undelivered: self.unacked(),
            draft: !self.input.text().trim().is_empty(),
        };
        if self.interactive && (question.undelivered > 0 || question.draft) {
            self.layers.push(Layer::Confirm(question));
            return Vec::new();
        }
        self.leave(LeaveKind::Leave, 0)
    }

    /// Asks `question` over whatever is on screen (it takes the keys
    /// first); a newer question of its kind takes the older one's place.
    fn ask(&mut self, question: Question) {
        let kind = std::mem::discriminant(&question);
        self.layers.retain(
            |layer| !matches!(layer, Layer::Question(asked) if std::mem::discriminant(asked) == kind),
        );
        self.layers.push(Layer::Question(question));
    }

    /// The yes-or-no question nearest the top, if one is asked.
    pub fn question(&self) -> Option<&Question> {
        self.layers.iter().rev().find_map(|layer| match layer {
            Layer::Question(question) => Some(question),
            _ => None,
        })
    }

    /// The yes-or-no layer nearest the top (a [`Layer::Question`] or a
    /// [`Layer::Paste`]): the one the next y or n answers.
    pub fn asking(&self) -> Option<&Layer> {
        self.layers
            .iter()
            .rev()
            .find(|layer| matches!(layer, Layer::Question(_) | Layer::Paste(_)))
    }

    /// The big paste asking to go into the draft, if one is.
    pub fn paste(&self) -> Option<&PendingPaste> {
        self.layers.iter().rev().find_map(|layer| match layer {
            Layer::Paste(paste) => Some(paste),
            _ => None,
        })
    }

    /// How the conversation ended, while its end is on screen.
    pub fn ended(&self) -> Option<Exit> {
        self.layers.iter().find_map(|layer| match layer {
            Layer::Ended { exit, .. } => Some(exit.clone()),
            _ => None,
        })
    }

    /// The conversation is over: quit, or on a screen first show how it
    /// ended and wait for a key, so its last messages can be read.
    fn end(&mut self, exit: Exit) -> Vec<Effect> {
        if !self.interactive || !self.had_peer {
            return vec![Effect::Quit(exit)];
        }
        let why = exit
            .message
            .as_deref()
            .unwrap_or("the conversation ended")
            .trim_end_matches('.')
            .to_owned();
        // Nothing asked matters any more; a newcomer waiting is turned away.
        let effects = self
            .layers
            .drain(..)
            .filter_map(|layer| match layer {
                Layer::Question(Question::Knock { knock, .. }) => Some(Effect::Answer {
                    knock,
                    admit: false,
                }),
                _ => None,
            })
            .collect();
        self.layers.push(Layer::Ended { exit, why });
        effects
    }

    /// The help's rows at the current size, and how many show at once.
    fn help_geometry(&self) -> (usize, usize) {
        let screen = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        let width = overlay_inner_width(screen) as usize;
        let rows = layer::help_rows(&self.keymap, width).len();
        let shown = overlay(screen, rows).height.saturating_sub(2) as usize;
        (rows, shown)
    }

    /// Rows one page of the help moves.
    fn help_page(&self) -> usize {
        self.help_geometry().1.saturating_sub(1).max(1)
    }

    /// Scrolls the help by `rows` (up if negative), within its length.
    fn scroll_help(&mut self, rows: isize) {
        let (total, shown) = self.help_geometry();
        let last = total.saturating_sub(shown);
        if let Some(Layer::Help { scroll }) = self.layers.last_mut() {
            *scroll = scroll.saturating_add_signed(rows).min(last);
        }
    }

    /// Keys while the secret code is asked for
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
                return vec![Effect::Connect { code: Some(code) }];
            }
            // The code is one line.
            Action::Edit(EditAction::Newline) => {}
            Action::Edit(edit) => self.input.apply(edit),
            Action::Redraw => return vec![Effect::Redraw],
            Action::PageUp
            | Action::PageDown
            | Action::Oldest
            | Action::Live
            | Action::CopyView
            | Action::Help
            | Action::Up
            | Action::Down
            | Action::Complete
            | Action::Search
            | Action::MatchOlder
            | Action::MatchNewer
            | Action::EndSearch => {}
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

    /// A frame to send, noting that we spoke (no heartbeat needed for a while).
    fn send(&mut self, to: ConnId, frame: Frame) -> Effect {
        if let Some(peer) = self.peer.as_mut() {
            peer.sent_at = self.clock.mono_ms();
        }
        Effect::Send { to, frame }
    }

    /// Sends what the window lets go to the connected peer, marking it sent.
    fn pump(&mut self) -> Vec<Effect> {
        let Some(to) = self
            .connected()
            .filter(|info| !info.is_plain())
            .map(|info| info.id)
        else {
            return Vec::new();
        };
        let window = self.limits.window;
        let Some(peer) = self.peer.as_mut() else {
            return Vec::new();
        };
        let batch = peer.outbox.take_window(window);
        peer.note_progress(self.clock.mono_ms(), false);
        let mut effects = Vec::with_capacity(batch.len() * 2);
        for msg in batch {
            if let Some(delivery) = self.history.delivery_mut(msg.id.seq)
                && *delivery == Delivery::Pending
            {
                *delivery = Delivery::Sent;
                effects.push(Effect::Output(Output::Delivery {
                    id: msg.id,
                    delivery: Delivery::Sent,
                }));
            }
            effects.push(self.send(to, Frame::Chat(msg)));
        }
        effects
    }

    /// Sends a typed line, or acts on `exit` and commands.
    fn submit(&mut self, line: String) -> Vec<Effect> {
        if line.trim() == EXIT_COMMAND {
            return self.leave_when_delivered(LeaveKind::Bye);
        }
        if line.trim().is_empty() {
            return Vec::new();
        }
        if let Some(effects) = self.transfer_command(&line) {
            return effects;
        }
        let (line, action) = match command(&line) {
            Command::Text(text) => (text, false),
            Command::Me(text) if text.is_empty() => {
                self.input.set_text(&line);
                return self.system(SystemEvent::Error(
                    "/me needs an action: /me waves".to_owned(),
                ));
            }
            Command::Me(text) => (text, true),
            Command::Nick(name) => return self.rename(&line, &name),
            Command::Clear => {
                self.history.clear_shown();
                self.unread = 0;
                self.set_scroll(Scroll::Live);
                return Vec::new();
            }
            Command::Quit if self.interactive => return self.ask_to_leave(),
            Command::Quit => return self.leave(LeaveKind::Leave, 0),
            Command::Verify => {
                let text = match self.connected() {
                    Some(peer) => verify_text(peer, self.words_compared()),
                    None => "Nobody is connected: there is nothing to verify yet.".to_owned(),
                };
                self.set_scroll(Scroll::Live);
                return self.system(SystemEvent::Info(text));
            }
            Command::VerifyOk => {
                let connected = self
                    .connected()
                    .map(|peer| matches!(peer.security, crate::domain::Security::Encrypted { .. }));
                let text = match (connected, self.peer.as_mut()) {
                    (Some(true), Some(peer)) => {
                        peer.compared = true;
                        "Marked as compared: the status bar shows 🔒✓ for this conversation, \
                         also after it resumes."
                    }
                    (Some(_), _) => "A plain text peer has no verification words to compare.",
                    (None, _) => "Nobody is connected: there is nothing to verify yet.",
                };
                self.set_scroll(Scroll::Live);
                return self.system(SystemEvent::Info(text.to_owned()));
            }
            Command::Help if self.interactive => {
                self.layers.push(Layer::Help { scroll: 0 });
                return Vec::new();
            }
            Command::Help => {
                // No screen to lay a help over: say it as lines.
                let help = layer::help_items(&self.keymap)
                    .into_iter()
                    .map(|item| match item.key.as_str() {
                        "" => format!("{}:", item.text),
                        key => format!("{key}: {}", item.text),
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                self.set_scroll(Scroll::Live);
                return self.system(SystemEvent::Info(help));
            }
            Command::Held(Some(send)) => return self.decide_held(send),
            Command::Held(None) => {
                let Some(name) = self.peer_name() else {
                    return self.system(SystemEvent::Info("no messages are held".to_owned()));
                };
                if self.held.is_empty() {
                    return self.system(SystemEvent::Info("no messages are held".to_owned()));
                }
                self.ask(Question::Held {
                    count: self.held.len(),
                    name,
                });
                return Vec::new();
            }
            Command::Search(query) => {
                self.open_search(&query);
                return Vec::new();
            }
            // Read by the transfer commands above; never reached.
            Command::Files => return self.transfer_command(&line).unwrap_or_default(),
            Command::Save { path, replace } => {
                if path.is_empty() {
                    self.input.set_text(&line);
                    return self.system(SystemEvent::Error(
                        "/save needs a file name: /save FILE".to_owned(),
                    ));
                }
                let lines = keep::all_lines(&self.history, self.zone);
                return vec![Effect::Save {
                    path,
                    lines,
                    replace,
                }];
            }
            Command::Unknown { name, nearest } => {
                self.input.set_text(&line);
                return self.system(SystemEvent::Error(unknown_text(&name, nearest)));
            }
        };
        // What goes back into the box when the line is not sent.
        let typed = |line: &str| {
            if action {
                format!("/me {line}")
            } else {
                line.to_owned()
            }
        };
        if line.len() > MAX_TEXT_LEN {
            self.input.set_text(&typed(&line));
            return self.system(SystemEvent::Error(format!(
                "not sent: the message is {} KiB, the limit is {} KiB",
                line.len().div_ceil(1024),
                MAX_TEXT_LEN / 1024
            )));
        }
        if matches!(self.link, Link::Waiting) {
            self.input.set_text(&typed(&line));
            return self.system(SystemEvent::Error(
                "not sent: nobody is connected yet".to_owned(),
            ));
        }
        self.send_text(line, action)
    }

    /// Sends a message (an action, for `/me`) to the peer, or queues it
    /// while the connection is down, as typed.
    fn send_text(&mut self, line: String, action: bool) -> Vec<Effect> {
        let plain_to = match &self.link {
            Link::Connected(peer) if peer.is_plain() => Some(peer.id),
            Link::Connected(_) | Link::Dropped { .. } | Link::Waiting => None,
        };
        let now = self.clock.now_ms();
        let msg = ChatMessage {
            id: MessageId {
                session: self.session,
                seq: self.next_seq,
            },
            sent_at_ms: now,
            text: line,
            action,
        };
        self.next_seq = self.next_seq.saturating_add(1);
        // Sending is a deliberate act: show the conversation's end.
        self.set_scroll(Scroll::Live);
        self.presence.sent(self.input.text());
        self.attention.sent();
        let mut effects = Vec::new();
        if let Some(to) = plain_to {
            // Plain peers never acknowledge: sent is as far as it gets, and
            // there is nothing to carry over for them.
            self.history.push(Entry::Chat {
                at_ms: now,
                author: AuthorId::ME,
                id: msg.id,
                text: msg.text.as_str().into(),
                delivery: Delivery::Sent,
                action,
            });
            effects.push(Effect::Output(Output::Sent {
                id: msg.id,
                text: msg.text.as_str().into(),
                delivery: Delivery::Sent,
            }));
            // A plain program knows no actions: it gets the line as shown.
            let msg = if action {
                ChatMessage {
                    text: format!("* {} {}", self.me, msg.text),
                    action: false,
                    ..msg
                }
            } else {
                msg
            };
            effects.push(self.send(to, Frame::Chat(msg)));
            return effects;
        }
        self.history.push(Entry::Chat {
            at_ms: now,
            author: AuthorId::ME,
            id: msg.id,
            text: msg.text.as_str().into(),
            delivery: Delivery::Pending,
            action,
        });
        effects.push(Effect::Remember(Record::Sent(msg.clone())));
        let id = msg.id;
        let text: Box<str> = msg.text.as_str().into();
        if let Some(peer) = self.peer.as_mut() {
            peer.outbox.push(msg);
        }
        let sent = self.pump();
        let delivery = if sent.is_empty() {
            Delivery::Pending
        } else {
            Delivery::Sent
        };
        effects.push(Effect::Output(Output::Sent { id, text, delivery }));
        // The pump's own "sent" note for this message is already said above.
        effects.extend(sent.into_iter().filter(|effect| {
            !matches!(effect, Effect::Output(Output::Delivery { id: sent_id, .. }) if *sent_id == id)
        }));
        effects
    }

    /// Gives up on every undelivered message to the peer; says so.
    fn fail_undelivered(&mut self, why: String) -> Vec<Effect> {
        let Some(peer) = self.peer.as_mut() else {
            return Vec::new();
        };
        let failed = peer.outbox.drain();
        if failed.is_empty() {
            return Vec::new();
        }
        let name = self.history.author_name(peer.author).into_owned();
        let mut effects = vec![Effect::Remember(Record::GaveUp)];
        for id in &failed {
            if let Some(delivery) = self.history.delivery_mut(id.seq) {
                *delivery = Delivery::Failed;
            }
            effects.push(Effect::Output(Output::Delivery {
                id: *id,
                delivery: Delivery::Failed,
            }));
        }
        effects.extend(self.system(SystemEvent::Undelivered {
            count: failed.len(),
            name,
            why,
        }));
        effects
    }

    /// Leaves once every message typed so far is delivered (`exit`, the end
    /// of piped input): what is still in the outbox would otherwise be
    /// lost. Leaves at once when nothing is waiting.
    fn leave_when_delivered(&mut self, kind: LeaveKind) -> Vec<Effect> {
        let waiting = self.unacked();
        if waiting == 0 || matches!(self.link, Link::Waiting) {
            return self.leave(kind, 0);
        }
        self.leaving = Some(kind);
        self.system(SystemEvent::Leaving { waiting })
    }

    /// Leaves: with a goodbye that ends the peer too (`exit`), or alone.
    fn leave(&mut self, kind: LeaveKind, code: i32) -> Vec<Effect> {
        // Leaving on purpose ends the conversation: nothing to resume.
        let mut effects = vec![Effect::Remember(Record::Ended)];
        if let Some(to) = self.connected().map(|peer| peer.id) {
            let frame = match kind {
                LeaveKind::Bye => Frame::Bye,
                LeaveKind::Leave => Frame::Leave,
            };
            effects.push(self.send(to, frame));
        }
        effects.push(Effect::Quit(Exit {
            code,
            message: None,
        }));
        effects
    }

    /// Deadlines: a silent peer is given up on, a quiet connection gets a
    /// heartbeat, a guest's next reconnection starts.
    fn on_tick(&mut self) -> Vec<Effect> {
        let now = self.clock.mono_ms();
        let expired = self.layers.iter().position(|layer| {
            matches!(layer, Layer::Question(Question::Knock { until_ms, .. }) if now >= *until_ms)
        });
        if let Some(at) = expired {
            let layer = self.layers.remove(at);
            let mut effects = Vec::new();
            if let Layer::Question(Question::Knock { name, .. }) = layer {
                let text = format!("{name} was not let in: nobody answered in time");
                effects.extend(self.system(SystemEvent::Info(text)));
            }
            effects.extend(self.on_tick());
            return effects;
        }
        match &mut self.link {
            Link::Connected(info) if !info.is_plain() => {
                let info = info.clone();
                let Some(peer) = self.peer.as_ref() else {
                    return Vec::new();
                };
                // Alive but taking nothing (it heartbeats, but acknowledges
                // none of what is in flight): as good as gone.
                let stalled = peer
                    .waiting_since
                    .is_some_and(|since| now >= since + millis(self.limits.stall));
                let silent = now >= peer.heard_at + millis(self.limits.silence);
                if silent || stalled {
                    let reason = if silent {
                        LeftReason::Silent(self.limits.silence)
                    } else {
                        LeftReason::Stalled(self.limits.stall)
                    };
                    let mut effects = vec![Effect::Disconnect {
                        conn: info.id,
                        reason: reason.clone(),
                    }];
                    effects.extend(self.peer_left(info, reason));
                    return effects;
                }
                if now >= peer.sent_at + millis(self.limits.heartbeat) {
                    return vec![self.send(info.id, Frame::Heartbeat)];
                }
                Vec::new()
            }
            Link::Dropped {
                retry_at_ms: retry @ Some(_),
                ..
            } if retry.is_some_and(|at| now >= at) => {
                *retry = None;
                vec![Effect::Connect { code: None }]
            }
            _ => Vec::new(),
        }
    }

    fn on_net(&mut self, event: NetEvent) -> Vec<Effect> {
        let now = self.clock.mono_ms();
        // Anything from the connected peer is a sign of life.
        let from = match &event {
            NetEvent::Chat { from, .. }
            | NetEvent::Ack { from, .. }
            | NetEvent::Transfer { from, .. }
            | NetEvent::Typing { from, .. }
            | NetEvent::Heartbeat { from }
            | NetEvent::Renamed { from, .. } => Some(*from),
            _ => None,
        };
        if let Some(from) = from {
            if self.connected().is_none_or(|info| info.id != from) {
                return Vec::new(); // a stale connection's leftovers
            }
            if let Some(peer) = self.peer.as_mut() {
                peer.heard_at = now;
            }
        }
        match event {
            NetEvent::Joined { info, .. } => {
                let resumed = info.resumed;
                let mut effects = self.on_joined(info);
                if resumed {
                    effects.extend(self.transfers_reconnected());
                }
                effects
            }
            NetEvent::Waiting { reason } => self.system(SystemEvent::Info(reason)),
            NetEvent::CodeChanged { code } => {
                // Kept for a restarted run: the code it started with no
                // longer works.
                let mut effects = vec![Effect::Remember(Record::Code(code.clone()))];
                if let Role::Host { code: current, .. } = &mut self.role {
                    *current = Some(code.clone());
                    effects.extend(self.system(SystemEvent::CodeChanged { code }));
                }
                effects
            }
            NetEvent::Knock(knock) => {
                // The conversation is over, its end still on screen:
                // nobody new.
                if self.ended().is_some() {
                    return vec![Effect::Answer {
                        knock: knock.id,
                        admit: false,
                    }];
                }
                let away = self
                    .peer_name()
                    .unwrap_or_else(|| "your earlier guest".to_owned());
                let until_ms = now + millis(knock.patience);
                self.ask(Question::Knock {
                    knock: knock.id,
                    name: knock.name.clone(),
                    away: away.clone(),
                    until_ms,
                });
                self.system(SystemEvent::Knock {
                    name: knock.name,
                    addr: knock.addr,
                    away,
                })
            }
            NetEvent::ConnectFailed { reason, wrong_code } => {
                if wrong_code && let Some(prompt) = self.prompt.as_mut() {
                    prompt.checking = false;
                    prompt.error = Some(reason);
                    return Vec::new();
                }
                if let Link::Dropped {
                    retry_at_ms,
                    attempts,
                    failure,
                    ..
                } = &mut self.link
                {
                    if wrong_code {
                        // Retrying would hand whoever answers another
                        // guess at the code: stop, and say why.
                        return self.end(Exit {
                            code: 1,
                            message: Some(format!("{reason}; {CODE_NOT_TAKEN}")),
                        });
                    }
                    *attempts += 1;
                    *retry_at_ms = Some(now + reconnect_delay_ms(*attempts));
                    // Say why it cannot get back in, once per reason, so a
                    // person (or a script) is not left with a countdown.
                    if failure.as_deref() == Some(reason.as_str()) {
                        return Vec::new();
                    }
                    *failure = Some(reason.clone());
                    return self.system(SystemEvent::Error(format!(
                        "cannot reconnect yet: {reason}"
                    )));
                }
                vec![Effect::Quit(Exit {
                    code: 1,
                    message: Some(reason),
                })]
            }
            NetEvent::Chat { msg, .. } => self.on_chat(msg),
            NetEvent::Ack { up_to, .. } => self.on_ack(up_to),
            NetEvent::Heartbeat { .. } => Vec::new(),
            NetEvent::Transfer { frame, .. } => self.on_transfer_frame(frame),
            NetEvent::Typing { state, .. } => self.on_typing(state),
            NetEvent::Renamed { name, .. } => self.on_renamed(&name),
            NetEvent::Left { from, reason } => {
                let Some(info) = self.connected().filter(|info| info.id == from).cloned() else {
                    return Vec::new();
                };
                let mut effects = Vec::new();
                if !reason.is_drop() {
                    effects.extend(self.transfers_ended("the conversation ended"));
                }
                effects.extend(self.peer_left(info, reason));
                effects
            }
            NetEvent::Rejected { addr, kind, reason } => self.on_rejected(addr, kind, reason),
            NetEvent::Notice { from, text } => {
                if self.connected().is_none_or(|info| info.id != from) {
                    return Vec::new(); // about a connection that is gone
                }
                self.system(SystemEvent::Info(text))
            }
        }
    }

    fn on_chat(&mut self, msg: ChatMessage) -> Vec<Effect> {
        let plain = self.connected().is_some_and(PeerInfo::is_plain);
        let Some(peer) = self.peer.as_mut() else {
            return Vec::new();
        };
        // Plain peers number their lines afresh on each connection and
        // are never acknowledged.
        if !plain && !peer.inbox.accept(msg.id) {
            return Vec::new(); // sent again after a resume: we have it
        }
        let author = peer.author;
        let text: Box<str> = sanitize_text(&msg.text).as_ref().into();
        self.history.push(Entry::Chat {
            at_ms: msg.sent_at_ms,
            author,
            id: msg.id,
            text: text.clone(),
            delivery: Delivery::Received,
            action: msg.action,
        });
        self.note_arrival();
        let from = self.history.author_name(author).into_owned();
        // Taken in: written down before it is shown or printed, so a run
        // killed after showing it drops the peer's repeat.
        let remember = (!plain).then_some(Effect::Remember(Record::Received(msg.id)));
        let shown = Effect::Output(Output::Message {
            author,
            from: from.clone(),
            id: msg.id,
            sent_at_ms: msg.sent_at_ms,
            text,
            action: msg.action,
        });
        let typed = self.typing_stopped();
        let alert = self.alert_arrival(&from);
        remember
            .into_iter()
            .chain(typed)
            .chain([shown])
            .chain(alert)
            .collect()
    }

    fn on_ack(&mut self, up_to: MessageId) -> Vec<Effect> {
        if up_to.session != self.session {
            return Vec::new();
        }
        let Some(peer) = self.peer.as_mut() else {
            return Vec::new();
        };
        let acked = peer.outbox.ack(up_to.seq);
        let Some(newest) = acked.last().map(|id| id.seq) else {
            return Vec::new();
        };
        peer.note_progress(self.clock.mono_ms(), true);
        let mut effects = vec![Effect::Remember(Record::Acked { up_to: newest })];
        for id in acked {
            if let Some(delivery) = self.history.delivery_mut(id.seq) {
                *delivery = Delivery::Delivered;
            }
            effects.push(Effect::Output(Output::Delivery {
                id,
                delivery: Delivery::Delivered,
            }));
        }
        // Room in the window: the next messages go.
        effects.extend(self.pump());
        if self.unacked() == 0
            && let Some(kind) = self.leaving.take()
        {
            effects.extend(self.leave(kind, 0));
        }
        effects
    }

    fn on_rejected(&mut self, addr: SocketAddr, kind: RejectKind, reason: String) -> Vec<Effect> {
        // The seat is taken: said as this side sees it, naming who has it.
        let reason = match (kind, self.peer_name()) {
            (RejectKind::Busy, Some(name)) => crate::present::refusal(true, &name),
            (RejectKind::Away, Some(name)) => crate::present::refusal(false, &name),
            _ => reason,
        };
        // Connections turned away in a row for the same kind of reason
        // fold into one line showing the last reason, so a flood of them
        // (each naming its own bytes or address) does not push the
        // conversation off screen.
        let now = self.clock.now_ms();
        if let Some(Entry::System { at_ms, event }) = self.history.last_mut()
            && let SystemEvent::Rejected {
                addr: last_addr,
                kind: last_kind,
                reason: last_reason,
                earlier,
            } = &mut **event
            && *last_kind == kind
        {
            *at_ms = now;
            *last_addr = addr;
            *last_reason = reason;
            *earlier = earlier.saturating_add(1);
            return vec![Effect::Output(Output::System((**event).clone()))];
        }
        self.system(SystemEvent::Rejected {
            addr,
            kind,
            reason,
            earlier: 0,
        })
    }

    /// A peer completed the handshake: a new participant, or the same one
    /// resumed after a drop, which sends again what it did not get.
    /// Whether it resumed was decided in one place, by the host's
    /// conversation (`info.resumed`).
    fn on_joined(&mut self, info: PeerInfo) -> Vec<Effect> {
        let now = self.clock.mono_ms();
        // The host admits one guest at a time; only that guest coming back
        // over a new connection (before its old one was seen to end)
        // replaces the current one.
        if self.connected().is_some() && !info.resumed {
            return Vec::new();
        }
        // The conversation is over, its end still on screen: nobody new.
        if self.ended().is_some() {
            return vec![self.send(info.id, Frame::Leave)];
        }
        self.prompt = None;
        // The code did its job: off the screen, out of sight of onlookers.
        if let Role::Host { show_code, .. } = &mut self.role {
            *show_code = false;
        }
        // The lost guest came back while a newcomer was being asked about:
        // the question is moot, and the newcomer is turned away at once.
        let mut moot = Vec::new();
        let knocks: Vec<(u64, String)> = self
            .layers
            .iter()
            .filter_map(|layer| match layer {
                Layer::Question(Question::Knock { knock, name, .. }) if info.resumed => {
                    Some((*knock, name.clone()))
                }
                _ => None,
            })
            .collect();
        if !knocks.is_empty() {
            self.layers
                .retain(|layer| !matches!(layer, Layer::Question(Question::Knock { .. })));
        }
        for (knock, name) in knocks {
            moot.push(Effect::Answer {
                knock,
                admit: false,
            });
            let text = format!("{name} was not let in: {} came back", info.name);
            moot.extend(self.system(SystemEvent::Info(text)));
        }
        // Our place in the conversation, for a run that takes over from this one.
        let mut effects: Vec<Effect> = info
            .resume
            .map(|resume| Effect::Remember(Record::Conversation(resume)))
            .into_iter()
            .collect();
        let words = info.verification().map(str::to_owned);
        let resumes = info.resumed && self.peer.is_some();
        if resumes && let Some(peer) = self.peer.as_mut() {
            let words_changed = peer.verification.is_some() && peer.verification != words;
            peer.verification = words.clone();
            peer.outbox.rewind();
            peer.waiting_since = None;
            let author = peer.author;
            let compared = peer.compared;
            let old = self.history.author_name(author).into_owned();
            self.history.relabel(author, &info.name);
            let new = self.history.author_name(author).into_owned();
            // Renamed while the connection was down: its hello says so.
            if old != new && self.had_peer {
                effects.extend(self.system(SystemEvent::Renamed {
                    old,
                    new,
                    me: false,
                }));
            }
            let event = SystemEvent::Resumed {
                name: self.history.author_name(author).into_owned(),
                verification: words,
                words_changed,
                compared,
                restarted: !self.had_peer,
            };
            effects.extend(self.system(event));
        } else {
            let guest_again = (self.had_peer || self.restored) && !self.is_host();
            let earlier = self.peer.take();
            let mut held_from = None;
            if guest_again {
                // The host did not prove it is the one we were talking to
                // (a restarted host, or someone else at its address): what
                // we typed for that conversation does not go to it.
                held_from = earlier;
            } else if let Some(earlier) = earlier.clone() {
                // The host's lost guest did not come back, and the host's
                // person (or its policy) let a new one in.
                let name = self.history.author_name(earlier.author).into_owned();
                self.peer = Some(earlier);
                effects.extend(self.fail_undelivered(format!(
                    "{name} did not come back, and {} was let in",
                    info.name
                )));
                self.peer = None;
            }
            let author = self.history.add_author(&info.name, self.peer_qualifier());
            let mut peer = Peer::new(author);
            peer.verification = words;
            self.peer = Some(peer);
            let name = self.history.author_name(author).into_owned();
            effects.extend(self.system(SystemEvent::Joined {
                name: name.clone(),
                addr: info.addr,
                security: info.security.clone(),
                host: !self.is_host(),
                afresh: guest_again,
            }));
            if let Some(earlier) = held_from {
                effects.extend(self.hold_earlier(earlier, &name));
            }
        }
        if let Some(peer) = self.peer.as_mut() {
            peer.heard_at = now;
            peer.sent_at = now;
        }
        // A new participant is a new transcript file; one that comes back
        // goes on in its own (a restarted run starts one).
        if !resumes || self.keeping.file.is_none() {
            self.keeping.file = Some(crate::transcript::file_name(
                self.clock.now_ms(),
                self.zone,
                &self.me,
                &info.name,
            ));
        }
        self.had_peer = true;
        self.presence.reset();
        self.link = Link::Connected(info);
        effects.extend(self.pump());
        moot.extend(effects);
        moot
    }

    /// What follows a peer's departure: `exit` ends everyone, but a host's
    /// plain peer's ends only its own connection (the host serves the next
    /// client, as a socket server's accept loop does); a dropped connection
    /// is waited for (host) or reconnected (guest); a guest whose host left
    /// is done; a host waits for the next guest.
    fn peer_left(&mut self, info: PeerInfo, reason: LeftReason) -> Vec<Effect> {
        let name = self.peer.as_ref().map_or_else(
            || info.name.clone(),
            |peer| self.history.author_name(peer.author).into_owned(),
        );
        let mut effects: Vec<Effect> = self.typing_stopped().into_iter().collect();
        self.presence.reset();
        effects.extend(self.system(SystemEvent::Left {
            name: name.clone(),
            reason: reason.clone(),
        }));
        let plain = info.is_plain();
        if reason.is_drop() && !plain {
            if let Some(peer) = self.peer.as_mut() {
                peer.outbox.rewind();
                peer.waiting_since = None;
            }
            let host = self.is_host();
            self.link = Link::Dropped {
                peer: info,
                retry_at_ms: (!host).then_some(self.clock.mono_ms() + reconnect_delay_ms(0)),
                attempts: 0,
                failure: None,
            };
            return effects;
        }
        self.link = Link::Waiting;
        // The next guest needs the code: back on the status bar.
        if let Role::Host { show_code, .. } = &mut self.role {
            *show_code = true;
        }
        // The conversation is over (on purpose, or a plain peer's
        // connection closed): nothing to resume.
        effects.push(Effect::Remember(Record::Ended));
        if !matches!(reason, LeftReason::Bye) {
            effects.extend(self.fail_undelivered(format!("{name} left")));
        }
        let exit = match (&reason, self.is_host()) {
            (LeftReason::Bye, true) if plain => return effects,
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
                    info.addr
                )),
            },
            (other, false) => Exit {
                code: 1,
                message: Some(format!(
                    "Lost the connection to {name} (the host, {}): {}",
                    info.addr,
                    other.detail().unwrap_or_else(|| other.code().to_owned())
                )),
            },
        };
        effects.extend(self.end(exit));
        effects
    }

    /// `/nick NAME`: checked as `--name` is; told to the peer if its
    /// program takes name changes, and to every later connection's hello.
    fn rename(&mut self, line: &str, name: &str) -> Vec<Effect> {
        let clean = sanitize_name(name);
        if name.trim().is_empty() || clean != name.trim() || clean.len() > MAX_NAME_LEN {
            self.input.set_text(line);
            return self.system(SystemEvent::Error(format!(
                "not renamed: {:?} is not a name (use up to {MAX_NAME_WIDTH} columns of visible \
                 characters: /nick NAME)",
                name.trim()
            )));
        }
        if clean == self.me {
            return self.system(SystemEvent::Info(format!("you are already {clean}")));
        }
        let old = std::mem::replace(&mut self.me, clean.clone());
        self.history.relabel(AuthorId::ME, &clean);
        self.set_scroll(Scroll::Live);
        let mut effects = vec![Effect::Rename(clean.clone())];
        effects.extend(self.system(SystemEvent::Renamed {
            old: old.clone(),
            new: clean.clone(),
            me: true,
        }));
        let Some((to, told)) = self.connected().map(|peer| (peer.id, peer.caps.has(NICK))) else {
            // Nobody to tell now: the next hello carries the name.
            return effects;
        };
        if told {
            effects.push(self.send(to, Frame::Nick { name: clean }));
        } else {
            let peer = self.shown_peer_name();
            effects.extend(self.system(SystemEvent::Info(format!(
                "{peer}'s program does not take name changes (an older duplex, or a plain \
                 text program): on their screen you are still {old}"
            ))));
        }
        effects
    }

    /// The peer is now called `name` (`/nick` on their side).
    fn on_renamed(&mut self, name: &str) -> Vec<Effect> {
        let Some(author) = self.peer.as_ref().map(|peer| peer.author) else {
            return Vec::new();
        };
        let new = sanitize_name(name);
        let old = self.history.author_name(author).into_owned();
        self.history.relabel(author, &new);
        if let Link::Connected(info) = &mut self.link {
            info.name = new;
        }
        let new = self.history.author_name(author).into_owned();
        if new == old {
            return Vec::new();
        }
        self.system(SystemEvent::Renamed {
            old,
            new,
            me: false,
        })
    }

    /// The peer's name as shown, whoever it is.
    fn shown_peer_name(&self) -> String {
        match (&self.peer, &self.link) {
            (Some(peer), _) => self.history.author_name(peer.author).into_owned(),
            (None, Link::Connected(info)) => info.name.clone(),
            (None, _) => "the peer".to_owned(),
        }
    }

    /// Adds a system line and tells the front ends.
    fn system(&mut self, event: SystemEvent) -> Vec<Effect> {
        self.history.push_system(self.clock.now_ms(), event.clone());
        self.note_arrival();
        vec![Effect::Output(Output::System(event))]
    }

    /// Keeps a scrolled-back view still and counts what arrived below it.
    fn note_arrival(&mut self) {
        if self.scroll != Scroll::Live {
            self.unread += 1;
        }
    }
}

/// A duration as monotonic milliseconds.
fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Security;
    use crate::net::PeerLink;
    use crossterm::event::{KeyCode, KeyModifiers};

    /// The effects that act (everything but what is only shown).
    fn acting(effects: Vec<Effect>) -> Vec<Effect> {
        effects
            .into_iter()
            .filter(|effect| !matches!(effect, Effect::Output(_)))
            .collect()
    }

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
            caps: Default::default(),
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
                action: false,
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
                show_code: true,
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

    /// Types `text` as a person does: a pause follows (so an Enter after
    /// it is not taken for part of a paste).
    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            app.update(key(KeyCode::Char(c)));
        }
        app.last_key_ms = None;
    }

    /// Keys at `ms` on the app's clock.
    fn keys_at(app: &mut App, ms: i64, events: Vec<Event>) -> Vec<Effect> {
        app.clock = Clock::Fixed(ms);
        events.into_iter().flat_map(|e| app.update(e)).collect()
    }

    fn chars(text: &str) -> Vec<Event> {
        text.chars()
            .map(|c| match c {
                '\r' => key(KeyCode::Enter),
                c => key(KeyCode::Char(c)),
            })
            .collect()
    }

    #[test]
    fn a_multi_line_draft_is_one_message() {
        let mut app = guest();
        app.update(joined(1, "bob"));
        type_text(&mut app, "one");
        app.update(Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)));
        type_text(&mut app, "two");
        app.update(ctrl('j'));
        app.update(ctrl('j'));
        app.last_key_ms = None;
        assert_eq!(app.input.text(), "one\ntwo\n\n");
        let effects = app.update(key(KeyCode::Enter));
        // Line breaks at the end show nothing: they are not sent.
        assert_eq!(sent_chats(&effects), vec![(1, "one\ntwo".to_owned())]);
        assert!(app.input.is_empty());
    }

    #[test]
    fn keys_in_a_burst_are_a_draft_not_a_burst_of_messages() {
        let mut app = guest();
        app.update(joined(1, "bob"));
        // A paste without brackets: every key at once, line breaks as Enter.
        let effects = keys_at(&mut app, 1000, chars("one\rtwo\rthree"));
        assert!(sent_chats(&effects).is_empty(), "{effects:?}");
        assert_eq!(app.input.text(), "one\ntwo\nthree");
        assert_eq!(app.held_enter_ms, None);
        // Typed Enter, later: one message of three lines.
        let effects = keys_at(&mut app, 1500, vec![key(KeyCode::Enter)]);
        assert_eq!(
            sent_chats(&effects),
            vec![(1, "one\ntwo\nthree".to_owned())]
        );

        // An Enter at the end of a burst is an Enter once no key follows
        // it: the Tick the app asks for sends the draft.
        let effects = keys_at(&mut app, 2000, chars("four\rfive\r"));
        assert!(sent_chats(&effects).is_empty());
        assert_eq!(app.next_deadline(), Some(2000 + PASTE_GAP_MS));
        assert!(keys_at(&mut app, 2000 + PASTE_GAP_MS - 1, vec![]).is_empty());
        let effects = keys_at(&mut app, 2000 + PASTE_GAP_MS, vec![Event::Tick]);
        assert_eq!(sent_chats(&effects), vec![(2, "four\nfive".to_owned())]);
        assert!(app.input.is_empty());
        assert_eq!(app.held_enter_ms, None);

        // A key that comes after the pause does the same before its own work.
        let effects = keys_at(&mut app, 3000, chars("six\r"));
        assert!(sent_chats(&effects).is_empty());
        let effects = keys_at(&mut app, 3100, chars("x"));
        assert_eq!(sent_chats(&effects), vec![(3, "six".to_owned())]);
        assert_eq!(app.input.text(), "x");

        // Typing at a person's pace: each Enter sends.
        app.input.take();
        let mut sent = Vec::new();
        for (n, c) in "a\rb\r".chars().enumerate() {
            let effects = keys_at(&mut app, 4000 + 50 * n as i64, chars(&c.to_string()));
            sent.extend(sent_chats(&effects));
        }
        assert_eq!(sent, vec![(4, "a".to_owned()), (5, "b".to_owned())]);
    }

    #[test]
    fn a_paste_keeps_its_line_breaks_and_is_never_sent_by_itself() {
        let mut app = guest();
        app.update(joined(1, "bob"));
        type_text(&mut app, "see: ");
        let effects = app.update(Event::Paste("one\r\ntwo\rthree\n".into()));
        assert!(sent_chats(&effects).is_empty());
        assert_eq!(app.input.text(), "see: one\ntwo\nthree\n");
        assert!(app.paste().is_none());
        assert_eq!(app.held_enter_ms, None);
    }

    #[test]
    fn a_code_pasted_with_its_line_break_is_one_line() {
        let mut app = guest();
        app.update(Event::CodeNeeded);
        app.update(Event::Paste("amber-otter-violin\r".into()));
        assert_eq!(app.input.text(), "amber-otter-violin");
        let effects = app.update(key(KeyCode::Enter));
        assert_eq!(
            effects,
            vec![Effect::Connect {
                code: Some("amber-otter-violin".to_owned())
            }]
        );
    }

    #[test]
    fn a_big_paste_asks_first() {
        let mut app = guest();
        app.update(joined(1, "bob"));
        let big: String = (1..=120).map(|n| format!("line {n}\n")).collect();
        app.update(Event::Paste(big.clone()));
        assert!(app.input.is_empty());
        let question = app.paste().map(PendingPaste::question);
        assert_eq!(
            question.as_deref(),
            Some("Paste 120 lines (1 KiB) into the message? y/n")
        );
        // Other keys wait for the answer; n drops it.
        app.update(key(KeyCode::Char('x')));
        app.update(key(KeyCode::PageUp));
        assert!(app.paste().is_some() && app.input.is_empty());
        app.update(key(KeyCode::Char('n')));
        assert!(app.paste().is_none() && app.input.is_empty());
        // y puts it in the draft, unsent.
        app.update(Event::Paste(big.clone()));
        let effects = app.update(key(KeyCode::Char('y')));
        assert!(sent_chats(&effects).is_empty());
        assert_eq!(app.input.text(), big);
        // Enter answers yes too, Esc no; a long line counts by its bytes.
        app.input.take();
        let long = "x".repeat(PASTE_ASK_BYTES + 1);
        app.update(Event::Paste(long.clone()));
        app.last_key_ms = None;
        app.update(key(KeyCode::Esc));
        assert!(app.paste().is_none() && app.input.is_empty());
        app.update(Event::Paste(long.clone()));
        app.last_key_ms = None;
        let effects = app.update(key(KeyCode::Enter));
        assert!(sent_chats(&effects).is_empty());
        assert_eq!(app.input.text(), long);
        // Twenty lines go in without asking.
        app.input.take();
        let twenty: String = (1..=20).map(|n| format!("{n}\n")).collect();
        app.update(Event::Paste(twenty.clone()));
        assert_eq!(app.input.text(), twenty);
        // Ctrl-C still leaves.
        app.update(Event::Paste(big));
        assert!(quits(&app.update(ctrl('c'))).is_some());
    }

    #[test]
    fn up_recalls_what_was_sent_and_down_comes_back_to_the_draft() {
        let mut app = guest();
        app.update(joined(1, "bob"));
        for line in ["first", "/help"] {
            type_text(&mut app, line);
            app.update(key(KeyCode::Enter));
        }
        type_text(&mut app, "draft");
        app.update(key(KeyCode::Up));
        assert_eq!(app.input.text(), "/help");
        app.update(ctrl('p'));
        assert_eq!(app.input.text(), "first");
        app.update(key(KeyCode::Down));
        app.update(ctrl('n'));
        assert_eq!(app.input.text(), "draft");
        // A recalled message is sent like a typed one.
        app.update(key(KeyCode::Up));
        app.update(key(KeyCode::Up));
        app.last_key_ms = None;
        let effects = app.update(key(KeyCode::Enter));
        assert_eq!(sent_chats(&effects), vec![(2, "first".to_owned())]);
    }

    #[test]
    fn keys_of_the_draft_keep_out_of_the_search_and_its_keys_come_first() {
        let mut app = guest();
        app.update(joined(1, "bob"));
        app.update(chat(1, 1, "pizza at noon"));
        app.update(chat(1, 2, "or pizza at one"));
        type_text(&mut app, "sent before");
        app.update(key(KeyCode::Enter));
        type_text(&mut app, "draft");
        app.update(ctrl('f'));
        type_text(&mut app, "pizza");
        let query = |app: &App| app.search.as_ref().map(|s| s.query.text().to_owned());
        let position = |app: &App| app.search.as_ref().and_then(Search::position);
        assert_eq!(position(&app), Some(2));
        // Up and Ctrl-N go to the older match, not the messages sent
        // before; Down and Ctrl-P to the newer one.
        app.update(key(KeyCode::Up));
        assert_eq!(position(&app), Some(1));
        app.update(ctrl('p'));
        assert_eq!(position(&app), Some(2));
        app.update(ctrl('n'));
        app.update(key(KeyCode::Down));
        assert_eq!(position(&app), Some(2));
        // Tab completes nothing and a line break goes nowhere: the query is
        // one line; a paste of lines goes into it as one.
        app.update(key(KeyCode::Tab));
        app.update(Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT)));
        app.update(ctrl('j'));
        assert_eq!(query(&app).as_deref(), Some("pizza"));
        app.update(Event::Paste(" at\r\n".into()));
        assert_eq!(query(&app).as_deref(), Some("pizza at"));
        assert_eq!(app.input.text(), "draft", "the draft waits");
        // Esc ends it; Up recalls again.
        app.update(key(KeyCode::Esc));
        assert!(app.search.is_none());
        app.update(key(KeyCode::Up));
        assert_eq!(app.input.text(), "sent before");
    }

    #[test]
    fn tab_completes_commands_from_the_command_list() {
        let mut app = guest();
        type_text(&mut app, "/he");
        app.update(key(KeyCode::Tab));
        assert_eq!(app.input.text(), "/help");
        app.input.take();
        type_text(&mut app, "/ver");
        app.update(key(KeyCode::Tab));
        assert_eq!(app.input.text(), "/verify");
        app.update(key(KeyCode::Tab));
        assert_eq!(app.input.text(), "/verify ok");
    }

    #[test]
    fn the_input_box_grows_to_a_third_of_the_screen_then_scrolls() {
        let mut app = guest();
        app.update(Event::Resize(40, 24));
        type_text(&mut app, "1");
        for n in 2..=12 {
            app.update(ctrl('j'));
            type_text(&mut app, &n.to_string());
        }
        let areas = layout(app.input_rows(40), ratatui::layout::Rect::new(0, 0, 40, 24));
        assert_eq!(areas.input.height, 8);
        app.update(Event::Resize(40, 12));
        let areas = layout(app.input_rows(40), ratatui::layout::Rect::new(0, 0, 40, 12));
        assert_eq!(areas.input.height, 4);
        assert_eq!(app.pane().height, 12 - 4 - 2);
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
        let effects = acting(app.update(key(KeyCode::Enter)));
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
        let effects = acting(app.update(key(KeyCode::Enter)));
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
    fn a_plain_clients_exit_or_idleness_ends_only_its_conversation() {
        for reason in [
            LeftReason::Bye,
            LeftReason::Idle(std::time::Duration::from_secs(600)),
        ] {
            let mut app = host();
            let mut info = peer(3, "plain@127.0.0.1");
            info.security = Security::Plain { encoding: "UTF-8" };
            app.update(Event::Net(NetEvent::Joined {
                info,
                link: PeerLink::detached(3),
            }));
            app.update(Event::Submit("hi".into()));
            let effects = app.update(left(3, reason.clone()));
            assert!(quits(&effects).is_none(), "{reason:?}: {effects:?}");
            assert_eq!(app.link, Link::Waiting);
            assert_eq!(deliveries(&app), vec![Delivery::Sent], "never ✗");
        }
        // A guest of a plain server still ends when the server says exit.
        let mut app = guest();
        let mut info = peer(3, "plain@127.0.0.1");
        info.security = Security::Plain { encoding: "UTF-8" };
        app.update(Event::Net(NetEvent::Joined {
            info,
            link: PeerLink::detached(3),
        }));
        let effects = app.update(left(3, LeftReason::Bye));
        assert_eq!(quits(&effects).map(|e| e.code), Some(0));
    }

    #[test]
    fn a_notice_about_the_connected_peer_is_an_info_line_and_a_stale_one_is_not() {
        let mut app = host();
        app.update(joined(3, "bob"));
        let text = "😀 (U+1F600) cannot be written in GBK: sent as ?".to_owned();
        let effects = app.update(Event::Net(NetEvent::Notice {
            from: 3,
            text: text.clone(),
        }));
        assert!(
            effects.contains(&Effect::Output(Output::System(SystemEvent::Info(
                text.clone()
            )))),
            "{effects:?}"
        );
        let before = app.history.len();
        let effects = app.update(Event::Net(NetEvent::Notice { from: 9, text }));
        assert!(effects.is_empty(), "{effects:?}");
        assert_eq!(app.history.len(), before);
    }

    #[test]
    fn host_keeps_history_and_waits_after_a_guest_leaves() {
        let mut app = host();
        app.update(joined(3, "bob"));
        app.update(chat(3, 1, "hello"));
        let effects = acting(app.update(left(3, LeftReason::Left)));
        assert_eq!(effects, [Effect::Remember(Record::Ended)]);
        assert_eq!(app.link, Link::Waiting);
        assert_eq!(app.history.len(), 3, "joined, hello, left");
        app.update(joined(4, "carol"));
        assert_eq!(app.connected().map(|p| p.name.as_str()), Some("carol"));
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
        // Written down before it is shown: the record comes first.
        let effects = app.update(chat(3, 1, "hello"));
        assert_eq!(
            effects[0],
            Effect::Remember(Record::Received(MessageId { session: 9, seq: 1 }))
        );
        assert!(matches!(effects[1], Effect::Output(Output::Message { .. })));
        assert_eq!(effects.len(), 2);
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
        let effects = acting(app.update(left(3, LeftReason::Error("reset".into()))));
        assert_eq!(effects, vec![]);
        assert!(matches!(app.link, Link::Dropped { .. }));
        // The first attempt is due at once.
        assert_eq!(app.next_deadline(), Some(0));
        assert_eq!(
            app.update(Event::Tick),
            vec![Effect::Connect { code: None }]
        );
        assert_eq!(app.next_deadline(), None, "nothing to do while it connects");
        // Typed while disconnected: queued, shown as pending.
        let effects = acting(app.update(Event::Submit("queued".into())));
        assert!(
            matches!(effects.as_slice(), [Effect::Remember(Record::Sent(msg))] if msg.text == "queued"),
            "{effects:?}"
        );
        assert_eq!(
            deliveries(&app),
            vec![Delivery::Delivered, Delivery::Sent, Delivery::Pending]
        );
        // Failed attempts back off, up to a cap: each is a deadline, and
        // the next attempt starts when it is reached.
        let mut delays = Vec::new();
        let mut now = 0;
        for _ in 0..10 {
            app.update(Event::Net(NetEvent::ConnectFailed {
                reason: "refused".into(),
                wrong_code: false,
            }));
            let Link::Dropped {
                retry_at_ms: Some(at),
                ..
            } = app.link
            else {
                panic!("{:?}", app.link);
            };
            delays.push(at - now);
            assert!(app.update(Event::Tick).is_empty(), "not yet");
            now = at;
            app.clock = Clock::Fixed(now);
            assert_eq!(
                app.update(Event::Tick),
                vec![Effect::Connect { code: None }]
            );
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
    }

    #[test]
    fn a_silent_peer_is_dropped_at_the_limit_and_a_quiet_one_gets_heartbeats() {
        let mut app = guest();
        app.limits.heartbeat = std::time::Duration::from_millis(50);
        app.limits.silence = std::time::Duration::from_millis(150);
        app.update(joined(3, "alice"));
        assert_eq!(app.next_deadline(), Some(50));
        app.clock = Clock::Fixed(50);
        let effects = app.update(Event::Tick);
        assert!(
            matches!(
                effects.as_slice(),
                [Effect::Send {
                    to: 3,
                    frame: Frame::Heartbeat
                }]
            ),
            "{effects:?}"
        );
        // A heartbeat from the peer keeps it alive.
        app.clock = Clock::Fixed(120);
        app.update(Event::Net(NetEvent::Heartbeat { from: 3 }));
        app.clock = Clock::Fixed(200);
        assert!(matches!(app.link, Link::Connected(_)));
        app.update(Event::Tick);
        assert!(matches!(app.link, Link::Connected(_)), "heard from at 120");
        // Then nothing for the whole limit: dropped, and the guest reconnects.
        app.clock = Clock::Fixed(270);
        let effects = app.update(Event::Tick);
        assert!(
            effects.contains(&Effect::Disconnect {
                conn: 3,
                reason: LeftReason::Silent(app.limits.silence)
            }),
            "{effects:?}"
        );
        assert!(matches!(app.link, Link::Dropped { .. }));
        assert!(effects.iter().any(|e| matches!(
            e,
            Effect::Output(Output::System(SystemEvent::Left {
                reason: LeftReason::Silent(_),
                ..
            }))
        )));
    }

    #[test]
    fn a_peer_that_heartbeats_but_acknowledges_nothing_is_dropped_as_stalled() {
        let mut app = guest();
        app.limits.heartbeat = std::time::Duration::from_millis(50);
        app.limits.silence = std::time::Duration::from_millis(150);
        app.limits.stall = std::time::Duration::from_millis(400);
        app.update(joined(3, "alice"));
        app.update(Event::Submit("one".into()));
        // Acknowledged after a while: the wait starts again from there.
        app.clock = Clock::Fixed(300);
        app.update(Event::Net(NetEvent::Heartbeat { from: 3 }));
        app.update(Event::Submit("two".into()));
        app.update(ack(3, 2, 1));
        let mut now = 300;
        // Then heartbeats keep coming, but nothing more is acknowledged.
        while matches!(app.link, Link::Connected(_)) {
            now += 50;
            assert!(now <= 300 + 400, "not dropped at the stall limit");
            app.clock = Clock::Fixed(now);
            app.update(Event::Net(NetEvent::Heartbeat { from: 3 }));
            let effects = app.update(Event::Tick);
            if let Some(Effect::Disconnect { reason, .. }) = effects
                .iter()
                .find(|effect| matches!(effect, Effect::Disconnect { .. }))
            {
                assert_eq!(*reason, LeftReason::Stalled(app.limits.stall));
            }
        }
        assert_eq!(
            now, 700,
            "dropped when the limit passed since the last acknowledgement"
        );
        assert!(
            matches!(app.link, Link::Dropped { .. }),
            "and it will resume"
        );
    }

    #[test]
    fn a_restarted_guest_told_busy_at_start_keeps_trying() {
        let mut app = guest();
        let effects = app.update(Event::Refused {
            addr: "127.0.0.1:7878".parse().unwrap(),
            reason: "the host refused the connection: busy".into(),
        });
        assert!(quits(&effects).is_none(), "{effects:?}");
        assert!(
            effects.iter().any(|effect| matches!(effect,
                Effect::Output(Output::System(SystemEvent::Error(text)))
                    if text == "cannot reconnect yet: the host refused the connection: busy")),
            "{effects:?}"
        );
        let Link::Dropped {
            retry_at_ms: Some(at),
            ..
        } = app.link
        else {
            panic!("{:?}", app.link);
        };
        assert!(at > 0, "it backs off as after a failed attempt");
        app.clock = Clock::Fixed(at);
        assert_eq!(
            app.update(Event::Tick),
            vec![Effect::Connect { code: None }]
        );
        // Still busy: it keeps trying, and says so only once.
        let effects = app.update(Event::Net(NetEvent::ConnectFailed {
            reason: "the host refused the connection: busy".into(),
            wrong_code: false,
        }));
        assert!(effects.is_empty(), "{effects:?}");
        assert!(matches!(
            app.link,
            Link::Dropped {
                retry_at_ms: Some(_),
                ..
            }
        ));
        app.update(joined(3, "alice"));
        assert_eq!(app.connected().map(|p| p.name.as_str()), Some("alice"));
    }

    #[test]
    fn a_guest_that_cannot_get_back_in_says_why_once_per_reason() {
        let mut app = guest();
        app.update(joined(3, "alice"));
        app.update(left(3, LeftReason::Closed));
        let failed = |reason: &str| {
            Event::Net(NetEvent::ConnectFailed {
                reason: reason.to_owned(),
                wrong_code: false,
            })
        };
        let said = |effects: Vec<Effect>| -> Vec<String> {
            effects
                .into_iter()
                .filter_map(|effect| match effect {
                    Effect::Output(Output::System(SystemEvent::Error(text))) => Some(text),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            said(app.update(failed("the host requires a secret code"))),
            ["cannot reconnect yet: the host requires a secret code"]
        );
        assert!(said(app.update(failed("the host requires a secret code"))).is_empty());
        assert_eq!(said(app.update(failed("refused"))).len(), 1);
    }

    #[test]
    fn the_end_of_input_and_exit_wait_until_everything_is_delivered() {
        for (leave, frame) in [
            (Event::EndOfInput, Frame::Leave),
            (Event::Submit("exit".into()), Frame::Bye),
        ] {
            let mut app = guest();
            app.limits.window = 100;
            app.update(joined(3, "alice"));
            for n in 0..5 {
                app.update(Event::Submit(format!("line {n} {}", "x".repeat(40))));
            }
            let effects = app.update(leave);
            assert!(quits(&effects).is_none(), "left with 5 undelivered");
            assert!(acting(effects).is_empty(), "no goodbye yet");
            let mut seq = 1;
            let effects = loop {
                let effects = app.update(ack(3, 2, seq));
                if quits(&effects).is_some() {
                    break effects;
                }
                seq += 1;
                assert!(seq <= 5, "never left");
            };
            assert_eq!(seq, 5, "left only once all five were delivered");
            assert!(
                effects
                    .iter()
                    .any(|e| matches!(e, Effect::Send { frame: f, .. } if *f == frame)),
                "{effects:?}"
            );
        }
    }

    #[test]
    fn a_peer_with_my_name_is_someone_else() {
        let mut app = host(); // alice
        app.update(joined(3, "alice"));
        let effects = app.update(chat(3, 1, "hi from the other alice"));
        let [
            Effect::Remember(Record::Received(_)),
            Effect::Output(Output::Message { author, from, .. }),
        ] = effects.as_slice()
        else {
            panic!("{effects:?}");
        };
        assert!(!author.is_me());
        assert_eq!(from, "alice (guest)");
        let Some(Entry::Chat { author, .. }) = app.history.entries().last() else {
            panic!("no message");
        };
        assert!(!author.is_me(), "drawn as the peer's line");
        assert_eq!(app.history.author_name(*author), "alice (guest)");
        assert_eq!(app.history.author_name(AuthorId::ME), "alice");
    }

    /// Sends `n` messages, then takes every chat frame a connection gets,
    /// acknowledging all it has after each batch; returns their texts.
    fn drain_by_acks(app: &mut App, conn: ConnId, first: Vec<Effect>) -> Vec<String> {
        let mut got = Vec::new();
        let mut effects = first;
        loop {
            let batch = sent_chats(&effects);
            let window: usize = batch.iter().map(|(_, text)| text.len() + 48).sum();
            assert!(
                batch.len() <= 1 || window <= app.limits.window,
                "a window of {window} bytes went out at once"
            );
            let Some(&(newest, _)) = batch.last() else {
                break;
            };
            got.extend(batch.into_iter().map(|(_, text)| text));
            effects = app.update(ack(conn, 2, newest));
        }
        got
    }

    #[test]
    fn a_backlog_of_ten_thousand_goes_out_window_by_window_once_each_in_order() {
        let mut app = guest();
        app.update(joined(3, "alice"));
        app.update(left(3, LeftReason::Closed));
        let texts: Vec<String> = (1..=10_000).map(|n| format!("line {n}")).collect();
        for text in &texts {
            app.update(Event::Submit(text.clone()));
        }
        assert_eq!(app.unacked(), 10_000);
        let effects = app.update(resumed(4, "alice"));
        let first = sent_chats(&effects).len();
        assert!(first < 10_000, "all {first} re-sent at once");
        assert_eq!(drain_by_acks(&mut app, 4, effects), texts);
        assert_eq!(app.unacked(), 0);
        assert!(deliveries(&app).iter().all(|d| *d == Delivery::Delivered));
    }

    #[test]
    fn piped_input_stops_at_the_outbox_budget_connected_or_not() {
        let mut app = guest();
        app.limits.input_budget = 10_000;
        app.update(joined(3, "alice"));
        app.update(left(3, LeftReason::Closed));
        let mut read = 0;
        while app.wants_input() {
            app.update(Event::Submit("x".repeat(100)));
            read += 1;
            assert!(read < 1000, "never stopped");
        }
        assert_eq!(read, 10_000_usize.div_ceil(148));
        let effects = app.update(resumed(4, "alice"));
        let newest = sent_chats(&effects).last().map(|m| m.0).unwrap();
        app.update(ack(4, 2, newest));
        assert!(app.wants_input(), "room again once delivered");
    }

    fn saved_run(outbox: &[(u64, &str)]) -> Saved {
        let mut saved = Saved::new(42);
        saved.apply(&Record::Conversation(RESUME));
        for &(seq, text) in outbox {
            saved.apply(&Record::Sent(ChatMessage {
                id: MessageId { session: 42, seq },
                sent_at_ms: 5,
                text: text.to_owned(),
                action: false,
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
        app.update(Event::Restore(Box::new(saved_run(&[
            (4, "said before the kill"),
            (5, "and this"),
        ]))));
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
                if crate::present::system_text(event) == "Resumed the conversation with alice"
        )));
        // New messages go on from there, in the same session.
        let effects = app.update(Event::Submit("new".into()));
        assert_eq!(sent_chats(&effects), vec![(6, "new".to_owned())]);
        // The peer's acknowledgement is written down.
        let effects = acting(app.update(ack(3, 42, 5)));
        assert_eq!(effects, vec![Effect::Remember(Record::Acked { up_to: 5 })]);
        assert_eq!(
            deliveries(&app),
            vec![Delivery::Delivered, Delivery::Delivered, Delivery::Sent]
        );
    }

    #[test]
    fn a_restarted_run_drops_what_it_had_taken_in_before_the_kill() {
        let mut app = guest();
        let mut saved = Saved::new(42);
        saved.apply(&Record::Conversation(RESUME));
        saved.apply(&Record::Received(MessageId { session: 9, seq: 7 }));
        app.update(Event::Restore(Box::new(saved)));
        let mut info = peer(3, "alice");
        info.resumed = true;
        app.update(Event::Net(NetEvent::Joined {
            info,
            link: PeerLink::detached(3),
        }));
        let before = app.history.len();
        // Sent again by the peer (never acknowledged): acknowledged, not shown.
        for seq in 6..=7 {
            assert!(app.update(chat(3, seq, "shown before the kill")).is_empty());
        }
        assert_eq!(app.history.len(), before);
        let effects = app.update(chat(3, 8, "new"));
        assert!(effects.iter().any(|e| matches!(e, Effect::Output(_))));
        assert_eq!(app.history.len(), before + 1);
    }

    #[test]
    fn a_restarted_guest_whose_host_does_not_prove_the_conversation_holds_its_messages() {
        let mut app = guest();
        app.update(Event::Restore(Box::new(saved_run(&[(1, "for alice")]))));
        // Not resumed: a restarted host, or someone else at its address.
        let effects = app.update(joined(3, "alice"));
        assert!(sent_chats(&effects).is_empty(), "never sent unasked");
        assert_eq!(
            deliveries(&app),
            vec![Delivery::Pending],
            "held, not failed"
        );
        assert!(matches!(
            app.question(),
            Some(Question::Held { count: 1, .. })
        ));
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
        // Bob still holds a token of this conversation, but carol took
        // the seat: the host's conversation (the one place that decides)
        // does not let him resume, so he is a new guest.
        let effects = app.update(with_token(5, "bob", 1, false));
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
        app.update(Event::Restore(Box::new(saved_run(&[(1, "bell\u{7}")]))));
        assert!(app.history.entries().iter().any(|entry| matches!(
            entry,
            Entry::Chat { text, .. } if &**text == "bell␇"
        )));
    }

    #[test]
    fn a_stale_token_alone_makes_no_fuss() {
        let mut app = guest();
        app.update(Event::Restore(Box::new(saved_run(&[]))));
        app.update(joined(3, "alice")); // the token was not accepted
        let said = |app: &App, needle: &str| {
            app.history.entries().iter().any(|entry| {
                matches!(entry, Entry::System { event, .. }
                    if crate::present::system_text(event).contains(needle))
            })
        };
        assert!(!said(&app, "restarted duplex"));
        assert!(
            said(&app, "connected to alice"),
            "{:?}",
            app.history.entries()
        );
    }

    #[test]
    fn a_restarted_host_gives_up_its_queue_for_a_new_guest() {
        let mut app = host();
        app.update(Event::Restore(Box::new(saved_run(&[(1, "for bob")]))));
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
                kind: RejectKind::TimedOut,
                reason: "handshake timed out".into(),
            })
        };
        let before = app.history.len();
        for port in 1..=2000 {
            app.update(rejected(port));
        }
        assert_eq!(app.history.len(), before + 1);
        let text = |app: &App| match app.history.entries().last() {
            Some(Entry::System { event, .. }) => crate::present::system_text(event),
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
            kind: RejectKind::WrongCode,
            reason: "wrong code".into(),
        }));
        assert_eq!(app.history.len(), before + 4);
    }

    #[test]
    fn turned_away_connections_fold_by_kind_not_by_reason_text() {
        // Junk clients each sending different first bytes: one kind, many
        // texts. They are one line, which shows the last reason.
        let mut app = host();
        app.update(joined(3, "bob"));
        let before = app.history.len();
        for n in 0..20_000u32 {
            app.update(Event::Net(NetEvent::Rejected {
                addr: SocketAddr::from(([10, 0, 0, 9], 1000)),
                kind: RejectKind::NotDuplex,
                reason: format!(
                    "the peer does not speak the duplex protocol (it sent \"{n:08x}\")"
                ),
            }));
        }
        assert_eq!(app.history.len(), before + 1);
        let Some(Entry::System { event, .. }) = app.history.entries().last() else {
            panic!("{:?}", app.history.entries().last());
        };
        assert_eq!(
            crate::present::system_text(event),
            "turned away 20000 connections, the last from 10.0.0.9:1000: \
             the peer does not speak the duplex protocol (it sent \"00004e1f\")"
        );
    }

    #[test]
    fn a_host_waits_for_a_dropped_guest_and_fails_its_queue_for_one_let_in() {
        let mut app = host();
        app.update(joined(3, "bob"));
        let effects = acting(app.update(left(3, LeftReason::Closed)));
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

    /// A guest that typed "still here?" while dropped, and then found a
    /// new conversation at the host's address.
    fn guest_holding(policy: HeldMessages) -> (App, Vec<Effect>) {
        let mut app = guest();
        app.held_policy = policy;
        app.update(joined(3, "alice"));
        app.update(left(3, LeftReason::Closed));
        app.update(Event::Submit("still here?".into()));
        let effects = app.update(joined(4, "alice")); // not resumed
        (app, effects)
    }

    #[test]
    fn a_host_that_restarted_is_a_new_conversation_that_gets_nothing_unasked() {
        let (mut app, effects) = guest_holding(HeldMessages::Ask);
        // Typed for the earlier conversation: held, and the person is asked.
        assert!(sent_chats(&effects).is_empty());
        assert_eq!(deliveries(&app), vec![Delivery::Pending]);
        assert!(app.history.entries().iter().any(|e| matches!(
            e,
            Entry::System { event, .. }
                if matches!(&**event, SystemEvent::Joined { afresh: true, .. })
        )));
        assert!(effects.iter().any(|e| matches!(
            e,
            Effect::Output(Output::System(SystemEvent::Held { count: 1, .. }))
        )));
        let Some(question) = app.question() else {
            panic!("no question");
        };
        assert!(
            question.text().contains("send it to alice"),
            "{}",
            question.text()
        );
        // Typing goes nowhere while it is asked; new messages wait for it.
        assert!(app.update(key(KeyCode::Char('x'))).is_empty());
        assert_eq!(app.input.text(), "");
        // y: sent to the new conversation, as a new message.
        let effects = app.update(key(KeyCode::Char('y')));
        assert_eq!(sent_chats(&effects).len(), 1);
        assert_eq!(sent_chats(&effects)[0].1, "still here?");
        assert_eq!(deliveries(&app), vec![Delivery::Failed, Delivery::Sent]);
        assert!(app.question().is_none());
    }

    #[test]
    fn held_messages_can_be_discarded_or_put_off_and_decided_by_command() {
        let (mut app, _) = guest_holding(HeldMessages::Ask);
        // Esc: decide later; the chat goes on meanwhile.
        app.update(Event::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
        assert!(app.question().is_none());
        let effects = app.update(Event::Submit("hello, new alice".into()));
        assert_eq!(sent_chats(&effects).len(), 1);
        app.update(Event::Submit("/held".into()));
        assert!(app.question().is_some(), "/held asks again");
        let effects = app.update(key(KeyCode::Char('n')));
        assert!(sent_chats(&effects).is_empty());
        assert_eq!(deliveries(&app), vec![Delivery::Failed, Delivery::Sent]);
        let effects = app.update(Event::Submit("/held send".into()));
        assert!(sent_chats(&effects).is_empty(), "nothing is held any more");
    }

    #[test]
    fn a_headless_policy_sends_or_discards_held_messages() {
        let (app, effects) = guest_holding(HeldMessages::Send);
        assert_eq!(sent_chats(&effects).len(), 1);
        assert!(app.question().is_none());
        let (app, effects) = guest_holding(HeldMessages::Discard);
        assert!(sent_chats(&effects).is_empty());
        assert_eq!(deliveries(&app), vec![Delivery::Failed]);
        assert!(app.question().is_none());
    }

    #[test]
    fn a_question_over_a_big_paste_is_answered_first() {
        let mut app = host();
        app.update(joined(3, "bob"));
        app.update(left(3, LeftReason::Closed));
        let big: String = (1..=120).map(|n| format!("line {n}\n")).collect();
        app.update(Event::Paste(big.clone()));
        assert!(app.paste().is_some());
        let addr: SocketAddr = "10.0.0.7:4000".parse().unwrap();
        let (knock, _answer) =
            crate::net::Knock::new("carol".into(), addr, std::time::Duration::from_secs(60));
        let id = knock.id;
        app.update(Event::Net(NetEvent::Knock(knock)));
        // The newcomer's question takes the first answer, the paste the next.
        let effects = app.update(key(KeyCode::Char('n')));
        assert!(effects.contains(&Effect::Answer {
            knock: id,
            admit: false
        }));
        assert!(app.question().is_none());
        assert!(app.paste().is_some() && app.input.is_empty());
        app.last_key_ms = None;
        app.update(key(KeyCode::Char('y')));
        assert!(app.paste().is_none());
        assert_eq!(app.input.text(), big);
    }

    /// A stranger that names itself after the lost guest, hoping the host
    /// lets "bob" back in, is asked about as someone new.
    #[test]
    fn a_newcomer_with_the_lost_guests_name_is_asked_about_as_someone_new() {
        let mut app = host();
        app.update(joined(3, "bob"));
        app.update(left(3, LeftReason::Closed));
        let addr: SocketAddr = "10.0.0.7:4000".parse().unwrap();
        let (knock, _answer) =
            crate::net::Knock::new("bob".into(), addr, std::time::Duration::from_secs(60));
        app.update(Event::Net(NetEvent::Knock(knock)));
        let text = app.question().map(Question::text).unwrap_or_default();
        assert!(
            text.starts_with("someone new calling itself bob wants to join while bob is away"),
            "{text}"
        );
        assert!(text.contains("bob coming back needs no answer"), "{text}");
    }

    #[test]
    fn a_lost_guest_coming_back_answers_a_pending_knock() {
        let mut app = host();
        app.update(joined(3, "bob"));
        app.update(left(3, LeftReason::Closed));
        let addr: SocketAddr = "10.0.0.7:4000".parse().unwrap();
        let (knock, _answer) =
            crate::net::Knock::new("carol".into(), addr, std::time::Duration::from_secs(60));
        let id = knock.id;
        app.update(Event::Net(NetEvent::Knock(knock)));
        let mut back = peer(4, "bob");
        back.resumed = true;
        let effects = app.update(Event::Net(NetEvent::Joined {
            info: back,
            link: PeerLink::detached(4),
        }));
        assert!(effects.contains(&Effect::Answer {
            knock: id,
            admit: false
        }));
        assert!(app.question().is_none());
    }

    #[test]
    fn the_next_code_is_kept_and_shown_once_the_seat_is_free() {
        let mut app = host();
        app.role = Role::Host {
            local: "0.0.0.0:7878".parse().unwrap(),
            hints: vec![],
            code: Some("amber-otter-violin".into()),
            show_code: true,
        };
        app.update(joined(3, "bob"));
        let effects = app.update(Event::Net(NetEvent::CodeChanged {
            code: "cobalt-maple-otter".into(),
        }));
        assert!(effects.contains(&Effect::Remember(Record::Code("cobalt-maple-otter".into()))));
        let shown = |app: &App| match &app.role {
            Role::Host {
                code, show_code, ..
            } => (code.clone(), *show_code),
            Role::Guest => (None, false),
        };
        assert_eq!(shown(&app), (Some("cobalt-maple-otter".into()), false));
        app.update(left(3, LeftReason::Left));
        assert_eq!(shown(&app), (Some("cobalt-maple-otter".into()), true));
    }

    #[test]
    fn a_newcomer_while_the_guest_is_away_is_asked_about_and_expires() {
        let mut app = host();
        app.update(joined(3, "bob"));
        app.update(left(3, LeftReason::Closed));
        let addr: SocketAddr = "10.0.0.7:4000".parse().unwrap();
        let (knock, _answer) =
            crate::net::Knock::new("carol".into(), addr, std::time::Duration::from_secs(60));
        let id = knock.id;
        app.update(Event::Net(NetEvent::Knock(knock)));
        let Some(question) = app.question() else {
            panic!("not asked");
        };
        assert!(
            question
                .text()
                .contains("someone new calling itself carol wants to join while bob is away")
        );
        assert_eq!(app.next_deadline(), Some(app.clock.mono_ms() + 60_000));
        let effects = app.update(key(KeyCode::Char('n')));
        assert!(effects.contains(&Effect::Answer {
            knock: id,
            admit: false
        }));
        // Unanswered, the question goes when the newcomer stops waiting.
        let (knock, _answer) =
            crate::net::Knock::new("dave".into(), addr, std::time::Duration::from_secs(60));
        app.update(Event::Net(NetEvent::Knock(knock)));
        app.clock = Clock::Fixed(app.clock.mono_ms() + 60_000);
        app.update(Event::Tick);
        assert!(app.question().is_none());
    }

    #[test]
    fn nothing_typed_is_lost_when_nobody_is_connected() {
        let mut app = host();
        type_text(&mut app, "anyone?");
        let effects = acting(app.update(key(KeyCode::Enter)));
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
        let effects = acting(app.update(Event::Submit(long.clone())));
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
    fn a_scrolled_back_view_stays_on_its_message_when_old_ones_fall_off() {
        let mut app = host();
        app.history.set_limit(64, usize::MAX);
        app.update(joined(3, "bob"));
        for seq in 0..60 {
            app.update(chat(3, seq, &format!("line {seq}")));
        }
        app.update(key(KeyCode::PageUp));
        let top = |app: &App| {
            let visible = app.pane().visible(app.scroll);
            match app.history.entries().get(visible[0].0) {
                Some(Entry::Chat { text, .. }) => text.to_string(),
                Some(Entry::System { event, .. }) => crate::present::system_text(event),
                None => String::new(),
            }
        };
        let held = top(&app);
        assert!(held.starts_with("line "), "{held}");
        // Enough arrives that the oldest go, several times over.
        for seq in 60..80 {
            app.update(chat(3, seq, &format!("line {seq}")));
            assert_eq!(top(&app), held, "after message {seq}");
        }
        assert!(app.history.len() <= 64);
        assert!(app.history.forgotten() > 0);
        assert!(matches!(app.scroll, Scroll::At(_)));
        // Once the message itself falls off, the view is at the oldest kept:
        // the line that says what is no longer kept.
        for seq in 100..200 {
            app.update(chat(3, seq, &format!("line {seq}")));
        }
        let forgotten = app.history.forgotten();
        assert_eq!(
            top(&app),
            format!("… {forgotten} older messages are no longer kept")
        );
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
        let effects = acting(app.update(Event::Submit("/verify".into())));
        assert!(effects.is_empty());
        assert!(matches!(
            app.history.entries().last(),
            Some(Entry::System { event, .. })
                if matches!(&**event, SystemEvent::Info(t) if t.contains("amber-otter-violin-maple"))
        ));
    }

    #[test]
    fn verify_ok_marks_the_words_compared_for_the_conversation() {
        let texts = |app: &App| -> Vec<String> {
            app.history
                .entries()
                .iter()
                .filter_map(|e| match e {
                    Entry::System { event, .. } => Some(crate::present::system_text(event)),
                    _ => None,
                })
                .collect()
        };
        let mut app = guest();
        app.update(Event::Submit("/verify ok".into()));
        assert!(!app.words_compared(), "nobody to compare with");
        app.update(joined(3, "alice"));
        app.update(Event::Submit("/verify".into()));
        assert!(texts(&app).last().unwrap().ends_with("type /verify ok."));
        app.update(Event::Submit("/verify ok".into()));
        assert!(app.words_compared());
        app.update(Event::Submit("/verify".into()));
        assert!(
            texts(&app)
                .last()
                .unwrap()
                .ends_with("You marked them as compared (/verify ok).")
        );
        // A resume (proved by the handshake) keeps the mark, and says so
        // beside the new words.
        app.update(left(3, LeftReason::Closed));
        let mut info = peer(4, "alice");
        info.resumed = true;
        info.security = Security::Encrypted {
            verification: "cobalt-maple-otter-violin".to_owned(),
            with_code: false,
        };
        app.update(Event::Net(NetEvent::Joined {
            info,
            link: PeerLink::detached(4),
        }));
        assert!(app.words_compared());
        assert!(
            texts(&app)
                .last()
                .unwrap()
                .ends_with("(still the conversation you compared: the resume proved it)"),
            "{:?}",
            texts(&app).last()
        );
        // A conversation the host does not prove is a new one: compare again.
        app.update(left(4, LeftReason::Closed));
        app.update(joined(5, "alice"));
        assert!(!app.words_compared());
    }

    #[test]
    fn slash_commands_and_escapes() {
        assert_eq!(command("/verify ok"), Command::VerifyOk);
        assert_eq!(command("/verify"), Command::Verify);
        assert_eq!(command(" /help "), Command::Help);
        assert_eq!(command("//shrug"), Command::Text("/shrug".into()));
        assert_eq!(
            command("/nope x"),
            Command::Unknown {
                name: "nope".into(),
                nearest: None
            }
        );
        assert_eq!(
            command("/hlep"),
            Command::Unknown {
                name: "hlep".into(),
                nearest: Some("help")
            }
        );
        assert_eq!(command("/me waves  "), Command::Me("waves".into()));
        assert_eq!(command("/nick  ally "), Command::Nick("ally".into()));
        assert_eq!(command("/clear"), Command::Clear);
        assert_eq!(command("/quit"), Command::Quit);
        assert_eq!(command("a /b"), Command::Text("a /b".into()));
        let mut app = host();
        app.update(joined(3, "bob"));
        assert!(acting(app.update(Event::Submit("/nope".into()))).is_empty());
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
                code: Some("amber-otter-violin".into())
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
        assert!(app.connected().is_some());
    }

    #[test]
    fn a_reconnecting_guest_whose_code_is_not_taken_stops_and_says_why() {
        let mut app = guest();
        app.update(joined(3, "alice"));
        app.update(left(3, LeftReason::Error("reset".into())));
        assert_eq!(
            app.update(Event::Tick),
            vec![Effect::Connect { code: None }]
        );
        let effects = app.update(Event::Net(NetEvent::ConnectFailed {
            reason: "127.0.0.1:7878: wrong code".into(),
            wrong_code: true,
        }));
        let exit = quits(&effects).expect("stops instead of trying again");
        assert_eq!(exit.code, 1);
        assert_eq!(
            exit.message.as_deref(),
            Some(format!("127.0.0.1:7878: wrong code; {CODE_NOT_TAKEN}").as_str())
        );
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

    fn key_chord(text: &str) -> crate::keymap::KeyBinding {
        text.parse().unwrap()
    }

    fn key_press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn a_rebound_key_acts_in_the_app() {
        let mut app = App::new("alice", Role::Guest, 1);
        app.update(Event::Resize(60, 20));
        for n in 0..50 {
            app.history
                .push_system(0, SystemEvent::Info(format!("line {n}")));
        }
        let f2 = Event::Key(key_press(KeyCode::F(2), KeyModifiers::NONE));
        app.update(Event::Key(key_press(KeyCode::PageUp, KeyModifiers::NONE)));
        assert!(matches!(app.scroll, Scroll::At(_)));
        app.update(f2.clone());
        assert!(matches!(app.scroll, Scroll::At(_)), "F2 is not bound yet");
        app.keymap.bind(key_chord("f2"), Action::Live);
        app.update(f2);
        assert_eq!(app.scroll, Scroll::Live);
        assert_eq!(app.input.text(), "");
        // A typing key bound to an action no longer types.
        app.keymap.bind(key_chord("q"), Action::PageUp);
        app.update(Event::Key(key_press(
            KeyCode::Char('q'),
            KeyModifiers::NONE,
        )));
        assert!(matches!(app.scroll, Scroll::At(_)));
        app.update(Event::Key(key_press(
            KeyCode::Char('x'),
            KeyModifiers::NONE,
        )));
        assert_eq!(app.input.text(), "x");
    }

    #[test]
    fn help_shows_the_keymap_and_the_commands() {
        let mut app = App::new("alice", Role::Guest, 1);
        app.keymap.bind(key_chord("F2"), Action::Live);
        app.update(Event::Submit("/help".into()));
        let Some(crate::history::Entry::System { event, .. }) = app.history.entries().last() else {
            panic!("no help shown");
        };
        let SystemEvent::Info(help) = &**event else {
            panic!("{event:?}");
        };
        assert!(help.starts_with(&app.keymap.help_text()), "{help}");
        assert!(
            help.contains("\nCtrl-End / Esc / F2: back to live\n"),
            "{help}"
        );
        assert!(help.contains("/verify") && help.contains("exit"), "{help}");
    }
}
