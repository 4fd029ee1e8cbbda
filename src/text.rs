//! Measuring, wrapping and sanitizing text for display in the terminal.
//!
//! Widths are measured per grapheme cluster with `unicode-width`, exactly as ratatui
//! measures when it draws, so the rows computed here line up with what is on screen.
//! Everything here is pure and total: no input (including a width of 0) makes it panic.

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Widest a peer's display name may be, in terminal cells, after [`sanitize_name`].
pub const MAX_NAME_WIDTH: usize = 24;

/// What a display name becomes when nothing visible is left of it.
const ANONYMOUS: &str = "anonymous";

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// Display width in terminal cells (sum of grapheme widths).
pub fn display_width(s: &str) -> usize {
    s.graphemes(true).map(UnicodeWidthStr::width).sum()
}

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

/// What [`sanitize_text`] does with one char.
enum Fix {
    Keep,
    Drop,
    Put(char),
}

/// Bidi controls (overrides, embeddings, isolates, marks) and invisible zero-width
/// chars: removed, because they can reorder or hide what a peer's text looks like.
fn is_stripped(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{180E}'
            | '\u{00AD}'
    )
}

/// Whether `c` may stand next to a ZWJ/ZWNJ that is kept: joiners are only meaningful
/// between non-ASCII visible chars (emoji sequences, Persian, Indic scripts).
fn can_join(c: Option<char>) -> bool {
    c.is_some_and(|c| {
        !c.is_ascii()
            && !c.is_whitespace()
            && !c.is_control()
            && !is_stripped(c)
            && c != ZWJ
            && c != ZWNJ
    })
}

fn fix(prev: Option<char>, c: char, next: Option<char>) -> Fix {
    match c {
        '\n' => Fix::Keep,
        '\t' => Fix::Put(' '),
        '\u{2028}' | '\u{2029}' => Fix::Put('\n'),
        // CRLF is a line break from another platform, not a stray carriage return.
        '\r' if next == Some('\n') => Fix::Drop,
        // Control Pictures: U+2400 + code shows the control visibly instead of running it.
        '\u{0}'..='\u{1F}' => Fix::Put(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{FFFD}')),
        '\u{7F}' => Fix::Put('\u{2421}'),
        '\u{80}'..='\u{9F}' => Fix::Put('\u{FFFD}'),
        ZWJ | ZWNJ => {
            if can_join(prev) && can_join(next) {
                Fix::Keep
            } else {
                Fix::Drop
            }
        }
        c if is_stripped(c) => Fix::Drop,
        _ => Fix::Keep,
    }
}

/// Make text received from the network safe to display.
///
/// Keeps `'\n'`; tab becomes a space; U+2028/U+2029 and CRLF become `'\n'`; other C0
/// controls become their Control Pictures glyph (ESC → `␛`), DEL becomes `␡`, C1
/// controls become U+FFFD. Bidi controls and invisible zero-width chars are removed.
/// ZWJ/ZWNJ are kept only between two non-ASCII, non-whitespace, non-control chars.
/// Returns `Cow::Borrowed` when nothing changes.
pub fn sanitize_text(s: &str) -> Cow<'_, str> {
    // Fast path for the common case: printable ASCII and newlines need no change.
    if s.bytes().all(|b| b == b'\n' || (0x20..0x7F).contains(&b)) {
        return Cow::Borrowed(s);
    }
    let mut out: Option<String> = None;
    let mut prev = None;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let fix = fix(prev, c, next);
        prev = Some(c);
        match (fix, out.as_mut()) {
            (Fix::Keep, None) => {}
            (Fix::Keep, Some(o)) => o.push(c),
            (fix, o) => {
                // First change: copy the untouched prefix once, then build from there.
                let o = match o {
                    Some(o) => o,
                    None => {
                        let mut o = String::with_capacity(s.len() + 8);
                        o.push_str(&s[..i]);
                        out.insert(o)
                    }
                };
                if let Fix::Put(r) = fix {
                    o.push(r);
                }
            }
        }
    }
    out.map_or(Cow::Borrowed(s), Cow::Owned)
}

