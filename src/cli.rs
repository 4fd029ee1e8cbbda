//! The command line: `duplex host` and `duplex join ADDR`, and running them.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::app::Exit;
use crate::headless::{self, Output};
use crate::net::host::DEFAULT_PORT;
use crate::net::plain::encoding_for;
use crate::net::{Host, Target};
use crate::runtime::{Mode, Options, Session};
use crate::text::{MAX_NAME_WIDTH, display_width, sanitize_name};
use crate::tui;
use crate::words::{generate_code, normalize_code};

/// Private, instant chat between two terminals.
#[derive(Debug, Parser)]
#[command(name = "duplex", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Wait for someone to join, and chat with them.
    Host {
        /// TCP port to listen on (0 picks a free one).
        #[arg(short, long, default_value_t = DEFAULT_PORT)]
        port: u16,
        /// Listen on this address only [default: all interfaces, IPv4 and IPv6].
        #[arg(short, long, value_name = "IP")]
        bind: Option<IpAddr>,
        /// Also chat with plain text clients (netcat, simple socket
        /// programs): unencrypted and unverified, and marked so on screen.
        #[arg(long)]
        allow_plain: bool,
        /// Options both subcommands take.
        #[command(flatten)]
        common: Common,
    },
    /// Join a host: ADDR is host, host:port, [v6]:port or a hostname (port 7878 by default).
    Join {
        /// The host to join.
        #[arg(value_name = "ADDR")]
        addr: String,
        /// Chat with a plain text server (nc -l, a small socket program)
        /// instead of a duplex host: lines of text, no encryption.
        #[arg(long)]
        plain: bool,
        /// Options both subcommands take.
        #[command(flatten)]
        common: Common,
    },
}

/// Options both subcommands take.
#[derive(Debug, Args)]
pub struct Common {
    /// Your name in the conversation [default: your login name].
    #[arg(short, long)]
    pub name: Option<String>,
    /// No TUI: stdin lines are sent, received messages are printed
    /// (chosen automatically when stdin is not a terminal).
    #[arg(long)]
    pub headless: bool,
    /// Secret code. host: guests must give it (a new code is made when
    /// none follows); join: the host's code (asked for when none follows).
    #[arg(
        long,
        env = "DUPLEX_SECRET",
        hide_env_values = true,
        num_args = 0..=1,
        default_missing_value = "",
        value_name = "CODE"
    )]
    pub secret: Option<String>,
    /// Text encoding of plain text peers: utf-8, gbk, gb18030, big5,
    /// shift_jis, euc-kr, or any other WHATWG encoding label.
    #[arg(long, value_name = "NAME", default_value = "utf-8")]
    pub encoding: String,
    /// With --headless: print one JSON object per event.
    #[arg(long)]
    pub json: bool,
    /// Append each conversation to a text transcript in this folder (made
    /// 0700 if missing): one file per conversation, one line per message,
    /// time, name and text, tab-separated.
    #[arg(long, value_name = "DIR")]
    pub log: Option<PathBuf>,
    /// Write diagnostics to this file (filter with RUST_LOG, e.g. RUST_LOG=debug).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Keep nothing on disk. By default, while a conversation is on, its
    /// resume token and any undelivered messages are kept in
    /// ~/.local/state/duplex (removed when the conversation ends), so a
    /// duplex that was killed carries on when started again.
    #[arg(long)]
    pub ephemeral: bool,
    /// Most messages the screen keeps (the oldest go first; at most 64 MiB
    /// of text in any case).
    #[arg(
        long,
        value_name = "N",
        default_value_t = crate::domain::Limits::DEFAULT.history_entries as u32,
        value_parser = clap::value_parser!(u32).range(2..)
    )]
    pub history_limit: u32,
}

impl Command {
    fn common(&self) -> &Common {
        match self {
            Command::Host { common, .. } | Command::Join { common, .. } => common,
        }
    }
}

