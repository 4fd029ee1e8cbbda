//! The screen's palette: every style the pure render uses, chosen once
//! (dark or light background, or no colour at all) and kept in the app's
//! state, so [`crate::ui`] never names a colour itself.
//!
//! Without colour ([`Theme::monochrome`], for `NO_COLOR` and `--color
//! never`) the screen keeps its emphasis: names are bold, notices italic,
//! errors bold, and the status bar is drawn in reverse video, so it reads
//! as well as in colour.

use ratatui::style::{Color, Modifier, Style};

/// Styles for the parts of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Our own name.
    pub me: Style,
    /// Other people's names: each gets one of these, stable for its name.
    pub others: Vec<Style>,
    /// The text of a chat message.
    pub text: Style,
    /// The text of an action (`/me waves`).
    pub action: Style,
    /// Times, and delivery marks.
    pub time: Style,
    /// Notices (someone joined, the connection dropped).
    pub notice: Style,
    /// Errors, and a delivery that failed.
    pub error: Style,
    /// A file transfer's card while it is offered or moving.
    pub transfer: Style,
    /// A file transfer's card once it arrived and matched.
    pub transfer_done: Style,
    /// The rule above the input, with its key hints.
    pub rule: Style,
    /// The rule while the code prompt shows an error.
    pub rule_error: Style,
    /// A question waiting for its answer (a big paste, a newcomer, held
    /// messages): its frame, words, and the rule.
    pub question: Style,
    /// The search line's label.
    pub search: Style,
    /// A match of the search in the message pane.
    pub found: Style,
    /// The match the search is on.
    pub found_current: Style,
    /// A line that asks for attention in place of the status bar (Ctrl-C's
    /// question, the end of the conversation).
    pub bar: Style,
    /// The help's frame and title.
    pub help_border: Style,
    /// The keys and commands in the help.
    pub help_key: Style,
    /// The help's headings.
    pub help_heading: Style,
    /// The status bar.
    pub status: Style,
    /// The connection's state on the status bar, while connected.
    pub connected: Style,
    /// The connection's state on the status bar, otherwise.
    pub waiting: Style,
    /// The status bar's right part while scrolled back.
    pub scrolled: Style,
    /// The status bar's right part when the peer is a plain (unencrypted)
    /// one.
    pub plaintext: Style,
}

impl Default for Theme {
    fn default() -> Self {
        Self::dark()
    }
}

impl Theme {
    /// Colours for a dark background (the default).
    pub fn dark() -> Self {
        let bold = Modifier::BOLD;
        let status = Style::new().bg(Color::DarkGray).fg(Color::White);
        Self {
            me: Style::new().fg(Color::Cyan).add_modifier(bold),
            others: [
                Color::Magenta,
                Color::Yellow,
                Color::Green,
                Color::LightBlue,
                Color::LightRed,
            ]
            .map(|color| Style::new().fg(color).add_modifier(bold))
            .to_vec(),
            text: Style::new(),
            action: Style::new().add_modifier(Modifier::ITALIC),
            time: Style::new().fg(Color::DarkGray),
            notice: Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
            error: Style::new().fg(Color::Red),
            transfer: Style::new().fg(Color::LightBlue),
            transfer_done: Style::new().fg(Color::LightGreen),
            rule: Style::new().fg(Color::DarkGray),
            rule_error: Style::new().fg(Color::Red),
            question: Style::new().fg(Color::Yellow),
            search: Style::new().fg(Color::Yellow),
            found: Style::new().fg(Color::Black).bg(Color::Yellow),
            found_current: Style::new()
                .fg(Color::Black)
                .bg(Color::LightRed)
                .add_modifier(bold),
            bar: Style::new()
                .bg(Color::Yellow)
                .fg(Color::Black)
                .add_modifier(bold),
            help_border: Style::new().fg(Color::Cyan),
            help_key: Style::new().fg(Color::Yellow).add_modifier(bold),
            help_heading: Style::new()
                .fg(Color::Cyan)
                .add_modifier(bold | Modifier::UNDERLINED),
            status,
            connected: status.fg(Color::LightGreen).add_modifier(bold),
            waiting: status.fg(Color::Yellow).add_modifier(bold),
            scrolled: status.fg(Color::Black).bg(Color::Yellow),
            plaintext: status.fg(Color::LightRed).add_modifier(bold),
        }
    }