/// Make a peer's display name safe and short: [`sanitize_text`], collapse every
/// whitespace run (newlines included) to one space, trim, and truncate by grapheme to
/// at most [`MAX_NAME_WIDTH`] cells. A name with nothing visible left is `"anonymous"`.
pub fn sanitize_name(s: &str) -> String {
    let clean = sanitize_text(s);
    let mut name = String::new();
    let mut width = 0;
    for word in clean.split_whitespace() {
        // Count the separating space as we go so truncation sees the final layout.
        let mut pieces = if name.is_empty() { "" } else { " " }
            .graphemes(true)
            .chain(word.graphemes(true));
        let fitted = pieces.try_for_each(|g| {
            let gw = g.width();
            if width + gw > MAX_NAME_WIDTH {
                return Err(());
            }
            width += gw;
            name.push_str(g);
            Ok(())
        });
        if fitted.is_err() {
            break;
        }
    }
    // Truncation may leave a dangling space or joiner at the end.
    let trimmed = name.trim_end_matches(|c: char| c.is_whitespace() || c == ZWJ || c == ZWNJ);
    if display_width(trimmed) == 0 {
        ANONYMOUS.to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn display_width_counts_cells_per_grapheme() {
        assert_eq!(display_width(""), 0);
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("中文"), 4);
        assert_eq!(display_width("日本語"), 6);
        assert_eq!(display_width("한국어"), 6);
        assert_eq!(display_width("👍"), 2);
        assert_eq!(display_width("👍🏽"), 2);
        assert_eq!(display_width("👨\u{200d}👩\u{200d}👧"), 2);
        assert_eq!(display_width("🇯🇵"), 2);
        assert_eq!(display_width("e\u{301}"), 1);
        assert_eq!(display_width("a中👍🏽e\u{301}"), 6);
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

    #[test]
    fn sanitize_keeps_clean_text_borrowed() {
        for s in [
            "",
            "hello\nworld",
            "中文 日本語 한국어",
            "👍🏽 🇯🇵 e\u{301}",
            "👨\u{200d}👩\u{200d}👧",
            "می\u{200c}خواهم",
        ] {
            assert!(
                matches!(sanitize_text(s), Cow::Borrowed(b) if b == s),
                "{s:?}"
            );
        }
    }

    #[test]
    fn sanitize_replaces_controls_visibly() {
        assert_eq!(sanitize_text("a\tb"), "a b");
        assert_eq!(sanitize_text("\u{1b}[31mred"), "\u{241b}[31mred");
        assert_eq!(sanitize_text("\u{0}"), "\u{2400}");
        assert_eq!(sanitize_text("\u{7}"), "\u{2407}");
        assert_eq!(sanitize_text("x\u{7f}"), "x\u{2421}");
        assert_eq!(sanitize_text("\u{85}\u{9b}"), "\u{fffd}\u{fffd}");
        assert_eq!(sanitize_text("a\u{2028}b\u{2029}c"), "a\nb\nc");
        assert_eq!(sanitize_text("a\r\nb"), "a\nb");
        assert_eq!(sanitize_text("a\rb"), "a\u{240d}b");
        assert!(matches!(sanitize_text("a\tb"), Cow::Owned(_)));
    }

    #[test]
    fn sanitize_removes_bidi_and_invisible_chars() {
        let removed = [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}', '\u{200b}', '\u{2060}',
            '\u{2061}', '\u{2062}', '\u{2063}', '\u{2064}', '\u{feff}', '\u{180e}', '\u{ad}',
        ];
        for c in removed {
            assert_eq!(sanitize_text(&format!("x{c}y")), "xy", "U+{:04X}", c as u32);
            assert_eq!(
                sanitize_text(&format!("中{c}文")),
                "中文",
                "U+{:04X}",
                c as u32
            );
        }
        assert_eq!(sanitize_text("evil\u{202e}txt.exe"), "eviltxt.exe");
    }

    #[test]
    fn sanitize_keeps_joiners_only_between_non_ascii() {
        assert_eq!(sanitize_text("pay\u{200d}pal"), "paypal");
        assert_eq!(sanitize_text("a\u{200c}b"), "ab");
        assert_eq!(sanitize_text("\u{200d}👩"), "👩");
        assert_eq!(sanitize_text("👨\u{200d}"), "👨");
        assert_eq!(sanitize_text("👨 \u{200d}👩"), "👨 👩");
        assert_eq!(sanitize_text("👨\u{200d}\u{200d}👩"), "👨👩");
        assert_eq!(sanitize_text("👨\u{200b}\u{200d}👩"), "👨👩");
        assert_eq!(sanitize_text("👨\u{200d}a"), "👨a");
        assert_eq!(sanitize_text("👨\u{200d}👩"), "👨\u{200d}👩");
        assert_eq!(sanitize_text("❤\u{fe0f}\u{200d}🔥"), "❤\u{fe0f}\u{200d}🔥");
        assert_eq!(sanitize_text("می\u{200c}خواهم"), "می\u{200c}خواهم");
        // Devanagari half-form: KSSA via virama + ZWJ.
        assert_eq!(sanitize_text("क्\u{200d}ष"), "क्\u{200d}ष");
    }

    #[test]
    fn sanitize_name_collapses_whitespace_and_trims() {
        assert_eq!(sanitize_name("  alice  \n bob\t"), "alice bob");
        assert_eq!(sanitize_name("中文\u{3000}名前"), "中文 名前");
        assert_eq!(sanitize_name("e\u{301}mile"), "e\u{301}mile");
        assert_eq!(sanitize_name("\u{1b}[2J"), "\u{241b}[2J");
    }

    #[test]
    fn sanitize_name_falls_back_to_anonymous() {
        for s in ["", "   ", "\n\t", "\u{200b}\u{202e}", "\u{301}", "\u{200d}"] {
            assert_eq!(sanitize_name(s), "anonymous", "{s:?}");
        }
    }

    #[test]
    fn sanitize_name_truncates_by_grapheme() {
        assert_eq!(sanitize_name(&"a".repeat(30)), "a".repeat(24));
        assert_eq!(sanitize_name(&"中".repeat(20)), "中".repeat(12));
        assert_eq!(
            sanitize_name(&format!("a{}", "中".repeat(20))),
            format!("a{}", "中".repeat(11))
        );
        let family = "👨\u{200d}👩\u{200d}👧";
        assert_eq!(sanitize_name(&family.repeat(13)), family.repeat(12));
        assert_eq!(sanitize_name(&"e\u{301}".repeat(30)), "e\u{301}".repeat(24));
        // A cut right after a space does not leave it dangling.
        let name = format!("{} bbbb", "a".repeat(23));
        assert_eq!(sanitize_name(&name), "a".repeat(23));
    }

    /// Pieces that exercise every wrapping rule when concatenated at random.
    const FRAGMENTS: &[&str] = &[
        "a",
        "b",
        "word",
        "longerword",
        " ",
        "  ",
        "\n",
        "\r\n",
        "\t",
        "中",
        "文",
        "日本語",
        "한국어",
        "👍",
        "👍🏽",
        "👨\u{200d}👩\u{200d}👧",
        "🇯🇵",
        "🇯",
        "e\u{301}",
        "\u{301}",
        "\u{200d}",
        "\u{a0}",
        "\u{3000}",
        "\u{200b}",
        "\u{1b}",
        "،",
        "می\u{200c}خواهم",
    ];

    fn mixed_text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|v| v.concat())
    }

    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![mixed_text(), any::<String>()]
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

        #[test]
        fn prop_sanitize_output_is_clean(s in any_text()) {
            let out = sanitize_text(&s);
            prop_assert!(out.chars().all(|c| c == '\n' || !c.is_control()), "{out:?}");
            prop_assert!(!out.chars().any(is_stripped));
            prop_assert_eq!(matches!(out, Cow::Borrowed(_)), out == s);
            prop_assert_eq!(sanitize_text(&out), out.clone());
            for (i, c) in out.char_indices() {
                if c == ZWJ || c == ZWNJ {
                    let prev = out[..i].chars().next_back();
                    let next = out[i + c.len_utf8()..].chars().next();
                    prop_assert!(can_join(prev) && can_join(next), "{out:?}");
                }
            }
        }

        #[test]
        fn prop_sanitize_name_is_short_and_tidy(s in any_text()) {
            let name = sanitize_name(&s);
            prop_assert!(!name.is_empty());
            prop_assert!(display_width(&name) <= MAX_NAME_WIDTH);
            prop_assert!(display_width(&name) > 0);
            prop_assert_eq!(name.trim(), name.as_str());
            prop_assert!(!name.contains("  "));
            prop_assert!(!name.chars().any(|c| c.is_control()));
        }
    }
}
