//! A ratatui backend that moves the cursor explicitly after wide cells.
//!
//! ratatui 0.30.2's `CrosstermBackend::draw` skips the cursor move to a
//! cell right after the previous one, assuming every cell advances the
//! cursor by one column. After a wide cell it advances two, and ratatui
//! writes the trailing cell of a VS16 emoji (❤️) too, so the rest of the row
//! lands one column to the right (ratatui issue 2651, fixed by pull request
//! 2721, not in a release yet). [`FixedBackend`] hands the cells to the
//! crossterm backend in runs that each end at such a cell (and at the
//! trailing cells it covers): a run always starts with a cursor move, so the
//! cell after a wide one goes where it belongs whatever the terminal did
//! with the wide one.

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use unicode_width::UnicodeWidthStr;

/// [`CrosstermBackend`] with a cursor move after every wide cell.
#[derive(Debug)]
pub struct FixedBackend<W: Write> {
    inner: CrosstermBackend<W>,
}

impl<W: Write> FixedBackend<W> {
    /// A backend writing to `writer`.
    pub fn new(writer: W) -> Self {
        Self {
            inner: CrosstermBackend::new(writer),
        }
    }
}

/// Whether a terminal may leave its cursor somewhere else than one column
/// after `symbol`: wider than one cell, or an emoji sequence (VS16, ZWJ)
/// that terminals measure differently.
fn moves_cursor_unpredictably(symbol: &str) -> bool {
    symbol.width() > 1 || symbol.contains(['\u{FE0F}', '\u{200D}'])
}

impl<W: Write> Backend for FixedBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut run: Vec<(u16, u16, &'a Cell)> = Vec::new();
        // The row and the columns a wide cell covers after its first one:
        // ratatui writes the trailing cell of a VS16 emoji too, and the cell
        // after that needs a move as well.
        let mut covered: Option<(u16, std::ops::Range<u16>)> = None;
        for (x, y, cell) in content {
            run.push((x, y, cell));
            let in_shadow = covered
                .as_ref()
                .is_some_and(|(row, cols)| *row == y && cols.contains(&x));
            if moves_cursor_unpredictably(cell.symbol()) {
                let width = u16::try_from(cell.symbol().width()).unwrap_or(u16::MAX);
                covered = Some((y, x.saturating_add(1)..x.saturating_add(width.max(2))));
                self.inner.draw(run.drain(..))?;
            } else if in_shadow {
                self.inner.draw(run.drain(..))?;
            }
        }
        if !run.is_empty() {
            self.inner.draw(run.into_iter())?;
        }
        Ok(())
    }

    fn append_lines(&mut self, n: u16) -> io::Result<()> {
        self.inner.append_lines(n)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// A writer whose bytes the test keeps a handle on.
    #[derive(Clone, Default)]
    struct Capture(Rc<RefCell<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Capture {
        fn text(&self) -> String {
            String::from_utf8(self.0.borrow().clone()).unwrap()
        }
    }

    /// The cells that change from `before` to `after` on a 12-cell row,
    /// drawn by `draw`; the bytes written.
    fn drawn<B: Backend>(make: impl Fn(Capture) -> B, before: &str, after: &str) -> String {
        let area = Rect::new(0, 0, 12, 1);
        let mut old = Buffer::empty(area);
        old.set_string(0, 0, before, ratatui::style::Style::new());
        let mut new = Buffer::empty(area);
        new.set_string(0, 0, after, ratatui::style::Style::new());
        let capture = Capture::default();
        let mut backend = make(capture.clone());
        assert!(backend.draw(old.diff(&new).into_iter()).is_ok());
        capture.text()
    }

    /// The bytes [`FixedBackend`] writes to turn `before` into `after`.
    fn bytes(before: &str, after: &str) -> String {
        drawn(FixedBackend::new, before, after)
    }

    /// `ESC [ row ; col H`, 1-based, as crossterm writes a move to `(x, y)`.
    fn move_to(x: u16, y: u16) -> String {
        format!("\x1b[{};{}H", y + 1, x + 1)
    }

    #[test]
    fn the_cell_after_a_vs16_emoji_is_placed_explicitly() {
        // ratatui writes the heart and its trailing cell; the plain crossterm
        // backend would print "b" right after them with no move.
        let out = bytes("xxxxxxxxxxxx", "a❤\u{fe0f}b|end");
        let heart = out.find('❤').unwrap();
        let b = out.find('b').unwrap();
        assert!(
            out[heart..b].contains(&move_to(3, 0)),
            "no move to column 3 between ❤️ and b: {out:?}"
        );
        let plain = drawn(CrosstermBackend::new, "xxxxxxxxxxxx", "a❤\u{fe0f}b|end");
        let (heart, b) = (plain.find('❤').unwrap(), plain.find('b').unwrap());
        assert!(
            !plain[heart..b].contains(&move_to(3, 0)),
            "ratatui now moves the cursor itself (issue 2651 fixed): {plain:?}"
        );
    }

    #[test]
    fn wide_and_joined_cells_end_a_run() {
        for wide in ["中", "👍", "👨\u{200d}👩\u{200d}👧\u{200d}👦", "🇸🇬"] {
            let out = bytes("xxxxxxxxxxxx", &format!("a{wide}b"));
            let b = out.find('b').unwrap();
            assert!(out[..b].ends_with(&move_to(3, 0)), "{wide}: {out:?}");
        }
    }

    #[test]
    fn narrow_cells_are_written_in_one_run() {
        let out = bytes("xxxxxxxxxxxx", "abc");
        assert_eq!(out.matches('H').count(), 1, "one move only: {out:?}");
        assert!(out.starts_with(&format!("{}abc", move_to(0, 0))), "{out:?}");
    }
}
