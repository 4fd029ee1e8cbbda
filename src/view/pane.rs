//! The message pane's geometry: lays out history entries in rows, and
//! scrolls by rows, without drawing anything.
//!
//! The scroll position is an [`Anchor`] (an entry and a row within it) at the
//! top of the view, or [`Scroll::Live`], which follows the newest entry. Every
//! operation walks entries outward from the anchor and stops once it has the
//! rows it needs, so the cost of a frame, a scroll step or a resize depends on
//! the size of the pane and the step, never on the length of the history.

use crate::history::{Entry, History};
use crate::present::{delivery_mark, system_text};
use crate::text::{EmojiMode, Row, display_form, display_width, wrap};

/// Fewest cells the first row must leave for text before it starts on
/// the next row instead.
const MIN_FIRST_ROOM: usize = 6;

/// Width of the `HH:MM ` time column.
pub const TIME_WIDTH: usize = 6;

/// A position in the history: row `row` of entry `entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// Index of the entry.
    pub entry: usize,
    /// Row within the entry's wrapped rows.
    pub row: usize,
}

/// Where the message pane looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scroll {
    /// Following the newest entry.
    #[default]
    Live,
    /// Held still with this row at the top of the pane.
    At(Anchor),
}

/// One entry laid out for a given width.
#[derive(Debug, Clone)]
pub struct EntryLayout {
    /// The text that is wrapped (the message, or a system line's words).
    pub text: String,
    /// The wrapped rows of `text`.
    pub rows: Vec<Row>,
    /// Cells before the text on the first row (time and name).
    pub prefix_width: usize,
    /// Cells before the text on later rows.
    pub indent: usize,
    /// Bytes at the end of `text` that are our message's delivery mark.
    pub mark_len: usize,
    /// Whether the unread marker ("── new ──") is drawn above the entry:
    /// then `rows[0]` is the marker's row (empty), and the entry's own rows
    /// follow.
    pub marker: bool,
}

impl EntryLayout {
    /// The index in `rows` of the entry's first row of its own (after the
    /// unread marker's, if it has one).
    pub fn first_row(&self) -> usize {
        usize::from(self.marker)
    }

    /// Puts the unread marker's row above the entry.
    fn mark(mut self) -> Self {
        if !self.marker {
            self.marker = true;
            self.rows.insert(
                0,
                Row {
                    start: 0,
                    end: 0,
                    width: 0,
                },
            );
        }
        self
    }
}

/// Lays out one entry for a pane `width` cells wide, its emoji drawn in
/// `emoji` mode (the laid out text is the one drawn, so rows are measured
/// as they will be on screen).
pub fn layout_entry(
    history: &History,
    entry: &Entry,
    width: usize,
    emoji: EmojiMode,
) -> EntryLayout {
    let mut mark_len = 0;
    let (text, prefix_width) = match entry {
        Entry::Chat {
            author,
            text,
            delivery,
            action,
            ..
        } => {
            let mark = delivery_mark(*delivery);
            let text = display_form(text, emoji);
            let text = if mark.is_empty() {
                text.into_owned()
            } else {
                mark_len = mark.len();
                format!("{text} {mark}")
            };
            // `name: ` before a message, `* name ` before an action.
            let around = if *action { 3 } else { 2 };
            (
                text,
                TIME_WIDTH
                    + display_width(&display_form(&history.author_name(*author), emoji))
                    + around,
            )
        }
        Entry::System { event, .. } => (
            display_form(&system_text(event), emoji).into_owned(),
            TIME_WIDTH + 2,
        ),
    };
    // Continuation rows line up under the text, unless the name is so long
    // that would leave too little room.
    let indent = if prefix_width <= width / 2 {
        prefix_width
    } else {
        TIME_WIDTH.min(width / 2)
    };
    let room = width.saturating_sub(prefix_width);
    let rest = width.saturating_sub(indent).max(1);
    // When the time and name leave (almost) no room on the first row, the
    // text starts on the next one: a first row of one cell would be drawn
    // past the row's end, and its letters lost.
    let rows = if room >= MIN_FIRST_ROOM || (room > 0 && display_width(&text) <= room) {
        wrap(&text, room, rest)
    } else {
        let mut rows = vec![Row {
            start: 0,
            end: 0,
            width: 0,
        }];
        rows.extend(wrap(&text, rest, rest));
        rows
    };
    EntryLayout {
        text,
        rows,
        prefix_width,
        indent,
        mark_len,
        marker: false,
    }
}

