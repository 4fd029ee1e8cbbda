//! Getting the person's attention, and showing where they stopped reading.
//!
//! The person is *away* while the terminal is unfocused (focus reporting)
//! or the message pane is scrolled back. A peer's message that arrives
//! while they are away:
//!
//! - rings the bell and asks for a desktop notification, unless `--quiet`,
//!   at most once every [`ALERT_EVERY_MS`]; the notification says only
//!   "new message from NAME", with NAME (already sanitized for the screen)
//!   stripped of every control character and of `;`, and never any of the
//!   message's text;
//! - counts in the window title ("duplex (3)") until they are back;
//! - if it is the first of this absence, gets the unread marker ("── new
//!   ──") drawn above it. The marker stays after they come back, so they
//!   can find where they stopped; it goes when they send a message, and
//!   moves when the first message of their next absence arrives.
//!
//! Being back is being focused and live at once. The app decides all of
//! it; the front end writes the bytes ([`Alert`] in an `Effect`).

use super::App;
use crate::view::Scroll;

/// Fewest ms between two bells (and notifications).
pub const ALERT_EVERY_MS: i64 = 2000;

/// Longest name a notification carries, in characters.
const MAX_NAME_CHARS: usize = 32;

/// What the front end should do to get the person's attention.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alert {
    /// Ring the terminal's bell.
    pub bell: bool,
    /// Ask the terminal for a desktop notification.
    pub notify: Option<Notification>,
    /// Change the window title.
    pub title: Option<Title>,
}

/// A desktop notification. Both texts are safe to put inside a control
/// sequence: no control characters, no `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its title: `duplex`.
    pub title: String,
    /// Its text: `new message from NAME`.
    pub body: String,
}

impl Notification {
    /// The notification for a message from `name`.
    pub fn from(name: &str) -> Self {
        Self {
            title: "duplex".to_owned(),
            body: format!("new message from {}", inert(name)),
        }
    }
}

/// `text` with nothing a terminal could act on: control characters (C0,
/// DEL, C1, ESC and BEL among them) and `;` (which separates the fields of
/// a notification) are dropped, and it is cut to a few words' length.
pub fn inert(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && *c != ';')
        .take(MAX_NAME_CHARS)
        .collect()
}

/// What the window title should become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Title {
    /// `duplex (N)`: N messages arrived while the person was away.
    Unread(usize),
    /// Back: the title the terminal had before.
    Restore,
}

/// The attention state (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attention {
    /// Whether the terminal has the focus (assumed until it says otherwise).
    pub focused: bool,
    /// `--quiet`: no bell, no notifications.
    pub quiet: bool,
    /// Messages that arrived while away, since the person was last back.
    pub unread: usize,
    /// The count the title shows (0: the terminal's own title).
    titled: usize,
    /// When the bell last rang (monotonic ms).
    last_alert: Option<i64>,
    /// Where the unread marker is: the history's global index
    /// (index + [`crate::history::History::shift`]) of the entry it is above.
    marker: Option<u64>,
    /// Whether this absence has placed the marker already.
    marked: bool,
}

impl Default for Attention {
    fn default() -> Self {
        Self {
            focused: true,
            quiet: false,
            unread: 0,
            titled: 0,
            last_alert: None,
            marker: None,
            marked: false,
        }
    }
}

impl Attention {
    /// Whether the person is away: unfocused, or scrolled back.
    pub fn away(&self, scrolled: bool) -> bool {
        !self.focused || scrolled
    }

    /// A peer's message from `name` arrived as the entry of global index
    /// `entry`: what to do about it.
    pub fn message(&mut self, now: i64, scrolled: bool, entry: u64, name: &str) -> Option<Alert> {
        if !self.away(scrolled) {
            return None;
        }
        self.unread += 1;
        if !self.marked {
            self.marker = Some(entry);
            self.marked = true;
        }
        let ring = !self.quiet
            && self
                .last_alert
                .is_none_or(|at| now - at >= ALERT_EVERY_MS || now < at);
        if !ring {
            return None;
        }
        self.last_alert = Some(now);
        Some(Alert {
            bell: true,
            notify: Some(Notification::from(name)),
            title: None,
        })
    }

