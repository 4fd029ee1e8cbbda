//! The command line: `duplex host` and `duplex join ADDR`, and running them;
//! `duplex completions SHELL` and `duplex man` print what a shell and `man`
//! need.
//!
//! A setting comes from the command line, else from its `DUPLEX_*`
//! environment variable (clap's `env`), else from the config file
//! ([`crate::config`]), else its default.

use std::io::{IsTerminal, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::app::Exit;
use crate::config::{self, ColorChoice, Config, ConfigError, EmojiSetting, ThemeName};
use crate::domain::{HeldMessages, Newcomers};
use crate::headless::{self, Output};
use crate::keymap::Keymap;
use crate::net::host::DEFAULT_PORT;
use crate::net::plain::{ByteOrder, Framing, encoding_for};
use crate::net::{Host, Target};
use crate::runtime::{Mode, Options, Session};
use crate::text::{MAX_NAME_WIDTH, sanitize_name};
use crate::tui;
use crate::words::{generate_code, normalize_code};

/// Private, instant chat between two terminals.
#[derive(Debug, Parser)]
#[command(name = "duplex", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Read settings from this file instead of the default one
    /// (~/.config/duplex/config.toml on Linux).
    #[arg(long, global = true, value_name = "PATH", env = "DUPLEX_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Examples for `duplex --help` (lines short enough for the manual page).
const EXAMPLES: &str = "\
Examples:
  duplex host                      wait; the screen says how to join
  duplex join 192.168.1.5          join that host (port 7878)
  duplex host --secret             make up a code guests must give
  duplex join 10.0.0.2 --headless  lines in, lines out, for scripts
  DUPLEX_SECRET=amber-otter-violin duplex join chat.example.org:9000
  source <(duplex completions bash)    in ~/.bashrc: complete duplex
  duplex man | man -l -            read the manual";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Wait for someone to join, and chat with them.
    #[command(
        after_help = "Examples:\n  duplex host\n  duplex host --port 9000 --secret\n  duplex host --allow-plain --encoding gbk"
    )]
    Host {
        /// TCP port to listen on (0 picks a free one) [default: 7878].
        #[arg(short, long, env = "DUPLEX_PORT")]
        port: Option<u16>,
        /// Listen on this address only: an IP address or a host name
        /// [default: all interfaces, IPv4 and IPv6].
        #[arg(short, long, value_name = "ADDR")]
        bind: Option<String>,
        /// Also chat with plain text clients (netcat, simple socket
        /// programs): unencrypted and unverified, and marked so on screen.
        #[arg(long)]
        allow_plain: bool,
        /// While your guest is away (its connection dropped and it may come
        /// back), what to do with someone new: ask you (the chat screen's
        /// default), refuse (headless default) or admit (the guest's place
        /// is given up).
        #[arg(long, value_enum, value_name = "WHAT")]
        newcomers: Option<NewcomersArg>,
        /// How plain text clients frame their messages (with --allow-plain).
        #[arg(
            long,
            value_name = "HOW",
            value_enum,
            default_value_t,
            requires = "allow_plain"
        )]
        plain_framing: PlainFraming,
        /// Options both subcommands take.
        #[command(flatten)]
        common: Common,
    },
    /// Join a host: ADDR is host, host:port, [v6]:port or a hostname (port
    /// 7878 by default); `duplex join HOST PORT` works too.
    #[command(
        after_help = "Examples:\n  duplex join 192.168.1.5\n  duplex join [2001:db8::5]:7878\n  duplex join 192.168.1.5 9000\n  duplex join localhost:9000 --plain"
    )]
    Join {
        /// The host to join.
        #[arg(value_name = "ADDR")]
        addr: String,
        /// The port, when not given in ADDR (as with netcat: HOST PORT).
        #[arg(value_name = "PORT")]
        port: Option<String>,
        /// Chat with a plain text server (nc -l, a small socket program)
        /// instead of a duplex host: lines of text, no encryption.
        #[arg(long)]
        plain: bool,
        /// When the host turns out to be a new conversation (it started
        /// afresh, or someone else answers there), what to do with messages
        /// typed for the earlier one: ask (hold them and ask; headless:
        /// hold them until `/held send` or `/held discard`), send, discard.
        #[arg(long, value_enum, value_name = "WHAT", default_value = "ask")]
        held_messages: HeldArg,
        /// How the plain text server frames its messages (with --plain).
        #[arg(
            long,
            value_name = "HOW",
            value_enum,
            default_value_t,
            requires = "plain"
        )]
        plain_framing: PlainFraming,
        /// Options both subcommands take.
        #[command(flatten)]
        common: Common,
    },
    /// Print a completion script for SHELL to standard output.
    #[command(after_help = "Examples:\n  \
        duplex completions bash > ~/.local/share/bash-completion/completions/duplex\n  \
        duplex completions zsh > ~/.zfunc/_duplex\n  \
        duplex completions fish > ~/.config/fish/completions/duplex.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output: `duplex man | man -l -`.
    Man,
}

