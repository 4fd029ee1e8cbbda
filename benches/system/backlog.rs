//! The backlog drain: a receiver that was stopped while its peer was fed
//! 10,000 lines, then resumed. duplex: the host is stopped (SIGSTOP), the
//! lines are piped into the guest, and once the guest has read all its input
//! and a pause has passed (2 s by default) the host is resumed (SIGCONT);
//! timed from SIGCONT until the host has printed every message. Each must
//! arrive once, in order. The baseline does the same through a socat pair,
//! the receiving socat stopped and resumed alike.
//!
//! A drain that does not finish within the limit is reported as such ("did
//! not drain (N of 10000 after T s)"), never waited on: the processes are
//! killed, which ends every blocked read and write.

use std::io::{BufRead, Write};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Result, Watchdog, ms};
use crate::{Counts, Pair, Report, Row, SOCAT_SKIPPED, duplex_pair, rate, ratio, socat_pair};

/// Line `i` of the backlog: 32 bytes.
fn line(i: usize) -> String {
    format!("backlog {i:06} abcdefghijklmnopq")
}

/// The number of a backlog line found anywhere in `text` (a JSON message
/// of duplex or a raw line of socat).
fn index(text: &str) -> Option<usize> {
    let at = text.find("backlog ")?;
    text.get(at + 8..at + 14)?.parse().ok()
}

/// Sends `signal` to `pid`, one of our children not yet reaped.
#[allow(unsafe_code)]
fn signal(pid: u32, signal: i32) -> Result {
    let pid = i32::try_from(pid).map_err(|e| e.to_string())?;
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own
    // child, not yet reaped (its `Piped` is alive), so it is not reused.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(format!(
            "kill({pid}, {signal}): {}",
            std::io::Error::last_os_error()
        ))
    }
}

/// The state letter of /proc/PID/stat (`T` when stopped).
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Bytes waiting in a pipe (FIONREAD): how much of its input a process
/// has not read yet.
#[allow(unsafe_code)]
fn unread(fd: i32) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int to the pointer, which is valid; `fd`
    // is the open write end of a child's stdin pipe, held by the caller.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    (rc == 0).then(|| usize::try_from(n).unwrap_or(0))
}

/// A line of output for the notes: without its newline, at most 160 chars.
fn clip(text: &str) -> String {
    let text = text.trim_end();
    match text.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Kills the processes when dropped, so that on every way out of the
/// measurement (a panic too) the threads blocked on their pipes end, and
/// the scope joining them does not wait for the watchdog.
struct KillOnDrop(Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let _ = signal(pid, libc::SIGKILL);
        }
    }
}

/// What one drain did.
struct Drain {
    /// The backlog lines' numbers, in the order they came out.
    arrived: Vec<usize>,
    /// From SIGCONT to the last line (or to giving up).
    elapsed: Duration,
    /// Whether all `n` came out before the limit.
    drained: bool,
    /// How long the sender took to read all its input (None: it had not
    /// when the receiver was resumed).
    input_read: Option<Duration>,
    /// Other lines of the receiver and the sender, and how the reading
    /// ended, for the notes.
    other: Vec<String>,
}

impl Drain {
    /// "all 10000 once each, in order", or what was wrong.
    fn verdict(&self, n: usize) -> (bool, String) {
        if self.arrived.len() == n && self.arrived.iter().copied().eq(0..n) {
            return (true, format!("all {n} once each, in order"));
        }
        let mut seen = vec![0u32; n];
        let mut foreign = 0;
        for &i in &self.arrived {
            match seen.get_mut(i) {
                Some(count) => *count += 1,
                None => foreign += 1,
            }
        }
        let missing = seen.iter().filter(|&&c| c == 0).count();
        let twice = seen.iter().filter(|&&c| c > 1).count();
        let ordered = self.arrived.windows(2).all(|w| w[0] < w[1]);
        (
            false,
            format!(
                "{} lines out: {missing} of {n} missing{}, {twice} more than once, {}{}",
                self.arrived.len(),
                seen.iter()
                    .position(|&c| c == 0)
                    .map_or_else(String::new, |i| format!(" (first: #{i})")),
                if ordered { "in order" } else { "OUT OF ORDER" },
                if foreign > 0 {
                    format!(", {foreign} unknown")
                } else {
                    String::new()
                }
            ),
        )
    }
}