    /// After every step: a person who is back has read everything; the
    /// title follows the count.
    pub fn settle(&mut self, scrolled: bool) -> Option<Title> {
        if !self.away(scrolled) {
            self.unread = 0;
            self.marked = false;
        }
        if self.unread == self.titled {
            return None;
        }
        self.titled = self.unread;
        Some(if self.unread == 0 {
            Title::Restore
        } else {
            Title::Unread(self.unread)
        })
    }

    /// The person sent a message: they have read what is above it.
    pub fn sent(&mut self) {
        self.marker = None;
    }

    /// The entry the marker is above, as an index into the history whose
    /// oldest kept entry has global index `shift`; `None` if there is no
    /// marker or its entry is no longer kept.
    pub fn marker(&self, shift: u64) -> Option<usize> {
        let global = self.marker?;
        usize::try_from(global.checked_sub(shift)?).ok()
    }
}

impl App {
    /// The message pane's unread marker: the index of the entry it is above.
    pub fn marker(&self) -> Option<usize> {
        self.attention
            .marker(self.history.shift())
            .filter(|&index| index < self.history.len())
    }

    /// A peer's message from `name` was just added to the history.
    pub(super) fn alert_arrival(&mut self, name: &str) -> Option<super::Effect> {
        let entry = (self.history.shift() + self.history.len() as u64).checked_sub(1)?;
        let scrolled = self.scroll != Scroll::Live;
        let now = self.clock.mono_ms();
        self.attention
            .message(now, scrolled, entry, name)
            .map(super::Effect::Attention)
    }

    /// After each step: the title follows the unread count.
    pub(super) fn settle_attention(&mut self) -> Option<super::Effect> {
        let scrolled = self.scroll != Scroll::Live;
        self.attention.settle(scrolled).map(|title| {
            super::Effect::Attention(Alert {
                title: Some(title),
                ..Alert::default()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_happens_while_the_person_is_here() {
        let mut a = Attention::default();
        assert_eq!(a.message(0, false, 5, "bob"), None);
        assert_eq!(a.settle(false), None);
        assert_eq!(a.marker(0), None);
    }

    #[test]
    fn unfocused_or_scrolled_back_rings_once_per_two_seconds() {
        let mut a = Attention {
            focused: false,
            ..Attention::default()
        };
        let first = a.message(1000, false, 5, "bob").unwrap();
        assert!(first.bell);
        assert_eq!(
            first.notify.unwrap().body,
            "new message from bob",
            "the name, never the text"
        );
        assert_eq!(a.message(2999, false, 6, "bob"), None);
        assert!(a.message(3000, false, 7, "bob").is_some());
        assert_eq!(a.settle(false), Some(Title::Unread(3)));
        assert_eq!(a.settle(false), None);
        // Scrolled back while focused is away too.
        a.focused = true;
        assert!(a.message(9000, true, 8, "bob").is_some());
        assert_eq!(a.settle(true), Some(Title::Unread(4)));
        assert_eq!(a.settle(false), Some(Title::Restore));
        assert_eq!(a.unread, 0);
    }

    #[test]
    fn quiet_keeps_the_title_and_the_marker_but_never_rings() {
        let mut a = Attention {
            focused: false,
            quiet: true,
            ..Attention::default()
        };
        assert_eq!(a.message(0, false, 3, "bob"), None);
        assert_eq!(a.settle(false), Some(Title::Unread(1)));
        assert_eq!(a.marker(0), Some(3));
    }

    #[test]
    fn the_marker_is_above_the_first_message_of_an_absence_until_a_send() {
        let mut a = Attention {
            focused: false,
            ..Attention::default()
        };
        a.message(0, false, 10, "bob");
        a.message(0, false, 11, "bob");
        assert_eq!(a.marker(0), Some(10));
        // Back: the marker stays where it was.
        a.focused = true;
        a.settle(false);
        assert_eq!(a.marker(0), Some(10));
        a.message(0, false, 12, "bob");
        assert_eq!(a.marker(0), Some(10), "read live: no move");
        // The next absence moves it to its first message.
        a.focused = false;
        a.settle(false);
        assert_eq!(a.marker(0), Some(10), "going away alone moves nothing");
        a.message(0, false, 13, "bob");
        assert_eq!(a.marker(0), Some(13));
        assert_eq!(a.marker(5), Some(8), "indices follow the history's shift");
        assert_eq!(a.marker(14), None, "its entry is no longer kept");
        a.sent();
        assert_eq!(a.marker(0), None);
    }

    #[test]
    fn a_hostile_name_cannot_put_a_sequence_into_a_notification() {
        let hostile = "\x1b]0;pwned\x07\u{9c}\u{9b}2J;\x1b\\evil\u{7f}\r\n";
        let note = Notification::from(hostile);
        let body = &note.body;
        assert!(
            !body.chars().any(|c| c.is_control() || c == ';'),
            "{body:?}"
        );
        assert_eq!(body, "new message from ]0pwned2J\\evil");
        assert_eq!(
            inert(&"x".repeat(100)).len(),
            MAX_NAME_CHARS,
            "cut to a few words"
        );
    }
}

/// The app: focus and scrolling decide, the effects say what to do.
#[cfg(test)]
mod app_tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::app::{Clock, Effect, Event, Role};
    use crate::domain::{PeerInfo, Security};
    use crate::net::{NetEvent, PeerLink};
    use crate::protocol::{ChatMessage, MessageId};

    fn app_with_bob() -> App {
        let mut app = App::new("alice", Role::Guest, 1);
        app.clock = Clock::Fixed(10_000);
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
                caps: Default::default(),
            },
            link: PeerLink::detached(3),
        }));
        app
    }

