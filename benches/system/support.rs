//! What the measurements share: a watchdog that bounds every measurement in
//! time, child processes with piped standard streams, percentiles, and
//! readings from /proc.

use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a measurement returns when something went wrong.
pub type Result<T = ()> = std::result::Result<T, String>;

/// Turns any error into a message with some context.
pub fn ctx<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> String {
    move |err| format!("{what}: {err}")
}

/// Kills every process registered with it once its time is up, so a hung
/// program can never hold up the benchmark: blocked reads then see the end
/// of their pipes. Dropping it (or `disarm`) ends it without killing.
pub struct Watchdog {
    shared: Arc<(Mutex<WatchState>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct WatchState {
    done: bool,
    fired: bool,
    pids: Vec<i32>,
}

impl Watchdog {
    /// Arms a watchdog for `what` that fires after `limit`.
    pub fn new(what: &str, limit: Duration) -> Self {
        let shared = Arc::new((Mutex::new(WatchState::default()), Condvar::new()));
        let thread_shared = shared.clone();
        let what = what.to_owned();
        let thread = std::thread::spawn(move || {
            let (lock, cond) = &*thread_shared;
            let deadline = Instant::now() + limit;
            let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
            while !state.done {
                let now = Instant::now();
                if now >= deadline {
                    eprintln!(
                        "watchdog: {what} took longer than {limit:?}; killing {:?}",
                        state.pids
                    );
                    state.fired = true;
                    for &pid in &state.pids {
                        // SAFETY: kill(2) has no memory-safety preconditions;
                        // the pids are our own unreaped children.
                        #[allow(unsafe_code)]
                        unsafe {
                            libc::kill(pid, libc::SIGKILL);
                        }
                    }
                    return;
                }
                state = cond
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        });
        Self {
            shared,
            thread: Some(thread),
        }
    }

    /// Kills `pid` too when the time is up.
    pub fn register(&self, pid: u32) {
        if let Ok(pid) = i32::try_from(pid) {
            self.lock().pids.push(pid);
        }
    }

    /// Forgets `pid` (before it is reaped, so a reused pid is never killed).
    pub fn unregister(&self, pid: u32) {
        if let Ok(pid) = i32::try_from(pid) {
            self.lock().pids.retain(|&p| p != pid);
        }
    }

    /// Whether the time ran out.
    pub fn fired(&self) -> bool {
        self.lock().fired
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        self.shared.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.lock().done = true;
        self.shared.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A child process with piped stdin and stdout (stderr is discarded), killed
/// when dropped.
pub struct Piped {
    pub label: String,
    child: Child,
    pub stdin: Option<BufWriter<ChildStdin>>,
    /// `None` once handed to a thread that drains it (see [`Piped::drain_stdout`]).
    pub stdout: Option<BufReader<ChildStdout>>,
    watchdog: Arc<Watchdog>,
    line: String,
    /// Its own state directory: journals of processes the bench ends
    /// (`duplex join` keeps one while connected) do not pile up in ~/.local.
    _state: tempfile::TempDir,
}

impl Piped {
    /// Starts `program args`, watched by `watchdog`.
    pub fn spawn(
        watchdog: &Arc<Watchdog>,
        label: &str,
        program: &str,
        args: &[&str],
    ) -> Result<Self> {
        let state = tempfile::tempdir().map_err(|err| format!("no temporary directory: {err}"))?;
        let mut child = Command::new(program)
            .args(args)
            .env_remove("RUST_LOG")
            .env("XDG_STATE_HOME", state.path())
            .env("TZ", "UTC")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| format!("cannot start {label} ({program} {args:?}): {err}"))?;
        watchdog.register(child.id());
        let stdin = child
            .stdin
            .take()
            .map(|s| BufWriter::with_capacity(1 << 16, s));
        let stdout = BufReader::with_capacity(1 << 16, child.stdout.take().ok_or("no stdout")?);
        Ok(Self {
            label: label.to_owned(),
            child,
            stdin,
            stdout: Some(stdout),
            watchdog: watchdog.clone(),
            line: String::new(),
            _state: state,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (its pipes then close).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Writes one line to stdin and flushes it.
    pub fn write_line(&mut self, line: &str) -> Result {
        let stdin = self.stdin.as_mut().ok_or("stdin is closed")?;
        let io = (|| -> io::Result<()> {
            stdin.write_all(line.as_bytes())?;
            stdin.write_all(b"\n")?;
            stdin.flush()
        })();
        io.map_err(|err| format!("[{}] write: {err}", self.label))
    }

    /// Reads and drops everything the process writes to stdout from now
    /// on, on a thread: for a sender whose own `--json` events (`sent`,
    /// `delivery`) nobody reads, which would otherwise fill the pipe and
    /// stop it, as any program stops when its output is not read.
    pub fn drain_stdout(&mut self) {
        if let Some(mut stdout) = self.stdout.take() {
            std::thread::spawn(move || {
                let mut sink = Vec::with_capacity(1 << 16);
                while stdout.read_until(b'\n', &mut sink).is_ok_and(|n| n > 0) {
                    sink.clear();
                }
            });
        }
    }

    /// Reads the next stdout line (without its newline); an error at the end.
    pub fn read_line(&mut self) -> Result<&str> {
        self.line.clear();
        let Some(stdout) = self.stdout.as_mut() else {
            return Err(format!("[{}] stdout is drained", self.label));
        };
        match stdout.read_line(&mut self.line) {
            Ok(0) => Err(format!(
                "[{}] stdout ended{}",
                self.label,
                if self.watchdog.fired() {
                    " (killed by the watchdog)"
                } else {
                    ""
                }
            )),
            Ok(_) => Ok(self.line.trim_end_matches('\n')),
            Err(err) => Err(format!("[{}] read: {err}", self.label)),
        }
    }

    /// Reads stdout lines until one satisfies `want`, and returns it.
    pub fn read_until(&mut self, want: impl Fn(&str) -> bool) -> Result<String> {
        loop {
            let line = self.read_line()?;
            if want(line) {
                return Ok(line.to_owned());
            }
        }
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        self.watchdog.unregister(self.child.id());
        let _ = self.child.wait();
    }
}

/// Durations in order, for percentiles.
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        Self(samples)
    }

    /// The `p`-th percentile (0 < p ≤ 100), nearest rank.
    pub fn pct(&self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Microseconds, for tables.
pub fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// Milliseconds, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// CPU time (user + system, all threads) a process has used so far.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(ctx("/proc/PID/stat"))?;
    // The command name may hold spaces: fields are counted after its `)`.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("bad stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    let ticks: u64 = fields
        .get(11..13)
        .ok_or("short stat")?
        .iter()
        .map(|f| f.parse::<u64>().unwrap_or(0))
        .sum();
    // SAFETY: sysconf has no memory-safety preconditions.
    #[allow(unsafe_code)]
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(Duration::from_secs_f64(ticks as f64 / hz))
}

/// CPU time of all threads with nanosecond resolution, from each thread's
/// schedstat (time on the CPU); finer than the clock ticks of `cpu_time`.
pub fn sched_time(pid: u32) -> Result<Duration> {
    let mut total = 0u64;
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(ctx("/proc/PID/task"))?;
    for task in dir.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += text
                .split_whitespace()
                .next()
                .and_then(|ns| ns.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(Duration::from_nanos(total))
}

/// Context switches (voluntary and not) of all threads so far: each is a
/// thread going to sleep or being woken, the main cost of a hop between
/// threads.
pub fn context_switches(pid: u32) -> Result<u64> {
    let mut total = 0u64;
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(ctx("/proc/PID/task"))?;
    for task in dir.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("status")) {
            total += text
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    Ok(total)
}

/// A field of /proc/PID/status in kB, such as `VmRSS` or `VmHWM`.
pub fn status_kb(pid: u32, field: &str) -> Result<u64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(ctx("/proc/PID/status"))?;
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .ok_or_else(|| format!("no {field} in /proc/{pid}/status (has it exited?)"))
}

/// Mebibytes from kB, for tables.
pub fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// The load averages of /proc/loadavg (1, 5, 15 minutes).
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