/// Stops `pair.a`, pipes `n` lines into `pair.b`, waits until `b` has read
/// them all (at most `input_wait`) and then `pause`, resumes `a`, and times
/// until `a` has written all `n` (at most `limit`). Ends both processes.
fn drain(
    pair: &mut Pair,
    n: usize,
    pause: Duration,
    input_wait: Duration,
    limit: Duration,
) -> Result<Drain> {
    let (receiver, sender) = (pair.a.pid(), pair.b.pid());
    signal(receiver, libc::SIGSTOP)?;
    let stopping = Instant::now();
    while state(receiver) != Some('T') {
        if stopping.elapsed() > Duration::from_secs(5) {
            return Err(format!("{} did not stop", pair.a.label));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let stdin = pair
        .b
        .stdin
        .as_mut()
        .ok_or("the sender's stdin is closed")?;
    let fd = stdin.get_ref().as_raw_fd();
    let out_a = pair
        .a
        .stdout
        .as_mut()
        .ok_or("the receiver's stdout is drained")?;
    let out_b = pair
        .b
        .stdout
        .as_mut()
        .ok_or("the sender's stdout is drained")?;
    let count = Arc::new(AtomicUsize::new(0));
    let written = Arc::new(AtomicUsize::new(0));

    std::thread::scope(|scope| {
        let _kill = KillOnDrop(vec![receiver, sender]);
        // The receiver's output: backlog lines in order of arrival, and
        // the moment the n-th came.
        let seen = count.clone();
        let receiving = scope.spawn(move || {
            let (mut arrived, mut other) = (Vec::with_capacity(n), Vec::new());
            let mut text = String::new();
            let ended = loop {
                text.clear();
                match out_a.read_line(&mut text) {
                    Ok(0) => break Some("the receiver's output ended".to_owned()),
                    Ok(_) => match index(&text) {
                        Some(i) => {
                            arrived.push(i);
                            seen.store(arrived.len(), Ordering::Release);
                            if arrived.len() >= n {
                                break None;
                            }
                        }
                        None if other.len() < 10 => {
                            other.push(format!("receiver: {}", clip(&text)))
                        }
                        None => {}
                    },
                    Err(err) => break Some(format!("receiver: {err}")),
                }
            };
            (arrived, Instant::now(), ended, other)
        });
        // The sender's output (events only: socat prints nothing), kept for
        // the notes but for the notes on its own messages' progress.
        let sending_out = scope.spawn(move || {
            let mut other = Vec::new();
            let mut text = String::new();
            while out_b.read_line(&mut text).is_ok_and(|len| len > 0) {
                let progress = ["\"event\":\"sent\"", "\"event\":\"delivery\""]
                    .iter()
                    .any(|event| text.contains(event));
                if other.len() < 10 && !progress {
                    other.push(format!("sender: {}", clip(&text)));
                }
                text.clear();
            }
            other
        });
        // The input, all at once; stdin stays open (EOF makes duplex leave).
        let progress = written.clone();
        let writing = scope.spawn(move || -> std::io::Result<()> {
            for i in 0..n {
                writeln!(stdin, "{}", line(i))?;
                progress.store(i + 1, Ordering::Release);
            }
            stdin.flush()
        });

        let start = Instant::now();
        let input_read = loop {
            if writing.is_finished() && unread(fd) == Some(0) {
                break Some(start.elapsed());
            }
            if start.elapsed() > input_wait {
                break None;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        std::thread::sleep(pause);
        let resumed = Instant::now();
        signal(receiver, libc::SIGCONT)?;
        while count.load(Ordering::Acquire) < n
            && !receiving.is_finished()
            && resumed.elapsed() < limit
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        let waited = resumed.elapsed();
        // Whether the receiver's output ended by itself (else it is ended
        // next, which says nothing about it).
        let ended_early = receiving.is_finished();
        // Ends the processes: every thread's read or write returns.
        drop(_kill);
        let (arrived, last, ended, mut other) = receiving
            .join()
            .map_err(|_| "the receiving thread panicked")?;
        other.extend(
            sending_out
                .join()
                .map_err(|_| "the sender's reader panicked")?,
        );
        if let Ok(Err(err)) = writing.join() {
            other.push(format!(
                "input: {} of {n} lines written, then {err}",
                written.load(Ordering::Acquire)
            ));
        }
        let drained = arrived.len() >= n;
        if let (false, true, Some(ended)) = (drained, ended_early, ended) {
            other.push(ended);
        }
        Ok(Drain {
            elapsed: if drained {
                last.saturating_duration_since(resumed)
            } else {
                waited
            },
            arrived,
            drained,
            input_read,
            other,
        })
    })
}

/// "1.23 s (8123 msg/s)" or "did not drain (N of 10000 after T s)".
fn outcome(drain: &Drain, n: usize) -> String {
    if drain.drained {
        format!(
            "{} ({:.0} msg/s)",
            ms(drain.elapsed),
            rate(n, drain.elapsed)
        )
    } else {
        format!(
            "did not drain ({} of {n} after {:.1} s)",
            drain.arrived.len(),
            drain.elapsed.as_secs_f64()
        )
    }
}

pub fn backlog(counts: &Counts, report: &mut Report) -> Result {
    let n = counts.backlog;
    let (pause, limit) = (counts.backlog_pause, counts.backlog_limit);
    let input_wait = Duration::from_secs(10);
    let watchdog = Arc::new(Watchdog::new(
        "backlog",
        (input_wait + pause + limit) * 2 + Duration::from_secs(120),
    ));

    let mut duplex = duplex_pair(&watchdog)?;
    let d = drain(&mut duplex, n, pause, input_wait, limit)?;
    drop(duplex);
    let s = match &counts.socat {
        Some(program) => {
            let mut pair = socat_pair(&watchdog, program)?;
            let drain = drain(&mut pair, n, pause, input_wait, limit)?;
            Some(drain)
        }
        None => None,
    };

    let (_, d_verdict) = d.verdict(n);
    let socat_cell = match &s {
        Some(s) => {
            let (ok, verdict) = s.verdict(n);
            format!(
                "{} socat pair{}",
                outcome(s, n),
                if ok {
                    String::new()
                } else {
                    format!(": {verdict}")
                }
            )
        }
        None => format!("socat pair: {SOCAT_SKIPPED}"),
    };
    let both = d.drained && s.as_ref().is_some_and(|s| s.drained);
    report.rows.push(Row::new(
        &format!(
            "f. backlog drain, {n} × 32 B (receiver stopped, input read, {} s), SIGCONT to last out",
            pause.as_secs_f64()
        ),
        format!("{}, {d_verdict}", outcome(&d, n)),
        socat_cell,
        match (&s, both) {
            (Some(s), true) => ratio(rate(n, d.elapsed), rate(n, s.elapsed)),
            _ => "–".into(),
        },
        "all, once each, in order; report",
    ));
    let input = |drain: &Drain| match drain.input_read {
        Some(t) => format!("read all its input in {}", ms(t)),
        None => format!(
            "had not read all its input after {} s",
            input_wait.as_secs()
        ),
    };
    report.note(format!(
        "f. backlog: ratio is msg/s (duplex ÷ socat); the duplex guest {}{}; socat {}",
        input(&d),
        if d.other.is_empty() {
            String::new()
        } else {
            format!(" (other output: {})", d.other.join(" | "))
        },
        match &s {
            Some(s) => format!(
                "{}{}",
                input(s),
                if s.other.is_empty() {
                    String::new()
                } else {
                    format!(" (other output: {})", s.other.join(" | "))
                }
            ),
            None => SOCAT_SKIPPED.to_owned(),
        }
    ));
    Ok(())
}
