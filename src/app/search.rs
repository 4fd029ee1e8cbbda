//! The search layer: a query typed on its own line, its matches in the
//! messages kept on screen, and the one the view is on.
//!
//! Matches are found in each message's text as stored (sanitized, as it
//! is shown), by whole characters and in smart case ([`Needle`]). They are
//! numbered oldest first, as the view reads; a search starts from the
//! newest, and "next" goes back in time (Enter, Ctrl-N), "previous"
//! forward (Shift-Enter, Ctrl-P). It does not wrap around: at either end
//! the status bar says there is no match further on, rather than jumping
//! across the whole conversation.
//!
//! A match remembers its entry by its number among all entries ever added
//! (its index plus [`History::shift`]), so messages arriving or old ones
//! dropped while searching move nothing: new ones are searched as they
//! come, dropped ones leave the list.

use std::ops::Range;

use crate::history::{Entry, History};
use crate::input::Input;
use crate::text::Needle;

/// Which end of the matches a step could not go past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// There is no older match.
    Oldest,
    /// There is no newer match.
    Newest,
}

/// One open search.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// The query, edited like the message line.
    pub query: Input,
    needle: Option<Needle>,
    /// Oldest first: the entry's number among all ever added, and where
    /// in its text.
    matches: Vec<(u64, Range<usize>)>,
    /// Index into `matches` of the one the view is on.
    current: Option<usize>,
    /// Entries ever added when the history was last searched.
    seen: u64,
    /// Set when the last step found no match further on.
    pub edge: Option<Edge>,
}

/// Entries ever added to `history`.
fn total(history: &History) -> u64 {
    history.shift() + history.len() as u64
}

impl Search {
    /// A search with nothing typed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Searches again for the query as it now is. The match the view goes
    /// to is the newest one not newer than the one it was on (the newest
    /// of all, at first).
    pub fn requery(&mut self, history: &History) {
        let was = self
            .current
            .and_then(|i| self.matches.get(i))
            .map_or((u64::MAX, usize::MAX), |(entry, range)| {
                (*entry, range.start)
            });
        self.needle = Needle::new(self.query.text());
        self.matches.clear();
        self.seen = history.shift();
        self.edge = None;
        self.follow(history);
        let before = self
            .matches
            .partition_point(|(entry, range)| (*entry, range.start) <= was);
        self.current = match before {
            0 if self.matches.is_empty() => None,
            0 => Some(0),
            n => Some(n - 1),
        };
    }

    /// Keeps up with the history: matches in entries that were dropped
    /// go, entries added since are searched.
    pub fn follow(&mut self, history: &History) {
        let gone = self
            .matches
            .partition_point(|(entry, _)| *entry < history.shift());
        if gone > 0 {
            self.matches.drain(..gone);
            self.current = self
                .current
                .map(|i| i.saturating_sub(gone))
                .filter(|_| !self.matches.is_empty());
        }
        let total = total(history);
        let Some(needle) = &self.needle else {
            self.seen = total;
            return;
        };
        let first = usize::try_from(self.seen.saturating_sub(history.shift())).unwrap_or(0);
        for (index, entry) in history.entries().iter().enumerate().skip(first) {
            if let Entry::Chat { text, .. } = entry {
                let number = history.shift() + index as u64;
                self.matches.extend(
                    needle
                        .find_all(text)
                        .into_iter()
                        .map(|range| (number, range)),
                );
            }
        }
        self.seen = total;
        if self.current.is_none() && !self.matches.is_empty() {
            self.current = Some(self.matches.len() - 1);
        }
    }

    /// Goes to the next older match; says so if there is none.
    pub fn older(&mut self) {
        self.edge = None;
        match self.current {
            Some(i) if i > 0 => self.current = Some(i - 1),
            _ => self.edge = Some(Edge::Oldest),
        }
    }

