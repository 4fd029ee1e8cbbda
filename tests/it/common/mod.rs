//! The harness every test module shares: [`pty`] runs the real binary in
//! a pseudo-terminal ([`Tui`]), [`headless`] runs it with piped standard
//! streams ([`headless::Duplex`]); both kill and reap their process when
//! dropped, so a failing test leaves nothing running. Here too: a plain
//! line-based TCP peer, and helpers that read duplex's rows.

pub mod headless;
pub mod pty;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

pub use pty::*;

/// Runs duplex with `args` (and `env`), which must fail before its TUI
/// starts: a non-zero status, a `duplex: …` line naming the problem, and
/// the terminal never changed (no alternate screen, no mouse reporting).
/// Returns the finished program, for more checks.
pub fn expect_setup_error(
    label: &str,
    args: &[&str],
    env: &[(&str, &str)],
    needle: &str,
) -> Result<Tui> {
    let mut tui = Tui::spawn_env(label, args, env, 24, 100)?;
    let status = tui.wait_exit(TIMEOUT)?;
    let screen = tui.screen();
    assert!(
        !status.success(),
        "[{label}] exited with {status:?}:\n{screen}"
    );
    let line = screen
        .rows()
        .into_iter()
        .find(|row| row.starts_with("duplex: ") && !row.starts_with("duplex: warning: "))
        .unwrap_or_else(|| panic!("[{label}] no error line:\n{screen}"));
    assert!(
        line.contains(needle),
        "[{label}] the error line does not say {needle:?}:\n{screen}"
    );
    let raw = tui.raw();
    assert!(
        find(&raw, ENTER_ALT_SCREEN).is_none() && find(&raw, MOUSE_ON).is_none(),
        "[{label}] changed the terminal: {:?}",
        String::from_utf8_lossy(&raw)
    );
    assert!(!screen.alternate_screen());
    Ok(tui)
}

/// Runs `duplex join` with `args`, whose handshake must fail: the chat
/// screen shows "connecting to ADDR…" while it goes on, then the terminal
/// is given back as it was, and the error is one line on it. Returns the
/// finished process.
pub fn expect_join_error(
    label: &str,
    args: &[&str],
    env: &[(&str, &str)],
    needle: &str,
) -> Result<Tui> {
    let mut tui = Tui::spawn_env(label, args, env, 24, 100)?;
    let status = tui.wait_exit(TIMEOUT)?;
    let screen = tui.screen();
    assert_eq!(
        status.exit_code(),
        1,
        "[{label}] exited with {status:?}:\n{screen}"
    );
    let line = screen
        .rows()
        .into_iter()
        .find(|row| row.starts_with("duplex: ") && !row.starts_with("duplex: warning: "))
        .unwrap_or_else(|| panic!("[{label}] no error line:\n{screen}"));
    assert!(
        line.contains(needle),
        "[{label}] the error line does not say {needle:?}:\n{screen}"
    );
    let raw = tui.raw();
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("connecting to "),
        "[{label}] never said it was connecting: {text:?}"
    );
    // Put back: the alternate screen and the mouse are left after the
    // chat screen was drawn.
    assert!(!screen.alternate_screen(), "[{label}] {text:?}");
    let (Some(entered), Some(left)) = (text.rfind("\x1b[?1049h"), text.rfind("\x1b[?1049l")) else {
        panic!("[{label}] no chat screen: {text:?}");
    };
    assert!(left > entered, "[{label}] {text:?}");
    assert!(
        text.rfind("\x1b[?1000l") > text.rfind("\x1b[?1000h"),
        "[{label}] mouse reporting left on: {text:?}"
    );
    Ok(tui)
}

/// A program on the other end of a TCP connection that speaks plain lines
/// of bytes, as netcat does: a client of a `--allow-plain` host, or the
/// server a `join --plain` connects to. Every read waits at most
/// [`TIMEOUT`].
pub struct PlainPeer {
    reader: std::io::BufReader<std::net::TcpStream>,
    writer: std::net::TcpStream,
}

impl PlainPeer {
    /// Connects to `127.0.0.1:port`.
    pub fn connect(port: u16) -> Result<Self> {
        Self::new(std::net::TcpStream::connect(("127.0.0.1", port))?)
    }

    /// Waits (up to [`TIMEOUT`]) for one connection on `listener`.
    pub fn accept(listener: &std::net::TcpListener) -> Result<Self> {
        let deadline = Instant::now() + TIMEOUT;
        listener.set_nonblocking(true)?;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false)?;
                    return Self::new(stream);
                }
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(Error(format!("nobody connected within {TIMEOUT:?}")));
                    }
                    // std's listener cannot wait with a timeout; this only
                    // sets how soon a connection is noticed.
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    fn new(stream: std::net::TcpStream) -> Result<Self> {
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        stream.set_nodelay(true)?;
        let writer = stream.try_clone()?;
        Ok(Self {
            reader: std::io::BufReader::new(stream),
            writer,
        })
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) -> Result {
        self.writer.write_all(bytes)?;
        self.writer.flush()?;
        Ok(())
    }

    /// Sends a line of text and a newline.
    pub fn send_line(&mut self, line: &str) -> Result {
        self.send(format!("{line}\n").as_bytes())
    }

    /// The next line, newline included, as bytes. Fails on a timeout or on
    /// the end of the stream before a newline.
    pub fn read_line_bytes(&mut self) -> Result<Vec<u8>> {
        use std::io::BufRead;
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(_) if line.ends_with(b"\n") => Ok(line),
            Ok(_) => Err(Error(format!(
                "the connection ended inside a line: {:?}",
                String::from_utf8_lossy(&line)
            ))),
            Err(err) => Err(Error(format!(
                "no line within {TIMEOUT:?} ({err}); got {:?}",
                String::from_utf8_lossy(&line)
            ))),
        }
    }

    /// The next line as text, without its line ending.
    pub fn read_line(&mut self) -> Result<String> {
        let line = self.read_line_bytes()?;
        let text = String::from_utf8(line)
            .map_err(|err| Error(format!("the line is not UTF-8: {err}")))?;
        Ok(text.trim_end_matches(['\n', '\r']).to_owned())
    }

    /// Everything until the other end closes the connection.
    pub fn read_to_end(&mut self) -> Result<Vec<u8>> {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).map_err(|err| {
            Error(format!(
                "the connection did not end within {TIMEOUT:?}: {err}"
            ))
        })?;
        Ok(rest)
    }

    /// Closes the connection both ways.
    pub fn close(self) {
        let _ = self.writer.shutdown(std::net::Shutdown::Both);
    }
}

