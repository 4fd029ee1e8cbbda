//! Names a peer offers are never trusted: this module turns an offered
//! path into local path components that stay inside the folder the files
//! are received in, or says why it cannot.
//!
//! Refused: anything but relative components joined by `/` (absolute
//! paths, `..`, `.`, empty components, `\`, drive letters, UNC paths), NUL
//! and other control characters, bidirectional overrides (which make a
//! name read differently from what it is), `:` (Windows streams), a trailing
//! dot or space (Windows drops them), reserved device names (`CON`,
//! `NUL`, `COM1`, …, with any extension), components over
//! [`MAX_COMPONENT_LEN`] bytes and trees deeper than [`MAX_DEPTH`].
//!
//! Names are normalized to Unicode NFC, and two entries whose names differ
//! only by normalization or case (which many file systems treat as one
//! name) are told apart: the later one becomes `name (1).ext`.

use std::collections::{HashMap, HashSet};

use unicode_normalization::UnicodeNormalization;

use crate::protocol::transfer::{EntryKind, OfferEntry};

/// Longest path component, in bytes (what common file systems allow).
pub const MAX_COMPONENT_LEN: usize = 255;

/// Deepest tree accepted: components in one path.
pub const MAX_DEPTH: usize = 32;

/// Why an offered name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing, or an empty component (`a//b`, a trailing `/`).
    #[error("an empty name or path component")]
    Empty,
    /// Starts with `/` or `\`: not relative.
    #[error("an absolute path")]
    Absolute,
    /// A `..` or `.` component.
    #[error("a '..' or '.' component")]
    Dots,
    /// A `\` (a Windows separator).
    #[error("a backslash")]
    Backslash,
    /// `C:` and the like.
    #[error("a drive letter")]
    Drive,
    /// A `:` elsewhere (Windows alternate data streams).
    #[error("a ':'")]
    Colon,
    /// A control character (NUL included).
    #[error("a control character (U+{0:04X})")]
    Control(u32),
    /// A bidirectional formatting character.
    #[error("a bidirectional text control (U+{0:04X})")]
    Bidi(u32),
    /// A component ending in `.` or a space.
    #[error("a name ending in a dot or a space")]
    Trailing,
    /// A reserved device name on Windows.
    #[error("a reserved device name ({0})")]
    Reserved(String),
    /// A component over [`MAX_COMPONENT_LEN`] bytes.
    #[error("a name over {MAX_COMPONENT_LEN} bytes")]
    TooLong,
    /// More than [`MAX_DEPTH`] components.
    #[error("a tree deeper than {MAX_DEPTH} folders")]
    TooDeep,
    /// An entry whose folder is not offered before it (or is a file).
    #[error("an entry whose folder is not offered before it")]
    Orphan,
}

/// Device names Windows reserves, whatever the extension.
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3",
    "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³",
];

