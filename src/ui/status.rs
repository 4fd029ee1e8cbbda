//! The status bar: who we are talking to and how, and where the view is.
//!
//! It is one row, so everything in it is fitted to the width: the scroll
//! indicator is kept (in a shorter form if need be) because it explains what
//! the pane shows, join commands are dropped whole rather than cut, and
//! whatever still does not fit ends in an ellipsis.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;

use crate::app::transfer::MovingTotal;
use crate::app::{App, Edge, Link, Role, Search};
use crate::keymap::Action;
use crate::present::{percent, size_text};
use std::net::SocketAddr;

use crate::net::{JoinHint, Security};
use crate::text::{display_form, display_width};
use crate::view::Scroll;

/// Separates join commands for several addresses.
const OR: &str = "  or  ";

/// `text` cut to at most `width` cells, ending in `…` if it was cut.
pub fn fit(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for grapheme in text.graphemes(true) {
        let w = display_width(grapheme);
        if used + w + 1 > width {
            break;
        }
        out.push_str(grapheme);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// The left part of the status bar, the connection's state, in at most
/// `width` cells.
pub fn connection_text(app: &App, width: usize) -> String {
    let text = match (&app.link, &app.role) {
        (Link::Connected(peer), role) => {
            let host = if matches!(role, Role::Guest) {
                "host, "
            } else {
                ""
            };
            let who = format!("● {} ({host}{})", peer.name, peer.addr);
            match app.typing() {
                // The news first: kept whole when the address must go.
                Some(name) => {
                    let long = format!("{who} · {name} is typing…");
                    if display_width(&long) <= width {
                        long
                    } else {
                        format!("● {name} is typing…")
                    }
                }
                None => format!("{who} · connected"),
            }
        }
        (
            Link::Dropped {
                peer,
                retry_at_ms: Some(at),
                attempts,
                ..
            },
            _,
        ) => {
            let seconds = ((at - app.clock.mono_ms()).max(0) + 999) / 1000;
            let attempt = if *attempts > 0 {
                format!(" (attempt {})", attempts + 1)
            } else {
                String::new()
            };
            if seconds > 0 {
                format!("◌ reconnecting to {} in {seconds} s{attempt}", peer.name)
            } else {
                format!("◌ reconnecting to {}…{attempt}", peer.name)
            }
        }
        (
            Link::Dropped { peer, .. },
            Role::Host {
                hints,
                local,
                code,
                show_code,
            },
        ) => join_commands(
            format!("◌ lost {} · waiting for them to come back · ", peer.name),
            hints,
            *local,
            shown_code(code.as_deref(), *show_code),
            width,
        ),
        (Link::Dropped { peer, .. }, Role::Guest) => format!("◌ lost {}", peer.name),
        (
            Link::Waiting,
            Role::Host {
                hints,
                local,
                code,
                show_code,
            },
        ) => join_commands(
            "◌ waiting for a guest · ".to_owned(),
            hints,
            *local,
            shown_code(code.as_deref(), *show_code),
            width,
        ),
        (Link::Waiting, Role::Guest) => match &app.prompt {
            Some(prompt) if prompt.checking => "◌ checking the code…".to_owned(),
            Some(_) => "◌ the host asks for its secret code".to_owned(),
            None => match &app.joining {
                Some(target) => format!("◌ connecting to {target}…"),
                None => "◌ connecting".to_owned(),
            },
        },
    };
    fit(&text, width)
}

/// The code as the join hint shows it: itself until a guest is in, then
/// only that one is needed.
fn shown_code(code: Option<&str>, show: bool) -> Option<&str> {
    match code {
        Some(_) if !show => Some("…"),
        code => code,
    }
}

/// `lead` followed by as many whole join commands as fit in `width` (the
/// first always shows).
fn join_commands(
    lead: String,
    hints: &[JoinHint],
    local: SocketAddr,
    code: Option<&str>,
    width: usize,
) -> String {
    let mut text = lead;
    if hints.is_empty() {
        text.push_str(&format!("port {}", local.port()));
        if let Some(code) = code {
            text.push_str(&format!(" · DUPLEX_SECRET={code}"));
        }
    }
    for (i, hint) in hints.iter().enumerate() {
        let command = hint.with_code(code);
        let addition = if i == 0 {
            command
        } else {
            format!("{OR}{command}")
        };
        if i > 0 && display_width(&text) + display_width(&addition) > width {
            break;
        }
        text.push_str(&addition);
    }
    text
}

/// The right part of the status bar in at most `width` cells: the scroll
/// state when scrolled back, otherwise how the conversation is protected
/// (the verification words), or our name while nobody is connected.
pub fn view_text(app: &App, width: usize) -> String {
    let searching = app.search.as_ref().filter(|_| app.prompt.is_none());
    let mut candidates = match (app.scroll, &app.link) {
        _ if searching.is_some() => searching.map(search_text).unwrap_or_default(),
        (Scroll::Live, Link::Connected(peer)) => match &peer.security {
            Security::Encrypted { verification, .. } if app.words_compared() => {
                vec![format!("🔒✓ {verification}"), "🔒✓ /verify".to_owned()]
            }
            Security::Encrypted { verification, .. } => {
                vec![format!("🔒 {verification}"), "🔒 /verify".to_owned()]
            }
            Security::Plain { .. } => vec![
                "⚠ plaintext, unverified".to_owned(),
                "⚠ plaintext".to_owned(),
            ],
        },
        (Scroll::Live, Link::Dropped { .. }) if app.unacked() > 0 => vec![
            format!("{} waiting to be sent", app.unacked()),
            format!("{} waiting", app.unacked()),
        ],
        (Scroll::Live, Link::Waiting | Link::Dropped { .. }) => {
            vec![format!("you: {}", app.me)]
        }
        (Scroll::At(_), _) if app.unread > 0 => vec![
            format!("↑ scrolled · {} new ↓{}", app.unread, live_hint(app)),
            format!("↑ {} new ↓", app.unread),
            format!("{} new", app.unread),
        ],
        (Scroll::At(_), _) => vec![
            format!("↑ scrolled{}", live_hint(app)),
            "↑ scrolled".to_owned(),
            "↑".to_owned(),
        ],
    };
    // While files move (and the view is live), their total comes first,
    // with the rest after it if there is room.
    if let Some(moving) = app.transfers.total().filter(|_| searching.is_none())
        && app.scroll == Scroll::Live
    {
        let long = moving_text(&moving);
        let short = format!("⇅ {}%", percent(moving.bytes, moving.total));
        let mut first: Vec<String> = candidates
            .iter()
            .map(|rest| format!("{long} · {rest}"))
            .collect();
        first.extend([long, short]);
        candidates = first;
    }
    candidates
        .into_iter()
        .find(|text| display_width(text) <= width)
        .unwrap_or_default()
}

/// The total of the transfers moving: `⇅ 2 transfers · 45% · 12.0 MiB/s`
/// (the one's name when only one moves).
pub fn moving_text(moving: &MovingTotal) -> String {
    let what = if moving.count == 1 {
        moving.name.clone()
    } else {
        format!("{} transfers", moving.count)
    };
    let mut text = format!("⇅ {what} · {}%", percent(moving.bytes, moving.total));
    if moving.rate > 0 {
        text.push_str(&format!(" · {}/s", size_text(moving.rate)));
    }
    text
}

/// Where the search is: `match 3/17`, and whether a step found no match
/// further on; longest first.
fn search_text(search: &Search) -> Vec<String> {
    let Some(position) = search.position() else {
        return vec![if search.has_query() {
            "no match".to_owned()
        } else {
            "type to search".to_owned()
        }];
    };
    let count = search.count();
    let shown = format!("match {position}/{count}");
    let edge = match search.edge {
        Some(Edge::Oldest) => Some("no older match"),
        Some(Edge::Newest) => Some("no newer match"),
        None => None,
    };
    match edge {
        Some(edge) => vec![
            format!("{edge} · {shown}"),
            shown,
            format!("{position}/{count}"),
        ],
        None => vec![shown, format!("{position}/{count}")],
    }
}

/// How to get back to live, ` · Ctrl-End: live`, from the keymap (nothing
/// if no key does it).
fn live_hint(app: &App) -> String {
    app.keymap
        .hint(Action::Live)
        .map(|key| format!(" · {key}: live"))
        .unwrap_or_default()
}

/// Draws the status bar.
pub fn render(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let width = area.width as usize;
    let connected = matches!(app.link, Link::Connected(_));
    let scrolled = matches!(app.scroll, Scroll::At(_));
    let theme = &app.theme;
    let base = theme.status;
    let state_style = if connected {
        theme.connected
    } else {
        theme.waiting
    };
    let plain = matches!(&app.link, Link::Connected(peer) if peer.is_plain());
    let view_style = if scrolled {
        theme.scrolled
    } else if plain {
        theme.plaintext
    } else {
        base
    };
    // The scroll indicator and the verification words may take up to half
    // the bar; our name only what the connection's state leaves over.
    let full_left = connection_text(app, width.saturating_sub(2));
    let right_budget = if scrolled || connected {
        (width / 2).max(width.saturating_sub(display_width(&full_left) + 2))
    } else {
        width.saturating_sub(display_width(&full_left) + 2)
    };
    let right = view_text(app, right_budget.saturating_sub(2));
    let right = if right.is_empty() {
        right
    } else {
        format!(" {right} ")
    };
    let left_width = width.saturating_sub(display_width(&right) + 2);
    let left = format!(" {} ", connection_text(app, left_width));
    // Names may hold emoji: drawn as the message pane draws them.
    let (left, right) = (
        display_form(&left, app.emoji).into_owned(),
        display_form(&right, app.emoji).into_owned(),
    );
    let gap = width.saturating_sub(display_width(&left) + display_width(&right));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_names_the_one_transfer_or_counts_them() {
        let mut moving = MovingTotal {
            count: 1,
            name: "report.pdf".into(),
            bytes: 45,
            total: 100,
            rate: 12 * 1024 * 1024,
        };
        assert_eq!(moving_text(&moving), "⇅ report.pdf · 45% · 12.0 MiB/s");
        moving.count = 2;
        moving.rate = 0;
        assert_eq!(moving_text(&moving), "⇅ 2 transfers · 45%");
    }

    #[test]
    fn fit_cuts_by_width_with_an_ellipsis() {
        assert_eq!(fit("hello", 5), "hello");
        assert_eq!(fit("hello world", 6), "hello…");
        assert_eq!(fit("你好世界", 5), "你好…");
        assert_eq!(fit("abc", 0), "");
    }

    #[test]
    fn compared_words_are_marked() {
        use crate::app::Event;
        use crate::domain::{PeerInfo, Security};
        use crate::net::{NetEvent, PeerLink};
        let mut app = App::new("alice", Role::Guest, 1);
        app.update(Event::Net(NetEvent::Joined {
            info: PeerInfo {
                id: 3,
                name: "bob".to_owned(),
                addr: "127.0.0.1:5000".parse().unwrap(),
                security: Security::Encrypted {
                    verification: "amber-otter-violin-maple".to_owned(),
                    with_code: false,
                },
                resumed: false,
                resume: None,
                caps: Default::default(),
            },
            link: PeerLink::detached(3),
        }));
        assert_eq!(view_text(&app, 80), "🔒 amber-otter-violin-maple");
        app.update(Event::Submit("/verify ok".into()));
        assert_eq!(view_text(&app, 80), "🔒✓ amber-otter-violin-maple");
        assert_eq!(view_text(&app, 12), "🔒✓ /verify");
    }

    #[test]
    fn the_search_says_which_match_of_how_many() {
        use crate::app::Event;
        use crate::history::{AuthorId, Delivery, Entry};
        use crate::protocol::MessageId;
        let mut app = App::new("alice", Role::Guest, 1);
        for seq in 0..3 {
            app.history.push(Entry::Chat {
                at_ms: 0,
                author: AuthorId::ME,
                id: MessageId { session: 1, seq },
                text: "pizza".into(),
                delivery: Delivery::Sent,
                action: false,
            });
        }
        app.update(Event::Submit("/search".into()));
        assert_eq!(view_text(&app, 80), "type to search");
        app.update(Event::Submit("/search PIZZA".into()));
        assert_eq!(view_text(&app, 80), "no match");
        app.update(Event::Submit("/search pizza".into()));
        assert_eq!(view_text(&app, 80), "match 3/3");
        app.search.as_mut().unwrap().newer();
        assert_eq!(view_text(&app, 80), "no newer match · match 3/3");
        assert_eq!(view_text(&app, 12), "match 3/3");
        assert_eq!(view_text(&app, 5), "3/3");
    }

    #[test]
    fn the_live_hint_names_the_key_the_keymap_binds() {
        use crate::keymap::KeyBinding;
        use crossterm::event::{KeyCode, KeyModifiers};
        let mut app = App::new("alice", Role::Guest, 1);
        app.scroll = Scroll::At(crate::view::Anchor { entry: 0, row: 0 });
        assert_eq!(view_text(&app, 80), "↑ scrolled · Ctrl-End: live");
        app.unread = 3;
        assert_eq!(view_text(&app, 80), "↑ scrolled · 3 new ↓ · Ctrl-End: live");
        app.keymap
            .unbind(KeyBinding::new(KeyCode::End, KeyModifiers::CONTROL));
        assert_eq!(view_text(&app, 80), "↑ scrolled · 3 new ↓ · Esc: live");
        app.keymap.unbind(KeyCode::Esc.into());
        app.unread = 0;
        assert_eq!(view_text(&app, 80), "↑ scrolled");
    }
}
