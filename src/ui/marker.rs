//! The unread marker: a rule across the message pane, `──── new ────`,
//! above the first message that arrived while you were away (see
//! `crate::app::attention` for where it goes and when it goes away).

use ratatui::text::{Line, Span};

use crate::theme::Theme;

/// The word in the middle of the rule.
pub const WORD: &str = " new ";

/// The marker's row, `width` cells wide, in the theme's notice style.
pub fn line(width: usize, theme: &Theme) -> Line<'static> {
    let word = WORD.chars().count();
    if width < word + 2 {
        return Line::from(Span::styled("─".repeat(width), theme.notice));
    }
    let left = (width - word) / 2;
    let right = width - word - left;
    Line::from(Span::styled(
        format!("{}{WORD}{}", "─".repeat(left), "─".repeat(right)),
        theme.notice,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &Line<'_>) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn the_rule_spans_the_width_with_the_word_in_the_middle() {
        let theme = Theme::default();
        assert_eq!(text(&line(11, &theme)), "─── new ───");
        assert_eq!(text(&line(12, &theme)), "─── new ────");
        assert_eq!(text(&line(3, &theme)), "───");
    }
}
