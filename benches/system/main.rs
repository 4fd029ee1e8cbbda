//! Issue #5: end-to-end measurements of the release build, each compared in
//! the same run with a baseline, printed as a Markdown table.
//!
//! `bench/run.sh` runs it; by hand: `cargo bench --bench system -- [NAME...]
//! [OPTIONS]` (`-- --help` lists them) with NAME among
//! `rtt throughput backlog latency idle memory startup` (all by default).
//!
//! Everything talks over 127.0.0.1 only; every measurement is bounded in
//! count and in time (a watchdog kills its processes when its time is up).
//! The binary also serves as the baseline's tiny relay (`system relay ...`,
//! see `relay.rs`). The socat baselines need `socat` on PATH; without it
//! they are skipped (marked so in the table), the rest still runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod backlog;
mod pty;
mod relay;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pty::Pty;
use support::{
    Piped, Result, Samples, Watchdog, context_switches, cpu_time, loadavg, mib, ms, sched_time,
    status_kb, us,
};

/// The release build of duplex (cargo builds it for the bench).
const DUPLEX: &str = env!("CARGO_BIN_EXE_duplex");
/// Terminal size for the TUI measurements.
const ROWS: u16 = 40;
const COLS: u16 = 120;

/// What `-- --help` prints.
const USAGE: &str = "\
usage: cargo bench --bench system -- [NAME...] [OPTIONS]

NAME (all by default, in this order):
  rtt         round trip of a 32-byte message between two headless duplex
              processes; baselines: a socat pair (stdin <-> TCP <-> stdout),
              plain tokio relays, std relays, an in-process tokio echo
  throughput  one-way 32-byte messages; baselines: std relays, tokio relays,
              a socat pair, raw TCP writes
  backlog     10,000 lines piped into a guest while the host is stopped
              (SIGSTOP), then time from SIGCONT until the host printed them
              all (checked: each once, in order); baseline: a socat pair
              with the receiving socat stopped and resumed alike
  latency     Enter-to-screen between two TUIs in PTYs; baseline: relays in PTYs
  idle        idle CPU and RSS of the host TUI; baseline: a relay in a PTY
  memory      a flood of messages into the host TUI: time and RSS
  startup     start to `listening`; baselines: the relay, `true`

OPTIONS:
  --quick                 small counts, to check that it all works
  --criterion DIR         add the frame times of benches/render.rs from DIR
  --no-socat              skip the socat baselines (as when socat is missing)
  --backlog-lines N       lines in the backlog (default 10000)
  --backlog-pause SECS    how long the receiver stays stopped once the sender
                          has read all its input (default 2)
  --backlog-limit SECS    give up on a drain after this long (default 30,
                          10 with --quick): reported as \"did not drain\"
  -h, --help              this text
";

/// How many of everything; `--quick` divides most of them.
struct Counts {
    rtt: usize,
    rtt_warmup: usize,
    rounds: usize,
    throughput: usize,
    latency: usize,
    idle: Duration,
    flood: usize,
    startup: usize,
    /// The backlog's lines, pause while stopped, and drain time limit.
    backlog: usize,
    backlog_pause: Duration,
    backlog_limit: Duration,
    /// The socat program, if the socat baselines run.
    socat: Option<String>,
}

/// One row of the results table.
struct Row {
    what: String,
    duplex: String,
    baseline: String,
    ratio: String,
    goal: String,
}

impl Row {
    fn new(what: &str, duplex: String, baseline: String, ratio: String, goal: &str) -> Self {
        Self {
            what: what.to_owned(),
            duplex,
            baseline,
            ratio,
            goal: goal.to_owned(),
        }
    }
}

/// Where results go: the table, and notes printed under it.
#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        eprintln!("  {note}");
        self.notes.push(note);
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "–".to_owned()
    }
}

fn self_exe() -> Result<String> {
    std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| format!("current_exe: {e}"))
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("relay") {
        if let Err(err) = relay::main(&args[1..]) {
            eprintln!("relay: {err}");
            std::process::exit(1);
        }
        return;
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |name: &str| -> Option<f64> {
        let text = value(name)?;
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
            _ => {
                eprintln!("{name} {text}: not a number; see --help");
                std::process::exit(2);
            }
        }
    };
    let criterion = value("--criterion");
    let all = [
        "rtt",
        "throughput",
        "backlog",
        "latency",
        "idle",
        "memory",
        "startup",
    ];
    let mut chosen: Vec<&str> = all
        .iter()
        .copied()
        .filter(|name| args.iter().any(|a| a == name))
        .collect();
    if chosen.is_empty() {
        chosen = all.to_vec();
    }
    let counts = if quick {
        Counts {
            rtt: 200,
            rtt_warmup: 20,
            rounds: 2,
            throughput: 20_000,
            latency: 20,
            idle: Duration::from_secs(2),
            flood: 50_000,
            startup: 5,
            backlog: 10_000,
            backlog_pause: Duration::from_secs(2),
            backlog_limit: Duration::from_secs(10),
            socat: None,
        }
    } else {
        Counts {
            rtt: 2_000,
            rtt_warmup: 100,
            rounds: 4,
            throughput: 200_000,
            latency: 200,
            idle: Duration::from_secs(10),
            flood: 1_000_000,
            startup: 20,
            backlog: 10_000,
            backlog_pause: Duration::from_secs(2),
            backlog_limit: Duration::from_secs(30),
            socat: None,
        }
    };
    let mut counts = counts;
    if let Some(n) = number("--backlog-lines") {
        counts.backlog = (n as usize).clamp(1, 1_000_000);
    }
    if let Some(secs) = number("--backlog-pause") {
        counts.backlog_pause = Duration::from_secs_f64(secs.min(600.0));
    }
    if let Some(secs) = number("--backlog-limit") {
        counts.backlog_limit = Duration::from_secs_f64(secs.clamp(1.0, 600.0));
    }
    if !args.iter().any(|a| a == "--no-socat") {
        counts.socat = find_program("socat");
    }

    let mut report = Report::default();
    let started = Instant::now();
    eprintln!("duplex: {DUPLEX}\nload average at the start: {}", loadavg());
    match &counts.socat {
        Some(socat) => eprintln!("socat: {socat}"),
        None => report.note(format!(
            "socat baselines {SOCAT_SKIPPED} (install it: `apt-get install socat`, `dnf install socat`, `brew install socat`; bench/run.sh installs it when run as root with apt-get)"
        )),
    }
    for name in &chosen {
        eprintln!("== {name} (load {})", loadavg());
        let result = match *name {
            "rtt" => round_trip(&counts, &mut report),
            "throughput" => throughput(&counts, &mut report),
            "backlog" => backlog::backlog(&counts, &mut report),
            "latency" => latency(&counts, &mut report),
            "idle" => idle(&counts, &mut report),
            "memory" => memory(&counts, &mut report),
            "startup" => startup(&counts, &mut report),
            _ => Ok(()),
        };
        if let Err(err) = result {
            report.note(format!("{name} FAILED: {err}"));
            report
                .rows
                .push(Row::new(name, "failed".into(), "–".into(), "–".into(), "–"));
        }
    }
    eprintln!("load average at the end: {}", loadavg());

    let mut out = String::new();
    if let Some(dir) = criterion {
        out.push_str(&render_table(&dir));
    }
    out.push_str("| measurement | duplex | baseline | ratio | goal |\n|---|---|---|---|---|\n");
    for row in &report.rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            row.what, row.duplex, row.baseline, row.ratio, row.goal
        ));
    }
    out.push('\n');
    for note in &report.notes {
        out.push_str(&format!("- {note}\n"));
    }
    out.push_str(&format!(
        "\n(system measurements took {:.0} s; load average at the end {})\n",
        started.elapsed().as_secs_f64(),
        loadavg()
    ));
    print!("{out}");
}

