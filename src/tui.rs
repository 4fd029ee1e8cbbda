//! The terminal front end: one `select!` loop over terminal input, network
//! events, the app's next deadline and signals, redrawing only after
//! something changed.
//!
//! The terminal is put back the way it was on every way out: a normal exit
//! or an error (the [`TerminalGuard`]'s `Drop`), a panic (a hook installed
//! before the screen changes), and SIGINT, SIGTERM or SIGHUP (turned into
//! events). Ctrl-Z and SIGTSTP suspend duplex as they do vim or less: the
//! terminal is put back, the process stops, and once it is continued (`fg`,
//! SIGCONT) the screen is taken again and drawn whole; Ctrl-L draws it whole
//! too ([`crate::app::Effect::Redraw`]). Once the screen is given back, the
//! last messages are printed to the normal terminal, to stay in its
//! scrollback.
//!
//! Keys: bracketed paste is on, so a paste arrives as one event; and the
//! kitty keyboard protocol's first level ("disambiguate escape codes") is
//! asked for, so a terminal that has it reports Shift-Enter apart from Enter.
//! Terminals without it ignore the request. Inside tmux it is not
//! available: tmux answers with xterm's `modifyOtherKeys` instead, whose
//! `CSI 27;…~` keys crossterm cannot read, so duplex does not ask tmux for
//! them; Alt-Enter and Ctrl-J start a new line everywhere. Keys that
//! arrived together (a paste without brackets, typing faster than a frame)
//! are handled together, before the next frame is drawn.

use std::io::{self, Write};
use std::time::Duration;

use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, EnableBracketedPaste, EnableFocusChange,
    Event as TermEvent, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
    KeyboardEnhancementFlags, MouseEventKind, PopKeyboardEnhancementFlags,
    PushKeyboardEnhancementFlags,
};
use crossterm::terminal::{Clear, ClearType, EnterAlternateScreen, enable_raw_mode};
use futures::{FutureExt, StreamExt};
use ratatui::Terminal;
use tokio::signal::unix::{SignalKind, signal};

use crate::app::{Event, Exit};
use crate::osc;
use crate::present;
use crate::runtime::Session;
use crate::terminal::{DisableMouseButtons, EnableMouseButtons, FixedBackend};
use crate::text::EmojiMode;
use crate::ui;

/// Owns the terminal while the TUI runs; restores it when dropped.
pub struct TerminalGuard {
    terminal: Terminal<FixedBackend<io::Stdout>>,
    /// The copy view's text and the terminal's size then, while it is on
    /// the screen instead of the chat.
    copy_view: Option<(String, (u16, u16))>,
}

impl TerminalGuard {
    /// Switches to the alternate screen in raw mode with mouse (buttons and
    /// wheel) and paste reporting, and makes sure a panic restores the
    /// terminal first.
    pub fn enter() -> io::Result<Self> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            disable_reporting();
            ratatui::restore();
            previous(info);
        }));
        take_terminal()?;
        let terminal = Terminal::new(FixedBackend::new(io::stdout()))?;
        Ok(Self {
            terminal,
            copy_view: None,
        })
    }
}

impl TerminalGuard {
    /// Gives the terminal back (as on exit), stops the process until it is
    /// continued, then takes the terminal again and makes the next draw a
    /// whole one: what Ctrl-Z and SIGTSTP do.
    fn suspend(&mut self) -> io::Result<()> {
        disable_reporting();
        ratatui::restore();
        let _ = crossterm::execute!(io::stdout(), crossterm::cursor::Show);
        // SIGTSTP is caught (to get here), so stop with SIGSTOP, which
        // cannot be: the shell sees the job stopped, and `fg` continues it.
        rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP)?;
        self.resume()
    }

    /// Takes the terminal again after the process was stopped and
    /// continued, and makes the next draw a whole one.
    fn resume(&mut self) -> io::Result<()> {
        take_terminal()?;
        self.redraw_whole()
    }

    /// Clears the terminal and makes the next draw a whole one (Ctrl-L,
    /// and after a suspension).
    fn redraw_whole(&mut self) -> io::Result<()> {
        crossterm::execute!(io::stdout(), Clear(ClearType::All))?;
        // A copy view on the screen was cleared: it is printed again.
        self.copy_view = None;
        // At rest the buffer to draw into is blank and the other holds the
        // last frame; swapping blanks that one too, so the next frame is
        // drawn whole. (`Terminal::clear` would ask the terminal where its
        // cursor is, and the answer would go to the event stream.)
        self.terminal.swap_buffers();
        Ok(())
    }
}

