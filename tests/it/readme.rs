//! Claims of README.md that no other test held the program to, each quoted
//! above the test that holds it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};

use crate::common::headless::{Duplex, Setup, port_of};

/// "`duplex host` listens on TCP port 7878 on all interfaces, IPv4 and
/// IPv6" (here on a free port: the same bind, without `--bind`).
#[tokio::test]
async fn a_host_without_bind_takes_ipv4_and_ipv6_guests() {
    let host = duplex::net::Host::bind(None, 0).expect("binds");
    let port = host.local_addr().port();
    assert!(host.local_addr().ip().is_unspecified(), "{host:?}");
    TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).expect("IPv4 connects");
    // A machine without IPv6 gets an IPv4 listener (and nothing to test here).
    if std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok() {
        assert!(host.local_addr().is_ipv6(), "{host:?}");
        TcpStream::connect(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).expect("IPv6 connects");
    }
}

/// "`--name` sets your name (default: your login name)".
#[test]
fn the_name_defaults_to_the_login_name() {
    let host = Duplex::start_with(
        "zed",
        &["host", "--port", "0", "--bind", "127.0.0.1", "--json"],
        Setup {
            env: &[("USER", "zed"), ("LOGNAME", "zed")],
            ..Setup::default()
        },
    );
    let port = port_of(&host.event("listening"));
    let guest = Duplex::join("bob", port, &["--json"]);
    assert_eq!(guest.event("joined")["name"], "zed");
    assert_eq!(host.event("joined")["name"], "bob");
}

/// "A host reads no input until a guest is connected, so piped lines wait
/// rather than get lost."
#[test]
fn a_host_reads_no_input_until_a_guest_is_connected() {
    let mut host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    host.send("written before anyone came");
    let guest = Duplex::join("bob", port, &["--json"]);
    assert_eq!(guest.event("joined")["name"], "alice");
    let message = guest.event("message");
    assert_eq!(message["text"], "written before anyone came", "{message}");
    assert_eq!(host.event("joined")["name"], "bob");
}

/// "each line of standard input is taken as a typed line, so it is sent
/// ... unless it is blank, `exit`, a command of the table above (a line
/// starting with `/`; `//text` sends `/text`) or over 32 KiB (an error says
/// it was not sent)".
#[test]
fn headless_lines_are_typed_lines_commands_included() {
    let host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    let mut guest = Duplex::join("bob", port, &["--json"]);
    assert_eq!(guest.event("joined")["name"], "alice");
    assert_eq!(host.event("joined")["name"], "bob");
    guest.send("/help");
    let help = guest.event("info");
    assert!(
        help["message"].as_str().unwrap().contains("/verify"),
        "{help}"
    );
    guest.send("/verify");
    assert_eq!(guest.event("info")["event"], "info");
    guest.send("/etc/hosts is where it is");
    let error = guest.event("error");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("unknown command"),
        "{error}"
    );
    guest.send("//etc/hosts is where it is");
    assert_eq!(host.event("message")["text"], "/etc/hosts is where it is");
    // Blank lines are not sent; nor is a line over 32 KiB, and it says so.
    guest.send("   ");
    guest.send(&"x".repeat(33 * 1024));
    let error = guest.event("error");
    assert!(
        error["message"].as_str().unwrap().contains("not sent"),
        "{error}"
    );
    guest.send("the next one");
    let message = host.event("message");
    assert_eq!(message["text"], "the next one", "{message}");
    assert!(message["id"].as_str().unwrap().ends_with("-2"), "{message}");
}

/// The `rejected` event: "`addr`, `kind`, `reason`, `count` (in the run so
/// far), `message`".
#[test]
fn a_rejected_connection_is_an_event_with_its_fields() {
    let host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    for count in 1..=2 {
        let mut stranger = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connects");
        stranger.write_all(b"hello?\n").expect("writes");
        let mut told = String::new();
        stranger.read_to_string(&mut told).expect("reads");
        assert!(told.contains("duplex join"), "{told:?}");
        let rejected = host.event("rejected");
        assert!(
            rejected["addr"].as_str().unwrap().starts_with("127.0.0.1:"),
            "{rejected}"
        );
        assert_eq!(rejected["kind"], "not-duplex", "{rejected}");
        assert!(rejected["reason"].is_string(), "{rejected}");
        assert_eq!(rejected["count"], count, "{rejected}");
        assert!(rejected["message"].is_string(), "{rejected}");
    }
}