// ---------------------------------------------------------------- pairs --

/// Two processes joined over 127.0.0.1, driven through their pipes.
struct Pair {
    a: Piped,
    b: Piped,
}

fn json_port(line: &str) -> Result<u16> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    value["port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| format!("no port in {line}"))
}

fn is_event(line: &str, event: &str) -> bool {
    line.contains(&format!("\"event\":\"{event}\""))
}

/// A headless duplex host (`alice`) and guest (`bob`), encrypted, with JSON
/// output, connected.
fn duplex_pair(watchdog: &Arc<Watchdog>) -> Result<Pair> {
    duplex_pair_with(watchdog, &[])
}

/// [`duplex_pair`], with `extra` arguments for both.
fn duplex_pair_with(watchdog: &Arc<Watchdog>, extra: &[&str]) -> Result<Pair> {
    let mut a = Piped::spawn(
        watchdog,
        "duplex host",
        DUPLEX,
        &[
            "host",
            "--headless",
            "--json",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--name",
            "alice",
        ]
        .iter()
        .chain(extra)
        .copied()
        .collect::<Vec<_>>(),
    )?;
    let port = json_port(&a.read_until(|l| is_event(l, "listening"))?)?;
    let addr = format!("127.0.0.1:{port}");
    let mut b = Piped::spawn(
        watchdog,
        "duplex guest",
        DUPLEX,
        &["join", &addr, "--headless", "--json", "--name", "bob"]
            .iter()
            .chain(extra)
            .copied()
            .collect::<Vec<_>>(),
    )?;
    let joined = b.read_until(|l| is_event(l, "joined"))?;
    if !joined.contains("\"encrypted\":true") {
        return Err(format!("not encrypted: {joined}"));
    }
    a.read_until(|l| is_event(l, "joined"))?;
    Ok(Pair { a, b })
}

/// Two tiny relays (see `relay.rs`) connected over 127.0.0.1; `flavour` is
/// `--std`, `--tokio` (built as duplex first was), `--stdin-thread` or
/// `--current-thread` (see `relay.rs`).
fn relay_pair(watchdog: &Arc<Watchdog>, flavour: &str) -> Result<Pair> {
    let exe = self_exe()?;
    let mut a = Piped::spawn(watchdog, "relay a", &exe, &["relay", flavour, "listen"])?;
    let line = a.read_until(|l| l.starts_with("listening "))?;
    let port = line.trim_start_matches("listening ").trim().to_owned();
    let addr = format!("127.0.0.1:{port}");
    let mut b = Piped::spawn(
        watchdog,
        "relay b",
        &exe,
        &["relay", flavour, "connect", &addr],
    )?;
    b.read_until(|l| l == "connected")?;
    a.read_until(|l| l == "connected")?;
    Ok(Pair { a, b })
}

/// What the table says where a socat baseline did not run.
const SOCAT_SKIPPED: &str = "skipped: socat missing";

/// The first executable `name` on PATH.
fn find_program(name: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|file| {
            std::fs::metadata(file)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
        .map(|file| file.to_string_lossy().into_owned())
}

/// Whether something listens on 127.0.0.1:`port` (/proc/net/tcp, state
/// 0A), found without connecting: socat's TCP-LISTEN accepts only one.
fn listening_on(port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp").is_ok_and(|table| {
        table.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&want.as_str()) && fields.get(3) == Some(&"0A")
        })
    })
}

/// Two socat processes relaying stdin ↔ TCP ↔ stdout over 127.0.0.1:
/// `socat - TCP-LISTEN:PORT,bind=127.0.0.1,reuseaddr` and
/// `socat - TCP:127.0.0.1:PORT`, driven through their pipes as a duplex
/// pair is. Connected once a line went each way.
fn socat_pair(watchdog: &Arc<Watchdog>, socat: &str) -> Result<Pair> {
    let mut last = String::new();
    // The free port is found by binding port 0 and letting it go; another
    // program may take it meanwhile, so a few tries.
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let listen = format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr");
        let mut a = Piped::spawn(watchdog, "socat listen", socat, &["-", &listen])?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !listening_on(port) && a.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if !listening_on(port) {
            last = format!("socat did not listen on 127.0.0.1:{port}");
            continue;
        }
        let connect = format!("TCP:127.0.0.1:{port}");
        let mut b = Piped::spawn(watchdog, "socat connect", socat, &["-", &connect])?;
        a.write_line("hello from a")?;
        b.read_until(|l| l == "hello from a")?;
        b.write_line("hello from b")?;
        a.read_until(|l| l == "hello from b")?;
        return Ok(Pair { a, b });
    }
    Err(last)
}

