//! The status bar: who we are talking to and how, and where the view is.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::app::{App, Link, Role};
use crate::net::Security;
use crate::text::display_width;
use crate::ui::messages::Scroll;

/// The left part of the status bar: the connection's state.
pub fn connection_text(app: &App) -> String {
    match (&app.link, &app.role) {
        (Link::Connected(peer), role) => {
            let host = if matches!(role, Role::Guest) {
                "host, "
            } else {
                ""
            };
            let security = match &peer.security {
                Security::Encrypted { verification, .. } => format!("🔒 {verification}"),
                Security::Plain { .. } => "⚠ plaintext, unverified".to_owned(),
            };
            format!("● {} ({host}{}) · {security}", peer.name, peer.addr)
        }
        (Link::Waiting, Role::Host { hints, local, code }) => {
            let secret = code
                .as_deref()
                .map(|code| format!(" --secret {code}"))
                .unwrap_or_default();
            let commands = if hints.is_empty() {
                format!("port {}{secret}", local.port())
            } else {
                hints
                    .iter()
                    .map(|hint| format!("{hint}{secret}"))
                    .collect::<Vec<_>>()
                    .join("  or  ")
            };
            format!("◌ waiting for a guest · {commands}")
        }
        (Link::Waiting, Role::Guest) => match &app.prompt {
            Some(prompt) if prompt.checking => "◌ checking the code…".to_owned(),
            Some(_) => "◌ the host asks for its secret code".to_owned(),
            None => "◌ connecting".to_owned(),
        },
    }
}

/// The right part of the status bar: scroll state, then our name.
pub fn view_text(app: &App) -> String {
    match app.scroll {
        Scroll::Live => format!("you: {}", app.me),
        Scroll::At(_) if app.unread > 0 => {
            format!("↑ scrolled · {} new ↓ · Ctrl-End: live", app.unread)
        }
        Scroll::At(_) => "↑ scrolled · Ctrl-End: live".to_owned(),
    }
}

/// Draws the status bar.
pub fn render(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let connected = matches!(app.link, Link::Connected(_));
    let base = Style::new().bg(Color::DarkGray).fg(Color::White);
    let state_style = if connected {
        base.fg(Color::LightGreen).add_modifier(Modifier::BOLD)
    } else {
        base.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    };
    let left = format!(" {} ", connection_text(app));
    let right = format!(" {} ", view_text(app));
    let view_style = if matches!(app.scroll, Scroll::At(_)) {
        base.fg(Color::Black).bg(Color::Yellow)
    } else {
        base
    };
    let gap = (area.width as usize).saturating_sub(display_width(&left) + display_width(&right));
    frame.render_widget(
        Line::from(vec![
            Span::styled(left, state_style),
            Span::styled(" ".repeat(gap), base),
            Span::styled(right, view_style),
        ])
        .style(base),
        area,
    );
}
