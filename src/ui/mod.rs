//! Pure rendering: draws an [`App`] into a ratatui [`Frame`], with no side
//! effects, so any state can be checked with a `TestBackend` snapshot.
//!
//! The screen, top to bottom: the message pane, the input box (a rule with
//! key hints, then the text, growing to a few rows), and a one-row status bar.

pub mod input;
pub mod messages;
pub mod question;
pub mod status;

use ratatui::Frame;

use crate::app::App;
use crate::view::layout;

/// Draws the whole screen and places the terminal cursor in the input box.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let areas = layout(app.input_rows(frame.area().width), frame.area());
    messages::render(
        frame,
        areas.messages,
        &app.history,
        app.scroll,
        app.zone,
        &app.theme,
        app.search.as_ref(),
    );
    if let Some(question) = &app.question {
        question::render(frame, areas.messages, question, &app.theme);
    }
    input::render(frame, areas.rule, areas.input, app);
    status::render(frame, areas.status, app);
}
