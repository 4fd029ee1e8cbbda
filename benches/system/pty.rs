//! A program in a pseudo-terminal: the tests' own harness
//! (`tests/it/common/pty.rs`), reading the screen live (every chunk, not
//! ratatui frames, and no copy of every byte: the flood is large), with its
//! process watched by a [`Watchdog`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{Result, Watchdog};

#[allow(dead_code)] // the benches use a part of the test harness
#[path = "../../tests/it/common/pty.rs"]
mod harness;

pub use harness::Probe;
use harness::{Reading, Tui};

/// A program running in a pseudo-terminal; killed and reaped when dropped.
pub struct Pty {
    tui: Tui,
    watchdog: Arc<Watchdog>,
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
        let tui = Tui::spawn_program(label, program, args, rows, cols, Reading::Live)?;
        watchdog.register(tui.pid());
        Ok(Self {
            tui,
            watchdog: watchdog.clone(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.tui.pid()
    }

    /// Bytes the program has written to the terminal so far.
    pub fn bytes(&self) -> u64 {
        self.tui.bytes()
    }

    /// Types `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> Result {
        Ok(self.tui.send_bytes(bytes)?)
    }

    /// Waits up to `timeout` until the screen's text satisfies `cond`; returns it.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let screen = self
            .tui
            .wait_for_within(what, timeout, |s| cond(&s.vt().contents()))?;
        Ok(screen.vt().contents())
    }

    /// Installs a probe (see [`Probe`]), replacing any earlier one.
    pub fn set_probe(&self, probe: Probe) {
        self.tui.set_probe(probe);
    }

    /// Waits up to `timeout` for the probe to fire; returns when its chunk
    /// arrived.
    pub fn wait_probe(&self, timeout: Duration) -> Result<Instant> {
        Ok(self.tui.wait_probe(timeout)?)
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // The harness kills and reaps the process right after this: from
        // now on the watchdog must not signal a pid that may be reused.
        self.watchdog.unregister(self.tui.pid());
    }
}
