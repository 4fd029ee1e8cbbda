//! The input box: a rule with key hints, then the text being typed, with the
//! real terminal cursor at the insertion point so an input method's
//! candidate window opens in the right place. While the search is open it
//! is the search's line instead (the message being typed waits).

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};

use crate::app::{App, Layer};
use crate::keymap::Action;
use crate::text::{display_form, display_width};

/// Draws the rule and the input text, and places the cursor.
pub fn render(frame: &mut Frame<'_>, rule: Rect, area: Rect, app: &App) {
    let rule_style = app.theme.rule;
    let width = rule.width as usize;
    let mut hint_text = hints(app);
    if let Some(Layer::Paste(paste)) = app.asking()
        && display_width(&hint_text) + 2 > width
    {
        hint_text = format!(" Paste {} lines? y/n ", paste.lines);
    }
    let hint_text = hint_text.as_str();
    let hints = if display_width(hint_text) + 2 <= width {
        hint_text
    } else {
        ""
    };
    let rule_style = if app.prompt.as_ref().is_some_and(|p| p.error.is_some()) {
        app.theme.rule_error
    } else if app.asking().is_some() {
        app.theme.question
    } else {
        rule_style
    };
    let dashes = width.saturating_sub(display_width(hints));
    frame.render_widget(
        Line::from(vec![
            Span::styled("─".repeat(dashes.min(2)), rule_style),
            Span::styled(hints, rule_style),
            Span::styled("─".repeat(dashes.saturating_sub(2)), rule_style),
        ]),
        rule,
    );

    if area.height == 0 || area.width == 0 {
        return; // no room for the input on a terminal this small
    }
    if app.prompt.is_some() {
        // The code is never shown: one dot per character typed.
        let typed = app.input.text();
        let dots = "•".repeat(typed.chars().count().min(area.width as usize));
        let before = typed.get(..app.input.cursor()).unwrap_or(typed);
        let col = u16::try_from(before.chars().count()).unwrap_or(u16::MAX);
        frame.render_widget(Line::raw(dots), area);
        frame.set_cursor_position(Position::new(
            area.x + col.min(area.width.saturating_sub(1)),
            area.y,
        ));
        return;
    }
    if let Some(search) = &app.search {
        // `search: ` and the query, scrolled to keep the cursor in view.
        const LABEL: &str = "search: ";
        let label_style = app.theme.search;
        let room = (area.width as usize).saturating_sub(LABEL.len()).max(1);
        let layout = search.query.layout(room, app.emoji);
        let text = search.query.text();
        let row = layout.rows.get(layout.cursor_row).cloned().unwrap_or(0..0);
        frame.render_widget(
            Line::from(vec![
                Span::styled(LABEL, label_style),
                Span::raw(&text[row]),
            ]),
            area,
        );
        let col = (LABEL.len() + layout.cursor_col).min(area.width.saturating_sub(1) as usize);
        frame.set_cursor_position(Position::new(area.x + col as u16, area.y));
        return;
    }
    let layout = app.input.layout(area.width as usize, app.emoji);
    // Keep the cursor's row in view when the text is taller than the box.
    let first = (layout.cursor_row + 1).saturating_sub(area.height as usize);
    let text = app.input.text();
    for offset in 0..(area.height as usize).min(layout.rows.len().saturating_sub(first)) {
        let y = area.y + offset as u16;
        frame.render_widget(
            Line::raw(display_form(
                layout.row_text(text, first + offset),
                app.emoji,
            )),
            Rect::new(area.x, y, area.width, 1),
        );
    }
    let row = (layout.cursor_row - first) as u16;
    let col = (layout.cursor_col as u16).min(area.width.saturating_sub(1));
    // Under the help the cursor would blink inside it: hidden instead.
    if !app
        .layers
        .iter()
        .any(|layer| matches!(layer, Layer::Help { .. }))
    {
        frame.set_cursor_position(Position::new(area.x + col, area.y + row));
    }
}