/// A message row's parts: `HH:MM name: text` gives `(name, text)`.
pub fn chat_row(row: &str) -> Option<(&str, &str)> {
    let (author, text, _) = chat_row_with_mark(row)?;
    Some((author, text))
}

/// Delivery marks duplex puts after our own messages.
pub const DELIVERY_MARKS: [&str; 4] = [" ✓✓", " ✓", " ⌛", " ✗ not delivered"];

/// A chat row split into author, text and the delivery mark after our own
/// messages (`""` for others' messages or continuation-less rows).
pub fn chat_row_with_mark(row: &str) -> Option<(&str, &str, &str)> {
    let rest = strip_time(row)?;
    if rest.starts_with("· ") {
        return None;
    }
    let (author, text) = rest.split_once(": ")?;
    for mark in DELIVERY_MARKS {
        if let Some(bare) = text.strip_suffix(mark) {
            return Some((author, bare, mark.trim_start()));
        }
    }
    Some((author, text, ""))
}

/// A system row's text: `HH:MM · text` gives `text`.
pub fn system_row(row: &str) -> Option<&str> {
    strip_time(row)?.strip_prefix("· ")
}

/// `HH:MM rest` gives `rest`.
fn strip_time(row: &str) -> Option<&str> {
    let bytes = row.as_bytes();
    let is_time = bytes.len() > 6
        && bytes[0].is_ascii_digit()
        && bytes[1].is_ascii_digit()
        && bytes[2] == b':'
        && bytes[3].is_ascii_digit()
        && bytes[4].is_ascii_digit()
        && bytes[5] == b' ';
    is_time.then(|| &row[6..])
}

/// The harness itself.
mod selftest {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::mpsc;

    use super::headless::Duplex;
    use super::{Reading, Result, TIMEOUT, Tui};

    /// Whether no process has the id `pid` any more (reaped, not a zombie).
    #[allow(unsafe_code)]
    fn gone(pid: u32) -> bool {
        let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
        // SAFETY: kill(2) with signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        !alive && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }

    /// Runs `test` with `process` on another thread, then panics there, as
    /// a failing test would. The panic must unwind (dropping `process`)
    /// within [`TIMEOUT`]: a harness that forgot to kill its process would
    /// wait for it forever.
    fn fails_with<P: Send + 'static>(process: P, test: impl FnOnce(&P) + Send + 'static) {
        let (unwound, outcome) = mpsc::channel();
        std::thread::spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(move || {
                test(&process);
                panic!("a failing test");
            }));
            let _ = unwound.send(result.is_err());
        });
        match outcome.recv_timeout(TIMEOUT) {
            Ok(panicked) => assert!(panicked),
            Err(_) => panic!("dropping the harness did not end its process"),
        }
    }

    #[test]
    fn a_failing_test_leaves_no_tui_running() -> Result {
        let (host, _port) = Tui::host("alice", 24, 80)?;
        let pid = host.pid();
        assert!(!gone(pid));
        fails_with(host, |host| assert!(host.is_running().unwrap_or(false)));
        assert!(gone(pid), "duplex (pid {pid}) outlived its test");
        Ok(())
    }

    #[test]
    fn a_failing_test_leaves_no_headless_duplex_running() {
        let host = Duplex::host("alice", &["--json"]);
        let pid = host.child.id();
        fails_with(host, |host| {
            host.event("listening");
        });
        assert!(gone(pid), "duplex (pid {pid}) outlived its test");
    }

    #[test]
    fn a_probe_times_output_read_live() -> Result {
        // A program that is not ratatui: read live, every chunk counts.
        let tui = Tui::spawn_program("cat", "cat", &[], 5, 40, Reading::Live)?;
        tui.set_probe(Box::new(|screen| screen.contents().contains("ping")));
        tui.send_line("ping")?;
        let hit = tui.wait_probe(TIMEOUT)?;
        assert!(hit <= std::time::Instant::now());
        let screen = tui.wait_for("the echo", |s| s.contains("ping"))?;
        assert!(tui.bytes() >= 4, "{screen}");
        assert!(tui.raw().is_empty(), "live reading keeps no bytes");
        let pid = tui.pid();
        drop(tui);
        assert!(gone(pid), "cat (pid {pid}) outlived its Tui");
        Ok(())
    }
}
