//! The names a peer offers, on arbitrary input: the input is split at
//! newlines into offered paths (a trailing `/` makes an entry a folder).
//!
//! Checks: no panic; every planned path has only components that pass
//! `check_component` (so no `..`, separators, `:` or control characters),
//! at most `MAX_DEPTH` of them, and no two planned paths are the same.

#![no_main]

use std::collections::HashSet;

use duplex::protocol::transfer::{EntryKind, OfferEntry};
use duplex::transfer::names::{MAX_DEPTH, check_component, check_path, plan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let entries: Vec<OfferEntry> = text
        .split('\n')
        .map(|line| match line.strip_suffix('/') {
            Some(dir) => OfferEntry {
                path: dir.to_owned(),
                size: 0,
                kind: EntryKind::Dir,
            },
            None => OfferEntry {
                path: line.to_owned(),
                size: 1,
                kind: EntryKind::File,
            },
        })
        .collect();
    for entry in &entries {
        if let Ok(components) = check_path(&entry.path) {
            for component in &components {
                assert!(check_component(component).is_ok());
            }
        }
    }
    if let Ok(planned) = plan(&entries) {
        let mut seen = HashSet::new();
        for components in &planned {
            assert!(!components.is_empty() && components.len() <= MAX_DEPTH);
            for component in components {
                assert!(check_component(component).is_ok(), "{component:?}");
            }
            assert!(seen.insert(components.clone()), "{components:?} twice");
        }
    }
});
