//! A pseudo-terminal harness for end-to-end tests: runs the real `duplex`
//! binary (or any program) in a PTY of a chosen size, feeds everything it
//! prints to a `vt100` parser on a background thread, and lets a test type
//! keys, wait for what the screen shows, and check how the process ended.
//! Dropping a [`Tui`] kills the process and reaps it, so a failing test
//! leaves nothing running.
//!
//! The screen a test sees is always a *complete* frame: ratatui ends every
//! frame by showing the cursor and moving it into place (`ESC[?25h` then
//! `ESC[row;colH`), and the reader takes a snapshot of the parsed screen
//! only at that point (and once more when the program's output ends), so a
//! condition is never checked against a half-drawn frame.
//!
//! Nothing here sleeps to let the program "catch up": tests wait for a
//! condition on the screen or for the process to exit, with a timeout that
//! only bounds how long a broken program can hang the suite.
//!
//! This file stands alone (std and the dev-dependencies, no paths into the
//! test binary): `benches/system` includes it too, reading the screen
//! [`Reading::Live`] and timing output with a [`Probe`].

use std::fmt;
use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// How long to wait for anything the program should do promptly. Generous:
/// the machines running the suite are shared and slow.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Enter (a carriage return, as a terminal in raw mode sends it).
pub const ENTER: &str = "\r";
/// Page Up.
pub const PG_UP: &str = "\x1b[5~";
/// Page Down.
pub const PG_DN: &str = "\x1b[6~";
/// Ctrl-Home.
pub const CTRL_HOME: &str = "\x1b[1;5H";
/// Ctrl-End.
pub const CTRL_END: &str = "\x1b[1;5F";
/// Ctrl-C.
pub const CTRL_C: &str = "\x03";
/// Ctrl-U (delete to the start of the input).
pub const CTRL_U: &str = "\x15";
/// Escape.
pub const ESC: &str = "\x1b";
/// Mouse wheel up (SGR encoding) at column 10, row 5.
pub const WHEEL_UP: &str = "\x1b[<64;10;5M";
/// Mouse wheel down (SGR encoding) at column 10, row 5.
pub const WHEEL_DOWN: &str = "\x1b[<65;10;5M";
/// Start of a bracketed paste.
pub const PASTE_START: &str = "\x1b[200~";
/// End of a bracketed paste.
pub const PASTE_END: &str = "\x1b[201~";

/// Entering the alternate screen.
pub const ENTER_ALT_SCREEN: &[u8] = b"\x1b[?1049h";
/// Leaving the alternate screen.
pub const LEAVE_ALT_SCREEN: &[u8] = b"\x1b[?1049l";
/// Turning mouse reporting on.
pub const MOUSE_ON: &[u8] = b"\x1b[?1000h";
/// Turning mouse reporting off.
pub const MOUSE_OFF: &[u8] = b"\x1b[?1000l";
/// Turning SGR mouse encoding on and off.
const MOUSE_SGR_ON: &[u8] = b"\x1b[?1006h";
const MOUSE_SGR_OFF: &[u8] = b"\x1b[?1006l";
/// Reporting of pointer motion (with a button held, or any): never asked for.
const MOUSE_MOTION: [&[u8]; 2] = [b"\x1b[?1002h", b"\x1b[?1003h"];

/// The end of a ratatui frame starts with showing the cursor (then moves
/// it), or is hiding it (a frame with no cursor, such as the help's).
const FRAME_END: &[u8] = b"\x1b[?25h";

/// The end of a ratatui frame that leaves the cursor hidden.
const FRAME_END_HIDDEN: &[u8] = b"\x1b[?25l";

/// Something the harness could not do or wait for, with enough context
/// (the whole screen) to see why. Its `Debug` form is the plain message,
/// so a test returning `Result<(), Error>` prints it readably.
pub struct Error(pub String);

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<Error> for String {
    fn from(err: Error) -> Self {
        err.0
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error(format!("I/O error: {err}"))
    }
}

