//! Keys as data: the keymap turns key presses into [`Action`]s before the
//! update step.
//!
//! [`crate::app::App`] asks its [`Keymap`] what a key means and acts on the
//! [`Action`]; [`crate::input::Input`] applies the editing ones
//! ([`EditAction`]). Typing is implicit: a character key with no modifier or
//! only Shift that is not bound inserts itself ([`typed_char`]).
//!
//! The keymap is also the only source of what the keys are documented to do:
//! `/help` (and F1) lists its bindings, the status bar and the input's rule
//! take their key names from [`Keymap::hint`], and README's keys table is
//! [`Keymap::markdown_table`] (a test keeps README in step). Every action
//! describes itself in one place, [`Action::description`], so the bindings
//! and their documentation cannot drift apart.
//!
//! Keys are looked up in layers, helix-style: while a search is open its
//! [`Layer::Search`] comes first (Enter goes to the next match, Esc ends
//! the search), and what it does not bind falls through to the chat's
//! keys (editing the query, scrolling, leaving).
//!
//! Bindings are written the way they are shown, `Ctrl-Home`, `PgUp`, `Alt-B`,
//! and [`KeyBinding`] parses that form back (case-insensitively, `+` also
//! separates), as a configuration file will; actions have names too
//! ([`Action::name`], parsed by [`Action::from_str`]).

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Send the typed message (on the code prompt: try the code).
    Send,
    /// Up a row in the message being typed; on its first row, recall the
    /// message sent before.
    Up,
    /// Down a row; on the last row, recall the next message sent, and after
    /// the newest the draft.
    Down,
    /// Complete a command.
    Complete,
    /// Scroll the history up a page.
    PageUp,
    /// Scroll the history down a page.
    PageDown,
    /// Jump to the oldest message.
    Oldest,
    /// Back to the live view.
    Live,
    /// Show the messages alone, for selecting with the mouse; any key goes back.
    CopyView,
    /// An editing action, applied to the input line.
    Edit(EditAction),
    /// Open the help overlay (keys and commands).
    Help,
    /// Draw the whole screen again.
    Redraw,
    /// Leave the conversation (on the code prompt: give up).
    Leave,
    /// Open the search.
    Search,
    /// While searching: the next older match.
    MatchOlder,
    /// While searching: the next newer match.
    MatchNewer,
    /// While searching: stop searching.
    EndSearch,
}

/// Where a key is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The chat: typing, sending, scrolling.
    Chat,
    /// The search, over the chat.
    Search,
}

/// What an editing key does to the input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EditAction {
    /// Start a new line in the message.
    Newline,
    /// Move one character (grapheme cluster) left.
    Left,
    /// Move one character right.
    Right,
    /// Move to the start of the word before the cursor.
    WordLeft,
    /// Move to the end of the word after the cursor.
    WordRight,
    /// Move to the start of the line (of the message's lines, the cursor's).
    Home,
    /// Move to the end of the line.
    End,
    /// Delete the character before the cursor.
    DeleteBack,
    /// Delete the character after the cursor.
    DeleteForward,
    /// Delete the word before the cursor (readline's `unix-word-rubout`).
    DeleteWordBefore,
    /// Delete from the start of the line to the cursor.
    DeleteToStart,
    /// Delete from the cursor to the end of the line.
    DeleteToEnd,
}

impl Action {
    /// Every action, in the order the documentation lists them.
    pub const ALL: [Action; 28] = [
        Action::Send,
        Action::Edit(EditAction::Newline),
        Action::Up,
        Action::Down,
        Action::Complete,
        Action::PageUp,
        Action::PageDown,
        Action::Oldest,
        Action::Live,
        Action::CopyView,
        Action::Edit(EditAction::Left),
        Action::Edit(EditAction::Right),
        Action::Edit(EditAction::WordLeft),
        Action::Edit(EditAction::WordRight),
        Action::Edit(EditAction::Home),
        Action::Edit(EditAction::End),
        Action::Edit(EditAction::DeleteBack),
        Action::Edit(EditAction::DeleteForward),
        Action::Edit(EditAction::DeleteWordBefore),
        Action::Edit(EditAction::DeleteToStart),
        Action::Edit(EditAction::DeleteToEnd),
        Action::Help,
        Action::Redraw,
        Action::Leave,
        Action::Search,
        Action::MatchOlder,
        Action::MatchNewer,
        Action::EndSearch,
    ];

    /// The layer the action's keys are bound in.
    pub fn layer(self) -> Layer {
        match self {
            Action::MatchOlder | Action::MatchNewer | Action::EndSearch => Layer::Search,
            _ => Layer::Chat,
        }
    }