/// The history seen through a pane of a given size.
#[derive(Debug, Clone, Copy)]
pub struct Pane<'a> {
    /// The history shown.
    pub history: &'a History,
    /// Width in cells.
    pub width: usize,
    /// Height in rows.
    pub height: usize,
    /// The entry the unread marker is drawn above, if any: one row more.
    pub marker: Option<usize>,
    /// How emoji are drawn.
    pub emoji: EmojiMode,
}

impl<'a> Pane<'a> {
    /// A pane of `width` × `height` cells over `history`, drawing emoji in
    /// `emoji` mode.
    pub fn new(history: &'a History, width: usize, height: usize, emoji: EmojiMode) -> Self {
        Self {
            history,
            width,
            height,
            marker: None,
            emoji,
        }
    }

    /// The same pane with the unread marker above entry `marker`.
    pub fn with_marker(self, marker: Option<usize>) -> Self {
        Self { marker, ..self }
    }

    /// Entry `index` laid out, with the unread marker's row if it is there.
    fn layout(&self, index: usize, entry: &Entry) -> EntryLayout {
        let layout = layout_entry(self.history, entry, self.width, self.emoji);
        if self.marker == Some(index) {
            layout.mark()
        } else {
            layout
        }
    }

    /// Rows entry `index` takes.
    fn rows(&self, index: usize) -> usize {
        self.history
            .entries()
            .get(index)
            .map_or(0, |entry| self.layout(index, entry).rows.len())
    }

    /// The top of the view when following the newest entry, or `None` when
    /// all of the history fits in the pane.
    pub fn live_top(&self) -> Option<Anchor> {
        let mut needed = self.height;
        for index in (0..self.history.len()).rev() {
            let rows = self.rows(index);
            if rows >= needed {
                let row = rows - needed;
                return (index > 0 || row > 0).then_some(Anchor { entry: index, row });
            }
            needed -= rows;
        }
        None
    }

    /// Whether everything from `anchor` to the newest entry fits in the pane.
    fn fits_from(&self, anchor: Anchor) -> bool {
        let mut total = 0;
        for index in anchor.entry..self.history.len() {
            total += self.rows(index);
            if index == anchor.entry {
                total -= anchor.row.min(total);
            }
            if total > self.height {
                return false;
            }
        }
        true
    }

    /// `Live` if the view at `scroll` already shows the newest entry.
    pub fn normalize(&self, scroll: Scroll) -> Scroll {
        match scroll {
            Scroll::At(anchor) if !self.fits_from(anchor) => scroll,
            _ => Scroll::Live,
        }
    }

    /// The view `n` rows further back.
    pub fn up(&self, scroll: Scroll, n: usize) -> Scroll {
        let Some(mut anchor) = (match scroll {
            Scroll::Live => self.live_top(),
            Scroll::At(anchor) => Some(anchor),
        }) else {
            return Scroll::Live; // everything fits: nothing to scroll
        };
        let mut left = n;
        while left > 0 {
            if anchor.row >= left {
                anchor.row -= left;
                break;
            }
            left -= anchor.row;
            if anchor.entry == 0 {
                anchor.row = 0;
                break;
            }
            anchor.entry -= 1;
            anchor.row = self.rows(anchor.entry);
        }
        Scroll::At(anchor)
    }

    /// The view `n` rows further forward; `Live` once the newest entry shows.
    pub fn down(&self, scroll: Scroll, n: usize) -> Scroll {
        let Scroll::At(mut anchor) = scroll else {
            return Scroll::Live;
        };
        anchor.row += n;
        loop {
            let rows = self.rows(anchor.entry);
            if anchor.row < rows || anchor.entry + 1 >= self.history.len() {
                break;
            }
            anchor.row -= rows;
            anchor.entry += 1;
        }
        self.normalize(Scroll::At(anchor))
    }

    /// The view at the very first entry.
    pub fn oldest(&self) -> Scroll {
        self.normalize(Scroll::At(Anchor { entry: 0, row: 0 }))
    }

