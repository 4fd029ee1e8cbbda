//! Writes the seed inputs under `fuzz/seeds/<target>/`, in each target's
//! input layout (see the doc comment at the top of each target), from the
//! real encoders so they stay valid as the wire format changes.
//!
//! Run: `cargo run --manifest-path fuzz/Cargo.toml --example gen_seeds`.
//! The handshake transcripts carry fresh random keys, so those seeds differ
//! from run to run; all the others come out the same.

use std::path::{Path, PathBuf};

use bytes::{BufMut, BytesMut};
use duplex::journal::{self, Record};
use duplex::net::handshake::{HostPolicy, Opening, guest, host, read_opening};
use duplex::net::plain::encoding_for;
use duplex::protocol::codec::encode_body;
use duplex::protocol::{ChatMessage, Frame, FrameCodec, Hello, MessageId, Preamble, Resume};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Encoder;

fn chat(text: &str) -> Frame {
    Frame::Chat(ChatMessage {
        id: MessageId {
            session: 0x1234_5678_9abc_def0,
            seq: 1,
        },
        sent_at_ms: 1_700_000_000_000,
        text: text.to_owned(),
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

/// What a real guest sends to a real host, recorded between the two.
async fn guest_transcript(code: Option<&str>) -> Vec<u8> {
    let (mut guest_end, relay_guest) = tokio::io::duplex(1 << 16);
    let (relay_host, mut host_end) = tokio::io::duplex(1 << 16);
    let policy = HostPolicy::new(code.map(str::to_owned));
    let host_task = tokio::spawn(async move {
        if let Ok(Opening::Duplex(theirs)) = read_opening(&mut host_end, None).await {
            let hello = Hello::new("host");
            let _ = host(
                &mut host_end,
                theirs,
                "127.0.0.1".parse().expect("ip"),
                &hello,
                &policy,
                |_| Ok::<_, String>(()),
            )
            .await;
        }
    });
    let guest_task = {
        let code = code.map(str::to_owned);
        tokio::spawn(async move {
            let _ = guest(&mut guest_end, &Hello::new("guest"), code.as_deref()).await;
        })
    };
    let mut recorded = Vec::new();
    let (mut from_guest, mut to_guest) = tokio::io::split(relay_guest);
    let (mut from_host, mut to_host) = tokio::io::split(relay_host);
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_host, &mut to_guest).await;
    });
    let mut buf = [0; 4096];
    loop {
        match from_guest.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                recorded.extend_from_slice(&buf[..n]);
                if to_host.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to_host.shutdown().await;
    let _ = guest_task.await;
    let _ = host_task.await;
    let _ = back.await;
    recorded
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

    // frame_decoder: [cuts] [piece lengths] stream.
    let hello = Frame::Hello(Hello {
        name: "alice".into(),
        software: "duplex 0.1.0".into(),
    });
    let refused = Frame::Refused {
        reason: "busy".into(),
    };
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
        ("glued_split", glued),
        ("too_large", vec![0, 0xff, 0xff, 0xff, 0xff]),
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
    for (name, seed) in [
        ("chat", [vec![0], sealed(&body(&chat("hello")))].concat()),
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

    // handshake_opening: flags, piece size, what the guest sends.
    let mut mismatch = Preamble::current().to_bytes();
    mismatch[7] ^= 0x7f;
    for (name, seed) in [
        (
            "open_guest",
            [vec![0, 0], guest_transcript(None).await].concat(),
        ),
        (
            "code_guest",
            [
                vec![1, 7],
                guest_transcript(Some("amber-otter-violin")).await,
            ]
            .concat(),
        ),
        (
            "refused_guest",
            [vec![4, 0], guest_transcript(None).await].concat(),
        ),
        (
            "plain_client",
            [vec![2, 3], b"hello there\n".to_vec()].concat(),
        ),
        (
            "http",
            [vec![0, 0], b"GET / HTTP/1.1\r\n\r\n".to_vec()].concat(),
        ),
        ("other_version", [vec![0, 0], mismatch.to_vec()].concat()),
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
