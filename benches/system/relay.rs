//! The baseline's "tiny relay": the least a program can do to carry lines
//! between its standard streams and a TCP connection to its twin, with the
//! same hops as a headless (or TUI) duplex but no encryption, framing, app
//! state, JSON or terminal drawing.
//!
//! `system relay listen` binds 127.0.0.1:0, prints `listening PORT`, accepts
//! one connection; `system relay connect ADDR` connects. Then both print
//! `connected`, and, each on its own thread with blocking I/O: stdin lines go
//! to the socket and socket lines go to stdout (prefixed with `PREFIX` if
//! one is given as the last argument). Like duplex's writer task, each side
//! writes everything already buffered before it flushes once; with one line
//! at a time, that is one write per line. TCP_NODELAY is set, as duplex does.
//!
//! With `--tokio` (anywhere after `relay`), the relay is built the way duplex
//! first was instead: a multi-threaded tokio runtime, stdin read as lines
//! through `tokio::io::stdin`, one `select!` loop, a reader task handing
//! lines to it over a channel, a writer task fed over another, and stdout
//! written with `std::io::stdout().lock()`. It separates what that I/O
//! structure costs from what duplex's own work (framing, encryption, the
//! app, JSON) costs. (duplex itself now runs on the current-thread runtime
//! and, when stdin is a pipe, reads it from its own event loop, with no
//! blocking pool and no thread; see `src/stdin.rs`.)
//! `--stdin-thread` is the same but reads stdin on a plain thread that feeds
//! the loop over a channel, instead of through `tokio::io::stdin` (which
//! hands every read to tokio's blocking pool). `--current-thread` is the
//! plain tokio relay with duplex's own I/O: tokio's single-threaded runtime
//! (a hop from one task to another is not a hop between threads), the loop
//! run as a spawned task, and stdin read with duplex's [`StdinLines`]. It
//! differs from a headless duplex only by what duplex adds: framing,
//! encryption, acknowledgements, the app and its output.
//!
//! [`StdinLines`]: duplex::stdin::StdinLines

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};

/// Runs the relay with `args` (after `relay`); never returns on success.
pub fn main(args: &[String]) -> io::Result<()> {
    let flag = |name: &str| args.iter().any(|a| a == name);
    let (tokio, stdin_thread, current_thread) = (
        flag("--tokio"),
        flag("--stdin-thread"),
        flag("--current-thread"),
    );
    let args: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .collect();
    if current_thread {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let relay = runtime.spawn(async move { tokio_relay(&args, Stdin::AsDuplex).await });
        return runtime.block_on(relay).map_err(io::Error::other)?;
    }
    if tokio || stdin_thread {
        let runtime = tokio::runtime::Runtime::new()?;
        let stdin = if stdin_thread {
            Stdin::Thread
        } else {
            Stdin::Tokio
        };
        return runtime.block_on(tokio_relay(&args, stdin));
    }
    let mut stdout = io::stdout().lock();
    let (stream, prefix) = match args.first().map(String::as_str) {
        Some("listen") => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            writeln!(stdout, "listening {}", listener.local_addr()?.port())?;
            stdout.flush()?;
            (listener.accept()?.0, args.get(1))
        }
        Some("connect") => {
            let addr = args
                .get(1)
                .ok_or_else(|| io::Error::other("relay connect ADDR"))?;
            (TcpStream::connect(addr)?, args.get(2))
        }
        _ => return Err(io::Error::other("relay listen|connect")),
    };
    let prefix = prefix.cloned().unwrap_or_default();
    stream.set_nodelay(true)?;
    writeln!(stdout, "connected")?;
    stdout.flush()?;

    let to_peer = stream.try_clone()?;
    std::thread::spawn(move || {
        let _ = pump(io::stdin(), to_peer.try_clone(), "");
        let _ = to_peer.shutdown(Shutdown::Write);
    });
    let _ = pump(stream, Ok(stdout), &prefix);
    std::process::exit(0);
}