    /// The rows visible at `scroll`, top to bottom: each entry's index, its
    /// layout, and the range of its rows that shows.
    pub fn visible(&self, scroll: Scroll) -> Vec<(usize, EntryLayout, std::ops::Range<usize>)> {
        let top = match self.normalize(scroll) {
            Scroll::At(anchor) => Some(anchor),
            Scroll::Live => self.live_top(),
        };
        let top = top.unwrap_or(Anchor { entry: 0, row: 0 });
        let mut shown = Vec::new();
        let mut left = self.height;
        let mut skip = top.row;
        for (index, entry) in self.history.entries().iter().enumerate().skip(top.entry) {
            if left == 0 {
                break;
            }
            let layout = self.layout(index, entry);
            let start = skip.min(layout.rows.len());
            let end = (start + left).min(layout.rows.len());
            left -= end - start;
            skip = 0;
            shown.push((index, layout, start..end));
        }
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Delivery, Entry};
    use crate::protocol::MessageId;

    fn history_of(texts: &[&str]) -> History {
        let mut history = History::new("me");
        let bob = history.add_author("bob", "guest");
        for (seq, text) in texts.iter().enumerate() {
            history.push(Entry::Chat {
                at_ms: 0,
                author: bob,
                id: MessageId {
                    session: 1,
                    seq: seq as u64,
                },
                text: (*text).into(),
                delivery: Delivery::Received,
                action: false,
            });
        }
        history
    }

