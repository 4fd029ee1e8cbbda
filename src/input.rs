//! The message editor: owns the draft being typed (one or more lines), its
//! cursor, the messages sent this session (to recall with Up and Down), and
//! the editing keys.
//!
//! [`Input`] does not read keys: the keymap ([`crate::keymap`]) turns them into
//! [`EditAction`]s, which [`Input::apply`] carries out, and typed characters, which
//! [`Input::insert_char`] inserts. It knows nothing about drawing: the renderer draws the rows and places the cursor that
//! [`Input::layout`] computes. The cursor is a byte offset that is always on a grapheme
//! cluster boundary, so editing never splits an emoji sequence or a letter from its
//! combining marks. A draft may hold line breaks (`'\n'`, never `'\r'`): the
//! line-wise keys (Home, End, Ctrl-U, Ctrl-K) act on the cursor's line, and
//! Up and Down move between rows ([`Input::up`], [`Input::down`]) and, past
//! the first or last row, through what was sent.

use std::borrow::Cow;
use std::ops::Range;

use crate::keymap::EditAction;
use crate::text::{EmojiMode, cluster_width};
use unicode_segmentation::UnicodeSegmentation;

/// Most sent messages kept for recalling with Up.
pub const MAX_RECALL: usize = 500;

/// A multi-line text editor with a grapheme-aware cursor and a recall list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    /// Never contains control characters other than `'\n'` (see [`clean`]).
    text: String,
    /// Byte offset into `text`, always on a grapheme cluster boundary.
    cursor: usize,
    /// The column Up and Down aim for (the cursor's column when a run of
    /// Up/Down began, so that passing a short row does not lose it), with
    /// where they left the cursor: any other move ends the run.
    goal: Option<(usize, usize)>,
    /// What was sent, oldest first (at most [`MAX_RECALL`]).
    sent: Vec<String>,
    /// While recalling: which of `sent` is shown, and the draft it replaced.
    recalling: Option<(usize, String)>,
    /// While completing with Tab: what was typed, and which match is shown.
    completing: Option<(String, usize)>,
    /// How emoji are drawn, so that Up and Down move by the columns shown.
    emoji: EmojiMode,
}

/// Where the input's text goes in a box of a given width, and where the cursor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLayout {
    /// Byte ranges of the text, one per row, in order, covering the text exactly; an
    /// empty range may be appended at the end to hold the cursor. A row that ends a
    /// line ends with its `'\n'` (which is not drawn).
    pub rows: Vec<Range<usize>>,
    /// Row the cursor is on (index into `rows`).
    pub cursor_row: usize,
    /// Cell column of the cursor on its row; always less than the box width.
    pub cursor_col: usize,
}

impl InputLayout {
    /// The text of `row` as drawn: without its line break.
    pub fn row_text<'a>(&self, text: &'a str, row: usize) -> &'a str {
        self.rows
            .get(row)
            .and_then(|range| text.get(range.clone()))
            .map_or("", |s| s.strip_suffix('\n').unwrap_or(s))
    }
}

impl Input {
    /// An empty input.
    pub fn new() -> Self {
        Self::default()
    }

    /// Up and Down measure rows as they are drawn in `emoji` mode.
    pub fn set_emoji(&mut self, emoji: EmojiMode) {
        self.emoji = emoji;
    }

    /// The current text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor as a byte offset into [`Input::text`], on a grapheme boundary.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Whether there is no text.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// How many lines the text has (1 for an empty text).
    pub fn lines(&self) -> usize {
        self.text.matches('\n').count() + 1
    }

    /// Replace the text (cleaned like typed text) and put the cursor at its end.
    pub fn set_text(&mut self, s: &str) {
        self.text = clean(s).into_owned();
        self.cursor = self.text.len();
        self.edited();
    }

    /// Return the text and leave the input empty (and no longer recalling).
    pub fn take(&mut self) -> String {
        self.cursor = 0;
        self.edited();
        self.recalling = None;
        std::mem::take(&mut self.text)
    }

    /// Insert one char at the cursor; CR and CRLF become a line break, tab
    /// a space, and other control chars are dropped.
    pub fn insert_char(&mut self, c: char) {
        let mut buf = [0; 4];
        self.insert_str(c.encode_utf8(&mut buf));
    }

    /// Insert text at the cursor and move the cursor after it; CR and CRLF
    /// become a line break, tab a space, and other control chars are dropped.
    pub fn insert_str(&mut self, s: &str) {
        self.edited();
        let s = clean(s);
        if s.is_empty() {
            return;
        }
        self.text.insert_str(self.cursor, &s);
        // The insertion may join a cluster with its neighbours (a combining mark, a ZWJ,
        // a regional indicator): keep the cursor after the whole cluster.
        self.cursor = self.snap(self.cursor + s.len());
    }

    /// Start a new line at the cursor.
    pub fn newline(&mut self) {
        self.insert_char('\n');
    }

    /// Move one grapheme left.
    pub fn move_left(&mut self) {
        self.cursor = self.prev_boundary(self.cursor);
    }

    /// Move one grapheme right.
    pub fn move_right(&mut self) {
        self.cursor = self.next_boundary(self.cursor);
    }

    /// Move to the start of the word before the cursor (words are separated by whitespace).
    pub fn move_word_left(&mut self) {
        self.cursor = self.word_start_before(self.cursor);
    }

    /// Move to the end of the word after the cursor (words are separated by whitespace).
    pub fn move_word_right(&mut self) {
        self.cursor = self.word_end_after(self.cursor);
    }

    /// Move to the start of the cursor's line.
    pub fn home(&mut self) {
        self.cursor = self.line_start(self.cursor);
    }

    /// Move to the end of the cursor's line.
    pub fn end(&mut self) {
        self.cursor = self.line_end(self.cursor);
    }

    /// Delete the whole grapheme before the cursor.
    pub fn backspace(&mut self) {
        let start = self.prev_boundary(self.cursor);
        self.remove(start..self.cursor);
    }

    /// Delete the whole grapheme after the cursor.
    pub fn delete(&mut self) {
        let end = self.next_boundary(self.cursor);
        self.remove(self.cursor..end);
    }

    /// Ctrl-W (readline `unix-word-rubout`): delete the whitespace before the cursor,
    /// then back to the previous whitespace.
    pub fn delete_word_before(&mut self) {
        let start = self.word_start_before(self.cursor);
        self.remove(start..self.cursor);
    }

    /// Ctrl-U: delete from the start of the cursor's line to the cursor; at
    /// the start of a line, join it to the line before.
    pub fn delete_to_start(&mut self) {
        let start = self.line_start(self.cursor);
        if start == self.cursor {
            self.backspace();
        } else {
            self.remove(start..self.cursor);
        }
    }

