//! The plain text peer's decoder (netcat and friends) in every encoding
//! `--encoding` is likely to name, fed arbitrary reads.
//!
//! Input: byte 0 picks the encoding (`byte % 6` of [`LABELS`]); then reads,
//! each a length byte `len` and `len` bytes, or, for `len == 0`, a byte `b`
//! and a count `n: u16` BE: one read of `n` copies of `b` (so that lines
//! longer than a message are cheap to reach; at most [`REPEAT_BUDGET`] such
//! bytes per input, to keep runs fast).
//!
//! Checks: no panic; no line is empty, holds a `'\n'` or is longer than
//! `MAX_TEXT_LEN` bytes, from `feed` or from the final `flush`; each line
//! of up to 1 KiB goes back out as exactly one line.

#![no_main]

use duplex::net::plain::{TextCodec, encoding_for};
use duplex::protocol::frame::MAX_TEXT_LEN;
use libfuzzer_sys::fuzz_target;

const LABELS: [&str; 6] = ["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr"];

/// Repeated bytes allowed per input: enough to fill more than two messages.
const REPEAT_BUDGET: usize = 2 * MAX_TEXT_LEN + 4096;

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = data.split_at(n.min(data.len()));
    *data = tail;
    head
}

fn check(codec: &TextCodec, line: &str) {
    assert!(!line.is_empty(), "an empty line");
    assert!(!line.contains('\n'), "a line holds a newline: {line:?}");
    assert!(
        line.len() <= MAX_TEXT_LEN,
        "a line of {} bytes, over MAX_TEXT_LEN",
        line.len()
    );
    if line.len() > 1024 {
        // Encoding long lines back dominates the run time; short ones suffice.
        return;
    }
    let out = codec.encode_line(line);
    assert_eq!(
        out.iter().position(|&b| b == b'\n'),
        Some(out.len() - 1),
        "{line:?} does not go out as one line"
    );
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let pick = take(&mut data, 1).first().copied().unwrap_or(0);
    let label = LABELS[usize::from(pick) % LABELS.len()];
    let encoding = encoding_for(label).expect("a known label");
    let mut codec = TextCodec::new(encoding);
    let mut lines = Vec::new();
    let mut budget = REPEAT_BUDGET;
    while let Some(&len) = take(&mut data, 1).first() {
        let fed = if len == 0 {
            let byte = take(&mut data, 1).first().copied().unwrap_or(b'x');
            let count = match take(&mut data, 2) {
                [a, b] => usize::from(u16::from_be_bytes([*a, *b])),
                _ => 0,
            };
            let count = count.min(budget);
            budget -= count;
            codec.feed(&vec![byte; count])
        } else {
            codec.feed(take(&mut data, usize::from(len)))
        };
        lines.extend(fed);
    }
    lines.extend(codec.flush());
    for line in &lines {
        check(&codec, line);
    }
    assert_eq!(codec.flush(), None, "flush leaves nothing behind");
});
