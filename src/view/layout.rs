//! Where each part of the screen goes, from the terminal's size alone: pure
//! geometry that both the update step (how far a page scrolls) and the
//! renderer use.

use ratatui::layout::{Constraint, Layout, Rect};

/// Most rows the input box grows to before it scrolls (fewer on a short
/// terminal: see [`max_input_rows`]).
pub const MAX_INPUT_ROWS: usize = 8;

/// Most rows the input box grows to on a terminal `height` rows tall: a
/// third of it, at most [`MAX_INPUT_ROWS`], at least one.
pub fn max_input_rows(height: u16) -> usize {
    (usize::from(height) / 3).clamp(1, MAX_INPUT_ROWS)
}

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// The message history.
    pub messages: Rect,
    /// The rule above the input, with key hints.
    pub rule: Rect,
    /// The text being typed.
    pub input: Rect,
    /// The status bar.
    pub status: Rect,
}

/// Splits `area` for an input box whose text takes `input_rows` rows: the
/// input box is as tall as its text, up to [`max_input_rows`]. On a
/// terminal too small for everything, the input keeps its row first, then
/// the status bar, then the messages; the rule goes first.
pub fn layout(input_rows: usize, area: Rect) -> Areas {
    let wanted_input = input_rows.clamp(1, max_input_rows(area.height)) as u16;
    let height = area.height;
    let input_rows = height.min(1);
    let status_rows = height.saturating_sub(input_rows).min(1);
    let mut left = height - input_rows - status_rows;
    let rule_rows = u16::from(left >= 2);
    left -= rule_rows;
    // Extra input rows only while the messages keep at least one row.
    let extra_input = wanted_input.saturating_sub(1).min(left.saturating_sub(1));
    let message_rows = left - extra_input;
    let [messages, rule, input, status] = Layout::vertical([
        Constraint::Length(message_rows),
        Constraint::Length(rule_rows),
        Constraint::Length(input_rows + extra_input),
        Constraint::Length(status_rows),
    ])
    .areas(area);
    Areas {
        messages,
        rule,
        input,
        status,
    }
}

/// Widest an overlay (the help) gets, borders included.
pub const MAX_OVERLAY_WIDTH: u16 = 80;

/// Columns inside an overlay's borders on a screen `area` wide.
pub fn overlay_inner_width(area: Rect) -> u16 {
    area.width
        .saturating_sub(2)
        .min(MAX_OVERLAY_WIDTH)
        .saturating_sub(2)
}

/// Where an overlay with `rows` rows of content goes on `area`: centred, a
/// cell in from each edge, at most [`MAX_OVERLAY_WIDTH`] wide, and no
/// taller than its content (plus borders) or the screen allows.
pub fn overlay(area: Rect, rows: usize) -> Rect {
    let width = area.width.saturating_sub(2).min(MAX_OVERLAY_WIDTH);
    let wanted = u16::try_from(rows.saturating_add(2)).unwrap_or(u16::MAX);
    let height = wanted.min(area.height.saturating_sub(2));
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_fits_inside_the_screen() {
        let screen = Rect::new(0, 0, 40, 12);
        assert_eq!(overlay(screen, 100), Rect::new(1, 1, 38, 10));
        assert_eq!(overlay(screen, 2), Rect::new(1, 4, 38, 4));
        assert_eq!(overlay_inner_width(screen), 36);
        let wide = Rect::new(0, 0, 200, 50);
        assert_eq!(overlay(wide, 10).width, MAX_OVERLAY_WIDTH);
        for (w, h) in [(0, 0), (1, 1), (3, 2)] {
            let tiny = Rect::new(0, 0, w, h);
            let area = overlay(tiny, 5);
            assert!(area.width <= w && area.height <= h);
        }
    }
}
