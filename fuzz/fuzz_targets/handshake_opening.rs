//! The host's side of opening a connection: what a stranger's first bytes
//! can do before anyone has proved anything.
//!
//! Input: byte 0 holds flags (bit 0: the host requires a secret code; bit 1:
//! it allows plain clients, so `read_opening` waits with a grace period;
//! bit 2: the host turns the guest away once its hello arrives); byte 1 is
//! the size of the pieces the guest's bytes arrive in (0: all at once); the
//! rest is everything the guest sends, after which it closes its sending
//! side. Each run also parses the first 8 of those bytes as a preamble.
//!
//! The host runs over an in-memory pipe in a current-thread runtime with a
//! paused clock, under a timeout, so a stalled handshake ends at once.
//! Checks: no panic, and the handshake ends.

#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use duplex::net::handshake::{HostPolicy, Opening, host, read_opening, turn_away_plain};
use duplex::net::plain::encoding_for;
use duplex::protocol::{Hello, Preamble};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Decoder;

const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Longer than any step of the handshake waits; the paused clock makes it instant.
const LIMIT: Duration = Duration::from_secs(60);

fuzz_target!(|data: &[u8]| {
    let (flags, piece, sent) = match data {
        [flags, piece, sent @ ..] => (*flags, usize::from(*piece), sent.to_vec()),
        _ => return,
    };
    if let Ok(first) = <[u8; Preamble::LEN]>::try_from(sent.get(..Preamble::LEN).unwrap_or(&[])) {
        let _ = Preamble::parse(&first);
    }
    let policy = HostPolicy {
        code: (flags & 1 != 0).then(|| "amber-otter-violin".to_owned()),
        limiter: Arc::default(),
        allow_plain: flags & 2 != 0,
        encoding: encoding_for("utf-8").expect("utf-8"),
    };
    let refuse = flags & 4 != 0;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let (guest, mut stream) = tokio::io::duplex(1 << 16);
        let (mut from_host, mut to_host) = tokio::io::split(guest);
        let writer = tokio::spawn(async move {
            let size = if piece == 0 { sent.len().max(1) } else { piece };
            for chunk in sent.chunks(size) {
                if to_host.write_all(chunk).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
            let _ = to_host.shutdown().await;
        });
        let drainer = tokio::spawn(async move {
            let mut seen = Vec::new();
            let _ = from_host.read_to_end(&mut seen).await;
        });

        let accept = async {
            let grace = policy.allow_plain.then_some(Duration::from_secs(1));
            match read_opening(&mut stream, grace).await {
                Ok(Opening::Duplex(theirs)) => {
                    let hello = Hello::new("host");
                    let admitted = host(&mut stream, theirs, IP, &hello, &policy, |_| {
                        if refuse {
                            Err("busy".to_owned())
                        } else {
                            Ok(())
                        }
                    })
                    .await;
                    if let Ok((mut established, ())) = admitted {
                        // Whatever followed the hello is the first chat traffic.
                        while let Ok(Some(_)) = established.codec.decode(&mut established.leftover)
                        {
                        }
                    }
                }
                Ok(Opening::Plain(first)) => {
                    if !policy.allow_plain {
                        let _ = turn_away_plain(&mut stream, &first).await;
                    }
                }
                Err(_) => {}
            }
        };
        assert!(
            tokio::time::timeout(LIMIT, accept).await.is_ok(),
            "the handshake stalled"
        );
        drop(stream);
        writer.await.expect("the writer ends");
        drainer.await.expect("the drainer ends");
    });
});