    /// What the action does, in one line: the words `/help` and README use.
    pub fn description(self) -> &'static str {
        match self {
            Action::Send => "send the message",
            Action::Up => "move up a row; on the first row, recall the message you sent before",
            Action::Down => {
                "move down a row; on the last row, the next message you sent, then your draft"
            }
            Action::Complete => "complete a command (/he → /help; again for the next match)",
            Action::PageUp => "scroll the history up a page",
            Action::PageDown => "scroll the history down a page",
            Action::Oldest => "jump to the oldest message",
            Action::Live => "back to live",
            Action::CopyView => "copy view: messages alone, to select long lines whole",
            Action::Edit(edit) => match edit {
                EditAction::Newline => "start a new line in the message",
                EditAction::Left => "move one character left",
                EditAction::Right => "move one character right",
                EditAction::WordLeft => "move to the start of the word before",
                EditAction::WordRight => "move to the end of the word after",
                EditAction::Home => "move to the start of the line",
                EditAction::End => "move to the end of the line",
                EditAction::DeleteBack => {
                    "delete the character before the cursor (a whole emoji or accented letter)"
                }
                EditAction::DeleteForward => "delete the character after the cursor",
                EditAction::DeleteWordBefore => "delete the word before the cursor",
                EditAction::DeleteToStart => {
                    "delete to the start of the line (at its start, join it to the line before)"
                }
                EditAction::DeleteToEnd => {
                    "delete to the end of the line (at its end, join the next line to it)"
                }
            },
            Action::Help => "show the keys and commands",
            Action::Redraw => "draw the whole screen again",
            Action::Leave => "leave (asks first if a message is not delivered or a draft is typed)",
            Action::Search => "search the history",
            Action::MatchOlder => "while searching: the next older match",
            Action::MatchNewer => "while searching: the next newer match",
            Action::EndSearch => "while searching: stop searching (the view stays)",
        }
    }

    /// The action's name, for a configuration file: `send`, `page-up`,
    /// `delete-word-before`, …
    pub fn name(self) -> &'static str {
        match self {
            Action::Send => "send",
            Action::Up => "up",
            Action::Down => "down",
            Action::Complete => "complete",
            Action::PageUp => "page-up",
            Action::PageDown => "page-down",
            Action::Oldest => "oldest",
            Action::Live => "live",
            Action::CopyView => "copy-view",
            Action::Edit(edit) => match edit {
                EditAction::Newline => "newline",
                EditAction::Left => "left",
                EditAction::Right => "right",
                EditAction::WordLeft => "word-left",
                EditAction::WordRight => "word-right",
                EditAction::Home => "home",
                EditAction::End => "end",
                EditAction::DeleteBack => "delete-back",
                EditAction::DeleteForward => "delete-forward",
                EditAction::DeleteWordBefore => "delete-word-before",
                EditAction::DeleteToStart => "delete-to-start",
                EditAction::DeleteToEnd => "delete-to-end",
            },
            Action::Help => "help",
            Action::Redraw => "redraw",
            Action::Leave => "leave",
            Action::Search => "search",
            Action::MatchOlder => "match-older",
            Action::MatchNewer => "match-newer",
            Action::EndSearch => "end-search",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that names no action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action {0:?} (the actions are: {names})", names = action_names())]
pub struct ParseActionError(pub String);

fn action_names() -> String {
    Action::ALL.map(Action::name).join(", ")
}

impl FromStr for Action {
    type Err = ParseActionError;

    /// Parses [`Action::name`], ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|action| action.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseActionError(s.to_owned()))
    }
}

/// A key with its modifiers (a chord), in a canonical form so that equal
/// chords compare equal: a letter held with Ctrl or Alt is lower case (as
/// terminals report Ctrl-A), a letter with only Shift is upper case.
///
/// Shown as `Ctrl-Home`, `PgUp`, `Alt-B`, `Ctrl--`; parsed from that form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyBinding {
    code: KeyCode,
    modifiers: KeyModifiers,
}

impl KeyBinding {
    /// The chord `code` with `modifiers`, made canonical.
    pub fn new(code: KeyCode, modifiers: KeyModifiers) -> Self {
        let code = match code {
            KeyCode::Char(c) if c.is_ascii_alphabetic() => {
                if modifiers.intersects(!KeyModifiers::SHIFT) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else if modifiers.contains(KeyModifiers::SHIFT) {
                    KeyCode::Char(c.to_ascii_uppercase())
                } else {
                    code
                }
            }
            _ => code,
        };
        Self { code, modifiers }
    }

    /// The chord of a key event.
    pub fn from_event(key: &KeyEvent) -> Self {
        Self::new(key.code, key.modifiers)
    }

    /// The key.
    pub fn code(&self) -> KeyCode {
        self.code
    }

    /// The modifiers held with it.
    pub fn modifiers(&self) -> KeyModifiers {
        self.modifiers
    }
}

impl From<KeyCode> for KeyBinding {
    fn from(code: KeyCode) -> Self {
        Self::new(code, KeyModifiers::NONE)
    }
}

/// Modifier names in the order they are shown.
const MODIFIERS: [(KeyModifiers, &str); 6] = [
    (KeyModifiers::CONTROL, "Ctrl"),
    (KeyModifiers::ALT, "Alt"),
    (KeyModifiers::SHIFT, "Shift"),
    (KeyModifiers::SUPER, "Super"),
    (KeyModifiers::HYPER, "Hyper"),
    (KeyModifiers::META, "Meta"),
];