/// What a test returns.
pub type Result<T = ()> = std::result::Result<T, Error>;

/// One complete frame of the terminal, as a person would see it.
#[derive(Clone)]
pub struct Screen {
    screen: vt100::Screen,
}

impl Screen {
    /// The parsed screen, for attributes, the cursor and the like.
    pub fn vt(&self) -> &vt100::Screen {
        &self.screen
    }

    /// Every row, trailing blanks removed.
    pub fn rows(&self) -> Vec<String> {
        let (_, cols) = self.screen.size();
        self.screen
            .rows(0, cols)
            .map(|row| row.trim_end().to_owned())
            .collect()
    }

    /// The last row.
    pub fn last_row(&self) -> String {
        self.rows().last().cloned().unwrap_or_default()
    }

    /// The whole screen as text, one line per row.
    pub fn text(&self) -> String {
        self.rows().join("\n")
    }

    /// Whether the text appears anywhere on the screen.
    pub fn contains(&self, needle: &str) -> bool {
        self.text().contains(needle)
    }

    /// The row of duplex's rule above the input (the last row that starts
    /// with `──`).
    pub fn rule_row(&self) -> Option<usize> {
        self.rows().iter().rposition(|row| row.starts_with("──"))
    }

    /// The message pane: the rows above the rule.
    pub fn pane(&self) -> Vec<String> {
        let rows = self.rows();
        let rule = self.rule_row().unwrap_or(0);
        rows[..rule].to_vec()
    }

    /// The input box: the rows between the rule and the status bar.
    pub fn input(&self) -> Vec<String> {
        let rows = self.rows();
        match self.rule_row() {
            Some(rule) if rule + 1 < rows.len() => rows[rule + 1..rows.len() - 1].to_vec(),
            _ => Vec::new(),
        }
    }

    /// The status bar (the last row).
    pub fn status(&self) -> String {
        self.last_row()
    }

    /// Whether the status bar says the pane is scrolled back.
    pub fn scrolled(&self) -> bool {
        self.status().contains("↑ scrolled")
    }

    /// Cursor row and column (0-based).
    pub fn cursor(&self) -> (u16, u16) {
        self.screen.cursor_position()
    }

    /// Whether the terminal is showing the alternate screen.
    pub fn alternate_screen(&self) -> bool {
        self.screen.alternate_screen()
    }
}

impl fmt::Display for Screen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (_, cols) = self.screen.size();
        let rule = "─".repeat(cols as usize);
        writeln!(f, "┌{rule}┐")?;
        for row in self.rows() {
            writeln!(f, "│{row}")?;
        }
        write!(f, "└{rule}┘ cursor at {:?}", self.cursor())
    }
}

/// What the program asked of the terminal besides drawing: things a real
/// terminal acts on outside the grid (window title, clipboard, bell,
/// hyperlinks and other OSC sequences). duplex itself asks for none of
/// them, so anything recorded here came from somewhere it should not have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SideEffects {
    /// Window titles set (OSC 0 and OSC 2).
    pub titles: Vec<String>,
    /// Icon names set (OSC 0 and OSC 1).
    pub icon_names: Vec<String>,
    /// Clipboard writes and reads (OSC 52), as `selector;data`.
    pub clipboard: Vec<String>,
    /// Audible bells (BEL outside a sequence).
    pub bells: usize,
    /// Other OSC sequences (OSC 8 hyperlinks and the like), parameters
    /// joined with `;`.
    pub other_osc: Vec<String>,
    /// Characters written that vt100 does not draw: U+FFFD, which a real
    /// terminal draws as �, but vt100 skips without moving the cursor.
    /// (C1 controls sent as UTF-8 it swallows without a trace: look for
    /// those in [`Tui::raw`].)
    pub undrawn: Vec<char>,
}