// ----------------------------------------------------------- round trip --

/// A 32-byte message.
fn ping(i: usize) -> String {
    format!("ping {i:010} abcdefghijklmnop")
}

/// CPU time and context switches of both processes of a pair so far.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    cpu: Duration,
    switches: u64,
}

impl Usage {
    fn of(pair: &Pair) -> Result<Self> {
        let (a, b) = (pair.a.pid(), pair.b.pid());
        Ok(Self {
            cpu: sched_time(a)? + sched_time(b)?,
            switches: context_switches(a)? + context_switches(b)?,
        })
    }

    fn add_since(&mut self, before: Usage, pair: &Pair) -> Result {
        let now = Usage::of(pair)?;
        self.cpu += now.cpu.saturating_sub(before.cpu);
        self.switches += now.switches.saturating_sub(before.switches);
        Ok(())
    }

    fn per(&self, trips: usize) -> String {
        let trips = trips.max(1);
        format!(
            "{:.1} µs CPU, {:.1} context switches",
            self.cpu.as_secs_f64() * 1e6 / trips as f64,
            self.switches as f64 / trips as f64
        )
    }
}

/// Round trips `from..to`: a line into A's stdin, out of B's stdout, back
/// into B's stdin, out of A's stdout. Adds what both processes used to
/// `usage`.
fn ping_pong(
    pair: &mut Pair,
    from: usize,
    to: usize,
    out: &mut Vec<Duration>,
    usage: &mut Usage,
) -> Result {
    let before = Usage::of(pair)?;
    for i in from..to {
        let msg = ping(i);
        let t0 = Instant::now();
        pair.a.write_line(&msg)?;
        pair.b.read_until(|l| l.contains(&msg))?;
        pair.b.write_line(&msg)?;
        pair.a.read_until(|l| l.contains(&msg))?;
        out.push(t0.elapsed());
    }
    usage.add_since(before, pair)
}

/// An in-process tokio TCP echo over 127.0.0.1: one task echoes lines, the
/// client writes a line and reads it back.
struct TokioEcho {
    rt: tokio::runtime::Runtime,
    client: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl TokioEcho {
    fn start() -> Result<Self> {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let client = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            tokio::spawn(async move {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let _ = socket.set_nodelay(true);
                let (read, mut write) = socket.into_split();
                let mut lines = tokio::io::BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut bytes = line.into_bytes();
                    bytes.push(b'\n');
                    if write.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
            });
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            std::io::Result::Ok(tokio::io::BufReader::new(stream))
        });
        Ok(Self {
            client: client.map_err(|e| e.to_string())?,
            rt,
        })
    }

    fn ping_pong(&mut self, from: usize, to: usize, out: &mut Vec<Duration>) -> Result {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let client = &mut self.client;
        self.rt
            .block_on(async {
                let mut line = String::new();
                for i in from..to {
                    let mut msg = ping(i);
                    msg.push('\n');
                    let t0 = Instant::now();
                    client.get_mut().write_all(msg.as_bytes()).await?;
                    line.clear();
                    client.read_line(&mut line).await?;
                    out.push(t0.elapsed());
                    if line != msg {
                        return Err(std::io::Error::other(format!("echo: {line:?}")));
                    }
                }
                Ok(())
            })
            .map_err(|e: std::io::Error| e.to_string())
    }
}

