//! The length-prefixed frame decoder on arbitrary bytes, arriving in
//! arbitrary pieces, as TCP may deliver them.
//!
//! Input: byte 0 holds the number of cuts `n` (`byte % 8`); the next `2n`
//! bytes are the lengths of the first `n` pieces (u16, big-endian); the rest
//! is the stream. Bytes too few for that are stream.
//!
//! The stream is also read as one frame body (kind varint, then fields),
//! which is where the v2 envelope is exercised: unknown optional (even)
//! kinds, unknown required (odd) kinds and fields appended to known kinds.
//!
//! Checks: no panic; the pieces decode exactly as the whole stream does in
//! one read; every decoded frame re-encodes and decodes to itself
//! (`decode(encode(f)) == f`); and for the stream read as a body:
//!
//! - a body that decodes to a known kind decodes to the same frame with
//!   bytes appended (a newer peer's fields are ignored), and its kind is odd
//!   or even as the kind table says;
//! - an unknown kind decodes to `Frame::Unknown` only if it is even
//!   (optional), keeping every byte after the kind, appended ones too;
//! - an unknown odd kind is `CodecError::UnknownRequired` naming it, with or
//!   without appended bytes;
//! - `Frame::decode` and `decode_body` agree.

#![no_main]

use bytes::BytesMut;
use duplex::protocol::codec::{decode_body, encode_body};
use duplex::protocol::frame::{BodyError, kind};
use duplex::protocol::transfer;
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

/// What a newer peer might append: nothing that decodes in a particular
/// way, bytes of every value, and the body itself (fields that look real).
fn appended(body: &[u8]) -> [Vec<u8>; 4] {
    [
        vec![0],
        vec![0xff, 0x01, 0x02],
        vec![0x80; 11],
        body.to_vec(),
    ]
}

/// The v2 envelope, on `body` read as one frame body.
fn envelope(body: &[u8]) {
    let decoded = Frame::decode(body);
    let via_codec = decode_body(body);
    assert_eq!(
        format!("{:?}", decoded.as_ref().map_err(|_| ())),
        format!("{:?}", via_codec.as_ref().map_err(|_| ())),
        "Frame::decode and decode_body disagree"
    );
    match decoded {
        Ok(Frame::Unknown {
            kind: unknown,
            body: rest,
        }) => {
            assert!(
                !kind::is_required(unknown),
                "unknown required kind {unknown} skipped"
            );
            assert!(
                body.ends_with(&rest),
                "an unknown frame's body is not the rest"
            );
            for extra in appended(body) {
                let longer = [body, &extra].concat();
                let expected = Frame::Unknown {
                    kind: unknown,
                    body: [&rest[..], &extra].concat(),
                };
                assert_eq!(
                    Frame::decode(&longer).ok(),
                    Some(expected),
                    "an unknown optional kind with bytes appended"
                );
            }
            round_trip(&Frame::Unknown {
                kind: unknown,
                body: rest,
            });
        }
        Ok(frame) => {
            let known = [
                kind::HELLO,
                kind::CHAT,
                kind::LEAVE,
                kind::BYE,
                kind::REFUSED,
                kind::ACK,
                kind::HEARTBEAT,
                kind::WAITING,
                transfer::kind::OFFER,
                transfer::kind::ACCEPT,
                transfer::kind::DECLINE,
                transfer::kind::CHUNK,
                transfer::kind::CREDIT,
                transfer::kind::DONE,
                transfer::kind::CANCEL,
                transfer::kind::RESUME_FROM,
                kind::NICK,
            ];
            assert!(
                known.contains(&frame.kind()),
                "{frame:?} has an unknown kind"
            );
            for extra in appended(body) {
                let longer = [body, &extra].concat();
                let again = Frame::decode(&longer);
                match (&frame, again) {
                    // A hello without a next code: appended bytes may be read
                    // as one (the field this build knows after the others),
                    // and nothing else changes; one over the limit is refused.
                    (Frame::Hello(hello), Ok(Frame::Hello(mut read)))
                        if hello.next_code.is_none() =>
                    {
                        read.next_code = None;
                        assert_eq!(&read, hello, "appended bytes {extra:?} change the hello");
                    }
                    (Frame::Hello(hello), Err(BodyError::OverLimit { .. }))
                        if hello.next_code.is_none() => {}
                    (_, again) => assert_eq!(
                        again.ok().as_ref(),
                        Some(&frame),
                        "appended bytes {extra:?} change the frame"
                    ),
                }
            }
            round_trip(&frame);
        }
        Err(BodyError::UnknownRequired(unknown)) => {
            assert!(
                kind::is_required(unknown),
                "optional kind {unknown} refused"
            );
            assert!(
                matches!(via_codec, Err(CodecError::UnknownRequired(k)) if k == unknown),
                "decode_body: {via_codec:?}"
            );
            for extra in appended(body) {
                let longer = [body, &extra].concat();
                assert!(
                    matches!(Frame::decode(&longer), Err(BodyError::UnknownRequired(k)) if k == unknown),
                    "an unknown required kind with bytes appended"
                );
            }
        }
        Err(BodyError::Undecodable(_)) => {
            assert!(
                matches!(via_codec, Err(CodecError::Undecodable(_))),
                "decode_body: {via_codec:?}"
            );
        }
        Err(BodyError::OverLimit { len, limit, .. }) => {
            assert!(
                len > limit,
                "refused at {len} bytes under the {limit}-byte limit"
            );
            assert!(
                matches!(via_codec, Err(CodecError::OverLimit { .. })),
                "decode_body: {via_codec:?}"
            );
        }
    }
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

    envelope(stream);
});
