//! A program in a pseudo-terminal, as in tests/common/mod.rs (portable-pty
//! and a vt100 parser on a reader thread), but lean enough for a flood of
//! output: nothing but the parsed screen is kept, and instead of frames a
//! *probe* runs on the reader thread after every chunk read, so the moment
//! something appears is timed where the bytes arrive, not when a waiting
//! thread gets to look.

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use crate::support::{Result, Watchdog};

/// Runs on the reader thread after each chunk with the screen so far;
/// returning `true` records the chunk's arrival time and removes the probe.
pub type Probe = Box<dyn FnMut(&vt100::Screen) -> bool + Send>;

struct State {
    parser: vt100::Parser,
    eof: bool,
    bytes: u64,
    probe: Option<Probe>,
    hit: Option<Instant>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A program running in a pseudo-terminal; killed when dropped.
pub struct Pty {
    pub label: String,
    child: Box<dyn Child + Send + Sync>,
    pid: u32,
    writer: Box<dyn Write + Send>,
    master: Box<dyn MasterPty + Send>,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    watchdog: Arc<Watchdog>,
    _home: tempfile::TempDir,
}

impl Pty {
    /// Starts `program args` in a `rows` × `cols` terminal (TERM=xterm-256color,
    /// TZ=UTC, a fresh HOME), watched by `watchdog`.
    pub fn spawn(
        watchdog: &Arc<Watchdog>,
        label: &str,
        program: &str,
        args: &[&str],
        rows: u16,
        cols: u16,
    ) -> Result<Self> {
        let home = tempfile::tempdir().map_err(|e| e.to_string())?;
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|err| format!("cannot open a pty: {err:#}"))?;
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("TZ", "UTC");
        cmd.env("LANG", "C.UTF-8");
        cmd.env("HOME", home.path());
        cmd.env("USER", "bench");
        cmd.cwd(home.path());
        let child = pty
            .slave
            .spawn_command(cmd)
            .map_err(|err| format!("cannot start {label}: {err:#}"))?;
        drop(pty.slave);
        let pid = child.process_id().ok_or("the child has no pid")?;
        watchdog.register(pid);
        let mut reader = pty
            .master
            .try_clone_reader()
            .map_err(|err| format!("cannot read the pty: {err:#}"))?;
        let writer = pty
            .master
            .take_writer()
            .map_err(|err| format!("cannot write the pty: {err:#}"))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                parser: vt100::Parser::new(rows, cols, 0),
                eof: false,
                bytes: 0,
                probe: None,
                hit: None,
            }),
            changed: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let reader = std::thread::Builder::new()
            .name(format!("pty-{label}"))
            .spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let now = Instant::now();
                            let mut state = thread_shared.lock();
                            state.parser.process(&buf[..n]);
                            state.bytes += n as u64;
                            let State { parser, probe, .. } = &mut *state;
                            if let Some(probe) = probe.as_mut()
                                && probe(parser.screen())
                            {
                                state.probe = None;
                                state.hit = Some(now);
                            }
                            drop(state);
                            thread_shared.changed.notify_all();
                        }
                    }
                }
                thread_shared.lock().eof = true;
                thread_shared.changed.notify_all();
            })
            .map_err(|e| e.to_string())?;
        Ok(Self {
            label: label.to_owned(),
            child,
            pid,
            writer,
            master: pty.master,
            shared,
            reader: Some(reader),
            watchdog: watchdog.clone(),
            _home: home,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Bytes the program has written to the terminal so far.
    pub fn bytes(&self) -> u64 {
        self.shared.lock().bytes
    }

    /// Types `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> Result {
        self.writer
            .write_all(bytes)
            .and_then(|()| self.writer.flush())
            .map_err(|err| format!("[{}] write: {err}", self.label))
    }

    /// Waits up to `timeout` until the screen's text satisfies `cond`; returns it.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            let text = state.parser.screen().contents();
            if cond(&text) {
                return Ok(text);
            }
            let now = Instant::now();
            if state.eof || now >= deadline {
                return Err(format!(
                    "[{}] waiting for {what}: {}. The screen:\n{text}",
                    self.label,
                    if state.eof {
                        "output ended"
                    } else {
                        "timed out"
                    }
                ));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Installs a probe (see [`Probe`]), replacing any earlier one.
    pub fn set_probe(&self, probe: Probe) {
        let mut state = self.shared.lock();
        state.probe = Some(probe);
        state.hit = None;
    }

    /// Waits up to `timeout` for the probe to fire; returns when its chunk
    /// arrived.
    pub fn wait_probe(&self, timeout: Duration) -> Result<Instant> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(hit) = state.hit.take() {
                return Ok(hit);
            }
            let now = Instant::now();
            if state.eof || now >= deadline {
                return Err(format!(
                    "[{}] probe: {}. The screen:\n{}",
                    self.label,
                    if state.eof {
                        "output ended"
                    } else {
                        "timed out"
                    },
                    state.parser.screen().contents()
                ));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        self.watchdog.unregister(self.pid);
        let _ = self.child.wait();
        // Never let dropping the writer block on a full input queue.
        if let Some(fd) = self.master.as_raw_fd() {
            // SAFETY: fcntl on a descriptor we own, with flags we just read.
            #[allow(unsafe_code)]
            unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFL);
                if flags >= 0 {
                    libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
                }
            }
        }
        // The reader thread ends by itself once the child's side is closed.
        drop(self.reader.take());
    }
}
