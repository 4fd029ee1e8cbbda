//! The opening of a connection: what a stranger's first bytes can do before
//! anyone has proved anything, and how two sides agree on a version.
//!
//! Input: byte 0 holds flags, byte 1 the size of the pieces the stranger's
//! bytes arrive in (0: all at once), then the rest, read by the mode that
//! bits 3–4 of the flags pick:
//!
//! - bit 0: the host requires a secret code;
//! - bit 1: the host allows plain clients (`read_opening` waits with a grace
//!   period);
//! - bit 2: the host turns the guest away once its hello arrives;
//! - bits 3–4, the mode:
//!   - 0, *stranger to host*: the rest is everything a guest sends to a
//!     real host (`read_opening`, then `host`);
//!   - 1, *stranger to host, kept open*: the same, but the stranger does not
//!     close its sending side after its bytes (as a version 1 peer, which
//!     sent 8 bytes and then waits);
//!   - 2, *host to guest*: bytes 2–5 are the versions a real guest speaks
//!     (highest, lowest: `u16` BE each), and the rest is everything a
//!     stranger playing the host sends it (`guest_speaking`); bit 5: the
//!     stranger keeps its sending side open; bit 6: the guest gives the code;
//!   - 3, *guest to host*: bytes 2–5 are the versions a real guest speaks, and
//!     it opens with a real host (`guest_speaking` against `host`); bits 5–6
//!     pick the guest's code (none, the right one, a wrong one).
//!
//! Every run also parses the first 8 and 10 bytes of the rest as a preamble.
//!
//! Each side runs over an in-memory pipe in a current-thread runtime with a
//! paused clock, under a timeout, so a stalled handshake ends at once.
//!
//! Checks: no panic; `Preamble::parse` agrees with `parse_head` +
//! `parse_rest`, round-trips what it accepts and picks the highest version
//! both speak (`Versions::common`, symmetric); a host or guest facing bytes
//! that decide the opening (a preamble with no version in common, lowest
//! above highest, a version 1 peer's 8 bytes) fails with that error at once,
//! never waiting for more, and a host answers it with exactly its own
//! preamble so the peer can name both; a host that admits a guest uses the
//! version its preamble's parse picks, after its preamble and the right
//! policy byte; a refused plain client gets the explanation; a stranger that
//! closes never stalls a handshake; a real guest and host agree on the
//! version (`Versions::CURRENT.common(guest's)`) or both fail to open.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use duplex::net::handshake::{
    Established, HostPolicy, Opening, guest_speaking, host, read_opening, turn_away_plain,
};
use duplex::protocol::handshake::{NOT_DUPLEX_REPLY, POLICY_CODE, POLICY_OPEN};
use duplex::protocol::{HandshakeError, Hello, MIN_PROTOCOL_VERSION, Preamble, Versions};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::codec::Decoder;

const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

const CODE: &str = "amber-otter-violin";

/// Longer than any step of the handshake waits; the paused clock makes it instant.
const LIMIT: Duration = Duration::from_secs(60);

/// What the preamble functions say about `bytes` (the first 8, then 10),
/// checked against each other.
#[derive(Debug)]
enum Parsed {
    /// Fewer than 8 bytes, or not `DUPLEX`: the opening is not a duplex one.
    NotDecided,
    /// The head alone is refused (a version 1 peer, or older).
    HeadRefused,
    /// The head reads; the preamble is not whole.
    HeadOnly,
    /// The whole preamble: the version to use, or an error.
    Whole(Result<u16, ()>),
}

