//! The waiting host's message pane: who you are, whether a guest needs a
//! code, and every join command in full, one per address, wrapped to the
//! width (the status bar has room for only some, cut short).
//!
//! It is a view of the state, shown while the host waits for a guest
//! ([`Link::Waiting`]): in full while the pane has nothing else to show,
//! then (a conversation that ended, a note, `/help`) as a compact block,
//! the commands alone, right below the history. The code shown is always the current one: a code
//! duplex made up changes after each guest. A guest's pane says where it
//! connects until its first connection is made.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::app::{App, Link, Role};
use crate::history::{Entry, History, SystemEvent};
use crate::text::wrap;
use crate::theme::Theme;
use crate::view::Pane;

/// Where a join command starts.
const INDENT: usize = 2;
/// Where a wrapped join command goes on.
const CONTINUED: usize = 4;
/// Ends a row of a command that goes on at a space: a shell joins the
/// rows of a command copied whole.
const GOES_ON: &str = " \\";

/// Which form the welcome takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Nothing happened yet: who you are, and how to join.
    Full,
    /// Something is in the history (the seat is free again after a
    /// conversation, a note, `/help`): how to join, below it.
    Compact,
    /// A guest on its way in: who you are and where you connect.
    Connecting,
}

/// The form of the welcome the app shows now, if any: only a host
/// waiting for a guest has one.
pub fn form(app: &App) -> Option<Form> {
    if !matches!(app.link, Link::Waiting) {
        return None;
    }
    if matches!(app.role, Role::Guest) {
        // Until the first connection is made (the code prompt has its
        // own words).
        let first = app.joining.is_some() && app.prompt.is_none();
        return (first && !anyone_was_here(&app.history)).then_some(Form::Connecting);
    }
    Some(if app.history.is_empty() {
        Form::Full
    } else {
        Form::Compact
    })
}

/// Whether the history shows a conversation: a message, or a peer that
/// came or went.
fn anyone_was_here(history: &History) -> bool {
    history.entries().iter().any(|entry| match entry {
        Entry::Chat { .. } => true,
        Entry::System { event, .. } => matches!(
            **event,
            SystemEvent::Joined { .. } | SystemEvent::Left { .. } | SystemEvent::Resumed { .. }
        ),
    })
}

/// How much a line of the welcome matters: a short pane drops the least
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weight {
    /// A blank line between parts.
    Space,
    /// What to do with the commands (they speak for themselves).
    How,
    /// Who you are and whether a code is needed.
    Who,
    /// A join command: never dropped.
    Command,
}

/// The welcome's lines at `width` columns, each with its [`Weight`].
pub fn lines(app: &App, form: Form, width: usize) -> Vec<(Weight, Line<'static>)> {
    if form == Form::Connecting {
        let target = app.joining.as_deref().unwrap_or_default();
        let text = format!("You are {}, connecting to {target}…", app.me);
        return prose(&text, width, app.theme.text, Weight::Who);
    }
    let Role::Host {
        local,
        hints,
        code,
        show_code,
    } = &app.role
    else {
        return Vec::new();
    };
    let theme = &app.theme;
    let code = match code {
        Some(_) if !show_code => Some("…"),
        code => code.as_deref(),
    };
    let mut out = Vec::new();
    match form {
        Form::Full => {
            let who = match code {
                Some(_) => format!(
                    "You are {}, hosting on port {}. A guest needs the secret code.",
                    app.me,
                    local.port()
                ),
                None => format!(
                    "You are {}, hosting on port {}. No code is needed to join.",
                    app.me,
                    local.port()
                ),
            };
            out.extend(prose(&who, width, theme.text, Weight::Who));
            out.push((Weight::Space, Line::default()));
            let how = match (code, hints.len()) {
                (Some(_), 1) => "To join, your guest runs this (send it privately):",
                (Some(_), _) => "To join, your guest runs one of these (send it privately):",
                (None, 1) => "To join, your guest runs this:",
                (None, _) => "To join, your guest runs one of these:",
            };
            out.extend(prose(how, width, theme.notice, Weight::How));
        }
        Form::Connecting => {}
        Form::Compact => {
            out.push((Weight::Space, Line::default()));
            let which = if anyone_was_here(&app.history) {
                "the next"
            } else {
                "a"
            };
            let how = if hints.len() == 1 {
                format!("Waiting for {which} guest, who joins with:")
            } else {
                format!("Waiting for {which} guest, who joins with one of:")
            };
            let how = how.as_str();
            out.extend(prose(how, width, theme.notice, Weight::How));
        }
    }
    if hints.is_empty() {
        // No address of this machine is known: the guest fills it in.
        let command = format!("duplex join ADDRESS:{}", local.port());
        let command = match code {
            Some(code) => format!("DUPLEX_SECRET={code} {command}"),
            None => command,
        };
        out.extend(commands(&command, width, theme));
    }
    for hint in hints {
        out.extend(commands(&hint.with_code(code), width, theme));
    }
    out
}

/// A sentence wrapped to `width`, indented.
fn prose(text: &str, width: usize, style: Style, weight: Weight) -> Vec<(Weight, Line<'static>)> {
    let room = width.saturating_sub(INDENT).max(1);
    wrap(text, room, room)
        .into_iter()
        .map(|row| {
            (
                weight,
                Line::from(vec![
                    Span::raw(" ".repeat(INDENT)),
                    Span::styled(text[row.start..row.end].to_owned(), style),
                ]),
            )
        })
        .collect()
}

fn commands(command: &str, width: usize, theme: &Theme) -> Vec<(Weight, Line<'static>)> {
    command_lines(command, width, theme)
        .into_iter()
        .map(|line| (Weight::Command, line))
        .collect()
}

