//! The journal's reader on arbitrary bytes, as a damaged disk, another
//! program or another version of duplex may leave them.
//!
//! Input: byte 0 picks a header put before the rest (`byte % 3`: none,
//! `DUPLEXJ2`, `DUPLEXJ1`), so that most inputs reach the record reader;
//! the rest is the file. An empty input is an empty file.
//!
//! Checks: no panic; what reads writes back (as the state's summary, in
//! the current version) and reads again as the same state; a file that
//! reads also reads when cut short, as a kill leaves it.

#![no_main]

use duplex::journal::{MAGIC, decode, encode};
use libfuzzer_sys::fuzz_target;

/// The file the input stands for.
fn file(data: &[u8]) -> Vec<u8> {
    let Some((&first, rest)) = data.split_first() else {
        return Vec::new();
    };
    let header: &[u8] = match first % 3 {
        0 => b"",
        1 => MAGIC,
        _ => b"DUPLEXJ1",
    };
    [header, rest].concat()
}

fuzz_target!(|data: &[u8]| {
    let bytes = file(data);
    let Ok(read) = decode(&bytes) else {
        return;
    };
    assert!(read.ignored <= bytes.len());
    if let Some(saved) = &read.saved {
        let mut again = MAGIC.to_vec();
        for record in saved.summary() {
            encode(&record, &mut again);
        }
        let back = decode(&again).expect("a summary reads");
        assert_eq!(back.saved.as_ref(), Some(saved), "summary round trip");
        assert_eq!((back.ignored, back.skipped), (0, 0));
    }
    for cut in [bytes.len().saturating_sub(1), bytes.len() / 2, 9] {
        if let Some(cut) = bytes.get(..cut) {
            assert!(decode(cut).is_ok(), "a cut file that read whole fails");
        }
    }
});