impl vt100::Callbacks for SideEffects {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }

    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.icon_names
            .push(String::from_utf8_lossy(name).into_owned());
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles
            .push(String::from_utf8_lossy(title).into_owned());
    }

    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, ty: &[u8], data: &[u8]) {
        self.clipboard.push(format!(
            "{};{}",
            String::from_utf8_lossy(ty),
            String::from_utf8_lossy(data)
        ));
    }

    fn paste_from_clipboard(&mut self, _: &mut vt100::Screen, ty: &[u8]) {
        self.clipboard
            .push(format!("{};?", String::from_utf8_lossy(ty)));
    }

    fn unhandled_char(&mut self, _: &mut vt100::Screen, c: char) {
        self.undrawn.push(c);
    }

    fn unhandled_osc(&mut self, _: &mut vt100::Screen, params: &[&[u8]]) {
        let params: Vec<_> = params.iter().map(|p| String::from_utf8_lossy(p)).collect();
        self.other_osc.push(params.join(";"));
    }
}

/// What the reader thread keeps of the program's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Every byte (see [`Tui::raw`]), and the screen at each complete
    /// ratatui frame: what a test of duplex's TUI looks at.
    Frames,
    /// Only the screen parsed so far, which every chunk read updates: for a
    /// program that does not draw with ratatui, or a flood of output, where
    /// keeping every byte and a copy of every frame would cost.
    Live,
}

/// Runs on the reader thread after each chunk read, with the screen parsed
/// so far (perhaps mid-frame). Once it returns `true`, the moment that
/// chunk arrived is recorded (see [`Tui::wait_probe`]) and the probe is
/// removed: output is timed where the bytes arrive, not when a waiting
/// thread gets to look.
pub type Probe = Box<dyn FnMut(&vt100::Screen) -> bool + Send>;

/// What the reader thread shares with the test.
struct Output {
    /// Whether the screen is read [`Reading::Live`].
    live: bool,
    /// Parses everything read so far, noting side effects.
    parser: vt100::Parser<SideEffects>,
    /// The last complete frame (or, after the end of output, the final screen).
    frame: vt100::Screen,
    /// Frames seen so far.
    frames: u64,
    /// Every byte the program wrote to the terminal.
    raw: Vec<u8>,
    /// Bytes of `raw` already fed to the parser.
    parsed: usize,
    /// Where to look for the next frame end.
    scan_from: usize,
    /// Bytes read so far.
    bytes: u64,
    /// Runs after each chunk, until it first returns `true`.
    probe: Option<Probe>,
    /// When the chunk arrived on which the probe returned `true`.
    hit: Option<Instant>,
    /// The program's side of the terminal is closed: no more output.
    eof: bool,
}

impl Output {
    /// Takes in a chunk of output that arrived at `arrived`, and runs the
    /// probe. Returns whether there is anything new to look at.
    fn take(&mut self, chunk: &[u8], arrived: Instant) -> bool {
        self.bytes += chunk.len() as u64;
        let mut changed = if self.live {
            self.parser.process(chunk);
            self.frames += 1;
            true
        } else {
            self.take_frames(chunk)
        };
        if let Some(probe) = self.probe.as_mut()
            && probe(self.parser.screen())
        {
            self.probe = None;
            self.hit = Some(arrived);
            changed = true;
        }
        changed
    }

    /// Feeds the parser up to each frame end and snapshots the screen
    /// there. Returns whether the frame changed.
    fn take_frames(&mut self, chunk: &[u8]) -> bool {
        self.raw.extend_from_slice(chunk);
        let mut snapped = false;
        while let Some(end) = find_frame_end(&self.raw, self.scan_from) {
            self.parser.process(&self.raw[self.parsed..end]);
            self.parsed = end;
            self.scan_from = end;
            self.frame = self.parser.screen().clone();
            self.frames += 1;
            snapped = true;
        }
        // A frame end split across reads is found on the next pass.
        self.scan_from = self
            .scan_from
            .max(self.raw.len().saturating_sub(MAX_FRAME_END_LEN));
        self.parser.process(&self.raw[self.parsed..]);
        self.parsed = self.raw.len();
        snapped
    }