    /// Colours for a light background: the darker ANSI colours, which stay
    /// readable on white (yellow and the light ones do not).
    pub fn light() -> Self {
        let bold = Modifier::BOLD;
        let status = Style::new().bg(Color::Gray).fg(Color::Black);
        Self {
            me: Style::new().fg(Color::Blue).add_modifier(bold),
            others: [Color::Magenta, Color::Red, Color::Green, Color::Cyan]
                .map(|color| Style::new().fg(color).add_modifier(bold))
                .to_vec(),
            text: Style::new(),
            action: Style::new().add_modifier(Modifier::ITALIC),
            time: Style::new().fg(Color::DarkGray),
            notice: Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
            error: Style::new().fg(Color::Red).add_modifier(bold),
            transfer: Style::new().fg(Color::Blue),
            transfer_done: Style::new().fg(Color::Green),
            rule: Style::new().fg(Color::DarkGray),
            rule_error: Style::new().fg(Color::Red).add_modifier(bold),
            question: Style::new().fg(Color::Magenta),
            search: Style::new().fg(Color::Magenta),
            found: Style::new().fg(Color::Black).bg(Color::Yellow),
            found_current: Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(bold),
            bar: Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(bold),
            help_border: Style::new().fg(Color::Blue),
            help_key: Style::new().fg(Color::Magenta).add_modifier(bold),
            help_heading: Style::new()
                .fg(Color::Blue)
                .add_modifier(bold | Modifier::UNDERLINED),
            status,
            connected: status.fg(Color::Green).add_modifier(bold),
            waiting: status.fg(Color::Blue).add_modifier(bold),
            scrolled: status.fg(Color::White).bg(Color::Blue),
            plaintext: status.fg(Color::Red).add_modifier(bold),
        }
    }

    /// No colour at all, only emphasis: bold names and errors, italic
    /// notices, a status bar in reverse video (its scroll indicator not, so
    /// it stands out).
    pub fn monochrome() -> Self {
        let bold = Modifier::BOLD;
        let status = Style::new().add_modifier(Modifier::REVERSED);
        Self {
            me: Style::new().add_modifier(bold),
            others: vec![Style::new().add_modifier(bold)],
            text: Style::new(),
            action: Style::new().add_modifier(Modifier::ITALIC),
            time: Style::new(),
            notice: Style::new().add_modifier(Modifier::ITALIC),
            error: Style::new().add_modifier(bold),
            transfer: Style::new(),
            transfer_done: Style::new(),
            rule: Style::new(),
            rule_error: Style::new().add_modifier(bold),
            question: Style::new(),
            search: Style::new().add_modifier(bold),
            found: Style::new().add_modifier(Modifier::REVERSED),
            found_current: Style::new()
                .add_modifier(Modifier::REVERSED | bold | Modifier::UNDERLINED),
            bar: Style::new().add_modifier(Modifier::REVERSED | bold),
            help_border: Style::new(),
            help_key: Style::new().add_modifier(bold),
            help_heading: Style::new().add_modifier(bold | Modifier::UNDERLINED),
            status,
            connected: status.add_modifier(bold),
            waiting: status.add_modifier(bold),
            scrolled: Style::new()
                .add_modifier(bold)
                .remove_modifier(Modifier::REVERSED),
            plaintext: status.add_modifier(bold | Modifier::UNDERLINED),
        }
    }

    /// The style of the name `name` of someone else: the same name always
    /// gets the same one.
    pub fn other(&self, name: &str) -> Style {
        let hash = name
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        self.others
            .get(hash % self.others.len().max(1))
            .copied()
            .unwrap_or(self.me)
    }

    /// Whether any style of the theme has a colour.
    pub fn has_colour(&self) -> bool {
        let styles = [
            self.me,
            self.text,
            self.action,
            self.time,
            self.notice,
            self.error,
            self.rule,
            self.rule_error,
            self.question,
            self.search,
            self.found,
            self.found_current,
            self.bar,
            self.help_border,
            self.help_key,
            self.help_heading,
            self.status,
            self.connected,
            self.waiting,
            self.scrolled,
            self.plaintext,
        ];
        styles
            .iter()
            .chain(&self.others)
            .any(|style| style.fg.is_some() || style.bg.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monochrome_has_no_colour_but_keeps_emphasis() {
        let theme = Theme::monochrome();
        assert!(!theme.has_colour());
        assert!(theme.me.add_modifier.contains(Modifier::BOLD));
        assert!(theme.other("bob").add_modifier.contains(Modifier::BOLD));
        assert!(theme.status.add_modifier.contains(Modifier::REVERSED));
        assert!(theme.notice.add_modifier.contains(Modifier::ITALIC));
        assert_ne!(theme.scrolled, theme.status);
        assert!(Theme::dark().has_colour());
        assert!(Theme::light().has_colour());
    }

    #[test]
    fn names_keep_their_style_and_differ_from_ours() {
        for theme in [Theme::dark(), Theme::light()] {
            assert_eq!(theme.other("bob"), theme.other("bob"));
            for name in ["bob", "carol", "dave", "eve", "mallory"] {
                assert_ne!(theme.other(name), theme.me, "{name}");
            }
        }
    }

    #[test]
    fn the_light_theme_avoids_colours_unreadable_on_white() {
        let theme = Theme::light();
        let unreadable = [
            Color::Yellow,
            Color::LightYellow,
            Color::LightCyan,
            Color::LightGreen,
            Color::White,
        ];
        for style in
            theme
                .others
                .iter()
                .chain([&theme.me, &theme.text, &theme.question, &theme.help_key])
        {
            assert!(
                !style.fg.is_some_and(|fg| unreadable.contains(&fg)),
                "{style:?}"
            );
        }
    }
}
