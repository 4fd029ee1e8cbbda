//! `sanitize_text` and `sanitize_name` on arbitrary text, as peers send it.
//!
//! Input: any bytes, read as UTF-8 (invalid sequences become U+FFFD).

#![no_main]

use duplex::text::{MAX_NAME_WIDTH, display_width, sanitize_name, sanitize_text};
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
        )
}

fn assert_safe(what: &str, input: &str, out: &str) {
    if let Some(c) = out.chars().find(|&c| forbidden(c)) {
        panic!("{what}({input:?}) = {out:?} keeps {c:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);

    let text = sanitize_text(&input);
    assert_safe("sanitize_text", &input, &text);
    let again = sanitize_text(&text);
    assert_eq!(again, text, "sanitize_text is not idempotent on {input:?}");

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