/// A join command wrapped to `width`: never cut, continued on the next
/// rows; a row that breaks at a space ends in ` \` where that fits, so
/// the rows copied together still run as one command.
fn command_lines(command: &str, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let first = width.saturating_sub(INDENT).max(1);
    let rest = width.saturating_sub(CONTINUED).max(1);
    let rows = wrap(command, first, rest);
    let style = theme.text.add_modifier(ratatui::style::Modifier::BOLD);
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let indent = if i == 0 { INDENT } else { CONTINUED };
            let mut spans = vec![
                Span::raw(" ".repeat(indent)),
                Span::styled(command[row.start..row.end].to_owned(), style),
            ];
            let at_space = rows
                .get(i + 1)
                .is_some_and(|next| command[row.end..next.start].contains(' '));
            if at_space && indent + row.width + GOES_ON.len() <= width {
                spans.push(Span::styled(GOES_ON, theme.time));
            }
            Line::from(spans)
        })
        .collect()
}

/// Draws the welcome, if the app shows one, and returns the part of
/// `area` left for the history.
pub fn render(frame: &mut Frame<'_>, area: Rect, app: &App) -> Rect {
    let Some(form) = form(app) else {
        return area;
    };
    let mut weighed = lines(app, form, area.width as usize);
    let height = area.height as usize;
    // The newest lines of the history stay in sight too (what was just
    // said, a connection turned away).
    let history_rows: usize = Pane::new(&app.history, area.width as usize, height, app.emoji)
        .visible(crate::view::Scroll::Live)
        .iter()
        .map(|(_, _, rows)| rows.len())
        .sum();
    let gap = usize::from(form != Form::Compact && history_rows > 0);
    let room = match form {
        // Nothing was said yet: the welcome is the screen.
        Form::Full | Form::Connecting => height - (history_rows + gap).min(height / 2),
        // The conversation comes first, but a third of the pane is ours.
        Form::Compact => (height / 3).max(height.saturating_sub(history_rows)),
    };
    let mut lines = shorten(&mut weighed, room);
    // Commands that still do not fit: the status bar has the first.
    lines.truncate(height);
    let rows = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    match form {
        Form::Full | Form::Connecting => {
            draw(frame, area, &lines);
            // The history (connections turned away, notes) goes below,
            // after a blank row.
            let taken = (rows + u16::from(gap > 0)).min(area.height);
            Rect {
                y: area.y + taken,
                height: area.height - taken,
                ..area
            }
        }
        Form::Compact => {
            // Right below the last row of the history shown.
            let left = area.height - rows;
            let pane = Pane::new(&app.history, area.width as usize, left as usize, app.emoji);
            let used: usize = pane
                .visible(app.scroll)
                .iter()
                .map(|(_, _, rows)| rows.len())
                .sum();
            let used = u16::try_from(used).unwrap_or(u16::MAX).min(left);
            draw(
                frame,
                Rect {
                    y: area.y + used,
                    height: rows,
                    ..area
                },
                &lines,
            );
            Rect {
                height: left,
                ..area
            }
        }
    }
}

/// Drops lines until at most `room` are left, the lightest first (the
/// topmost of equal weight); join commands are never dropped.
fn shorten(lines: &mut Vec<(Weight, Line<'static>)>, room: usize) -> Vec<Line<'static>> {
    while lines.len() > room {
        let Some(lightest) = lines
            .iter()
            .enumerate()
            .filter(|(_, (weight, _))| *weight < Weight::Command)
            .min_by_key(|(i, (weight, _))| (*weight, *i))
            .map(|(i, _)| i)
        else {
            break;
        };
        lines.remove(lightest);
    }
    lines.drain(..).map(|(_, line)| line).collect()
}

fn draw(frame: &mut Frame<'_>, area: Rect, lines: &[Line<'static>]) {
    for (y, line) in (area.y..area.y + area.height).zip(lines) {
        frame.render_widget(line.clone(), Rect::new(area.x, y, area.width, 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::display_width;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|line| line.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn a_long_command_wraps_at_spaces_with_a_continuation_mark() {
        let rows = text(&command_lines(
            "DUPLEX_SECRET=amber-otter-violin duplex join 192.168.1.5:7878",
            40,
            &Theme::default(),
        ));
        assert_eq!(
            rows,
            [
                "  DUPLEX_SECRET=amber-otter-violin \\",
                "    duplex join 192.168.1.5:7878",
            ]
        );
        // No room for the mark: the row is not cut for it.
        let rows = text(&command_lines(
            "DUPLEX_SECRET=amber-otter-violin-maple duplex join 192.168.1.5:7878",
            40,
            &Theme::default(),
        ));
        assert_eq!(
            rows,
            [
                "  DUPLEX_SECRET=amber-otter-violin-maple",
                "    duplex join 192.168.1.5:7878",
            ]
        );
        assert!(rows.iter().all(|row| display_width(row) <= 40));
    }

    #[test]
    fn a_word_wider_than_the_row_is_broken_never_cut() {
        let command = "DUPLEX_SECRET=amber-otter-violin-maple-cobalt duplex join h:1";
        let rows = text(&command_lines(command, 20, &Theme::default()));
        assert!(rows.iter().all(|row| display_width(row) <= 20), "{rows:?}");
        let joined: String = rows
            .iter()
            .map(|row| row.trim_start().trim_end_matches(" \\"))
            .collect::<Vec<_>>()
            .join("");
        assert_eq!(joined.replace(' ', ""), command.replace(' ', ""));
    }
}
