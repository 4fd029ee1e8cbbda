//! Pure rendering: draws an [`App`] into a ratatui [`Frame`], with no side
//! effects, so any state can be checked with a `TestBackend` snapshot.
//!
//! The screen, top to bottom: the message pane, the input box (a rule with
//! key hints, then the text, growing to a few rows), and a one-row status bar.
//! A waiting host's message pane also shows how to join ([`welcome`]).
//! The copy view ([`copy_view`]) is plain text instead, which the front end
//! prints for the terminal to wrap.

pub mod copy_view;
pub mod input;
pub mod marker;
pub mod messages;
pub mod question;
pub mod status;
pub mod welcome;

use ratatui::Frame;

use crate::app::App;
use crate::view::layout;

/// Draws the whole screen and places the terminal cursor in the input box.
pub fn render(app: &App, frame: &mut Frame<'_>) {
    let areas = layout(app.input_rows(frame.area().width), frame.area());
    // A waiting host's pane shows how to join; the history gets the rest.
    let history_area = welcome::render(frame, areas.messages, app);
    messages::render(
        frame,
        history_area,
        &app.history,
        (app.scroll, app.marker()),
        app.zone,
        &app.theme,
        app.emoji,
    );
    if let Some(question) = &app.question {
        question::render(frame, areas.messages, question);
    }
    input::render(frame, areas.rule, areas.input, app);
    status::render(frame, areas.status, app);
}