/// `--newcomers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NewcomersArg {
    /// Ask the person at the chat screen.
    Ask,
    /// Turn them away: the seat waits for the guest.
    Refuse,
    /// Let them in, giving up the away guest's place.
    Admit,
}

/// `--held-messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HeldArg {
    /// Hold them and ask.
    Ask,
    /// Send them to the new conversation.
    Send,
    /// Drop them.
    Discard,
}

/// How a plain peer marks where one message ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PlainFraming {
    /// One message per line.
    #[default]
    Line,
    /// A 4-byte little-endian length, then the message: Python's
    /// struct.pack('i', len(data)) + data on x86 and ARM.
    Length,
    /// A 4-byte big-endian (network order) length, then the message:
    /// struct.pack('!i', len(data)) + data.
    LengthBe,
}

impl From<PlainFraming> for Framing {
    fn from(framing: PlainFraming) -> Self {
        match framing {
            PlainFraming::Line => Framing::Line,
            PlainFraming::Length => Framing::Length(ByteOrder::Little),
            PlainFraming::LengthBe => Framing::Length(ByteOrder::Big),
        }
    }
}

/// Options both subcommands take.
#[derive(Debug, Args)]
pub struct Common {
    /// Your name in the conversation [default: your login name].
    #[arg(short, long, env = "DUPLEX_NAME")]
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
    /// shift_jis, euc-kr, or any other WHATWG encoding label [default: utf-8].
    #[arg(long, value_name = "NAME", env = "DUPLEX_ENCODING")]
    pub encoding: Option<String>,
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
    /// of text in any case) [default: 100000].
    #[arg(
        long,
        value_name = "N",
        env = "DUPLEX_HISTORY_LIMIT",
        value_parser = clap::value_parser!(u32).range(i64::from(config::MIN_HISTORY_LIMIT)..)
    )]
    pub history_limit: Option<u32>,
    /// Colours for a dark or a light background [default: dark].
    #[arg(long, value_enum, env = "DUPLEX_THEME")]
    pub theme: Option<ThemeName>,
    /// Colour the screen: auto (unless NO_COLOR is set), always or never
    /// (bold and reverse video only) [default: auto].
    #[arg(long, value_enum, value_name = "WHEN", env = "DUPLEX_COLOR")]
    pub color: Option<ColorChoice>,
    /// Where received files land [default: your download folder's duplex
    /// subfolder, e.g. ~/Downloads/duplex].
    #[arg(long, value_name = "DIR", env = "DUPLEX_DOWNLOADS")]
    pub downloads: Option<PathBuf>,
    /// Accept every file offer at once, into --downloads (for scripts).
    #[arg(long)]
    pub auto_accept: bool,
    /// Decline offers with a file larger than this many bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// No bell and no desktop notifications when a message arrives while
    /// you are away (the window title still counts them).
    #[arg(long)]
    pub quiet: bool,
    /// Neither tell the peer when you type nor show when it does.
    #[arg(long)]
    pub no_typing: bool,
    /// How the chat screen draws emoji that terminals measure differently
    /// (❤️, 👨‍👩‍👧‍👦, 👍🏽, 1️⃣): safe draws a simpler form every terminal
    /// agrees on, full draws them as they are, auto picks by terminal.
    /// Messages themselves are never changed [default: auto].
    #[arg(long, value_enum, value_name = "MODE", env = "DUPLEX_EMOJI")]
    pub emoji: Option<EmojiSetting>,
    // ── More options go here. One that the config file can also set is an
    // `Option` (no `default_value`, so that an absent flag lets the file
    // speak) with `env = "DUPLEX_…"`; take it in `run` where it says so.
}

impl Command {
    /// How plain peers frame their messages.
    fn plain_framing(&self) -> Framing {
        match self {
            Command::Host { plain_framing, .. } | Command::Join { plain_framing, .. } => {
                (*plain_framing).into()
            }
            Command::Completions { .. } | Command::Man => Framing::default(),
        }
    }

