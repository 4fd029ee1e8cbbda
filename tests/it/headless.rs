//! End-to-end tests of the real binary in headless mode: a host and a guest
//! as two processes talking over 127.0.0.1, driven through their pipes.
//!
//! Every step waits for the line it needs (with a timeout), never for time.

use crate::common::headless::{Duplex, Setup};
use serde_json::Value;

/// Checks the `listening` event and returns the port.
fn listening(host: &Duplex) -> u16 {
    let event = host.event("listening");
    let port = event["port"].as_u64().expect("port is a number");
    let port = u16::try_from(port).expect("port fits u16");
    assert_ne!(port, 0);
    assert_eq!(event["addr"], format!("127.0.0.1:{port}"));
    assert_eq!(
        event["join"],
        serde_json::json!([format!("duplex join 127.0.0.1:{port}")])
    );
    port
}

/// Checks a `joined` event for `name` from a loopback address.
fn assert_joined(event: &Value, name: &str) {
    assert_eq!(event["event"], "joined", "{event}");
    assert_eq!(event["name"], name, "{event}");
    let addr = event["addr"].as_str().expect("addr is a string");
    assert!(addr.starts_with("127.0.0.1:"), "{event}");
}

/// Checks a `message` event and its fields.
fn assert_message(event: &Value, from: &str, text: &str, seq: u64) {
    assert_eq!(event["event"], "message", "{event}");
    assert_eq!(event["from"], from, "{event}");
    assert_eq!(event["text"], text, "{event}");
    let id = event["id"].as_str().expect("id is a string");
    let (session, n) = id.split_once('-').expect("id is SESSION-SEQ");
    assert_eq!(session.len(), 16, "{event}");
    assert!(session.chars().all(|c| c.is_ascii_hexdigit()), "{event}");
    assert_eq!(n, seq.to_string(), "{event}");
    let sent = event["sent_at_ms"]
        .as_i64()
        .expect("sent_at_ms is a number");
    let now = chrono::Utc::now().timestamp_millis();
    assert!((now - 60_000..=now + 1000).contains(&sent), "{event}");
}

fn assert_left(event: &Value, name: &str, reason: &str) {
    assert_eq!(event["event"], "left", "{event}");
    assert_eq!(event["name"], name, "{event}");
    assert_eq!(event["reason"], reason, "{event}");
    assert_eq!(event["detail"], Value::Null, "{event}");
}

#[test]
fn json_host_and_text_guest_chat_then_exit_ends_both() {
    let mut host = Duplex::host("alice", &["--json"]);
    let port = listening(&host);

    let mut guest = Duplex::join("bob", port, &["--headless"]);
    assert_joined(&host.json(), "bob");
    assert_eq!(
        guest.stderr_line(),
        format!("duplex: alice joined (127.0.0.1:{port})")
    );

    guest.send("hello from bob");
    assert_message(&host.json(), "bob", "hello from bob", 1);
    guest.send("  spaces and 日本語 👋  ");
    assert_message(&host.json(), "bob", "  spaces and 日本語 👋  ", 2);

    host.send("hi bob");
    assert_eq!(guest.stdout_line(), "alice: hi bob");
    host.send("escape \u{1b}[31m is shown harmlessly");
    assert_eq!(
        guest.stdout_line(),
        "alice: escape ␛[31m is shown harmlessly"
    );

    // `exit` ends the conversation for both, cleanly.
    guest.send("exit");
    assert_left(&host.json(), "bob", "exit");
    assert_eq!(guest.exit().code(), Some(0));
    // The host only gets out once its input ends: see
    // `the_peers_exit_ends_this_side_while_its_input_stays_open`.
    host.close_stdin();
    assert_eq!(host.exit().code(), Some(0));
}

/// The side that did not type `exit` reports the peer's departure and then
/// hangs while its standard input stays open (a bot, `tail -f | duplex`).
/// `headless::run` leaves a read of stdin pending in its `select!`; tokio
/// serves stdin with a blocking thread, and `main` drops the runtime, which
/// waits for that blocking read to finish: until a line or EOF arrives.
/// The same happens to a guest whose host leaves.
#[test]
fn the_peers_exit_ends_this_side_while_its_input_stays_open() {
    let host = Duplex::host("alice", &["--json"]);
    let port = listening(&host);
    let mut guest = Duplex::join("bob", port, &["--headless"]);
    assert_joined(&host.json(), "bob");
    guest.send("exit");
    assert_left(&host.json(), "bob", "exit");
    assert_eq!(guest.exit().code(), Some(0));
    // The host's stdin is still open, as it would be for a person or a bot.
    let mut host = host;
    assert_eq!(host.exit().code(), Some(0));
}