    fn finish(&mut self) {
        self.frame = self.parser.screen().clone();
        self.eof = true;
    }

    /// The screen a test sees: the last complete frame, or when reading
    /// live, the screen as parsed so far.
    fn current(&self) -> &vt100::Screen {
        if self.live {
            self.parser.screen()
        } else {
            &self.frame
        }
    }
}

/// `ESC[?25h` `ESC[` rows `;` cols `H` is at most this long.
const MAX_FRAME_END_LEN: usize = FRAME_END.len() + 2 + 5 + 1 + 5 + 1;

/// The index just past the first complete frame end at or after `from`.
fn find_frame_end(raw: &[u8], from: usize) -> Option<usize> {
    let shown = find_shown_frame_end(raw, from);
    let hidden = find(&raw[from..], FRAME_END_HIDDEN).map(|at| from + at + FRAME_END_HIDDEN.len());
    match (shown, hidden) {
        (Some(shown), Some(hidden)) => Some(shown.min(hidden)),
        (shown, hidden) => shown.or(hidden),
    }
}

/// The index just past the first frame end that shows the cursor and
/// moves it, at or after `from`.
fn find_shown_frame_end(raw: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = find(&raw[at..], FRAME_END) {
        let start = at + found + FRAME_END.len();
        match cursor_move_len(&raw[start..]) {
            Move::Complete(len) => return Some(start + len),
            Move::Incomplete => return None, // the rest comes with the next read
            Move::Not => at = start,
        }
    }
    None
}

enum Move {
    Complete(usize),
    Incomplete,
    Not,
}

/// Whether `bytes` starts with a cursor move `ESC [ row ; col H`.
fn cursor_move_len(bytes: &[u8]) -> Move {
    const PREFIX: &[u8] = b"\x1b[";
    let head = &bytes[..bytes.len().min(PREFIX.len())];
    if head != &PREFIX[..head.len()] {
        return Move::Not;
    }
    if head.len() < PREFIX.len() {
        return Move::Incomplete;
    }
    let mut semicolons = 0;
    for (i, byte) in bytes.iter().enumerate().skip(PREFIX.len()) {
        match byte {
            b'0'..=b'9' => {}
            b';' if semicolons == 0 => semicolons += 1,
            b'H' if semicolons == 1 => return Move::Complete(i + 1),
            _ => return Move::Not,
        }
    }
    Move::Incomplete
}

