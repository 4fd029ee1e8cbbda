//! Sanitizing text and display names that come from the network, so that a peer
//! cannot run terminal controls, reorder or hide text, or take up the screen with a name.

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::display_width;

/// Widest a peer's display name may be, in terminal cells, after [`sanitize_name`].
pub const MAX_NAME_WIDTH: usize = 24;

/// What a display name becomes when nothing visible is left of it.
const ANONYMOUS: &str = "anonymous";

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// Most combining marks kept on one grapheme cluster (more stack up out of
/// the line: "Zalgo" text). Real scripts need far fewer.
pub const MAX_MARKS_PER_CLUSTER: usize = 6;

/// The black flag that starts an emoji tag sequence (subdivision flags).
const BLACK_FLAG: char = '\u{1F3F4}';

/// The tag that ends an emoji tag sequence.
const CANCEL_TAG: char = '\u{E007F}';

/// Most tags kept in one emoji tag sequence (`gbsct` needs 5).
const MAX_FLAG_TAGS: usize = 8;

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
            // Default-ignorable and invisible: combining grapheme joiner,
            // Hangul fillers, Khmer inherent vowels, deprecated format
            // characters, interlinear annotations, shorthand and musical
            // format controls, and the unassigned ignorables.
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{3164}'
            | '\u{FFA0}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{2065}'
            | '\u{206A}'..='\u{206F}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    ) && !is_variation_selector(c)
}

/// Unicode tag characters: invisible, used only in emoji tag sequences.
fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

/// Variation selectors: invisible, they pick a glyph for the char before.
fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Whether `c` counts as a combining mark towards [`MAX_MARKS_PER_CLUSTER`]:
/// drawn in no cell of its own, and not a joiner, selector or tag.
fn is_mark(c: char) -> bool {
    c.width() == Some(0)
        && c != ZWJ
        && c != ZWNJ
        && !is_variation_selector(c)
        && !is_tag(c)
        && !is_stripped(c)
}

/// Whether variation selector `vs` may follow `prev`: text or emoji
/// presentation (VS15, VS16) after a char that has a glyph and may be an
/// emoji (anything visible beyond ASCII, and the keycap bases `0-9 # *`),
/// an ideographic variation after a CJK ideograph; nothing else, and never
/// two in a row (a selector is no base), so no text hides in a run of them.
fn selects(prev: Option<char>, vs: char) -> bool {
    let Some(prev) = prev else {
        return false;
    };
    match vs {
        '\u{FE0E}' | '\u{FE0F}' => {
            prev.width().is_some_and(|w| w > 0)
                && !is_stripped(prev)
                && (!prev.is_ascii() || matches!(prev, '0'..='9' | '#' | '*'))
        }
        '\u{E0100}'..='\u{E01EF}' => matches!(
            prev,
            '\u{3400}'..='\u{4DBF}'
                | '\u{4E00}'..='\u{9FFF}'
                | '\u{F900}'..='\u{FAFF}'
                | '\u{20000}'..='\u{3FFFF}'
        ),
        _ => false,
    }
}

