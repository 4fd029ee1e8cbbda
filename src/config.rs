//! The configuration file: settings a person keeps rather than types every
//! time, in TOML, at `~/.config/duplex/config.toml` (the platform's config
//! folder, from the `directories` crate) or where `--config PATH` or
//! `DUPLEX_CONFIG` say.
//!
//! Every setting is optional, and the command line and the environment
//! (`DUPLEX_*` variables) win over it: [`crate::cli`] takes a setting from
//! the file only when neither gives it. A file that is not TOML, has a key
//! duplex does not know, or a value it cannot take is an error naming the
//! file, the line and the key ([`ConfigError`]), so a typo never goes
//! unnoticed.
//!
//! ```toml
//! name = "alice"
//! port = 7878
//! theme = "light"
//! color = "auto"
//! history-limit = 50000
//! encoding = "gbk"
//!
//! [keys]
//! leave = "Ctrl-Q"
//! live = ["Esc", "F2"]
//! ```

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::keymap::{Action, KeyBinding, Keymap};
use crate::net::plain::encoding_for;
use crate::text::{EmojiMode, MAX_NAME_WIDTH, sanitize_name};
use crate::theme::Theme;

/// The file's name in the config folder.
pub const FILE_NAME: &str = "config.toml";

/// The smallest `history-limit` (and `--history-limit`).
pub const MIN_HISTORY_LIMIT: u32 = 2;

/// Where the config file is when nothing says otherwise:
/// `$XDG_CONFIG_HOME/duplex/config.toml` (`~/.config/duplex/config.toml`)
/// on Linux, `~/Library/Application Support/duplex/config.toml` on macOS.
/// `None` when there is no home folder to put it in.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "duplex").map(|dirs| dirs.config_dir().join(FILE_NAME))
}

/// The background the colours are chosen for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ThemeName {
    /// Colours for a dark background.
    #[default]
    Dark,
    /// Colours for a light background.
    Light,
}

/// Whether to use colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Colour, whatever `NO_COLOR` says.
    Always,
    /// No colour: bold and reverse video only.
    Never,
}

impl ColorChoice {
    /// Whether to colour, given the value of `NO_COLOR` (colour is off when
    /// it is set and not empty, as no-color.org asks) and whether standard
    /// output is a terminal.
    pub fn colour(self, no_color: Option<&OsStr>, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && no_color.is_none_or(OsStr::is_empty),
        }
    }
}

/// Reads a setting whose values are those of a command-line choice, by the
/// same names (`dark`, `light`), saying which there are when it is none of
/// them. A setting of such a type takes one line:
/// `impl<'de> Deserialize<'de> for T { fn deserialize … { choice(d) } }`.
pub fn choice<'de, D: Deserializer<'de>, T: clap::ValueEnum>(
    deserializer: D,
) -> Result<T, D::Error> {
    let names = || {
        T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|v| format!("\"{}\"", v.get_name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = String::deserialize(deserializer)
        .map_err(|_| de::Error::custom(format!("expected one of {}", names())))?;
    T::from_str(&text, true).map_err(|_| {
        de::Error::custom(format!(
            "unknown value {text:?}: expected one of {}",
            names()
        ))
    })
}

impl<'de> Deserialize<'de> for ThemeName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        choice(deserializer)
    }
}

impl<'de> Deserialize<'de> for ColorChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        choice(deserializer)
    }
}

/// `--emoji`: how the chat screen draws emoji sequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmojiSetting {
    /// Safe, except in terminals known to draw them right.
    Auto,
    /// Always in a form every terminal agrees on.
    Safe,
    /// Always as they are.
    Full,
}

impl EmojiSetting {
    /// The mode to draw in, in a terminal whose environment variables
    /// `var` looks up.
    pub fn resolve(self, var: impl Fn(&str) -> Option<String>) -> EmojiMode {
        match self {
            EmojiSetting::Auto => EmojiMode::for_terminal(var),
            EmojiSetting::Safe => EmojiMode::Safe,
            EmojiSetting::Full => EmojiMode::Full,
        }
    }
}