/// Names of the keys that are not characters, as shown, with the other
/// spellings the parser accepts.
const NAMED_KEYS: [(KeyCode, &str, &[&str]); 16] = [
    (KeyCode::Enter, "Enter", &["Return"]),
    (KeyCode::Esc, "Esc", &["Escape"]),
    (KeyCode::Backspace, "Backspace", &[]),
    (KeyCode::Delete, "Delete", &["Del"]),
    (KeyCode::Insert, "Insert", &["Ins"]),
    (KeyCode::Tab, "Tab", &[]),
    (KeyCode::BackTab, "BackTab", &[]),
    (KeyCode::Left, "Left", &[]),
    (KeyCode::Right, "Right", &[]),
    (KeyCode::Up, "Up", &[]),
    (KeyCode::Down, "Down", &[]),
    (KeyCode::Home, "Home", &[]),
    (KeyCode::End, "End", &[]),
    (KeyCode::PageUp, "PgUp", &["PageUp"]),
    (KeyCode::PageDown, "PgDn", &["PageDown", "PgDown"]),
    (KeyCode::Char(' '), "Space", &[]),
];

impl fmt::Display for KeyBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (modifier, name) in MODIFIERS {
            if self.modifiers.contains(modifier) {
                write!(f, "{name}-")?;
            }
        }
        if let Some((_, name, _)) = NAMED_KEYS.iter().find(|(code, ..)| *code == self.code) {
            return f.write_str(name);
        }
        match self.code {
            // A modified letter is written in capitals, like Ctrl-A.
            KeyCode::Char(c) if !self.modifiers.is_empty() => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            // Keys the parser does not know (media keys, …) are shown as
            // crossterm names them.
            other => write!(f, "{other}"),
        }
    }
}

/// A string that is not a key binding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseKeyError {
    /// Nothing to parse, or no key after the modifiers.
    #[error("no key in {0:?} (write a key like Enter, PgUp, Ctrl-Home or Alt-B)")]
    NoKey(String),
    /// A modifier that is not Ctrl, Alt, Shift, Super, Hyper or Meta.
    #[error(
        "unknown modifier {modifier:?} in {input:?} (the modifiers are Ctrl, Alt, Shift, Super, Hyper and Meta)"
    )]
    UnknownModifier {
        /// The unknown modifier.
        modifier: String,
        /// The whole string.
        input: String,
    },
    /// A key name that is neither one character nor a known key.
    #[error(
        "unknown key {key:?} in {input:?} (a key is one character, F and a number like F5, or one of: {names})",
        names = key_names()
    )]
    UnknownKey {
        /// The unknown key name.
        key: String,
        /// The whole string.
        input: String,
    },
}

fn key_names() -> String {
    NAMED_KEYS.map(|(_, name, _)| name).join(", ")
}

fn is_separator(c: char) -> bool {
    c == '-' || c == '+'
}

impl FromStr for KeyBinding {
    type Err = ParseKeyError;

    /// Parses the form [`KeyBinding`] is shown in: modifiers and a key joined
    /// by `-` or `+`, names in any case (`ctrl-home`, `Alt+b`, `Ctrl--`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The key is after the last separator, except that a separator at the
        // end is the key itself: `-`, `Ctrl--`.
        let (modifiers, key) = match s
            .strip_suffix(is_separator)
            .and_then(|rest| rest.strip_suffix(is_separator))
        {
            Some(modifiers) => (Some(modifiers), &s[modifiers.len() + 1..]),
            None if s == "-" || s == "+" => (None, s),
            None => match s.rfind(is_separator) {
                Some(at) => (Some(&s[..at]), &s[at + 1..]),
                None => (None, s),
            },
        };
        if key.is_empty() {
            return Err(ParseKeyError::NoKey(s.to_owned()));
        }
        let mut mods = KeyModifiers::NONE;
        for name in modifiers.into_iter().flat_map(|m| m.split(is_separator)) {
            let modifier = match name.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => KeyModifiers::CONTROL,
                "alt" => KeyModifiers::ALT,
                "shift" => KeyModifiers::SHIFT,
                "super" => KeyModifiers::SUPER,
                "hyper" => KeyModifiers::HYPER,
                "meta" => KeyModifiers::META,
                _ => {
                    return Err(ParseKeyError::UnknownModifier {
                        modifier: name.to_owned(),
                        input: s.to_owned(),
                    });
                }
            };
            mods |= modifier;
        }
        let mut chars = key.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => parse_key_name(key).ok_or_else(|| ParseKeyError::UnknownKey {
                key: key.to_owned(),
                input: s.to_owned(),
            })?,
        };
        Ok(Self::new(code, mods))
    }
}

/// A key written as a name (`PgUp`, `F5`), ignoring ASCII case.
fn parse_key_name(name: &str) -> Option<KeyCode> {
    let named = NAMED_KEYS.iter().find(|(_, shown, others)| {
        shown.eq_ignore_ascii_case(name) || others.iter().any(|o| o.eq_ignore_ascii_case(name))
    });
    if let Some((code, ..)) = named {
        return Some(*code);
    }
    let number = name.strip_prefix('F').or_else(|| name.strip_prefix('f'))?;
    // Digits only: `u8::from_str` would also take `+5`.
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok().map(KeyCode::F)
}

/// The character a key types, if it is a typing key: a character with no
/// modifier or only Shift, pressed or repeated. The app inserts it when the
/// keymap binds the key to nothing.
pub fn typed_char(key: &KeyEvent) -> Option<char> {
    match (key.kind, key.code) {
        (KeyEventKind::Release, _) => None,
        (_, KeyCode::Char(c))
            if key.modifiers.is_empty() || key.modifiers == KeyModifiers::SHIFT =>
        {
            Some(c)
        }
        _ => None,
    }
}

