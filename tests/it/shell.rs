//! Fitting the shell: the config file and its precedence, colour and
//! themes on a real terminal, `--help`, `--version`, completions and the
//! manual page, with the real binary.

use std::process::{Command, Output, Stdio};

use crate::common::headless::{Duplex, Setup, port_of};
use crate::common::{Result, Tui};

/// Runs duplex with `args` and `env` (and no config file but those named),
/// standard input closed, to its end.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let empty = tempfile::tempdir().expect("a temporary directory");
    Command::new(env!("CARGO_BIN_EXE_duplex"))
        .args(args)
        .env("XDG_CONFIG_HOME", empty.path())
        .env("XDG_STATE_HOME", empty.path())
        .env_remove("DUPLEX_CONFIG")
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("runs duplex")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A config file with `text` in a temporary folder (kept with it).
fn config_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("duplex.toml");
    std::fs::write(&path, text).expect("writes the config file");
    let path = path.display().to_string();
    (dir, path)
}

#[test]
fn version_and_help() {
    let version = run(&["--version"], &[]);
    assert!(version.status.success());
    assert_eq!(
        stdout(&version),
        format!("duplex {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = run(&["--help"], &[]);
    assert!(help.status.success());
    let help = stdout(&help);
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("Keys in the chat screen:"), "{help}");
    assert!(help.contains("  Ctrl-C: leave"), "{help}");
}

/// The keys in `--help` are those the config file binds.
#[test]
fn help_shows_the_keys_of_the_config_file() {
    let (_dir, path) = config_file("[keys]\nleave = \"Ctrl-Q\"\n");
    let help = stdout(&run(&["--help"], &[("DUPLEX_CONFIG", &path)]));
    assert!(help.contains("  Ctrl-Q: leave"), "{help}");
    let help = stdout(&run(&["--config", &path, "--help"], &[]));
    assert!(help.contains("  Ctrl-Q: leave"), "{help}");
}

#[test]
fn completions_and_the_manual_page() {
    let bash = run(&["completions", "bash"], &[]);
    assert!(bash.status.success(), "{}", stderr(&bash));
    let bash = stdout(&bash);
    for word in [
        "_duplex",
        "host",
        "join",
        "completions",
        "man",
        "--allow-plain",
    ] {
        assert!(bash.contains(word), "{word}: {bash}");
    }
    let man = run(&["man"], &[]);
    assert!(man.status.success(), "{}", stderr(&man));
    let man = stdout(&man);
    assert!(man.contains(".TH duplex 1"), "{man}");
    assert!(man.contains(".SH \"HOST OPTIONS\""), "{man}");
    let unknown = run(&["completions", "tcsh"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
}

/// A bad config file: a clear error naming the file, the line and the key,
/// and exit status 2 as for a bad flag; nothing starts.
#[test]
fn a_bad_config_file_is_a_usage_error() {
    let (_dir, path) = config_file("name = \"alice\"\n\ncolour = \"never\"\n");
    let output = run(
        &["host", "--port", "0", "--headless"],
        &[("DUPLEX_CONFIG", &path)],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let error = stderr(&output);
    assert!(
        error.starts_with(&format!(
            "duplex: config file {path}, line 3, key `colour`: unknown field"
        )),
        "{error}"
    );
    assert!(stdout(&output).is_empty());
    // A bad value, with --json: the error is an event too.
    let (_dir, path) = config_file("port = 99999\n");
    let output = run(&["host", "--json", "--config", &path], &[]);
    assert_eq!(output.status.code(), Some(2));
    let error = stderr(&output);
    assert!(
        error.contains(&format!("config file {path}, line 1, key `port`: ")),
        "{error}"
    );
    assert!(stdout(&output).contains("\"event\":\"error\""));
    // A file named that is not there.
    let output = run(&["host", "--config", "/nonexistent/duplex.toml"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read the config file /nonexistent/duplex.toml"),
        "{}",
        stderr(&output)
    );
}

/// The name a guest sees for a host started with `args` and `env`, and a
/// config file in the default place saying `name = "fromfile"`.
fn host_name_seen(args: &[&str], env: &[(&str, &str)]) -> String {
    let state = tempfile::tempdir().expect("a temporary directory");
    // The harness points XDG_CONFIG_HOME at the state folder.
    let folder = state.path().join("duplex");
    std::fs::create_dir_all(&folder).expect("a config folder");
    std::fs::write(folder.join("config.toml"), "name = \"fromfile\"\n").expect("writes");
    let mut all = vec!["host", "--port", "0", "--bind", "127.0.0.1", "--json"];
    all.extend_from_slice(args);
    let host = Duplex::start_with(
        "host",
        &all,
        Setup {
            env,
            state: Some(state.path()),
        },
    );
    let port = port_of(&host.event("listening"));
    let guest = Duplex::join("bob", port, &["--json"]);
    guest.event("joined")["name"]
        .as_str()
        .expect("a name")
        .to_owned()
}

/// "command-line flags win over the environment, which wins over the file".
#[test]
fn flags_win_over_the_environment_which_wins_over_the_file() {
    assert_eq!(host_name_seen(&[], &[]), "fromfile");
    assert_eq!(
        host_name_seen(&[], &[("DUPLEX_NAME", "fromenv")]),
        "fromenv"
    );
    assert_eq!(
        host_name_seen(&["--name", "fromflag"], &[("DUPLEX_NAME", "fromenv")]),
        "fromflag"
    );
}

/// The config file's port is the host's.
#[test]
fn the_config_file_sets_the_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let (_dir, path) = config_file(&format!("port = {port}\n"));
    let host = Duplex::start_with(
        "alice",
        &["host", "--bind", "127.0.0.1", "--json"],
        Setup {
            env: &[("DUPLEX_CONFIG", &path)],
            ..Setup::default()
        },
    );
    assert_eq!(port_of(&host.event("listening")), port);
}

/// NO_COLOR: the screen has no colour, and the status bar is in reverse
/// video.
#[test]
fn no_color_draws_without_colour() -> Result {
    let (mut host, _) = Tui::host_env("alice", &[], &[("NO_COLOR", "1")], 12, 70)?;
    let screen = host.screen();
    let vt = screen.vt();
    let (rows, cols) = vt.size();
    for row in 0..rows {
        for col in 0..cols {
            let cell = vt.cell(row, col).expect("a cell");
            assert_eq!(cell.fgcolor(), vt100::Color::Default, "{row},{col}");
            assert_eq!(cell.bgcolor(), vt100::Color::Default, "{row},{col}");
        }
    }
    let status = vt.cell(rows - 1, 0).expect("a cell");
    assert!(status.inverse());
    host.ctrl_c()?;
    host.expect_exit(0)?;
    // --color always wins over NO_COLOR.
    let (mut host, _) = Tui::host_env(
        "alice",
        &["--color", "always"],
        &[("NO_COLOR", "1")],
        12,
        70,
    )?;
    let vt = host.screen().vt().clone();
    let status = vt.cell(11, 0).expect("a cell");
    assert_ne!(status.bgcolor(), vt100::Color::Default);
    host.ctrl_c()?;
    host.expect_exit(0)?;
    Ok(())
}

/// `--theme light` and `DUPLEX_THEME`: the light status bar (black on grey).
#[test]
fn the_light_theme_on_a_real_terminal() -> Result {
    for (extra, env) in [
        (&["--theme", "light"][..], &[][..]),
        (&[][..], &[("DUPLEX_THEME", "light")][..]),
    ] {
        let (mut host, _) = Tui::host_env("alice", extra, env, 12, 70)?;
        let vt = host.screen().vt().clone();
        let status = vt.cell(11, 1).expect("a cell");
        assert_eq!(status.bgcolor(), vt100::Color::Idx(7), "{extra:?} {env:?}");
        host.ctrl_c()?;
        host.expect_exit(0)?;
    }
    Ok(())
}

/// A key remapped in the config file: the hint shows it, and it works.
#[test]
fn a_remapped_key_works_and_is_shown() -> Result {
    let (_dir, path) = config_file("[keys]\nleave = \"Ctrl-Q\"\n");
    // Tall enough for /help's every key.
    let (mut host, _) = Tui::host_env("alice", &[], &[("DUPLEX_CONFIG", &path)], 50, 80)?;
    host.wait_for("the hint of the new key", |s| {
        s.text().contains("Ctrl-Q leave")
    })?;
    // Ctrl-C no longer leaves; Ctrl-Q does.
    host.send_bytes(b"\x03")?;
    host.send_keys("/help")?;
    host.enter()?;
    // The help lists it: the key, and beside it what it does.
    host.wait_for("help with the new key", |s| {
        s.contains("duplex help")
            && s.rows().iter().any(|row| {
                row.split_once("Ctrl-Q")
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with("leave"))
            })
    })?;
    assert!(host.is_running()?);
    host.send_bytes(b"\x11")?;
    host.expect_exit(0)?;
    Ok(())
}
