//! Running the real binary headless, with its standard streams piped: for
//! tests that drive duplex as a script or a bot would. Dropping a
//! [`Duplex`] kills the process and reaps it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use serde_json::Value;

/// How long any one expected line may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running `duplex` with its standard streams piped.
pub struct Duplex {
    pub name: &'static str,
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub stdout: Receiver<String>,
    pub stderr: Receiver<String>,
    /// Its own state directory, so journals of different tests never meet
    /// (`None` when the test gave one, to start a process again in it).
    _state: Option<tempfile::TempDir>,
}

/// How to start a headless duplex beyond its arguments.
#[derive(Default)]
pub struct Setup<'a> {
    /// Extra environment variables.
    pub env: &'a [(&'a str, &'a str)],
    /// The state directory (journals) to use, kept by the test; a fresh
    /// temporary one when `None`.
    pub state: Option<&'a std::path::Path>,
}

/// Sends each line of a pipe on a channel; the channel closes with the pipe.
pub fn lines_of(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
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
    pub fn start(name: &'static str, args: &[&str]) -> Self {
        Self::start_with(name, args, Setup::default())
    }

    /// Like [`Duplex::start`], set up as `setup` says.
    pub fn start_with(name: &'static str, args: &[&str], setup: Setup<'_>) -> Self {
        Self::start_without(name, args, setup, &[])
    }

    /// Like [`Duplex::start_with`], without the environment variables `unset`.
    pub fn start_without(
        name: &'static str,
        args: &[&str],
        setup: Setup<'_>,
        unset: &[&str],
    ) -> Self {
        let owned = match setup.state {
            Some(_) => None,
            None => Some(tempfile::tempdir().expect("a temporary directory")),
        };
        let state = setup
            .state
            .or(owned.as_ref().map(tempfile::TempDir::path))
            .expect("a state directory");
        let mut command = Command::new(env!("CARGO_BIN_EXE_duplex"));
        for var in unset {
            command.env_remove(var);
        }
        let mut child = command
            .args(args)
            .env_remove("RUST_LOG")
            .env("XDG_STATE_HOME", state)
            // No config file but one the test writes there, and no setting
            // from the environment of whoever runs the tests.
            .env("XDG_CONFIG_HOME", state)
            .env_remove("DUPLEX_CONFIG")
            .env_remove("DUPLEX_NAME")
            .env_remove("DUPLEX_PORT")
            .env_remove("DUPLEX_ENCODING")
            .env_remove("DUPLEX_HISTORY_LIMIT")
            .envs(setup.env.iter().copied())
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
            _state: owned,
        }
    }

    /// Sends `signal` to the process.
    #[allow(unsafe_code)]
    pub fn signal(&self, signal: i32) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) has no memory-safety preconditions; the pid is our
        // own child, not yet reaped (we hold its `Child`).
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "{}: kill({pid}, {signal}) failed", self.name);
    }

    /// A host on a free port of 127.0.0.1.
    pub fn host(name: &'static str, extra: &[&str]) -> Self {
        let mut args = vec!["host", "--port", "0", "--bind", "127.0.0.1", "--name", name];
        args.extend_from_slice(extra);
        Self::start(name, &args)
    }

    pub fn join(name: &'static str, port: u16, extra: &[&str]) -> Self {
        let addr = format!("127.0.0.1:{port}");
        let mut args = vec!["join", addr.as_str(), "--name", name];
        args.extend_from_slice(extra);
        Self::start(name, &args)
    }

    pub fn next(&self, from: &Receiver<String>, stream: &str) -> String {
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

    pub fn stdout_line(&self) -> String {
        self.next(&self.stdout, "stdout")
    }

    pub fn stderr_line(&self) -> String {
        self.next(&self.stderr, "stderr")
    }

    /// The next JSON event, skipping the notes on our own messages'
    /// progress (`sent`, `delivery`), which [`Duplex::json_all`] shows.
    pub fn json(&self) -> Value {
        loop {
            let value = self.json_all();
            if !is_progress(&value) {
                return value;
            }
        }
    }

    /// The next JSON event, whatever it is.
    pub fn json_all(&self) -> Value {
        let line = self.stdout_line();
        serde_json::from_str(&line)
            .unwrap_or_else(|err| panic!("{}: not JSON ({err}): {line:?}", self.name))
    }

    /// The next JSON event named `event`, skipping any others before it
    /// (progress events included).
    pub fn until(&self, event: &str) -> Value {
        loop {
            let value = self.json_all();
            if value["event"] == event {
                return value;
            }
        }
    }

    /// The next JSON event, which must be `event`.
    pub fn event(&self, event: &str) -> Value {
        let value = self.json();
        assert_eq!(value["event"], event, "{}: {value}", self.name);
        value
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").expect("writes a line");
        stdin.flush().expect("flushes");
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Everything left on standard error, once the process has ended.
    pub fn rest_of_stderr(&self) -> Vec<String> {
        self.rest_of(&self.stderr, "stderr")
    }

    /// Everything left on standard output, once the process has ended,
    /// but the notes on our own messages' progress.
    pub fn rest_of_stdout(&self) -> Vec<String> {
        self.rest_of(&self.stdout, "stdout")
            .into_iter()
            .filter(|line| {
                serde_json::from_str::<Value>(line).map_or(true, |value| !is_progress(&value))
            })
            .collect()
    }

    fn rest_of(&self, from: &Receiver<String>, stream: &str) -> Vec<String> {
        let mut rest = Vec::new();
        loop {
            match from.recv_timeout(WAIT) {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Timeout) => panic!("{}: {stream} still open", self.name),
                Err(RecvTimeoutError::Disconnected) => return rest,
            }
        }
    }

    /// Waits for the process to end (its stdout closes), and returns how.
    pub fn exit(&mut self) -> ExitStatus {
        let rest = self.rest_of_stdout();
        assert!(rest.is_empty(), "{}: unexpected output {rest:?}", self.name);
        self.child.wait().expect("waits for the exit")
    }
}

/// The port of a `listening` event.
pub fn port_of(listening: &Value) -> u16 {
    listening["port"]
        .as_u64()
        .and_then(|port| u16::try_from(port).ok())
        .expect("a port")
}

/// Whether a JSON event only tells how far our own messages got.
pub fn is_progress(value: &Value) -> bool {
    matches!(
        value["event"].as_str(),
        Some("sent" | "delivery" | "leaving")
    )
}

impl Drop for Duplex {
    fn drop(&mut self) {
        // Still running (the test failed, or never waited for the exit):
        // kill it (SIGKILL) and reap it, so nothing outlives the test.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