#[test]
fn text_host_and_json_guest_then_the_host_leaves() {
    let mut host = Duplex::host("alice", &["--headless"]);
    let banner = host.stderr_line();
    let port: u16 = banner
        .strip_prefix("duplex: listening on 127.0.0.1:")
        .and_then(|rest| rest.split_once(';'))
        .and_then(|(port, _)| port.parse().ok())
        .unwrap_or_else(|| panic!("unexpected banner {banner:?}"));
    assert_eq!(
        banner,
        format!("duplex: listening on 127.0.0.1:{port}; join with: duplex join 127.0.0.1:{port}")
    );

    let mut guest = Duplex::join("bob", port, &["--json"]);
    let joined = guest.event("joined");
    assert_eq!(joined["name"], "alice");
    assert_eq!(joined["addr"], format!("127.0.0.1:{port}"));
    assert!(
        host.stderr_line()
            .starts_with("duplex: bob joined (127.0.0.1:")
    );

    guest.send("one");
    guest.send("two");
    assert_eq!(host.stdout_line(), "bob: one");
    assert_eq!(host.stdout_line(), "bob: two");
    host.send("three");
    assert_message(&guest.json(), "alice", "three", 1);

    // The host's input ends: it leaves, and so the guest ends too.
    host.close_stdin();
    assert_left(&guest.json(), "alice", "left");
    assert_eq!(host.exit().code(), Some(0));
    // See `the_peers_exit_ends_this_side_while_its_input_stays_open`.
    guest.close_stdin();
    assert_eq!(guest.exit().code(), Some(0));
    // With --json, nothing goes to standard error.
    let said = guest.rest_of_stderr();
    assert!(said.is_empty(), "{said:?}");
}

#[test]
fn end_of_input_leaves_and_the_host_takes_the_next_guest() {
    let mut host = Duplex::host("alice", &["--json"]);
    let port = listening(&host);

    let mut bob = Duplex::join("bob", port, &["--json"]);
    assert_joined(&host.json(), "bob");
    bob.event("joined");
    bob.send("bye for now");
    bob.close_stdin();
    assert_message(&host.json(), "bob", "bye for now", 1);
    assert_left(&host.json(), "bob", "left");
    assert_eq!(bob.exit().code(), Some(0));

    // The host is still there for the next guest.
    let mut carol = Duplex::join("carol", port, &["--json"]);
    assert_joined(&host.json(), "carol");
    let joined = carol.event("joined");
    assert_eq!(joined["name"], "alice");
    carol.send("hello?");
    assert_message(&host.json(), "carol", "hello?", 1);
    host.send("exit");
    assert_left(&carol.json(), "alice", "exit");
    assert_eq!(host.exit().code(), Some(0));
    // See `the_peers_exit_ends_this_side_while_its_input_stays_open`.
    carol.close_stdin();
    assert_eq!(carol.exit().code(), Some(0));
}

#[test]
fn a_flood_of_piped_lines_arrives_whole_at_the_networks_pace() {
    // Far more lines than the send queue holds, written at once: the sender
    // reads its input only as fast as the network takes it, and nobody is
    // dropped as "not keeping up".
    const LINES: usize = 20_000;
    let host = Duplex::host("alice", &["--json"]);
    let port = listening(&host);
    let mut guest = Duplex::join("bob", port, &["--json"]);
    host.event("joined");
    guest.event("joined");
    let mut stdin = guest.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut all = String::new();
        for n in 0..LINES {
            all.push_str(&format!("line {n}\n"));
        }
        stdin.write_all(all.as_bytes()).expect("writes");
        stdin
    });
    for n in 0..LINES {
        let event = host.json();
        assert_eq!(event["event"], "message", "after {n} lines: {event}");
        assert_eq!(event["text"], format!("line {n}"), "{event}");
    }
    let mut stdin = writer.join().expect("wrote");
    std::io::Write::write_all(&mut stdin, b"exit\n").expect("writes exit");
    drop(stdin);
    assert!(guest.exit().success());
}