/// Checks a chosen name; the default is the login name.
fn resolve_name(name: Option<&str>) -> anyhow::Result<String> {
    let Some(name) = name else {
        let login = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_default();
        let clean = sanitize_name(&login);
        return Ok(if clean == "anonymous" || clean.is_empty() {
            "guest".to_owned()
        } else {
            clean
        });
    };
    let clean = sanitize_name(name);
    if clean != name.trim() || name.trim().is_empty() {
        anyhow::bail!(
            "invalid --name {name:?}: use up to {MAX_NAME_WIDTH} columns of visible characters"
        );
    }
    debug_assert!(display_width(&clean) <= MAX_NAME_WIDTH);
    Ok(clean)
}

/// Sends diagnostics to a file; never to the terminal, which the TUI owns.
fn init_logging(path: &std::path::Path) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open log file {}", path.display()))?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    Ok(())
}

/// How `--secret` appears among the raw arguments `args` (without the
/// program's name): `Some(true)` with a value, `Some(false)` alone, `None`
/// not at all (perhaps `DUPLEX_SECRET` gave it).
fn secret_argument<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> Option<bool> {
    let mut args = args.into_iter().peekable();
    let mut found = None;
    while let Some(arg) = args.next() {
        let arg = arg.as_ref().to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--secret" {
            let value = args
                .peek()
                .is_some_and(|next| !next.as_ref().to_string_lossy().starts_with('-'));
            found = Some(value);
        } else if let Some(value) = arg.strip_prefix("--secret=") {
            found = Some(!value.is_empty());
        }
    }
    found
}

/// Words of a code a person chose that is at least this hard to guess.
pub const MIN_CODE_WORDS: usize = 3;
/// Characters of a code a person chose that is at least this hard to guess.
pub const MIN_CODE_CHARS: usize = 12;

/// What to warn about the secret code: one given on the command line
/// (`on_command_line`), where `ps` shows it to every user of the machine,
/// and a host's `custom` code (normalised) that is short.
fn code_warnings(is_host: bool, on_command_line: bool, custom: Option<&str>) -> Vec<String> {
    let mut warnings = Vec::new();
    if on_command_line {
        warnings.push(
            "the secret code is on the command line, where `ps` shows it to every user of this \
             machine: give it as DUPLEX_SECRET=CODE instead (or, joining, type it when asked)"
                .to_owned(),
        );
    }
    if is_host
        && let Some(code) = custom
        && (code.split('-').count() < MIN_CODE_WORDS || code.chars().count() < MIN_CODE_CHARS)
    {
        warnings.push(format!(
            "the secret code is short and easy to guess: use {MIN_CODE_WORDS} words or \
             {MIN_CODE_CHARS} characters or more (--secret alone makes up one)"
        ));
    }
    warnings
}

