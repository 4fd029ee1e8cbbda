//! Short, speakable words: secret codes people read to each other, and
//! the verification words both sides of a session show.
//!
//! 256 distinct, lowercase, common English words, so each word carries exactly
//! one byte and a code can be typed without guessing at spelling.

use std::fmt::Write;

/// The word list: index = byte value.
pub const WORDS: [&str; 256] = [
    "acid", "acorn", "actor", "adult", "agent", "alarm", "album", "alert", "alley", "amber",
    "angel", "angle", "ankle", "apple", "april", "apron", "arena", "armor", "arrow", "atlas",
    "atom", "attic", "audio", "autumn", "bacon", "badge", "bagel", "baker", "bamboo", "banana",
    "banjo", "barrel", "basil", "basket", "beach", "beacon", "beard", "beaver", "bench", "berry",
    "bison", "blade", "bottle", "brave", "bread", "breeze", "brick", "bridge", "broom", "bubble",
    "bucket", "bundle", "butter", "button", "cabin", "cactus", "camel", "camera", "canal",
    "candle", "canoe", "canyon", "carbon", "carpet", "castle", "cedar", "cement", "chalk",
    "cherry", "chess", "cider", "cinema", "circle", "citrus", "clover", "cobalt", "cocoa",
    "coffee", "comet", "copper", "coral", "cotton", "cousin", "coyote", "cradle", "crayon",
    "cycle", "daisy", "delta", "denim", "desert", "diamond", "dinner", "donkey", "dragon", "drum",
    "eagle", "echo", "elbow", "ember", "engine", "falcon", "fancy", "feather", "fiddle", "fig",
    "filter", "flame", "flute", "forest", "fossil", "fox", "galaxy", "garden", "garlic", "gecko",
    "ginger", "globe", "glove", "gold", "gopher", "grape", "gravel", "guitar", "hammer", "harbor",
    "hazel", "helmet", "hermit", "hollow", "honey", "hotel", "iceberg", "igloo", "indigo",
    "island", "ivory", "jacket", "jaguar", "jelly", "jungle", "kayak", "kettle", "kitten", "koala",
    "ladder", "lagoon", "lemon", "lilac", "lily", "lotus", "magnet", "mango", "maple", "marble",
    "meadow", "melon", "mint", "mirror", "mitten", "monkey", "motor", "muffin", "napkin", "nectar",
    "nickel", "noodle", "nutmeg", "oasis", "ocean", "olive", "onion", "orange", "orbit", "orchid",
    "otter", "owl", "oyster", "paddle", "panda", "paper", "parrot", "pasta", "peach", "peanut",
    "pebble", "pepper", "piano", "pickle", "pigeon", "pillow", "pilot", "pine", "planet", "plum",
    "pocket", "pony", "poppy", "potato", "prism", "puzzle", "quartz", "quill", "rabbit", "radar",
    "radio", "raven", "ribbon", "river", "robin", "rocket", "rose", "ruby", "saddle", "salmon",
    "sandal", "satin", "scarf", "season", "shadow", "shell", "silver", "sketch", "sled", "spider",
    "spoon", "stamp", "stone", "sugar", "summer", "sunset", "swan", "table", "tango", "teapot",
    "tiger", "timber", "toast", "tomato", "topaz", "tulip", "tunnel", "turtle", "valley", "velvet",
    "violin", "wagon", "walnut", "walrus", "whale", "willow", "window", "winter", "wizard",
    "yogurt", "zebra",
];

/// How many words a generated secret code has (24 bits).
pub const CODE_WORDS: usize = 3;

/// How many words the verification code has (32 bits).
pub const SAS_WORDS: usize = 4;

/// Words for the first bytes of `bytes`, joined with `-`.
pub fn words_for(bytes: &[u8], count: usize) -> String {
    let mut out = String::new();
    for (i, byte) in bytes.iter().take(count).enumerate() {
        if i > 0 {
            out.push('-');
        }
        let _ = write!(out, "{}", WORDS[*byte as usize]);
    }
    out
}

/// A fresh random secret code such as `amber-otter-violin`.
pub fn generate_code() -> String {
    let bytes: [u8; CODE_WORDS] = rand::random();
    words_for(&bytes, CODE_WORDS)
}

/// The canonical form of a code a person typed: trimmed, lower case, words
/// joined by single dashes, so `Amber  Otter violin` equals `amber-otter-violin`.
pub fn normalize_code(code: &str) -> String {
    code.split(|c: char| c.is_whitespace() || c == '-')
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn words_are_distinct_lowercase_ascii() {
        let set: HashSet<&str> = WORDS.iter().copied().collect();
        assert_eq!(set.len(), 256);
        for word in WORDS {
            assert!(word.chars().all(|c| c.is_ascii_lowercase()), "{word}");
            assert!((2..=8).contains(&word.len()), "{word}");
        }
    }

    #[test]
    fn codes_are_three_known_words() {
        let code = generate_code();
        let parts: Vec<&str> = code.split('-').collect();
        assert_eq!(parts.len(), CODE_WORDS);
        assert!(parts.iter().all(|p| WORDS.contains(p)), "{code}");
    }

    #[test]
    fn typed_codes_are_normalized() {
        assert_eq!(
            normalize_code("  Amber  Otter-violin "),
            "amber-otter-violin"
        );
        assert_eq!(normalize_code("amber--otter"), "amber-otter");
    }

    #[test]
    fn each_byte_has_its_own_word() {
        assert_eq!(
            words_for(&[0, 255], 2),
            format!("{}-{}", WORDS[0], WORDS[255])
        );
        assert_ne!(words_for(&[1, 2, 3, 4], 4), words_for(&[1, 2, 3, 5], 4));
        assert_eq!(words_for(&[1, 2, 3, 4, 5], 4).split('-').count(), 4);
    }
}
