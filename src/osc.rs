//! The control sequences duplex itself writes to get attention: the bell,
//! a desktop notification (OSC 9, OSC 777), and the window title (OSC 2,
//! saved and restored with the xterm title stack). The app decides
//! ([`Alert`]); this turns a decision into bytes, for the terminal front end
//! to write between frames.
//!
//! Nothing from a peer is ever written here: a notification's texts are
//! made inert by the app (no control character, no `;`), and every byte of
//! them is checked again on the way out.
//!
//! Inside tmux a notification is wrapped in tmux's passthrough (`ESC P
//! tmux; … ESC \`, with each ESC inside doubled) so it reaches the outer
//! terminal (tmux 3.3 and later need `set -g allow-passthrough on`); the
//! bell and the title tmux handles itself.

use crate::app::{Alert, Notification, Title};

/// Saves the window title on the terminal's title stack (xterm's CSI 22 t).
pub const PUSH_TITLE: &[u8] = b"\x1b[22;0t";

/// Restores the window title saved last (xterm's CSI 23 t).
pub const POP_TITLE: &[u8] = b"\x1b[23;0t";

/// Which notification sequences to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// OSC 9 (iTerm2, WezTerm, kitty, Ghostty).
    pub osc9: bool,
    /// OSC 777 (VTE terminals, foot, urxvt).
    pub osc777: bool,
    /// Inside tmux: notifications go through its passthrough.
    pub tmux: bool,
}

impl Style {
    /// The style for the terminal the environment describes (`var` reads
    /// a variable): the one sequence a known terminal understands (one
    /// that understands both would otherwise show two notifications), or
    /// both for one not known (a terminal ignores an OSC it does not know).
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> Self {
        let term = var("TERM").unwrap_or_default();
        let has = |name: &str| var(name).is_some_and(|value| !value.is_empty());
        let nine = has("ITERM_SESSION_ID")
            || has("WEZTERM_PANE")
            || has("KITTY_WINDOW_ID")
            || has("GHOSTTY_RESOURCES_DIR")
            || term.contains("kitty")
            || term.contains("ghostty");
        let seven = has("VTE_VERSION") || term.starts_with("foot") || term.starts_with("rxvt");
        let (osc9, osc777) = match (nine, seven) {
            (true, false) => (true, false),
            (false, true) => (false, true),
            _ => (true, true),
        };
        Self {
            osc9,
            osc777,
            tmux: has("TMUX"),
        }
    }
}

/// Whether a byte may appear inside a notification or a title: printable
/// (UTF-8 continuation and lead bytes included), never a control or `;`.
fn inert(byte: u8) -> bool {
    byte >= 0x20 && byte != 0x7f && byte != b';'
}

