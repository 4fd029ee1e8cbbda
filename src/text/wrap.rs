//! Word wrapping: splitting text into [`Row`]s no wider than a given number of cells.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// One wrapped row: byte range `start..end` of the source text, and its width in cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Byte offset of the row's first grapheme in the source text.
    pub start: usize,
    /// Byte offset just past the row's last grapheme (exclusive).
    pub end: usize,
    /// Width of `text[start..end]` in cells.
    pub width: usize,
}

/// Word-wrap `text`: first row at most `first` cells wide, later rows at most `rest` cells.
///
/// * Breaks at whitespace where possible; the whitespace at a break belongs to no row.
///   Leading whitespace of a line's first row (indentation) is kept.
/// * A wide grapheme (CJK, emoji) may be broken before and after, so text without
///   spaces fills rows completely.
/// * A word longer than a row is broken between graphemes; a grapheme cluster is never split.
/// * `'\n'` (or `"\r\n"`) forces a break and belongs to no row: `"a\n\nb"` gives three rows.
/// * A grapheme wider than the limit gets a row of its own, the only case where a row
///   is wider than its limit. A limit of 0 is treated as 1.
/// * Always returns at least one row; empty text gives one empty row.
///
/// Runs in a single pass, linear in the length of `text`.
pub fn wrap(text: &str, first: usize, rest: usize) -> Vec<Row> {
    let mut w = Wrapper::new(first.max(1), rest.max(1));
    // `base` is where `graphemes` started, so that a word that has to be re-read from
    // its start (see `Wrapper::fit`) can restart the iterator there.
    let mut base = 0;
    let mut graphemes = text.grapheme_indices(true);
    while let Some((rel, g)) = graphemes.next() {
        let i = base + rel;
        let next = i + g.len();
        if is_newline(g) {
            w.commit_word();
            w.push_row();
            w.begin_row(next);
        } else if is_breaking_space(g) {
            w.commit_word();
            w.gap += g.width();
        } else {
            let gw = g.width();
            if gw >= 2 {
                // A wide grapheme is a word of its own: breakable before and after.
                w.commit_word();
                w.word_start = i;
                w.word_end = next;
                w.word_width = gw;
                w.fit(i, gw);
                w.commit_word();
            } else {
                if w.word_end == w.word_start {
                    w.word_start = i;
                }
                w.word_end = next;
                w.word_width += gw;
                if let Some(restart) = w.fit(i, gw) {
                    base = restart;
                    graphemes = text[restart..].grapheme_indices(true);
                }
            }
        }
    }
    w.commit_word();
    w.push_row();
    w.rows
}

/// State of the greedy wrapper. The current row is laid out as
/// `start..end` (committed: ends at a break opportunity), then `gap` cells of
/// whitespace, then the pending unbreakable word `word_start..word_end`.
struct Wrapper {
    rows: Vec<Row>,
    rest: usize,
    limit: usize,
    start: usize,
    end: usize,
    width: usize,
    gap: usize,
    word_start: usize,
    word_end: usize,
    word_width: usize,
}

impl Wrapper {
    fn new(first: usize, rest: usize) -> Self {
        Self {
            rows: Vec::new(),
            rest,
            limit: first,
            start: 0,
            end: 0,
            width: 0,
            gap: 0,
            word_start: 0,
            word_end: 0,
            word_width: 0,
        }
    }

    /// Start an empty row at byte `at`, holding no pending word or whitespace.
    fn begin_row(&mut self, at: usize) {
        self.limit = self.rest;
        self.start = at;
        self.end = at;
        self.width = 0;
        self.gap = 0;
        self.word_start = at;
        self.word_end = at;
        self.word_width = 0;
    }

    fn push_row(&mut self) {
        self.rows.push(Row {
            start: self.start,
            end: self.end,
            width: self.width,
        });
    }

    /// Move the pending word (and the whitespace before it) into the committed part.
    fn commit_word(&mut self) {
        if self.word_end > self.word_start {
            self.width += self.gap + self.word_width;
            self.end = self.word_end;
            self.gap = 0;
            self.word_start = self.word_end;
            self.word_width = 0;
        }
    }

