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

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};

/// Runs the relay with `args` (after `relay`); never returns on success.
pub fn main(args: &[String]) -> io::Result<()> {
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
