//! The layers drawn over the chat screen (see [`crate::app::layer`]): the
//! help as a bordered popup, and the question or the end of the
//! conversation in place of the status bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear};

use crate::app::App;
use crate::app::layer::{self, Layer, ended_text};
use crate::keymap::Action;
use crate::text::display_width;
use crate::ui::status::fit;
use crate::view::layout::{overlay, overlay_inner_width};

/// Draws `layer` over the screen `area`, whose status bar is `status`.
pub fn render(frame: &mut Frame<'_>, area: Rect, status: Rect, app: &App, layer: &Layer) {
    match layer {
        Layer::Help { scroll } => help(frame, area, app, *scroll),
        Layer::Confirm(question) => {
            let key = app
                .keymap
                .hint(Action::Leave)
                .unwrap_or_else(|| "/quit".to_owned());
            bar(frame, status, &question.text(&key), app);
        }
        Layer::Ended { why, .. } => bar(frame, status, &ended_text(why), app),
        // Drawn by the screen's own parts (the pane's foot, the rule).
        Layer::Question(_) | Layer::Paste(_) => {}
    }
}

/// A line that asks for attention in place of the status bar.
fn bar(frame: &mut Frame<'_>, area: Rect, text: &str, app: &App) {
    let style = app.theme.bar;
    let text = fit(&format!(" {text}"), area.width as usize);
    let pad = (area.width as usize).saturating_sub(display_width(&text));
    frame.render_widget(
        Line::from(vec![
            Span::styled(text, style),
            Span::styled(" ".repeat(pad), style),
        ]),
        area,
    );
}

/// The help popup, scrolled to `scroll`, with where it is in its title.
fn help(frame: &mut Frame<'_>, area: Rect, app: &App, scroll: usize) {
    let width = overlay_inner_width(area) as usize;
    let rows = layer::help_rows(&app.keymap, width);
    let popup = overlay(area, rows.len());
    if popup.width < 3 || popup.height < 3 {
        return;
    }
    let shown = popup.height as usize - 2;
    let first = scroll.min(rows.len().saturating_sub(shown));
    let column = layer::help_key_column(&app.keymap, width);
    let more = rows.len() > shown;
    let hint = if more {
        format!(
            " {}–{} of {} · ↑↓ scroll · Esc close ",
            first + 1,
            (first + shown).min(rows.len()),
            rows.len()
        )
    } else {
        " any key closes ".to_owned()
    };
    let hint = fit(&hint, popup.width.saturating_sub(2) as usize);
    let border = app.theme.help_border;
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(
            " duplex help ",
            border.add_modifier(Modifier::BOLD),
        ))
        .title_bottom(Line::from(Span::styled(hint, border)).right_aligned());
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    let key_style = app.theme.help_key;
    let heading_style = app.theme.help_heading;
    for (offset, row) in rows.iter().skip(first).take(shown).enumerate() {
        let y = inner.y + offset as u16;
        let line = if row.heading {
            Line::from(Span::styled(row.text.clone(), heading_style))
        } else {
            let pad = column.saturating_sub(display_width(&row.key)) + 2;
            Line::from(vec![
                Span::styled(row.key.clone(), key_style),
                Span::raw(" ".repeat(pad)),
                Span::raw(row.text.clone()),
            ])
        };
        frame.render_widget(line, Rect::new(inner.x, y, inner.width, 1));
    }
}