    fn numbered(count: usize) -> History {
        let texts: Vec<String> = (0..count).map(|i| format!("message {i}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        history_of(&refs)
    }

    fn first_visible(pane: &Pane<'_>, scroll: Scroll) -> (usize, usize) {
        let visible = pane.visible(scroll);
        let (index, _, rows) = &visible[0];
        (*index, rows.start)
    }

    #[test]
    fn continuation_rows_line_up_under_the_text() {
        let history = history_of(&["aaaa bbbb cccc dddd"]);
        let layout = layout_entry(&history, &history.entries()[0], 24, EmojiMode::Full);
        // "12:00 bob: " is 11 cells, leaving 13 for text.
        assert_eq!(layout.prefix_width, 11);
        assert_eq!(layout.indent, 11);
        assert_eq!(layout.rows.len(), 2);
    }

    #[test]
    fn no_letter_is_lost_when_the_name_nearly_fills_the_row() {
        let mut history = History::new("alice");
        let twin = history.add_author("alice", "guest");
        history.push(Entry::Chat {
            at_ms: 0,
            author: twin,
            id: MessageId { session: 1, seq: 1 },
            text: "hello from the twin".into(),
            delivery: Delivery::Received,
            action: false,
        });
        // "12:00 alice (guest): " takes 21 cells of 20.
        let layout = layout_entry(&history, &history.entries()[0], 20, EmojiMode::Full);
        assert_eq!((layout.rows[0].start, layout.rows[0].end), (0, 0));
        assert_eq!(
            layout.rows[1].start, 0,
            "the text starts whole on the next row"
        );
        let shown: String = layout
            .rows
            .iter()
            .map(|r| &layout.text[r.start..r.end])
            .collect();
        assert_eq!(shown.replace(' ', ""), "hellofromthetwin");
        // With room enough, the text starts beside the name as before.
        let wide = layout_entry(&history, &history.entries()[0], 40, EmojiMode::Full);
        assert_eq!(wide.rows[0].start, 0);
        assert!(wide.rows[0].end > 0);
    }

    #[test]
    fn safe_mode_lays_out_the_emoji_as_drawn() {
        let heart = "❤\u{fe0f}";
        let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦";
        let history = history_of(&[&format!("{heart} x {family} y 👍\u{fe0e} z")]);
        let entry = &history.entries()[0];
        let safe = layout_entry(&history, entry, 80, EmojiMode::Safe);
        assert_eq!(safe.text, "❤  x 👨 y 👍 z");
        assert_eq!(safe.rows[0].width, 14);
        // The history keeps the message as it came.
        let Entry::Chat { text, .. } = entry else {
            panic!("a chat entry");
        };
        assert!(text.contains(family));
        let full = layout_entry(&history, entry, 80, EmojiMode::Full);
        assert_eq!(full.text, format!("{heart} x {family} y 👍\u{fe0e} z"));
        assert_eq!(full.rows[0].width, 13);
    }

    #[test]
    fn live_view_shows_the_newest_rows() {
        let history = numbered(100);
        let pane = Pane::new(&history, 40, 10, EmojiMode::Full);
        let visible = pane.visible(Scroll::Live);
        assert_eq!(visible.len(), 10);
        assert_eq!(visible.last().map(|v| v.0), Some(99));
        assert_eq!(visible[0].0, 90);
    }

    #[test]
    fn short_history_is_live_and_cannot_scroll() {
        let history = numbered(3);
        let pane = Pane::new(&history, 40, 10, EmojiMode::Full);
        assert_eq!(pane.live_top(), None);
        assert_eq!(pane.up(Scroll::Live, 5), Scroll::Live);
        assert_eq!(pane.oldest(), Scroll::Live);
    }

    #[test]
    fn scrolling_up_and_down_returns_to_live() {
        let history = numbered(100);
        let pane = Pane::new(&history, 40, 10, EmojiMode::Full);
        let up = pane.up(Scroll::Live, 25);
        assert_eq!(first_visible(&pane, up), (65, 0));
        let back = pane.down(up, 20);
        assert_eq!(first_visible(&pane, back), (85, 0));
        assert!(matches!(back, Scroll::At(_)));
        assert_eq!(pane.down(back, 5), Scroll::Live);
    }

    #[test]
    fn scrolling_past_the_oldest_stops_there() {
        let history = numbered(30);
        let pane = Pane::new(&history, 40, 10, EmojiMode::Full);
        let top = pane.up(Scroll::Live, 1000);
        assert_eq!(top, Scroll::At(Anchor { entry: 0, row: 0 }));
        assert_eq!(pane.oldest(), top);
    }

    #[test]
    fn scrolling_moves_through_wrapped_rows_one_at_a_time() {
        // Each message wraps to 3 rows at this width.
        let long = "word ".repeat(12);
        let texts: Vec<&str> = (0..20).map(|_| long.as_str()).collect();
        let history = history_of(&texts);
        let pane = Pane::new(&history, 30, 5, EmojiMode::Full);
        let rows = layout_entry(&history, &history.entries()[0], 30, EmojiMode::Full)
            .rows
            .len();
        assert_eq!(rows, 3);
        let live = pane.live_top().unwrap();
        // 60 rows in all, 5 visible: the top is row 55 = entry 18, row 1.
        assert_eq!(live, Anchor { entry: 18, row: 1 });
        assert_eq!(
            pane.up(Scroll::Live, 1),
            Scroll::At(Anchor { entry: 18, row: 0 })
        );
        assert_eq!(
            pane.up(Scroll::Live, 2),
            Scroll::At(Anchor { entry: 17, row: 2 })
        );
    }

    #[test]
    fn the_unread_marker_takes_a_row_above_its_entry() {
        let history = numbered(30);
        let plain = Pane::new(&history, 40, 10, EmojiMode::Full);
        let marked = plain.with_marker(Some(25));
        let visible = marked.visible(Scroll::Live);
        assert_eq!(visible.len(), 9, "one entry fewer fits");
        assert_eq!(visible[0].0, 21);
        let (index, layout, rows) = &visible[4];
        assert_eq!(*index, 25);
        assert!(layout.marker && layout.first_row() == 1);
        assert_eq!(rows.clone(), 0..2, "the marker's row and the message's");
        assert!(!visible[5].1.marker);
        // Scrolling counts the marker's row like any other.
        assert_eq!(
            first_visible(&marked, marked.up(Scroll::Live, 6)),
            (15, 0),
            "from entry 21, six rows up, none of them the marker's"
        );
        assert_eq!(first_visible(&marked, marked.up(Scroll::Live, 0)), (21, 0));
        assert_eq!(plain.visible(Scroll::Live)[0].0, 20);
    }

    #[test]
    fn a_view_that_reaches_the_end_is_live() {
        let history = numbered(12);
        let pane = Pane::new(&history, 40, 10, EmojiMode::Full);
        assert_eq!(
            pane.normalize(Scroll::At(Anchor { entry: 2, row: 0 })),
            Scroll::Live
        );
        assert!(matches!(
            pane.normalize(Scroll::At(Anchor { entry: 1, row: 0 })),
            Scroll::At(_)
        ));
    }
}
