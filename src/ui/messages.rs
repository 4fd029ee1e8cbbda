//! The message pane: draws the rows that [`crate::view::pane`] lays out as
//! visible, with colours for names, times and delivery marks.

use chrono::{DateTime, FixedOffset};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::history::{AuthorId, Delivery, Entry, History, SystemEvent};
use crate::view::pane::{Pane, Scroll};

/// Colours for names: this side is always cyan, others get a stable colour
/// from their name.
pub fn author_style(history: &History, author: AuthorId) -> Style {
    const PALETTE: [Color; 5] = [
        Color::Magenta,
        Color::Yellow,
        Color::Green,
        Color::LightBlue,
        Color::LightRed,
    ];
    let color = if author.is_me() {
        Color::Cyan
    } else {
        let hash = history
            .author_name(author)
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        PALETTE[hash % PALETTE.len()]
    };
    Style::new().fg(color).add_modifier(Modifier::BOLD)
}

/// Formats a time as `HH:MM` in the given zone.
fn clock(at_ms: i64, zone: FixedOffset) -> String {
    DateTime::from_timestamp_millis(at_ms)
        .map(|t| t.with_timezone(&zone).format("%H:%M").to_string())
        .unwrap_or_else(|| "--:--".to_owned())
}

/// Draws the visible part of the history into `area`.
pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    history: &History,
    scroll: Scroll,
    zone: FixedOffset,
) {
    let pane = Pane::new(history, area.width as usize, area.height as usize);
    let time_style = Style::new().fg(Color::DarkGray);
    let system_style = Style::new()
        .fg(Color::DarkGray)
        .add_modifier(Modifier::ITALIC);
    let error_style = Style::new().fg(Color::Red);
    let mut y = area.y;
    for (index, layout, rows) in pane.visible(scroll) {
        let Some(entry) = history.entries().get(index) else {
            continue;
        };
        let action = matches!(entry, Entry::Chat { action: true, .. });
        let (text_style, name) = match entry {
            Entry::Chat { author, .. } => (
                if action {
                    Style::new().add_modifier(Modifier::ITALIC)
                } else {
                    Style::new()
                },
                Some(Span::styled(
                    history.author_name(*author).into_owned(),
                    author_style(history, *author),
                )),
            ),
            Entry::System { event, .. } => match **event {
                SystemEvent::Error(_) | SystemEvent::Rejected { .. } => (error_style, None),
                _ => (system_style, None),
            },
        };
        for row_index in rows {
            let Some(row) = layout.rows.get(row_index) else {
                continue;
            };
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
            let body = vec![
                Span::styled(layout.text[row.start..split].to_owned(), text_style),
                Span::styled(layout.text[split..row.end].to_owned(), mark_style),
            ];
            let line = if row_index == 0 {
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
