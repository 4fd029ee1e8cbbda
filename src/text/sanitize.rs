//! Sanitizing text and display names that come from the network, so that a peer
//! cannot run terminal controls, reorder or hide text, or take up the screen with a name.

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use super::display_width;

/// Widest a peer's display name may be, in terminal cells, after [`sanitize_name`].
pub const MAX_NAME_WIDTH: usize = 24;

/// What a display name becomes when nothing visible is left of it.
const ANONYMOUS: &str = "anonymous";

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// What [`sanitize_text`] does with one char.
enum Fix {
    Keep,
    Drop,
    Put(char),
}

/// Bidi controls (overrides, embeddings, isolates, marks) and invisible zero-width
/// chars: removed, because they can reorder or hide what a peer's text looks like.
fn is_stripped(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
            | '\u{180E}'
            | '\u{00AD}'
    )
}

/// Whether `c` may stand next to a ZWJ/ZWNJ that is kept: joiners are only meaningful
/// between non-ASCII visible chars (emoji sequences, Persian, Indic scripts).
fn can_join(c: Option<char>) -> bool {
    c.is_some_and(|c| {
        !c.is_ascii()
            && !c.is_whitespace()
            && !c.is_control()
            && !is_stripped(c)
            && c != ZWJ
            && c != ZWNJ
    })
}

fn fix(prev: Option<char>, c: char, next: Option<char>) -> Fix {
    match c {
        '\n' => Fix::Keep,
        '\t' => Fix::Put(' '),
        '\u{2028}' | '\u{2029}' => Fix::Put('\n'),
        // CRLF is a line break from another platform, not a stray carriage return.
        '\r' if next == Some('\n') => Fix::Drop,
        // Control Pictures: U+2400 + code shows the control visibly instead of running it.
        '\u{0}'..='\u{1F}' => Fix::Put(char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{FFFD}')),
        '\u{7F}' => Fix::Put('\u{2421}'),
        '\u{80}'..='\u{9F}' => Fix::Put('\u{FFFD}'),
        ZWJ | ZWNJ => {
            if can_join(prev) && can_join(next) {
                Fix::Keep
            } else {
                Fix::Drop
            }
        }
        c if is_stripped(c) => Fix::Drop,
        _ => Fix::Keep,
    }
}

/// Make text received from the network safe to display.
///
/// Keeps `'\n'`; tab becomes a space; U+2028/U+2029 and CRLF become `'\n'`; other C0
/// controls become their Control Pictures glyph (ESC → `␛`), DEL becomes `␡`, C1
/// controls become U+FFFD. Bidi controls and invisible zero-width chars are removed.
/// ZWJ/ZWNJ are kept only between two non-ASCII, non-whitespace, non-control chars.
/// Returns `Cow::Borrowed` when nothing changes.
pub fn sanitize_text(s: &str) -> Cow<'_, str> {
    // Fast path for the common case: printable ASCII and newlines need no change.
    if s.bytes().all(|b| b == b'\n' || (0x20..0x7F).contains(&b)) {
        return Cow::Borrowed(s);
    }
    let mut out: Option<String> = None;
    let mut prev = None;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        let fix = fix(prev, c, next);
        prev = Some(c);
        match (fix, out.as_mut()) {
            (Fix::Keep, None) => {}
            (Fix::Keep, Some(o)) => o.push(c),
            (fix, o) => {
                // First change: copy the untouched prefix once, then build from there.
                let o = match o {
                    Some(o) => o,
                    None => {
                        let mut o = String::with_capacity(s.len() + 8);
                        o.push_str(&s[..i]);
                        out.insert(o)
                    }
                };
                if let Fix::Put(r) = fix {
                    o.push(r);
                }
            }
        }
    }
    out.map_or(Cow::Borrowed(s), Cow::Owned)
}