/// `text` with any byte that could end or change a sequence dropped (the
/// app already made it so; this is the last line of defence). A dropped
/// byte could split a UTF-8 character, so the rest is made valid again.
fn clean(text: &str) -> String {
    let bytes: Vec<u8> = text.bytes().filter(|&b| inert(b)).collect();
    String::from_utf8_lossy(&bytes)
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// `sequence` wrapped in tmux's passthrough.
fn passthrough(sequence: &[u8]) -> Vec<u8> {
    let mut out = b"\x1bPtmux;".to_vec();
    for &byte in sequence {
        if byte == 0x1b {
            out.push(0x1b);
        }
        out.push(byte);
    }
    out.extend_from_slice(b"\x1b\\");
    out
}

/// The notification's sequences.
fn notification(note: &Notification, style: Style) -> Vec<u8> {
    let title = clean(&note.title);
    let body = clean(&note.body);
    let mut sequences = Vec::new();
    if style.osc9 {
        sequences.push(format!("\x1b]9;{title}: {body}\x07").into_bytes());
    }
    if style.osc777 {
        sequences.push(format!("\x1b]777;notify;{title};{body}\x07").into_bytes());
    }
    sequences
        .into_iter()
        .flat_map(|seq| if style.tmux { passthrough(&seq) } else { seq })
        .collect()
}

/// The bytes that carry out `alert`.
pub fn bytes(alert: &Alert, style: Style) -> Vec<u8> {
    let mut out = Vec::new();
    if alert.bell {
        out.push(0x07);
    }
    if let Some(note) = &alert.notify {
        out.extend(notification(note, style));
    }
    match alert.title {
        Some(Title::Unread(count)) => {
            out.extend_from_slice(format!("\x1b]2;duplex ({count})\x1b\\").as_bytes());
        }
        // Back to the title saved at the start, saved again for next time.
        Some(Title::Restore) => {
            out.extend_from_slice(POP_TITLE);
            out.extend_from_slice(PUSH_TITLE);
        }
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Style = Style {
        osc9: true,
        osc777: true,
        tmux: false,
    };

    fn alert(name: &str) -> Alert {
        Alert {
            bell: true,
            notify: Some(Notification::from(name)),
            title: None,
        }
    }

    #[test]
    fn a_bell_and_a_notification_in_both_forms() {
        assert_eq!(
            bytes(&alert("bob"), BOTH),
            b"\x07\x1b]9;duplex: new message from bob\x07\
              \x1b]777;notify;duplex;new message from bob\x07"
        );
    }

    #[test]
    fn inside_tmux_notifications_pass_through_with_esc_doubled() {
        let style = Style {
            osc777: false,
            tmux: true,
            ..BOTH
        };
        assert_eq!(
            bytes(&alert("bob"), style),
            b"\x07\x1bPtmux;\x1b\x1b]9;duplex: new message from bob\x07\x1b\\"
        );
    }

    #[test]
    fn the_title_counts_and_is_restored() {
        let title = |title| Alert {
            title: Some(title),
            ..Alert::default()
        };
        assert_eq!(
            bytes(&title(Title::Unread(3)), BOTH),
            b"\x1b]2;duplex (3)\x1b\\"
        );
        assert_eq!(bytes(&title(Title::Restore), BOTH), b"\x1b[23;0t\x1b[22;0t");
        assert!(bytes(&Alert::default(), BOTH).is_empty());
    }

    /// Even a notification whose texts were not made inert (built by
    /// hand, not by the app) cannot end its sequence early or start one.
    #[test]
    fn hostile_text_cannot_inject_a_sequence() {
        let hostile = "\x1b]0;pwned\x07\u{9c}\u{9b}2J\x1b\\x\x1b[31m\r\n\u{7f}é";
        let forged = Alert {
            bell: false,
            notify: Some(Notification {
                title: hostile.to_owned(),
                body: hostile.to_owned(),
            }),
            title: None,
        };
        for style in [BOTH, Style { tmux: true, ..BOTH }] {
            let out = bytes(&forged, style);
            let text = String::from_utf8(out.clone()).unwrap();
            // Exactly the sequences' own controls: ESC to open each, BEL to
            // close it (and in tmux, the wrapper's).
            let escs = out.iter().filter(|&&b| b == 0x1b).count();
            let bels = out.iter().filter(|&&b| b == 0x07).count();
            assert_eq!(bels, 2, "{text:?}");
            assert_eq!(escs, if style.tmux { 2 * 2 + 2 * 2 } else { 2 }, "{text:?}");
            assert!(
                !text.contains('\u{9c}') && !text.contains('\u{9b}'),
                "{text:?}"
            );
            assert!(text.contains("]0pwned2J\\x[31mé"), "{text:?}");
        }
        // And the app's own notification of a hostile name.
        let out = bytes(&alert(hostile), BOTH);
        assert_eq!(out.iter().filter(|&&b| b < 0x20).count(), 1 + 2 + 2);
    }

    #[test]
    fn the_terminal_picks_the_sequence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let style = Style::detect(env(&[("TERM", "xterm-256color")]));
        assert!(style.osc9 && style.osc777 && !style.tmux);
        let style = Style::detect(env(&[("TERM", "tmux-256color"), ("TMUX", "/tmp/x,1,0")]));
        assert!(style.tmux);
        let style = Style::detect(env(&[("VTE_VERSION", "7600")]));
        assert!(!style.osc9 && style.osc777);
        let style = Style::detect(env(&[("TERM", "xterm-kitty")]));
        assert!(style.osc9 && !style.osc777);
    }
}
