//! Emoji that terminals draw at different widths, and a form of them every
//! terminal draws alike.
//!
//! duplex measures a grapheme cluster the way `unicode-width` does (an emoji
//! sequence is 2 cells). Many terminals disagree for some kinds of sequence:
//! VTE, xterm, Alacritty and Terminal.app draw a ZWJ sequence as the sum of
//! its parts and a VS16 emoji (❤️) as 1 cell; tmux 3.3 drops skin tones and
//! the last member of a family; WezTerm draws VS16 emoji as 1 cell. Where a
//! terminal draws a cluster wider or narrower than duplex thinks, the rest of
//! the row shifts.
//!
//! [`EmojiMode::Safe`] draws each such cluster in a form every terminal
//! measures alike ([`display_cluster`]); [`EmojiMode::Full`] draws it as it
//! is. Only what is drawn changes: the text itself (sent, saved, printed in
//! headless and JSON mode) never does. [`EmojiMode::for_terminal`] picks the
//! mode from the environment for `--emoji auto`.

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How emoji sequences are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmojiMode {
    /// In a form every terminal agrees on ([`display_cluster`]).
    #[default]
    Safe,
    /// As they are.
    Full,
}

const ZWJ: char = '\u{200D}';
const VS15: char = '\u{FE0E}';
const VS16: char = '\u{FE0F}';
const KEYCAP: char = '\u{20E3}';

/// Skin tone modifiers (Fitzpatrick types 1-2 to 6).
fn is_skin_tone(c: char) -> bool {
    ('\u{1F3FB}'..='\u{1F3FF}').contains(&c)
}

/// Regional indicator letters: two of them make a flag.
fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Tags (the letters of subdivision flags such as Scotland's).
fn is_tag(c: char) -> bool {
    ('\u{E0020}'..='\u{E007F}').contains(&c)
}

/// Chars that start an emoji: the pictographic blocks and the older symbols
/// that have an emoji presentation.
fn is_pictographic(c: char) -> bool {
    matches!(
        c,
        '\u{A9}'
            | '\u{AE}'
            | '\u{203C}'
            | '\u{2049}'
            | '\u{2122}'
            | '\u{2139}'
            | '\u{2194}'..='\u{21FF}'
            | '\u{2300}'..='\u{23FF}'
            | '\u{24C2}'
            | '\u{25A0}'..='\u{25FF}'
            | '\u{2600}'..='\u{27BF}'
            | '\u{2900}'..='\u{297F}'
            | '\u{2B00}'..='\u{2BFF}'
            | '\u{3030}'
            | '\u{303D}'
            | '\u{3297}'
            | '\u{3299}'
            | '\u{1F000}'..='\u{1FAFF}'
    )
}

/// How grapheme cluster `g` is drawn in `mode`.
///
/// In [`EmojiMode::Safe`], by kind:
/// * a VS16 emoji whose base is narrow (❤️, ✔️): the base and a space (2 cells);
/// * a keycap (1️⃣): the key's character and a space (2 cells);
/// * a skin-toned emoji (👍🏽): the emoji without the tone (2 cells);
/// * a ZWJ sequence (👨‍👩‍👧‍👦, 👩‍🔬): its first emoji (👨, 👩; 2 cells), or, if
///   that is narrow (🏳️‍🌈), its first char and a space;
/// * a subdivision flag (🏴 and tags): the black flag 🏴 (2 cells);
/// * a country flag (two regional indicators, 🇸🇬): as it is, every terminal
///   draws it 2 cells wide; a lone regional indicator: its letter (`J`);
/// * a text or emoji variation selector anywhere else is left out.
///
/// Everything else, and everything in [`EmojiMode::Full`], is drawn as it is.
pub fn display_cluster(g: &str, mode: EmojiMode) -> Cow<'_, str> {
    if mode == EmojiMode::Full || g.is_ascii() {
        return Cow::Borrowed(g);
    }
    let mut chars = g.chars();
    let Some(base) = chars.next() else {
        return Cow::Borrowed(g);
    };
    if is_regional_indicator(base) {
        // A flag is its two letters; anything after them is left out.
        return match chars.next() {
            Some(second) if is_regional_indicator(second) => {
                let flag = base.len_utf8() + second.len_utf8();
                if flag == g.len() {
                    Cow::Borrowed(g)
                } else {
                    Cow::Owned(g[..flag].to_owned())
                }
            }
            _ => {
                let letter = u32::from(base) - 0x1F1E6 + u32::from(b'A');
                Cow::Owned(char::from_u32(letter).unwrap_or('?').to_string())
            }
        };
    }
    let has_keycap = g.contains(KEYCAP);
    let emoji = is_pictographic(base) || has_keycap;
    let marked = g
        .chars()
        .any(|c| c == VS15 || c == VS16 || c == KEYCAP || is_skin_tone(c) || is_tag(c) || c == ZWJ);
    if !marked {
        return Cow::Borrowed(g);
    }
    if !emoji {
        // A selector after some other char (a CJK ideograph, say): drop it.
        if !g.contains([VS15, VS16]) {
            return Cow::Borrowed(g);
        }
        return Cow::Owned(g.chars().filter(|&c| c != VS15 && c != VS16).collect());
    }
    let meant_wide = g
        .chars()
        .any(|c| c == VS16 || c == KEYCAP || c == ZWJ || is_skin_tone(c));
    let mut shown = String::from(base);
    if base.width() != Some(2) && meant_wide {
        shown.push(' ');
    }
    if shown == g {
        Cow::Borrowed(g)
    } else {
        Cow::Owned(shown)
    }
}