/// Runs the parsed command line; returns how to exit.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let common = cli.command.common();
    if let Some(path) = &common.log_file {
        init_logging(path)?;
    }
    let name = resolve_name(common.name.as_deref())?;
    let headless = common.headless || common.json || !std::io::stdin().is_terminal();
    if !headless && !std::io::stdout().is_terminal() {
        // Checked before anything starts: drawing into a file or a pipe
        // would fill it with escape codes and leave nothing to read.
        anyhow::bail!(
            "standard output is not a terminal, and the chat screen needs one: \
             use --headless to print messages as lines instead"
        );
    }
    let output = if common.json {
        Output::Json
    } else {
        Output::Text
    };
    let Some(encoding) = encoding_for(&common.encoding) else {
        anyhow::bail!(
            "unknown encoding '{}': use a name such as utf-8, gbk, gb18030, big5, shift_jis or euc-kr",
            common.encoding
        );
    };
    let is_host = matches!(cli.command, Command::Host { .. });
    let on_command_line = secret_argument(std::env::args_os().skip(1));
    let given = match common.secret.as_deref() {
        // An empty DUPLEX_SECRET means no code.
        Some(value) if on_command_line.is_none() && normalize_code(value).is_empty() => None,
        given => given,
    };
    let code = match given.map(normalize_code) {
        None => None,
        Some(code) if !code.is_empty() => Some(code),
        Some(_) if is_host => Some(generate_code()),
        Some(_) => None, // asked for in the TUI if the host wants one
    };
    let custom = given.map(normalize_code).filter(|code| !code.is_empty());
    for warning in code_warnings(is_host, on_command_line == Some(true), custom.as_deref()) {
        eprintln!("duplex: warning: {warning}");
    }
    let allow_plain = matches!(
        cli.command,
        Command::Host {
            allow_plain: true,
            ..
        }
    );
    if allow_plain && code.is_some() {
        anyhow::bail!(
            "--allow-plain would let plain text clients in without the secret code: use --secret or --allow-plain, not both"
        );
    }
    if matches!(cli.command, Command::Join { plain: true, .. }) && code.is_some() {
        anyhow::bail!(
            "a secret code cannot protect a plain text connection: drop --secret (or unset DUPLEX_SECRET) with --plain"
        );
    }
    let mode = match &cli.command {
        Command::Host { port, bind, .. } => Mode::Host(Host::bind(*bind, *port)?),
        Command::Join {
            addr, plain: true, ..
        } => Mode::JoinPlain(addr.parse::<Target>()?),
        Command::Join { addr, .. } => Mode::Join(addr.parse::<Target>()?),
    };
    // A journal per conversation: the host's by its port (a random port
    // could not be found again), the guest's by the address it joins.
    let journal_key = match &cli.command {
        Command::Host { port: 0, .. } | Command::Join { plain: true, .. } => None,
        Command::Host { port, .. } => Some(format!("host-{port}")),
        Command::Join { addr, .. } => addr
            .parse::<Target>()
            .ok()
            .map(|target| format!("join-{target}")),
    };
    let journal = journal_key
        .filter(|_| !common.ephemeral)
        .and_then(|key| crate::journal::default_dir().map(|dir| (dir, key)));
    if let Some(dir) = &common.log {
        crate::transcript::make_log_dir(dir).context("--log cannot keep transcripts there")?;
    }
    let options = Options {
        log: common.log.clone(),
        name,
        code,
        can_ask: !headless,
        allow_plain,
        encoding,
        journal,
        limits: crate::domain::Limits {
            history_entries: common.history_limit as usize,
            ..crate::domain::Limits::from_env()
        },
    };
    let session = Session::start(mode, options).await?;
    if headless {
        headless::run(session, output).await
    } else {
        tui::run(session).await
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn a_code_on_the_command_line_is_told_from_one_in_the_environment() {
        assert_eq!(secret_argument(["host", "--port", "0"]), None);
        assert_eq!(secret_argument(["host", "--secret"]), Some(false));
        assert_eq!(
            secret_argument(["host", "--secret", "--port", "0"]),
            Some(false)
        );
        assert_eq!(secret_argument(["host", "--secret", "amber"]), Some(true));
        assert_eq!(secret_argument(["join", "h", "--secret=a-b-c"]), Some(true));
        assert_eq!(secret_argument(["join", "h", "--secret="]), Some(false));
    }

    #[test]
    fn codes_on_the_command_line_and_short_codes_are_warned_about() {
        assert!(code_warnings(true, false, None).is_empty());
        assert!(code_warnings(true, false, Some("amber-otter-violin")).is_empty());
        assert!(code_warnings(false, false, Some("abc")).is_empty());
        let warnings = code_warnings(true, true, Some("abc"));
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("DUPLEX_SECRET=CODE"), "{warnings:?}");
        assert!(warnings[1].contains("short"), "{warnings:?}");
        // Three words but few characters, or many characters in one word.
        assert_eq!(code_warnings(true, false, Some("a-b-c")).len(), 1);
        assert_eq!(
            code_warnings(true, false, Some("correcthorsebattery")).len(),
            1
        );
    }

    fn history_limit(args: &[&str]) -> Result<u32, clap::Error> {
        Cli::try_parse_from(args).map(|cli| cli.command.common().history_limit)
    }

    #[test]
    fn the_history_limit_is_a_flag_with_a_generous_default() {
        assert_eq!(history_limit(&["duplex", "host"]).unwrap(), 100_000);
        assert_eq!(
            history_limit(&["duplex", "join", "h", "--history-limit", "500"]).unwrap(),
            500
        );
        assert!(history_limit(&["duplex", "host", "--history-limit", "1"]).is_err());
        assert!(history_limit(&["duplex", "host", "--history-limit", "x"]).is_err());
    }
}