fn parse(bytes: &[u8]) -> Parsed {
    let Some(head) = bytes.first_chunk::<{ Preamble::HEAD_LEN }>() else {
        return Parsed::NotDecided;
    };
    let max = match Preamble::parse_head(head) {
        Ok(max) => max,
        Err(HandshakeError::NotDuplex { .. }) => {
            assert_ne!(&head[..6], b"DUPLEX", "the magic taken for something else");
            return Parsed::NotDecided;
        }
        Err(HandshakeError::VersionMismatch { ours, theirs }) => {
            assert_eq!(ours, Versions::CURRENT);
            assert!(
                theirs.max < MIN_PROTOCOL_VERSION,
                "{theirs:?} refused by its head"
            );
            if let Some(whole) = bytes.first_chunk::<{ Preamble::LEN }>() {
                assert!(
                    matches!(
                        Preamble::parse(whole),
                        Err(HandshakeError::VersionMismatch { .. })
                    ),
                    "parse differs from parse_head"
                );
            }
            return Parsed::HeadRefused;
        }
        Err(err) => panic!("parse_head: unexpected error {err:?}"),
    };
    assert_eq!(&head[..6], b"DUPLEX");
    assert!(max >= MIN_PROTOCOL_VERSION);
    let Some(whole) = bytes.first_chunk::<{ Preamble::LEN }>() else {
        return Parsed::HeadOnly;
    };
    let rest = [whole[Preamble::HEAD_LEN], whole[Preamble::HEAD_LEN + 1]];
    let theirs = Versions {
        min: u16::from_be_bytes(rest),
        max,
    };
    let parsed = Preamble::parse(whole);
    let in_parts = Preamble::parse_rest(max, rest);
    assert_eq!(
        format!("{parsed:?}"),
        format!("{in_parts:?}"),
        "parse differs from parse_head + parse_rest"
    );
    let common = Versions::CURRENT.common(theirs);
    assert_eq!(
        common,
        theirs.common(Versions::CURRENT),
        "common is not symmetric"
    );
    let result = match parsed {
        Ok((preamble, version)) => {
            assert_eq!(preamble.versions, theirs);
            assert_eq!(&preamble.to_bytes(), whole, "preamble round trip");
            assert_eq!(Some(version), common);
            assert!(theirs.min <= version && version <= theirs.max);
            assert!(Versions::CURRENT.min <= version && version <= Versions::CURRENT.max);
            assert_eq!(
                version,
                theirs.max.min(Versions::CURRENT.max),
                "not the highest"
            );
            Ok(version)
        }
        Err(HandshakeError::BadPreamble(bad)) => {
            assert_eq!(bad, theirs);
            assert!(theirs.min > theirs.max, "{theirs:?} is not malformed");
            Err(())
        }
        Err(HandshakeError::VersionMismatch {
            ours,
            theirs: named,
        }) => {
            assert_eq!((ours, named), (Versions::CURRENT, theirs));
            assert!(theirs.min <= theirs.max);
            assert_eq!(
                common, None,
                "{theirs:?} refused though it shares a version"
            );
            Err(())
        }
        Err(err) => panic!("parse: unexpected error {err:?}"),
    };
    Parsed::Whole(result)
}

