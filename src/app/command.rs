//! Typed lines that are commands rather than messages, and the words they show.
//!
//! [`COMMANDS`] is the one table of commands: the parser checks names
//! against it, an unknown name is matched to the nearest one in it, `/help`
//! lists it and README's commands table is generated from it
//! ([`markdown_table`]), so the three cannot drift apart.

use crate::domain::{EXIT_COMMAND, PeerInfo, Security};

/// One command, as `/help` and README list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandInfo {
    /// What is typed, without the `/` (`verify ok` is two words).
    pub name: &'static str,
    /// What follows the name, in capitals (`NAME`), or empty.
    pub args: &'static str,
    /// What it does, in one line.
    pub description: &'static str,
}

impl CommandInfo {
    /// The command as typed: `/nick NAME`.
    pub fn usage(&self) -> String {
        if self.args.is_empty() {
            format!("/{}", self.name)
        } else {
            format!("/{} {}", self.name, self.args)
        }
    }
}

/// Every command, in the order `/help` and README list them.
pub const COMMANDS: &[CommandInfo] = &[
    CommandInfo {
        name: "help",
        args: "",
        description: "keys and commands (F1 too)",
    },
    CommandInfo {
        name: "me",
        args: "ACTION",
        description: "say what you do: shown as * alice waves",
    },
    CommandInfo {
        name: "nick",
        args: "NAME",
        description: "change your name; the peer sees the change",
    },
    CommandInfo {
        name: "verify",
        args: "",
        description: "the words to compare with your peer",
    },
    CommandInfo {
        name: "verify ok",
        args: "",
        description: "you compared them (the status bar shows 🔒✓)",
    },
    CommandInfo {
        name: "held",
        args: "",
        description: "asks again what to do with messages typed for an earlier conversation",
    },
    CommandInfo {
        name: "held send",
        args: "",
        description: "sends them to the conversation you are in, as new messages",
    },
    CommandInfo {
        name: "held discard",
        args: "",
        description: "drops them (✗ not delivered)",
    },
    CommandInfo {
        name: "search",
        args: "TEXT",
        description: "search the history for TEXT, as Ctrl-F does",
    },
    CommandInfo {
        name: "save",
        args: "FILE",
        description: "write the history kept on screen to FILE, a new file",
    },
    CommandInfo {
        name: "save!",
        args: "FILE",
        description: "the same, replacing FILE if it is there",
    },
    CommandInfo {
        name: "send",
        args: "PATH…",
        description: "offer files and folders to the peer",
    },
    CommandInfo {
        name: "accept",
        args: "[DIR]",
        description: "accept the newest offer, into DIR or the downloads folder",
    },
    CommandInfo {
        name: "decline",
        args: "",
        description: "decline the newest offer",
    },
    CommandInfo {
        name: "transfers",
        args: "",
        description: "list the transfers of this run and where each is",
    },
    CommandInfo {
        name: "cancel",
        args: "[ID]",
        description: "stop a transfer (the newest not over, or the one whose id starts with ID)",
    },
    CommandInfo {
        name: "clear",
        args: "",
        description: "clear the screen; undelivered messages stay",
    },
    CommandInfo {
        name: "quit",
        args: "",
        description: "leave, as Ctrl-C does",
    },
];

/// What the typed line `exit` does, listed with the commands.
pub const EXIT_HELP: &str = "end the conversation for both";

/// How to send a message that starts with `/`.
pub const SLASH_HELP: &str = "start a message with // to send one starting with /";

/// Every command as typed, without its arguments (`/verify ok`, `/nick`),
/// in the table's order: what Tab completes to. [`command`] knows no other
/// (a test checks each of these is one), so the list cannot drift.
pub fn completions() -> Vec<String> {
    COMMANDS
        .iter()
        .map(|info| format!("/{}", info.name))
        .collect()
}

/// What a typed line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// A message to send (with a leading `//` turned into `/`).
    Text(String),
    /// `/me ACTION`: an action, shown as `* alice waves`.
    Me(String),
    /// `/nick NAME`.
    Nick(String),
    /// `/verify`.
    Verify,
    /// `/verify ok`: the words were compared.
    VerifyOk,
    /// `/help`.
    Help,
    /// `/held`, `/held send`, `/held discard`: what to do with messages
    /// typed for an earlier conversation (`None`: ask again).
    Held(Option<bool>),
    /// `/search TEXT`: open the search for TEXT.
    Search(String),
    /// `/send`, `/accept`, `/decline`, `/transfers`, `/cancel`: files
    /// (see [`super::transfer`], which reads their arguments).
    Files,
    /// `/save FILE` (`/save! FILE`: `replace` a file that is there).
    Save {
        /// The file, as typed.
        path: String,
        /// Whether to write over a file that is there.
        replace: bool,
    },
    /// `/clear`.
    Clear,
    /// `/quit`.
    Quit,
    /// `/something` else, with the nearest known command if one is near.
    Unknown {
        /// The name typed.
        name: String,
        /// The command it is probably a slip for.
        nearest: Option<&'static str>,
    },
}