/// The first index of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The state shared with the reader thread, and its bell.
struct Shared {
    output: Mutex<Output>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Output> {
        self.output
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The real `duplex` binary (or another program) running in a
/// pseudo-terminal; killed and reaped when dropped.
pub struct Tui {
    label: String,
    child: Mutex<Box<dyn Child + Send + Sync>>,
    pid: u32,
    writer: Mutex<Box<dyn Write + Send>>,
    master: Mutex<Box<dyn MasterPty + Send>>,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    status: Option<ExitStatus>,
    /// The temporary HOME this process got, unless it was given one.
    _home: Option<tempfile::TempDir>,
}

impl Tui {
    /// Starts `duplex ARGS` in a `rows` × `cols` terminal with TERM=xterm-256color,
    /// TZ=UTC, and a fresh temporary directory as HOME and working directory.
    /// `label` names this process in error messages.
    pub fn spawn(label: &str, args: &[&str], rows: u16, cols: u16) -> Result<Self> {
        Self::spawn_env(label, args, &[], rows, cols)
    }

    /// Like [`Tui::spawn`], with these environment variables set as well.
    pub fn spawn_env(
        label: &str,
        args: &[&str],
        env: &[(&str, &str)],
        rows: u16,
        cols: u16,
    ) -> Result<Self> {
        let home = tempfile::tempdir()?;
        let mut tui = Self::spawn_at(label, args, env, home.path(), rows, cols)?;
        tui._home = Some(home);
        Ok(tui)
    }

    /// Like [`Tui::spawn_env`], with `home` as HOME and working directory:
    /// a process started again in the same HOME finds what the last one
    /// kept there.
    pub fn spawn_at(
        label: &str,
        args: &[&str],
        env: &[(&str, &str)],
        home: &std::path::Path,
        rows: u16,
        cols: u16,
    ) -> Result<Self> {
        let program = env!("CARGO_BIN_EXE_duplex");
        Self::start(
            label,
            program,
            args,
            env,
            home,
            (rows, cols),
            Reading::Frames,
        )
    }

    /// Starts `program ARGS` as [`Tui::spawn`] starts duplex, with the
    /// screen read as `reading` says.
    pub fn spawn_program(
        label: &str,
        program: &str,
        args: &[&str],
        rows: u16,
        cols: u16,
        reading: Reading,
    ) -> Result<Self> {
        let home = tempfile::tempdir()?;
        let size = (rows, cols);
        let mut tui = Self::start(label, program, args, &[], home.path(), size, reading)?;
        tui._home = Some(home);
        Ok(tui)
    }

    fn start(
        label: &str,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        home: &std::path::Path,
        (rows, cols): (u16, u16),
        reading: Reading,
    ) -> Result<Self> {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|err| Error(format!("cannot open a pty: {err:#}")))?;
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("TZ", "UTC");
        cmd.env("LANG", "C.UTF-8");
        cmd.env("HOME", home);
        cmd.env("USER", "tester");
        cmd.env("RUST_BACKTRACE", "1");
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.cwd(home);
        let child = pty
            .slave
            .spawn_command(cmd)
            .map_err(|err| Error(format!("cannot start {program} {args:?}: {err:#}")))?;
        // Only the child keeps the terminal's other end open, so reading
        // ends when it exits.
        drop(pty.slave);
        let pid = child
            .process_id()
            .ok_or_else(|| Error("the child has no pid".to_owned()))?;
        let mut reader = pty
            .master
            .try_clone_reader()
            .map_err(|err| Error(format!("cannot read the pty: {err:#}")))?;
        let writer = pty
            .master
            .take_writer()
            .map_err(|err| Error(format!("cannot write the pty: {err:#}")))?;
        let shared = Arc::new(Shared {
            output: Mutex::new(Output {
                live: reading == Reading::Live,
                parser: vt100::Parser::new_with_callbacks(rows, cols, 0, SideEffects::default()),
                frame: vt100::Parser::new(rows, cols, 0).screen().clone(),
                frames: 0,
                raw: Vec::new(),
                parsed: 0,
                scan_from: 0,
                bytes: 0,
                probe: None,
                hit: None,
                eof: false,
            }),
            changed: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let reader = std::thread::Builder::new()
            .name(format!("pty-reader-{label}"))
            .spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break, // EIO once the child is gone
                        Ok(n) => {
                            let arrived = Instant::now();
                            let changed = thread_shared.lock().take(&buf[..n], arrived);
                            if changed {
                                thread_shared.changed.notify_all();
                            }
                        }
                    }
                }
                thread_shared.lock().finish();
                thread_shared.changed.notify_all();
            })?;
        Ok(Self {
            label: label.to_owned(),
            child: Mutex::new(child),
            pid,
            writer: Mutex::new(writer),
            master: Mutex::new(pty.master),
            shared,
            reader: Some(reader),
            status: None,
            _home: None,
        })
    }

    /// Starts `duplex host --bind 127.0.0.1 --port 0 --name NAME` and reads the
    /// port it got from the status bar. Returns the host and its port.
    pub fn host(name: &str, rows: u16, cols: u16) -> Result<(Self, u16)> {
        Self::host_with(name, &[], rows, cols)
    }

    /// Like [`Tui::host`], with `extra` arguments after the others (such as
    /// `--allow-plain` or `--secret CODE`).
    pub fn host_with(name: &str, extra: &[&str], rows: u16, cols: u16) -> Result<(Self, u16)> {
        Self::host_env(name, extra, &[], rows, cols)
    }

    /// Like [`Tui::host_with`], with `env` added to the environment.
    pub fn host_env(
        name: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        rows: u16,
        cols: u16,
    ) -> Result<(Self, u16)> {
        let mut args = vec!["host", "--bind", "127.0.0.1", "--port", "0", "--name", name];
        args.extend_from_slice(extra);
        let tui = Self::spawn_env(name, &args, env, rows, cols)?;
        let screen = tui.wait_for("the host to wait for a guest", |s| {
            let row = s.last_row();
            // With a code, the hint gives it in the environment first.
            row.contains("waiting for a guest · ") && row.contains("duplex join 127.0.0.1:")
        })?;
        let port = join_port(&screen.last_row())
            .ok_or_else(|| Error(format!("[{name}] no port in the status bar:\n{}", screen)))?;
        Ok((tui, port))
    }

    /// Starts `duplex join 127.0.0.1:PORT --name NAME` and waits until it shows
    /// it is connected to `host_name`.
    pub fn guest(name: &str, port: u16, host_name: &str, rows: u16, cols: u16) -> Result<Self> {
        Self::guest_with(name, port, host_name, &[], &[], rows, cols)
    }

    /// Like [`Tui::guest`], with `extra` arguments after the others and
    /// `env` added to the environment.
    pub fn guest_with(
        name: &str,
        port: u16,
        host_name: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        rows: u16,
        cols: u16,
    ) -> Result<Self> {
        let addr = format!("127.0.0.1:{port}");
        let mut args = vec!["join", &addr, "--name", name];
        args.extend_from_slice(extra);
        let tui = Self::spawn_env(name, &args, env, rows, cols)?;
        let expected = format!("● {host_name} (host, 127.0.0.1:{port}) · connected");
        tui.wait_for("the guest to connect", |s| s.last_row().contains(&expected))?;
        Ok(tui)
    }

    /// A label for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Bytes the program has written to the terminal so far.
    pub fn bytes(&self) -> u64 {
        self.shared.lock().bytes
    }

    /// Installs a probe (see [`Probe`]), replacing any earlier one.
    pub fn set_probe(&self, probe: Probe) {
        let mut output = self.shared.lock();
        output.probe = Some(probe);
        output.hit = None;
    }

    /// Waits up to `timeout` for the probe to return `true`, and returns
    /// when the chunk it returned `true` on arrived.
    pub fn wait_probe(&self, timeout: Duration) -> Result<Instant> {
        let deadline = Instant::now() + timeout;
        let mut output = self.shared.lock();
        loop {
            if let Some(hit) = output.hit.take() {
                return Ok(hit);
            }
            let now = Instant::now();
            if output.eof || now >= deadline {
                let why = if output.eof {
                    "the program's output ended first".to_owned()
                } else {
                    format!("timed out after {timeout:?}")
                };
                return Err(Error(format!(
                    "[{}] waiting for the probe: {why}. The screen:\n{}",
                    self.label,
                    output.current().contents()
                )));
            }
            output = self
                .shared
                .changed
                .wait_timeout(output, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Writes bytes to the terminal, as if typed.
    pub fn send_bytes(&self, bytes: &[u8]) -> Result {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer.write_all(bytes)?;
        writer.flush()?;
        Ok(())
    }

    /// Types text (which may hold escape sequences such as [`PG_UP`]).
    pub fn send_keys(&self, keys: &str) -> Result {
        self.send_bytes(keys.as_bytes())
    }

    /// Types a line and Enter.
    pub fn send_line(&self, line: &str) -> Result {
        self.send_keys(&format!("{line}{ENTER}"))
    }

    /// Pastes text with bracketed paste.
    pub fn paste(&self, text: &str) -> Result {
        self.send_keys(&format!("{PASTE_START}{text}{PASTE_END}"))
    }

    /// Presses Enter.
    pub fn enter(&self) -> Result {
        self.send_keys(ENTER)
    }

    /// Presses Page Up.
    pub fn pg_up(&self) -> Result {
        self.send_keys(PG_UP)
    }

    /// Presses Page Down.
    pub fn pg_dn(&self) -> Result {
        self.send_keys(PG_DN)
    }

    /// Presses Ctrl-Home.
    pub fn ctrl_home(&self) -> Result {
        self.send_keys(CTRL_HOME)
    }

    /// Presses Ctrl-End.
    pub fn ctrl_end(&self) -> Result {
        self.send_keys(CTRL_END)
    }

    /// Presses Ctrl-C.
    pub fn ctrl_c(&self) -> Result {
        self.send_keys(CTRL_C)
    }

    /// Sends a signal to the process.
    #[allow(unsafe_code)]
    pub fn signal(&self, signal: i32) -> Result {
        let pid = libc::pid_t::try_from(self.pid)
            .map_err(|_| Error(format!("pid {} out of range", self.pid)))?;
        // SAFETY: kill(2) has no memory-safety preconditions; the pid is our
        // own child, which we have not reaped yet.
        if unsafe { libc::kill(pid, signal) } != 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        Ok(())
    }

    /// The last complete frame (after the program has exited: the final screen).
    pub fn screen(&self) -> Screen {
        Screen {
            screen: self.shared.lock().current().clone(),
        }
    }

    /// Everything the program wrote to the terminal so far (nothing when
    /// reading [`Reading::Live`]).
    pub fn raw(&self) -> Vec<u8> {
        self.shared.lock().raw.clone()
    }

    /// What the program asked of the terminal besides drawing, so far.
    pub fn side_effects(&self) -> SideEffects {
        self.shared.lock().parser.callbacks().clone()
    }

    /// Waits (up to [`TIMEOUT`]) for a frame that satisfies `cond`, and returns it.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&Screen) -> bool) -> Result<Screen> {
        self.wait_for_within(what, TIMEOUT, cond)
    }

    /// Waits up to `timeout` for a frame that satisfies `cond`, and returns
    /// it. Fails with the whole screen once the time is up, or as soon as
    /// the program's output has ended without the condition holding.
    pub fn wait_for_within(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&Screen) -> bool,
    ) -> Result<Screen> {
        let deadline = Instant::now() + timeout;
        let mut output = self.shared.lock();
        loop {
            let screen = Screen {
                screen: output.current().clone(),
            };
            if cond(&screen) {
                return Ok(screen);
            }
            let now = Instant::now();
            if output.eof || now >= deadline {
                let why = if output.eof {
                    "the program's output ended first".to_owned()
                } else {
                    format!("timed out after {timeout:?}")
                };
                return Err(Error(format!(
                    "[{}] waiting for {what}: {why} ({} frames drawn). The screen:\n{screen}",
                    self.label, output.frames
                )));
            }
            output = self
                .shared
                .changed
                .wait_timeout(output, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Waits up to `timeout` for the process to exit, then for the rest of
    /// its output, and returns its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        if let Some(status) = &self.status {
            return Ok(status.clone());
        }
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self
                .child
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .try_wait()?
            {
                break status;
            }
            if Instant::now() >= deadline {
                return Err(Error(format!(
                    "[{}] still running after {timeout:?}. The screen:\n{}",
                    self.label,
                    self.screen()
                )));
            }
            // Nothing tells us when a child exits but polling; this only
            // sets how soon we notice.
            std::thread::sleep(Duration::from_millis(10));
        };
        self.status = Some(status.clone());
        // The rest of the output: the reader sees the end once the child's
        // side of the terminal is closed.
        let mut output = self.shared.lock();
        while !output.eof {
            let now = Instant::now();
            let left = deadline.max(now + Duration::from_secs(5)) - now;
            let (next, waited) = self
                .shared
                .changed
                .wait_timeout(output, left)
                .unwrap_or_else(|p| p.into_inner());
            output = next;
            if waited.timed_out() && !output.eof {
                return Err(Error(format!(
                    "[{}] exited ({status}) but its output never ended",
                    self.label
                )));
            }
        }
        drop(output);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        Ok(status)
    }

    /// Whether the process is still running.
    pub fn is_running(&self) -> Result<bool> {
        if self.status.is_some() {
            return Ok(false);
        }
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        Ok(child.try_wait()?.is_none())
    }

    /// Waits for the exit with the default timeout and checks the status code.
    pub fn expect_exit(&mut self, code: u32) -> Result<ExitStatus> {
        let status = self.wait_exit(TIMEOUT)?;
        if status.signal().is_some() || status.exit_code() != code {
            return Err(Error(format!(
                "[{}] expected exit status {code}, got {status:?}. The screen:\n{}",
                self.label,
                self.screen()
            )));
        }
        Ok(status)
    }

    /// After the exit: checks the terminal was put back (left the alternate
    /// screen and turned mouse reporting off, after the last time they were
    /// turned on, and the emulator is on the main screen).
    pub fn assert_restored(&self) {
        let raw = self.raw();
        let label = &self.label;
        let entered = rfind(&raw, ENTER_ALT_SCREEN);
        assert!(
            entered.is_some(),
            "[{label}] never entered the alternate screen"
        );
        let left = rfind(&raw, LEAVE_ALT_SCREEN);
        assert!(
            left > entered,
            "[{label}] did not leave the alternate screen after entering it"
        );
        let mouse_off = rfind(&raw, MOUSE_OFF);
        assert!(
            mouse_off.is_some() && mouse_off > rfind(&raw, MOUSE_ON),
            "[{label}] mouse reporting was left on"
        );
        let sgr_off = rfind(&raw, MOUSE_SGR_OFF);
        assert!(
            sgr_off.is_some() && sgr_off > rfind(&raw, MOUSE_SGR_ON),
            "[{label}] SGR mouse encoding was left on"
        );
        for motion in MOUSE_MOTION {
            assert!(
                rfind(&raw, motion).is_none(),
                "[{label}] asked the terminal to report pointer motion"
            );
        }
        let screen = self.screen();
        assert!(
            !screen.alternate_screen(),
            "[{label}] the terminal is still on the alternate screen:\n{screen}"
        );
    }
}

/// The last index of `needle` in `haystack`.
pub fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .rposition(|window| window == needle)
}

/// The port of the first `duplex join ADDR:PORT` hint in a status bar.
pub fn join_port(status: &str) -> Option<u16> {
    let after = status.split("duplex join ").nth(1)?;
    let addr = after.split_whitespace().next()?;
    addr.rsplit(':').next()?.parse().ok()
}

impl Drop for Tui {
    fn drop(&mut self) {
        // Still running (the test failed, or never waited for the exit):
        // kill it and reap it, so nothing outlives the test.
        if self.status.is_none() {
            let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
            if let Ok(None) = child.try_wait()
                && let Ok(pid) = libc::pid_t::try_from(self.pid)
            {
                // SAFETY: kill(2) has no memory-safety preconditions; the
                // pid is our unreaped child.
                #[allow(unsafe_code)]
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            let _ = child.wait();
        }
        // Dropping the writer writes an end-of-file to the terminal; never
        // let that block on a full input queue nobody reads any more.
        let master = self.master.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(fd) = master.as_raw_fd() {
            // SAFETY: fcntl on a descriptor we own, with flags we just read.
            #[allow(unsafe_code)]
            unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFL);
                if flags >= 0 {
                    libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
                }
            }
        }
    }
}
