//! The plain peer's framed decoder (`--plain-framing line|length|length-be`)
//! in the encodings `--encoding` is likely to name, fed arbitrary reads.
//!
//! Input: byte 0 picks the framing (`byte % 3`: line, length, length-be)
//! and the encoding (`byte / 3 % 6` of [`LABELS`]); then reads, each a
//! length byte `len` and `len` bytes, or, for `len == 0`, a byte `b` and a
//! count `n: u16` BE: one read of `n` copies of `b` (at most
//! [`REPEAT_BUDGET`] such bytes per input).
//!
//! Checks: no panic; no message is empty or longer than `MAX_TEXT_LEN`
//! bytes; only length framing fails, and only on a length over the limit
//! or negative; length framing reads the same messages from the reads as
//! from all the bytes at once; each message of up to 1 KiB goes back out
//! as exactly one frame that reads back as one message.

#![no_main]

use bytes::BytesMut;
use duplex::net::plain::{ByteOrder, Framing, PlainCodec, PlainError, encoding_for};
use duplex::protocol::frame::MAX_TEXT_LEN;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};

const LABELS: [&str; 6] = ["utf-8", "gbk", "gb18030", "big5", "shift_jis", "euc-kr"];

/// Repeated bytes allowed per input: enough to fill more than two messages.
const REPEAT_BUDGET: usize = 2 * MAX_TEXT_LEN + 4096;

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = data.split_at(n.min(data.len()));
    *data = tail;
    head
}

/// Decodes everything `src` holds; the messages, and whether it failed.
fn drain(codec: &mut PlainCodec, src: &mut BytesMut, framing: Framing) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    loop {
        match codec.decode(src) {
            Ok(Some(message)) => out.push(message),
            Ok(None) => return (out, false),
            Err(PlainError::TooLong { .. } | PlainError::Negative { .. })
                if framing != Framing::Line =>
            {
                return (out, true);
            }
            Err(err) => panic!("{framing:?} failed: {err}"),
        }
    }
}

fn check(framing: Framing, label: &str, message: &str) {
    assert!(!message.is_empty(), "an empty message");
    assert!(
        message.len() <= MAX_TEXT_LEN,
        "a message of {} bytes, over MAX_TEXT_LEN",
        message.len()
    );
    if message.len() > 1024 {
        return;
    }
    let encoding = encoding_for(label).expect("a known label");
    let mut codec = PlainCodec::new(framing, encoding);
    let mut wire = BytesMut::new();
    codec.encode(message, &mut wire).expect("encodes");
    let (back, failed) = drain(&mut codec, &mut wire, framing);
    assert!(!failed, "our own frame fails to read");
    let back = back.len() + usize::from(codec.flush(false).is_some());
    assert!(back <= 1, "{message:?} went out as {back} messages");
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let pick = take(&mut data, 1).first().copied().unwrap_or(0);
    let framing = match pick % 3 {
        0 => Framing::Line,
        1 => Framing::Length(ByteOrder::Little),
        _ => Framing::Length(ByteOrder::Big),
    };
    let label = LABELS[usize::from(pick / 3) % LABELS.len()];
    let encoding = encoding_for(label).expect("a known label");
    let mut codec = PlainCodec::new(framing, encoding);
    let mut src = BytesMut::new();
    let mut all = Vec::new();
    let mut messages = Vec::new();
    let mut failed = false;
    let mut budget = REPEAT_BUDGET;
    while !failed && let Some(&len) = take(&mut data, 1).first() {
        let read = if len == 0 {
            let byte = take(&mut data, 1).first().copied().unwrap_or(b'x');
            let count = match take(&mut data, 2) {
                [a, b] => usize::from(u16::from_be_bytes([*a, *b])),
                _ => 0,
            };
            let count = count.min(budget);
            budget -= count;
            vec![byte; count]
        } else {
            take(&mut data, usize::from(len)).to_vec()
        };
        all.extend_from_slice(&read);
        src.extend_from_slice(&read);
        let (got, fail) = drain(&mut codec, &mut src, framing);
        messages.extend(got);
        failed = fail;
    }
    if !failed {
        if let Some(last) = codec.decode_eof(&mut src).expect("the end reads") {
            messages.push(last);
        }
    }
    for message in &messages {
        check(framing, label, message);
    }
    if framing != Framing::Line {
        let mut whole = PlainCodec::new(framing, encoding);
        let mut src = BytesMut::from(&all[..]);
        let (at_once, failed_at_once) = drain(&mut whole, &mut src, framing);
        assert_eq!(failed_at_once, failed, "fails the same");
        if !failed {
            assert_eq!(at_once, messages, "reads in pieces as at once");
        }
    }
});