fn round_trip(counts: &Counts, report: &mut Report) -> Result {
    let watchdog = Arc::new(Watchdog::new("round trip", Duration::from_secs(180)));
    let mut duplex = duplex_pair(&watchdog)?;
    // What keeping the journal costs: the same without it.
    let mut ephemeral = duplex_pair_with(&watchdog, &["--ephemeral"])?;
    let mut relays = relay_pair(&watchdog, "--std")?;
    let mut tokio_relays = relay_pair(&watchdog, "--tokio")?;
    let mut threaded_relays = relay_pair(&watchdog, "--stdin-thread")?;
    let mut single_relays = relay_pair(&watchdog, "--current-thread")?;
    let mut socat = match &counts.socat {
        Some(program) => Some(socat_pair(&watchdog, program)?),
        None => None,
    };
    let mut echo = TokioEcho::start()?;
    let (mut d, mut r, mut t, mut e) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut so = Vec::new();
    let mut socat_cpu = Usage::default();
    let (mut st, mut ct, mut de) = (Vec::new(), Vec::new(), Vec::new());
    // What both processes used: duplex, relays, tokio relays, reading stdin
    // on a thread, on tokio's current-thread runtime.
    let mut cpu = [Usage::default(); 6];
    // Warm up, then interleave rounds so that noise hits all alike.
    let warmup = counts.rtt_warmup;
    let mut ignored = Usage::default();
    ping_pong(&mut duplex, 0, warmup, &mut Vec::new(), &mut ignored)?;
    ping_pong(&mut ephemeral, 0, warmup, &mut Vec::new(), &mut ignored)?;
    ping_pong(&mut relays, 0, warmup, &mut Vec::new(), &mut ignored)?;
    ping_pong(&mut tokio_relays, 0, warmup, &mut Vec::new(), &mut ignored)?;
    for pair in [&mut threaded_relays, &mut single_relays] {
        ping_pong(pair, 0, warmup, &mut Vec::new(), &mut ignored)?;
    }
    if let Some(pair) = socat.as_mut() {
        ping_pong(pair, 0, warmup, &mut Vec::new(), &mut ignored)?;
    }
    echo.ping_pong(0, warmup, &mut Vec::new())?;
    let per_round = counts.rtt / counts.rounds;
    for round in 0..counts.rounds {
        let from = warmup + round * per_round;
        let to = from + per_round;
        ping_pong(&mut duplex, from, to, &mut d, &mut cpu[0])?;
        ping_pong(&mut ephemeral, from, to, &mut de, &mut cpu[5])?;
        ping_pong(&mut relays, from, to, &mut r, &mut cpu[1])?;
        ping_pong(&mut tokio_relays, from, to, &mut t, &mut cpu[2])?;
        ping_pong(&mut threaded_relays, from, to, &mut st, &mut cpu[3])?;
        ping_pong(&mut single_relays, from, to, &mut ct, &mut cpu[4])?;
        if let Some(pair) = socat.as_mut() {
            ping_pong(pair, from, to, &mut so, &mut socat_cpu)?;
        }
        echo.ping_pong(from, to, &mut e)?;
    }
    let trips = per_round * counts.rounds;
    report.note(format!(
        "a. per round trip, both processes together (schedstat, /proc/PID/task/*/status): \
         duplex {}; relays {}; tokio relays as duplex first was {}; the same reading stdin on \
         a thread {}; plain tokio relays with duplex's I/O {}; duplex --ephemeral {}; socat {}",
        cpu[0].per(trips),
        cpu[1].per(trips),
        cpu[2].per(trips),
        cpu[3].per(trips),
        cpu[4].per(trips),
        cpu[5].per(trips),
        if socat.is_some() {
            socat_cpu.per(trips)
        } else {
            SOCAT_SKIPPED.to_owned()
        }
    ));
    let so = socat.is_some().then(|| Samples::new(so));
    let (d, r, t, e, ct) = (
        Samples::new(d),
        Samples::new(r),
        Samples::new(t),
        Samples::new(e),
        Samples::new(ct),
    );
    for p in [50.0, 99.0] {
        let secs = |s: &Samples| s.pct(p).as_secs_f64();
        report.rows.push(Row::new(
            &if p == 50.0 {
                format!("a. round trip, 32 B, p50 ({} trips)", d.len())
            } else {
                "a. round trip, 32 B, p99".to_owned()
            },
            us(d.pct(p)),
            format!(
                "{} · {} plain tokio relays · {} std relays · {} in-process tokio echo",
                so.as_ref().map_or_else(
                    || format!("socat pair: {SOCAT_SKIPPED}"),
                    |s| format!("{} socat pair", us(s.pct(p)))
                ),
                us(ct.pct(p)),
                us(r.pct(p)),
                us(e.pct(p))
            ),
            format!(
                "{} · {} · {} · {}",
                so.as_ref()
                    .map_or_else(|| "–".to_owned(), |s| ratio(secs(&d), secs(s))),
                ratio(secs(&d), secs(&ct)),
                ratio(secs(&d), secs(&r)),
                ratio(secs(&d), secs(&e))
            ),
            if p == 50.0 {
                "≤ 1.5× socat pair"
            } else {
                "–"
            },
        ));
    }
    let spread = |s: &Samples| {
        format!(
            "{}/{}/{}/{}",
            us(s.pct(50.0)),
            us(s.pct(90.0)),
            us(s.pct(99.0)),
            us(s.pct(100.0))
        )
    };
    let (st, de) = (Samples::new(st), Samples::new(de));
    report.note(format!(
        "a. round trip p50/p90/p99/max: duplex {}; std relays {}; tokio relays as duplex first \
         was {}; the same reading stdin on a thread {}; plain tokio relays with duplex's I/O {}; \
         in-process tokio echo {}; duplex --ephemeral (no journal) {}; socat pair {}",
        spread(&d),
        spread(&r),
        spread(&t),
        spread(&st),
        spread(&ct),
        spread(&e),
        spread(&de),
        so.as_ref().map_or_else(|| SOCAT_SKIPPED.to_owned(), spread)
    ));
    Ok(())
}

// ----------------------------------------------------------- throughput --

/// A 32-byte message.
fn bulk(i: usize) -> String {
    format!("bulk {i:010} abcdefghijklmnop")
}

/// What one-way streaming achieved.
struct Flow {
    received: usize,
    elapsed: Duration,
    ended: Option<String>,
    /// What both processes used meanwhile.
    usage: Usage,
}

/// Writes `n` lines into A's stdin (from a thread, keeping at most `window`
/// unreceived lines in flight if given) and counts them out of B's stdout.
fn stream_one_way(pair: &mut Pair, n: usize, window: Option<usize>, limit: Duration) -> Flow {
    let Some(mut stdin) = pair.a.stdin.take() else {
        return Flow {
            received: 0,
            elapsed: Duration::ZERO,
            ended: Some("no stdin".into()),
            usage: Usage::default(),
        };
    };
    // The sender's own events (`sent`, `delivery`) are read and dropped, as
    // a script that sends would read them.
    pair.a.drain_stdout();
    let received = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (seen, stopped) = (received.clone(), stop.clone());
    let before = Usage::of(pair).unwrap_or_default();
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        for i in 0..n {
            if let Some(window) = window
                && i >= seen.load(Ordering::Acquire) + window
            {
                let _ = stdin.flush();
                while i >= seen.load(Ordering::Acquire) + window {
                    if stopped.load(Ordering::Relaxed) {
                        return stdin;
                    }
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
            if stopped.load(Ordering::Relaxed) || writeln!(stdin, "{}", bulk(i)).is_err() {
                break;
            }
        }
        let _ = stdin.flush();
        stdin // kept open until the end: EOF would make duplex leave
    });
    let mut count = 0;
    let mut ended = None;
    while count < n {
        if start.elapsed() > limit {
            ended = Some(format!("stopped after {limit:?}"));
            break;
        }
        match pair.b.read_line() {
            Ok(line) if line.contains("bulk ") => {
                count += 1;
                received.store(count, Ordering::Release);
            }
            Ok(line) if is_event(line, "left") || is_event(line, "error") => {
                ended = Some(line.to_owned());
                break;
            }
            Ok(_) => {}
            Err(err) => {
                ended = Some(err);
                break;
            }
        }
    }
    let elapsed = start.elapsed();
    let mut usage = Usage::default();
    let _ = usage.add_since(before, pair);
    stop.store(true, Ordering::Relaxed);
    if ended.is_some() {
        // A duplex host without a guest reads no more input: end it, so
        // the writer's blocked write fails instead of hanging.
        pair.a.kill();
    }
    if let Ok(stdin) = writer.join() {
        pair.a.stdin = Some(stdin);
    }
    Flow {
        received: count,
        elapsed,
        ended,
        usage,
    }
}