/// Reads a typed line: a message, or a `/command`.
pub(crate) fn command(line: &str) -> Command {
    if let Some(text) = line.strip_prefix("//") {
        return Command::Text(format!("/{text}"));
    }
    let Some(rest) = line.trim().strip_prefix('/') else {
        return Command::Text(line.to_owned());
    };
    // The name and its arguments (`/ help` is `/help`, as it always was).
    let rest = rest.trim_start();
    let name = rest.split_whitespace().next().unwrap_or("");
    let args = rest.get(name.len()..).unwrap_or_default().trim();
    // A name not in the table is unknown, whatever the match below says.
    let listed = name == "?"
        || COMMANDS
            .iter()
            .any(|info| info.name.split(' ').next() == Some(name));
    if !listed {
        return Command::Unknown {
            name: name.to_owned(),
            nearest: nearest(name),
        };
    }
    match name {
        "verify" if args == "ok" => Command::VerifyOk,
        "verify" => Command::Verify,
        "help" | "?" => Command::Help,
        "me" => Command::Me(args.to_owned()),
        "nick" => Command::Nick(args.to_owned()),
        "clear" => Command::Clear,
        "quit" => Command::Quit,
        "held" => match args {
            "send" => Command::Held(Some(true)),
            "discard" => Command::Held(Some(false)),
            _ => Command::Held(None),
        },
        "search" => Command::Search(args.to_owned()),
        "send" | "accept" | "decline" | "transfers" | "cancel" => Command::Files,
        word @ ("save" | "save!") => Command::Save {
            path: args.to_owned(),
            replace: word == "save!",
        },
        other => Command::Unknown {
            name: other.to_owned(),
            nearest: nearest(other),
        },
    }
}

/// The known command nearest to `name` (by edit distance, at most 2 edits
/// and fewer than the name has letters), for "did you mean".
pub(crate) fn nearest(name: &str) -> Option<&'static str> {
    let name = name.to_lowercase();
    COMMANDS
        .iter()
        .map(|info| info.name.split(' ').next().unwrap_or(info.name))
        .map(|known| (strsim::damerau_levenshtein(&name, known), known))
        .filter(|&(distance, _)| distance <= 2 && distance < name.chars().count())
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, known)| known)
}

/// What an unknown command tells the person.
pub(crate) fn unknown_text(name: &str, nearest: Option<&str>) -> String {
    match nearest {
        Some(known) => format!("unknown command /{name} — did you mean /{known}?"),
        None => format!(
            "unknown command /{name}; /help lists them (start a message with // to send a /)"
        ),
    }
}

/// README's commands table (Markdown), ending in a newline: every command,
/// then `exit` and how to send a `/`.
pub fn markdown_table() -> String {
    let mut table = String::from("| command | does |\n| --- | --- |\n");
    for info in COMMANDS {
        table.push_str(&format!("| `{}` | {} |\n", info.usage(), info.description));
    }
    table.push_str(&format!("| `{EXIT_COMMAND}` | {EXIT_HELP} |\n"));
    table.push_str(&format!("| `//text` | {SLASH_HELP} |\n"));
    table
}

/// How to check who is on the other end; `compared` says whether the
/// person said they did (`/verify ok`).
pub(crate) fn verify_text(peer: &PeerInfo, compared: bool) -> String {
    match &peer.security {
        Security::Encrypted {
            verification,
            with_code,
        } => {
            let code = if *with_code {
                " (admitted with the secret code)"
            } else {
                ""
            };
            let done = if compared {
                " You marked them as compared (/verify ok)."
            } else {
                " Once you have compared them, type /verify ok."
            };
            format!(
                "Encrypted{code}. Verification words: {verification} — read them to {}; \
                 different words on their screen mean someone is in the middle.{done}",
                peer.name
            )
        }
        Security::Plain { encoding } => format!(
            "Plaintext, unverified: {} is a plain text program ({encoding}). Nothing is encrypted \
             and nobody vouches for who is on the other end.",
            peer.name
        ),
    }
}

