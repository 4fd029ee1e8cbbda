//! Writes the seed inputs under `fuzz/seeds/<target>/`, in each target's
//! input layout (see the doc comment at the top of each target), from the
//! real encoders so they stay valid as the wire format changes.
//!
//! Run: `cargo run --manifest-path fuzz/Cargo.toml --example gen_seeds`.
//! The handshake transcripts carry fresh random keys, so those seeds differ
//! from run to run; all the others come out the same. Old seeds are not
//! removed: delete a target's folder first to drop seeds no longer written.

use std::path::{Path, PathBuf};

use bytes::{BufMut, BytesMut};
use duplex::journal::{self, Record};
use duplex::net::handshake::{HostPolicy, Opening, guest_speaking, host, read_opening};
use duplex::net::plain::encoding_for;
use duplex::protocol::codec::encode_body;
use duplex::protocol::{
    ChatMessage, Frame, FrameCodec, Hello, MessageId, Preamble, Resume, Versions,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Encoder;

fn chat(text: &str) -> Frame {
    Frame::Chat(ChatMessage {
        id: MessageId {
            session: 0x1234_5678_9abc_def0,
            seq: 1,
        },
        sent_at_ms: 1_700_000_000_000,
        text: text.to_owned(),
        action: false,
    })
}

fn wire(frames: &[Frame]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    let mut codec = FrameCodec::new();
    for frame in frames {
        codec.encode(frame.clone(), &mut buf).expect("encodes");
    }
    buf.to_vec()
}

fn body(frame: &Frame) -> Vec<u8> {
    encode_body(frame).expect("encodes")
}

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("creates the seed folder");
    std::fs::write(dir.join(name), bytes).expect("writes the seed");
}

/// `encrypted_frames`: record 0, sealing `body`.
fn sealed(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.put_u16(u16::try_from(body.len()).expect("small"));
    out.extend_from_slice(body);
    out
}

/// `plain_text`: one read.
fn read(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![u8::try_from(bytes.len()).expect("small")];
    out.extend_from_slice(bytes);
    out
}

fn encoded(label: &str, text: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_for(label).expect("known").encode(text);
    bytes.into_owned()
}

/// What a real guest speaking `versions` and a real host send each other,
/// recorded between the two: (the guest's bytes, the host's bytes).
async fn transcript(code: Option<&str>, versions: Versions) -> (Vec<u8>, Vec<u8>) {
    let (mut guest_end, relay_guest) = tokio::io::duplex(1 << 16);
    let (relay_host, mut host_end) = tokio::io::duplex(1 << 16);
    let policy = HostPolicy::new(code.map(str::to_owned));
    let host_task = tokio::spawn(async move {
        if let Ok(Opening::Duplex(theirs)) = read_opening(&mut host_end, None).await {
            let _ = host(
                &mut host_end,
                theirs,
                "127.0.0.1".parse().expect("ip"),
                &policy,
                |_| Ok::<_, String>(((), Hello::new("host"))),
            )
            .await;
        }
    });
    let guest_task = {
        let code = code.map(str::to_owned);
        tokio::spawn(async move {
            let _ = guest_speaking(
                &mut guest_end,
                &Hello::new("guest"),
                code.as_deref(),
                versions,
                &mut |_, _| {},
            )
            .await;
        })
    };
    let (from_guest, to_guest) = tokio::io::split(relay_guest);
    let (from_host, to_host) = tokio::io::split(relay_host);
    let back = tokio::spawn(relay(from_host, to_guest));
    let recorded = relay(from_guest, to_host).await;
    let _ = guest_task.await;
    let _ = host_task.await;
    let answered = back.await.expect("the relay ends");
    (recorded, answered)
}

/// Copies `from` to `to` until either closes, and returns what passed.
async fn relay(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin) -> Vec<u8> {
    let mut recorded = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                recorded.extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
    recorded
}