/// Length in bytes of the emoji tag sequence at the start of `rest` (right
/// after a black flag): 1 to [`MAX_FLAG_TAGS`] tag specs, then the cancel
/// tag. `0` if there is none.
fn flag_tags(rest: &str) -> usize {
    let mut specs = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '\u{E0020}'..='\u{E007E}' if specs < MAX_FLAG_TAGS => specs += 1,
            CANCEL_TAG if specs > 0 => return i + c.len_utf8(),
            _ => return 0,
        }
    }
    0
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
        c if is_variation_selector(c) => {
            if selects(prev, c) {
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
/// controls become U+FFFD. Bidi controls, invisible zero-width chars and
/// other default-ignorable code points (the combining grapheme joiner,
/// Hangul fillers, tags) are removed. ZWJ/ZWNJ are kept only between two
/// non-ASCII, non-whitespace, non-control chars; tag characters only in an
/// emoji tag sequence (a subdivision flag such as 🏴󠁧󠁢󠁳󠁣󠁴󠁿); a variation
/// selector only right after a char it can select a glyph of (VS16 after an
/// emoji, say). A grapheme cluster keeps at most [`MAX_MARKS_PER_CLUSTER`]
/// combining marks. Returns `Cow::Borrowed` when nothing changes.
pub fn sanitize_text(s: &str) -> Cow<'_, str> {
    // Fast path for the common case: printable ASCII and newlines need no change.
    if s.bytes().all(|b| b == b'\n' || (0x20..0x7F).contains(&b)) {
        return Cow::Borrowed(s);
    }
    let mut out = match cap_marks(fix_chars(s)) {
        Cow::Borrowed(same) => return Cow::Borrowed(same),
        Cow::Owned(out) => out,
    };
    // A char removed can leave a joiner or selector beside a new neighbour:
    // go again until nothing changes (every further change removes a char,
    // so this ends), so sanitizing sanitized text changes nothing.
    loop {
        match cap_marks(fix_chars(&out)) {
            Cow::Borrowed(_) => return Cow::Owned(out),
            Cow::Owned(again) => out = again,
        }
    }
}

/// Keeps at most [`MAX_MARKS_PER_CLUSTER`] combining marks on each
/// grapheme cluster, the first ones.
fn cap_marks(s: Cow<'_, str>) -> Cow<'_, str> {
    // Most text has few marks in all: then no cluster can have too many.
    if s.chars()
        .filter(|&c| is_mark(c))
        .nth(MAX_MARKS_PER_CLUSTER)
        .is_none()
        || !s.graphemes(true).any(|g| {
            g.chars()
                .filter(|&c| is_mark(c))
                .nth(MAX_MARKS_PER_CLUSTER)
                .is_some()
        })
    {
        return s;
    }
    let mut out = String::with_capacity(s.len());
    for cluster in s.graphemes(true) {
        let mut marks = 0;
        for c in cluster.chars() {
            if is_mark(c) {
                marks += 1;
                if marks > MAX_MARKS_PER_CLUSTER {
                    continue;
                }
            }
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The most combining marks on any one grapheme cluster of `s`, as
/// [`sanitize_text`] counts them: at most [`MAX_MARKS_PER_CLUSTER`] in its
/// output (for tests and the fuzz target).
pub fn most_marks_per_cluster(s: &str) -> usize {
    s.graphemes(true)
        .map(|g| g.chars().filter(|&c| is_mark(c)).count())
        .max()
        .unwrap_or(0)
}

/// [`sanitize_text`]'s work on each char, by its neighbours.
fn fix_chars(s: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut prev = None;
    // Tags before this byte belong to a whole emoji tag sequence.
    let mut flag_end = 0;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|&(_, n)| n);
        if c == BLACK_FLAG {
            let from = i + c.len_utf8();
            flag_end = from + flag_tags(&s[from..]);
        }
        let fix = if is_tag(c) {
            if i < flag_end { Fix::Keep } else { Fix::Drop }
        } else {
            fix(prev, c, next)
        };
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

    /// Emoji that use joiners, selectors, tags or marks, kept whole.
    const EMOJI: &[&str] = &[
        "❤\u{fe0f}",                                                       // VS16 after an emoji
        "☺\u{fe0e}",                        // VS15: text presentation
        "©\u{fe0f}",                        // an emoji in Latin-1
        "1\u{fe0f}\u{20e3}",                // keycap 1
        "#\u{fe0f}\u{20e3}",                // keycap #
        "*\u{fe0f}\u{20e3}",                // keycap *
        "👨\u{200d}👩\u{200d}👧\u{200d}👦", // family
        "👩\u{1f3fb}\u{200d}❤\u{fe0f}\u{200d}💋\u{200d}👨\u{1f3fc}", // kiss, skin tones
        "🏳\u{fe0f}\u{200d}🌈",              // rainbow flag
        "🇯🇵",                               // regional indicators
        "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}", // Scotland
        "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}", // England
        "\u{1F3F4}\u{E0067}\u{E0062}\u{E0077}\u{E006C}\u{E0073}\u{E007F}", // Wales
        "葛\u{e0100}",                      // an ideographic variant
        "Vie\u{302}\u{323}t",               // two marks on one letter
    ];

    #[test]
    fn sanitize_keeps_emoji_sequences_whole() {
        for s in EMOJI {
            assert!(
                matches!(sanitize_text(s), Cow::Borrowed(b) if b == *s),
                "{s:?} became {:?}",
                sanitize_text(s)
            );
            let text = format!("say {s} twice {s}!");
            assert_eq!(sanitize_text(&text), text);
        }
    }

    #[test]
    fn sanitize_removes_default_ignorables_and_stray_tags() {
        let scotland = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}";
        for (input, want) in [
            // Tags hide text ("ASCII smuggling") outside a flag.
            ("hi\u{E0041}\u{E0042}\u{E007F}", "hi"),
            ("\u{E0001}\u{E0065}\u{E006E}x", "x"),
            // A flag's tags must end with the cancel tag, and stay short.
            ("\u{1F3F4}\u{E0067}\u{E0062}", "\u{1F3F4}"),
            ("a\u{E0067}\u{E0062}\u{E007F}", "a"),
            (
                &format!("\u{1F3F4}{}\u{E007F}", "\u{E0061}".repeat(40)),
                "\u{1F3F4}",
            ),
            (&format!("{scotland}\u{E007F}"), scotland),
            ("\u{1F3F4}\u{34f}\u{E0067}\u{E007F}", "\u{1F3F4}"),
            // Combining grapheme joiner, Hangul fillers.
            ("a\u{34f}b", "ab"),
            ("\u{3164}\u{3164}", ""),
            ("x\u{ffa0}y\u{115f}\u{1160}z", "xyz"),
            ("\u{17b4}\u{206a}\u{fff9}\u{1d173}\u{1bca0}", ""),
            // Variation selectors outside emoji, and runs of them.
            ("a\u{fe0f}", "a"),
            (" \u{fe0f}", " "),
            ("\u{fe0f}start", "start"),
            ("❤\u{fe0f}\u{fe0f}\u{fe0e}", "❤\u{fe0f}"),
            ("😀\u{e0100}\u{e0101}\u{e0102}", "😀"),
            ("≤\u{fe00}", "≤"),
            ("a\u{e0100}", "a"),
        ] {
            assert_eq!(sanitize_text(input), want, "{input:?}");
        }
    }

    #[test]
    fn sanitize_caps_combining_marks_per_cluster() {
        let zalgo = format!(
            "Z{}a{}",
            "\u{300}\u{301}\u{302}".repeat(10),
            "\u{489}".repeat(50)
        );
        let out = sanitize_text(&zalgo);
        let capped = "\u{300}\u{301}\u{302}".repeat(2);
        assert_eq!(
            out,
            format!("Z{capped}a{}", "\u{489}".repeat(MAX_MARKS_PER_CLUSTER))
        );
        // Up to the cap, nothing changes.
        let six = format!("e{}", "\u{301}".repeat(MAX_MARKS_PER_CLUSTER));
        assert!(matches!(sanitize_text(&six), Cow::Borrowed(_)));
        // Names the same way.
        assert_eq!(
            sanitize_name(&zalgo),
            format!("Z{capped}a{}", "\u{489}".repeat(6))
        );
        assert_eq!(sanitize_name("\u{3164}"), "anonymous");
        assert_eq!(sanitize_name("bob\u{E0041}\u{34f}"), "bob");
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
            prop_assert!(!out.chars().any(|c| is_stripped(c) && !is_tag(c)));
            // Tags only in whole emoji tag sequences, right after the black flag.
            let mut rest = out.as_ref();
            while let Some(at) = rest.find(|c: char| is_tag(c) || c == BLACK_FLAG) {
                let c = rest[at..].chars().next().unwrap_or_default();
                prop_assert_eq!(c, BLACK_FLAG, "a stray tag in {:?}", out);
                let from = at + c.len_utf8();
                rest = &rest[from + flag_tags(&rest[from..])..];
            }
            // Each variation selector right after a char it can select for.
            let mut prev = None;
            for c in out.chars() {
                if is_variation_selector(c) {
                    prop_assert!(selects(prev, c), "{:?}", out);
                }
                prev = Some(c);
            }
            for cluster in out.graphemes(true) {
                let marks = cluster.chars().filter(|&c| is_mark(c)).count();
                prop_assert!(marks <= MAX_MARKS_PER_CLUSTER, "{:?}", cluster);
            }
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
        fn prop_emoji_stay_whole_among_anything(
            before in any_text(),
            emoji in prop::sample::select(EMOJI),
            after in any_text(),
        ) {
            // Separated by spaces, an emoji keeps every char it had.
            let text = format!("{before} {emoji} {after}");
            let out = sanitize_text(&text);
            prop_assert!(out.contains(&format!(" {emoji} ")), "{:?}", out);
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