fn versions(bytes: &[u8]) -> Versions {
    let word = |at: usize| {
        u16::from_be_bytes([
            bytes.get(at).copied().unwrap_or(0),
            bytes.get(at + 1).copied().unwrap_or(0),
        ])
    };
    Versions {
        max: word(0),
        min: word(2),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

/// Sends `sent` in pieces of `piece` bytes (0: at once), closing the sending
/// side after them unless `keep_open`; everything the other side sends back
/// is returned when it closes.
fn stranger(
    end: DuplexStream,
    sent: Vec<u8>,
    piece: usize,
    keep_open: bool,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::task::JoinHandle<Vec<u8>>,
) {
    let (mut from_them, mut to_them) = tokio::io::split(end);
    let writer = tokio::spawn(async move {
        let size = if piece == 0 { sent.len().max(1) } else { piece };
        for chunk in sent.chunks(size) {
            if to_them.write_all(chunk).await.is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
        if !keep_open {
            let _ = to_them.shutdown().await;
        }
    });
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        let _ = from_them.read_to_end(&mut seen).await;
        seen
    });
    (writer, reader)
}

fn policy(flags: u8) -> HostPolicy {
    let mut policy = HostPolicy::new((flags & 1 != 0).then(|| CODE.to_owned()));
    policy.allow_plain = flags & 2 != 0;
    policy
}

/// A real host, as `net::host` runs it: `read_opening`, then `host`.
async fn run_host(
    stream: &mut DuplexStream,
    policy: &HostPolicy,
    refuse: bool,
) -> Option<Result<Established, HandshakeError>> {
    let grace = policy.allow_plain.then_some(Duration::from_secs(1));
    match read_opening(stream, grace).await {
        Ok(Opening::Duplex(theirs)) => Some(
            host(stream, theirs, IP, policy, |_| {
                if refuse {
                    Err("busy".to_owned())
                } else {
                    Ok(((), Hello::new("host")))
                }
            })
            .await
            .map(|(established, ())| established),
        ),
        Ok(Opening::Plain(first)) => {
            if !policy.allow_plain {
                let _ = turn_away_plain(stream, &first).await;
            }
            None
        }
        Err(err) => Some(Err(err)),
    }
}

/// Mode 0 and 1: a stranger's bytes to a real host.
fn stranger_to_host(flags: u8, piece: usize, sent: Vec<u8>) {
    let keep_open = flags & 8 != 0;
    let policy = policy(flags);
    let refuse = flags & 4 != 0;
    let parsed = parse(&sent);
    let duplex_opening = sent.len() >= Preamble::HEAD_LEN && sent.starts_with(b"DUPLEX");
    runtime().block_on(async move {
        let (end, mut stream) = tokio::io::duplex(1 << 16);
        let (writer, reader) = stranger(end, sent.clone(), piece, keep_open);
        let outcome = tokio::time::timeout(LIMIT, run_host(&mut stream, &policy, refuse)).await;
        drop(stream);
        writer.await.expect("the writer ends");
        let answer = reader.await.expect("the reader ends");

        let decided = matches!(parsed, Parsed::HeadRefused | Parsed::Whole(Err(())));
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(_) => {
                assert!(keep_open, "the handshake stalled though the guest closed");
                assert!(
                    !decided,
                    "the host waits though {parsed:?} decides the opening"
                );
                return;
            }
        };
        match (&parsed, outcome) {
            (_, None) => {
                assert!(!duplex_opening, "a duplex opening taken for plain");
                if !policy.allow_plain {
                    assert_eq!(answer, NOT_DUPLEX_REPLY.as_bytes(), "plain client's answer");
                }
            }
            (Parsed::HeadRefused, Some(result)) | (Parsed::Whole(Err(())), Some(result)) => {
                assert!(
                    matches!(
                        result,
                        Err(HandshakeError::VersionMismatch { .. } | HandshakeError::BadPreamble(_))
                    ),
                    "{parsed:?}: the host says {result:?}"
                );
                assert_eq!(
                    answer,
                    Preamble::current().to_bytes(),
                    "the host answers a refused opening with exactly its preamble"
                );
            }
            (Parsed::Whole(Ok(version)), Some(result)) => {
                let mut opening = Preamble::current().to_bytes().to_vec();
                opening.push(if policy.code.is_some() {
                    POLICY_CODE
                } else {
                    POLICY_OPEN
                });
                assert!(
                    answer.starts_with(&opening),
                    "the host's answer {answer:?} does not open with its preamble and policy"
                );
                if let Ok(mut established) = result {
                    assert_eq!(established.version, *version, "the host's version");
                    assert!(!refuse, "a refused guest established");
                    // Whatever followed the hello is the first chat traffic.
                    while let Ok(Some(_)) = established.codec.decode(&mut established.leftover) {}
                }
            }
            (_, Some(result)) => assert!(
                result.is_err(),
                "{parsed:?}: established on an incomplete preamble"
            ),
        }
    });
}