    fn chat(app: &mut App, seq: u64) -> Vec<Alert> {
        alerts(app.update(Event::Net(NetEvent::Chat {
            from: 3,
            msg: ChatMessage {
                id: MessageId { session: 9, seq },
                sent_at_ms: 0,
                text: format!("\x07\x1b]9;message {seq}\x07"),
                action: false,
            },
        })))
    }

    fn alerts(effects: Vec<Effect>) -> Vec<Alert> {
        effects
            .into_iter()
            .filter_map(|effect| match effect {
                Effect::Attention(alert) => Some(alert),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_message_while_unfocused_rings_counts_and_marks() {
        let mut app = app_with_bob();
        assert!(chat(&mut app, 1).is_empty(), "here: nothing");
        assert!(alerts(app.update(Event::Focus(false))).is_empty());
        let first = chat(&mut app, 2);
        assert_eq!(
            first,
            [
                Alert {
                    bell: true,
                    notify: Some(Notification::from("bob")),
                    title: None,
                },
                Alert {
                    title: Some(Title::Unread(1)),
                    ..Alert::default()
                }
            ]
        );
        let marker = app.marker().unwrap();
        assert!(
            matches!(&app.history.entries()[marker], crate::history::Entry::Chat { text, .. } if text.contains("message 2"))
        );
        // Within two seconds: counted, not rung.
        assert_eq!(
            chat(&mut app, 3),
            [Alert {
                title: Some(Title::Unread(2)),
                ..Alert::default()
            }]
        );
        // Back: the title is the terminal's again; the marker stays.
        assert_eq!(
            alerts(app.update(Event::Focus(true))),
            [Alert {
                title: Some(Title::Restore),
                ..Alert::default()
            }]
        );
        assert_eq!(app.marker(), Some(marker));
        // Sending takes it away.
        for c in "ok".chars() {
            app.update(Event::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )));
        }
        // Enter a moment later (right after a key it would be a paste's).
        app.clock = crate::app::Clock::Fixed(app.clock.mono_ms() + 100);
        app.update(Event::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        )));
        assert_eq!(app.marker(), None);
    }

    #[test]
    fn scrolled_back_is_away_and_quiet_does_not_ring() {
        let mut app = app_with_bob();
        app.update(Event::Resize(80, 6));
        for seq in 1..=20 {
            chat(&mut app, seq);
        }
        app.attention.quiet = true;
        app.update(Event::Key(KeyEvent::new(
            KeyCode::PageUp,
            KeyModifiers::NONE,
        )));
        let got = chat(&mut app, 21);
        assert_eq!(
            got,
            [Alert {
                title: Some(Title::Unread(1)),
                ..Alert::default()
            }]
        );
        assert!(app.marker().is_some());
        app.attention.quiet = false;
        app.clock = Clock::Fixed(20_000);
        assert!(chat(&mut app, 22)[0].bell);
        let back = alerts(app.update(Event::Key(KeyEvent::new(
            KeyCode::End,
            KeyModifiers::CONTROL,
        ))));
        assert_eq!(back[0].title, Some(Title::Restore));
    }
}