/// Which key does what: an ordered list of bindings per [`Layer`],
/// several chords per action allowed, each chord bound to at most one
/// action in a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<(KeyBinding, Action)>,
    search: Vec<(KeyBinding, Action)>,
}

impl Default for Keymap {
    /// duplex's keys: readline's editing keys and the usual scrolling ones.
    fn default() -> Self {
        use EditAction::*;
        use KeyCode::{Backspace, Char};
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        let alt = KeyModifiers::ALT;
        let shift = KeyModifiers::SHIFT;
        let defaults = [
            (KeyCode::Enter, none, Action::Send),
            // Every terminal tells Alt-Enter (ESC CR) and Ctrl-J (LF) from
            // Enter (CR); Shift-Enter only those that report it (see
            // `crate::tui`).
            (KeyCode::Enter, alt, Action::Edit(Newline)),
            (Char('j'), ctrl, Action::Edit(Newline)),
            (KeyCode::Enter, shift, Action::Edit(Newline)),
            (KeyCode::Up, none, Action::Up),
            (Char('p'), ctrl, Action::Up),
            (KeyCode::Down, none, Action::Down),
            (Char('n'), ctrl, Action::Down),
            (KeyCode::Tab, none, Action::Complete),
            (KeyCode::PageUp, none, Action::PageUp),
            (KeyCode::PageDown, none, Action::PageDown),
            (KeyCode::Home, ctrl, Action::Oldest),
            (KeyCode::End, ctrl, Action::Live),
            (KeyCode::Esc, none, Action::Live),
            (Char('l'), alt, Action::CopyView),
            (KeyCode::Left, none, Action::Edit(Left)),
            (Char('b'), ctrl, Action::Edit(Left)),
            (KeyCode::Right, none, Action::Edit(Right)),
            (KeyCode::Left, ctrl, Action::Edit(WordLeft)),
            (Char('b'), alt, Action::Edit(WordLeft)),
            (KeyCode::Right, ctrl, Action::Edit(WordRight)),
            (Char('f'), alt, Action::Edit(WordRight)),
            (KeyCode::Home, none, Action::Edit(Home)),
            (Char('a'), ctrl, Action::Edit(Home)),
            (KeyCode::End, none, Action::Edit(End)),
            (Char('e'), ctrl, Action::Edit(End)),
            (Backspace, none, Action::Edit(DeleteBack)),
            // Terminals send ^H for Backspace (or Ctrl-Backspace); readline
            // treats it as backspace.
            (Char('h'), ctrl, Action::Edit(DeleteBack)),
            (KeyCode::Delete, none, Action::Edit(DeleteForward)),
            (Char('d'), ctrl, Action::Edit(DeleteForward)),
            (Char('w'), ctrl, Action::Edit(DeleteWordBefore)),
            (Backspace, ctrl, Action::Edit(DeleteWordBefore)),
            (Backspace, alt, Action::Edit(DeleteWordBefore)),
            (Char('u'), ctrl, Action::Edit(DeleteToStart)),
            (Char('k'), ctrl, Action::Edit(DeleteToEnd)),
            (KeyCode::F(1), none, Action::Help),
            (Char('l'), ctrl, Action::Redraw),
            (Char('c'), ctrl, Action::Leave),
            (Char('f'), ctrl, Action::Search),
        ];
        // Chords every terminal sends first (the hints show those):
        // Shift-Enter works only where the terminal reports it.
        let search = [
            (KeyCode::Enter, none, Action::MatchOlder),
            (Char('n'), ctrl, Action::MatchOlder),
            (KeyCode::Up, none, Action::MatchOlder),
            (Char('p'), ctrl, Action::MatchNewer),
            (KeyCode::Enter, KeyModifiers::SHIFT, Action::MatchNewer),
            (KeyCode::Down, none, Action::MatchNewer),
            (KeyCode::Esc, none, Action::EndSearch),
        ];
        let chords = |list: &[(KeyCode, KeyModifiers, Action)]| {
            list.iter()
                .map(|&(code, modifiers, action)| (KeyBinding::new(code, modifiers), action))
                .collect()
        };
        Self {
            bindings: chords(&defaults),
            search: chords(&search),
        }
    }
}