/// Mode 2: a stranger playing the host, to a real guest.
fn host_to_guest(flags: u8, piece: usize, ours: Versions, sent: Vec<u8>) {
    let keep_open = flags & 0x20 != 0;
    let code = (flags & 0x40 != 0).then_some(CODE);
    let head_ok = sent
        .first_chunk::<{ Preamble::HEAD_LEN }>()
        .map(|head| Preamble::parse_head(head).is_ok());
    let theirs = sent
        .first_chunk::<{ Preamble::LEN }>()
        .map(|whole| Versions {
            max: u16::from_be_bytes([whole[6], whole[7]]),
            min: u16::from_be_bytes([whole[8], whole[9]]),
        });
    let _ = parse(&sent);
    runtime().block_on(async move {
        let (end, mut stream) = tokio::io::duplex(1 << 16);
        let (writer, reader) = stranger(end, sent, piece, keep_open);
        let outcome = tokio::time::timeout(
            LIMIT,
            guest_speaking(
                &mut stream,
                &Hello::new("guest"),
                code,
                ours,
                &mut |_, _| {},
            ),
        )
        .await;
        drop(stream);
        writer.await.expect("the writer ends");
        let seen = reader.await.expect("the reader ends");
        assert!(
            seen.starts_with(&Preamble { versions: ours }.to_bytes()),
            "the guest opens with its preamble"
        );
        // What the host's first 8 and 10 bytes decide, whatever follows.
        let expected = match (head_ok, theirs) {
            (Some(false), _) => Some("head"),
            (Some(true), Some(theirs)) if theirs.min > theirs.max => Some("bad"),
            (Some(true), Some(theirs)) if ours.common(theirs).is_none() => Some("mismatch"),
            _ => None,
        };
        let Ok(result) = outcome else {
            assert!(keep_open, "the guest stalled though the host closed");
            assert_eq!(
                expected, None,
                "the guest waits though the opening is decided"
            );
            return;
        };
        match expected {
            Some("head") => assert!(
                matches!(
                    result,
                    Err(HandshakeError::NotDuplex { .. } | HandshakeError::VersionMismatch { .. })
                ),
                "a refused head: {result:?}"
            ),
            Some("bad") => assert!(
                matches!(result, Err(HandshakeError::BadPreamble(_))),
                "lowest above highest: {result:?}"
            ),
            Some(_) => assert!(
                matches!(result, Err(HandshakeError::VersionMismatch { .. })),
                "no version in common: {result:?}"
            ),
            None => {
                if let Ok(established) = result {
                    let theirs = theirs.expect("a whole preamble");
                    assert_eq!(Some(established.version), ours.common(theirs));
                }
            }
        }
    });
}

/// Mode 3: a real guest speaking `ours` to a real host.
fn guest_to_host(flags: u8, ours: Versions) {
    let policy = policy(flags & !2);
    let refuse = flags & 4 != 0;
    let code = match (flags >> 5) & 3 {
        0 => None,
        1 => Some(CODE),
        _ => Some("amber-otter-viola"),
    };
    let expected = Versions::CURRENT.common(ours);
    let admitted =
        !refuse && code.is_none() == policy.code.is_none() && code != Some("amber-otter-viola");
    runtime().block_on(async move {
        let (mut guest_end, mut host_end) = tokio::io::duplex(1 << 16);
        let host_task = tokio::spawn(async move {
            let result = run_host(&mut host_end, &policy, refuse).await;
            drop(host_end);
            result
        });
        let guest = tokio::time::timeout(
            LIMIT,
            guest_speaking(
                &mut guest_end,
                &Hello::new("guest"),
                code,
                ours,
                &mut |_, _| {},
            ),
        )
        .await
        .expect("the guest stalled");
        drop(guest_end);
        let host = tokio::time::timeout(LIMIT, host_task)
            .await
            .expect("the host stalled")
            .expect("the host ends")
            .expect("a duplex opening");
        match (expected, guest, host) {
            (Some(version), Ok(guest), Ok(host)) => {
                assert!(admitted, "{ours:?}: admitted with {code:?}");
                assert_eq!((guest.version, host.version), (version, version));
                assert_eq!(guest.verification, host.verification);
            }
            (Some(_), guest, host) => assert!(
                !admitted,
                "{ours:?} shares a version but did not open: {guest:?} / {host:?}"
            ),
            (None, Err(guest), Err(host)) => {
                assert!(
                    matches!(
                        guest,
                        HandshakeError::VersionMismatch { .. } | HandshakeError::BadPreamble(_)
                    ),
                    "guest: {guest:?}"
                );
                assert!(
                    matches!(
                        host,
                        HandshakeError::VersionMismatch { .. } | HandshakeError::BadPreamble(_)
                    ),
                    "host: {host:?}"
                );
            }
            (None, guest, host) => {
                panic!("{ours:?} shares no version but opened: {guest:?} / {host:?}")
            }
        }
    });
}

fuzz_target!(|data: &[u8]| {
    let (flags, piece, rest) = match data {
        [flags, piece, rest @ ..] => (*flags, usize::from(*piece), rest),
        _ => return,
    };
    match (flags >> 3) & 3 {
        0 | 1 => stranger_to_host(flags, piece, rest.to_vec()),
        2 => {
            let (ours, sent) = rest.split_at(rest.len().min(4));
            host_to_guest(flags, piece, versions(ours), sent.to_vec());
        }
        _ => guest_to_host(flags, versions(rest)),
    }
});
