//! The typing indicator, both ways, as IRCv3's `+typing` tag has it:
//! while a person types a draft, `active` goes out at most once every
//! [`TYPING_EVERY_MS`]; the other side shows "alice is typing…" until
//! [`TYPING_SHOWN_MS`] after the last one, until `paused` or `done`, or
//! until a message from that peer arrives (sending is what ends typing;
//! no `done` follows a send). Clearing the draft sends `done`.
//!
//! Pure state with times given in (monotonic ms): the app asks it what to
//! send after each change of the draft, what to show, and when the shown
//! indicator expires (a deadline among the app's others).

use super::{App, Effect, Output};
use crate::protocol::frame::capability;
use crate::protocol::{Frame, TypingState};

/// Fewest ms between two `active` notices while typing.
pub const TYPING_EVERY_MS: i64 = 3000;

/// How long an `active` notice is shown, in ms, unless another comes.
pub const TYPING_SHOWN_MS: i64 = 6000;

/// Both directions of the typing indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// Whether typing is sent and shown at all (`--no-typing` turns it off).
    pub enabled: bool,
    /// Whether typing is sent (headless mode has nobody typing: no).
    pub sends: bool,
    /// The draft as last seen.
    draft: String,
    /// When we last told the peer `active`, while that still stands.
    sent_at: Option<i64>,
    /// Until when the peer is shown typing.
    peer_until: Option<i64>,
}

impl Default for Presence {
    fn default() -> Self {
        Self {
            enabled: true,
            sends: true,
            draft: String::new(),
            sent_at: None,
            peer_until: None,
        }
    }
}

/// Whether a draft is a message being typed: not blank, and not a command
/// (a line starting with one `/`, which is never sent as a message).
pub fn is_message_draft(draft: &str) -> bool {
    !draft.trim().is_empty() && (!draft.starts_with('/') || draft.starts_with("//"))
}

impl Presence {
    /// The draft is now `draft` (after a key, a paste…): what to tell a
    /// peer, if anything. `can_send` says whether there is a peer that
    /// takes typing notices now; without one nothing is due later either.
    pub fn draft_changed(&mut self, draft: &str, now: i64, can_send: bool) -> Option<TypingState> {
        if draft == self.draft {
            return None;
        }
        draft.clone_into(&mut self.draft);
        if !self.enabled || !self.sends || !can_send {
            self.sent_at = None;
            return None;
        }
        if !is_message_draft(draft) {
            // Cleared (or turned into a command): say so, once.
            return self.sent_at.take().map(|_| TypingState::Done);
        }
        if self
            .sent_at
            .is_some_and(|at| now - at < TYPING_EVERY_MS && now >= at)
        {
            return None;
        }
        self.sent_at = Some(now);
        Some(TypingState::Active)
    }

    /// Our message went out: the peer stops showing us typing when it
    /// arrives, so nothing more is said.
    pub fn sent(&mut self, draft_after: &str) {
        self.sent_at = None;
        draft_after.clone_into(&mut self.draft);
    }

    /// The peer says it is typing (or not). Returns whether what is shown
    /// changed: `Some(true)` it starts showing, `Some(false)` it stops.
    pub fn received(&mut self, state: TypingState, now: i64) -> Option<bool> {
        if !self.enabled {
            return None;
        }
        let was = self.peer_until.is_some();
        self.peer_until = match state {
            TypingState::Active => Some(now + TYPING_SHOWN_MS),
            TypingState::Paused | TypingState::Done => None,
        };
        let is = self.peer_until.is_some();
        (was != is).then_some(is)
    }

    /// The peer's message arrived, or the peer is gone: it is not typing
    /// any more. Returns whether it was shown typing.
    pub fn stop_peer(&mut self) -> bool {
        self.peer_until.take().is_some()
    }

    /// Forgets what was said either way (a new connection).
    pub fn reset(&mut self) {
        self.sent_at = None;
        self.peer_until = None;
    }

    /// The time has come: returns whether the indicator just expired.
    pub fn expire(&mut self, now: i64) -> bool {
        if self.peer_until.is_some_and(|until| now >= until) {
            self.peer_until = None;
            return true;
        }
        false
    }

    /// When the shown indicator expires, if it is shown.
    pub fn deadline(&self) -> Option<i64> {
        self.peer_until
    }

    /// Whether the peer is shown typing at `now`.
    pub fn peer_typing(&self, now: i64) -> bool {
        self.peer_until.is_some_and(|until| now < until)
    }
}

impl App {
    /// The name of the peer shown typing, if it is.
    pub fn typing(&self) -> Option<String> {
        if !self.presence.peer_typing(self.clock.mono_ms()) {
            return None;
        }
        self.peer_name()
    }