/// Whether `c` is a bidirectional formatting character.
fn is_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Checks one component (already NFC).
pub fn check_component(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name == "." || name == ".." {
        return Err(NameError::Dots);
    }
    if name.len() > MAX_COMPONENT_LEN {
        return Err(NameError::TooLong);
    }
    for c in name.chars() {
        if c.is_control() {
            return Err(NameError::Control(u32::from(c)));
        }
        if is_bidi(c) {
            return Err(NameError::Bidi(u32::from(c)));
        }
        match c {
            '\\' => return Err(NameError::Backslash),
            ':' => return Err(NameError::Colon),
            '/' => return Err(NameError::Empty),
            _ => {}
        }
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err(NameError::Trailing);
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end();
    if let Some(reserved) = RESERVED
        .iter()
        .find(|reserved| reserved.eq_ignore_ascii_case(stem))
    {
        return Err(NameError::Reserved((*reserved).to_owned()));
    }
    Ok(())
}

/// Checks an offered path and returns its components, normalized to NFC.
pub fn check_path(path: &str) -> Result<Vec<String>, NameError> {
    if path.is_empty() {
        return Err(NameError::Empty);
    }
    if path.starts_with('/') || path.starts_with('\\') {
        return Err(NameError::Absolute);
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(NameError::Drive);
    }
    let normalized: String = path.nfc().collect();
    let components: Vec<String> = normalized.split('/').map(str::to_owned).collect();
    if components.len() > MAX_DEPTH {
        return Err(NameError::TooDeep);
    }
    for component in &components {
        check_component(component)?;
    }
    Ok(components)
}

/// `name` numbered `n`: `report (1).txt`, `archive (2).tar.gz`,
/// `.bashrc (1)`, a folder `logs (1)`.
pub fn numbered(name: &str, n: u32, is_dir: bool) -> String {
    let split = if is_dir {
        None
    } else {
        name.char_indices()
            .skip(1)
            .find(|&(_, c)| c == '.')
            .map(|(at, _)| at)
    };
    match split {
        Some(at) => format!("{} ({n}){}", &name[..at], &name[at..]),
        None => format!("{name} ({n})"),
    }
}

/// The key two names that one file system may treat as the same share.
fn fold(name: &str) -> String {
    name.nfc().flat_map(char::to_lowercase).collect()
}

/// Where every entry of an offer goes, relative to the folder it is
/// received in: the components of each, in offer order. Fails on the first
/// bad name, with the entry's index. Entries whose names collide once
/// normalized and case-folded are told apart with numbers.
pub fn plan(entries: &[OfferEntry]) -> Result<Vec<Vec<String>>, (usize, NameError)> {
    // Offered path (NFC) → its local components, for folders.
    let mut dirs: HashMap<Vec<String>, Vec<String>> = HashMap::new();
    // Local paths taken, folded.
    let mut taken: HashSet<Vec<String>> = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let components = check_path(&entry.path).map_err(|err| (index, err))?;
        let (name, parent) = match components.split_last() {
            Some((name, parent)) => (name, parent),
            None => return Err((index, NameError::Empty)),
        };
        let mut local = if parent.is_empty() {
            Vec::new()
        } else {
            dirs.get(parent)
                .cloned()
                .ok_or((index, NameError::Orphan))?
        };
        let is_dir = entry.kind == EntryKind::Dir;
        let folded_parent: Vec<String> = local.iter().map(|c| fold(c)).collect();
        let mut chosen = name.clone();
        let mut n = 0;
        loop {
            let mut key = folded_parent.clone();
            key.push(fold(&chosen));
            if taken.insert(key) {
                break;
            }
            n += 1;
            chosen = numbered(name, n, is_dir);
            if chosen.len() > MAX_COMPONENT_LEN {
                return Err((index, NameError::TooLong));
            }
        }
        local.push(chosen);
        if is_dir {
            dirs.insert(components, local.clone());
        }
        out.push(local);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(path: &str) -> OfferEntry {
        OfferEntry {
            path: path.into(),
            size: 1,
            kind: EntryKind::File,
        }
    }

    fn dir(path: &str) -> OfferEntry {
        OfferEntry {
            path: path.into(),
            size: 0,
            kind: EntryKind::Dir,
        }
    }

    #[test]
    fn hostile_paths_are_refused_each_for_its_reason() {
        let cases: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            ("a//b", NameError::Empty),
            ("a/", NameError::Empty),
            ("/etc/passwd", NameError::Absolute),
            ("\\windows\\x", NameError::Absolute),
            ("\\\\server\\share\\x", NameError::Absolute),
            ("//server/share", NameError::Absolute),
            ("..", NameError::Dots),
            ("../x", NameError::Dots),
            ("a/../../x", NameError::Dots),
            ("./x", NameError::Dots),
            ("a\\..\\x", NameError::Backslash),
            ("C:x", NameError::Drive),
            ("c:/x", NameError::Drive),
            ("file.txt:stream", NameError::Colon),
            ("a\0b", NameError::Control(0)),
            ("a\nb", NameError::Control(10)),
            ("a\u{1b}[31m", NameError::Control(0x1b)),
            ("a\u{7f}", NameError::Control(0x7f)),
            ("a\u{85}", NameError::Control(0x85)),
            ("evil\u{202E}txt.exe", NameError::Bidi(0x202e)),
            ("x\u{2066}", NameError::Bidi(0x2066)),
            ("name.", NameError::Trailing),
            ("name ", NameError::Trailing),
            ("dir./x", NameError::Trailing),
            ("CON", NameError::Reserved("CON".into())),
            ("nul.txt", NameError::Reserved("NUL".into())),
            ("a/Com1.tar.gz", NameError::Reserved("COM1".into())),
            ("lpt9", NameError::Reserved("LPT9".into())),
            ("COM¹", NameError::Reserved("COM¹".into())),
            ("aux .txt", NameError::Reserved("AUX".into())),
        ];
        for (path, expected) in cases {
            assert_eq!(check_path(path).as_ref(), Err(expected), "{path:?}");
        }
    }

    #[test]
    fn ordinary_names_pass_normalized() {
        assert_eq!(check_path("a/b c/d.txt").unwrap(), ["a", "b c", "d.txt"]);
        assert_eq!(check_path(".bashrc").unwrap(), [".bashrc"]);
        assert_eq!(check_path("console.log").unwrap(), ["console.log"]);
        assert_eq!(check_path("COM10").unwrap(), ["COM10"]);
        assert_eq!(check_path("日本語.md").unwrap(), ["日本語.md"]);
        // e + combining acute becomes é (NFC).
        assert_eq!(check_path("cafe\u{301}").unwrap(), ["caf\u{e9}"]);
    }

    #[test]
    fn lengths_and_depths_have_limits() {
        assert!(check_path(&"a".repeat(MAX_COMPONENT_LEN)).is_ok());
        assert_eq!(
            check_path(&"a".repeat(MAX_COMPONENT_LEN + 1)),
            Err(NameError::TooLong)
        );
        // 255 bytes of two-byte characters is fine; one more is not.
        assert!(check_path(&"é".repeat(127)).is_ok());
        assert_eq!(check_path(&"é".repeat(128)), Err(NameError::TooLong));
        let deep = vec!["d"; MAX_DEPTH].join("/");
        assert!(check_path(&deep).is_ok());
        assert_eq!(check_path(&format!("{deep}/x")), Err(NameError::TooDeep));
    }

    #[test]
    fn numbers_go_before_the_extension() {
        assert_eq!(numbered("report.txt", 1, false), "report (1).txt");
        assert_eq!(numbered("a.tar.gz", 2, false), "a (2).tar.gz");
        assert_eq!(numbered(".bashrc", 1, false), ".bashrc (1)");
        assert_eq!(numbered("Makefile", 3, false), "Makefile (3)");
        assert_eq!(numbered("v1.2", 1, true), "v1.2 (1)");
    }

    #[test]
    fn names_equal_after_normalization_or_case_are_told_apart() {
        let offer = [
            dir("Docs"),
            file("Docs/caf\u{e9}.txt"),
            file("Docs/cafe\u{301}.txt"),
            file("Docs/CAFÉ.TXT"),
            dir("docs"),
            file("docs/x"),
            file("readme"),
            file("README"),
        ];
        let plan = plan(&offer).unwrap();
        let joined: Vec<String> = plan.iter().map(|c| c.join("/")).collect();
        assert_eq!(
            joined,
            [
                "Docs",
                "Docs/café.txt",
                "Docs/café (1).txt",
                "Docs/CAFÉ (2).TXT",
                "docs (1)",
                "docs (1)/x",
                "readme",
                "README (1)",
            ]
        );
    }

    #[test]
    fn a_plan_refuses_orphans_and_names_the_entry() {
        assert_eq!(plan(&[file("a/b")]), Err((0, NameError::Orphan)));
        assert_eq!(plan(&[file("a"), file("a/b")]), Err((1, NameError::Orphan)));
        assert_eq!(
            plan(&[dir("a"), file("a/../../etc/passwd")]),
            Err((1, NameError::Dots))
        );
    }

    proptest! {
        /// Whatever is offered, what is planned is relative, safe, inside
        /// the folder, and unique once folded.
        #[test]
        fn any_plan_stays_inside_and_is_unique(
            paths in proptest::collection::vec("[a-zA-Z./\\\\:\u{0}\u{202e} é]{0,12}", 0..12),
            dirs in proptest::collection::vec(any::<bool>(), 12),
        ) {
            let offer: Vec<OfferEntry> = paths
                .iter()
                .zip(&dirs)
                .map(|(p, &d)| if d { dir(p) } else { file(p) })
                .collect();
            if let Ok(plan) = plan(&offer) {
                let mut seen = HashSet::new();
                for components in &plan {
                    prop_assert!(!components.is_empty() && components.len() <= MAX_DEPTH);
                    for c in components {
                        prop_assert!(check_component(c).is_ok(), "{c:?}");
                    }
                    let key: Vec<String> = components.iter().map(|c| fold(c)).collect();
                    prop_assert!(seen.insert(key), "{components:?} twice");
                }
            }
        }

        #[test]
        fn any_checked_path_has_only_safe_components(path in any::<String>()) {
            if let Ok(components) = check_path(&path) {
                for c in &components {
                    prop_assert!(check_component(c).is_ok());
                    prop_assert!(!c.contains(['/', '\\', ':', '\0']));
                }
            }
        }
    }
}