/// `n` raw 32-byte writes on a plain TCP connection over 127.0.0.1 (one
/// `write` call each, TCP_NODELAY), read and counted as lines by a thread.
fn raw_tcp(n: usize) -> Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = std::thread::spawn(move || -> std::io::Result<Instant> {
        let (socket, _) = listener.accept()?;
        let mut reader = BufReader::with_capacity(1 << 16, socket);
        let mut line = Vec::new();
        for _ in 0..n {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Err(std::io::Error::other("ended early"));
            }
        }
        Ok(Instant::now())
    });
    let mut client = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    client.set_nodelay(true).map_err(|e| e.to_string())?;
    let start = Instant::now();
    for i in 0..n {
        let mut msg = bulk(i);
        msg.push('\n');
        client
            .write_all(msg.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let done = server
        .join()
        .map_err(|_| "server panicked".to_owned())?
        .map_err(|e| e.to_string())?;
    let mut rest = Vec::new();
    drop(client.shutdown(std::net::Shutdown::Write));
    let _ = client.read_to_end(&mut rest);
    Ok(done - start)
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn throughput(counts: &Counts, report: &mut Report) -> Result {
    let n = counts.throughput;
    let limit = Duration::from_secs(120);
    let watchdog = Arc::new(Watchdog::new("throughput", Duration::from_secs(300)));

    // As fast as it goes: all lines written at once.
    let mut duplex = duplex_pair(&watchdog)?;
    let flood = stream_one_way(&mut duplex, n, None, limit);
    drop(duplex);
    if let Some(why) = &flood.ended {
        report.note(format!(
            "b. throughput: duplex fed {n} lines at once delivered {} and then ended: {why}",
            flood.received
        ));
    }
    // Paced: at most 1,000 messages in flight (under duplex's 4,096-frame
    // send queue), so a sender that outruns its link is never dropped.
    let mut duplex = duplex_pair(&watchdog)?;
    let paced = stream_one_way(&mut duplex, n, Some(1_000), limit);
    drop(duplex);
    if let Some(why) = &paced.ended {
        report.note(format!(
            "b. throughput: duplex paced delivered {} of {n}, then: {why}",
            paced.received
        ));
    }
    let mut relays = relay_pair(&watchdog, "--std")?;
    let relayed = stream_one_way(&mut relays, n, None, limit);
    drop(relays);
    if let Some(why) = &relayed.ended {
        return Err(format!("relays: {why}"));
    }
    let mut relays = relay_pair(&watchdog, "--tokio")?;
    let tokio_relayed = stream_one_way(&mut relays, n, Some(1_000), limit);
    drop(relays);
    if let Some(why) = &tokio_relayed.ended {
        return Err(format!("tokio relays: {why}"));
    }
    // socat is not paced either: it reads what is there and writes it on.
    let socat = match &counts.socat {
        Some(program) => {
            let mut pair = socat_pair(&watchdog, program)?;
            let flow = stream_one_way(&mut pair, n, None, limit);
            drop(pair);
            if let Some(why) = &flow.ended {
                return Err(format!("socat: {why}"));
            }
            Some(flow)
        }
        None => None,
    };
    let raw = raw_tcp(n)?;

    let best = if flood.ended.is_none() {
        &flood
    } else {
        &paced
    };
    let d = rate(best.received, best.elapsed);
    let r = rate(relayed.received, relayed.elapsed);
    let tr = rate(tokio_relayed.received, tokio_relayed.elapsed);
    let t = rate(n, raw);
    let so = socat.as_ref().map(|f| rate(f.received, f.elapsed));
    report.rows.push(Row::new(
        &format!(
            "b. one-way throughput, {n} × 32 B{}",
            if flood.ended.is_none() {
                ""
            } else {
                " (paced: ≤ 1,000 in flight)"
            }
        ),
        format!("{d:.0} msg/s"),
        format!(
            "{r:.0} msg/s relays · {tr:.0} msg/s tokio relays · {} · {t:.0} msg/s raw TCP writes",
            so.map_or_else(
                || format!("socat pair: {SOCAT_SKIPPED}"),
                |so| format!("{so:.0} msg/s socat pair")
            )
        ),
        format!(
            "{} · {} · {} · {}",
            ratio(d, r),
            ratio(d, tr),
            so.map_or_else(|| "–".to_owned(), |so| ratio(d, so)),
            ratio(d, t)
        ),
        "report",
    ));
    report.note(format!(
        "b. throughput: duplex unpaced {} in {} ({:.0}/s){}, paced ≤1,000 in flight {} in {} ({:.0}/s); relays {} in {}; tokio relays (paced alike) {} in {}; raw TCP {n} writes in {}",
        flood.received,
        ms(flood.elapsed),
        rate(flood.received, flood.elapsed),
        if flood.ended.is_some() { " – ended early" } else { "" },
        paced.received,
        ms(paced.elapsed),
        rate(paced.received, paced.elapsed),
        relayed.received,
        ms(relayed.elapsed),
        tokio_relayed.received,
        ms(tokio_relayed.elapsed),
        ms(raw),
    ));
    report.note(format!(
        "b. per message, both processes together: duplex paced {}; relays {}; tokio relays {}; socat pair {}",
        paced.usage.per(paced.received),
        relayed.usage.per(relayed.received),
        tokio_relayed.usage.per(tokio_relayed.received),
        socat.as_ref().map_or_else(
            || SOCAT_SKIPPED.to_owned(),
            |f| format!("{} ({} in {})", f.usage.per(f.received), f.received, ms(f.elapsed))
        ),
    ));
    Ok(())
}

// ---------------------------------------------------------- TUI in a PTY --

/// The port of `duplex join 127.0.0.1:PORT` on a host's screen.
fn screen_port(text: &str) -> Option<u16> {
    let after = text.split("duplex join 127.0.0.1:").nth(1)?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A duplex host TUI (`alice`) in a PTY, waiting; returns it and its port.
fn tui_host(watchdog: &Arc<Watchdog>) -> Result<(Pty, u16)> {
    let host = Pty::spawn(
        watchdog,
        "host tui",
        DUPLEX,
        &[
            "host",
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--name",
            "alice",
            // The flood measures a history that keeps every message.
            "--history-limit",
            "2000000",
        ],
        ROWS,
        COLS,
    )?;
    let text = host.wait_for("the host to listen", Duration::from_secs(30), |t| {
        screen_port(t).is_some()
    })?;
    let port = screen_port(&text).ok_or("no port")?;
    Ok((host, port))
}

/// A duplex host and guest TUI, each in a PTY, connected.
fn tui_pair(watchdog: &Arc<Watchdog>) -> Result<(Pty, Pty)> {
    let (host, port) = tui_host(watchdog)?;
    let addr = format!("127.0.0.1:{port}");
    let guest = Pty::spawn(
        watchdog,
        "guest tui",
        DUPLEX,
        &["join", &addr, "--name", "bob"],
        ROWS,
        COLS,
    )?;
    let wait = Duration::from_secs(30);
    guest.wait_for("the guest to connect", wait, |t| {
        t.contains("● alice (host, 127.0.0.1:") && t.contains("connected")
    })?;
    host.wait_for("the host to see the guest", wait, |t| t.contains("● bob ("))?;
    Ok((host, guest))
}

/// Two tiny relays, each in a PTY (canonical mode: the terminal's line
/// discipline echoes typing and hands over a line at Enter); the first
/// prints what it receives after `bob: ` (the guest types into the second).
fn relay_ptys(watchdog: &Arc<Watchdog>) -> Result<(Pty, Pty)> {
    let exe = self_exe()?;
    let a = Pty::spawn(
        watchdog,
        "relay a",
        &exe,
        &["relay", "listen", "bob: "],
        ROWS,
        COLS,
    )?;
    let text = a.wait_for("the relay to listen", Duration::from_secs(30), |t| {
        t.contains("listening ")
    })?;
    let port: String = text
        .split("listening ")
        .nth(1)
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let addr = format!("127.0.0.1:{port}");
    let b = Pty::spawn(
        watchdog,
        "relay b",
        &exe,
        &["relay", "connect", &addr],
        ROWS,
        COLS,
    )?;
    b.wait_for("the relay to connect", Duration::from_secs(30), |t| {
        t.contains("connected")
    })?;
    a.wait_for("the relay to connect", Duration::from_secs(30), |t| {
        t.contains("connected")
    })?;
    Ok((a, b))
}

/// How long after the typed text shows Enter is pressed: a person's
/// Enter never follows the previous key within duplex's paste window
/// (an Enter within 10 ms of a key is taken as part of a paste without
/// brackets and waits 10 ms to be sure), and this bench measures a person's.
const ENTER_AFTER: Duration = Duration::from_millis(30);

/// Types `msg` into `sender`, waits until it shows there and
/// [`ENTER_AFTER`] more, then times from writing Enter to `bob: msg`
/// appearing on `receiver`'s screen.
fn enter_to_screen(sender: &mut Pty, receiver: &Pty, msg: &str) -> Result<Duration> {
    sender.send(msg.as_bytes())?;
    sender.wait_for("the typed text", Duration::from_secs(10), |t| {
        t.contains(msg)
    })?;
    std::thread::sleep(ENTER_AFTER);
    let expect = format!("bob: {msg}");
    receiver.set_probe(Box::new(move |screen| screen.contents().contains(&expect)));
    let t0 = Instant::now();
    sender.send(b"\r")?;
    let hit = receiver.wait_probe(Duration::from_secs(10))?;
    Ok(hit.saturating_duration_since(t0))
}

fn latency(counts: &Counts, report: &mut Report) -> Result {
    let watchdog = Arc::new(Watchdog::new("latency", Duration::from_secs(300)));
    let (host, mut guest) = tui_pair(&watchdog)?;
    let (relay_a, mut relay_b) = relay_ptys(&watchdog)?;
    let (mut d, mut r) = (Vec::new(), Vec::new());
    let per_round = counts.latency / counts.rounds;
    for i in 0..counts.latency {
        // Alternate in rounds so noise hits both alike.
        if (i / per_round.max(1)).is_multiple_of(2) {
            d.push(enter_to_screen(
                &mut guest,
                &host,
                &format!("m{i:05} hello"),
            )?);
            r.push(enter_to_screen(
                &mut relay_b,
                &relay_a,
                &format!("m{i:05} hello"),
            )?);
        } else {
            r.push(enter_to_screen(
                &mut relay_b,
                &relay_a,
                &format!("m{i:05} hello"),
            )?);
            d.push(enter_to_screen(
                &mut guest,
                &host,
                &format!("m{i:05} hello"),
            )?);
        }
        // Let both sides finish redrawing before the next message.
        std::thread::sleep(Duration::from_millis(5));
    }
    let (d, r) = (Samples::new(d), Samples::new(r));
    report.rows.push(Row::new(
        &format!("c. Enter-to-screen, PTY to PTY, p50 ({} msgs)", d.len()),
        ms(d.pct(50.0)),
        format!("{} relays in PTYs", ms(r.pct(50.0))),
        ratio(d.pct(50.0).as_secs_f64(), r.pct(50.0).as_secs_f64()),
        "< 5 ms",
    ));
    report.rows.push(Row::new(
        "c. Enter-to-screen, p99",
        ms(d.pct(99.0)),
        format!("{} relays in PTYs", ms(r.pct(99.0))),
        ratio(d.pct(99.0).as_secs_f64(), r.pct(99.0).as_secs_f64()),
        "–",
    ));
    report.note(format!(
        "c. Enter-to-screen: duplex p50/p90/p99/max {}/{}/{}/{}; relays {}/{}/{}/{}",
        ms(d.pct(50.0)),
        ms(d.pct(90.0)),
        ms(d.pct(99.0)),
        ms(d.pct(100.0)),
        ms(r.pct(50.0)),
        ms(r.pct(90.0)),
        ms(r.pct(99.0)),
        ms(r.pct(100.0)),
    ));
    Ok(())
}

fn idle(counts: &Counts, report: &mut Report) -> Result {
    let watchdog = Arc::new(Watchdog::new(
        "idle",
        counts.idle + Duration::from_secs(120),
    ));
    let (host, guest) = tui_pair(&watchdog)?;
    let (relay_a, relay_b) = relay_ptys(&watchdog)?;
    std::thread::sleep(Duration::from_secs(2)); // let start-up work settle
    let pids = [host.pid(), guest.pid(), relay_a.pid(), relay_b.pid()];
    let bytes = host.bytes();
    let before: Vec<(Duration, Duration)> = pids
        .iter()
        .map(|&p| Ok((cpu_time(p)?, sched_time(p)?)))
        .collect::<Result<_>>()?;
    let t0 = Instant::now();
    std::thread::sleep(counts.idle);
    let wall = t0.elapsed().as_secs_f64();
    let after: Vec<(Duration, Duration)> = pids
        .iter()
        .map(|&p| Ok((cpu_time(p)?, sched_time(p)?)))
        .collect::<Result<_>>()?;
    let drawn = host.bytes() - bytes;
    let pct = |i: usize| {
        (
            (after[i].0 - before[i].0).as_secs_f64() / wall * 100.0,
            (after[i].1 - before[i].1).as_secs_f64() / wall * 100.0,
        )
    };
    let (host_ticks, host_ns) = pct(0);
    let (guest_ticks, guest_ns) = pct(1);
    let (relay_ticks, relay_ns) = pct(2);
    report.rows.push(Row::new(
        &format!("d. idle CPU of the host TUI, {:.0} s", wall),
        format!("{host_ticks:.2} % ({host_ns:.3} %)"),
        format!("{relay_ticks:.2} % ({relay_ns:.3} %) relay in a PTY"),
        "–".into(),
        "< 0.5 %",
    ));
    report.note(format!(
        "d. idle: CPU as utime+stime ticks of /proc/PID/stat (in brackets: the sum of the threads' schedstat run time, ns resolution); guest TUI {guest_ticks:.2} % ({guest_ns:.3} %); the host wrote {drawn} bytes to its terminal while idle; second relay {:.3} %",
        pct(3).1
    ));
    report.rows.push(Row::new(
        "d. RSS of the host TUI, idle, connected",
        mib(status_kb(host.pid(), "VmRSS")?),
        format!("{} relay", mib(status_kb(relay_a.pid(), "VmRSS")?)),
        "–".into(),
        "report",
    ));
    report.note(format!(
        "d. idle RSS: guest TUI {}",
        mib(status_kb(guest.pid(), "VmRSS")?)
    ));
    Ok(())
}

/// The highest `N` of the `bob: nNNNNNNN` rows on a screen.
fn highest_seq(screen: &vt100::Screen) -> Option<usize> {
    let (_, cols) = screen.size();
    screen
        .rows(0, cols)
        .filter_map(|row| {
            let at = row.find("bob: n")?;
            let digits: String = row[at + 6..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .max()
}

/// Floods a TUI host from a headless guest with `n` messages; returns what
/// happened.
fn flood_tui(
    watchdog: &Arc<Watchdog>,
    n: usize,
    window: Option<usize>,
    report: &mut Report,
) -> Result<Option<(Duration, u64, u64)>> {
    let (host, port) = tui_host(watchdog)?;
    let addr = format!("127.0.0.1:{port}");
    let mut guest = Piped::spawn(
        watchdog,
        "duplex guest",
        DUPLEX,
        &["join", &addr, "--headless", "--json", "--name", "bob"],
    )?;
    guest.read_until(|l| is_event(l, "joined"))?;
    // Its notes on its own messages (`sent`, `delivery`) are read and
    // dropped, as a script that sends would read them.
    guest.drain_stdout();
    host.wait_for("the guest", Duration::from_secs(30), |t| {
        t.contains("● bob (")
    })?;
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = status_kb(host.pid(), "VmRSS")?;

    let shown = Arc::new(AtomicUsize::new(0));
    let seen = shown.clone();
    host.set_probe(Box::new(move |screen| {
        if let Some(top) = highest_seq(screen) {
            seen.fetch_max(top + 1, Ordering::AcqRel);
        }
        seen.load(Ordering::Acquire) >= n
    }));
    let mut stdin = guest.stdin.take().ok_or("no stdin")?;
    let stop = Arc::new(AtomicBool::new(false));
    let (progress, stopped) = (shown.clone(), stop.clone());
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        let mut text_bytes = 0u64;
        for i in 0..n {
            if let Some(window) = window
                && i >= progress.load(Ordering::Acquire) + window
            {
                let _ = stdin.flush();
                while i >= progress.load(Ordering::Acquire) + window {
                    if stopped.load(Ordering::Relaxed) {
                        return (stdin, text_bytes);
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            let line = format!("n{i:07} flood");
            text_bytes += line.len() as u64;
            if stopped.load(Ordering::Relaxed) || writeln!(stdin, "{line}").is_err() {
                break;
            }
        }
        let _ = stdin.flush();
        (stdin, text_bytes)
    });
    let deadline = start + Duration::from_secs(600);
    let outcome = loop {
        match host.wait_probe(Duration::from_secs(1)) {
            Ok(hit) => break Ok(hit - start),
            Err(_) if Instant::now() > deadline => break Err("took over 600 s".to_owned()),
            Err(_) => {
                if let Some(status) = guest.exited() {
                    let mut text = String::new();
                    if let Some(stdout) = guest.stdout.as_mut() {
                        let _ = stdout.read_to_string(&mut text);
                    }
                    break Err(format!(
                        "the guest exited ({status}) after the host showed {} messages: {}",
                        shown.load(Ordering::Acquire),
                        text.lines().last().unwrap_or("")
                    ));
                }
            }
        }
    };
    stop.store(true, Ordering::Relaxed);
    if outcome.is_err() {
        guest.kill(); // so that the writer's blocked write fails
    }
    // Keep the guest's stdin open until it is measured: EOF makes it leave.
    let (_stdin, text_bytes) = writer.join().map_err(|_| "writer panicked")?;
    let elapsed = match outcome {
        Ok(elapsed) => elapsed,
        Err(why) => {
            report.note(format!(
                "d. {n} messages to the TUI host {}: {why}",
                match window {
                    None => "unpaced".to_owned(),
                    Some(w) => format!("paced at ≤ {w} in flight"),
                }
            ));
            return Ok(None);
        }
    };
    // A moment for the last frame, then memory.
    std::thread::sleep(Duration::from_millis(500));
    let rss = status_kb(host.pid(), "VmRSS")?;
    let hwm = status_kb(host.pid(), "VmHWM")?;
    let guest_rss = status_kb(guest.pid(), "VmRSS")?;
    report.rows.push(Row::new(
        &format!(
            "d. time to receive {n} msgs in the host TUI{}",
            match window {
                None => String::new(),
                Some(w) => format!(" (paced: ≤ {w} in flight)"),
            }
        ),
        format!(
            "{:.1} s ({:.0} msg/s)",
            elapsed.as_secs_f64(),
            rate(n, elapsed)
        ),
        "–".into(),
        "–".into(),
        "report",
    ));
    report.rows.push(Row::new(
        &format!("d. RSS of the host TUI after {n} msgs"),
        format!("{} (peak {})", mib(rss), mib(hwm)),
        format!(
            "{} idle + {} of message text",
            mib(idle_rss),
            mib(text_bytes / 1024)
        ),
        format!(
            "{:.0} B/msg",
            (rss.saturating_sub(idle_rss) * 1024) as f64 / n as f64
        ),
        "report",
    ));
    report.note(format!(
        "d. flood: the host wrote {} KiB to its terminal; guest RSS after: {}",
        host.bytes() >> 10,
        mib(guest_rss)
    ));
    Ok(Some((elapsed, rss, idle_rss)))
}

fn memory(counts: &Counts, report: &mut Report) -> Result {
    let watchdog = Arc::new(Watchdog::new("memory", Duration::from_secs(1500)));
    if flood_tui(&watchdog, counts.flood, None, report)?.is_none() {
        flood_tui(&watchdog, counts.flood, Some(2_000), report)?;
    }
    Ok(())
}

// -------------------------------------------------------------- startup --

fn startup(counts: &Counts, report: &mut Report) -> Result {
    let watchdog = Arc::new(Watchdog::new("startup", Duration::from_secs(120)));
    let exe = self_exe()?;
    let (mut d, mut r, mut t) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..counts.startup {
        let t0 = Instant::now();
        let mut host = Piped::spawn(
            &watchdog,
            "duplex host",
            DUPLEX,
            &[
                "host",
                "--headless",
                "--json",
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
            ],
        )?;
        host.read_until(|l| is_event(l, "listening"))?;
        d.push(t0.elapsed());
        drop(host);

        let t0 = Instant::now();
        let mut relay = Piped::spawn(&watchdog, "relay", &exe, &["relay", "listen"])?;
        relay.read_until(|l| l.starts_with("listening "))?;
        r.push(t0.elapsed());
        drop(relay);

        let t0 = Instant::now();
        let status = std::process::Command::new("true")
            .status()
            .map_err(|e| e.to_string())?;
        t.push(t0.elapsed());
        if !status.success() {
            return Err("`true` failed".into());
        }
    }
    let (d, r, t) = (Samples::new(d), Samples::new(r), Samples::new(t));
    report.rows.push(Row::new(
        &format!("e. start to `listening`, p50 ({} runs)", d.len()),
        ms(d.pct(50.0)),
        format!(
            "{} relay (bench binary, bind + print) · {} `true` (exit)",
            ms(r.pct(50.0)),
            ms(t.pct(50.0))
        ),
        format!(
            "{} · {}",
            ratio(d.pct(50.0).as_secs_f64(), r.pct(50.0).as_secs_f64()),
            ratio(d.pct(50.0).as_secs_f64(), t.pct(50.0).as_secs_f64())
        ),
        "report",
    ));
    report.note(format!(
        "e. startup: duplex min/p50/max {}/{}/{}; relay {}/{}/{}; true {}/{}/{}",
        ms(d.pct(0.0)),
        ms(d.pct(50.0)),
        ms(d.pct(100.0)),
        ms(r.pct(0.0)),
        ms(r.pct(50.0)),
        ms(r.pct(100.0)),
        ms(t.pct(0.0)),
        ms(t.pct(50.0)),
        ms(t.pct(100.0)),
    ));
    Ok(())
}

// --------------------------------------------------------------- render --

/// Reads criterion's median for `frame_120x40/ID`, in µs.
fn criterion_median(dir: &str, id: &str) -> Option<f64> {
    let path = format!("{dir}/frame_120x40/{id}/new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["median"]["point_estimate"]
        .as_f64()
        .map(|ns| ns / 1000.0)
}

/// The frame times of `benches/render.rs`, as a table.
fn render_table(dir: &str) -> String {
    let Some(base) = criterion_median(dir, "baseline_paragraph_40_lines") else {
        return format!("(no render results in {dir})\n\n");
    };
    let mut out = String::from(
        "| one 120×40 frame (criterion median) | 1,000 msgs | 100,000 msgs | 1,000,000 msgs | 1M ÷ 1k (goal ≤ 1.2×) | 1k ÷ baseline |\n|---|---|---|---|---|---|\n",
    );
    for view in ["live", "pgup5", "middle", "oldest"] {
        let at = |n: usize| criterion_median(dir, &format!("{view}/{n}"));
        let (Some(k), Some(h), Some(m)) = (at(1_000), at(100_000), at(1_000_000)) else {
            continue;
        };
        out.push_str(&format!(
            "| {view} | {k:.1} µs | {h:.1} µs | {m:.1} µs | {:.2}× | {:.2}× |\n",
            m / k,
            k / base
        ));
    }
    out.push_str(&format!(
        "| baseline: one fixed 40-line `Paragraph` | {base:.1} µs | | | | |\n\n"
    ));
    out
}