/// Key hints shown on the rule above the input, with the keys the keymap
/// binds: ` Enter send · PgUp/PgDn scroll · exit quits both · Ctrl-C leave `,
/// or on the code prompt ` Secret code (hidden) · Enter to join · Ctrl-C quit `,
/// or while a big paste asks ` Paste 120 lines (4 KiB) into the message? y/n `.
fn hints(app: &App) -> String {
    let key = |action| app.keymap.hint(action);
    let mut parts = Vec::new();
    // The question nearest the top takes the next y or n.
    match app.asking() {
        Some(Layer::Question(_)) => {
            parts.push("y yes · n no".to_owned());
            parts.extend(key(Action::Leave).map(|k| format!("{k} leave")));
            return format!(" {} ", parts.join(" · "));
        }
        Some(Layer::Paste(paste)) => return format!(" {} ", paste.question()),
        _ => {}
    }
    if app.search.is_some() && app.prompt.is_none() {
        parts.push("Search".to_owned());
        parts.extend(key(Action::MatchOlder).map(|k| format!("{k} older")));
        parts.extend(key(Action::MatchNewer).map(|k| format!("{k} newer")));
        parts.extend(key(Action::EndSearch).map(|k| format!("{k} done")));
        return format!(" {} ", parts.join(" · "));
    }
    match &app.prompt {
        Some(prompt) => {
            let join = key(Action::Send).map(|k| format!("{k} to join"));
            match &prompt.error {
                Some(error) => {
                    parts.push(error.clone());
                    parts.push(match join {
                        Some(join) => format!("type the code again, {join}"),
                        None => "type the code again".to_owned(),
                    });
                }
                None => {
                    parts.push("Secret code (hidden)".to_owned());
                    parts.extend(join);
                }
            }
            parts.extend(key(Action::Leave).map(|k| format!("{k} quit")));
        }
        None => {
            parts.extend(key(Action::Send).map(|k| format!("{k} send")));
            let scroll = match (key(Action::PageUp), key(Action::PageDown)) {
                (Some(up), Some(down)) => Some(format!("{up}/{down}")),
                (up, down) => up.or(down),
            };
            parts.extend(scroll.map(|k| format!("{k} scroll")));
            parts.push("exit quits both".to_owned());
            parts.extend(key(Action::Leave).map(|k| format!("{k} leave")));
        }
    }
    format!(" {} ", parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{CodePrompt, Role};
    use crate::keymap::KeyBinding;

    #[test]
    fn hints_name_the_keys_the_keymap_binds() {
        let mut app = App::new("alice", Role::Guest, 1);
        assert_eq!(
            hints(&app),
            " Enter send · PgUp/PgDn scroll · exit quits both · Ctrl-C leave "
        );
        let f5: KeyBinding = "F5".parse().unwrap();
        app.keymap.bind(f5, Action::Leave);
        app.keymap.unbind("Ctrl-C".parse().unwrap());
        app.keymap.unbind("PgDn".parse().unwrap());
        assert_eq!(
            hints(&app),
            " Enter send · PgUp scroll · exit quits both · F5 leave "
        );
        app.prompt = Some(CodePrompt::default());
        assert_eq!(
            hints(&app),
            " Secret code (hidden) · Enter to join · F5 quit "
        );
        app.keymap.unbind("Enter".parse().unwrap());
        if let Some(prompt) = app.prompt.as_mut() {
            prompt.error = Some("wrong code".into());
        }
        assert_eq!(hints(&app), " wrong code · type the code again · F5 quit ");
    }

    #[test]
    fn the_search_line_names_its_keys() {
        let mut app = App::new("alice", Role::Guest, 1);
        app.search = Some(crate::app::Search::new());
        assert_eq!(
            hints(&app),
            " Search · Enter older · Ctrl-P newer · Esc done "
        );
        assert_eq!(app.input_rows(80), 1);
    }

    #[test]
    fn the_rule_asks_what_the_next_y_or_n_answers() {
        use crate::app::{Event, Layer, PendingPaste, Question};
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let mut app = App::new("alice", Role::Guest, 1);
        app.layers.push(Layer::Question(Question::Held {
            count: 1,
            name: "bob".into(),
        }));
        assert_eq!(hints(&app), " y yes · n no · Ctrl-C leave ");
        // A big paste while it is asked asks over it, and is answered first.
        let text: String = (1..=30).map(|n| format!("{n}\n")).collect();
        app.update(Event::Paste(text));
        assert!(matches!(
            app.asking(),
            Some(Layer::Paste(PendingPaste { lines: 30, .. }))
        ));
        assert_eq!(
            hints(&app),
            " Paste 30 lines (1 KiB) into the message? y/n "
        );
        app.update(Event::Key(KeyEvent::new(
            KeyCode::Char('n'),
            KeyModifiers::NONE,
        )));
        assert_eq!(hints(&app), " y yes · n no · Ctrl-C leave ");
        assert!(app.input.is_empty());
    }
}
