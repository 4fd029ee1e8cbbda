//! The transcript's line format and file names: pure.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset};

use crate::text::sanitize_text;

/// The name of an event's line (joined, left, …).
pub const EVENT_NAME: &str = "*";

/// `s` with a tab, a newline, a carriage return and a backslash written
/// `\t`, `\n`, `\r` and `\\`: one line, and nothing in it to mistake for
/// a separator.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['\t', '\n', '\r', '\\']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The time `at_ms` (ms since the Unix epoch) in `zone`, as ISO 8601 with
/// the offset: `2026-11-29T14:03:22+01:00`.
fn iso_time(at_ms: i64, zone: FixedOffset) -> String {
    DateTime::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .with_timezone(&zone)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// One line of a transcript, ending in a newline: the time, the name
/// (`None`: an event, named [`EVENT_NAME`]) and the text, sanitized as on
/// screen, tab-separated and escaped.
pub fn line(at_ms: i64, zone: FixedOffset, name: Option<&str>, text: &str) -> String {
    let name = match name {
        None => Cow::Borrowed(EVENT_NAME),
        // A participant called `*` cannot pass for duplex itself.
        Some(EVENT_NAME) => Cow::Borrowed("\\*"),
        Some(name) => escape(name),
    };
    let text = sanitize_text(text);
    format!("{}\t{name}\t{}\n", iso_time(at_ms, zone), escape(&text))
}

/// A name as it may stand in a file name: letters, digits, `-`, `_` and
/// `.` stay, anything else (a `/`, a space) becomes `_`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The file of a conversation that began at `at_ms`, between `me` and
/// `peer`: `2026-11-29T14-03-22_alice-bob.log` (the time in `zone`).
pub fn file_name(at_ms: i64, zone: FixedOffset, me: &str, peer: &str) -> String {
    let time = DateTime::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .with_timezone(&zone)
        .format("%Y-%m-%dT%H-%M-%S");
    format!("{time}_{}-{}.log", file_safe(me), file_safe(peer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2026-11-29 13:03:22.500 UTC.
    const AT: i64 = 1_795_957_402_500;

    fn cet() -> FixedOffset {
        FixedOffset::east_opt(3600).unwrap()
    }

    #[test]
    fn a_line_is_time_name_and_text_tab_separated() {
        assert_eq!(
            line(AT, cet(), Some("alice"), "hello there"),
            "2026-11-29T14:03:22+01:00\talice\thello there\n"
        );
        assert_eq!(
            line(AT, FixedOffset::east_opt(0).unwrap(), None, "bob joined"),
            "2026-11-29T13:03:22+00:00\t*\tbob joined\n"
        );
    }

    #[test]
    fn tabs_newlines_and_backslashes_are_escaped() {
        assert_eq!(
            line(AT, cet(), Some("bob"), "two\nlines\r\nand a \\n"),
            "2026-11-29T14:03:22+01:00\tbob\ttwo\\nlines\\nand a \\\\n\n"
        );
        assert_eq!(escape("a\tb\rc"), "a\\tb\\rc");
        assert!(matches!(escape("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn text_is_sanitized_as_on_screen() {
        let text = "red \u{1b}[31m and \u{202e}reversed\ttab";
        assert_eq!(
            line(AT, cet(), Some("mallory"), text),
            format!(
                "2026-11-29T14:03:22+01:00\tmallory\t{}\n",
                sanitize_text(text)
            )
        );
        assert!(!line(AT, cet(), Some("m"), text).contains('\u{1b}'));
    }

    #[test]
    fn nobody_passes_for_an_event() {
        assert_eq!(
            line(AT, cet(), Some("*"), "hi"),
            "2026-11-29T14:03:22+01:00\t\\*\thi\n"
        );
        assert_eq!(
            line(AT, cet(), Some("a\tb"), "hi"),
            "2026-11-29T14:03:22+01:00\ta\\tb\thi\n"
        );
    }

    #[test]
    fn file_names_name_the_time_and_both_ends() {
        assert_eq!(
            file_name(AT, cet(), "alice", "bob"),
            "2026-11-29T14-03-22_alice-bob.log"
        );
        assert_eq!(
            file_name(AT, cet(), "alice", "../etc/x y"),
            "2026-11-29T14-03-22_alice-.._etc_x_y.log"
        );
        assert_eq!(
            file_name(AT, cet(), "李", "Zoë"),
            "2026-11-29T14-03-22_李-Zoë.log"
        );
    }

    proptest! {
        #[test]
        fn prop_every_line_is_one_line_of_three_fields(
            name in "\\PC{0,10}|[*\\t\\n\\\\]{1,3}",
            text in any::<String>(),
        ) {
            let out = line(AT, cet(), Some(&name), &text);
            prop_assert!(out.ends_with('\n'));
            prop_assert_eq!(out.matches('\n').count(), 1);
            prop_assert_eq!(out.matches('\t').count(), 2);
            prop_assert!(!out.split('\t').nth(1).unwrap().is_empty() || name.is_empty());
            prop_assert_ne!(out.split('\t').nth(1), Some(EVENT_NAME));
        }

        #[test]
        fn prop_file_names_stay_in_their_folder(peer in any::<String>()) {
            let name = file_name(AT, cet(), "me", &peer);
            prop_assert!(!name.contains('/'));
            prop_assert!(!name.starts_with('.'));
        }
    }
}