/// The `joined` event of a plain peer: "`name`, `addr`, `encrypted`, ...
/// `plaintext`, `encoding` (plain peers)".
#[test]
fn a_plain_peer_joins_with_its_encoding() {
    let host = Duplex::host("alice", &["--json", "--allow-plain", "--encoding", "gbk"]);
    let port = port_of(&host.event("listening"));
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connects");
    client.write_all(b"hi\n").expect("writes");
    let joined = host.event("joined");
    assert!(joined["name"].is_string(), "{joined}");
    assert!(
        joined["addr"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{joined}"
    );
    assert_eq!(joined["encrypted"], false, "{joined}");
    assert_eq!(joined["plaintext"], true, "{joined}");
    assert_eq!(joined["encoding"], "GBK", "{joined}");
    assert_eq!(host.event("message")["text"], "hi");
}

/// The `undelivered` event: "messages given up (the peer left, or a new
/// guest was let in in its place)", with "`count`, `name`, `reason`".
#[test]
fn messages_given_up_for_a_new_guest_are_an_event() {
    let mut host = Duplex::host("alice", &["--json", "--newcomers", "admit"]);
    let port = port_of(&host.event("listening"));
    let bob = Duplex::join("bob", port, &["--json"]);
    assert_eq!(host.event("joined")["name"], "bob");
    assert_eq!(bob.event("joined")["name"], "alice");
    // Bob takes nothing in (and acknowledges nothing), then dies.
    bob.signal(libc::SIGSTOP);
    host.send("never read");
    bob.signal(libc::SIGKILL);
    assert_eq!(host.event("disconnected")["name"], "bob");
    // Carol is a new guest, let in: what bob never got is given up.
    let carol = Duplex::join("carol", port, &["--json"]);
    let mut undelivered = None;
    for _ in 0..3 {
        let event = host.json();
        if event["event"] == "undelivered" {
            undelivered = Some(event);
            break;
        }
    }
    let undelivered = undelivered.expect("an undelivered event");
    assert_eq!(undelivered["count"], 1, "{undelivered}");
    assert_eq!(undelivered["name"], "bob", "{undelivered}");
    assert!(undelivered["reason"].is_string(), "{undelivered}");
    assert_eq!(carol.event("joined")["name"], "alice");
}

/// docs/protocol.md's numbers, as the wire sees them: the preamble, the
/// policy bytes, the kinds and the start of each frame's body, the limits.
#[test]
fn the_numbers_of_docs_protocol_md() {
    use duplex::domain::Limits;
    use duplex::protocol::frame::{MAX_NAME_LEN, MAX_TEXT_LEN, kind};
    use duplex::protocol::handshake::{POLICY_CODE, POLICY_LOCKED, POLICY_OPEN};
    use duplex::protocol::{ChatMessage, Frame, Hello, MAX_FRAME_LEN, MessageId, Preamble};
    use std::time::Duration;

    // §1: magic, highest version, lowest version (big-endian); policy.
    assert_eq!(&Preamble::current().to_bytes(), b"DUPLEX\x00\x03\x00\x03");
    assert_eq!((POLICY_OPEN, POLICY_CODE, POLICY_LOCKED), (0, 1, 2));
    // §3: the kinds, first in every frame's plaintext.
    let kinds = [
        (kind::HELLO, 1),
        (kind::CHAT, 3),
        (kind::LEAVE, 5),
        (kind::BYE, 7),
        (kind::REFUSED, 9),
        (kind::ACK, 2),
        (kind::HEARTBEAT, 4),
        (kind::TYPING, 8),
        (kind::NICK, 10),
        (kind::WAITING, 12),
    ];
    for (kind, documented) in kinds {
        assert_eq!(kind, documented);
    }
    let id = MessageId { session: 1, seq: 2 };
    let chat = Frame::Chat(ChatMessage {
        id,
        sent_at_ms: 3,
        text: "hi".to_owned(),
        action: false,
    });
    // Chat: kind, id (session, seq), sent at (zigzag varint), text.
    assert_eq!(chat.encode().unwrap(), [3, 1, 2, 6, 2, b'h', b'i']);
    // An action appends its flag (`true`); a message leaves it out.
    let action = Frame::Chat(ChatMessage {
        id,
        sent_at_ms: 3,
        text: "hi".to_owned(),
        action: true,
    });
    assert_eq!(action.encode().unwrap(), [3, 1, 2, 6, 2, b'h', b'i', 1]);
    let nick = Frame::Nick { name: "al".into() };
    assert_eq!(nick.encode().unwrap(), [10, 2, b'a', b'l']);
    // Waiting: reason, then seconds (u32 varint).
    let waiting = Frame::Waiting {
        reason: "w".into(),
        seconds: 60,
    };
    assert_eq!(waiting.encode().unwrap(), [12, 1, b'w', 60]);
    // Both behind their capabilities.
    assert_eq!(nick.capability(), Some("nick"));
    assert_eq!(waiting.capability(), Some("waiting"));
    assert_eq!(
        duplex::protocol::frame::CAPABILITIES,
        &["nick", "waiting", "files", "typing"][..]
    );
    assert_eq!(Frame::Leave.encode().unwrap(), [5]);
    assert_eq!(Frame::Bye.encode().unwrap(), [7]);
    assert_eq!(Frame::Heartbeat.encode().unwrap(), [4]);
    // Typing: kind, state (0 active, 1 paused, 2 done).
    for (state, byte) in [
        (duplex::protocol::TypingState::Active, 0),
        (duplex::protocol::TypingState::Paused, 1),
        (duplex::protocol::TypingState::Done, 2),
    ] {
        assert_eq!(Frame::Typing { state }.encode().unwrap(), [8, byte]);
    }
    // The rules' numbers: at most one `active` every 3 s, shown for 6 s.
    assert_eq!(duplex::app::presence::TYPING_EVERY_MS, 3000);
    assert_eq!(duplex::app::presence::TYPING_SHOWN_MS, 6000);
    assert_eq!(Frame::Ack { up_to: id }.encode().unwrap(), [2, 1, 2]);
    let refused = Frame::Refused {
        reason: "no".into(),
    };
    assert_eq!(refused.encode().unwrap(), [9, 2, b'n', b'o']);
    let hello = Frame::Hello(Hello::new("a")).encode().unwrap();
    assert_eq!(hello[..3], [1, 1, b'a']);
    // §5: the limits.
    assert_eq!(MAX_FRAME_LEN, 65_535);
    assert_eq!(MAX_TEXT_LEN, 32 * 1024);
    assert_eq!(MAX_NAME_LEN, 256);
    assert_eq!(duplex::text::MAX_NAME_WIDTH, 24);
    let limits = Limits::DEFAULT;
    assert_eq!(limits.handshake, Duration::from_secs(10));
    assert_eq!(limits.silence, Duration::from_secs(15));
    assert_eq!(limits.heartbeat, Duration::from_secs(5));
    assert_eq!(limits.stall, Duration::from_secs(30));
    assert_eq!(limits.ack_delay, Duration::from_millis(5));
    assert_eq!(limits.window, 256 * 1024);
    assert_eq!(limits.plain_idle, Duration::from_secs(10 * 60));
    assert_eq!(duplex::net::host::MAX_PENDING_HANDSHAKES, 64);
}

/// docs/protocol.md: "An unknown policy is an error ("update duplex")."
#[tokio::test]
async fn an_unknown_policy_byte_is_an_error_that_says_to_update() {
    use duplex::protocol::{HandshakeError, Hello, Preamble};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("an address");
    let fake_host = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accepts");
        let mut theirs = [0; Preamble::LEN];
        stream.read_exact(&mut theirs).await.expect("a preamble");
        let mut reply = Preamble::current().to_bytes().to_vec();
        reply.push(7);
        stream.write_all(&reply).await.expect("writes");
        stream
    });
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let err = duplex::net::handshake::guest(&mut stream, &Hello::new("bob"), None)
        .await
        .expect_err("an unknown policy");
    assert!(matches!(err, HandshakeError::UnknownPolicy(7)), "{err}");
    assert!(err.to_string().contains("update duplex"), "{err}");
    drop(fake_host.await);
}

