//! Mouse reporting for buttons and the wheel only.
//!
//! crossterm's `EnableMouseCapture` also turns on any-motion tracking (mode
//! 1003): the terminal then reports every move of the pointer, waking duplex
//! for nothing. These commands turn on only button tracking (mode 1000, which
//! includes the wheel) in SGR encoding (mode 1006, no limit on columns), and
//! turn off exactly those again.

use std::fmt;

use crossterm::Command;

/// Report mouse buttons and the wheel (`CSI ? 1000 h`, `CSI ? 1006 h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnableMouseButtons;

/// Stop what [`EnableMouseButtons`] started (`CSI ? 1006 l`, `CSI ? 1000 l`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisableMouseButtons;

impl Command for EnableMouseButtons {
    fn write_ansi(&self, f: &mut impl fmt::Write) -> fmt::Result {
        f.write_str("\x1b[?1000h\x1b[?1006h")
    }
}

impl Command for DisableMouseButtons {
    fn write_ansi(&self, f: &mut impl fmt::Write) -> fmt::Result {
        f.write_str("\x1b[?1006l\x1b[?1000l")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ansi(command: impl Command) -> String {
        let mut out = String::new();
        command.write_ansi(&mut out).unwrap();
        out
    }

    #[test]
    fn only_buttons_and_the_wheel_are_reported() {
        assert_eq!(ansi(EnableMouseButtons), "\x1b[?1000h\x1b[?1006h");
        assert_eq!(ansi(DisableMouseButtons), "\x1b[?1006l\x1b[?1000l");
        // crossterm's own capture would also ask for every motion.
        let capture = ansi(crossterm::event::EnableMouseCapture);
        assert!(capture.contains("?1003h"), "{capture:?}");
        assert!(!ansi(EnableMouseButtons).contains("1003"));
        assert!(!ansi(EnableMouseButtons).contains("1002"));
    }

    #[test]
    fn disabling_undoes_every_mode_enabling_set() {
        let on = ansi(EnableMouseButtons);
        let off = ansi(DisableMouseButtons);
        for mode in on.split("\x1b[?").filter(|m| !m.is_empty()) {
            let number = mode.trim_end_matches('h');
            assert!(off.contains(&format!("\x1b[?{number}l")), "{number}");
        }
    }
}
