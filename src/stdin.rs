//! Lines of standard input for the headless front end, read without a
//! thread hop when standard input is a pipe or a socket.
//!
//! `tokio::io::stdin` hands every read to tokio's blocking pool: a thread
//! waits in `read(2)`, then wakes the runtime, and each line costs a few
//! context switches. When standard input is a pipe or a socket (how scripts,
//! bots and benchmarks feed duplex), [`StdinLines`] instead registers it
//! with the runtime's own event loop and reads only what `FIONREAD` says is
//! there, so a read never blocks and the file's flags (shared with whoever
//! else holds it) are never changed. A terminal or a regular file is read
//! through `tokio::io::stdin` as before.
//!
//! Either way the lines come without their `\n` or `\r\n`, a last line
//! without a line break still counts, and bytes that are not UTF-8 become
//! U+FFFD (`�`): one bad byte costs its own characters, never the line or
//! the rest of the input.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncBufReadExt, BufReader, Split};

/// Bytes asked for per read at least (more if more are waiting).
const READ_CHUNK: usize = 16 * 1024;

/// Lines of standard input.
#[derive(Debug)]
pub struct StdinLines {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    /// A pipe or a socket, read on the runtime's thread.
    Ready(FdLines),
    /// Anything else, read through tokio's blocking pool.
    Blocking(Split<BufReader<tokio::io::Stdin>>),
}

impl StdinLines {
    /// Standard input, read in the cheapest way its kind allows. Must be
    /// called within a tokio runtime.
    pub fn new() -> Self {
        let ready = io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .and_then(FdLines::new);
        let inner = match ready {
            Ok(Some(lines)) => Inner::Ready(lines),
            Ok(None) => Inner::Blocking(BufReader::new(tokio::io::stdin()).split(b'\n')),
            Err(err) => {
                tracing::debug!(%err, "reading standard input through the blocking pool");
                Inner::Blocking(BufReader::new(tokio::io::stdin()).split(b'\n'))
            }
        };
        Self { inner }
    }

    /// The next line, or `None` at the end of the input.
    ///
    /// Cancel safe: if the future is dropped before it finishes, no input
    /// is lost (whatever was read waits for the next call).
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        match &mut self.inner {
            Inner::Ready(lines) => lines.next_line().await,
            Inner::Blocking(lines) => Ok(lines.next_segment().await?.map(|line| decode(&line))),
        }
    }
}

impl Default for StdinLines {
    fn default() -> Self {
        Self::new()
    }
}

/// Lines of a pipe or a socket, read when the event loop says it is
/// readable and only as much as `FIONREAD` says is waiting, so that reading
/// never blocks even though the descriptor stays in blocking mode.
#[derive(Debug)]
pub struct FdLines {
    fd: AsyncFd<File>,
    /// Bytes read; those before `start` are handed out already.
    buf: Vec<u8>,
    start: usize,
    /// The input has ended; what is left in `buf` is the last line.
    ended: bool,
}

impl FdLines {
    /// Lines of `fd` if it is a pipe or a socket (`None` if it is something
    /// else). Must be called within a tokio runtime.
    pub fn new(fd: OwnedFd) -> io::Result<Option<Self>> {
        let file = File::from(fd);
        let kind = file.metadata()?.file_type();
        if !(kind.is_fifo() || kind.is_socket()) {
            return Ok(None);
        }
        // Checked once here, so an unsupported descriptor falls back
        // instead of failing at the first read.
        rustix::io::ioctl_fionread(&file)?;
        Ok(Some(Self {
            fd: register(file)?,
            buf: Vec::new(),
            start: 0,
            ended: false,
        }))
    }

    /// The next line, or `None` at the end of the input. Cancel safe.
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        loop {
            if let Some(line) = self.take_line()? {
                return Ok(Some(line));
            }
            if self.ended {
                return Ok(None);
            }
            let mut guard = self.fd.readable().await?;
            let mut file = guard.get_inner();
            let waiting = rustix::io::ioctl_fionread(file)?;
            if waiting == 0 {
                let ready = guard.ready();
                if !(ready.is_read_closed() || ready.is_error()) {
                    // Woken for bytes an earlier read took already.
                    guard.clear_ready();
                    continue;
                }
                // The other end is gone (or the descriptor failed): the
                // read below returns at once, with 0 or the error.
            }
            let wanted = usize::try_from(waiting)
                .unwrap_or(usize::MAX)
                .max(READ_CHUNK);
            // Drop the bytes handed out already before the buffer grows.
            self.buf.drain(..self.start);
            self.start = 0;
            let old_len = self.buf.len();
            self.buf.resize(old_len + wanted, 0);
            let read = file.read(&mut self.buf[old_len..]);
            self.buf.truncate(old_len + *read.as_ref().unwrap_or(&0));
            match read {
                Ok(0) => self.ended = true,
                // Fewer bytes than asked for: the pipe is empty now. Bytes
                // that arrive later wake the event loop again (and if they
                // came already, tokio keeps the readiness).
                Ok(n) if n < wanted => guard.clear_ready(),
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => guard.clear_ready(),
                Err(err) => return Err(err),
            }
        }
    }

    /// Takes the next complete line out of the buffer (or, once the input
    /// has ended, the unterminated rest).
    fn take_line(&mut self) -> io::Result<Option<String>> {
        let rest = &self.buf[self.start..];
        let (line, used) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&rest[..end], end + 1),
            None if self.ended && !rest.is_empty() => (rest, rest.len()),
            None => return Ok(None),
        };
        let line = decode(line);
        self.start += used;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Ok(Some(line))
    }
}