/// `handshake_opening`, modes 2 and 3: a guest's versions, highest first.
fn speaks(max: u16, min: u16) -> Vec<u8> {
    [max.to_be_bytes(), min.to_be_bytes()].concat()
}

fn preamble(max: u16, min: u16) -> Vec<u8> {
    Preamble {
        versions: Versions { min, max },
    }
    .to_bytes()
    .to_vec()
}

/// `journal`: a record framed by hand, of a kind under 128 (one varint byte).
fn journal_record(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len() + 1).expect("small");
    let mut out = len.to_le_bytes().to_vec();
    out.push(kind);
    out.extend_from_slice(body);
    out
}

/// `journal`: records as this duplex writes them, after the header.
fn journal_records(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        journal::encode(record, &mut out);
    }
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds"));

    // sanitize: raw text.
    for (name, text) in [
        ("plain", "hello, world"),
        (
            "escapes",
            "\x1b[2J\x1b]0;pwned\x07red\x1b[31m\r\nbell\x07 del\x7f c1\u{9b}",
        ),
        (
            "bidi",
            "bidi \u{202E}txet\u{202C} \u{2066}iso\u{2069} zero\u{200B}width \u{FEFF}\u{2060}mark\u{200F}",
        ),
        (
            "scripts",
            "👨\u{200D}👩\u{200D}👧 中文 e\u{301} می\u{200C}خواهم\t\u{2028}x",
        ),
        (
            "long_name",
            "  A very    long display name, wider than the limit  ",
        ),
    ] {
        write(&dir, "sanitize", name, text.as_bytes());
    }

    // frame_decoder: [cuts] [piece lengths] stream (also read as one body).
    let hello = Frame::Hello(Hello {
        name: "alice".into(),
        software: "duplex 0.2.0".into(),
        resume: Some(Resume {
            conversation: 3,
            token: 99,
        }),
        resumed: true,
        capabilities: vec!["typing".into(), "reactions".into()],
        next_code: Some("amber-otter-violin".into()),
    });
    let refused = Frame::Refused {
        reason: "busy".into(),
    };
    let ack = Frame::Ack {
        up_to: MessageId {
            session: 0x1234_5678_9abc_def0,
            seq: 7,
        },
    };
    // A newer peer's frames: an optional kind this build does not know, a
    // required one, and a known kind with a field appended.
    let optional = Frame::Unknown {
        kind: 40,
        body: b"typing".to_vec(),
    };
    let required = Frame::Unknown {
        kind: 41,
        body: b"must know".to_vec(),
    };
    let appended = [body(&chat("newer")), b"\x05extra".to_vec()].concat();
    let mut appended_wire = u32::try_from(appended.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    appended_wire.extend_from_slice(&appended);
    let mut glued = vec![1, 0, 3];
    glued.extend(wire(&[chat("one"), chat("two 二"), Frame::Bye]));
    for (name, seed) in [
        ("chat", [vec![0], wire(&[chat("hello 世界")])].concat()),
        (
            "hello",
            [vec![0], wire(std::slice::from_ref(&hello))].concat(),
        ),
        (
            "refused_leave",
            [vec![0], wire(&[refused.clone(), Frame::Leave])].concat(),
        ),
        (
            "ack_heartbeat",
            [vec![0], wire(&[ack.clone(), Frame::Heartbeat])].concat(),
        ),
        ("glued_split", glued),
        ("too_large", vec![0, 0xff, 0xff, 0xff, 0xff]),
        (
            "unknown_optional",
            [vec![0], wire(&[optional.clone(), chat("after")])].concat(),
        ),
        (
            "unknown_required",
            [vec![0], wire(&[required.clone(), chat("after")])].concat(),
        ),
        ("appended_field", [vec![0], appended_wire].concat()),
        // The stream as one frame body.
        ("body_hello", [vec![0], body(&hello)].concat()),
        ("body_appended", [vec![0], appended.clone()].concat()),
        ("body_optional", [vec![0], body(&optional)].concat()),
        ("body_required", [vec![0], body(&required)].concat()),
    ] {
        write(&dir, "frame_decoder", name, &seed);
    }

    // encrypted_frames: flags, then records.
    let mut two_reads = vec![1];
    two_reads.extend(sealed(&body(&hello)));
    two_reads.push(3);
    two_reads.extend(sealed(&body(&chat("secret"))));
    let mut flipped = vec![0];
    flipped.extend(sealed(&body(&chat("tampered"))));
    flipped.extend([2, 0, 9, 0x01]);
    let mut raw = vec![0, 1, 4, 0, 0, 0, 20];
    raw.extend(sealed(&body(&Frame::Bye)));
    let mut newer = vec![0];
    newer.extend(sealed(&body(&optional)));
    newer.extend(sealed(&appended));
    newer.extend(sealed(&body(&ack)));
    newer.extend(sealed(&body(&required)));
    for (name, seed) in [
        ("chat", [vec![0], sealed(&body(&chat("hello")))].concat()),
        ("newer_peer", newer),
        ("code_two_reads", two_reads),
        ("flipped", flipped),
        ("raw_prefix", raw),
    ] {
        write(&dir, "encrypted_frames", name, &seed);
    }

    // plain_text: encoding index, then reads.
    let gbk = encoded("gbk", "你好，世界\r\n再见");
    let (gbk_a, gbk_b) = gbk.split_at(3);
    for (name, seed) in [
        ("utf8", [vec![0], read(b"hello\r\nworld\nexit\n")].concat()),
        ("gbk_split", [vec![1], read(gbk_a), read(gbk_b)].concat()),
        (
            "gb18030",
            [vec![2], read(&encoded("gb18030", "€ 𝄞 中文\n"))].concat(),
        ),
        (
            "big5",
            [vec![3], read(&encoded("big5", "繁體中文\n"))].concat(),
        ),
        (
            "shift_jis",
            [vec![4], read(&encoded("shift_jis", "日本語テキスト\n"))].concat(),
        ),
        (
            "euc_kr",
            [vec![5], read(&encoded("euc-kr", "한국어\n"))].concat(),
        ),
        ("long_line", vec![0, 0, b'x', 0x80, 0x00, 1, b'\n']),
        // A line left pending by one read and ended by the next (a past bug).
        (
            "long_line_ended",
            [
                vec![0, 0, b'x', 0x7f, 0xff],
                read("é and more\n".as_bytes()),
            ]
            .concat(),
        ),
    ] {
        write(&dir, "plain_text", name, &seed);
    }

    // handshake_opening: flags, piece size, then by mode (flags bits 3-4):
    // 0 what the guest sends; 1 the same, kept open; 2 the guest's versions
    // and what the host sends; 3 the guest's versions (a real guest and host).
    let current = Versions::CURRENT;
    let (open_guest, open_host) = transcript(None, current).await;
    let (code_guest, code_host) = transcript(Some("amber-otter-violin"), current).await;
    let (newer_guest, _) = transcript(None, Versions { min: 2, max: 5 }).await;
    let (refused_guest, _) = transcript(None, current).await;
    let ours = speaks(current.max, current.min);
    let v1 = b"DUPLEX\x00\x01".to_vec();
    for (name, seed) in [
        ("open_guest", [vec![0, 0], open_guest].concat()),
        ("code_guest", [vec![1, 7], code_guest].concat()),
        ("refused_guest", [vec![4, 0], refused_guest].concat()),
        ("newer_guest", [vec![0, 3], newer_guest].concat()),
        (
            "plain_client",
            [vec![2, 3], b"hello there\n".to_vec()].concat(),
        ),
        (
            "http",
            [vec![0, 0], b"GET / HTTP/1.1\r\n\r\n".to_vec()].concat(),
        ),
        // A version 1 guest: 8 bytes, then it waits for the host's answer.
        ("v1_guest", [vec![8, 0], v1.clone()].concat()),
        ("v1_guest_closed", [vec![0, 1], v1.clone()].concat()),
        ("far_guest", [vec![0, 0], preamble(5, 4)].concat()),
        ("far_guest_open", [vec![8, 0], preamble(5, 4)].concat()),
        ("bad_range_guest", [vec![0, 0], preamble(2, 3)].concat()),
        (
            "head_only_guest",
            [vec![8, 0], preamble(2, 2)[..9].to_vec()].concat(),
        ),
        // Mode 2: a host's answers to a guest of this build.
        (
            "host_open",
            [vec![0x10, 0], ours.clone(), open_host].concat(),
        ),
        (
            "host_code",
            [vec![0x50, 5], ours.clone(), code_host].concat(),
        ),
        (
            "host_v1",
            [vec![0x30, 0], ours.clone(), v1.clone()].concat(),
        ),
        (
            "host_far",
            [vec![0x10, 0], ours.clone(), preamble(9, 7)].concat(),
        ),
        (
            "host_bad_range",
            [vec![0x30, 0], ours.clone(), preamble(2, 3), vec![0]].concat(),
        ),
        (
            "host_newer_guest",
            [vec![0x10, 0], speaks(5, 2), preamble(2, 2), vec![0]].concat(),
        ),
        // Mode 3: a real guest speaking these versions to a real host.
        ("pair_current", [vec![0x18, 0], ours.clone()].concat()),
        ("pair_code", [vec![0x39, 0], ours.clone()].concat()),
        ("pair_wrong_code", [vec![0x59, 0], ours.clone()].concat()),
        ("pair_newer", [vec![0x18, 0], speaks(5, 2)].concat()),
        ("pair_v1", [vec![0x18, 0], speaks(1, 1)].concat()),
        ("pair_far", [vec![0x18, 0], speaks(5, 4)].concat()),
        ("pair_bad_range", [vec![0x18, 0], speaks(2, 3)].concat()),
    ] {
        write(&dir, "handshake_opening", name, &seed);
    }

    // journal: header choice (0 none, 1 DUPLEXJ2, 2 DUPLEXJ1), then the file.
    let session = journal_records(&[Record::Session {
        session: 0x1234_5678_9abc_def0,
        next_seq: 1,
    }]);
    let rest = journal_records(&[
        Record::Conversation(Resume {
            conversation: 3,
            token: 99,
        }),
        Record::Sent(ChatMessage {
            id: MessageId {
                session: 0x1234_5678_9abc_def0,
                seq: 1,
            },
            sent_at_ms: 1_700_000_000_000,
            text: "undelivered".to_owned(),
            action: false,
        }),
        Record::Acked { up_to: 0 },
        Record::GaveUp,
        Record::Ended,
    ]);
    let records = [&session[..], &rest].concat();
    let optional = [
        &session[..],
        &journal_record(2, b"a newer duplex's note"),
        &rest,
    ]
    .concat();
    let required = [&session[..], &journal_record(13, b"newer"), &rest].concat();
    // Version 1: the same 4-byte lengths around serde's variant order.
    let v1 = [
        &[3, 0, 0, 0, 0, 7, 1][..],
        &[3, 0, 0, 0, 1, 3, 99],
        &[7, 0, 0, 0, 2, 7, 1, 0, 2, b'h', b'i'],
        &[2, 0, 0, 0, 3, 1],
    ]
    .concat();
    for (name, seed) in [
        ("v2", [vec![1], records.clone()].concat()),
        ("v2_optional", [vec![1], optional].concat()),
        ("v2_required", [vec![1], required].concat()),
        (
            "v2_cut",
            [vec![1], records[..records.len() - 3].to_vec()].concat(),
        ),
        ("v1", [vec![2], v1].concat()),
        ("other_version", [&[0][..], b"DUPLEXJ9"].concat()),
    ] {
        write(&dir, "journal", name, &seed);
    }
}