/// A guest started where neither `$USER` nor `$LOGNAME` is set (a service,
/// a container) takes its name from the password database, as `id -un`
/// tells it.
#[test]
fn without_user_or_logname_the_name_comes_from_the_password_database() {
    let login = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("runs id -un");
    let login = String::from_utf8(login.stdout).expect("a name in UTF-8");
    let login = login.trim();
    assert!(!login.is_empty(), "id -un gave no name");
    let host = Duplex::host("alice", &["--json"]);
    let port = listening(&host);
    let addr = format!("127.0.0.1:{port}");
    let _guest = Duplex::start_without(
        "guest",
        &["join", &addr, "--json"],
        Setup::default(),
        &["USER", "LOGNAME"],
    );
    assert_joined(&host.event("joined"), login);
}

/// `--bind` takes a host name: `localhost` listens on 127.0.0.1 (its first
/// IPv4 address), and `duplex join HOST PORT` joins it.
#[test]
fn bind_takes_a_host_name_and_join_takes_host_and_port_apart() {
    let host = Duplex::start(
        "alice",
        &[
            "host",
            "--port",
            "0",
            "--bind",
            "localhost",
            "--name",
            "alice",
            "--json",
        ],
    );
    let listening = host.event("listening");
    let port = crate::common::headless::port_of(&listening);
    assert_eq!(listening["addr"], format!("127.0.0.1:{port}"));
    let port = port.to_string();
    let guest = Duplex::start(
        "bob",
        &["join", "127.0.0.1", &port, "--name", "bob", "--json"],
    );
    assert_joined(&host.event("joined"), "bob");
    assert_eq!(guest.event("joined")["name"], "alice");
}

/// A URL gets its own error, naming the address to type instead.
#[test]
fn join_with_a_url_says_what_to_type_instead() {
    let mut guest = Duplex::start("bob", &["join", "http://example.com:7878/", "--json"]);
    assert_eq!(
        guest.event("error")["message"],
        "duplex join takes an address, not a URL: try duplex join example.com:7878"
    );
    assert!(!guest.exit().success());
}

/// A character the plain client's encoding cannot write goes out as `?`,
/// and the host is told once, as an `info` event.
#[test]
fn a_character_gbk_cannot_write_is_sent_as_a_question_mark_and_told_once() {
    use std::io::{BufRead, BufReader, Write};
    let mut host = Duplex::host("alice", &["--json", "--allow-plain", "--encoding", "gbk"]);
    let port = crate::common::headless::port_of(&host.event("listening"));
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    client.write_all(b"hi\n").expect("writes");
    assert_eq!(host.event("joined")["encoding"], "GBK");
    assert_eq!(host.event("message")["text"], "hi");
    host.send("smile 😀");
    host.send("thumbs 👍");
    let mut lines = BufReader::new(client);
    for expected in ["smile ?\n", "thumbs ?\n"] {
        let mut line = String::new();
        lines.read_line(&mut line).expect("reads a line");
        assert_eq!(line, expected);
    }
    assert_eq!(
        host.event("info")["message"],
        "😀 (U+1F600) cannot be written in GBK: sent as ?"
    );
    host.close_stdin();
    let rest = host.rest_of_stdout();
    assert!(
        !rest.iter().any(|line| line.contains("cannot be written")),
        "told once: {rest:?}"
    );
}

/// `--plain-framing length`: a Python client's `struct.pack('i', n) + data`
/// messages arrive whole, and ours go back the same way.
#[test]
fn a_host_with_length_framing_chats_with_a_struct_pack_client() {
    use std::io::{Read, Write};
    let frame = |data: &[u8]| {
        let mut frame = i32::try_from(data.len())
            .expect("fits")
            .to_le_bytes()
            .to_vec();
        frame.extend_from_slice(data);
        frame
    };
    let mut host = Duplex::host(
        "alice",
        &["--json", "--allow-plain", "--plain-framing", "length"],
    );
    let port = crate::common::headless::port_of(&host.event("listening"));
    let mut client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    client
        .write_all(&[frame(b"hello"), frame("two\nlines".as_bytes())].concat())
        .expect("writes");
    assert_eq!(host.event("joined")["plaintext"], true);
    assert_eq!(host.event("message")["text"], "hello");
    assert_eq!(host.event("message")["text"], "two\nlines");
    host.send("hi python");
    let mut got = [0; 13];
    client.read_exact(&mut got).expect("reads a frame");
    assert_eq!(&got, b"\x09\x00\x00\x00hi python");
}