/// `text` as drawn in `mode`: each grapheme cluster through [`display_cluster`]
/// (which borrows only a cluster it leaves as it is).
pub fn display_form(text: &str, mode: EmojiMode) -> Cow<'_, str> {
    if mode == EmojiMode::Full || text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let mut out: Option<String> = None;
    for (i, g) in text.grapheme_indices(true) {
        match (display_cluster(g, mode), &mut out) {
            (Cow::Borrowed(_), None) => {}
            (Cow::Owned(shown), None) => {
                let mut s = String::with_capacity(text.len());
                s.push_str(&text[..i]);
                s.push_str(&shown);
                out = Some(s);
            }
            (shown, Some(s)) => s.push_str(&shown),
        }
    }
    out.map_or(Cow::Borrowed(text), Cow::Owned)
}

/// Cells grapheme cluster `g` takes when drawn in `mode`.
pub fn cluster_width(g: &str, mode: EmojiMode) -> usize {
    display_cluster(g, mode)
        .graphemes(true)
        .map(UnicodeWidthStr::width)
        .sum()
}

impl EmojiMode {
    /// The mode for `--emoji auto`, from the terminal's environment
    /// variables (`var` looks one up): [`EmojiMode::Full`] only in a
    /// terminal known to draw emoji sequences as `unicode-width` measures
    /// them (kitty, foot, Ghostty, iTerm2, Konsole, Windows Terminal), and
    /// not inside tmux or screen, which redraw with their own widths;
    /// [`EmojiMode::Safe`] everywhere else (VTE terminals, xterm,
    /// Alacritty, Terminal.app, WezTerm, and any terminal not known).
    pub fn for_terminal(var: impl Fn(&str) -> Option<String>) -> Self {
        let is = |name: &str| var(name).is_some_and(|v| !v.is_empty());
        let term = var("TERM").unwrap_or_default();
        let program = var("TERM_PROGRAM").unwrap_or_default();
        let multiplexed = is("TMUX")
            || is("STY")
            || term.starts_with("tmux")
            || term.starts_with("screen")
            || program == "tmux";
        if multiplexed {
            return EmojiMode::Safe;
        }
        let known_good = term == "xterm-kitty"
            || is("KITTY_WINDOW_ID")
            || term.starts_with("foot")
            || term == "xterm-ghostty"
            || program.eq_ignore_ascii_case("ghostty")
            || program == "iTerm.app"
            || is("KONSOLE_VERSION")
            || is("WT_SESSION");
        if known_good {
            EmojiMode::Full
        } else {
            EmojiMode::Safe
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::text::strategies::any_text;
    use crate::text::{display_width, sanitize_text};

    const HEART: &str = "❤\u{fe0f}";
    const CHECK: &str = "✔\u{fe0f}";
    const FAMILY: &str = "👨\u{200d}👩\u{200d}👧\u{200d}👦";
    const THUMB: &str = "👍\u{1f3fd}";
    const KEYCAP_ONE: &str = "1\u{fe0f}\u{20e3}";
    const FLAG: &str = "🇸🇬";
    const SCOTLAND: &str = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
    const RAINBOW: &str = "🏳\u{fe0f}\u{200d}🌈";

    fn safe(s: &str) -> String {
        display_form(s, EmojiMode::Safe).into_owned()
    }

    #[test]
    fn safe_mode_draws_each_kind_in_a_form_terminals_agree_on() {
        assert_eq!(safe(HEART), "❤ ");
        assert_eq!(safe(CHECK), "✔ ");
        assert_eq!(safe(FAMILY), "👨");
        assert_eq!(safe("👩\u{200d}🔬"), "👩");
        assert_eq!(safe(THUMB), "👍");
        assert_eq!(safe(KEYCAP_ONE), "1 ");
        assert_eq!(safe("#\u{fe0f}\u{20e3}"), "# ");
        assert_eq!(safe(FLAG), FLAG);
        assert_eq!(safe(SCOTLAND), "\u{1F3F4}");
        assert_eq!(safe(RAINBOW), "🏳 ");
        assert_eq!(safe("🇯"), "J");
        assert_eq!(safe("🇯🇵\u{1f3fd}x"), "🇯🇵x");
        assert_eq!(safe("👍\u{fe0f}"), "👍");
        assert_eq!(safe("❤\u{fe0e}"), "❤");
        assert_eq!(safe("中\u{fe0f}"), "中");
        assert_eq!(safe(&format!("a {HEART} b {FAMILY} c")), "a ❤  b 👨 c");
    }

    #[test]
    fn safe_mode_keeps_the_width_of_each_kind() {
        for kind in [HEART, CHECK, FAMILY, THUMB, KEYCAP_ONE, FLAG, SCOTLAND] {
            assert_eq!(display_width(&safe(kind)), 2, "{kind}");
            assert_eq!(cluster_width(kind, EmojiMode::Safe), 2, "{kind}");
        }
    }

    #[test]
    fn everything_else_is_drawn_as_it_is() {
        for text in [
            "plain",
            "中文 한국어",
            "e\u{301}",
            "👍",
            "می\u{200c}خواهم",
            "क्\u{200d}ष",
        ] {
            assert!(matches!(
                display_form(text, EmojiMode::Safe),
                Cow::Borrowed(_)
            ));
        }
        for text in [HEART, FAMILY, THUMB, KEYCAP_ONE, SCOTLAND] {
            assert_eq!(display_form(text, EmojiMode::Full), text);
        }
    }

    #[test]
    fn auto_is_full_only_where_the_terminal_is_known_to_agree() {
        let mode = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            EmojiMode::for_terminal(|name| {
                vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
            })
        };
        use EmojiMode::{Full, Safe};
        assert_eq!(mode(&[]), Safe);
        assert_eq!(mode(&[("TERM", "xterm-256color")]), Safe);
        assert_eq!(mode(&[("TERM", "alacritty")]), Safe);
        assert_eq!(
            mode(&[("TERM", "xterm-256color"), ("VTE_VERSION", "7600")]),
            Safe
        );
        assert_eq!(mode(&[("TERM_PROGRAM", "Apple_Terminal")]), Safe);
        assert_eq!(mode(&[("TERM_PROGRAM", "WezTerm")]), Safe);
        assert_eq!(mode(&[("TERM", "xterm-kitty")]), Full);
        assert_eq!(mode(&[("TERM", "foot")]), Full);
        assert_eq!(mode(&[("TERM", "xterm-ghostty")]), Full);
        assert_eq!(mode(&[("TERM_PROGRAM", "iTerm.app")]), Full);
        assert_eq!(mode(&[("KONSOLE_VERSION", "250800")]), Full);
        assert_eq!(mode(&[("WT_SESSION", "x")]), Full);
        // A good terminal running tmux or screen: their widths count.
        assert_eq!(
            mode(&[("TERM", "xterm-kitty"), ("TMUX", "/tmp/t,1,0")]),
            Safe
        );
        assert_eq!(mode(&[("TERM", "tmux-256color")]), Safe);
        assert_eq!(mode(&[("TERM", "screen"), ("KITTY_WINDOW_ID", "1")]), Safe);
        assert_eq!(
            mode(&[("STY", "1.pts"), ("TERM_PROGRAM", "iTerm.app")]),
            Safe
        );
    }

    proptest! {
        #[test]
        fn safe_form_width_is_the_sum_of_its_clusters(text in any_text()) {
            let text = sanitize_text(&text);
            let sum: usize = text.graphemes(true).map(|g| cluster_width(g, EmojiMode::Safe)).sum();
            prop_assert_eq!(display_width(&display_form(&text, EmojiMode::Safe)), sum);
        }

        #[test]
        fn safe_form_has_no_sequence_terminals_disagree_on(text in any_text()) {
            let text = sanitize_text(&text);
            let shown = display_form(&text, EmojiMode::Safe);
            prop_assert!(!shown.contains([VS15, VS16, KEYCAP]));
            for g in shown.graphemes(true) {
                // A tone alone is a swatch, drawn 2 cells wide; only a tone on an emoji goes.
                prop_assert!(!g.chars().skip(1).any(is_skin_tone), "{:?}", g);
                if g.chars().any(is_pictographic) {
                    prop_assert!(!g.contains(ZWJ), "{:?}", g);
                }
            }
        }
    }
}