    /// Ctrl-K: delete from the cursor to the end of its line; at the end of
    /// a line, join the next line to it (as Emacs does).
    pub fn delete_to_end(&mut self) {
        let end = self.line_end(self.cursor);
        if end == self.cursor {
            self.delete();
        } else {
            self.remove(self.cursor..end);
        }
    }

    /// Apply an editing action (what the keymap made of an editing key).
    pub fn apply(&mut self, action: EditAction) {
        self.edited();
        match action {
            EditAction::Newline => self.newline(),
            EditAction::Left => self.move_left(),
            EditAction::Right => self.move_right(),
            EditAction::WordLeft => self.move_word_left(),
            EditAction::WordRight => self.move_word_right(),
            EditAction::Home => self.home(),
            EditAction::End => self.end(),
            EditAction::DeleteBack => self.backspace(),
            EditAction::DeleteForward => self.delete(),
            EditAction::DeleteWordBefore => self.delete_word_before(),
            EditAction::DeleteToStart => self.delete_to_start(),
            EditAction::DeleteToEnd => self.delete_to_end(),
        }
    }

    /// Up in a box `width` cells wide: the row above, at the same column
    /// (or the nearest one before it); on the first row, the message sent
    /// before the one shown (the draft is kept, see [`Input::down`]).
    /// Returns false when there is nowhere to go.
    pub fn up(&mut self, width: usize) -> bool {
        let layout = self.layout(width, self.emoji);
        let goal = self.goal_column(&layout);
        if layout.cursor_row > 0 {
            self.cursor = self.at_column(&layout, layout.cursor_row - 1, goal);
            self.goal = Some((self.cursor, goal));
            return true;
        }
        let shown = match &self.recalling {
            Some((shown, _)) => *shown,
            None => self.sent.len(),
        };
        let Some(older) = shown.checked_sub(1) else {
            return false;
        };
        let draft = match self.recalling.take() {
            Some((_, draft)) => draft,
            None => std::mem::take(&mut self.text),
        };
        self.show_recalled(older, draft);
        true
    }

    /// Down in a box `width` cells wide: the row below, at the same column;
    /// on the last row, the message sent after the one shown, or after the
    /// newest, the draft as it was left. Returns false when there is
    /// nowhere to go.
    pub fn down(&mut self, width: usize) -> bool {
        let layout = self.layout(width, self.emoji);
        let goal = self.goal_column(&layout);
        if layout.cursor_row + 1 < layout.rows.len() {
            self.cursor = self.at_column(&layout, layout.cursor_row + 1, goal);
            self.goal = Some((self.cursor, goal));
            return true;
        }
        let Some((shown, draft)) = self.recalling.take() else {
            return false;
        };
        if shown + 1 < self.sent.len() {
            self.show_recalled(shown + 1, draft);
        } else {
            self.text = draft;
            self.cursor = self.text.len();
            self.edited();
        }
        true
    }

    /// Whether a recalled message is shown instead of the draft.
    pub fn is_recalling(&self) -> bool {
        self.recalling.is_some()
    }

    /// Keeps `text` (a sent message or command) for recalling with Up; a
    /// repeat of the newest one is kept once.
    pub fn remember(&mut self, text: &str) {
        if text.trim().is_empty() || self.sent.last().is_some_and(|last| last == text) {
            return;
        }
        if self.sent.len() >= MAX_RECALL {
            self.sent.remove(0);
        }
        self.sent.push(text.to_owned());
    }

    /// Tab: completes the text, when all of it is the start of one of
    /// `words`, to the first such word; pressed again, to the next one, in
    /// turn. Returns whether the text changed.
    pub fn complete<S: AsRef<str>>(&mut self, words: &[S]) -> bool {
        let word = |i: usize| words.get(i).map(AsRef::as_ref);
        let (typed, index) = match self.completing.take() {
            Some((typed, index)) if word(index) == Some(self.text.as_str()) => (typed, index + 1),
            // Text that already is a word goes on to the next match.
            _ => (
                self.text.clone(),
                words
                    .iter()
                    .position(|w| w.as_ref() == self.text)
                    .map_or(0, |at| at + 1),
            ),
        };
        if typed.is_empty() || typed.contains('\n') {
            return false;
        }
        // The next match at or after `index`, wrapping around.
        let matches = |i: &usize| word(*i).is_some_and(|w| w.starts_with(typed.as_str()));
        let Some(found) = (index..words.len())
            .find(matches)
            .or_else(|| (0..index.min(words.len())).find(matches))
        else {
            return false;
        };
        let Some(completed) = word(found) else {
            return false;
        };
        let changed = completed != self.text;
        self.text = completed.to_owned();
        self.cursor = self.text.len();
        self.goal = None;
        self.completing = Some((typed, found));
        changed
    }

    /// Layout for a box `width` cells wide (0 is treated as 1).
    ///
    /// The text is wrapped by grapheme, not by word, so the cursor moves predictably;
    /// a wide grapheme that does not fit at the end of a row moves to the next row,
    /// and a line break ends its row (it takes a cell there, for the cursor before
    /// it). The cursor's column is the width of the graphemes before it on its row.
    /// When the cursor is at the end and the last row is full, it goes to column 0 of
    /// an empty row appended for it. Empty text gives one empty row with the cursor
    /// at (0, 0).
    ///
    /// Graphemes are measured as they are drawn in `emoji` mode
    /// ([`crate::text::display_cluster`]), so the cursor follows what is on screen;
    /// the rows are ranges of the text itself.
    pub fn layout(&self, width: usize, emoji: EmojiMode) -> InputLayout {
        let width = width.max(1);
        let mut rows = Vec::new();
        let mut row_start = 0;
        let mut row_width = 0;
        let mut cursor = None;
        for (i, g) in self.text.grapheme_indices(true) {
            let gw = cluster_width(g, emoji);
            // A zero-width grapheme (or a line break) still needs a cell for
            // the cursor to sit on, so it wraps like a narrow one; this keeps
            // the cursor inside the box.
            if i > row_start && row_width + gw.max(1) > width {
                rows.push(row_start..i);
                row_start = i;
                row_width = 0;
            }
            if i == self.cursor {
                cursor = Some((rows.len(), row_width));
            }
            if g == "\n" {
                rows.push(row_start..i + 1);
                row_start = i + 1;
                row_width = 0;
                continue;
            }
            row_width += gw;
        }
        let len = self.text.len();
        rows.push(row_start..len);
        let (cursor_row, cursor_col) = match cursor {
            Some(at) => at,
            None if row_width >= width => {
                rows.push(len..len);
                (rows.len() - 1, 0)
            }
            None => (rows.len() - 1, row_width),
        };
        InputLayout {
            rows,
            cursor_row,
            cursor_col,
        }
    }

    /// Shows sent message `index` in place of `draft`, the cursor at its end.
    fn show_recalled(&mut self, index: usize, draft: String) {
        self.text = self.sent.get(index).cloned().unwrap_or_default();
        self.cursor = self.text.len();
        self.edited();
        self.recalling = Some((index, draft));
    }