    /// The options of `host` and `join`; `None` for the others.
    pub fn common(&self) -> Option<&Common> {
        match self {
            Command::Host { common, .. } | Command::Join { common, .. } => Some(common),
            Command::Completions { .. } | Command::Man => None,
        }
    }
}

/// The keys part of `--help`: the keys as `keymap` binds them.
fn keys_help(keymap: &Keymap) -> String {
    let mut text = String::from("Keys in the chat screen:");
    for line in keymap.help_text().lines().skip(1) {
        text.push_str("\n  ");
        text.push_str(line);
    }
    text
}

/// Where the config file is, as `--help` says it: `path`, or where it is
/// on Linux (for the manual page, which is the same on every machine).
fn config_help(path: Option<&Path>) -> String {
    let path = path.map_or_else(
        || "~/.config/duplex/config.toml (on Linux)".to_owned(),
        |path| path.display().to_string(),
    );
    format!(
        "Settings are read from {path} (see --config); the command line and DUPLEX_* variables win over it."
    )
}

/// The command line's definition, with examples, the keys of `keymap` and
/// where the config file is (`config`, or in general) after the help.
fn command_with(keymap: &Keymap, config: Option<&Path>) -> clap::Command {
    Cli::command().after_help(format!(
        "{EXAMPLES}\n\n{}\n\n{}",
        keys_help(keymap),
        config_help(config)
    ))
}

/// The command line's definition, with examples, the keys of `keymap` and
/// the config file of this machine after the help.
pub fn command(keymap: &Keymap) -> clap::Command {
    command_with(keymap, config::default_path().as_deref())
}

/// The value of `--config` among the raw arguments `args` (without the
/// program's name), if given there.
fn config_argument<S: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = S>,
) -> Option<PathBuf> {
    let mut args = args.into_iter();
    let mut found = None;
    while let Some(arg) = args.next() {
        let arg = arg.as_ref();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            found = args.next().map(|path| PathBuf::from(path.as_ref()));
        } else if let Some(path) = arg.to_str().and_then(|a| a.strip_prefix("--config=")) {
            found = Some(PathBuf::from(path));
        }
    }
    found
}

/// The config file to read (given: named with `--config` or
/// `DUPLEX_CONFIG`, so it must exist), or `None` if there is none.
fn config_path(given: Option<PathBuf>) -> Option<(PathBuf, bool)> {
    match given {
        Some(path) => Some((path, true)),
        None => config::default_path().map(|path| (path, false)),
    }
}

/// Reads the config file `given` or the default one.
fn load_config(given: Option<PathBuf>) -> Result<Config, ConfigError> {
    match config_path(given) {
        Some((path, required)) => config::load(&path, required),
        None => Ok(Config::default()),
    }
}

/// Parses the process's command line (exiting with clap's message and
/// status 2 on a usage error, or after printing help or the version). The
/// help shows the keys as the config file binds them, if it can be read.
pub fn parse() -> Cli {
    let given = config_argument(std::env::args_os().skip(1))
        .or_else(|| std::env::var_os("DUPLEX_CONFIG").map(PathBuf::from));
    let keymap = load_config(given)
        .map(|config| config.keys.keymap())
        .unwrap_or_default();
    let matches = command(&keymap).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
}

/// The text of `duplex completions SHELL` or `duplex man` (nothing for
/// the other subcommands).
pub fn generated(command: &Command) -> std::io::Result<Vec<u8>> {
    // Written to memory first: the generators would panic on a write error
    // (a closed pipe), and a panic is no way to tell it.
    let mut out = Vec::new();
    match command {
        Command::Completions { shell } => {
            let mut cli = command_with(&Keymap::default(), None);
            clap_complete::generate(*shell, &mut cli, "duplex", &mut out);
        }
        Command::Man => manual(&mut out)?,
        Command::Host { .. } | Command::Join { .. } => {}
    }
    Ok(out)
}

