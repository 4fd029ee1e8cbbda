//! The copy view (Alt-L): the messages alone, as plain lines of text, for
//! selecting with the mouse.
//!
//! Like weechat's bare display, it drops the time, the continuation indent
//! and the rule and status bar, and the front end prints the lines as they
//! are and lets the terminal wrap them, so a long line or a link wrapped over
//! several rows is selected and copied whole. The text is the message as it
//! came (emoji included, whatever `--emoji` says), since it is there to be
//! copied.

use crate::app::App;
use crate::history::{Entry, History};
use crate::present::system_text;
use crate::text::{display_width, sanitize_text};

/// One history entry as a line of the copy view: `name: text`, or
/// `· words` for a system line. A message's own line breaks stay; any
/// control character becomes visible, since the front end prints the text
/// as it is.
fn entry_text(history: &History, entry: &Entry) -> String {
    let line = match entry {
        Entry::Chat { author, text, .. } => {
            format!("{}: {text}", history.author_name(*author))
        }
        Entry::System { event, .. } => format!("· {}", system_text(event)),
    };
    sanitize_text(&line).into_owned()
}

/// Rows `text` takes in a terminal `width` columns wide that wraps it.
fn terminal_rows(text: &str, width: usize) -> usize {
    text.split('\n')
        .map(|line| display_width(line).div_ceil(width.max(1)).max(1))
        .sum()
}

/// The copy view of `app` on its terminal: the entries up to the newest one
/// the chat screen shows (so a scrolled-back view stays where it was), as
/// many as the terminal wraps into its rows (always the last one, even if it
/// is taller), one per line, joined by `\n`.
pub fn copy_view_text(app: &App) -> String {
    let (width, height) = (usize::from(app.size.0), usize::from(app.size.1).max(1));
    let history = &app.history;
    let last = app
        .pane()
        .visible(app.scroll)
        .last()
        .map(|(index, ..)| *index)
        .unwrap_or_else(|| history.len().saturating_sub(1));
    let mut lines = Vec::new();
    let mut used = 0;
    for entry in history.entries()[..(last + 1).min(history.len())]
        .iter()
        .rev()
    {
        let text = entry_text(history, entry);
        used += terminal_rows(&text, width);
        if used > height && !lines.is_empty() {
            break;
        }
        lines.push(text);
    }
    lines.reverse();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Role;
    use crate::history::SystemEvent;

    #[test]
    fn control_characters_are_never_printed() {
        let mut app = App::new("alice", Role::Guest, 1);
        app.history.push(Entry::System {
            at_ms: 0,
            event: Box::new(SystemEvent::Error("bad \u{1b}[2J thing\r".into())),
        });
        let text = copy_view_text(&app);
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
        assert!(text.starts_with("· "), "{text:?}");
    }
}
