//! End-to-end tests of the real binary in headless mode: a host and a guest
//! as two processes talking over 127.0.0.1, driven through their pipes.
//!
//! Every step waits for the line it needs (with a timeout), never for time.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use serde_json::Value;

/// How long any one expected line may take.
const WAIT: Duration = Duration::from_secs(10);

/// A running `duplex` with its standard streams piped.
struct Duplex {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

/// Sends each line of a pipe on a channel; the channel closes with the pipe.
fn lines_of(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Duplex {
    fn start(name: &'static str, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_duplex"))
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts duplex");
        let stdout = lines_of(child.stdout.take().expect("piped stdout"));
        let stderr = lines_of(child.stderr.take().expect("piped stderr"));
        Self {
            name,
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    /// A host on a free port of 127.0.0.1.
    fn host(name: &'static str, extra: &[&str]) -> Self {
        let mut args = vec!["host", "--port", "0", "--bind", "127.0.0.1", "--name", name];
        args.extend_from_slice(extra);
        Self::start(name, &args)
    }

    fn join(name: &'static str, port: u16, extra: &[&str]) -> Self {
        let addr = format!("127.0.0.1:{port}");
        let mut args = vec!["join", addr.as_str(), "--name", name];
        args.extend_from_slice(extra);
        Self::start(name, &args)
    }

    fn next(&self, from: &Receiver<String>, stream: &str) -> String {
        match from.recv_timeout(WAIT) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("{}: no line on {stream} within {WAIT:?}", self.name)
            }
            Err(RecvTimeoutError::Disconnected) => {
                let rest: Vec<String> = self.stderr.try_iter().collect();
                panic!("{}: {stream} closed; stderr: {rest:?}", self.name)
            }
        }
    }

    fn stdout_line(&self) -> String {
        self.next(&self.stdout, "stdout")
    }

    fn stderr_line(&self) -> String {
        self.next(&self.stderr, "stderr")
    }

    fn json(&self) -> Value {
        let line = self.stdout_line();
        serde_json::from_str(&line)
            .unwrap_or_else(|err| panic!("{}: not JSON ({err}): {line:?}", self.name))
    }

    /// The next JSON event, which must be `event`.
    fn event(&self, event: &str) -> Value {
        let value = self.json();
        assert_eq!(value["event"], event, "{}: {value}", self.name);
        value
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").expect("writes a line");
        stdin.flush().expect("flushes");
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Everything left on standard error, once the process has ended.
    fn rest_of_stderr(&self) -> Vec<String> {
        let mut rest = Vec::new();
        loop {
            match self.stderr.recv_timeout(WAIT) {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Timeout) => panic!("{}: stderr still open", self.name),
                Err(RecvTimeoutError::Disconnected) => return rest,
            }
        }
    }

    /// Waits for the process to end (its stdout closes), and returns how.
    fn exit(&mut self) -> ExitStatus {
        match self.stdout.recv_timeout(WAIT) {
            Ok(line) => panic!("{}: unexpected output {line:?}", self.name),
            Err(RecvTimeoutError::Timeout) => panic!("{}: still running", self.name),
            Err(RecvTimeoutError::Disconnected) => {}
        }
        self.child.wait().expect("waits for the exit")
    }
}

impl Drop for Duplex {
    fn drop(&mut self) {
        // Only if a failed test left it running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

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
