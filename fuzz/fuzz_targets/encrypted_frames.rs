//! The receiving side of an encrypted session, fed a stream that mixes
//! frames sealed with the session's real keys, made-up bytes and flipped
//! bits.
//!
//! Each run performs a real Noise handshake in memory (guest = initiator =
//! sender, host = responder = receiver), so keys are fresh every run. The
//! input describes the stream:
//!
//! - byte 0: bit 0 set means both sides use a pre-shared key (a code);
//! - then records, each a tag byte (`tag % 4`) and its operands:
//!   - 0, `len: u16` BE, `len` bytes: seal those bytes as the next frame body
//!     (the guest's next nonce) and append it with its length prefix;
//!   - 1, `len: u8`, `len` bytes: append them as they are;
//!   - 2, `at: u16` BE, `mask: u8`: XOR the stream's byte `at % len` with `mask`;
//!   - 3: end one read here (the receiver gets the stream in pieces).
//!
//! Sealed bodies are v2 frame bodies (kind varint, then fields): the seeds
//! hold known kinds, known kinds with appended fields, and unknown optional
//! (even) and required (odd) kinds, so those reach the decoder behind a real
//! seal.
//!
//! Checks: no panic, and the `i`-th frame that decodes is exactly what the
//! `i`-th sealed body decodes to: nothing made up ever authenticates.

#![no_main]

use bytes::{BufMut, BytesMut};
use duplex::protocol::codec::{MAX_PLAINTEXT_LEN, decode_body};
use duplex::protocol::crypto::{Handshake, Keys};
use duplex::protocol::{FrameCodec, Preamble};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

/// The prologue of a real session: both preambles and the policy byte.
fn prologue(psk: bool) -> Vec<u8> {
    let preamble = Preamble::current().to_bytes();
    [&preamble[..], &preamble, &[u8::from(psk)]].concat()
}

fn session(psk: Option<&[u8; 32]>) -> (Keys, Keys) {
    let prologue = prologue(psk.is_some());
    let mut guest = Handshake::new(true, &prologue, psk).expect("guest starts");
    let mut host = Handshake::new(false, &prologue, psk).expect("host starts");
    host.read(&guest.write().expect("guest writes"))
        .expect("host reads");
    guest
        .read(&host.write().expect("host writes"))
        .expect("guest reads");
    (
        guest.finish().expect("guest finishes"),
        host.finish().expect("host finishes"),
    )
}

/// Takes `n` bytes, or as many as are left.
fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = data.split_at(n.min(data.len()));
    *data = tail;
    head
}

fn take_u16(data: &mut &[u8]) -> usize {
    match take(data, 2) {
        [a, b] => usize::from(u16::from_be_bytes([*a, *b])),
        [a] => usize::from(*a),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let flags = take(&mut data, 1).first().copied().unwrap_or(0);
    let psk = (flags & 1 == 1).then_some([0x5a; 32]);
    let (guest, host) = session(psk.as_ref());
    let (mut sealer, _) = guest.split();
    let (host_sealer, host_opener) = host.split();
    let mut receiver = FrameCodec::encrypted(host_sealer, host_opener);

    let mut wire = BytesMut::new();
    let mut cuts = Vec::new();
    let mut sealed = Vec::new();
    while let Some(&tag) = take(&mut data, 1).first() {
        match tag % 4 {
            0 => {
                let len = take_u16(&mut data).min(MAX_PLAINTEXT_LEN);
                let body = take(&mut data, len);
                let ciphertext = sealer.seal(body).expect("seals");
                wire.put_u32(u32::try_from(ciphertext.len()).expect("fits"));
                wire.put_slice(&ciphertext);
                sealed.push(body);
            }
            1 => {
                let len = take(&mut data, 1).first().copied().unwrap_or(0);
                wire.put_slice(take(&mut data, usize::from(len)));
            }
            2 => {
                let at = take_u16(&mut data);
                let mask = take(&mut data, 1).first().copied().unwrap_or(1);
                if !wire.is_empty() {
                    let at = at % wire.len();
                    wire[at] ^= mask;
                }
            }
            _ => cuts.push(wire.len()),
        }
    }
    cuts.push(wire.len());

    let mut frames = Vec::new();
    let mut buf = BytesMut::new();
    let mut from = 0;
    let mut failed = false;
    'reads: for cut in cuts {
        let to = cut.max(from);
        buf.extend_from_slice(&wire[from..to]);
        from = to;
        loop {
            match receiver.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break 'reads;
                }
            }
        }
    }
    if !failed {
        while let Ok(Some(frame)) = receiver.decode_eof(&mut buf) {
            frames.push(frame);
        }
    }

    assert!(frames.len() <= sealed.len(), "more frames than were sealed");
    for (i, frame) in frames.iter().enumerate() {
        let expected = decode_body(sealed[i]).ok();
        assert_eq!(
            Some(frame),
            expected.as_ref(),
            "frame {i} is not the {i}-th sealed body"
        );
    }
});