impl<'de> Deserialize<'de> for EmojiSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        choice(deserializer)
    }
}

/// The theme to draw with: `name`'s colours, or none at all.
pub fn theme(name: ThemeName, colour: bool) -> Theme {
    match (colour, name) {
        (false, _) => Theme::monochrome(),
        (true, ThemeName::Dark) => Theme::dark(),
        (true, ThemeName::Light) => Theme::light(),
    }
}

/// The settings of a config file; each is `None` when the file does not
/// give it. The key of a setting is its field's name in kebab-case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `name`: your name in the conversation.
    #[serde(default, deserialize_with = "name")]
    pub name: Option<String>,
    /// `port`: the port `duplex host` listens on.
    pub port: Option<u16>,
    /// `theme`: `dark` or `light`.
    pub theme: Option<ThemeName>,
    /// `color`: `auto`, `always` or `never`.
    pub color: Option<ColorChoice>,
    /// `history-limit`: most messages the screen keeps.
    #[serde(default, deserialize_with = "history_limit")]
    pub history_limit: Option<u32>,
    /// `encoding`: the text encoding of plain peers (a WHATWG label).
    #[serde(default, deserialize_with = "encoding")]
    pub encoding: Option<String>,
    /// `quiet`: `true` for no bell and no notifications (`--quiet`).
    pub quiet: Option<bool>,
    /// `typing`: `false` to neither send nor show typing (`--no-typing`).
    pub typing: Option<bool>,
    /// `emoji`: `auto`, `safe` or `full` (`--emoji`).
    pub emoji: Option<EmojiSetting>,
    /// `log`: the folder transcripts are appended to (`--log`).
    pub log: Option<std::path::PathBuf>,
    // ── More settings go here, one line each, as an `Option` of a type that
    // implements `Deserialize` (its errors then name the file, line and key
    // by themselves; a `clap::ValueEnum` can use [`choice`]), e.g. `pub emoji: Option<EmojiMode>,` for `emoji =
    // "safe"`; then take it in `cli::run` where the comment says so.
    /// `[keys]`: actions bound to other keys.
    #[serde(default)]
    pub keys: Keys,
}

/// The `[keys]` table: for each action named in it (`leave`, `page-up`, …,
/// see [`Action::name`]), the chords that do it instead of its default
/// ones, in the order of the file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Keys(pub Vec<(Action, Vec<KeyBinding>)>);

impl Keys {
    /// `keymap` with these bindings: each action named loses its default
    /// chords and gets those given; a chord given that did something else
    /// does this instead.
    pub fn apply(&self, keymap: &mut Keymap) {
        for (action, chords) in &self.0 {
            let old: Vec<KeyBinding> = keymap.chords(*action).collect();
            for chord in old {
                keymap.unbind(chord);
            }
            for chord in chords {
                keymap.bind(*chord, *action);
            }
        }
    }

    /// The default keymap with these bindings.
    pub fn keymap(&self) -> Keymap {
        let mut keymap = Keymap::default();
        self.apply(&mut keymap);
        keymap
    }
}

/// One chord or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Chords {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysVisitor;

        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = Keys;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of actions and their keys, like leave = \"Ctrl-Q\"")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Keys::default();
                while let Some(action) = map.next_key::<ActionName>()? {
                    let chords = map.next_value_seed(ChordsFor {
                        action: action.0,
                        before: &keys,
                    })?;
                    keys.0.push((action.0, chords));
                }
                if keys.keymap().hint(Action::Leave).is_none() {
                    return Err(de::Error::custom(
                        "no key would be left to leave: give leave a key of its own",
                    ));
                }
                Ok(keys)
            }
        }

        deserializer.deserialize_map(KeysVisitor)
    }
}

/// An action's name as a key of `[keys]`.
struct ActionName(Action);

impl<'de> Deserialize<'de> for ActionName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map(ActionName).map_err(de::Error::custom)
    }
}