    /// The text changed other than by Tab.
    fn edited(&mut self) {
        self.goal = None;
        self.completing = None;
    }

    /// The column Up and Down aim for: the one they aimed for last if the
    /// cursor is where they left it, else the cursor's.
    fn goal_column(&self, layout: &InputLayout) -> usize {
        match self.goal {
            Some((at, goal)) if at == self.cursor => goal,
            _ => layout.cursor_col,
        }
    }

    /// The position on `row` of `layout` nearest to column `goal` without
    /// passing it; never past the row's last grapheme unless it is the last row.
    fn at_column(&self, layout: &InputLayout, row: usize, goal: usize) -> usize {
        let Some(range) = layout.rows.get(row) else {
            return self.cursor;
        };
        let last_row = row + 1 == layout.rows.len();
        let mut col = 0;
        let mut last_start = range.start;
        for (i, g) in self.text[range.clone()].grapheme_indices(true) {
            let at = range.start + i;
            let gw = cluster_width(g, self.emoji);
            if g == "\n" || col + gw > goal {
                return at;
            }
            col += gw;
            last_start = at;
        }
        if last_row { range.end } else { last_start }
    }

    /// Start of the line `pos` is on.
    fn line_start(&self, pos: usize) -> usize {
        self.text
            .get(..pos)
            .and_then(|before| before.rfind('\n'))
            .map_or(0, |at| at + 1)
    }

    /// End of the line `pos` is on (its line break, or the end of the text).
    fn line_end(&self, pos: usize) -> usize {
        self.text
            .get(pos..)
            .and_then(|after| after.find('\n'))
            .map_or(self.text.len(), |at| pos + at)
    }

    /// Remove `range` (grapheme-aligned) and leave the cursor at its start.
    fn remove(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let at = range.start;
        self.text.replace_range(range, "");
        // Removing text can join its neighbours into one cluster (e.g. two regional
        // indicators that were separated), so re-align the cursor.
        self.cursor = self.snap(at);
    }

    /// The first grapheme boundary at or after `pos`.
    fn snap(&self, pos: usize) -> usize {
        for (i, g) in self.text.grapheme_indices(true) {
            let end = i + g.len();
            if i >= pos {
                return i;
            }
            if end >= pos {
                return end;
            }
        }
        self.text.len()
    }

    /// The grapheme boundary before `pos` (which is a boundary), or 0.
    fn prev_boundary(&self, pos: usize) -> usize {
        // Boundaries before `pos` do not depend on text after it, so segmenting the
        // prefix is exact and avoids scanning the whole text.
        self.text
            .get(..pos)
            .and_then(|s| s.graphemes(true).next_back())
            .map_or(0, |g| pos - g.len())
    }

    /// The grapheme boundary after `pos` (which is a boundary), or the end.
    fn next_boundary(&self, pos: usize) -> usize {
        self.text
            .get(pos..)
            .and_then(|s| s.graphemes(true).next())
            .map_or(self.text.len(), |g| pos + g.len())
    }

    /// Start of the word before `pos`: skip whitespace backwards, then the word.
    fn word_start_before(&self, pos: usize) -> usize {
        let Some(before) = self.text.get(..pos) else {
            return 0;
        };
        let mut start = pos;
        let mut in_word = false;
        for (i, g) in before.grapheme_indices(true).rev() {
            if is_space(g) {
                if in_word {
                    break;
                }
            } else {
                in_word = true;
            }
            start = i;
        }
        start
    }

    /// End of the word after `pos`: skip whitespace forwards, then the word.
    fn word_end_after(&self, pos: usize) -> usize {
        let Some(after) = self.text.get(pos..) else {
            return self.text.len();
        };
        let mut end = pos;
        let mut in_word = false;
        for (i, g) in after.grapheme_indices(true) {
            if is_space(g) {
                if in_word {
                    break;
                }
            } else {
                in_word = true;
            }
            end = pos + i + g.len();
        }
        end
    }
}

/// A whitespace grapheme (word separator for word motion and deletion).
fn is_space(g: &str) -> bool {
    g.chars().all(char::is_whitespace)
}

