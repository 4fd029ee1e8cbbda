//! Layers over the chat screen, the way helix composes its popups: each
//! [`Layer`] on [`App::layers`](super::App::layers) sees a key before the
//! ones under it (the top one first) and is drawn over them, so a mode is a
//! layer pushed and popped, never a flag every handler must check.
//!
//! - [`Layer::Help`]: the keys and commands, generated from the keymap and
//!   [`COMMANDS`] (so it cannot drift from them), scrolled when it does not
//!   fit; any other key closes it.
//! - [`Layer::Confirm`]: Ctrl-C asked once whether to leave with messages
//!   undelivered or a draft typed; Ctrl-C again leaves, any other key
//!   cancels the question and does what it does.
//! - [`Layer::Ended`]: the conversation is over; the screen stays so the
//!   last messages can be read, and a key leaves.
//! - [`Layer::Question`]: a yes-or-no question (a newcomer knocking while
//!   the guest is away, messages held from an earlier conversation): y or
//!   n answers it, Esc puts it off; other keys do nothing.
//! - [`Layer::Paste`]: a big paste asks before it goes into the draft.
//!
//! A layer pushed later is over the earlier ones: a question that arrives
//! while the help is open takes the keys until it is answered, and Ctrl-C's
//! question over a newcomer's cancels into it.

use super::command::{COMMANDS, EXIT_HELP, SLASH_HELP};
use super::{Exit, plural};
use crate::domain::EXIT_COMMAND;
use crate::keymap::{Action, Keymap};
use crate::text::{display_width, wrap};

/// One layer over the chat screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    /// The help overlay, scrolled down this many rows.
    Help {
        /// The first row shown.
        scroll: usize,
    },
    /// "Leave anyway?", after one Ctrl-C.
    Confirm(LeaveQuestion),
    /// The conversation ended; the next key leaves.
    Ended {
        /// How to exit once a key is pressed.
        exit: Exit,
        /// What ended it, for the last line ("alice ended the conversation").
        why: String,
    },
    /// A yes-or-no question (a newcomer, held messages), in a box at the
    /// foot of the message pane.
    Question(Question),
    /// A big paste asking, on the input's rule, before it goes into the
    /// draft.
    Paste(PendingPaste),
}

/// A yes-or-no question to the person, answered with `y` or `n`; it takes
/// the keys while it is asked (a layer over the chat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// A newcomer wants in while the guest is away (host).
    Knock {
        /// The knock to answer.
        knock: u64,
        /// The newcomer's name.
        name: String,
        /// Who is away.
        away: String,
        /// When the newcomer stops waiting (monotonic ms).
        until_ms: i64,
    },
    /// Messages typed for an earlier conversation are held (guest).
    Held {
        /// How many.
        count: usize,
        /// Who the new conversation is with.
        name: String,
    },
}

impl Question {
    /// The question in words, with its answers.
    pub fn text(&self) -> String {
        match self {
            // Someone new, whatever it calls itself: the away guest comes
            // back by itself, with no question, so a stranger naming itself
            // after it is still a stranger.
            Question::Knock { name, away, .. } => format!(
                "someone new calling itself {name} wants to join while {away} is away \
                 ({away} coming back needs no answer): let them in, giving up {away}'s place? \
                 y let in · n turn away"
            ),
            Question::Held { count, name } => format!(
                "{count} message{} you typed for the earlier conversation {} held: send {} to \
                 {name}? y send · n discard · Esc decide later (/held)",
                plural(*count),
                if *count == 1 { "is" } else { "are" },
                if *count == 1 { "it" } else { "them" },
            ),
        }
    }
}

/// A big paste waiting for a yes or no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPaste {
    /// The text, line breaks made `'\n'`.
    pub text: String,
    /// How many lines it has.
    pub lines: usize,
}

impl PendingPaste {
    /// The question asked: `Paste 120 lines (4 KiB) into the message? y/n`.
    pub fn question(&self) -> String {
        format!(
            "Paste {} line{} ({} KiB) into the message? y/n",
            self.lines,
            if self.lines == 1 { "" } else { "s" },
            self.text.len().div_ceil(1024)
        )
    }
}

/// What would be lost by leaving now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaveQuestion {
    /// Our messages the peer has not acknowledged.
    pub undelivered: usize,
    /// Whether the input box holds a draft.
    pub draft: bool,
}

impl LeaveQuestion {
    /// The question, naming the key that leaves:
    /// "1 message not delivered · Ctrl-C again to leave".
    pub fn text(&self, key: &str) -> String {
        let lost = match (self.undelivered, self.draft) {
            (0, _) => "your draft is not sent".to_owned(),
            (1, false) => "1 message not delivered".to_owned(),
            (n, false) => format!("{n} messages not delivered"),
            (1, true) => "1 message not delivered and a draft not sent".to_owned(),
            (n, true) => format!("{n} messages not delivered and a draft not sent"),
        };
        format!("{lost} · {key} again to leave")
    }
}

/// The last line of an ended conversation: "alice ended the conversation ·
/// press any key".
pub fn ended_text(why: &str) -> String {
    format!("{why} · press any key")
}

/// One entry of the help: a key (or command) and what it does; an entry
/// with no key is a heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpItem {
    /// The keys or the command, as typed.
    pub key: String,
    /// What it does.
    pub text: String,
}