/// The chords of `action` in `[keys]`, checked against those `before` it.
struct ChordsFor<'a> {
    action: Action,
    before: &'a Keys,
}

impl<'de> de::DeserializeSeed<'de> for ChordsFor<'_> {
    type Value = Vec<KeyBinding>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let chords = match Chords::deserialize(deserializer) {
            Ok(Chords::One(chord)) => vec![chord],
            Ok(Chords::Many(chords)) => chords,
            Err(_) => {
                return Err(de::Error::custom(
                    "expected a key like \"Ctrl-Q\" or a list of keys like [\"Esc\", \"F2\"]",
                ));
            }
        };
        if chords.is_empty() && self.action == Action::Leave {
            return Err(de::Error::custom(
                "leave needs a key: without one there would be no way to leave",
            ));
        }
        let mut checked: Vec<KeyBinding> = Vec::new();
        for text in &chords {
            let chord = chord(text, self.action, &self.before.0).map_err(de::Error::custom)?;
            if !checked.contains(&chord) {
                checked.push(chord);
            }
        }
        Ok(checked)
    }
}

/// The chord `text` for `action`, checked against those given before.
fn chord(
    text: &str,
    action: Action,
    before: &[(Action, Vec<KeyBinding>)],
) -> Result<KeyBinding, String> {
    let chord: KeyBinding = text.parse().map_err(|err| format!("{err}"))?;
    let typing = crossterm::event::KeyEvent::new(chord.code(), chord.modifiers());
    if crate::keymap::typed_char(&typing).is_some() {
        return Err(format!(
            "{chord} types a character, so it cannot be a key for {action}: hold Ctrl or Alt with it, or use another key"
        ));
    }
    if let Some((other, _)) = before.iter().find(|(_, chords)| chords.contains(&chord)) {
        return Err(format!("{chord} is given to both {other} and {action}"));
    }
    Ok(chord)
}

/// `name`: a name as `--name` takes it.
fn name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(deserializer)?;
    valid_name(&name).map(Some).ok_or_else(|| {
        de::Error::custom(format!(
            "invalid name {name:?}: use up to {MAX_NAME_WIDTH} columns of visible characters"
        ))
    })
}

/// `name` if it is a valid name as it is: visible characters, at most
/// [`MAX_NAME_WIDTH`] columns, no blank.
pub fn valid_name(name: &str) -> Option<String> {
    let clean = sanitize_name(name);
    (clean == name.trim() && !clean.is_empty()).then_some(clean)
}

/// `history-limit`: at least [`MIN_HISTORY_LIMIT`].
fn history_limit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let limit = u32::deserialize(deserializer)?;
    if limit < MIN_HISTORY_LIMIT {
        return Err(de::Error::custom(format!(
            "history-limit must be {MIN_HISTORY_LIMIT} or more"
        )));
    }
    Ok(Some(limit))
}

/// `encoding`: a label [`encoding_for`] knows.
fn encoding<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let label = String::deserialize(deserializer)?;
    if encoding_for(&label).is_none() {
        return Err(de::Error::custom(format!(
            "unknown encoding {label:?}: use a name such as utf-8, gbk, gb18030, big5, shift_jis or euc-kr"
        )));
    }
    Ok(Some(label))
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file given with `--config` or `DUPLEX_CONFIG` is not there, or
    /// a file cannot be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML, or says something duplex cannot take.
    #[error(
        "config file {}, line {line}{}: {message}",
        path.display(),
        key.as_ref().map(|key| format!(", key `{key}`")).unwrap_or_default()
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line of the problem, from 1.
        line: usize,
        /// The key whose value is wrong (`None` for a syntax error).
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
}

/// Reads the config file at `path`. A missing file is no error unless
/// `required` (a file named with `--config` or `DUPLEX_CONFIG` must be
/// there); it gives no settings.
pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !required => {
            Ok(Config::default())
        }
        Err(source) => Err(ConfigError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Parses the text of the config file at `path` (named in errors).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let deserializer =
        toml::Deserializer::parse(text).map_err(|err| invalid(text, path, &err, None))?;
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let key = err.path().to_string();
        let key = (key != ".").then_some(key);
        invalid(text, path, err.inner(), key)
    })
}