    /// Break rows until the pending word, whose last grapheme starts at `i` and is
    /// `gw` cells wide, fits. Returns a byte offset to re-read the text from when the
    /// word had to move to a narrower row that it does not fit either.
    fn fit(&mut self, i: usize, gw: usize) -> Option<usize> {
        while self.width + self.gap + self.word_width > self.limit {
            if self.end > self.start {
                // Break at the last opportunity; the whitespace there is dropped.
                self.push_row();
                let (word_start, word_end) = (self.word_start, self.word_end);
                let word_width = self.word_width;
                self.begin_row(word_start);
                if word_width > self.limit && word_start < i {
                    // Only possible when `first > rest`: the word fitted the first row
                    // so far but is too long for the next one. Re-reading it from its
                    // start breaks it between graphemes; each grapheme is re-read at
                    // most once, so wrapping stays linear.
                    return Some(word_start);
                }
                self.word_end = word_end;
                self.word_width = word_width;
            } else if self.word_start > self.start {
                // Only indentation precedes the word: drop it rather than emit a blank row.
                self.start = self.word_start;
                self.end = self.word_start;
                self.gap = 0;
            } else if self.word_start < i {
                // The word alone is wider than the row: break it before this grapheme.
                self.end = i;
                self.width = self.word_width - gw;
                self.push_row();
                let word_end = self.word_end;
                self.begin_row(i);
                self.word_end = word_end;
                self.word_width = gw;
            } else {
                // A single grapheme wider than the whole row: it gets a row of its own.
                break;
            }
        }
        None
    }
}

/// A hard line break.
fn is_newline(g: &str) -> bool {
    g == "\n" || g == "\r\n"
}

