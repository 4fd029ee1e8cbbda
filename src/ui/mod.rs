//! Pure rendering: draws an [`App`] into a ratatui [`Frame`], with no side
//! effects, so any state can be checked with a `TestBackend` snapshot.
//!
//! The screen, top to bottom: the message pane, the input box (a rule with
//! key hints, then the text, growing to a few rows), and a one-row status bar.

pub mod input;
pub mod messages;
pub mod status;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::App;

/// Most rows the input box grows to before it scrolls.
pub const MAX_INPUT_ROWS: usize = 5;

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

/// Splits `area` for `app`: the input box is as tall as its text, up to
/// [`MAX_INPUT_ROWS`]. On a terminal too small for everything, the input
/// keeps its row first, then the status bar, then the messages; the rule
/// goes first.
pub fn layout(app: &App, area: Rect) -> Areas {
    let wanted_input = app
        .input
        .layout(area.width as usize)
        .rows
        .len()
        .clamp(1, MAX_INPUT_ROWS) as u16;
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

/// Draws the whole screen and places the terminal cursor in the input box.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let areas = layout(app, frame.area());
    messages::render(frame, areas.messages, &app.history, app.scroll, app.zone);
    input::render(frame, areas.rule, areas.input, app);
    status::render(frame, areas.status, app);
}
