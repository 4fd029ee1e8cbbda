//! Measuring, wrapping and sanitizing text for display in the terminal.
//!
//! Widths are measured per grapheme cluster with `unicode-width`, exactly as ratatui
//! measures when it draws, so the rows computed here line up with what is on screen.
//! Everything here is pure and total: no input (including a width of 0) makes it panic.
//!
//! - `width`: display width of a string ([`display_width`]);
//! - `wrap`: wrapping text into rows ([`wrap()`], [`Row`]);
//! - `emoji`: drawing emoji sequences that terminals measure differently in a
//!   form they agree on ([`EmojiMode`], [`display_form`]);
//! - `find`: finding a query, by whole characters, in smart case ([`Needle`]);
//! - `sanitize`: making text and names from the network safe to display
//!   ([`sanitize_text`], [`sanitize_name`], [`MAX_NAME_WIDTH`]).

mod emoji;
mod find;
mod sanitize;
mod width;
mod wrap;

pub use emoji::{EmojiMode, cluster_width, display_cluster, display_form};
pub use find::Needle;
pub use sanitize::{
    MAX_MARKS_PER_CLUSTER, MAX_NAME_WIDTH, most_marks_per_cluster, sanitize_name, sanitize_text,
};
pub use width::display_width;
pub use wrap::{Row, wrap};

/// Random text for the property tests of every submodule.
#[cfg(test)]
mod strategies {
    use proptest::prelude::*;

    /// Pieces that exercise every wrapping rule when concatenated at random.
    const FRAGMENTS: &[&str] = &[
        "a",
        "b",
        "word",
        "longerword",
        " ",
        "  ",
        "\n",
        "\r\n",
        "\t",
        "中",
        "文",
        "日本語",
        "한국어",
        "👍",
        "👍🏽",
        "👨\u{200d}👩\u{200d}👧",
        "🇯🇵",
        "🇯",
        "e\u{301}",
        "\u{301}",
        "\u{200d}",
        "\u{a0}",
        "\u{3000}",
        "\u{200b}",
        "\u{1b}",
        "،",
        "می\u{200c}خواهم",
        "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
        "\u{1F3F4}",
        "\u{E0067}",
        "\u{E007F}",
        "\u{E0001}",
        "\u{34f}",
        "\u{fe0f}",
        "\u{fe0e}",
        "\u{fe00}",
        "\u{e0100}",
        "❤\u{fe0f}",
        "1\u{fe0f}\u{20e3}",
        "\u{3164}",
        "\u{115f}",
        "\u{ffa0}",
        "\u{300}\u{301}\u{302}",
        "\u{0489}",
    ];

    fn mixed_text() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|v| v.concat())
    }

    pub(super) fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![mixed_text(), any::<String>()]
    }
}
