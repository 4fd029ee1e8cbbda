//! A yes-or-no question as a layer over the message pane: a framed box at
//! the pane's foot, drawn over whatever is there, its words wrapped to fit.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear};

use crate::app::Question;
use crate::text::wrap;
use crate::theme::Theme;

/// Draws `question` at the bottom of `pane`.
pub fn render(frame: &mut Frame<'_>, pane: Rect, question: &Question, theme: &Theme) {
    if pane.width < 3 || pane.height < 3 {
        return; // the hint line says what to press
    }
    let text = question.text();
    let inner = usize::from(pane.width - 2);
    let rows = wrap(&text, inner, inner);
    let height = u16::try_from(rows.len() + 2)
        .unwrap_or(u16::MAX)
        .min(pane.height);
    let area = Rect::new(pane.x, pane.y + pane.height - height, pane.width, height);
    let style = theme.question;
    frame.render_widget(Clear, area);
    frame.render_widget(
        Block::new()
            .borders(Borders::ALL)
            .border_style(style)
            .title(" question "),
        area,
    );
    for (offset, row) in rows.iter().take(usize::from(height - 2)).enumerate() {
        let y = area.y + 1 + offset as u16;
        frame.render_widget(
            Line::styled(
                &text[row.start..row.end],
                style.add_modifier(Modifier::BOLD),
            ),
            Rect::new(area.x + 1, y, area.width - 2, 1),
        );
    }
}