impl TerminalGuard {
    /// Shows the copy view's `text` instead of the chat screen: printed as
    /// it is for the terminal to wrap, with mouse reporting off so that the
    /// mouse selects text as it does in a shell. Drawn again only when the
    /// text changed, so that what is being selected stays put.
    fn show_copy_view(&mut self, text: String, size: (u16, u16)) -> io::Result<()> {
        if self.copy_view.as_ref() == Some(&(text.clone(), size)) {
            return Ok(());
        }
        let mut stdout = io::stdout();
        crossterm::queue!(
            stdout,
            DisableMouseButtons,
            crossterm::cursor::Hide,
            Clear(ClearType::All),
            crossterm::cursor::MoveTo(0, 0),
        )?;
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                stdout.write_all(b"\r\n")?;
            }
            stdout.write_all(line.replace('\r', "").as_bytes())?;
        }
        stdout.flush()?;
        self.copy_view = Some((text, size));
        Ok(())
    }

    /// Back from the copy view, if it shows: mouse reporting on again, and
    /// the next frame drawn whole over a clear screen.
    fn leave_copy_view(&mut self) -> io::Result<()> {
        if self.copy_view.take().is_none() {
            return Ok(());
        }
        crossterm::execute!(io::stdout(), Clear(ClearType::All), EnableMouseButtons)?;
        self.terminal.swap_buffers();
        Ok(())
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        disable_reporting();
        ratatui::restore();
    }
}

/// The kitty keyboard protocol's level asked for: keys with modifiers
/// (Shift-Enter) are reported apart; plain keys as before, releases never.
const KEYBOARD: KeyboardEnhancementFlags = KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES;

/// Most keys that arrived together handled before a frame is drawn.
const MAX_KEYS_PER_FRAME: usize = 4096;

/// Raw mode, the alternate screen, and every report duplex reads (mouse
/// buttons and wheel, paste, focus, keys with modifiers); undone by
/// [`disable_reporting`] and `ratatui::restore`.
fn take_terminal() -> io::Result<()> {
    enable_raw_mode()?;
    crossterm::execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableMouseButtons,
        EnableBracketedPaste,
        EnableFocusChange,
        PushKeyboardEnhancementFlags(KEYBOARD)
    )?;
    // The window title is changed only to count unread messages; the
    // terminal's own is kept to be put back.
    write_now(osc::PUSH_TITLE);
    Ok(())
}

fn disable_reporting() {
    let mut stdout = io::stdout();
    let _ = crossterm::execute!(
        stdout,
        PopKeyboardEnhancementFlags,
        DisableMouseButtons,
        DisableBracketedPaste,
        DisableFocusChange
    );
    write_now(osc::POP_TITLE);
}

/// Writes bytes duplex itself makes (see [`osc`]) to the terminal at once.
fn write_now(bytes: &[u8]) {
    let mut stdout = io::stdout();
    let _ = stdout.write_all(bytes);
    let _ = stdout.flush();
}

/// Runs the chat in the terminal until the app quits, drawing emoji in
/// `emoji` mode.
pub async fn run(mut session: Session, emoji: EmojiMode) -> anyhow::Result<Exit> {
    session.app.emoji = emoji;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigtstp = signal(SignalKind::from_raw(rustix::process::Signal::TSTP.as_raw()))?;
    let mut sigcont = signal(SignalKind::from_raw(rustix::process::Signal::CONT.as_raw()))?;
    // A person reads this screen: Ctrl-C asks before losing anything, and
    // the end of the conversation stays on screen until a key.
    session.app.interactive = true;
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    session.handle(Event::Resize(size.width, size.height));
    let mut input = EventStream::new();
    let mut dirty = true;
    let style = osc::Style::detect(|name| std::env::var(name).ok());
    // A guest's first connection, made now that the screen shows where to.
    let mut first = std::pin::pin!(session.first_join().fuse());

    let exit = loop {
        // The screen shows the state; what happened is already in it.
        session.take_outputs();
        // Bell, notification, title: what the app asked for, before the
        // frame that shows why.
        for alert in session.take_alerts() {
            write_now(&osc::bytes(&alert, style));
        }
        if session.take_redraw() {
            guard.redraw_whole()?;
            dirty = true;
        }
        if dirty {
            if session.app.copy_view {
                let text = ui::copy_view::copy_view_text(&session.app);
                guard.show_copy_view(text, session.app.size)?;
            } else {
                guard.leave_copy_view()?;
                guard
                    .terminal
                    .draw(|frame| ui::render(&session.app, frame))?;
            }
            dirty = false;
            panic_if_asked_to_for_tests();
        }
        let deadline = session.deadline();
        let event = tokio::select! {
            term = input.next() => match term {
                Some(Ok(term)) if is_suspend_key(&term) => {
                    guard.suspend()?;
                    dirty = true;
                    continue;
                }
                Some(Ok(term)) => match to_event(term) {
                    Some(event) => event,
                    None => continue,
                },
                Some(Err(err)) => return Err(err.into()),
                None => Event::EndOfInput,
            },
            Some(net) = session.events.recv() => Event::Net(net),
            Some(failed) = &mut first => failed,
            // Only when the app has a deadline; an idle duplex wakes for nothing.
            () = deadline => Event::Tick,
            _ = sigterm.recv() => Event::Terminate(128 + 15),
            _ = sigint.recv() => Event::Terminate(128 + 2),
            _ = sighup.recv() => Event::HangUp,
            _ = sigtstp.recv() => {
                guard.suspend()?;
                dirty = true;
                continue;
            }
            // Stopped and continued by someone else (SIGSTOP): the shell
            // may have drawn over the screen, so take it again.
            _ = sigcont.recv() => {
                guard.resume()?;
                dirty = true;
                continue;
            }
        };
        dirty = true;
        if let Some(exit) = session.handle(event) {
            break exit;
        }
        if let Some(exit) = handle_ready_keys(&mut session, &mut guard)? {
            break exit;
        }
        // Fold whatever else the network already delivered into this frame.
        if let Some(exit) = session.handle_burst() {
            break exit;
        }
    };
    session.registry.close_all().await;
    drop(guard);
    // The alternate screen is gone with the conversation on it: leave its
    // last lines in the terminal's scrollback, as talk and ncat do.
    let app = &session.app;
    let lines = present::last_lines(&app.history, app.zone, LAST_LINES);
    let mut stdout = io::stdout().lock();
    for line in lines {
        let _ = writeln!(stdout, "{line}");
    }
    let _ = stdout.flush();
    Ok(exit)
}