/// Make text fit for the editor: CR and CRLF become a line break (terminals
/// send a pasted line break as CR), U+2028 and U+2029 too, tab becomes a
/// space, other control chars are dropped.
fn clean(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| (c.is_control() && c != '\n') || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keymap::{Action, Keymap, typed_char};
    use crate::text::{display_form, display_width};
    use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};
    use proptest::prelude::*;

    const FAMILY: &str = "👨\u{200d}👩\u{200d}👧";

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn ctrl(c: char) -> KeyEvent {
        key(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    /// Applies `key` as the app does with the default keymap; true if it was a
    /// typing or editing key.
    fn handle(i: &mut Input, key: &KeyEvent) -> bool {
        match Keymap::default().action(key) {
            Some(Action::Edit(edit)) => {
                i.apply(edit);
                true
            }
            Some(_) => false,
            None => match typed_char(key) {
                Some(c) => {
                    i.insert_char(c);
                    true
                }
                None => false,
            },
        }
    }

    fn input(text: &str) -> Input {
        let mut i = Input::new();
        i.set_text(text);
        i
    }

    fn is_boundary(text: &str, pos: usize) -> bool {
        pos == text.len() || text.grapheme_indices(true).any(|(i, _)| i == pos)
    }

    #[test]
    fn new_input_is_empty() {
        let i = Input::new();
        assert!(i.is_empty());
        assert_eq!(i.text(), "");
        assert_eq!(i.cursor(), 0);
        assert_eq!(i, Input::default());
    }

    #[test]
    fn typing_cjk_and_emoji_moves_cursor_by_cluster() {
        let mut i = Input::new();
        i.insert_str("中文");
        i.insert_char('👍');
        i.insert_str(FAMILY);
        assert_eq!(i.text(), format!("中文👍{FAMILY}"));
        assert_eq!(i.cursor(), i.text().len());
        i.move_left();
        assert_eq!(i.cursor(), "中文👍".len());
        i.move_left();
        assert_eq!(i.cursor(), "中文".len());
        i.move_left();
        assert_eq!(i.cursor(), "中".len());
        i.move_right();
        i.move_right();
        i.move_right();
        assert_eq!(i.cursor(), i.text().len());
        i.move_right();
        assert_eq!(i.cursor(), i.text().len());
        i.home();
        i.move_left();
        assert_eq!(i.cursor(), 0);
    }

    #[test]
    fn combining_mark_joins_cluster_before_cursor() {
        let mut i = input("e");
        i.insert_char('\u{301}');
        assert_eq!(i.text(), "e\u{301}");
        assert_eq!(i.cursor(), 3);
        i.move_left();
        assert_eq!(i.cursor(), 0);
        // Typing before a lone mark makes a cluster; the cursor ends up after all of it.
        let mut i = input("\u{301}x");
        i.home();
        i.insert_char('a');
        assert_eq!(i.text(), "a\u{301}x");
        assert_eq!(i.cursor(), 3);
    }

    #[test]
    fn inserting_zwj_between_emoji_keeps_cursor_on_boundary() {
        let mut i = input("👨👩");
        i.move_left();
        i.insert_char('\u{200d}');
        assert_eq!(i.text(), "👨\u{200d}👩");
        assert!(is_boundary(i.text(), i.cursor()));
        assert_eq!(i.cursor(), i.text().len());
    }

    #[test]
    fn backspace_and_delete_remove_whole_clusters() {
        for cluster in [FAMILY, "👍🏽", "🇯🇵", "e\u{301}", "中", "한"] {
            let mut i = input(&format!("a{cluster}"));
            i.backspace();
            assert_eq!(i.text(), "a", "{cluster:?}");
            assert_eq!(i.cursor(), 1);
            let mut i = input(&format!("{cluster}b"));
            i.home();
            i.delete();
            assert_eq!(i.text(), "b", "{cluster:?}");
            assert_eq!(i.cursor(), 0);
        }
        let mut i = input("🇯🇵🇯🇵");
        i.backspace();
        assert_eq!(i.text(), "🇯🇵");
        let mut i = input("x");
        i.home();
        i.backspace();
        i.end();
        i.delete();
        assert_eq!(i.text(), "x");
    }

    #[test]
    fn removal_that_merges_clusters_realigns_cursor() {
        // [🇯][a][🇵🇯]: removing `a` lets the indicators pair up differently.
        let mut i = input("🇯a🇵🇯");
        i.move_left();
        i.backspace();
        assert_eq!(i.text(), "🇯🇵🇯");
        assert!(is_boundary(i.text(), i.cursor()), "cursor {}", i.cursor());
        assert_eq!(i.cursor(), "🇯🇵".len());
    }

    #[test]
    fn word_motion_skips_whitespace_then_word() {
        let text = "  hello  世界 👍🏽 ";
        let mut i = input(text);
        i.move_word_left();
        assert_eq!(i.cursor(), text.find('👍').unwrap_or(usize::MAX));
        i.move_word_left();
        assert_eq!(i.cursor(), text.find('世').unwrap_or(usize::MAX));
        i.move_word_left();
        assert_eq!(i.cursor(), 2);
        i.move_word_left();
        assert_eq!(i.cursor(), 0);
        i.move_word_right();
        assert_eq!(i.cursor(), "  hello".len());
        i.move_word_right();
        assert_eq!(i.cursor(), "  hello  世界".len());
        i.move_word_right();
        i.move_word_right();
        assert_eq!(i.cursor(), text.len());
    }

    #[test]
    fn delete_word_before_is_unix_word_rubout() {
        let mut i = input("hello wide world  ");
        i.delete_word_before();
        assert_eq!(i.text(), "hello wide ");
        i.delete_word_before();
        assert_eq!(i.text(), "hello ");
        i.delete_word_before();
        assert_eq!(i.text(), "");
        i.delete_word_before();
        assert_eq!(i.text(), "");

        let mut i = input("你好 世界👍🏽");
        i.delete_word_before();
        assert_eq!(i.text(), "你好 ");
        assert_eq!(i.cursor(), "你好 ".len());

        // Punctuation is part of a word, as in readline.
        let mut i = input("foo bar.baz qux");
        i.home();
        i.move_word_right();
        i.move_word_right();
        i.delete_word_before();
        assert_eq!(i.text(), "foo  qux");
        assert_eq!(i.cursor(), 4);
    }

    #[test]
    fn delete_to_start_and_end() {
        let mut i = input("日本語テキスト");
        i.home();
        i.move_right();
        i.move_right();
        i.move_right();
        i.delete_to_end();
        assert_eq!(i.text(), "日本語");
        assert_eq!(i.cursor(), "日本語".len());
        i.move_left();
        i.delete_to_start();
        assert_eq!(i.text(), "語");
        assert_eq!(i.cursor(), 0);
    }

    #[test]
    fn set_text_and_insert_keep_line_breaks_and_clean_control_chars() {
        let mut i = input("a\nb\tc\u{1b}d\r\ne\rf\u{2028}g");
        assert_eq!(i.text(), "a\nb cd\ne\nf\ng");
        assert_eq!(i.cursor(), i.text().len());
        assert_eq!(i.lines(), 5);
        i.insert_char('\n');
        i.insert_char('\u{7}');
        i.insert_str("x\u{7f}\u{85}y");
        assert_eq!(i.text(), "a\nb cd\ne\nf\ng\nxy");
    }

    #[test]
    fn take_returns_text_and_empties() {
        let mut i = input("한국어 👍");
        assert_eq!(i.take(), "한국어 👍");
        assert!(i.is_empty());
        assert_eq!(i.cursor(), 0);
        assert_eq!(i.take(), "");
    }

    #[test]
    fn keys_type_and_edit() {
        let mut i = Input::new();
        for k in [
            key(KeyCode::Char('h'), KeyModifiers::NONE),
            key(KeyCode::Char('I'), KeyModifiers::SHIFT),
            key(KeyCode::Char('中'), KeyModifiers::NONE),
        ] {
            assert!(handle(&mut i, &k));
        }
        assert_eq!(i.text(), "hI中");
        assert!(handle(&mut i, &ctrl('a')));
        assert_eq!(i.cursor(), 0);
        assert!(handle(&mut i, &ctrl('e')));
        assert_eq!(i.cursor(), i.text().len());
        assert!(handle(&mut i, &ctrl('b')));
        assert_eq!(i.cursor(), 2);
        assert!(handle(&mut i, &key(KeyCode::Right, KeyModifiers::NONE)));
        assert_eq!(i.cursor(), 5);
        assert!(!handle(&mut i, &ctrl('f')), "Ctrl-F searches");
        assert!(handle(&mut i, &key(KeyCode::Left, KeyModifiers::NONE)));
        assert!(handle(&mut i, &key(KeyCode::Left, KeyModifiers::NONE)));
        assert_eq!(i.cursor(), 1);
        assert!(handle(&mut i, &key(KeyCode::Right, KeyModifiers::NONE)));
        assert_eq!(i.cursor(), 2);
        assert!(handle(&mut i, &key(KeyCode::Home, KeyModifiers::NONE)));
        assert_eq!(i.cursor(), 0);
        assert!(handle(&mut i, &key(KeyCode::Delete, KeyModifiers::NONE)));
        assert_eq!(i.text(), "I中");
        assert!(handle(&mut i, &ctrl('d')));
        assert_eq!(i.text(), "中");
        assert!(handle(&mut i, &key(KeyCode::End, KeyModifiers::NONE)));
        assert!(handle(&mut i, &key(KeyCode::Backspace, KeyModifiers::NONE)));
        assert_eq!(i.text(), "");
        i.set_text("ab");
        assert!(handle(&mut i, &ctrl('h')));
        assert_eq!(i.text(), "a");
    }

    #[test]
    fn keys_kill_words_and_lines() {
        let mut i = input("one two three four");
        assert!(handle(&mut i, &ctrl('w')));
        assert_eq!(i.text(), "one two three ");
        assert!(handle(
            &mut i,
            &key(KeyCode::Backspace, KeyModifiers::CONTROL)
        ));
        assert_eq!(i.text(), "one two ");
        assert!(handle(&mut i, &key(KeyCode::Backspace, KeyModifiers::ALT)));
        assert_eq!(i.text(), "one ");
        i.set_text("alpha beta gamma");
        assert!(handle(&mut i, &key(KeyCode::Left, KeyModifiers::CONTROL)));
        assert_eq!(i.cursor(), "alpha beta ".len());
        assert!(handle(&mut i, &key(KeyCode::Char('b'), KeyModifiers::ALT)));
        assert_eq!(i.cursor(), "alpha ".len());
        assert!(handle(&mut i, &key(KeyCode::Right, KeyModifiers::CONTROL)));
        assert_eq!(i.cursor(), "alpha beta".len());
        assert!(handle(&mut i, &key(KeyCode::Char('f'), KeyModifiers::ALT)));
        assert_eq!(i.cursor(), i.text().len());
        assert!(handle(&mut i, &key(KeyCode::Char('b'), KeyModifiers::ALT)));
        assert!(handle(&mut i, &ctrl('k')));
        assert_eq!(i.text(), "alpha beta ");
        assert!(handle(&mut i, &key(KeyCode::Left, KeyModifiers::NONE)));
        assert!(handle(&mut i, &ctrl('u')));
        assert_eq!(i.text(), " ");
        assert_eq!(i.cursor(), 0);
    }

    #[test]
    fn non_editing_keys_are_ignored() {
        let before = {
            let mut i = input("héllo 世界");
            i.move_left();
            i
        };
        let ignored = [
            key(KeyCode::Enter, KeyModifiers::NONE),
            key(KeyCode::Esc, KeyModifiers::NONE),
            key(KeyCode::Tab, KeyModifiers::NONE),
            key(KeyCode::PageUp, KeyModifiers::NONE),
            key(KeyCode::Up, KeyModifiers::NONE),
            key(KeyCode::F(1), KeyModifiers::NONE),
            key(KeyCode::Left, KeyModifiers::SHIFT),
            key(KeyCode::Home, KeyModifiers::CONTROL),
            key(KeyCode::Delete, KeyModifiers::ALT),
            key(KeyCode::Char('x'), KeyModifiers::ALT),
            key(
                KeyCode::Char('a'),
                KeyModifiers::CONTROL | KeyModifiers::ALT,
            ),
            ctrl('c'),
            ctrl('x'),
            ctrl('l'),
            KeyEvent::new_with_kind(
                KeyCode::Char('z'),
                KeyModifiers::NONE,
                KeyEventKind::Release,
            ),
            KeyEvent::new_with_kind(
                KeyCode::Backspace,
                KeyModifiers::NONE,
                KeyEventKind::Release,
            ),
        ];
        for k in ignored {
            let mut i = before.clone();
            assert!(!handle(&mut i, &k), "{k:?}");
            assert_eq!(i, before, "{k:?}");
        }
    }

    #[test]
    fn repeat_events_are_handled() {
        let mut i = input("abc");
        let k = KeyEvent {
            code: KeyCode::Backspace,
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Repeat,
            state: KeyEventState::NONE,
        };
        assert!(handle(&mut i, &k));
        assert!(handle(&mut i, &k));
        assert_eq!(i.text(), "a");
    }

    #[test]
    fn layout_empty_text() {
        let l = Input::new().layout(10, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..0]);
        assert_eq!((l.cursor_row, l.cursor_col), (0, 0));
        let l = Input::new().layout(0, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..0]);
        assert_eq!((l.cursor_row, l.cursor_col), (0, 0));
    }

    #[test]
    fn layout_full_last_row_gets_cursor_row() {
        let i = input("abc");
        let l = i.layout(3, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..3, 3..3]);
        assert_eq!((l.cursor_row, l.cursor_col), (1, 0));
        let l = i.layout(4, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..3]);
        assert_eq!((l.cursor_row, l.cursor_col), (0, 3));
        let l = input("中文").layout(4, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..6, 6..6]);
        assert_eq!((l.cursor_row, l.cursor_col), (1, 0));
    }

    #[test]
    fn layout_moves_wide_grapheme_that_does_not_fit() {
        let mut i = input("ab中");
        let l = i.layout(3, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..2, 2..5]);
        assert_eq!((l.cursor_row, l.cursor_col), (1, 2));
        i.move_left();
        let l = i.layout(3, EmojiMode::Full);
        assert_eq!((l.cursor_row, l.cursor_col), (1, 0));
        i.move_left();
        let l = i.layout(3, EmojiMode::Full);
        assert_eq!((l.cursor_row, l.cursor_col), (0, 1));

        let mut i = input(&format!("a{FAMILY}👍🏽日本"));
        let l = i.layout(4, EmojiMode::Full);
        let f = 1 + FAMILY.len();
        let t = f + "👍🏽".len();
        assert_eq!(
            l.rows,
            vec![0..f, f..t + "日".len(), t + "日".len()..i.text().len()]
        );
        assert_eq!((l.cursor_row, l.cursor_col), (2, 2));
        i.home();
        i.move_right();
        i.move_right();
        let l = i.layout(4, EmojiMode::Full);
        assert_eq!((l.cursor_row, l.cursor_col), (1, 0));
    }

    #[test]
    fn the_cursor_follows_emoji_as_drawn() {
        // Safe mode draws ❤️ as "❤ " and the family as its first member:
        // both 2 cells, as in full mode, so the cursor lands after them.
        let heart = "❤\u{fe0f}";
        let i = input(&format!("a{heart}{FAMILY}b"));
        for mode in [EmojiMode::Full, EmojiMode::Safe] {
            let l = i.layout(20, mode);
            assert_eq!((l.cursor_row, l.cursor_col), (0, 6), "{mode:?}");
        }
        // 👍 with a text selector is 1 cell to unicode-width, but terminals
        // draw the emoji 2 wide: safe mode draws 👍 alone, and the cursor
        // goes after its 2 cells.
        let thumb = "a👍\u{fe0e}";
        assert_eq!(input(thumb).layout(20, EmojiMode::Full).cursor_col, 2);
        assert_eq!(input(thumb).layout(20, EmojiMode::Safe).cursor_col, 3);
        assert_eq!(display_form(thumb, EmojiMode::Safe), "a👍");
    }

    #[test]
    fn layout_narrow_boxes() {
        let i = input("ab");
        let l = i.layout(0, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..1, 1..2, 2..2]);
        assert_eq!((l.cursor_row, l.cursor_col), (2, 0));
        // A wide grapheme in a 1-cell box still gets a row of its own.
        let mut i = input("中x");
        let l = i.layout(1, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..3, 3..4, 4..4]);
        assert_eq!((l.cursor_row, l.cursor_col), (2, 0));
        i.home();
        let l = i.layout(1, EmojiMode::Full);
        assert_eq!((l.cursor_row, l.cursor_col), (0, 0));
        let l = input("e\u{301}e\u{301}").layout(1, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..3, 3..6, 6..6]);
    }

    #[test]
    fn line_keys_act_on_the_cursors_line() {
        let mut i = input("first line\nsecond 中文\nthird");
        // The cursor is at the end of "third".
        i.home();
        assert_eq!(i.cursor(), "first line\nsecond 中文\n".len());
        i.move_left();
        assert_eq!(i.cursor(), "first line\nsecond 中文".len());
        i.home();
        assert_eq!(i.cursor(), "first line\n".len());
        i.end();
        assert_eq!(i.cursor(), "first line\nsecond 中文".len());
        // Ctrl-K at the end of a line joins the next one; Ctrl-U at the
        // start of a line joins it to the one before.
        i.delete_to_end();
        assert_eq!(i.text(), "first line\nsecond 中文third");
        i.move_word_left();
        i.move_word_left();
        i.delete_to_end();
        assert_eq!(i.text(), "first line\n");
        i.delete_to_start();
        assert_eq!(i.text(), "first line");
        i.delete_to_start();
        assert_eq!(i.text(), "");
    }

    #[test]
    fn newline_keys_start_a_line_and_backspace_joins() {
        let mut i = input("ab");
        i.move_left();
        assert!(handle(&mut i, &key(KeyCode::Enter, KeyModifiers::ALT)));
        assert_eq!(i.text(), "a\nb");
        assert_eq!(i.cursor(), 2);
        assert!(handle(&mut i, &ctrl('j')));
        assert!(handle(&mut i, &key(KeyCode::Enter, KeyModifiers::SHIFT)));
        assert_eq!(i.text(), "a\n\n\nb");
        i.backspace();
        i.backspace();
        assert_eq!(i.text(), "a\nb");
        i.backspace();
        assert_eq!(i.text(), "ab");
        // Plain Enter sends: the app's business, not an edit.
        assert!(!handle(&mut i, &key(KeyCode::Enter, KeyModifiers::NONE)));
    }

    #[test]
    fn layout_breaks_rows_at_line_breaks() {
        let i = input("ab\n\ncd");
        let l = i.layout(10, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..3, 3..4, 4..6]);
        assert_eq!(l.row_text(i.text(), 0), "ab");
        assert_eq!(l.row_text(i.text(), 1), "");
        assert_eq!(l.row_text(i.text(), 2), "cd");
        assert_eq!((l.cursor_row, l.cursor_col), (2, 2));
        // A trailing line break gives the cursor an empty row.
        let l = input("ab\n").layout(10, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..3, 3..3]);
        assert_eq!((l.cursor_row, l.cursor_col), (1, 0));
        // A full row's line break goes to a row of its own, so the cursor
        // before it stays inside the box.
        let mut i = input("abc\nd");
        i.move_left();
        i.move_left();
        let l = i.layout(3, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..3, 3..4, 4..5]);
        assert_eq!((l.cursor_row, l.cursor_col), (1, 0));
        // Lines that wrap, then break.
        let l = input("中文字\nx").layout(4, EmojiMode::Full);
        assert_eq!(l.rows, vec![0..6, 6..10, 10..11]);
    }

    #[test]
    fn up_and_down_keep_the_column_across_wide_characters() {
        // Rows at width 6: "abcdef" / "中文" "x\n" / "ab"
        let mut i = input("abcdef中文x\nab");
        i.home();
        i.up(6);
        // Up from column 0 of "ab" to column 0 of "中文x".
        assert_eq!(i.cursor(), "abcdef".len());
        i.move_right();
        i.move_right();
        i.move_right();
        // Column 5 is after "中文x"; up: the row above has columns to 5.
        assert!(i.up(6));
        assert_eq!(i.layout(6, EmojiMode::Full).cursor_col, 5);
        assert!(i.down(6));
        assert_eq!(i.layout(6, EmojiMode::Full).cursor_row, 1);
        // Down: column 5 is past "ab", so its end; the goal stays 5.
        assert!(i.down(6));
        assert_eq!(i.cursor(), i.text().len());
        assert!(i.up(6));
        assert_eq!(i.layout(6, EmojiMode::Full).cursor_col, 5);
        // A column inside a wide character lands before it.
        let mut i = input("中文\nabc");
        i.move_left();
        assert_eq!(i.layout(10, EmojiMode::Full).cursor_col, 2);
        assert!(i.up(10));
        assert_eq!(i.cursor(), "中".len());
        i.move_right();
        assert!(i.down(10));
        assert_eq!(i.cursor(), i.text().len());
        // With nothing sent, the first and last rows go nowhere.
        let mut i = input("one");
        assert!(!i.up(10));
        assert!(!i.down(10));
        assert_eq!(i.text(), "one");
    }

    #[test]
    fn up_on_a_soft_wrapped_row_stays_on_it() {
        // Rows at width 3: "abc" / "def" / "g"
        let mut i = input("abcdefg");
        assert!(i.up(3));
        assert_eq!(i.cursor(), 4);
        i.end();
        // From the end (row 2, column 1 after "g") up to "def": column 1.
        assert!(i.up(3));
        assert!(i.up(3));
        assert_eq!(i.cursor(), 1);
        // Column 3 does not exist on a full row: the last character.
        i.set_text("abcdef\nxyz");
        assert_eq!(i.layout(3, EmojiMode::Full).cursor_col, 0);
        i.move_left();
        assert_eq!(i.layout(3, EmojiMode::Full).cursor_col, 2);
        let mut j = input("abcdef\nxyzw");
        j.move_left();
        assert!(j.up(4));
        assert_eq!(j.cursor(), "abcdef".len());
    }

    #[test]
    fn up_and_down_recall_what_was_sent_and_keep_the_draft() {
        let mut i = Input::new();
        for sent in ["first", "two\nlines", "two\nlines", "  ", "third"] {
            i.set_text(sent);
            let taken = i.take();
            i.remember(&taken);
        }
        i.insert_str("draft");
        assert!(i.up(20));
        assert_eq!(i.text(), "third");
        assert!(i.is_recalling());
        assert!(i.up(20));
        // A repeat is kept once, a blank line not at all; the cursor is at
        // the end, so Up moves through the rows first.
        assert_eq!(i.text(), "two\nlines");
        assert_eq!(i.cursor(), i.text().len());
        assert!(i.up(20));
        assert_eq!(i.text(), "two\nlines");
        assert_eq!(i.cursor(), 3);
        assert!(i.up(20));
        assert_eq!(i.text(), "first");
        assert!(!i.up(20));
        assert_eq!(i.text(), "first");
        assert!(i.down(20));
        assert_eq!(i.text(), "two\nlines");
        assert_eq!(i.cursor(), i.text().len());
        assert!(i.down(20));
        assert_eq!(i.text(), "third");
        assert!(i.down(20));
        assert_eq!(i.text(), "draft");
        assert!(!i.is_recalling());
        assert!(!i.down(20));
        // Sending a recalled message ends the recall; the draft was that.
        i.up(20);
        assert_eq!(i.take(), "third");
        assert!(!i.is_recalling());
        assert!(i.up(20));
        assert_eq!(i.text(), "third");
    }

    #[test]
    fn recall_keeps_the_newest_few_hundred() {
        let mut i = Input::new();
        for n in 0..MAX_RECALL + 5 {
            i.remember(&n.to_string());
        }
        while i.up(10) {}
        assert_eq!(i.text(), "5");
    }

    #[test]
    fn tab_completes_and_cycles() {
        let words = ["/help", "/verify", "/verify ok"];
        let mut i = input("/he");
        assert!(i.complete(&words));
        assert_eq!(i.text(), "/help");
        assert_eq!(i.cursor(), i.text().len());
        // The only match: it stays.
        assert!(!i.complete(&words));
        assert_eq!(i.text(), "/help");
        // Ambiguous: each Tab shows the next match, round and round.
        i.set_text("/v");
        i.complete(&words);
        assert_eq!(i.text(), "/verify");
        i.complete(&words);
        assert_eq!(i.text(), "/verify ok");
        i.complete(&words);
        assert_eq!(i.text(), "/verify");
        // Typed in full, Tab goes on to the next.
        i.set_text("/verify");
        i.complete(&words);
        assert_eq!(i.text(), "/verify ok");
        // All of them from "/".
        i.set_text("/");
        let seen: Vec<String> = (0..4)
            .map(|_| {
                i.complete(&words);
                i.text().to_owned()
            })
            .collect();
        assert_eq!(seen, ["/help", "/verify", "/verify ok", "/help"]);
        // An edit starts afresh.
        i.set_text("/verify o");
        i.complete(&words);
        assert_eq!(i.text(), "/verify ok");
        // Nothing to complete.
        for text in ["", "hello", "/x", "/he\nx"] {
            let mut i = input(text);
            assert!(!i.complete(&words), "{text:?}");
            assert_eq!(i.text(), text);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(String),
        InsertChar(char),
        Set(String),
        Take,
        Left,
        Right,
        WordLeft,
        WordRight,
        Home,
        End,
        Backspace,
        Delete,
        DeleteWord,
        DeleteToStart,
        DeleteToEnd,
        Newline,
        Up(usize),
        Down(usize),
        Remember,
        Key(KeyEvent),
    }

    const PIECES: &[&str] = &[
        "a",
        "bc",
        " ",
        "  ",
        "中",
        "文",
        "日本語",
        "한국어",
        "👍",
        "👍🏽",
        "🏽",
        FAMILY,
        "👨",
        "\u{200d}",
        "🇯",
        "🇵",
        "🇯🇵",
        "e",
        "\u{301}",
        "\u{200b}",
        "\t",
        "\n",
        "\r\n",
        "\u{1b}",
        "\u{a0}",
        "\u{3000}",
    ];

    fn piece_text() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::collection::vec(prop::sample::select(PIECES), 0..6).prop_map(|v| v.concat()),
            any::<String>(),
        ]
    }

    fn piece_char() -> impl Strategy<Value = char> {
        prop_oneof![
            prop::sample::select(vec![
                'a', ' ', '中', '👍', '🏽', '\u{200d}', '\u{301}', '🇯', '🇵', '\n', '\t', '\u{7f}',
            ]),
            any::<char>(),
        ]
    }

    fn any_key() -> impl Strategy<Value = KeyEvent> {
        let code = prop_oneof![
            piece_char().prop_map(KeyCode::Char),
            prop::sample::select(vec!['a', 'e', 'b', 'f', 'd', 'h', 'w', 'u', 'k', 'c'])
                .prop_map(KeyCode::Char),
            prop::sample::select(vec![
                KeyCode::Left,
                KeyCode::Right,
                KeyCode::Home,
                KeyCode::End,
                KeyCode::Backspace,
                KeyCode::Delete,
                KeyCode::Enter,
                KeyCode::PageUp,
            ]),
        ];
        let kind = prop::sample::select(vec![
            KeyEventKind::Press,
            KeyEventKind::Repeat,
            KeyEventKind::Release,
        ]);
        (code, 0u8..8, kind).prop_map(|(code, bits, kind)| {
            let m = KeyModifiers::from_bits_truncate(bits);
            KeyEvent::new_with_kind(code, m, kind)
        })
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => piece_text().prop_map(Op::Insert),
            3 => piece_char().prop_map(Op::InsertChar),
            1 => piece_text().prop_map(Op::Set),
            1 => Just(Op::Take),
            2 => Just(Op::Left),
            2 => Just(Op::Right),
            1 => Just(Op::WordLeft),
            1 => Just(Op::WordRight),
            1 => Just(Op::Home),
            1 => Just(Op::End),
            2 => Just(Op::Backspace),
            2 => Just(Op::Delete),
            1 => Just(Op::DeleteWord),
            1 => Just(Op::DeleteToStart),
            1 => Just(Op::DeleteToEnd),
            2 => Just(Op::Newline),
            2 => (0usize..8).prop_map(Op::Up),
            2 => (0usize..8).prop_map(Op::Down),
            1 => Just(Op::Remember),
            3 => any_key().prop_map(Op::Key),
        ]
    }

    fn apply(i: &mut Input, op: &Op) {
        match op {
            Op::Insert(s) => i.insert_str(s),
            Op::InsertChar(c) => i.insert_char(*c),
            Op::Set(s) => i.set_text(s),
            Op::Take => {
                i.take();
            }
            Op::Left => i.move_left(),
            Op::Right => i.move_right(),
            Op::WordLeft => i.move_word_left(),
            Op::WordRight => i.move_word_right(),
            Op::Home => i.home(),
            Op::End => i.end(),
            Op::Backspace => i.backspace(),
            Op::Delete => i.delete(),
            Op::DeleteWord => i.delete_word_before(),
            Op::DeleteToStart => i.delete_to_start(),
            Op::DeleteToEnd => i.delete_to_end(),
            Op::Newline => i.newline(),
            Op::Up(width) => {
                i.up(*width);
            }
            Op::Down(width) => {
                i.down(*width);
            }
            Op::Remember => {
                let text = i.text().to_owned();
                i.remember(&text);
            }
            Op::Key(k) => {
                let before = i.clone();
                if !handle(i, k) {
                    assert_eq!(*i, before, "unhandled key {k:?} changed the input");
                }
            }
        }
    }

    /// `Input::handle_key` as it was before the keymap, to check the keymap
    /// keeps its behaviour. Deliberate differences: a letter with Alt is
    /// matched in either case (terminals report Alt-Shift-B with Shift, so an
    /// upper-case letter with Alt alone does not happen in practice), and the
    /// line break keys came later.
    fn old_handle_key(i: &mut Input, key: &KeyEvent) -> bool {
        if !matches!(key.kind, KeyEventKind::Press | KeyEventKind::Repeat) {
            return false;
        }
        let m = key.modifiers;
        let plain = m.is_empty();
        let ctrl = m == KeyModifiers::CONTROL;
        let alt = m == KeyModifiers::ALT;
        let code = match key.code {
            KeyCode::Char(c) if alt => KeyCode::Char(c.to_ascii_lowercase()),
            code => code,
        };
        match code {
            // New since the keymap: the line break keys.
            KeyCode::Enter if alt || m == KeyModifiers::SHIFT => i.newline(),
            KeyCode::Char(c) if ctrl && c.eq_ignore_ascii_case(&'j') => i.newline(),
            KeyCode::Char(c) if plain || m == KeyModifiers::SHIFT => i.insert_char(c),
            KeyCode::Char(c) if ctrl => match c.to_ascii_lowercase() {
                'a' => i.home(),
                'e' => i.end(),
                'b' => i.move_left(),
                // Ctrl-F searches since the search came.
                'd' => i.delete(),
                'h' => i.backspace(),
                'w' => i.delete_word_before(),
                'u' => i.delete_to_start(),
                'k' => i.delete_to_end(),
                _ => return false,
            },
            KeyCode::Char('b') if alt => i.move_word_left(),
            KeyCode::Char('f') if alt => i.move_word_right(),
            KeyCode::Left if plain => i.move_left(),
            KeyCode::Right if plain => i.move_right(),
            KeyCode::Left if ctrl => i.move_word_left(),
            KeyCode::Right if ctrl => i.move_word_right(),
            KeyCode::Home if plain => i.home(),
            KeyCode::End if plain => i.end(),
            KeyCode::Backspace if plain => i.backspace(),
            KeyCode::Backspace if ctrl || alt => i.delete_word_before(),
            KeyCode::Delete if plain => i.delete(),
            _ => return false,
        }
        true
    }

    fn check_layout(i: &Input, width: usize) -> Result<(), TestCaseError> {
        for mode in [EmojiMode::Full, EmojiMode::Safe] {
            check_layout_in(i, width, mode)?;
        }
        Ok(())
    }

    fn check_layout_in(i: &Input, width: usize, mode: EmojiMode) -> Result<(), TestCaseError> {
        let display_width = |s: &str| display_width(&display_form(s, mode));
        let text = i.text();
        let l = i.layout(width, mode);
        let width = width.max(1);
        prop_assert!(!l.rows.is_empty());
        prop_assert_eq!(l.rows[0].start, 0);
        prop_assert_eq!(l.rows[l.rows.len() - 1].end, text.len());
        for pair in l.rows.windows(2) {
            prop_assert_eq!(pair[0].end, pair[1].start);
        }
        for row in &l.rows {
            prop_assert!(row.start <= row.end);
            prop_assert!(is_boundary(text, row.start) && is_boundary(text, row.end));
            let slice = &text[row.clone()];
            let single = slice.graphemes(true).count() == 1;
            prop_assert!(display_width(slice) <= width || single, "{slice:?}");
            // Only the row appended for the cursor may be empty.
            prop_assert!(!row.is_empty() || l.rows.len() == 1 || row.start == text.len());
        }
        prop_assert!(l.cursor_col < width, "col {} width {}", l.cursor_col, width);
        let row = l.rows.get(l.cursor_row).cloned();
        prop_assert!(row.is_some());
        let row = row.unwrap_or_default();
        prop_assert!(row.start <= i.cursor() && i.cursor() <= row.end);
        prop_assert_eq!(display_width(&text[row.start..i.cursor()]), l.cursor_col);
        // The cursor is on the last row that starts at or before it.
        let last = l.rows.iter().rposition(|r| r.start <= i.cursor());
        prop_assert_eq!(Some(l.cursor_row), last);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn prop_ops_keep_cursor_on_grapheme_boundary(ops in prop::collection::vec(op(), 0..40)) {
            let mut i = Input::new();
            for op in &ops {
                apply(&mut i, op);
                let text = i.text();
                prop_assert!(i.cursor() <= text.len());
                prop_assert!(text.is_char_boundary(i.cursor()));
                prop_assert!(is_boundary(text, i.cursor()), "{op:?} left cursor {} in {text:?}", i.cursor());
                prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
                prop_assert_eq!(i.is_empty(), text.is_empty());
            }
        }

        #[test]
        fn prop_layout_covers_text(ops in prop::collection::vec(op(), 0..30), width in 0usize..12) {
            let mut i = Input::new();
            for op in &ops {
                apply(&mut i, op);
            }
            check_layout(&i, width)?;
        }

        #[test]
        fn prop_layout_every_cursor_position(text in piece_text(), width in 0usize..10) {
            let mut i = input(&text);
            i.home();
            loop {
                check_layout(&i, width)?;
                let at = i.cursor();
                i.move_right();
                if i.cursor() == at {
                    break;
                }
            }
        }

        #[test]
        fn prop_keys_edit_as_before_the_keymap(
            text in piece_text(),
            left in 0usize..8,
            keys in prop::collection::vec(any_key(), 0..20),
        ) {
            let mut new = input(&text);
            for _ in 0..left {
                new.move_left();
            }
            let mut old = new.clone();
            for k in &keys {
                prop_assert_eq!(handle(&mut new, k), old_handle_key(&mut old, k), "{:?}", k);
                prop_assert_eq!(&new, &old, "{:?}", k);
            }
        }

        #[test]
        fn prop_backspace_undoes_typing_a_cluster(
            prefix in piece_text(),
            cluster in prop::sample::select(vec!["中", "👍🏽", FAMILY, "🇯🇵", "e\u{301}", "한", "x"]),
        ) {
            // After a space the cluster cannot merge with the prefix.
            let mut i = input(&format!("{prefix} "));
            let before = i.text().to_owned();
            i.insert_str(cluster);
            i.backspace();
            prop_assert_eq!(i.text(), before.as_str());
            prop_assert_eq!(i.cursor(), before.len());
        }
    }
}