/// A [`ConfigError::Invalid`] for `err`, located in `text`.
fn invalid(text: &str, path: &Path, err: &toml::de::Error, key: Option<String>) -> ConfigError {
    let span = err.span();
    let at = span.as_ref().map_or(0, |span| span.start.min(text.len()));
    let line = text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    let message = err.message().trim_end().to_owned();
    // An unknown key has no path below the table it is in; the error's span
    // is the key itself.
    let key = key.or_else(|| {
        let spanned = span.and_then(|span| text.get(span))?.trim();
        (message.starts_with("unknown field") && !spanned.contains('\n'))
            .then(|| spanned.to_owned())
    });
    ConfigError::Invalid {
        path: path.to_owned(),
        line,
        key,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Config {
        parse(text, Path::new("config.toml")).unwrap()
    }

    fn error(text: &str) -> String {
        parse(text, Path::new("/home/a/config.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_setting_is_read() {
        let config = parsed(
            r#"
            name = "alice"
            port = 9000
            theme = "light"
            color = "never"
            history-limit = 500
            encoding = "gbk"

            [keys]
            leave = "Ctrl-Q"
            live = ["Esc", "F2"]
            "#,
        );
        assert_eq!(config.name.as_deref(), Some("alice"));
        assert_eq!(config.port, Some(9000));
        assert_eq!(config.theme, Some(ThemeName::Light));
        assert_eq!(config.color, Some(ColorChoice::Never));
        assert_eq!(config.history_limit, Some(500));
        assert_eq!(config.encoding.as_deref(), Some("gbk"));
        assert_eq!(
            config.keys.0,
            [
                (Action::Leave, vec!["Ctrl-Q".parse().unwrap()]),
                (
                    Action::Live,
                    vec!["Esc".parse().unwrap(), "F2".parse().unwrap()]
                ),
            ]
        );
    }

    #[test]
    fn quiet_and_typing_are_read() {
        let config = parsed("quiet = true\ntyping = false\n");
        assert_eq!((config.quiet, config.typing), (Some(true), Some(false)));
        let config = parsed("emoji = \"safe\"\nlog = \"/tmp/chats\"\n");
        assert_eq!(config.emoji, Some(EmojiSetting::Safe));
        assert_eq!(config.log, Some(std::path::PathBuf::from("/tmp/chats")));
        assert!(error("emoji = \"wide\"\n").contains("emoji"));
        assert!(error("quiet = \"yes\"\n").contains("quiet"));
    }

    #[test]
    fn an_empty_file_sets_nothing() {
        let config = parsed("# nothing yet\n");
        assert!(config.name.is_none() && config.port.is_none() && config.theme.is_none());
        assert_eq!(config.keys.keymap(), Keymap::default());
    }

    #[test]
    fn remapped_keys_replace_the_defaults_and_show_in_help() {
        let config = parsed("[keys]\nleave = \"ctrl-q\"\nlive = [\"F2\", \"Ctrl-C\"]\n");
        let keymap = config.keys.keymap();
        assert_eq!(keymap.hint(Action::Leave).as_deref(), Some("Ctrl-Q"));
        let live: Vec<String> = keymap.chords(Action::Live).map(|c| c.to_string()).collect();
        assert_eq!(live, ["F2", "Ctrl-C"]);
        let help = keymap.help_text();
        assert!(help.contains("\nCtrl-Q: leave"), "{help}");
        assert!(help.contains("\nF2 / Ctrl-C: back to live"), "{help}");
        assert!(!help.contains("Esc"), "{help}");
        // A key given to another action does that instead.
        let keymap = parsed("[keys]\nleave = \"F10\"\nlive = \"Ctrl-C\"\n")
            .keys
            .keymap();
        let ctrl_c = crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('c'),
            crossterm::event::KeyModifiers::CONTROL,
        );
        assert_eq!(keymap.action(&ctrl_c), Some(Action::Live));
        // A list with no key leaves an action without one.
        let keymap = parsed("[keys]\noldest = []\n").keys.keymap();
        assert_eq!(keymap.hint(Action::Oldest), None);
    }

    #[test]
    fn a_syntax_error_names_the_file_and_line() {
        let message = error("name = \"alice\"\nport = = 3\n");
        assert!(
            message.starts_with("config file /home/a/config.toml, line 2: "),
            "{message}"
        );
    }

    #[test]
    fn an_unknown_key_names_the_file_line_and_key() {
        let message = error("name = \"alice\"\n\ncolour = \"never\"\n");
        assert!(
            message.starts_with(
                "config file /home/a/config.toml, line 3, key `colour`: unknown field"
            ),
            "{message}"
        );
        assert!(message.contains("color"), "{message}");
    }

    #[test]
    fn a_bad_value_names_the_file_line_and_key() {
        for (text, line, key, says) in [
            ("port = 70000", 1, "port", "u16"),
            ("\ntheme = \"pink\"", 2, "theme", "light"),
            (
                "color = true",
                1,
                "color",
                "\"auto\", \"always\", \"never\"",
            ),
            ("history-limit = 1", 1, "history-limit", "2 or more"),
            ("encoding = \"klingon\"", 1, "encoding", "unknown encoding"),
            ("name = \"  \"", 1, "name", "invalid name"),
            ("name = \"a\\u001bb\"", 1, "name", "invalid name"),
            (
                "[keys]\nleave = \"Ctrl-Pgupp\"",
                2,
                "keys.leave",
                "unknown key",
            ),
            (
                "[keys]\n\nscroll = \"F2\"",
                3,
                "keys.scroll",
                "unknown action",
            ),
            (
                "[keys]\nleave = \"q\"",
                2,
                "keys.leave",
                "types a character",
            ),
            ("[keys]\nleave = []", 2, "keys.leave", "no way to leave"),
            (
                "[keys]\nlive = \"Ctrl-C\"",
                1,
                "keys",
                "no key would be left to leave",
            ),
            ("[keys]\nleave = 3", 2, "keys.leave", "expected a key"),
            (
                "[keys]\nleave = \"F2\"\nlive = \"f2\"",
                3,
                "keys.live",
                "both leave and live",
            ),
        ] {
            let message = error(text);
            let start = format!("config file /home/a/config.toml, line {line}, key `{key}`: ");
            assert!(message.starts_with(&start), "{text:?}: {message}");
            assert!(message.contains(says), "{text:?}: {message}");
        }
    }

    #[test]
    fn a_missing_file_is_fine_unless_it_was_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert!(load(&path, false).unwrap().name.is_none());
        let err = load(&path, true).unwrap_err().to_string();
        assert!(err.contains("cannot read the config file"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        std::fs::write(&path, "name = \"zed\"\n").unwrap();
        assert_eq!(load(&path, true).unwrap().name.as_deref(), Some("zed"));
    }

    #[test]
    fn the_default_file_is_in_the_config_folder() {
        if let Some(path) = default_path() {
            assert!(path.ends_with("duplex/config.toml"), "{path:?}");
        }
    }

    #[test]
    fn colour_follows_no_color_only_when_auto() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert!(ColorChoice::Auto.colour(None, true));
        assert!(ColorChoice::Auto.colour(empty, true));
        assert!(!ColorChoice::Auto.colour(set, true));
        assert!(!ColorChoice::Auto.colour(None, false));
        assert!(ColorChoice::Always.colour(set, false));
        assert!(!ColorChoice::Never.colour(None, true));
        assert_eq!(theme(ThemeName::Light, false), Theme::monochrome());
        assert_eq!(theme(ThemeName::Light, true), Theme::light());
        assert_eq!(theme(ThemeName::Dark, true), Theme::dark());
    }
}
