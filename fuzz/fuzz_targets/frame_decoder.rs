//! The length-prefixed frame decoder on arbitrary bytes, arriving in
//! arbitrary pieces, as TCP may deliver them.
//!
//! Input: byte 0 holds the number of cuts `n` (`byte % 8`); the next `2n`
//! bytes are the lengths of the first `n` pieces (u16, big-endian); the rest
//! is the stream. Bytes too few for that are stream.
//!
//! Checks: no panic; the pieces decode exactly as the whole stream does in
//! one read; every decoded frame re-encodes and decodes to itself; the body
//! decoder on the raw stream does not panic either.

#![no_main]

use bytes::BytesMut;
use duplex::protocol::codec::{decode_body, encode_body};
use duplex::protocol::{CodecError, Frame, FrameCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::{Decoder, Encoder};

/// Splits the input into its piece lengths and its stream.
fn layout(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let n = usize::from(first % 8);
    if rest.len() < 2 * n {
        return (Vec::new(), data);
    }
    let (cuts, stream) = rest.split_at(2 * n);
    let lens = cuts
        .chunks_exact(2)
        .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])))
        .collect();
    (lens, stream)
}

/// What a connection reads: its frames, then how it ended (`None`: a
/// clean end of stream; `Some(error)`: the error, as debug text).
#[derive(Debug, PartialEq)]
struct Outcome {
    frames: Vec<Frame>,
    end: Option<String>,
}

fn kind(err: &CodecError) -> String {
    format!("{err:?}")
}

/// Decodes `pieces` as successive reads, then the end of the stream.
fn read<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(err) => {
                    return Outcome {
                        frames,
                        end: Some(kind(&err)),
                    };
                }
            }
        }
    }
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => return Outcome { frames, end: None },
            Err(err) => {
                return Outcome {
                    frames,
                    end: Some(kind(&err)),
                };
            }
        }
    }
}

fn round_trip(frame: &Frame) {
    match encode_body(frame) {
        Ok(body) => {
            let back = decode_body(&body).expect("an encoded frame decodes");
            assert_eq!(&back, frame, "body round trip");
        }
        // A body just under the wire limit may not leave room for the tag.
        Err(CodecError::OutgoingTooLarge { .. }) => return,
        Err(err) => panic!("a decoded frame does not encode: {err}"),
    }
    let mut wire = BytesMut::new();
    FrameCodec::new()
        .encode(frame.clone(), &mut wire)
        .expect("a frame that encodes as a body encodes as a frame");
    let mut codec = FrameCodec::new();
    assert_eq!(
        codec
            .decode_eof(&mut wire)
            .expect("re-encoded frame decodes"),
        Some(frame.clone()),
        "frame round trip"
    );
    assert!(wire.is_empty(), "re-encoded frame left bytes over");
}

fuzz_target!(|data: &[u8]| {
    let (lens, stream) = layout(data);

    let mut pieces = Vec::new();
    let mut rest = stream;
    for len in lens {
        let (piece, tail) = rest.split_at(len.min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces.push(rest);

    let chunked = read(pieces);
    let whole = read([stream]);
    assert_eq!(chunked, whole, "pieces decode differently from one read");
    for frame in &whole.frames {
        round_trip(frame);
    }

    if let Ok(frame) = decode_body(stream) {
        round_trip(&frame);
    }
});