/// Whitespace that a line may be broken at. No-break spaces are kept inside words.
fn is_breaking_space(g: &str) -> bool {
    g.chars()
        .all(|c| c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{2007}' | '\u{202F}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::display_width;
    use crate::text::strategies::any_text;
    use proptest::prelude::*;

    /// The text of each row, for readable assertions.
    fn rows(text: &str, first: usize, rest: usize) -> Vec<&str> {
        wrap(text, first, rest)
            .iter()
            .map(|r| &text[r.start..r.end])
            .collect()
    }

    fn widths(text: &str, first: usize, rest: usize) -> Vec<usize> {
        wrap(text, first, rest).iter().map(|r| r.width).collect()
    }

    #[test]
    fn wrap_empty_text_is_one_empty_row() {
        assert_eq!(
            wrap("", 10, 10),
            vec![Row {
                start: 0,
                end: 0,
                width: 0
            }]
        );
        assert_eq!(wrap("", 0, 0).len(), 1);
    }

    #[test]
    fn wrap_short_text_is_one_row() {
        assert_eq!(rows("hello world", 20, 20), vec!["hello world"]);
        assert_eq!(widths("hello world", 20, 20), vec![11]);
        assert_eq!(rows("hello world", 11, 1), vec!["hello world"]);
    }

    #[test]
    fn wrap_breaks_at_spaces_and_drops_them() {
        assert_eq!(rows("hello world", 5, 5), vec!["hello", "world"]);
        assert_eq!(rows("aaa    bbb", 5, 5), vec!["aaa", "bbb"]);
        assert_eq!(
            rows("the quick brown fox", 10, 10),
            vec!["the quick", "brown fox"]
        );
        assert_eq!(widths("the quick brown fox", 10, 10), vec![9, 9]);
        // Trailing whitespace never makes an extra row.
        assert_eq!(rows("abc      ", 4, 4), vec!["abc"]);
    }

    #[test]
    fn wrap_keeps_indentation_unless_it_cannot_fit() {
        assert_eq!(rows("  ab cd", 10, 10), vec!["  ab cd"]);
        assert_eq!(rows("  ab\n    cd", 10, 10), vec!["  ab", "    cd"]);
        assert_eq!(rows("      abc", 4, 4), vec!["abc"]);
    }

    #[test]
    fn wrap_newlines_force_breaks() {
        assert_eq!(rows("a\n\nb", 10, 10), vec!["a", "", "b"]);
        assert_eq!(rows("a\nb", 10, 10), vec!["a", "b"]);
        assert_eq!(rows("a\n", 10, 10), vec!["a", ""]);
        assert_eq!(rows("\n", 10, 10), vec!["", ""]);
        assert_eq!(rows("a\r\nb", 10, 10), vec!["a", "b"]);
        assert_eq!(rows("a  \nb", 10, 10), vec!["a", "b"]);
    }

    #[test]
    fn wrap_breaks_long_words_between_graphemes() {
        assert_eq!(rows("abcdefghij", 4, 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(
            rows("e\u{301}e\u{301}e\u{301}", 2, 2),
            vec!["e\u{301}e\u{301}", "e\u{301}"]
        );
        assert_eq!(rows("go abcdefgh", 4, 4), vec!["go", "abcd", "efgh"]);
    }

    #[test]
    fn wrap_fills_rows_with_cjk() {
        assert_eq!(
            rows("中文日本語한국어", 6, 6),
            vec!["中文日", "本語한", "국어"]
        );
        assert_eq!(rows("中文日本語", 5, 5), vec!["中文", "日本", "語"]);
        assert_eq!(widths("中文日本語", 5, 5), vec![4, 4, 2]);
    }

    #[test]
    fn wrap_breaks_around_wide_graphemes_without_spaces() {
        assert_eq!(rows("hello中文", 7, 7), vec!["hello中", "文"]);
        // The break goes after 中, not inside the word "cd".
        assert_eq!(rows("ab中cd", 3, 3), vec!["ab", "中", "cd"]);
        assert_eq!(rows("ok👍done", 4, 4), vec!["ok👍", "done"]);
    }

    #[test]
    fn wrap_never_splits_emoji_clusters() {
        let family = "👨\u{200d}👩\u{200d}👧";
        let text = format!("{family}👍🏽🇯🇵");
        assert_eq!(rows(&text, 2, 2), vec![family, "👍🏽", "🇯🇵"]);
        assert_eq!(
            rows(&text, 5, 5),
            vec![format!("{family}👍🏽").as_str(), "🇯🇵"]
        );
        assert_eq!(rows("🇯🇵🇯🇵", 3, 3), vec!["🇯🇵", "🇯🇵"]);
    }

    #[test]
    fn wrap_gives_oversized_graphemes_their_own_row() {
        assert_eq!(rows("a中b", 1, 1), vec!["a", "中", "b"]);
        assert_eq!(widths("a中b", 1, 1), vec![1, 2, 1]);
        assert_eq!(rows("👍🏽👍🏽", 1, 1), vec!["👍🏽", "👍🏽"]);
    }

    #[test]
    fn wrap_treats_zero_width_as_one() {
        assert_eq!(wrap("abc de", 0, 0), wrap("abc de", 1, 1));
        assert_eq!(rows("abc", 0, 0), vec!["a", "b", "c"]);
        assert_eq!(rows("ab cd", 0, 3), vec!["a", "b", "cd"]);
    }

    #[test]
    fn wrap_uses_first_and_rest_limits() {
        assert_eq!(rows("aa bb cc dd", 5, 2), vec!["aa bb", "cc", "dd"]);
        assert_eq!(rows("aa bb cc dd", 2, 5), vec!["aa", "bb cc", "dd"]);
        // A word that fits the wide first row but not the narrower later rows is broken.
        assert_eq!(
            rows("aa bbbbbbbbbb", 12, 4),
            vec!["aa", "bbbb", "bbbb", "bb"]
        );
        assert_eq!(widths("aa bbbbbbbbbb", 12, 4), vec![2, 4, 4, 2]);
    }

    #[test]
    fn wrap_does_not_break_at_no_break_space() {
        assert_eq!(rows("a\u{a0}b c", 3, 3), vec!["a\u{a0}b", "c"]);
    }

    #[test]
    fn wrap_handles_long_text_linearly() {
        // One huge word with first > rest exercises the re-read path; a quadratic
        // implementation would make this test crawl.
        let text = format!("x {}", "y".repeat(200_000));
        let r = wrap(&text, 100_000, 7);
        assert_eq!(r.len(), 1 + 200_000usize.div_ceil(7));
        assert!(r.iter().skip(1).all(|row| row.width <= 7));
        let cjk = "中".repeat(100_000);
        assert_eq!(wrap(&cjk, 80, 80).len(), 100_000usize.div_ceil(40));
    }

    fn grapheme_boundaries(text: &str) -> Vec<usize> {
        let mut b: Vec<usize> = text.grapheme_indices(true).map(|(i, _)| i).collect();
        b.push(text.len());
        b
    }

    fn check_wrap(text: &str, first: usize, rest: usize) -> Result<(), TestCaseError> {
        let rows = wrap(text, first, rest);
        prop_assert!(!rows.is_empty());
        let bounds = grapheme_boundaries(text);
        let mut prev_end = 0;
        for (k, row) in rows.iter().enumerate() {
            prop_assert!(prev_end <= row.start && row.start <= row.end, "{rows:?}");
            prop_assert!(row.end <= text.len());
            prop_assert!(bounds.binary_search(&row.start).is_ok(), "start {row:?}");
            prop_assert!(bounds.binary_search(&row.end).is_ok(), "end {row:?}");
            let slice = &text[row.start..row.end];
            prop_assert_eq!(row.width, display_width(slice));
            let limit = if k == 0 { first } else { rest }.max(1);
            let single = slice.graphemes(true).count() == 1;
            prop_assert!(row.width <= limit || single, "row {k} {slice:?} > {limit}");
            // Whatever lies between rows is whitespace that a break dropped.
            let between = &text[prev_end..row.start];
            prop_assert!(between.chars().all(char::is_whitespace), "{between:?}");
            prev_end = row.end;
        }
        prop_assert!(text[prev_end..].chars().all(char::is_whitespace));
        let solid = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let joined: String = rows.iter().map(|r| solid(&text[r.start..r.end])).collect();
        prop_assert_eq!(joined, solid(text));
        // Every hard newline starts a new row.
        let lines = text.matches('\n').count() + 1;
        prop_assert!(rows.len() >= lines);
        check_greedy(text, &rows, first, rest)
    }

    /// Rows are filled greedily: a soft break happens only because what follows it
    /// (the next word, wide grapheme, or grapheme of a broken word) did not fit.
    fn check_greedy(
        text: &str,
        rows: &[Row],
        first: usize,
        rest: usize,
    ) -> Result<(), TestCaseError> {
        let is_word_char = |g: &str| !is_breaking_space(g) && g.width() < 2;
        for (k, pair) in rows.windows(2).enumerate() {
            let (prev, next) = (pair[0], pair[1]);
            let between = &text[prev.end..next.start];
            if between.contains('\n') {
                continue;
            }
            let limit = if k == 0 { first } else { rest }.max(1);
            let last = text[prev.start..prev.end].graphemes(true).next_back();
            let mut after = text[next.start..].graphemes(true);
            let head = after.clone().next().unwrap_or("");
            let mid_word =
                between.is_empty() && last.is_some_and(is_word_char) && is_word_char(head);
            let unit = if mid_word || head.width() >= 2 {
                head.width()
            } else {
                after
                    .by_ref()
                    .take_while(|g| is_word_char(g))
                    .map(|g| g.width())
                    .sum()
            };
            let gap = if mid_word { 0 } else { display_width(between) };
            prop_assert!(
                prev.width + gap + unit > limit,
                "row {k} {:?} could hold {:?}",
                &text[prev.start..prev.end],
                &text[next.start..next.end]
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn prop_wrap_invariants(text in any_text(), first in 0usize..12, rest in 0usize..12) {
            check_wrap(&text, first, rest)?;
        }

        #[test]
        fn prop_wrap_fills_cjk_rows(n in 0usize..80, limit in 2usize..20) {
            let text = "中".repeat(n);
            let rows = wrap(&text, limit, limit);
            let full = limit / 2 * 2;
            for row in &rows[..rows.len() - 1] {
                prop_assert_eq!(row.width, full);
            }
        }
    }
}