/// Make a peer's display name safe and short: [`sanitize_text`], collapse every
/// whitespace run (newlines included) to one space, trim, and truncate by grapheme to
/// at most [`MAX_NAME_WIDTH`] cells. A name with nothing visible left is `"anonymous"`.
pub fn sanitize_name(s: &str) -> String {
    let clean = sanitize_text(s);
    let mut name = String::new();
    let mut width = 0;
    for word in clean.split_whitespace() {
        // Count the separating space as we go so truncation sees the final layout.
        let mut pieces = if name.is_empty() { "" } else { " " }
            .graphemes(true)
            .chain(word.graphemes(true));
        let fitted = pieces.try_for_each(|g| {
            let gw = g.width();
            if width + gw > MAX_NAME_WIDTH {
                return Err(());
            }
            width += gw;
            name.push_str(g);
            Ok(())
        });
        if fitted.is_err() {
            break;
        }
    }
    // Truncation may leave a dangling space or joiner at the end.
    let trimmed = name.trim_end_matches(|c: char| c.is_whitespace() || c == ZWJ || c == ZWNJ);
    if display_width(trimmed) == 0 {
        ANONYMOUS.to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::strategies::any_text;
    use proptest::prelude::*;

    #[test]
    fn sanitize_keeps_clean_text_borrowed() {
        for s in [
            "",
            "hello\nworld",
            "中文 日本語 한국어",
            "👍🏽 🇯🇵 e\u{301}",
            "👨\u{200d}👩\u{200d}👧",
            "می\u{200c}خواهم",
        ] {
            assert!(
                matches!(sanitize_text(s), Cow::Borrowed(b) if b == s),
                "{s:?}"
            );
        }
    }

    #[test]
    fn sanitize_replaces_controls_visibly() {
        assert_eq!(sanitize_text("a\tb"), "a b");
        assert_eq!(sanitize_text("\u{1b}[31mred"), "\u{241b}[31mred");
        assert_eq!(sanitize_text("\u{0}"), "\u{2400}");
        assert_eq!(sanitize_text("\u{7}"), "\u{2407}");
        assert_eq!(sanitize_text("x\u{7f}"), "x\u{2421}");
        assert_eq!(sanitize_text("\u{85}\u{9b}"), "\u{fffd}\u{fffd}");
        assert_eq!(sanitize_text("a\u{2028}b\u{2029}c"), "a\nb\nc");
        assert_eq!(sanitize_text("a\r\nb"), "a\nb");
        assert_eq!(sanitize_text("a\rb"), "a\u{240d}b");
        assert!(matches!(sanitize_text("a\tb"), Cow::Owned(_)));
    }

    #[test]
    fn sanitize_removes_bidi_and_invisible_chars() {
        let removed = [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}', '\u{200b}', '\u{2060}',
            '\u{2061}', '\u{2062}', '\u{2063}', '\u{2064}', '\u{feff}', '\u{180e}', '\u{ad}',
        ];
        for c in removed {
            assert_eq!(sanitize_text(&format!("x{c}y")), "xy", "U+{:04X}", c as u32);
            assert_eq!(
                sanitize_text(&format!("中{c}文")),
                "中文",
                "U+{:04X}",
                c as u32
            );
        }
        assert_eq!(sanitize_text("evil\u{202e}txt.exe"), "eviltxt.exe");
    }

    #[test]
    fn sanitize_keeps_joiners_only_between_non_ascii() {
        assert_eq!(sanitize_text("pay\u{200d}pal"), "paypal");
        assert_eq!(sanitize_text("a\u{200c}b"), "ab");
        assert_eq!(sanitize_text("\u{200d}👩"), "👩");
        assert_eq!(sanitize_text("👨\u{200d}"), "👨");
        assert_eq!(sanitize_text("👨 \u{200d}👩"), "👨 👩");
        assert_eq!(sanitize_text("👨\u{200d}\u{200d}👩"), "👨👩");
        assert_eq!(sanitize_text("👨\u{200b}\u{200d}👩"), "👨👩");
        assert_eq!(sanitize_text("👨\u{200d}a"), "👨a");
        assert_eq!(sanitize_text("👨\u{200d}👩"), "👨\u{200d}👩");
        assert_eq!(sanitize_text("❤\u{fe0f}\u{200d}🔥"), "❤\u{fe0f}\u{200d}🔥");
        assert_eq!(sanitize_text("می\u{200c}خواهم"), "می\u{200c}خواهم");
        // Devanagari half-form: KSSA via virama + ZWJ.
        assert_eq!(sanitize_text("क्\u{200d}ष"), "क्\u{200d}ष");
    }

    #[test]
    fn sanitize_name_collapses_whitespace_and_trims() {
        assert_eq!(sanitize_name("  alice  \n bob\t"), "alice bob");
        assert_eq!(sanitize_name("中文\u{3000}名前"), "中文 名前");
        assert_eq!(sanitize_name("e\u{301}mile"), "e\u{301}mile");
        assert_eq!(sanitize_name("\u{1b}[2J"), "\u{241b}[2J");
    }

    #[test]
    fn sanitize_name_falls_back_to_anonymous() {
        for s in ["", "   ", "\n\t", "\u{200b}\u{202e}", "\u{301}", "\u{200d}"] {
            assert_eq!(sanitize_name(s), "anonymous", "{s:?}");
        }
    }

    #[test]
    fn sanitize_name_truncates_by_grapheme() {
        assert_eq!(sanitize_name(&"a".repeat(30)), "a".repeat(24));
        assert_eq!(sanitize_name(&"中".repeat(20)), "中".repeat(12));
        assert_eq!(
            sanitize_name(&format!("a{}", "中".repeat(20))),
            format!("a{}", "中".repeat(11))
        );
        let family = "👨\u{200d}👩\u{200d}👧";
        assert_eq!(sanitize_name(&family.repeat(13)), family.repeat(12));
        assert_eq!(sanitize_name(&"e\u{301}".repeat(30)), "e\u{301}".repeat(24));
        // A cut right after a space does not leave it dangling.
        let name = format!("{} bbbb", "a".repeat(23));
        assert_eq!(sanitize_name(&name), "a".repeat(23));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn prop_sanitize_output_is_clean(s in any_text()) {
            let out = sanitize_text(&s);
            prop_assert!(out.chars().all(|c| c == '\n' || !c.is_control()), "{out:?}");
            prop_assert!(!out.chars().any(is_stripped));
            prop_assert_eq!(matches!(out, Cow::Borrowed(_)), out == s);
            prop_assert_eq!(sanitize_text(&out), out.clone());
            for (i, c) in out.char_indices() {
                if c == ZWJ || c == ZWNJ {
                    let prev = out[..i].chars().next_back();
                    let next = out[i + c.len_utf8()..].chars().next();
                    prop_assert!(can_join(prev) && can_join(next), "{out:?}");
                }
            }
        }

        #[test]
        fn prop_sanitize_name_is_short_and_tidy(s in any_text()) {
            let name = sanitize_name(&s);
            prop_assert!(!name.is_empty());
            prop_assert!(display_width(&name) <= MAX_NAME_WIDTH);
            prop_assert!(display_width(&name) > 0);
            prop_assert_eq!(name.trim(), name.as_str());
            prop_assert!(!name.contains("  "));
            prop_assert!(!name.chars().any(|c| c.is_control()));
        }
    }
}