    /// Goes to the next newer match; says so if there is none.
    pub fn newer(&mut self) {
        self.edge = None;
        match self.current {
            Some(i) if i + 1 < self.matches.len() => self.current = Some(i + 1),
            _ => self.edge = Some(Edge::Newest),
        }
    }

    /// Whether a query is typed.
    pub fn has_query(&self) -> bool {
        self.needle.is_some()
    }

    /// How many matches there are.
    pub fn count(&self) -> usize {
        self.matches.len()
    }

    /// Which match the view is on, counting from the oldest (1), if any.
    pub fn position(&self) -> Option<usize> {
        self.current.map(|i| i + 1)
    }

    /// The match the view is on: the entry's index in `history` and the
    /// range of its text.
    pub fn current(&self, history: &History) -> Option<(usize, Range<usize>)> {
        let (number, range) = self.matches.get(self.current?)?;
        let index = usize::try_from(number.checked_sub(history.shift())?).ok()?;
        Some((index, range.clone()))
    }

    /// The matches in entry `index` of `history`, each with whether it is
    /// the one the view is on.
    pub fn in_entry(&self, history: &History, index: usize) -> Vec<(Range<usize>, bool)> {
        let number = history.shift() + index as u64;
        let start = self.matches.partition_point(|(entry, _)| *entry < number);
        self.matches[start..]
            .iter()
            .enumerate()
            .take_while(|(_, (entry, _))| *entry == number)
            .map(|(offset, (_, range))| (range.clone(), self.current == Some(start + offset)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{AuthorId, Delivery, SystemEvent};
    use crate::protocol::MessageId;

    fn push(history: &mut History, text: &str) {
        let seq = history.len() as u64 + history.shift();
        history.push(Entry::Chat {
            at_ms: 0,
            author: AuthorId::ME,
            id: MessageId { session: 1, seq },
            text: text.into(),
            delivery: Delivery::Received,
            action: false,
        });
    }

    fn history(texts: &[&str]) -> History {
        let mut history = History::new("me");
        for text in texts {
            push(&mut history, text);
        }
        history
    }

    fn search(history: &History, query: &str) -> Search {
        let mut search = Search::new();
        search.query.set_text(query);
        search.requery(history);
        search
    }

    #[test]
    fn a_search_starts_at_the_newest_match_and_goes_back_in_time() {
        let history = history(&["pizza?", "no", "Pizza at 8, pizza!", "ok"]);
        let mut found = search(&history, "pizza");
        assert_eq!(found.count(), 3);
        assert_eq!(found.position(), Some(3));
        assert_eq!(found.current(&history), Some((2, 12..17)));
        found.older();
        assert_eq!(found.current(&history), Some((2, 0..5)));
        found.older();
        assert_eq!((found.position(), found.edge), (Some(1), None));
        assert_eq!(found.current(&history), Some((0, 0..5)));
        // No wrapping around: it says so, and stays.
        found.older();
        assert_eq!(
            (found.position(), found.edge),
            (Some(1), Some(Edge::Oldest))
        );
        found.newer();
        assert_eq!((found.position(), found.edge), (Some(2), None));
        found.newer();
        found.newer();
        assert_eq!(
            (found.position(), found.edge),
            (Some(3), Some(Edge::Newest))
        );
        assert_eq!(found.in_entry(&history, 2), [(0..5, false), (12..17, true)]);
        assert!(found.in_entry(&history, 1).is_empty());
    }

    #[test]
    fn typing_more_keeps_the_place_and_nothing_found_is_none() {
        let history = history(&["pizza", "pie", "pizza pie", "pi"]);
        let mut found = search(&history, "p");
        assert_eq!(found.count(), 5);
        found.older();
        found.older();
        assert_eq!(found.current(&history), Some((2, 0..1)));
        found.query.set_text("pie");
        found.requery(&history);
        // The newest "pie" not newer than where the view was.
        assert_eq!(found.current(&history), Some((1, 0..3)));
        found.query.set_text("pies");
        found.requery(&history);
        assert_eq!((found.count(), found.position()), (0, None));
        assert_eq!(found.current(&history), None);
        found.query.set_text("");
        found.requery(&history);
        assert!(!found.has_query());
        assert_eq!(found.count(), 0);
    }

    #[test]
    fn only_messages_are_searched() {
        let mut history = history(&["hello"]);
        history.push_system(0, SystemEvent::Info("hello from duplex".into()));
        assert_eq!(search(&history, "hello").count(), 1);
    }

    #[test]
    fn messages_that_arrive_or_go_while_searching_are_followed() {
        let mut history = history(&["cat", "dog", "cat"]);
        history.set_limit(6, usize::MAX);
        let mut found = search(&history, "cat");
        assert_eq!((found.count(), found.position()), (2, Some(2)));
        push(&mut history, "a cat");
        found.follow(&history);
        // The view stays on its match; the new one is counted.
        assert_eq!((found.count(), found.position()), (3, Some(2)));
        assert_eq!(found.current(&history), Some((2, 0..3)));
        for _ in 0..6 {
            push(&mut history, "bird");
        }
        found.follow(&history);
        // The old cats are gone from the history, and so from the matches.
        assert!(history.shift() > 0);
        assert_eq!(found.count(), 0);
        assert_eq!(found.current(&history), None);
        push(&mut history, "cat again");
        found.follow(&history);
        assert_eq!((found.count(), found.position()), (1, Some(1)));
        let (index, range) = found.current(&history).unwrap();
        assert!(matches!(
            &history.entries()[index],
            Entry::Chat { text, .. } if &text[range] == "cat"
        ));
    }

    #[test]
    fn a_clear_leaves_no_stale_match() {
        // Received "cat", ours still on its way "a cat too", then "cat".
        let mut history = history(&["cat"]);
        history.push(Entry::Chat {
            at_ms: 0,
            author: AuthorId::ME,
            id: MessageId { session: 1, seq: 7 },
            text: "a cat too".into(),
            delivery: Delivery::Sent,
            action: false,
        });
        push(&mut history, "cat");
        let mut found = search(&history, "cat");
        assert_eq!((found.count(), found.position()), (3, Some(3)));
        // `/clear` keeps only ours on its way, at a new index.
        history.clear_shown();
        found.follow(&history);
        assert_eq!(history.len(), 1);
        assert_eq!((found.count(), found.position()), (1, Some(1)));
        assert_eq!(found.current(&history), Some((0, 2..5)));
        assert_eq!(found.in_entry(&history, 0), vec![(2..5, true)]);
        push(&mut history, "cat at last");
        found.follow(&history);
        assert_eq!(found.count(), 2);
        assert_eq!(found.in_entry(&history, 1), vec![(0..3, false)]);
    }
}

/// The search in the app, driven by keys as a person would.
#[cfg(test)]
mod app_tests {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::Edge;
    use crate::app::{App, Clock, Event, Role};
    use crate::history::{AuthorId, Delivery, Entry};
    use crate::protocol::MessageId;
    use crate::view::Scroll;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, modifiers))
    }

