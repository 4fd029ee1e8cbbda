//! `sanitize_text` and `sanitize_name` on arbitrary text, as peers send it.
//!
//! Input: any bytes, read as UTF-8 (invalid sequences become U+FFFD).

#![no_main]

use duplex::text::{
    MAX_MARKS_PER_CLUSTER, MAX_NAME_WIDTH, display_width, most_marks_per_cluster, sanitize_name,
    sanitize_text,
};
use libfuzzer_sys::fuzz_target;

/// Characters that must never reach the terminal.
fn forbidden(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{1B}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{200B}'
                | '\u{FEFF}'
                | '\u{2060}'
                // Default-ignorable and invisible.
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{3164}'
                | '\u{FFA0}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{206A}'..='\u{206F}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E001F}'
                | '\u{E0080}'..='\u{E00FF}'
                | '\u{E01F0}'..='\u{E0FFF}'
        )
}

fn is_tag(c: char) -> bool {
    ('\u{E0020}'..='\u{E007F}').contains(&c)
}

fn is_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Emoji that must come through whole, whatever surrounds them.
const EMOJI: &[&str] = &[
    "❤\u{fe0f}",
    "1\u{fe0f}\u{20e3}",
    "#\u{fe0f}\u{20e3}",
    "👨\u{200d}👩\u{200d}👧\u{200d}👦",
    "👩\u{1f3fb}\u{200d}❤\u{fe0f}\u{200d}💋\u{200d}👨\u{1f3fc}",
    "🏳\u{fe0f}\u{200d}🌈",
    "🇯🇵",
    "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
];

fn assert_safe(what: &str, input: &str, out: &str) {
    if let Some(c) = out.chars().find(|&c| forbidden(c)) {
        panic!("{what}({input:?}) = {out:?} keeps {c:?}");
    }
    // Tags only in whole emoji tag sequences: the black flag, 1 to 8 tag
    // specs, the cancel tag.
    let chars: Vec<char> = out.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\u{1F3F4}' && chars.get(i + 1).copied().is_some_and(is_tag) {
            let specs = chars[i + 1..]
                .iter()
                .take_while(|&&c| ('\u{E0020}'..='\u{E007E}').contains(&c))
                .count();
            assert!(
                (1..=8).contains(&specs) && chars.get(i + 1 + specs) == Some(&'\u{E007F}'),
                "{what}({input:?}) = {out:?} keeps a broken tag sequence"
            );
            i += specs + 2;
            continue;
        }
        assert!(
            !is_tag(chars[i]),
            "{what}({input:?}) = {out:?} keeps a stray tag {:?}",
            chars[i]
        );
        // A variation selector only right after a visible char beyond ASCII
        // (or a keycap base), never after another selector.
        if is_selector(chars[i]) {
            let base = i.checked_sub(1).map(|p| chars[p]);
            let ok = base.is_some_and(|b| {
                !is_selector(b)
                    && !b.is_whitespace()
                    && display_width(&b.to_string()) > 0
                    && (!b.is_ascii() || matches!(b, '0'..='9' | '#' | '*'))
            });
            assert!(ok, "{what}({input:?}) = {out:?} keeps a stray selector");
        }
        i += 1;
    }
    assert!(
        most_marks_per_cluster(out) <= MAX_MARKS_PER_CLUSTER,
        "{what}({input:?}) = {out:?} stacks too many marks"
    );
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);

    let text = sanitize_text(&input);
    assert_safe("sanitize_text", &input, &text);
    let again = sanitize_text(&text);
    assert_eq!(again, text, "sanitize_text is not idempotent on {input:?}");

    // Emoji keep every char they have, whatever comes before or after.
    let emoji = EMOJI[data.len() % EMOJI.len()];
    let around = format!("{input} {emoji} {input}");
    assert!(
        sanitize_text(&around).contains(&format!(" {emoji} ")),
        "sanitize_text({around:?}) breaks {emoji:?}"
    );

    let name = sanitize_name(&input);
    assert_safe("sanitize_name", &input, &name);
    assert!(!name.is_empty(), "sanitize_name({input:?}) is empty");
    assert!(!name.contains('\n'), "sanitize_name({input:?}) = {name:?}");
    let width = display_width(&name);
    assert!(
        width <= MAX_NAME_WIDTH,
        "sanitize_name({input:?}) = {name:?} is {width} cells wide"
    );
    assert_eq!(
        sanitize_name(&name),
        name,
        "sanitize_name is not idempotent on {input:?}"
    );
});