/// Everything the help shows, in order: the keys from `keymap`, then the
/// commands from [`COMMANDS`].
pub fn help_items(keymap: &Keymap) -> Vec<HelpItem> {
    let heading = |text: &str| HelpItem {
        key: String::new(),
        text: text.to_owned(),
    };
    let mut items = vec![heading("Keys")];
    for action in Action::ALL {
        let chords: Vec<String> = keymap.chords(action).map(|c| c.to_string()).collect();
        if !chords.is_empty() {
            items.push(HelpItem {
                key: chords.join(" / "),
                text: action.description().to_owned(),
            });
        }
    }
    items.push(HelpItem {
        key: "wheel".to_owned(),
        text: "scroll the history".to_owned(),
    });
    items.push(heading("Commands"));
    for info in COMMANDS {
        items.push(HelpItem {
            key: info.usage(),
            text: info.description.to_owned(),
        });
    }
    items.push(HelpItem {
        key: EXIT_COMMAND.to_owned(),
        text: EXIT_HELP.to_owned(),
    });
    items.push(HelpItem {
        key: "//text".to_owned(),
        text: SLASH_HELP.to_owned(),
    });
    items
}

/// One row of the help as drawn: the key column (empty on continuation
/// rows), the text, and whether it is a heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRow {
    /// The key part, at most the key column wide.
    pub key: String,
    /// The text part.
    pub text: String,
    /// Whether the row is a heading.
    pub heading: bool,
}

/// Widest the key column gets, as a share of the width (in tenths).
const KEY_COLUMN_TENTHS: usize = 4;

/// The help laid out in rows `width` cells wide: a key column as wide as
/// the widest key (up to 4/10 of the width; a longer key gets rows of its
/// own), and the text wrapped beside it.
pub fn help_rows(keymap: &Keymap, width: usize) -> Vec<HelpRow> {
    let items = help_items(keymap);
    let column = key_column(&items, width);
    let text_width = width.saturating_sub(column + 2).max(1);
    let mut rows = Vec::new();
    for item in items {
        if item.key.is_empty() {
            if !rows.is_empty() {
                rows.push(HelpRow {
                    key: String::new(),
                    text: String::new(),
                    heading: false,
                });
            }
            rows.push(HelpRow {
                key: String::new(),
                text: item.text,
                heading: true,
            });
            continue;
        }
        let mut keys: Vec<String> = wrap(&item.key, column, column)
            .into_iter()
            .map(|row| item.key[row.start..row.end].to_owned())
            .collect();
        let texts: Vec<String> = wrap(&item.text, text_width, text_width)
            .into_iter()
            .map(|row| item.text[row.start..row.end].to_owned())
            .collect();
        // A key that takes more rows than its text starts the text on its
        // last row; one that fits shares the first.
        let text_from = keys.len().saturating_sub(1);
        let total = keys.len().max(text_from + texts.len());
        keys.resize(total, String::new());
        for (index, key) in keys.into_iter().enumerate() {
            let text = index
                .checked_sub(text_from)
                .and_then(|at| texts.get(at))
                .cloned()
                .unwrap_or_default();
            rows.push(HelpRow {
                key,
                text,
                heading: false,
            });
        }
    }
    rows
}

/// The width of the help's key column at `width`, for drawing.
pub fn help_key_column(keymap: &Keymap, width: usize) -> usize {
    key_column(&help_items(keymap), width)
}

/// The key column: as wide as the widest key that fits in 4/10 of the
/// width (a wider one wraps on rows of its own).
fn key_column(items: &[HelpItem], width: usize) -> usize {
    let cap = width * KEY_COLUMN_TENTHS / 10;
    items
        .iter()
        .map(|item| display_width(&item.key))
        .filter(|&w| w <= cap)
        .max()
        .unwrap_or(cap)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_counts_what_would_be_lost() {
        let ask = |undelivered, draft| LeaveQuestion { undelivered, draft }.text("Ctrl-C");
        assert_eq!(
            ask(1, false),
            "1 message not delivered · Ctrl-C again to leave"
        );
        assert_eq!(
            ask(3, false),
            "3 messages not delivered · Ctrl-C again to leave"
        );
        assert_eq!(
            ask(0, true),
            "your draft is not sent · Ctrl-C again to leave"
        );
        assert_eq!(
            ask(2, true),
            "2 messages not delivered and a draft not sent · Ctrl-C again to leave"
        );
    }

    #[test]
    fn the_help_lists_every_bound_key_and_every_command() {
        let keymap = Keymap::default();
        let items = help_items(&keymap);
        for action in Action::ALL {
            assert!(
                items.iter().any(|item| item.text == action.description()),
                "{action}"
            );
        }
        for info in COMMANDS {
            assert!(
                items.iter().any(|item| item.key == info.usage()),
                "{info:?}"
            );
        }
        assert!(items.iter().any(|item| item.key == "F1"));
        // Unbinding a key takes it out of the help.
        let mut keymap = Keymap::default();
        keymap.unbind(crossterm::event::KeyCode::F(1).into());
        assert!(!help_items(&keymap).iter().any(|item| item.key == "F1"));
    }

    #[test]
    fn help_rows_fit_the_width() {
        let keymap = Keymap::default();
        for width in [10, 36, 78] {
            let column = help_key_column(&keymap, width);
            for row in help_rows(&keymap, width) {
                assert!(display_width(&row.key) <= column, "{row:?} at {width}");
                if row.heading {
                    continue;
                }
                assert!(
                    display_width(&row.text) <= width.saturating_sub(column + 2).max(1),
                    "{row:?} at {width}"
                );
            }
        }
        // Every word of every item is there.
        let rows = help_rows(&keymap, 36);
        let all: String = rows
            .iter()
            .map(|row| format!("{} {} ", row.key, row.text))
            .collect();
        for item in help_items(&keymap) {
            for word in item
                .text
                .split_whitespace()
                .chain(item.key.split_whitespace())
            {
                assert!(all.contains(word), "{word}");
            }
        }
    }
}