/// Writes the manual page: clap_mangen's, with the options of `host` and
/// `join` in sections of their own (rather than in pages of their own).
fn manual(out: &mut Vec<u8>) -> std::io::Result<()> {
    let cli = command_with(&Keymap::default(), None);
    let man = clap_mangen::Man::new(cli.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    for sub in cli
        .get_subcommands()
        .filter(|sub| sub.get_arguments().count() > 1)
    {
        let name = sub.get_name().to_ascii_uppercase();
        let mut section = Vec::new();
        clap_mangen::Man::new(sub.clone()).render_options_section(&mut section)?;
        let section = String::from_utf8_lossy(&section).replacen(
            ".SH OPTIONS\n",
            &format!(".SH \"{name} OPTIONS\"\n"),
            1,
        );
        out.write_all(section.as_bytes())?;
    }
    man.render_extra_section(out)?;
    man.render_version_section(out)
}

/// Prints `duplex completions SHELL` or `duplex man`.
fn print_generated(command: &Command) -> anyhow::Result<()> {
    use std::io::Write;
    let text = generated(command).context("cannot make the text")?;
    let mut out = std::io::stdout().lock();
    out.write_all(&text)
        .and_then(|()| out.flush())
        .context("cannot write to standard output")?;
    Ok(())
}

/// The login name: `$USER`, else `$LOGNAME`, else the password database's
/// name for this user (a service or a container may set neither variable).
fn login_name() -> String {
    ["USER", "LOGNAME"]
        .into_iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|name| !name.trim().is_empty())
        .or_else(|| whoami::username().ok())
        .unwrap_or_default()
}

/// Checks a chosen name; the default is the login name.
fn resolve_name(name: Option<&str>) -> anyhow::Result<String> {
    let Some(name) = name else {
        let login = login_name();
        let clean = sanitize_name(&login);
        return Ok(if clean == "anonymous" || clean.is_empty() {
            "guest".to_owned()
        } else {
            clean
        });
    };
    config::valid_name(name).ok_or_else(|| {
        anyhow::anyhow!(
            "invalid --name {name:?}: use up to {MAX_NAME_WIDTH} columns of visible characters"
        )
    })
}

/// The address `duplex join` is to parse: ADDR alone, or netcat's `HOST PORT`.
fn join_address(addr: &str, port: Option<&str>) -> anyhow::Result<String> {
    // A URL is told apart when the address is parsed, port or not.
    let Some(port) = port.filter(|_| !addr.contains("://")) else {
        return Ok(addr.to_owned());
    };
    let host = addr.trim();
    let bracketed = host.starts_with('[');
    if (bracketed && host.contains("]:")) || (!bracketed && host.matches(':').count() == 1) {
        anyhow::bail!(
            "the port is given twice ('{addr}' and '{port}'): use duplex join HOST PORT or duplex join HOST:PORT"
        );
    }
    Ok(if host.contains(':') && !bracketed {
        format!("[{host}]:{}", port.trim())
    } else {
        format!("{host}:{}", port.trim())
    })
}

