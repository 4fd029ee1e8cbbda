//! Pure rendering: draws an [`App`] into a ratatui [`Frame`], with no side
//! effects, so any state can be checked with a `TestBackend` snapshot.
//!
//! The screen, top to bottom: the message pane, the input box (a rule with
//! key hints, then the text, growing to a few rows), and a one-row status bar;
//! over them, the app's layers (the help, a question, the end).
//! A waiting host's message pane also shows how to join ([`welcome`]).
//! The copy view ([`copy_view`]) is plain text instead, which the front end
//! prints for the terminal to wrap.

pub mod copy_view;
pub mod input;
pub mod marker;
pub mod messages;
pub mod overlay;
pub mod question;
pub mod status;
pub mod transfer_card;
pub mod welcome;

use ratatui::Frame;

use crate::app::{App, Layer};
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
        (&app.theme, app.emoji),
        app.search.as_ref(),
    );
    input::render(frame, areas.rule, areas.input, app);
    status::render(frame, areas.status, app);
    // The layers over the screen, bottom first.
    for layer in &app.layers {
        match layer {
            Layer::Question(question) => {
                question::render(frame, areas.messages, question, &app.theme);
            }
            // A big paste asks on the input's rule.
            Layer::Paste(_) => {}
            _ => overlay::render(frame, frame.area(), areas.status, app, layer),
        }
    }
}