    /// After each step: if the draft changed, what to tell the peer (only
    /// one that announced `typing`, and never the secret code being typed).
    pub(super) fn typing_step(&mut self) -> Option<Effect> {
        let to = self
            .connected()
            .filter(|info| !info.is_plain() && info.caps.has(capability::TYPING))
            .map(|info| info.id)
            .filter(|_| self.prompt.is_none());
        let now = self.clock.mono_ms();
        let state = self
            .presence
            .draft_changed(self.input.text(), now, to.is_some())?;
        Some(self.send(to?, Frame::Typing { state }))
    }

    /// The peer says it types, or stopped.
    pub(super) fn on_typing(&mut self, state: TypingState) -> Vec<Effect> {
        let now = self.clock.mono_ms();
        match self.presence.received(state, now) {
            Some(true) => self
                .typing_output(TypingState::Active)
                .into_iter()
                .collect(),
            Some(false) => self.typing_output(TypingState::Done).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// The peer is no longer typing (its message arrived, it left): says so
    /// if it was shown.
    pub(super) fn typing_stopped(&mut self) -> Option<Effect> {
        if self.presence.stop_peer() {
            return self.typing_output(TypingState::Done);
        }
        None
    }

    /// A deadline: the indicator expires 6 s after the last notice.
    pub(super) fn typing_tick(&mut self) -> Option<Effect> {
        if self.presence.expire(self.clock.mono_ms()) {
            return self.typing_output(TypingState::Done);
        }
        None
    }

    fn typing_output(&self, state: TypingState) -> Option<Effect> {
        Some(Effect::Output(Output::Typing {
            name: self.peer_name()?,
            state,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_goes_out_at_most_every_three_seconds_while_typing() {
        let mut p = Presence::default();
        assert_eq!(p.draft_changed("h", 0, true), Some(TypingState::Active));
        assert_eq!(p.draft_changed("he", 1000, true), None);
        assert_eq!(p.draft_changed("hel", 2999, true), None);
        assert_eq!(
            p.draft_changed("hell", 3000, true),
            Some(TypingState::Active)
        );
        // The same draft again (a cursor move) is not typing.
        assert_eq!(p.draft_changed("hell", 9000, true), None);
        assert_eq!(
            p.draft_changed("hello", 9000, true),
            Some(TypingState::Active)
        );
    }

    #[test]
    fn clearing_the_draft_says_done_once_and_sending_says_nothing() {
        let mut p = Presence::default();
        p.draft_changed("hi", 0, true);
        assert_eq!(p.draft_changed("", 10, true), Some(TypingState::Done));
        assert_eq!(p.draft_changed(" ", 20, true), None);
        assert_eq!(p.draft_changed("x", 30, true), Some(TypingState::Active));
        p.sent("");
        assert_eq!(p.draft_changed("", 40, true), None);
        // The next draft is typing again at once.
        assert_eq!(p.draft_changed("y", 50, true), Some(TypingState::Active));
    }

    #[test]
    fn commands_and_blank_drafts_are_not_typing() {
        let mut p = Presence::default();
        assert_eq!(p.draft_changed("/verify", 0, true), None);
        assert_eq!(p.draft_changed("   ", 0, true), None);
        assert_eq!(
            p.draft_changed("//not a command", 0, true),
            Some(TypingState::Active)
        );
        assert_eq!(p.draft_changed("/", 10, true), Some(TypingState::Done));
    }

    #[test]
    fn nothing_goes_out_without_a_peer_or_when_turned_off() {
        let mut p = Presence::default();
        assert_eq!(p.draft_changed("hi", 0, false), None);
        // Connected later: the next change is typing.
        assert_eq!(p.draft_changed("hi!", 10, true), Some(TypingState::Active));
        let mut off = Presence {
            enabled: false,
            ..Presence::default()
        };
        assert_eq!(off.draft_changed("hi", 0, true), None);
        assert_eq!(off.received(TypingState::Active, 0), None);
        assert!(!off.peer_typing(0));
    }

    #[test]
    fn a_side_that_does_not_send_still_shows() {
        let mut p = Presence {
            sends: false,
            ..Presence::default()
        };
        assert_eq!(p.draft_changed("hi", 0, true), None);
        assert_eq!(p.received(TypingState::Active, 0), Some(true));
    }

    #[test]
    fn the_peer_is_shown_typing_for_six_seconds_after_the_last_notice() {
        let mut p = Presence::default();
        assert_eq!(p.received(TypingState::Active, 1000), Some(true));
        assert_eq!(p.deadline(), Some(7000));
        assert_eq!(p.received(TypingState::Active, 4000), None);
        assert_eq!(p.deadline(), Some(10_000));
        assert!(!p.expire(9999));
        assert!(p.peer_typing(9999));
        assert!(p.expire(10_000));
        assert!(!p.peer_typing(10_000));
        assert_eq!(p.deadline(), None);
        // Paused and done stop it at once; a message too.
        p.received(TypingState::Active, 0);
        assert_eq!(p.received(TypingState::Paused, 1), Some(false));
        p.received(TypingState::Active, 2);
        assert_eq!(p.received(TypingState::Done, 3), Some(false));
        assert_eq!(p.received(TypingState::Done, 4), None);
        p.received(TypingState::Active, 5);
        assert!(p.stop_peer());
        assert!(!p.stop_peer());
    }
}

/// The app with the typing indicator: what goes out, what is shown, when
/// it expires, and to whom nothing is sent.
#[cfg(test)]
mod app_tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::app::{Clock, Event, Role};
    use crate::domain::{Capabilities, PeerInfo, Security};
    use crate::net::{NetEvent, PeerLink};
    use crate::protocol::{ChatMessage, MessageId};

    fn app_with_bob(caps: &[&str]) -> App {
        let mut app = App::new("alice", Role::Guest, 1);
        app.clock = Clock::Fixed(1000);
        app.update(Event::Net(NetEvent::Joined {
            info: PeerInfo {
                id: 3,
                name: "bob".to_owned(),
                addr: "127.0.0.1:5000".parse().unwrap(),
                security: Security::Encrypted {
                    verification: "amber-otter-violin-maple".to_owned(),
                    with_code: false,
                },
                resumed: false,
                resume: None,
                caps: Capabilities::from_names(caps.iter().copied()),
            },
            link: PeerLink::detached(3),
        }));
        app
    }

    fn key(app: &mut App, c: char) -> Vec<Effect> {
        app.update(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }

    fn typing_sent(effects: &[Effect]) -> Vec<TypingState> {
        effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::Send {
                    frame: Frame::Typing { state },
                    ..
                } => Some(*state),
                _ => None,
            })
            .collect()
    }

    fn typing_shown(effects: &[Effect]) -> Vec<(String, TypingState)> {
        effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::Output(Output::Typing { name, state }) => Some((name.clone(), *state)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn typing_goes_out_while_typing_and_not_after_a_send() {
        let mut app = app_with_bob(&[capability::TYPING]);
        assert_eq!(typing_sent(&key(&mut app, 'h')), [TypingState::Active]);
        assert!(typing_sent(&key(&mut app, 'i')).is_empty());
        app.clock = Clock::Fixed(4000);
        assert_eq!(typing_sent(&key(&mut app, '!')), [TypingState::Active]);
        // Enter a moment later (right after a key it would be a paste's).
        app.clock = Clock::Fixed(4100);
        let sent = app.update(Event::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        )));
        assert!(typing_sent(&sent).is_empty(), "{sent:?}");
        // Typing again, then clearing the line: done.
        key(&mut app, 'x');
        let cleared = app.update(Event::Key(KeyEvent::new(
            KeyCode::Char('u'),
            KeyModifiers::CONTROL,
        )));
        assert_eq!(typing_sent(&cleared), [TypingState::Done]);
    }

    #[test]
    fn nothing_goes_to_a_peer_that_did_not_announce_typing_or_with_no_typing() {
        let mut old = app_with_bob(&[]);
        assert!(typing_sent(&key(&mut old, 'h')).is_empty());
        let mut off = app_with_bob(&[capability::TYPING]);
        off.presence.enabled = false;
        assert!(typing_sent(&key(&mut off, 'h')).is_empty());
        let shown = off.update(Event::Net(NetEvent::Typing {
            from: 3,
            state: TypingState::Active,
        }));
        assert!(typing_shown(&shown).is_empty());
        assert_eq!(off.typing(), None);
    }

    #[test]
    fn the_peer_typing_is_shown_until_its_message_or_six_seconds() {
        let mut app = app_with_bob(&[capability::TYPING]);
        let typing = Event::Net(NetEvent::Typing {
            from: 3,
            state: TypingState::Active,
        });
        let shown = app.update(typing.clone());
        assert_eq!(
            typing_shown(&shown),
            [("bob".to_owned(), TypingState::Active)]
        );
        assert_eq!(app.typing().as_deref(), Some("bob"));
        assert_eq!(app.presence.deadline(), Some(7000));
        assert!(app.next_deadline().is_some_and(|at| at <= 7000));
        // A typing notice from a stale connection is ignored.
        app.update(Event::Net(NetEvent::Typing {
            from: 99,
            state: TypingState::Done,
        }));
        assert_eq!(app.typing().as_deref(), Some("bob"));
        // The message ends it.
        let arrived = app.update(Event::Net(NetEvent::Chat {
            from: 3,
            msg: ChatMessage {
                id: MessageId { session: 9, seq: 1 },
                sent_at_ms: 0,
                text: "hi".to_owned(),
                action: false,
            },
        }));
        assert_eq!(
            typing_shown(&arrived),
            [("bob".to_owned(), TypingState::Done)]
        );
        assert_eq!(app.typing(), None);
        // Or six seconds of nothing, through the app's deadline.
        app.update(typing);
        app.clock = Clock::Fixed(6999);
        assert!(typing_shown(&app.update(Event::Tick)).is_empty());
        app.clock = Clock::Fixed(7000);
        assert_eq!(
            typing_shown(&app.update(Event::Tick)),
            [("bob".to_owned(), TypingState::Done)]
        );
        assert_eq!(app.typing(), None);
    }
}