/// "`--encoding NAME` sets the text encoding of plain peers ... or any
/// other WHATWG label (but UTF-16 peers are written to in UTF-8, and the
/// labels WHATWG maps to `replacement` ... read all a peer sends as one `�`)".
#[test]
fn encodings_are_whatwg_labels_with_their_exceptions() {
    use duplex::net::plain::{TextCodec, encoding_for};
    for label in [
        "utf-8",
        "gbk",
        "gb18030",
        "big5",
        "shift_jis",
        "euc-kr",
        "latin1",
    ] {
        assert!(encoding_for(label).is_some(), "{label}");
    }
    let utf16 = TextCodec::new(encoding_for("utf-16le").expect("a label"));
    assert_eq!(utf16.encode_line("hé"), "hé\n".as_bytes());
    let mut replacement = TextCodec::new(encoding_for("iso-2022-kr").expect("a label"));
    assert!(replacement.feed(b"hello\nthere\n").is_empty());
    assert_eq!(replacement.flush().as_deref(), Some("\u{fffd}"));
    assert!(replacement.feed(b"more\n").is_empty());
    assert_eq!(replacement.flush(), None);
}

/// "A peer whose connection is down at that moment is not told: a guest
/// keeps trying to reconnect" (a host that typed `exit` while its guest's
/// connection was down).
#[test]
fn an_exit_does_not_reach_a_guest_whose_connection_is_down() {
    let setup = || Setup {
        env: &[("DUPLEX_TEST_LIMITS", "heartbeat=200ms,silence=1s")],
        ..Setup::default()
    };
    let mut host = Duplex::start_with(
        "alice",
        &[
            "host",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--name",
            "alice",
            "--json",
        ],
        setup(),
    );
    let port = port_of(&host.event("listening"));
    let addr = format!("127.0.0.1:{port}");
    let guest = Duplex::start_with("bob", &["join", &addr, "--name", "bob", "--json"], setup());
    assert_eq!(guest.event("joined")["name"], "alice");
    assert_eq!(host.event("joined")["name"], "bob");
    guest.signal(libc::SIGSTOP);
    assert_eq!(host.event("disconnected")["name"], "bob");
    host.send("exit");
    assert!(host.exit().success());
    guest.signal(libc::SIGCONT);
    assert_eq!(guest.event("disconnected")["name"], "alice");
    let error = guest.event("error");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot reconnect yet"),
        "{error}"
    );
}

