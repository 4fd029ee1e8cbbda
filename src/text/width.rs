//! Display width: how many terminal cells a string takes.
//!
//! Widths are measured per grapheme cluster with `unicode-width`, exactly as ratatui
//! measures when it draws, so the rows computed from them line up with what is on screen.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Display width in terminal cells (sum of grapheme widths).
pub fn display_width(s: &str) -> usize {
    s.graphemes(true).map(UnicodeWidthStr::width).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
