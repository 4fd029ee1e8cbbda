//! Finding a query in text as a person means it: whole characters only (a
//! match never starts or ends inside a grapheme cluster, so `e` does not
//! find the `e` of a decomposed `é`), case-insensitive unless the query
//! has a capital letter (smart case, as in vim and less).

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

/// A query, ready to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle {
    /// The query, folded as the text will be.
    folded: String,
    /// Whether case matters (the query has a capital letter).
    case_sensitive: bool,
}

impl Needle {
    /// The needle for `query`; `None` for an empty one.
    pub fn new(query: &str) -> Option<Self> {
        if query.is_empty() {
            return None;
        }
        let case_sensitive = query.chars().any(char::is_uppercase);
        let folded = if case_sensitive {
            query.to_owned()
        } else {
            fold(query)
        };
        Some(Self {
            folded,
            case_sensitive,
        })
    }

    /// Whether case matters.
    pub fn case_sensitive(&self) -> bool {
        self.case_sensitive
    }

    /// Where the needle is in `text`: byte ranges, in order, not
    /// overlapping, each starting and ending between grapheme clusters.
    pub fn find_all(&self, text: &str) -> Vec<Range<usize>> {
        if text.is_ascii() {
            // Every byte is a character and (CR LF aside, which sanitized
            // text has not) a grapheme cluster: no map needed.
            let folded = if self.case_sensitive {
                std::borrow::Cow::Borrowed(text)
            } else {
                std::borrow::Cow::Owned(text.to_ascii_lowercase())
            };
            return search(&folded, &self.folded, |at| {
                text.is_char_boundary(at) && !(at > 0 && text[..at].ends_with('\r'))
            })
            .collect();
        }
        // Fold cluster by cluster, noting where each starts in both texts.
        let mut folded = String::with_capacity(text.len());
        let mut bounds: Vec<(usize, usize)> = Vec::new();
        for (start, grapheme) in text.grapheme_indices(true) {
            bounds.push((folded.len(), start));
            if self.case_sensitive {
                folded.push_str(grapheme);
            } else {
                folded.push_str(&fold(grapheme));
            }
        }
        bounds.push((folded.len(), text.len()));
        let original = |at: usize| {
            bounds
                .binary_search_by_key(&at, |&(f, _)| f)
                .ok()
                .and_then(|i| bounds.get(i))
                .map(|&(_, o)| o)
        };
        search(&folded, &self.folded, |at| original(at).is_some())
            .filter_map(|range| Some(original(range.start)?..original(range.end)?))
            .collect()
    }
}

/// Lower case, for comparing without case.
fn fold(s: &str) -> String {
    s.to_lowercase()
}

/// The matches of `needle` in `haystack` that start and end where
/// `boundary` says, left to right, not overlapping.
fn search<'a>(
    haystack: &'a str,
    needle: &'a str,
    boundary: impl Fn(usize) -> bool + 'a,
) -> impl Iterator<Item = Range<usize>> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(found) = haystack.get(from..)?.find(needle) {
            let start = from + found;
            let end = start + needle.len();
            if boundary(start) && boundary(end) {
                from = end.max(start + 1);
                return Some(start..end);
            }
            // Try again from the next character.
            from = start + haystack[start..].chars().next().map_or(1, char::len_utf8);
        }
        None
    })
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn find(query: &str, text: &str) -> Vec<Range<usize>> {
        Needle::new(query).map_or_else(Vec::new, |n| n.find_all(text))
    }

    #[test]
    fn lower_case_finds_any_case_and_capitals_only_themselves() {
        assert_eq!(find("pizza", "Pizza? PIZZA! pizza."), [0..5, 7..12, 14..19]);
        assert_eq!(find("Pizza", "Pizza? PIZZA! pizza."), [0..5]);
        assert!(Needle::new("Pizza").unwrap().case_sensitive());
        assert!(!Needle::new("pizza 42").unwrap().case_sensitive());
        assert_eq!(find("straße", "STRASSE Straße"), [8..15]);
        assert_eq!(find("ÉTÉ", "été ÉTÉ"), [6..11]);
        assert_eq!(find("été", "ÉTÉ été"), [0..5, 6..11]);
    }

    #[test]
    fn matches_do_not_overlap_and_an_empty_query_finds_nothing() {
        assert_eq!(find("aa", "aaaaa"), [0..2, 2..4]);
        assert!(find("", "anything").is_empty());
        assert!(find("x", "").is_empty());
    }

    #[test]
    fn a_match_is_whole_characters() {
        // A decomposed é is e + a combining accent: one character.
        let decomposed = "cafe\u{301} and cafe";
        assert_eq!(find("cafe", decomposed), [11..15]);
        assert_eq!(find("e", decomposed), [14..15]);
        assert_eq!(find("cafe\u{301}", decomposed), [0..6]);
        // A family emoji is one character; its members alone are not found.
        let family = "👨\u{200d}👩\u{200d}👧 and 👩";
        assert_eq!(find("👩", family), [23..27]);
        assert_eq!(find("👍🏽", "👍 👍🏽"), [5..13]);
        assert!(find("👍", "👍🏽").is_empty());
    }

    #[test]
    fn non_latin_text_is_found() {
        let text = "我们明天见 — 明天";
        assert_eq!(find("明天", text), [6..12, 20..26]);
        assert_eq!(&text[6..12], "明天");
        assert_eq!(find("ΣΟΦΊΑ", "σοφία ΣΟΦΊΑ"), [11..21]);
        assert_eq!(find("σοφία", "ΣΟΦΊΑ"), [0..10]);
    }

    proptest! {
        #[test]
        fn prop_matches_are_in_order_on_boundaries(
            query in "\\PC{0,3}",
            text in crate::text::strategies::any_text(),
        ) {
            let bounds: Vec<usize> = text
                .grapheme_indices(true)
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            let mut last = 0;
            for range in find(&query, &text) {
                prop_assert!(range.start >= last && range.start < range.end);
                prop_assert!(bounds.contains(&range.start), "{:?}", range);
                prop_assert!(bounds.contains(&range.end), "{:?}", range);
                last = range.end;
            }
        }

        #[test]
        fn prop_a_query_found_where_it_is(
            before in "[a-z ]{0,8}",
            query in "[a-z]{1,4}",
            after in "[ A-Z]{0,8}",
        ) {
            let text = format!("{before}{}{after}", query.to_uppercase());
            let found = find(&query, &text);
            // Found there, or inside an earlier match that overlaps it
            // (matches do not overlap: `cc` in `cCC` is 0..2 alone).
            let at = before.len();
            prop_assert!(found.iter().any(|r| r.start <= at && at < r.end), "{:?}", found);
        }
    }
}