impl Keymap {
    /// What `key` does: `None` for a key bound to nothing and for a key's
    /// release; a repeat counts as a press.
    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        self.action_in(Layer::Chat, key)
    }

    /// What `key` does in `layer`: the search layer's own keys first, then
    /// the chat's.
    pub fn action_in(&self, layer: Layer, key: &KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let chord = KeyBinding::from_event(key);
        let find = |list: &[(KeyBinding, Action)]| {
            list.iter()
                .find(|(bound, _)| *bound == chord)
                .map(|(_, action)| *action)
        };
        match layer {
            Layer::Search => find(&self.search).or_else(|| find(&self.bindings)),
            Layer::Chat => find(&self.bindings),
        }
    }

    /// The chords bound to `action`, in binding order.
    pub fn chords(&self, action: Action) -> impl Iterator<Item = KeyBinding> + '_ {
        self.layer(action.layer())
            .iter()
            .filter(move |(_, bound)| *bound == action)
            .map(|(chord, _)| *chord)
    }

    fn layer(&self, layer: Layer) -> &Vec<(KeyBinding, Action)> {
        match layer {
            Layer::Chat => &self.bindings,
            Layer::Search => &self.search,
        }
    }

    /// Every binding of the chat layer, in order.
    pub fn bindings(&self) -> &[(KeyBinding, Action)] {
        &self.bindings
    }

    /// Every binding of the search layer, in order.
    pub fn search_bindings(&self) -> &[(KeyBinding, Action)] {
        &self.search
    }

    /// Binds `chord` to `action` in the action's layer, after the chords
    /// `action` already has; a binding `chord` had there before is
    /// replaced.
    pub fn bind(&mut self, chord: KeyBinding, action: Action) {
        let list = match action.layer() {
            Layer::Chat => &mut self.bindings,
            Layer::Search => &mut self.search,
        };
        list.retain(|(bound, _)| *bound != chord);
        list.push((chord, action));
    }

    /// Makes `chord` do nothing, in every layer (or type itself, if it is a
    /// typing key).
    pub fn unbind(&mut self, chord: KeyBinding) {
        self.bindings.retain(|(bound, _)| *bound != chord);
        self.search.retain(|(bound, _)| *bound != chord);
    }

    /// How to do `action`, for a hint: its first chord as shown (`Ctrl-End`),
    /// or `None` if no key does it.
    pub fn hint(&self, action: Action) -> Option<String> {
        self.chords(action).next().map(|chord| chord.to_string())
    }

    /// The chords of `action` as shown, joined by ` / `; `None` if it has none.
    fn chords_text(&self, action: Action) -> Option<String> {
        let shown: Vec<String> = self.chords(action).map(|c| c.to_string()).collect();
        (!shown.is_empty()).then(|| shown.join(" / "))
    }

    /// The keys part of `/help`: a line `Keys:`, then one line per bound
    /// action, `Ctrl-End / Esc: back to live`.
    pub fn help_text(&self) -> String {
        let mut text = String::from("Keys:");
        for action in Action::ALL {
            if let Some(chords) = self.chords_text(action) {
                text.push_str(&format!("\n{chords}: {}", action.description()));
            }
        }
        text
    }

    /// README's keys table (Markdown), one row per bound action, ending in a
    /// newline.
    pub fn markdown_table(&self) -> String {
        let mut table = String::from("| key | does |\n| --- | --- |\n");
        for action in Action::ALL {
            if let Some(chords) = self.chords_text(action) {
                table.push_str(&format!(
                    "| {} | {} |\n",
                    chords.replace('|', "\\|"),
                    action.description()
                ));
            }
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventState;
    use proptest::prelude::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn chord(s: &str) -> KeyBinding {
        s.parse().unwrap()
    }

    #[test]
    fn every_default_binding_is_looked_up() {
        use EditAction::*;
        let keymap = Keymap::default();
        let expected = [
            ("Enter", Action::Send),
            ("Alt-Enter", Action::Edit(Newline)),
            ("Ctrl-J", Action::Edit(Newline)),
            ("Shift-Enter", Action::Edit(Newline)),
            ("Up", Action::Up),
            ("Ctrl-P", Action::Up),
            ("Down", Action::Down),
            ("Ctrl-N", Action::Down),
            ("Tab", Action::Complete),
            ("PgUp", Action::PageUp),
            ("PgDn", Action::PageDown),
            ("Ctrl-Home", Action::Oldest),
            ("Ctrl-End", Action::Live),
            ("Esc", Action::Live),
            ("Alt-L", Action::CopyView),
            ("Left", Action::Edit(Left)),
            ("Ctrl-B", Action::Edit(Left)),
            ("Right", Action::Edit(Right)),
            ("Ctrl-Left", Action::Edit(WordLeft)),
            ("Alt-B", Action::Edit(WordLeft)),
            ("Ctrl-Right", Action::Edit(WordRight)),
            ("Alt-F", Action::Edit(WordRight)),
            ("Home", Action::Edit(Home)),
            ("Ctrl-A", Action::Edit(Home)),
            ("End", Action::Edit(End)),
            ("Ctrl-E", Action::Edit(End)),
            ("Backspace", Action::Edit(DeleteBack)),
            ("Ctrl-H", Action::Edit(DeleteBack)),
            ("Delete", Action::Edit(DeleteForward)),
            ("Ctrl-D", Action::Edit(DeleteForward)),
            ("Ctrl-W", Action::Edit(DeleteWordBefore)),
            ("Ctrl-Backspace", Action::Edit(DeleteWordBefore)),
            ("Alt-Backspace", Action::Edit(DeleteWordBefore)),
            ("Ctrl-U", Action::Edit(DeleteToStart)),
            ("Ctrl-K", Action::Edit(DeleteToEnd)),
            ("F1", Action::Help),
            ("Ctrl-L", Action::Redraw),
            ("Ctrl-C", Action::Leave),
            ("Ctrl-F", Action::Search),
        ];
        let shown: Vec<(String, Action)> = keymap
            .bindings()
            .iter()
            .map(|(chord, action)| (chord.to_string(), *action))
            .collect();
        let expected_shown: Vec<(String, Action)> =
            expected.iter().map(|(s, a)| (s.to_string(), *a)).collect();
        assert_eq!(shown, expected_shown);
        for (text, action) in expected {
            let chord = chord(text);
            let event = press(chord.code(), chord.modifiers());
            assert_eq!(keymap.action(&event), Some(action), "{text}");
        }
        // As terminals report them.
        let ctrl = KeyModifiers::CONTROL;
        let alt = KeyModifiers::ALT;
        assert_eq!(
            keymap.action(&press(KeyCode::Char('c'), ctrl)),
            Some(Action::Leave)
        );
        assert_eq!(
            keymap.action(&press(KeyCode::Char('A'), ctrl)),
            Some(Action::Edit(Home))
        );
        assert_eq!(
            keymap.action(&press(KeyCode::Char('b'), alt)),
            Some(Action::Edit(WordLeft))
        );
        // Every action has a key.
        for action in Action::ALL {
            assert!(keymap.hint(action).is_some(), "{action}");
        }
    }

    #[test]
    fn unbound_keys_and_typing_keys_have_no_action() {
        let keymap = Keymap::default();
        for key in [
            press(KeyCode::Char('a'), KeyModifiers::NONE),
            press(KeyCode::Char('A'), KeyModifiers::SHIFT),
            press(KeyCode::F(2), KeyModifiers::NONE),
            press(KeyCode::Left, KeyModifiers::SHIFT),
            press(KeyCode::Home, KeyModifiers::ALT),
            press(KeyCode::Enter, KeyModifiers::CONTROL),
            press(KeyCode::Char('x'), KeyModifiers::ALT),
            press(
                KeyCode::Char('a'),
                KeyModifiers::CONTROL | KeyModifiers::ALT,
            ),
            press(KeyCode::Char('B'), KeyModifiers::ALT | KeyModifiers::SHIFT),
        ] {
            assert_eq!(keymap.action(&key), None, "{key:?}");
        }
        assert_eq!(
            typed_char(&press(KeyCode::Char('A'), KeyModifiers::SHIFT)),
            Some('A')
        );
        assert_eq!(
            typed_char(&press(KeyCode::Char('中'), KeyModifiers::NONE)),
            Some('中')
        );
        assert_eq!(
            typed_char(&press(KeyCode::Char('a'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(typed_char(&press(KeyCode::Enter, KeyModifiers::NONE)), None);
    }

    #[test]
    fn releases_are_ignored_and_repeats_count_as_presses() {
        let keymap = Keymap::default();
        let with_kind = |kind| KeyEvent {
            code: KeyCode::Char('w'),
            modifiers: KeyModifiers::CONTROL,
            kind,
            state: KeyEventState::NONE,
        };
        assert_eq!(keymap.action(&with_kind(KeyEventKind::Release)), None);
        assert_eq!(
            keymap.action(&with_kind(KeyEventKind::Repeat)),
            Some(Action::Edit(EditAction::DeleteWordBefore))
        );
        let release = KeyEvent::new_with_kind(
            KeyCode::Char('z'),
            KeyModifiers::NONE,
            KeyEventKind::Release,
        );
        assert_eq!(typed_char(&release), None);
        let repeat =
            KeyEvent::new_with_kind(KeyCode::Char('z'), KeyModifiers::NONE, KeyEventKind::Repeat);
        assert_eq!(typed_char(&repeat), Some('z'));
    }

    #[test]
    fn chords_parse_in_any_case_and_show_canonically() {
        for (input, shown) in [
            ("ctrl-home", "Ctrl-Home"),
            ("CTRL+END", "Ctrl-End"),
            ("control-a", "Ctrl-A"),
            ("Ctrl-A", "Ctrl-A"),
            ("alt-b", "Alt-B"),
            ("Alt-B", "Alt-B"),
            ("pgup", "PgUp"),
            ("PageDown", "PgDn"),
            ("pgdown", "PgDn"),
            ("return", "Enter"),
            ("escape", "Esc"),
            ("del", "Delete"),
            ("f2", "F2"),
            ("shift-f12", "Shift-F12"),
            ("ctrl-alt-shift-x", "Ctrl-Alt-Shift-X"),
            ("shift-a", "Shift-A"),
            ("a", "a"),
            ("A", "A"),
            ("中", "中"),
            ("space", "Space"),
            (" ", "Space"),
            ("ctrl-space", "Ctrl-Space"),
            ("-", "-"),
            ("+", "+"),
            ("ctrl--", "Ctrl--"),
            ("ctrl-+", "Ctrl-+"),
            ("alt+-", "Alt--"),
        ] {
            let chord: KeyBinding = input.parse().unwrap();
            assert_eq!(chord.to_string(), shown, "{input}");
            assert_eq!(shown.parse::<KeyBinding>(), Ok(chord), "{shown}");
        }
        assert_eq!(
            chord("ctrl-home"),
            KeyBinding::new(KeyCode::Home, KeyModifiers::CONTROL)
        );
        assert_eq!(
            chord("Ctrl-A"),
            KeyBinding::new(KeyCode::Char('a'), KeyModifiers::CONTROL)
        );
        assert_eq!(
            chord("shift-a"),
            KeyBinding::new(KeyCode::Char('A'), KeyModifiers::SHIFT)
        );
    }

    #[test]
    fn bad_chords_say_what_is_wrong() {
        let err = |s: &str| s.parse::<KeyBinding>().unwrap_err();
        assert_eq!(err(""), ParseKeyError::NoKey(String::new()));
        assert_eq!(err("ctrl-"), ParseKeyError::NoKey("ctrl-".into()));
        assert_eq!(
            err("hyperspace-x"),
            ParseKeyError::UnknownModifier {
                modifier: "hyperspace".into(),
                input: "hyperspace-x".into()
            }
        );
        assert_eq!(
            err("ctrl-pgupp"),
            ParseKeyError::UnknownKey {
                key: "pgupp".into(),
                input: "ctrl-pgupp".into()
            }
        );
        assert!(matches!(err("f+5"), ParseKeyError::UnknownModifier { .. }));
        assert!(matches!(err("fx"), ParseKeyError::UnknownKey { .. }));
        assert!(matches!(err("f256"), ParseKeyError::UnknownKey { .. }));
        let message = err("ctrl-pgupp").to_string();
        assert!(message.contains("\"pgupp\""), "{message}");
        assert!(message.contains("PgUp"), "{message}");
        let message = err("cmd-a").to_string();
        assert!(
            message.contains("\"cmd\"") && message.contains("Ctrl"),
            "{message}"
        );
        assert!(err("").to_string().contains("Ctrl-Home"));
    }

    #[test]
    fn action_names_round_trip() {
        for action in Action::ALL {
            assert_eq!(action.name().parse(), Ok(action));
            assert_eq!(action.to_string(), action.name());
            assert!(!action.description().is_empty());
            assert!(!action.description().contains('\n'));
        }
        assert_eq!("Page-Up".parse(), Ok(Action::PageUp));
        let err = "scroll".parse::<Action>().unwrap_err().to_string();
        assert!(
            err.contains("\"scroll\"") && err.contains("page-up"),
            "{err}"
        );
    }

    #[test]
    fn later_bindings_override_and_add_chords() {
        let mut keymap = Keymap::default();
        keymap.bind(chord("F2"), Action::Live);
        assert_eq!(
            keymap
                .chords(Action::Live)
                .map(|c| c.to_string())
                .collect::<Vec<_>>(),
            ["Ctrl-End", "Esc", "F2"]
        );
        assert_eq!(keymap.hint(Action::Live).as_deref(), Some("Ctrl-End"));
        // Ctrl-End now jumps to the oldest message instead.
        keymap.bind(chord("Ctrl-End"), Action::Oldest);
        let ctrl_end = press(KeyCode::End, KeyModifiers::CONTROL);
        assert_eq!(keymap.action(&ctrl_end), Some(Action::Oldest));
        assert_eq!(keymap.hint(Action::Live).as_deref(), Some("Esc"));
        keymap.unbind(chord("Esc"));
        keymap.unbind(chord("F2"));
        assert_eq!(keymap.hint(Action::Live), None);
        assert!(!keymap.help_text().contains("back to live"));
        assert!(!keymap.markdown_table().contains("back to live"));
    }

    #[test]
    fn the_search_layer_comes_first_and_falls_through_to_the_chat() {
        let keymap = Keymap::default();
        let in_search = |s: &str| {
            let chord = chord(s);
            keymap.action_in(Layer::Search, &press(chord.code(), chord.modifiers()))
        };
        let in_chat = |s: &str| {
            let chord = chord(s);
            keymap.action_in(Layer::Chat, &press(chord.code(), chord.modifiers()))
        };
        for (key, action) in [
            ("Enter", Action::MatchOlder),
            ("Ctrl-N", Action::MatchOlder),
            ("Up", Action::MatchOlder),
            ("Shift-Enter", Action::MatchNewer),
            ("Ctrl-P", Action::MatchNewer),
            ("Down", Action::MatchNewer),
            ("Esc", Action::EndSearch),
            // Not the search's: the chat's.
            ("PgUp", Action::PageUp),
            ("Backspace", Action::Edit(EditAction::DeleteBack)),
            ("Ctrl-C", Action::Leave),
        ] {
            assert_eq!(in_search(key), Some(action), "{key}");
        }
        assert_eq!(in_chat("Ctrl-F"), Some(Action::Search));
        assert_eq!(in_chat("Enter"), Some(Action::Send));
        assert_eq!(in_chat("Esc"), Some(Action::Live));
        // The chat's own Up/Down (history recall) are the search's steps there.
        assert_eq!(in_chat("Ctrl-N"), Some(Action::Down));
        assert_eq!(in_chat("Up"), Some(Action::Up));
        assert_eq!(
            in_chat("Shift-Enter"),
            Some(Action::Edit(EditAction::Newline))
        );
        assert_eq!(in_search("a"), None);
        assert_eq!(keymap.hint(Action::MatchNewer).as_deref(), Some("Ctrl-P"));
        // Binding in one layer leaves the other's chord alone.
        let mut keymap = Keymap::default();
        keymap.bind(chord("F3"), Action::MatchOlder);
        keymap.bind(chord("Enter"), Action::Send);
        assert_eq!(
            keymap
                .chords(Action::MatchOlder)
                .map(|c| c.to_string())
                .collect::<Vec<_>>(),
            ["Enter", "Ctrl-N", "Up", "F3"]
        );
        keymap.unbind(chord("Enter"));
        assert_eq!(keymap.hint(Action::MatchOlder).as_deref(), Some("Ctrl-N"));
        assert_eq!(keymap.hint(Action::Send), None);
    }

    #[test]
    fn generated_documentation() {
        let keymap = Keymap::default();
        let help = keymap.help_text();
        assert!(
            help.starts_with("Keys:\nEnter: send the message\n"),
            "{help}"
        );
        assert!(help.contains("\nCtrl-End / Esc: back to live\n"), "{help}");
        assert!(
            help.contains(
                "\nCtrl-C: leave (asks first if a message is not delivered or a draft is typed)\n"
            ),
            "{help}"
        );
        assert!(
            help.ends_with("\nEsc: while searching: stop searching (the view stays)"),
            "{help}"
        );
        assert_eq!(help.lines().count(), 1 + Action::ALL.len());
        let table = keymap.markdown_table();
        assert!(table.starts_with("| key | does |\n| --- | --- |\n| Enter | send the message |\n| Alt-Enter / Ctrl-J / Shift-Enter | start a new line in the message |\n"));
        assert!(table.contains("| Ctrl-Left / Alt-B | move to the start of the word before |\n"));
        assert_eq!(table.lines().count(), 2 + Action::ALL.len());
        let mut pipe = Keymap::default();
        pipe.bind(chord("ctrl-|"), Action::Leave);
        assert!(
            pipe.markdown_table()
                .contains("| Ctrl-C / Ctrl-\\| | leave (asks first")
        );
    }

    const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    const START: &str = "<!-- keys:start -->\n";
    const END: &str = "<!-- keys:end -->";

    /// README with its keys table replaced by `table`, or `None` if the
    /// markers are missing.
    fn with_table(readme: &str, table: &str) -> Option<String> {
        let start = readme.find(START)? + START.len();
        let end = start + readme[start..].find(END)?;
        Some(format!("{}{table}{}", &readme[..start], &readme[end..]))
    }

    #[test]
    fn readme_keys_table_is_generated_from_the_keymap() {
        let readme = std::fs::read_to_string(README).unwrap();
        let table = Keymap::default().markdown_table();
        let expected = with_table(&readme, &table)
            .unwrap_or_else(|| panic!("README.md has no {START:?} … {END:?} markers"));
        assert!(
            readme == expected,
            "README.md's keys table is not Keymap::default().markdown_table(); regenerate it with\n\
             UPDATE_README=1 cargo test --lib keymap::tests::update_readme_keys_table -- --ignored\n\
             The table should be:\n{table}"
        );
    }

    /// Rewrites README's keys table and its list of `[keys]` actions: run
    /// with `UPDATE_README=1` and `--ignored`.
    #[test]
    #[ignore = "rewrites README.md; run with UPDATE_README=1"]
    fn update_readme_keys_table() {
        if std::env::var_os("UPDATE_README").is_none() {
            return;
        }
        let readme = std::fs::read_to_string(README).unwrap();
        let mut updated = with_table(&readme, &Keymap::default().markdown_table()).unwrap();
        // And the config section's list of `[keys]` actions.
        let (start, end) = ("<!-- actions:start -->", "<!-- actions:end -->");
        let from = updated.find(start).unwrap() + start.len();
        let to = from + updated[from..].find(end).unwrap();
        let names: Vec<String> = Action::ALL
            .iter()
            .map(|action| format!("`{}`", action.name()))
            .collect();
        updated.replace_range(from..to, &names.join(", "));
        std::fs::write(README, updated).unwrap();
    }

    fn any_chord() -> impl Strategy<Value = KeyBinding> {
        let code = prop_oneof![
            any::<char>().prop_map(KeyCode::Char),
            prop::sample::select(vec!['a', 'Z', '-', '+', ' ', '|', 'é', '中'])
                .prop_map(KeyCode::Char),
            prop::sample::select(NAMED_KEYS.map(|(code, ..)| code).to_vec()),
            any::<u8>().prop_map(KeyCode::F),
        ];
        (code, 0u8..64)
            .prop_map(|(code, bits)| KeyBinding::new(code, KeyModifiers::from_bits_truncate(bits)))
    }

    #[test]
    fn every_default_chord_round_trips() {
        for (chord, _) in Keymap::default().bindings() {
            let shown = chord.to_string();
            assert_eq!(shown.parse::<KeyBinding>(), Ok(*chord), "{shown}");
        }
    }

    proptest! {
        #[test]
        fn prop_chords_round_trip(chord in any_chord()) {
            let shown = chord.to_string();
            prop_assert_eq!(shown.parse::<KeyBinding>(), Ok(chord), "{}", shown);
            prop_assert_eq!(KeyBinding::new(chord.code(), chord.modifiers()), chord);
        }

        #[test]
        fn prop_parsing_never_panics(s in "\\PC{0,12}") {
            let _ = s.parse::<KeyBinding>();
        }
    }
}