/// README's text between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
fn readme_part(name: &str) -> String {
    let readme = include_str!("../../README.md");
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let from = readme.find(&start).expect("the start marker") + start.len();
    let to = from + readme[from..].find(&end).expect("the end marker");
    readme[from..to].to_owned()
}

/// The usage lines at the top of "Using duplex": every subcommand is
/// there, and every option they show is one the command line takes.
#[test]
fn the_usage_lines_match_the_command_line() {
    let readme = include_str!("../../README.md");
    let using = &readme[readme.find("## Using duplex").expect("the section")..];
    let block = &using[using.find("```text\n").expect("a usage block") + 8..];
    let block = &block[..block.find("```").expect("its end")];
    let cli = duplex::cli::command(&duplex::keymap::Keymap::default());
    let mut seen = Vec::new();
    for line in block.lines() {
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some("duplex"), "{line}");
        let name = words.next().expect("a subcommand");
        let sub = cli
            .find_subcommand(name)
            .unwrap_or_else(|| panic!("no subcommand {name}"));
        seen.push(name.to_owned());
        for word in line.split(['[', ']', ' ', '|']) {
            let Some(long) = word.strip_prefix("--") else {
                continue;
            };
            let known = sub
                .get_arguments()
                .chain(cli.get_arguments())
                .any(|arg| arg.get_long() == Some(long));
            assert!(known, "duplex {name} has no --{long}: {line}");
        }
        // The values shown for a choice are its values.
        for arg in sub.get_arguments() {
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_owned())
                .collect();
            if let Some(long) = arg.get_long()
                && arg.get_action().takes_values()
                && !values.is_empty()
                && line.contains(&format!("--{long}"))
            {
                assert!(line.contains(&values.join("|")), "{long}: {line}");
            }
        }
    }
    let subcommands: Vec<String> = cli
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    assert_eq!(seen, subcommands);
}

/// The actions `[keys]` takes, as README lists them.
#[test]
fn the_actions_of_the_keys_table_are_those_readme_lists() {
    let listed = readme_part("actions");
    let names: Vec<String> = duplex::keymap::Action::ALL
        .iter()
        .map(|action| format!("`{}`", action.name()))
        .collect();
    assert_eq!(listed, names.join(", "));
}

/// "Headless output never has colour" (even with `--color always`).
#[test]
fn headless_output_never_has_colour() {
    let mut host = Duplex::host("alice", &["--json"]);
    let port = port_of(&host.event("listening"));
    let guest = Duplex::join("bob", port, &["--color", "always", "--theme", "light"]);
    assert_eq!(host.event("joined")["name"], "bob");
    host.send("in colour?");
    let line = loop {
        let line = guest.stdout_line();
        assert!(!line.contains('\x1b'), "{line:?}");
        if line.contains("in colour?") {
            break line;
        }
    };
    assert!(line.contains("alice"), "{line:?}");
}
