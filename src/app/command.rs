//! Typed lines that are commands rather than messages, and the words they show.

use crate::domain::{PeerInfo, Security};

/// What `/help` shows after the keys (which come from the keymap).
pub const COMMANDS_HELP: &str = "The mouse wheel scrolls too. \
Commands: exit (ends the chat for both) · /verify (the words to compare with your peer) · \
/verify ok (you compared them) · /held send|discard (messages typed for an earlier \
conversation) · /search TEXT (finds TEXT in the history) · /save FILE (writes the history to a \
new file; /save! FILE replaces one) · /help. \
Start a message with // to send one starting with /.";

/// Every command as typed, for Tab to complete: [`command`] knows no
/// other (a test checks each of these is one), so the list cannot drift.
pub const COMMANDS: &[&str] = &[
    "/help",
    "/verify",
    "/verify ok",
    "/held",
    "/held send",
    "/held discard",
    "/search",
    "/save",
    "/save!",
];

/// What a typed line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// A message to send (with a leading `//` turned into `/`).
    Text(String),
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
    /// `/save FILE` (`/save! FILE`: `replace` a file that is there).
    Save {
        /// The file, as typed.
        path: String,
        /// Whether to write over a file that is there.
        replace: bool,
    },
    /// `/something` else.
    Unknown(String),
}

/// Reads a typed line: a message, or a `/command`.
pub(crate) fn command(line: &str) -> Command {
    if let Some(text) = line.strip_prefix("//") {
        return Command::Text(format!("/{text}"));
    }
    let Some(rest) = line.trim().strip_prefix('/') else {
        return Command::Text(line.to_owned());
    };
    let name = rest.split_whitespace().next().unwrap_or("");
    // A name not in the list is unknown, whatever the match below says.
    let listed = name == "?"
        || COMMANDS
            .iter()
            .any(|c| c.strip_prefix('/').and_then(|c| c.split(' ').next()) == Some(name));
    if !listed {
        return Command::Unknown(name.to_owned());
    }
    match name {
        "verify" if rest.split_whitespace().nth(1) == Some("ok") => Command::VerifyOk,
        "verify" => Command::Verify,
        "help" | "?" => Command::Help,
        "held" => match rest.split_whitespace().nth(1) {
            Some("send") => Command::Held(Some(true)),
            Some("discard") => Command::Held(Some(false)),
            _ => Command::Held(None),
        },
        "search" => Command::Search(rest.trim_start()["search".len()..].trim().to_owned()),
        word @ ("save" | "save!") => Command::Save {
            path: rest.trim_start()[word.len()..].trim().to_owned(),
            replace: word == "save!",
        },
        other => Command::Unknown(other.to_owned()),
    }
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
        for typed in COMMANDS {
            let parsed = command(typed);
            assert!(
                !matches!(parsed, Command::Text(_) | Command::Unknown(_)),
                "{typed}: {parsed:?}"
            );
        }
        assert_eq!(command("/?"), Command::Help);
        assert_eq!(command("/verify ok"), Command::VerifyOk);
        assert_eq!(command("/helpme"), Command::Unknown("helpme".into()));
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
        assert_eq!(command("/saved"), Command::Unknown("saved".into()));
        assert!(COMMANDS_HELP.contains("/search TEXT"));
        assert!(COMMANDS_HELP.contains("/save FILE"));
        assert!(COMMANDS_HELP.contains("/save! FILE"));
    }
}