/// The address `--bind` names: an IP address, or a host name, resolved
/// (its first IPv4 address, else its first IPv6 one).
async fn bind_address(bind: &str) -> anyhow::Result<IpAddr> {
    let bind = bind.trim();
    if let Ok(ip) = bind.trim_start_matches('[').trim_end_matches(']').parse() {
        return Ok(ip);
    }
    let addrs: Vec<IpAddr> = tokio::net::lookup_host((bind, 0))
        .await
        .with_context(|| format!("cannot resolve --bind '{bind}'"))?
        .map(|addr| addr.ip())
        .collect();
    addrs
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(addrs.first())
        .copied()
        .with_context(|| format!("cannot resolve --bind '{bind}': the name has no addresses"))
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
    let Some(common) = cli.command.common() else {
        print_generated(&cli.command)?;
        return Ok(Exit {
            code: 0,
            message: None,
        });
    };
    let config = load_config(cli.config.clone())?;
    if let Some(path) = &common.log_file {
        init_logging(path)?;
    }
    // Each setting: the command line or the environment, else the config file.
    let name = match (&common.name, config.name) {
        (Some(name), _) => resolve_name(Some(name))?,
        (None, Some(name)) => name,
        (None, None) => resolve_name(None)?,
    };
    let encoding_label = common
        .encoding
        .clone()
        .or(config.encoding)
        .unwrap_or_else(|| "utf-8".to_owned());
    let history_limit = common.history_limit.or(config.history_limit);
    let theme_name = common.theme.or(config.theme).unwrap_or_default();
    let color = common.color.or(config.color).unwrap_or_default();
    let mut keymap = Keymap::default();
    config.keys.apply(&mut keymap);
    let quiet = common.quiet || config.quiet.unwrap_or(false);
    let typing = !common.no_typing && config.typing.unwrap_or(true);
    // ── More settings are taken here, one line each:
    // `let emoji = common.emoji.or(config.emoji).unwrap_or_default();`
    let colour = color.colour(
        std::env::var_os("NO_COLOR").as_deref(),
        std::io::stdout().is_terminal(),
    );
    let theme = config::theme(theme_name, colour);
    // crossterm leaves colours out by itself when NO_COLOR is set; the
    // choice made here (`--color always` may override it) is the one.
    crossterm::style::force_color_output(colour);
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
    let Some(encoding) = encoding_for(&encoding_label) else {
        anyhow::bail!(
            "unknown encoding '{encoding_label}': use a name such as utf-8, gbk, gb18030, big5, shift_jis or euc-kr"
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
    // A code duplex made up works once; one the person chose stays.
    let single_use = is_host && code.is_some() && custom.is_none();
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
    let host_port = match &cli.command {
        Command::Host { port, .. } => port.or(config.port).unwrap_or(DEFAULT_PORT),
        _ => DEFAULT_PORT,
    };
    let mode = match &cli.command {
        Command::Host { bind, .. } => {
            let bind = match bind {
                Some(bind) => Some(bind_address(bind).await?),
                None => None,
            };
            Mode::Host(Host::bind(bind, host_port)?)
        }
        Command::Join {
            addr, port, plain, ..
        } => {
            let target = join_address(addr, port.as_deref())?.parse::<Target>()?;
            if *plain {
                Mode::JoinPlain(target)
            } else {
                Mode::Join(target)
            }
        }
        Command::Completions { .. } | Command::Man => {
            return Ok(Exit {
                code: 0,
                message: None,
            });
        }
    };
    // A journal per conversation: the host's by its port (a random port
    // could not be found again), the guest's by the address it joins.
    let journal_key = match &cli.command {
        Command::Host { .. } if host_port == 0 => None,
        Command::Join { plain: true, .. } | Command::Completions { .. } | Command::Man => None,
        Command::Host { .. } => Some(format!("host-{host_port}")),
        Command::Join { addr, port, .. } => join_address(addr, port.as_deref())
            .ok()
            .and_then(|addr| addr.parse::<Target>().ok())
            .map(|target| format!("join-{target}")),
    };
    let journal = journal_key
        .filter(|_| !common.ephemeral)
        .and_then(|key| crate::journal::default_dir().map(|dir| (dir, key)));
    let newcomers = match (&cli.command, headless) {
        (
            Command::Host {
                newcomers: Some(NewcomersArg::Ask),
                ..
            },
            true,
        ) => {
            anyhow::bail!(
                "--newcomers ask needs the chat screen: use refuse or admit with --headless"
            )
        }
        (
            Command::Host {
                newcomers: Some(NewcomersArg::Ask),
                ..
            },
            false,
        )
        | (
            Command::Host {
                newcomers: None, ..
            },
            false,
        ) => Newcomers::Ask,
        (
            Command::Host {
                newcomers: Some(NewcomersArg::Admit),
                ..
            },
            _,
        ) => Newcomers::Admit,
        _ => Newcomers::Refuse,
    };
    let held = match &cli.command {
        Command::Join {
            held_messages: HeldArg::Send,
            ..
        } => HeldMessages::Send,
        Command::Join {
            held_messages: HeldArg::Discard,
            ..
        } => HeldMessages::Discard,
        _ => HeldMessages::Ask,
    };
    let log = common.log.clone().or_else(|| config.log.clone());
    if let Some(dir) = &log {
        crate::transcript::make_log_dir(dir).context("--log cannot keep transcripts there")?;
    }
    let options = Options {
        log,
        name,
        code,
        single_use,
        newcomers,
        held,
        can_ask: !headless,
        allow_plain,
        encoding,
        plain_framing: cli.command.plain_framing(),
        journal,
        limits: {
            let limits = crate::domain::Limits::from_env();
            crate::domain::Limits {
                history_entries: history_limit.map_or(limits.history_entries, |n| n as usize),
                ..limits
            }
        },
        keymap,
        theme,
        files: crate::app::transfer::FileOptions {
            downloads: common.downloads.clone().unwrap_or_else(default_downloads),
            auto_accept: common.auto_accept,
            max_file_size: common.max_file_size,
        },
        typing,
        quiet,
        // The chat screen shows "connecting to ADDR…" while it connects.
        join_later: !headless,
    };
    let session = Session::start(mode, options).await?;
    if headless {
        headless::run(session, output).await
    } else {
        let emoji = common
            .emoji
            .or(config.emoji)
            .unwrap_or(EmojiSetting::Auto)
            .resolve(|name| std::env::var(name).ok());
        tui::run(session, emoji).await
    }
}

/// Where received files land by default: the platform's download folder
/// (or the home folder's Downloads), in a `duplex` subfolder.
fn default_downloads() -> PathBuf {
    directories::UserDirs::new()
        .and_then(|dirs| {
            dirs.download_dir()
                .map(PathBuf::from)
                .or_else(|| Some(dirs.home_dir().join("Downloads")))
        })
        .unwrap_or_else(|| PathBuf::from("Downloads"))
        .join("duplex")
}

#[cfg(test)]
mod tests {

    /// README: files land by default in the download folder's `duplex`
    /// subfolder.
    #[test]
    fn files_land_in_a_duplex_subfolder_by_default() {
        let dir = super::default_downloads();
        assert_eq!(dir.file_name().and_then(|n| n.to_str()), Some("duplex"));
    }

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

    fn common_of(args: &[&str]) -> Result<Common, clap::Error> {
        let cli = Cli::try_parse_from(args)?;
        match cli.command {
            Command::Host { common, .. } | Command::Join { common, .. } => Ok(common),
            _ => panic!("no common options in {args:?}"),
        }
    }

    fn history_limit(args: &[&str]) -> Result<Option<u32>, clap::Error> {
        common_of(args).map(|common| common.history_limit)
    }

    #[test]
    fn the_emoji_mode_is_a_flag_that_defaults_to_auto() {
        let emoji = |args: &[&str]| {
            Cli::try_parse_from(args).map(|cli| {
                cli.command
                    .common()
                    .and_then(|common| common.emoji)
                    .unwrap_or(EmojiSetting::Auto)
            })
        };
        assert_eq!(emoji(&["duplex", "host"]).unwrap(), EmojiSetting::Auto);
        assert_eq!(
            emoji(&["duplex", "join", "h", "--emoji", "full"]).unwrap(),
            EmojiSetting::Full
        );
        assert_eq!(
            emoji(&["duplex", "host", "--emoji=safe"]).unwrap(),
            EmojiSetting::Safe
        );
        assert!(emoji(&["duplex", "host", "--emoji", "wide"]).is_err());
        let kitty = |name: &str| (name == "TERM").then(|| "xterm-kitty".to_owned());
        use crate::text::EmojiMode;
        assert_eq!(EmojiSetting::Auto.resolve(kitty), EmojiMode::Full);
        assert_eq!(EmojiSetting::Safe.resolve(kitty), EmojiMode::Safe);
        assert_eq!(EmojiSetting::Full.resolve(|_| None), EmojiMode::Full);
    }

    #[test]
    fn the_history_limit_is_a_flag_with_a_generous_default() {
        // Not given: the config file may give it, else the default.
        assert_eq!(history_limit(&["duplex", "host"]).unwrap(), None);
        assert_eq!(crate::domain::Limits::DEFAULT.history_entries, 100_000);
        assert_eq!(
            history_limit(&["duplex", "join", "h", "--history-limit", "500"]).unwrap(),
            Some(500)
        );
        assert!(history_limit(&["duplex", "host", "--history-limit", "1"]).is_err());
        assert!(history_limit(&["duplex", "host", "--history-limit", "x"]).is_err());
    }

    #[test]
    fn the_command_line_is_well_formed() {
        command(&Keymap::default()).debug_assert();
    }

    fn help(args: &[&str]) -> String {
        let err = command(&Keymap::default())
            .try_get_matches_from(args)
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
        err.render().to_string()
    }

    #[test]
    fn help_has_examples_and_every_key_of_the_keymap() {
        let help = help(&["duplex", "--help"]);
        assert!(help.contains("Examples:\n  duplex host "), "{help}");
        assert!(help.contains("duplex completions bash"), "{help}");
        for line in EXAMPLES.lines() {
            assert!(line.len() <= 70, "too long for the manual page: {line}");
        }
        for line in Keymap::default().help_text().lines().skip(1) {
            assert!(help.contains(&format!("\n  {line}\n")), "{line}: {help}");
        }
        if let Some(path) = config::default_path() {
            assert!(help.contains(&path.display().to_string()), "{help}");
        }
        // The short help too.
        let short = command(&Keymap::default())
            .try_get_matches_from(["duplex", "-h"])
            .unwrap_err()
            .render()
            .to_string();
        assert!(short.contains("Keys in the chat screen:"), "{short}");
    }

    #[test]
    fn help_shows_keys_as_the_config_binds_them() {
        let config = config::parse("[keys]\nleave = \"Ctrl-Q\"\n", "c.toml".as_ref()).unwrap();
        let help = command(&config.keys.keymap())
            .render_long_help()
            .to_string();
        assert!(help.contains("\n  Ctrl-Q: leave (asks first"), "{help}");
        assert!(!help.contains("Ctrl-C: leave"), "{help}");
    }

    #[test]
    fn the_defaults_the_help_names_are_the_real_ones() {
        let host = help(&["duplex", "host", "--help"]);
        for default in [
            format!("[default: {DEFAULT_PORT}]"),
            format!(
                "[default: {}]",
                crate::domain::Limits::DEFAULT.history_entries
            ),
            "[default: utf-8]".to_owned(),
            "[default: dark]".to_owned(),
            "[default: auto]".to_owned(),
            "[env: DUPLEX_PORT=]".to_owned(),
            "[env: DUPLEX_CONFIG=]".to_owned(),
        ] {
            assert!(host.contains(&default), "{default}: {host}");
        }
        assert!(host.contains("Examples:\n  duplex host\n"), "{host}");
        let join = help(&["duplex", "join", "--help"]);
        assert!(
            join.contains("Examples:\n  duplex join 192.168.1.5\n"),
            "{join}"
        );
        assert!(ThemeName::default() == ThemeName::Dark);
        assert!(ColorChoice::default() == ColorChoice::Auto);
    }

    #[test]
    fn the_version_is_the_package_version() {
        let err = command(&Keymap::default())
            .try_get_matches_from(["duplex", "--version"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
        assert_eq!(
            err.render().to_string(),
            format!("duplex {}\n", env!("CARGO_PKG_VERSION"))
        );
    }

    fn generated_for(args: &[&str]) -> String {
        let cli = Cli::try_parse_from(args).unwrap();
        String::from_utf8(generated(&cli.command).unwrap()).unwrap()
    }

    #[test]
    fn completions_for_every_shell_know_the_subcommands_and_flags() {
        for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
            let script = generated_for(&["duplex", "completions", shell]);
            for word in [
                "host",
                "join",
                "completions",
                "man",
                "history-limit",
                "theme",
            ] {
                assert!(script.contains(word), "{shell} lacks {word}");
            }
        }
        let bash = generated_for(&["duplex", "completions", "bash"]);
        assert!(bash.contains("complete -F _duplex"), "{bash}");
        // The values of a choice are completed.
        assert!(bash.contains("dark light"), "{bash}");
        assert!(Cli::try_parse_from(["duplex", "completions", "tcsh"]).is_err());
    }

    #[test]
    fn the_manual_page_is_roff_with_examples_and_keys() {
        let man = generated_for(&["duplex", "man"]);
        assert!(man.starts_with(".ie"), "{}", &man[..80.min(man.len())]);
        assert!(man.contains(".TH duplex 1"), "{man}");
        let description = env!("CARGO_PKG_DESCRIPTION").replace('-', "\\-");
        assert!(man.contains(&description), "{man}");
        assert!(
            man.contains("~/.config/duplex/config.toml (on Linux)"),
            "{man}"
        );
        assert!(man.contains(".SH \"HOST OPTIONS\""), "{man}");
        assert!(man.contains(".SH \"JOIN OPTIONS\""), "{man}");
        assert!(man.contains("allow\\-plain"), "{man}");
        assert!(man.contains("Keys in the chat screen:"), "{man}");
        assert!(man.contains("Ctrl\\-C: leave"), "{man}");
        assert!(man.contains("duplex\\-completions"), "{man}");
    }

    #[test]
    fn the_config_argument_is_found_before_parsing() {
        assert_eq!(config_argument(["host"]), None);
        assert_eq!(
            config_argument(["host", "--config", "/a.toml"]),
            Some(PathBuf::from("/a.toml"))
        );
        assert_eq!(
            config_argument(["join", "h", "--config=/b.toml"]),
            Some(PathBuf::from("/b.toml"))
        );
        assert_eq!(config_argument(["host", "--", "--config", "x"]), None);
    }

    #[test]
    fn theme_and_colour_are_choices() {
        let common =
            common_of(&["duplex", "host", "--theme", "light", "--color", "never"]).unwrap();
        assert_eq!(common.theme, Some(ThemeName::Light));
        assert_eq!(common.color, Some(ColorChoice::Never));
        assert!(common_of(&["duplex", "host", "--theme", "pink"]).is_err());
        assert!(common_of(&["duplex", "host", "--color", "sometimes"]).is_err());
    }

    fn join_target(args: &[&str]) -> anyhow::Result<Target> {
        let cli = Cli::try_parse_from(args)?;
        let Command::Join { addr, port, .. } = &cli.command else {
            anyhow::bail!("not a join");
        };
        Ok(join_address(addr, port.as_deref())?.parse::<Target>()?)
    }

    #[test]
    fn join_takes_host_and_port_as_two_arguments_like_netcat() {
        let target = |host: &str, port| Target {
            host: host.to_owned(),
            port,
        };
        assert_eq!(
            join_target(&["duplex", "join", "example.com", "9000"]).unwrap(),
            target("example.com", 9000)
        );
        assert_eq!(
            join_target(&["duplex", "join", "::1", "9000", "--plain"]).unwrap(),
            target("::1", 9000)
        );
        assert_eq!(
            join_target(&["duplex", "join", "[::1]", "9000"]).unwrap(),
            target("::1", 9000)
        );
        assert_eq!(
            join_target(&["duplex", "join", "10.0.0.2:9000"]).unwrap(),
            target("10.0.0.2", 9000)
        );
        let twice = join_target(&["duplex", "join", "host:1", "2"]).unwrap_err();
        assert!(twice.to_string().contains("port is given twice"), "{twice}");
        let bad = join_target(&["duplex", "join", "host", "http"]).unwrap_err();
        assert!(bad.to_string().contains("number from 1 to 65535"), "{bad}");
    }

    #[test]
    fn join_with_a_url_says_what_to_type_instead() {
        for args in [
            &["duplex", "join", "http://host:7878"][..],
            &["duplex", "join", "http://host:7878/", "7878"],
        ] {
            let err = join_target(args).unwrap_err();
            assert_eq!(
                err.to_string(),
                "duplex join takes an address, not a URL: try duplex join host:7878"
            );
        }
    }

    #[tokio::test]
    async fn bind_takes_an_ip_address_or_a_host_name() {
        assert_eq!(
            bind_address("127.0.0.1").await.unwrap(),
            IpAddr::from([127, 0, 0, 1])
        );
        assert_eq!(
            bind_address("::1").await.unwrap(),
            "::1".parse::<IpAddr>().unwrap()
        );
        // localhost has both on most machines: IPv4 first.
        assert_eq!(
            bind_address("localhost").await.unwrap(),
            IpAddr::from([127, 0, 0, 1])
        );
        let err = bind_address("no-such-host.invalid").await.unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot resolve --bind 'no-such-host.invalid'"),
            "{err:#}"
        );
        let cli = Cli::try_parse_from(["duplex", "host", "--bind", "localhost"]).unwrap();
        assert!(matches!(cli.command, Command::Host { bind: Some(b), .. } if b == "localhost"));
    }

    fn framing(args: &[&str]) -> Result<Framing, clap::Error> {
        Cli::try_parse_from(args).map(|cli| cli.command.plain_framing())
    }

    #[test]
    fn plain_framing_is_a_flag_of_plain_peers_only() {
        assert_eq!(
            framing(&["duplex", "host", "--allow-plain"]).unwrap(),
            Framing::Line
        );
        assert_eq!(
            framing(&[
                "duplex",
                "host",
                "--allow-plain",
                "--plain-framing",
                "length"
            ])
            .unwrap(),
            Framing::Length(ByteOrder::Little)
        );
        assert_eq!(
            framing(&[
                "duplex",
                "join",
                "h",
                "--plain",
                "--plain-framing",
                "length-be"
            ])
            .unwrap(),
            Framing::Length(ByteOrder::Big)
        );
        assert_eq!(
            framing(&["duplex", "join", "h", "--plain", "--plain-framing", "line"]).unwrap(),
            Framing::Line
        );
        assert!(framing(&["duplex", "host", "--plain-framing", "length"]).is_err());
        assert!(framing(&["duplex", "join", "h", "--plain-framing", "length"]).is_err());
        assert!(framing(&["duplex", "join", "h", "--plain", "--plain-framing", "json"]).is_err());
    }
}