/// A line's text without its `\r`, with U+FFFD for bytes that are not UTF-8.
fn decode(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

/// Registers `file` with the runtime's event loop.
///
/// `AsyncFd::new` is deprecated because a type could hand out a different
/// descriptor later; a `File` owns its descriptor for its whole life, which
/// is what the (unsafe, here forbidden) `AsyncFd::register` asks of callers.
#[allow(deprecated)]
fn register(file: File) -> io::Result<AsyncFd<File>> {
    AsyncFd::new(file)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    use super::*;

    /// A pipe as the shell makes it: both ends in blocking mode.
    fn pipe() -> (FdLines, File) {
        let (write, read) = tokio::net::unix::pipe::pipe().unwrap();
        let (read, write) = (read.into_blocking_fd(), write.into_blocking_fd());
        let lines = FdLines::new(read.unwrap()).unwrap().unwrap();
        (lines, File::from(write.unwrap()))
    }

    #[tokio::test]
    async fn lines_come_without_their_line_breaks() {
        let (mut lines, mut input) = pipe();
        input.write_all(b"one\ntwo\r\nthree\n\n").unwrap();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("one"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("two"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("three"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some(""));
        input.write_all(b"later\n").unwrap();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("later"));
    }

    #[tokio::test]
    async fn the_end_of_input_ends_the_lines_after_an_unterminated_last_one() {
        let (mut lines, mut input) = pipe();
        input.write_all(b"first\nlast").unwrap();
        drop(input);
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("first"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("last"));
        assert_eq!(lines.next_line().await.unwrap(), None);
        assert_eq!(lines.next_line().await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_empty_input_has_no_lines() {
        let (mut lines, input) = pipe();
        drop(input);
        assert_eq!(lines.next_line().await.unwrap(), None);
    }

    #[tokio::test]
    async fn bytes_that_are_not_utf8_become_replacement_characters() {
        let (mut lines, mut input) = pipe();
        input
            .write_all(b"ok\n\xff\xfe bad\r\nh\xc3\xa9 \xc3\nlast\n")
            .unwrap();
        drop(input);
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ok"));
        let bad = lines.next_line().await.unwrap();
        assert_eq!(bad.as_deref(), Some("\u{fffd}\u{fffd} bad"));
        let cut = lines.next_line().await.unwrap();
        assert_eq!(cut.as_deref(), Some("hé \u{fffd}"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("last"));
        assert_eq!(lines.next_line().await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_line_split_across_writes_comes_whole() {
        let (mut lines, mut input) = pipe();
        input.write_all(b"hel").unwrap();
        let writer = std::thread::spawn(move || {
            input.write_all(b"lo\n").unwrap();
            input
        });
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("hello"));
        drop(writer.join().unwrap());
        assert_eq!(lines.next_line().await.unwrap(), None);
    }

    #[tokio::test]
    async fn more_than_a_pipe_holds_arrives_in_order() {
        let (mut lines, mut input) = pipe();
        let count = 50_000; // about 1 MB, many times a pipe's buffer
        let writer = std::thread::spawn(move || {
            for i in 0..count {
                writeln!(input, "line {i:08} abcdefghijklmnop").unwrap();
            }
        });
        for i in 0..count {
            let line = lines.next_line().await.unwrap();
            assert_eq!(line, Some(format!("line {i:08} abcdefghijklmnop")));
        }
        writer.join().unwrap();
        assert_eq!(lines.next_line().await.unwrap(), None);
        assert!(lines.buf.capacity() < 1 << 20, "the buffer is reused");
    }

    #[tokio::test]
    async fn a_cancelled_read_loses_nothing() {
        let (mut lines, mut input) = pipe();
        // Nothing to read yet: the read is abandoned while it waits.
        let waited = tokio::time::timeout(std::time::Duration::ZERO, lines.next_line()).await;
        assert!(waited.is_err());
        input.write_all(b"a\nb\n").unwrap();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("a"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn a_socket_works_as_a_pipe_does() {
        let (read, mut write) = UnixStream::pair().unwrap();
        let mut lines = FdLines::new(read.into()).unwrap().unwrap();
        write.write_all(b"over a socket\n").unwrap();
        drop(write);
        let line = lines.next_line().await.unwrap();
        assert_eq!(line.as_deref(), Some("over a socket"));
        assert_eq!(lines.next_line().await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_regular_file_is_left_to_the_blocking_pool() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"x\n").unwrap();
        assert!(FdLines::new(file.into()).unwrap().is_none());
    }
}