/// Handles the terminal events that already arrived (the rest of a paste
/// without brackets, keys typed faster than a frame) before the next frame
/// is drawn, so that a burst of keys is handled as one.
///
/// They are read with `event::poll` and `event::read`, which share the
/// `EventStream`'s reader: polling the stream itself outside the `select!`
/// would leave its wake-up with a waker nobody listens to. `poll` gives up
/// at once when the stream's own thread is waiting for input, so this never
/// blocks.
fn handle_ready_keys(session: &mut Session, guard: &mut TerminalGuard) -> io::Result<Option<Exit>> {
    for _ in 0..MAX_KEYS_PER_FRAME {
        if !crossterm::event::poll(Duration::ZERO)? {
            break;
        }
        let term = crossterm::event::read()?;
        if is_suspend_key(&term) {
            guard.suspend()?;
            break;
        }
        if let Some(event) = to_event(term)
            && let Some(exit) = session.handle(event)
        {
            return Ok(Some(exit));
        }
    }
    Ok(None)
}

/// How many of the last messages are printed to the terminal on the way out.
pub const LAST_LINES: usize = 10;

/// In debug builds only, panics once the screen is drawn when
/// `DUPLEX_TEST_PANIC` is set, so the end-to-end tests can check that a
/// panic restores the terminal.
fn panic_if_asked_to_for_tests() {
    #[cfg(debug_assertions)]
    if std::env::var_os("DUPLEX_TEST_PANIC").is_some() {
        #[allow(clippy::panic)]
        {
            panic!("DUPLEX_TEST_PANIC is set: panicking on purpose");
        }
    }
}

/// Whether `event` is Ctrl-Z, which suspends duplex as the terminal's own
/// Ctrl-Z would (raw mode turns it into a key).
fn is_suspend_key(event: &TermEvent) -> bool {
    matches!(
        event,
        TermEvent::Key(KeyEvent {
            code: KeyCode::Char('z'),
            modifiers: KeyModifiers::CONTROL,
            kind: KeyEventKind::Press,
            ..
        })
    )
}

/// The app's view of a terminal event; `None` for those it ignores.
fn to_event(event: TermEvent) -> Option<Event> {
    match event {
        TermEvent::Key(key) => Some(Event::Key(key)),
        // Only the wheel matters (the terminal reports no motion).
        TermEvent::Mouse(mouse)
            if matches!(
                mouse.kind,
                MouseEventKind::ScrollUp | MouseEventKind::ScrollDown
            ) =>
        {
            Some(Event::Mouse(mouse))
        }
        TermEvent::Mouse(_) => None,
        TermEvent::Paste(text) => Some(Event::Paste(text)),
        TermEvent::Resize(columns, rows) => Some(Event::Resize(columns, rows)),
        TermEvent::FocusGained => Some(Event::Focus(true)),
        TermEvent::FocusLost => Some(Event::Focus(false)),
    }
}