    fn ctrl(c: char) -> Event {
        key(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            app.update(key(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    /// 100 messages, "pizza" in numbers 10, 50 and 90.
    fn chatty() -> App {
        let mut app = App::new("alice", Role::Guest, 1);
        app.clock = Clock::Fixed(0);
        app.update(Event::Resize(60, 20));
        for seq in 0..100 {
            let text = if seq % 40 == 10 {
                format!("message {seq}: Pizza tonight?")
            } else {
                format!("message {seq}")
            };
            app.history.push(Entry::Chat {
                at_ms: 0,
                author: AuthorId::ME,
                id: MessageId { session: 1, seq },
                text: text.into(),
                delivery: Delivery::Sent,
                action: false,
            });
        }
        app
    }

    /// Whether entry `index` shows in the pane.
    fn shows(app: &App, index: usize) -> bool {
        app.pane()
            .visible(app.scroll)
            .iter()
            .any(|(shown, _, _)| *shown == index)
    }

    fn position(app: &App) -> (Option<usize>, usize, Option<Edge>) {
        let search = app.search.as_ref().unwrap();
        (search.position(), search.count(), search.edge)
    }

    #[test]
    fn ctrl_f_finds_and_enter_and_ctrl_p_walk_the_matches() {
        let mut app = chatty();
        type_text(&mut app, "draft");
        app.update(ctrl('f'));
        assert!(app.search.is_some());
        assert_eq!(app.input_rows(60), 1);
        type_text(&mut app, "pizzx");
        assert_eq!(position(&app), (None, 0, None));
        app.update(key(KeyCode::Backspace, KeyModifiers::NONE));
        type_text(&mut app, "a");
        // The newest match is on screen already: the view stays live.
        assert_eq!(position(&app), (Some(3), 3, None));
        assert_eq!(app.scroll, Scroll::Live);
        assert!(shows(&app, 90));
        // Enter: back in time, and the view follows.
        app.update(key(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(position(&app), (Some(2), 3, None));
        assert!(matches!(app.scroll, Scroll::At(_)));
        assert!(shows(&app, 50) && !shows(&app, 90));
        app.update(ctrl('n'));
        assert_eq!(position(&app), (Some(1), 3, None));
        assert!(shows(&app, 10));
        // No wrapping around.
        app.update(key(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(position(&app), (Some(1), 3, Some(Edge::Oldest)));
        assert!(shows(&app, 10));
        app.update(ctrl('p'));
        assert_eq!(position(&app), (Some(2), 3, None));
        assert!(shows(&app, 50));
        app.update(key(KeyCode::Enter, KeyModifiers::SHIFT));
        assert_eq!(position(&app), (Some(3), 3, None));
        assert!(shows(&app, 90));
        app.update(key(KeyCode::Up, KeyModifiers::NONE));
        assert_eq!(position(&app), (Some(2), 3, None));
        // Esc ends the search where the view is; the draft waited.
        let scroll = app.scroll;
        app.update(key(KeyCode::Esc, KeyModifiers::NONE));
        assert!(app.search.is_none());
        assert_eq!(app.scroll, scroll);
        assert!(shows(&app, 50));
        assert_eq!(app.input.text(), "draft");
        // And the chat's Esc goes back to live.
        app.update(key(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(app.scroll, Scroll::Live);
    }

    #[test]
    fn slash_search_opens_the_search_with_its_text() {
        let mut app = chatty();
        app.update(Event::Submit("/search tonight".into()));
        assert_eq!(app.search.as_ref().unwrap().query.text(), "tonight");
        assert_eq!(position(&app), (Some(3), 3, None));
        // Typed while searching: the query, not the message line.
        type_text(&mut app, "?");
        assert_eq!(app.search.as_ref().unwrap().query.text(), "tonight?");
        assert_eq!(app.input.text(), "");
        app.update(Event::Paste("\nx".into()));
        assert_eq!(app.search.as_ref().unwrap().query.text(), "tonight? x");
        assert_eq!(position(&app), (None, 0, None));
        // Scrolling still scrolls.
        app.update(key(KeyCode::PageUp, KeyModifiers::NONE));
        assert!(matches!(app.scroll, Scroll::At(_)));
    }

    #[test]
    fn matches_that_arrive_while_searching_are_counted_not_jumped_to() {
        let mut app = chatty();
        app.update(Event::Submit("/search pizza".into()));
        app.update(key(KeyCode::Enter, KeyModifiers::NONE));
        let scroll = app.scroll;
        app.history.push(Entry::Chat {
            at_ms: 0,
            author: AuthorId::ME,
            id: MessageId {
                session: 1,
                seq: 100,
            },
            text: "more pizza".into(),
            delivery: Delivery::Sent,
            action: false,
        });
        app.update(Event::Flush);
        // Counted; the view stays on its match.
        assert_eq!(position(&app), (Some(2), 4, None));
        assert_eq!(app.scroll, scroll);
    }
}