/// How we leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveKind {
    /// `exit`: end the conversation for both.
    Bye,
    /// Ctrl-C, end of input, a signal: only this side goes.
    Leave,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_command_is_one_and_nothing_else_is() {
        for typed in completions() {
            let parsed = command(&typed);
            assert!(
                !matches!(parsed, Command::Text(_) | Command::Unknown { .. }),
                "{typed}: {parsed:?}"
            );
        }
        assert_eq!(command("/?"), Command::Help);
        assert_eq!(command("/verify ok"), Command::VerifyOk);
        assert_eq!(
            command("/helpme"),
            Command::Unknown {
                name: "helpme".into(),
                nearest: Some("help")
            }
        );
        // Whitespace after the slash, and a name that is not ASCII.
        assert_eq!(command("/ help"), Command::Help);
        assert_eq!(
            command("/ é x"),
            Command::Unknown {
                name: "é".into(),
                nearest: None
            }
        );
        assert_eq!(command("//help"), Command::Text("/help".into()));
    }

    #[test]
    fn search_and_save_take_the_rest_of_the_line() {
        assert_eq!(
            command("/search  old mill "),
            Command::Search("old mill".into())
        );
        assert_eq!(command("/search"), Command::Search(String::new()));
        assert_eq!(
            command("/save ~/chat log.txt"),
            Command::Save {
                path: "~/chat log.txt".into(),
                replace: false
            }
        );
        assert_eq!(
            command("  /save! x.txt"),
            Command::Save {
                path: "x.txt".into(),
                replace: true
            }
        );
        assert_eq!(
            command("/save"),
            Command::Save {
                path: String::new(),
                replace: false
            }
        );
        assert_eq!(
            command("/saved"),
            Command::Unknown {
                name: "saved".into(),
                nearest: Some("save")
            }
        );
        assert_eq!(command("/held discard"), Command::Held(Some(false)));
        assert_eq!(command("/held"), Command::Held(None));
    }

    #[test]
    fn the_nearest_command_is_a_slip_away() {
        assert_eq!(nearest("hlep"), Some("help"));
        assert_eq!(nearest("nikc"), Some("nick"));
        assert_eq!(nearest("quti"), Some("quit"));
        assert_eq!(nearest("verfy"), Some("verify"));
        assert_eq!(nearest("CLEAR"), Some("clear"));
        assert_eq!(nearest("frobnicate"), None);
        assert_eq!(nearest("x"), None);
        assert_eq!(nearest(""), None);
    }

    #[test]
    fn every_command_parses_as_itself() {
        for info in COMMANDS {
            let typed = match info.args {
                "" => format!("/{}", info.name),
                _ => format!("/{} x", info.name),
            };
            assert!(
                !matches!(command(&typed), Command::Unknown { .. } | Command::Text(_)),
                "{typed}"
            );
        }
    }

    const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    const START: &str = "<!-- commands:start -->\n";
    const END: &str = "<!-- commands:end -->";

    /// README with its commands table replaced by `table`, or `None` if
    /// the markers are missing.
    fn with_table(readme: &str, table: &str) -> Option<String> {
        let start = readme.find(START)? + START.len();
        let end = start + readme[start..].find(END)?;
        Some(format!("{}{table}{}", &readme[..start], &readme[end..]))
    }

    #[test]
    fn readme_commands_table_is_generated_from_the_commands() {
        let readme = std::fs::read_to_string(README).unwrap();
        let table = markdown_table();
        let expected = with_table(&readme, &table)
            .unwrap_or_else(|| panic!("README.md has no {START:?} … {END:?} markers"));
        assert!(
            readme == expected,
            "README.md's commands table is not command::markdown_table(); regenerate it with\n\
             UPDATE_README=1 cargo test --lib command::tests::update_readme_commands_table -- --ignored\n\
             The table should be:\n{table}"
        );
    }

    /// Rewrites README's commands table: run with `UPDATE_README=1` and `--ignored`.
    #[test]
    #[ignore = "rewrites README.md; run with UPDATE_README=1"]
    fn update_readme_commands_table() {
        if std::env::var_os("UPDATE_README").is_none() {
            return;
        }
        let readme = std::fs::read_to_string(README).unwrap();
        let updated = with_table(&readme, &markdown_table()).unwrap();
        std::fs::write(README, updated).unwrap();
    }
}
