//! The message pane: draws the rows that [`crate::view::pane`] lays out as
//! visible, with the theme's styles for names, times and delivery marks,
//! and the search's matches highlighted (the one the view is on most).

use chrono::{DateTime, FixedOffset};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::app::Search;
use crate::history::{AuthorId, Delivery, Entry, History, SystemEvent};
use crate::text::{EmojiMode, display_form};
use crate::theme::Theme;
use crate::view::pane::{Pane, Scroll};

/// The style of a name: this side always has its own (cyan in the dark
/// theme), others get a stable one from their name.
pub fn author_style(theme: &Theme, history: &History, author: AuthorId) -> Style {
    if author.is_me() {
        theme.me
    } else {
        theme.other(&history.author_name(author))
    }
}

/// Formats a time as `HH:MM` in the given zone.
fn clock(at_ms: i64, zone: FixedOffset) -> String {
    DateTime::from_timestamp_millis(at_ms)
        .map(|t| t.with_timezone(&zone).format("%H:%M").to_string())
        .unwrap_or_else(|| "--:--".to_owned())
}

/// Draws the visible part of the history into `area`, with the unread
/// marker above entry `marker`, in `theme`'s colours with emoji drawn in
/// `emoji` mode.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    history: &History,
    (scroll, marker): (Scroll, Option<usize>),
    zone: FixedOffset,
    (theme, emoji): (&Theme, EmojiMode),
    search: Option<&Search>,
) {
    let pane =
        Pane::new(history, area.width as usize, area.height as usize, emoji).with_marker(marker);
    let time_style = theme.time;
    let system_style = theme.notice;
    let error_style = theme.error;
    let mut y = area.y;
    for (index, layout, rows) in pane.visible(scroll) {
        let Some(entry) = history.entries().get(index) else {
            continue;
        };
        let action = matches!(entry, Entry::Chat { action: true, .. });
        let (text_style, name) = match entry {
            Entry::Chat { author, .. } => (
                if action { theme.action } else { theme.text },
                Some(Span::styled(
                    display_form(&history.author_name(*author), emoji).into_owned(),
                    author_style(theme, history, *author),
                )),
            ),
            Entry::System { event, .. } => match &**event {
                SystemEvent::Error(_) | SystemEvent::Rejected { .. } => (error_style, None),
                SystemEvent::Transfer(card) => (super::transfer_card::style(theme, card), None),
                _ => (system_style, None),
            },
        };
        let found = search.map_or_else(Vec::new, |search| search.in_entry(history, index));
        for row_index in rows {
            let Some(row) = layout.rows.get(row_index) else {
                continue;
            };
            if layout.marker && row_index == 0 {
                let rule = super::marker::line(area.width as usize, theme);
                frame.render_widget(rule, Rect::new(area.x, y, area.width, 1));
                y += 1;
                continue;
            }
            // The delivery mark, at the end of the text, is dimmed.
            let mark_start = layout.text.len() - layout.mark_len;
            let split = mark_start.clamp(row.start, row.end);
            let mark_style = match entry {
                Entry::Chat {
                    delivery: Delivery::Failed,
                    ..
                } => error_style,
                _ => time_style,
            };
            let mut body = highlighted(&layout.text, row.start..split, &found, text_style, theme);
            body.push(Span::styled(
                layout.text[split..row.end].to_owned(),
                mark_style,
            ));
            let line = if row_index == layout.first_row() {
                let mut spans = vec![Span::styled(
                    format!("{} ", clock(entry.at_ms(), zone)),
                    time_style,
                )];
                match &name {
                    Some(name) if action => {
                        spans.push(Span::styled("* ", name.style));
                        spans.push(name.clone());
                        spans.push(Span::raw(" "));
                    }
                    Some(name) => {
                        spans.push(name.clone());
                        spans.push(Span::raw(": "));
                    }
                    None => spans.push(Span::styled("· ", system_style)),
                }
                spans.extend(body);
                Line::from(spans)
            } else {
                let mut spans = vec![Span::raw(" ".repeat(layout.indent))];
                spans.extend(body);
                Line::from(spans)
            };
            frame.render_widget(line, Rect::new(area.x, y, area.width, 1));
            y += 1;
        }
    }
}

/// Spans for `text[range]`, with the parts inside the search's matches
/// (`found`, each with whether it is the current one) highlighted.
fn highlighted(
    text: &str,
    range: std::ops::Range<usize>,
    found: &[(std::ops::Range<usize>, bool)],
    style: Style,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let (match_style, current_style) = (theme.found, theme.found_current);
    let mut spans = Vec::new();
    let mut at = range.start;
    for (hit, current) in found {
        let start = hit.start.clamp(at, range.end);
        let end = hit.end.clamp(start, range.end);
        if start == end {
            continue;
        }
        if at < start {
            spans.push(Span::styled(text[at..start].to_owned(), style));
        }
        let hit_style = if *current { current_style } else { match_style };
        spans.push(Span::styled(text[start..end].to_owned(), hit_style));
        at = end;
    }
    spans.push(Span::styled(text[at..range.end].to_owned(), style));
    spans
}