/// Copies lines from `from` to `to`, each after `prefix`, flushing whenever
/// nothing more is buffered.
fn pump<R: Read, W: Write>(from: R, to: io::Result<W>, prefix: &str) -> io::Result<()> {
    let mut from = BufReader::with_capacity(1 << 16, from);
    let mut to = BufWriter::with_capacity(1 << 16, to?);
    let mut line = Vec::new();
    loop {
        line.clear();
        if from.read_until(b'\n', &mut line)? == 0 {
            to.flush()?;
            return Ok(());
        }
        to.write_all(prefix.as_bytes())?;
        to.write_all(&line)?;
        if from.buffer().is_empty() {
            to.flush()?;
        }
    }
}

/// How a tokio relay reads its standard input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stdin {
    /// `tokio::io::stdin` (tokio's blocking pool), as duplex first did.
    Tokio,
    /// A plain thread feeding the loop over a channel.
    Thread,
    /// duplex's own reader, on the event loop.
    AsDuplex,
}

/// The tokio relay (see the module's documentation).
async fn tokio_relay(args: &[String], stdin: Stdin) -> io::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    use tokio::sync::mpsc;

    let stream = match args.first().map(String::as_str) {
        Some("listen") => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            println!("listening {}", listener.local_addr()?.port());
            listener.accept().await?.0
        }
        Some("connect") => {
            let addr = args
                .get(1)
                .ok_or_else(|| io::Error::other("relay connect ADDR"))?;
            tokio::net::TcpStream::connect(addr).await?
        }
        _ => return Err(io::Error::other("relay listen|connect")),
    };
    let prefix = args
        .get(if args[0] == "listen" { 1 } else { 2 })
        .cloned()
        .unwrap_or_default();
    stream.set_nodelay(true)?;
    println!("connected");
    let (read_half, mut write_half) = stream.into_split();

    let (events_tx, mut events) = mpsc::channel::<String>(1024);
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(read_half).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if events_tx.send(line).await.is_err() {
                break;
            }
        }
    });
    let (out_tx, mut out_rx) = mpsc::channel::<String>(4096);
    tokio::spawn(async move {
        while let Some(first) = out_rx.recv().await {
            let mut next = Some(first);
            while let Some(mut line) = next.take() {
                line.push('\n');
                if write_half.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
                next = out_rx.try_recv().ok();
            }
            if write_half.flush().await.is_err() {
                return;
            }
        }
    });

    // Typed lines, as duplex reads them (`tokio::io::stdin` polled in the
    // loop), or from a plain thread over a channel.
    let mut tokio_stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut duplex_stdin = (stdin == Stdin::AsDuplex).then(duplex::stdin::StdinLines::new);
    let (stdin_tx, mut stdin_rx) = mpsc::channel::<io::Result<Option<String>>>(1024);
    let stdin_thread = stdin == Stdin::Thread;
    if stdin_thread {
        std::thread::spawn(move || {
            let mut lines = io::stdin().lock().lines();
            loop {
                let line = lines.next().transpose();
                let end = !matches!(line, Ok(Some(_)));
                if stdin_tx.blocking_send(line).is_err() || end {
                    break;
                }
            }
        });
    }
    // Locked per line, as duplex does, so the loop can be a spawned task.
    let mut out = io::stdout();
    loop {
        let line = tokio::select! {
            line = tokio_stdin.next_line(), if stdin == Stdin::Tokio => line,
            line = async { duplex_stdin.as_mut()?.next_line().await.transpose() },
                if stdin == Stdin::AsDuplex => line.transpose(),
            line = stdin_rx.recv(), if stdin_thread => line.unwrap_or(Ok(None)),
            line = events.recv() => match line {
                Some(line) => {
                    writeln!(out, "{prefix}{line}")?;
                    out.flush()?;
                    continue;
                }
                None => break,
            },
        };
        match line? {
            Some(line) => {
                if out_tx.try_send(line).is_err() {
                    break;
                }
            }
            None => break,
        }
    }
    out.flush()?;
    std::process::exit(0);
}
