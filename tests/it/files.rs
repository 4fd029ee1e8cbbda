//! Files inside the conversation, with the real binary headless: what
//! README's "Sending files" section says.

use std::path::Path;

use serde_json::Value;

use crate::common::headless::{Duplex, Setup, port_of};

/// The next transfer event that is not progress, skipping everything else.
fn transfer_event(duplex: &Duplex) -> Value {
    loop {
        let value = duplex.json_all();
        let event = value["event"].as_str().unwrap_or_default();
        if event.starts_with("transfer_") && event != "transfer_progress" {
            return value;
        }
    }
}

/// A host and a guest in JSON mode, the host with `host_extra`.
fn pair(host_extra: &[&str]) -> (Duplex, Duplex) {
    let mut args = vec!["--json"];
    args.extend_from_slice(host_extra);
    let host = Duplex::host("alice", &args);
    let port = port_of(&host.event("listening"));
    let guest = Duplex::join("bob", port, &["--json"]);
    assert_eq!(host.event("joined")["name"], "bob");
    assert_eq!(guest.event("joined")["name"], "alice");
    (host, guest)
}

fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// README: "`/send PATH…` offers files and folders"; "--auto-accept";
/// "byte for byte"; "empty folders are kept"; chat goes on meanwhile.
#[test]
fn a_file_and_a_folder_arrive_byte_identical_while_chat_goes_on() {
    let src = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let big = pseudo_random(20 * 1024 * 1024 + 123, 7);
    std::fs::write(src.path().join("big.bin"), &big).unwrap();
    let folder = src.path().join("folder");
    std::fs::create_dir_all(folder.join("empty")).unwrap();
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::write(folder.join("sub/a.txt"), "hello\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let executable = std::fs::Permissions::from_mode(0o4755);
        std::fs::set_permissions(folder.join("sub/a.txt"), executable).unwrap();
    }
    std::fs::write(folder.join("zero"), "").unwrap();
    let dl = downloads.path().to_str().unwrap().to_owned();
    let (host, mut guest) = pair(&["--auto-accept", "--downloads", &dl]);

    guest.send(&format!(
        "/send {} {}",
        src.path().join("big.bin").display(),
        folder.display()
    ));
    guest.send("still here");
    let offer = transfer_event(&guest);
    assert_eq!(offer["event"], "transfer_offer", "{offer}");
    assert_eq!(offer["direction"], "send");
    // The chat line arrives while the file moves.
    loop {
        let value = host.json_all();
        if value["event"] == "message" {
            assert_eq!(value["text"], "still here");
            break;
        }
        assert_ne!(value["event"], "transfer_done", "{value}");
        assert_ne!(value["event"], "transfer_failed", "{value}");
    }
    let done = transfer_event(&host);
    assert_eq!(done["event"], "transfer_done", "{done}");
    assert_eq!(done["direction"], "receive");
    assert_eq!(done["bytes"], big.len() + 6);
    let sent = transfer_event(&guest);
    assert_eq!(sent["event"], "transfer_done", "{sent}");

    let got = downloads.path();
    assert!(std::fs::read(got.join("big.bin")).unwrap() == big);
    assert_eq!(
        std::fs::read_to_string(got.join("folder/sub/a.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(std::fs::read(got.join("folder/zero")).unwrap(), b"");
    assert!(got.join("folder/empty").is_dir());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(got.join("folder/sub/a.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7111, 0, "{mode:o}: no executable or setuid bit");
    }
    assert_no_part_files(got);
}

fn assert_no_part_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".part"), "{name} left behind");
        if entry.file_type().unwrap().is_dir() {
            assert_no_part_files(&entry.path());
        }
    }
}

/// README: "a name already taken gets a number: nothing is overwritten".
#[test]
fn a_taken_name_gets_a_number_and_the_old_file_stays() {
    let src = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("notes.txt"), "new").unwrap();
    std::fs::write(downloads.path().join("notes.txt"), "old").unwrap();
    let dl = downloads.path().to_str().unwrap().to_owned();
    let (host, mut guest) = pair(&["--auto-accept", "--downloads", &dl]);
    guest.send(&format!("/send {}", src.path().join("notes.txt").display()));
    assert_eq!(transfer_event(&host)["event"], "transfer_offer");
    assert_eq!(transfer_event(&host)["event"], "transfer_done");
    assert_eq!(
        std::fs::read_to_string(downloads.path().join("notes.txt")).unwrap(),
        "old"
    );
    assert_eq!(
        std::fs::read_to_string(downloads.path().join("notes (1).txt")).unwrap(),
        "new"
    );
}

/// README: "nothing is written before you accept"; `/decline`;
/// `/cancel` from the sender; `/accept DIR`.
#[test]
fn offers_wait_for_an_answer_and_either_side_can_stop() {
    let src = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("a.txt"), "aaa").unwrap();
    let dl = downloads.path().to_str().unwrap().to_owned();
    let (mut host, mut guest) = pair(&["--downloads", &dl]);
    let file = src.path().join("a.txt");

    // Declined by the receiver.
    guest.send(&format!("/send {}", file.display()));
    assert_eq!(transfer_event(&host)["event"], "transfer_offer");
    assert_eq!(transfer_event(&guest)["event"], "transfer_offer");
    assert_eq!(std::fs::read_dir(downloads.path()).unwrap().count(), 0);
    host.send("/decline");
    let failed = transfer_event(&guest);
    assert_eq!(failed["event"], "transfer_failed", "{failed}");
    assert!(
        failed["text"].as_str().unwrap().contains("declined"),
        "{failed}"
    );
    assert_eq!(transfer_event(&host)["event"], "transfer_failed");

    // Cancelled by the sender before an answer.
    guest.send(&format!("/send {}", file.display()));
    assert_eq!(transfer_event(&host)["event"], "transfer_offer");
    assert_eq!(transfer_event(&guest)["event"], "transfer_offer");
    guest.send("/cancel");
    assert_eq!(transfer_event(&guest)["event"], "transfer_failed");
    let failed = transfer_event(&host);
    assert_eq!(failed["event"], "transfer_failed", "{failed}");
    assert!(
        failed["text"]
            .as_str()
            .unwrap()
            .contains("cancelled by the peer"),
        "{failed}"
    );

    // Accepted into another folder.
    guest.send(&format!("/send {}", file.display()));
    assert_eq!(transfer_event(&host)["event"], "transfer_offer");
    host.send(&format!("/accept {}", elsewhere.path().display()));
    assert_eq!(transfer_event(&host)["event"], "transfer_done");
    assert_eq!(
        std::fs::read_to_string(elsewhere.path().join("a.txt")).unwrap(),
        "aaa"
    );
    assert_eq!(std::fs::read_dir(downloads.path()).unwrap().count(), 0);
}

/// Time limits shortened so a drop is noticed in two seconds (debug
/// builds read `DUPLEX_TEST_LIMITS`).
const SHORT_SILENCE: (&str, &str) = ("DUPLEX_TEST_LIMITS", "heartbeat=250ms,silence=2s");

/// README: "after a drop, the conversation resumes and an interrupted
/// transfer goes on from what the receiver already has". The receiver is
/// suspended mid-transfer past the silence limit; when it comes back the
/// transfer resumes above 0, and what arrives is byte for byte the file.
#[test]
fn a_transfer_interrupted_by_a_drop_resumes_where_it_was() {
    let src = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let big = pseudo_random(64 * 1024 * 1024 + 5, 11);
    std::fs::write(src.path().join("big.bin"), &big).unwrap();
    let dl = downloads.path().to_str().unwrap().to_owned();
    let setup = || Setup {
        env: &[SHORT_SILENCE],
        state: None,
    };
    let host = Duplex::start_with(
        "alice",
        &[
            "host",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--name",
            "alice",
            "--json",
            "--auto-accept",
            "--downloads",
            &dl,
        ],
        setup(),
    );
    let addr = format!("127.0.0.1:{}", port_of(&host.event("listening")));
    let mut guest = Duplex::start_with("bob", &["join", &addr, "--name", "bob", "--json"], setup());
    assert_eq!(host.event("joined")["name"], "bob");
    assert_eq!(guest.event("joined")["name"], "alice");

    guest.send(&format!("/send {}", src.path().join("big.bin").display()));
    // The first progress on the receiving side: some bytes are in.
    let total = big.len() as u64;
    loop {
        let value = host.json_all();
        assert_ne!(value["event"], "transfer_done", "{value}");
        assert_ne!(value["event"], "transfer_failed", "{value}");
        if value["event"] == "transfer_progress" && value["bytes"].as_u64().unwrap() > 0 {
            break;
        }
    }
    host.signal(libc::SIGSTOP);
    loop {
        let value = guest.json_all();
        assert_ne!(value["event"], "transfer_done", "{value}");
        assert_ne!(value["event"], "transfer_failed", "{value}");
        if value["event"] == "disconnected" {
            break;
        }
    }
    host.signal(libc::SIGCONT);

    // Both sides say the transfer resumed, above 0 and short of the end.
    for side in [&host, &guest] {
        let resumed = transfer_event(side);
        assert_eq!(resumed["event"], "transfer_resumed", "{resumed}");
        let at = resumed["bytes"].as_u64().unwrap();
        assert!(at > 0 && at < total, "{resumed}");
    }
    let done = transfer_event(&host);
    assert_eq!(done["event"], "transfer_done", "{done}");
    assert_eq!(done["bytes"], total);
    assert_eq!(transfer_event(&guest)["event"], "transfer_done");
    assert!(std::fs::read(downloads.path().join("big.bin")).unwrap() == big);
    assert_no_part_files(downloads.path());
}

/// The first progress of the receiving side with some bytes in.
fn until_bytes_arrive(receiver: &Duplex) {
    loop {
        let value = receiver.json_all();
        assert_ne!(value["event"], "transfer_done", "{value}");
        assert_ne!(value["event"], "transfer_failed", "{value}");
        if value["event"] == "transfer_progress" && value["bytes"].as_u64().unwrap() > 0 {
            return;
        }
    }
}

/// The next `transfer_failed`, skipping the offer and progress.
fn failure(duplex: &Duplex) -> String {
    loop {
        let value = transfer_event(duplex);
        assert_ne!(value["event"], "transfer_done", "{value}");
        if value["event"] == "transfer_failed" {
            return value["text"].as_str().unwrap().to_owned();
        }
    }
}

/// README: "`/cancel` stops a transfer from either side; the partial file
/// is removed", while the bytes move, and both sides say so.
#[test]
fn a_cancel_mid_transfer_from_either_side_leaves_no_partial_file() {
    let src = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let file = src.path().join("big.bin");
    std::fs::write(&file, pseudo_random(64 * 1024 * 1024, 3)).unwrap();
    let dl = downloads.path().to_str().unwrap().to_owned();
    let (mut host, mut guest) = pair(&["--auto-accept", "--downloads", &dl]);

    // The sender stops it.
    guest.send(&format!("/send {}", file.display()));
    until_bytes_arrive(&host);
    assert!(downloads.path().join("big.bin.part").exists());
    guest.send("/cancel");
    assert!(failure(&guest).contains("cancelled"));
    let text = failure(&host);
    assert!(text.contains("cancelled by the peer"), "{text}");
    assert_eq!(std::fs::read_dir(downloads.path()).unwrap().count(), 0);

    // The receiver stops it.
    guest.send(&format!("/send {}", file.display()));
    until_bytes_arrive(&host);
    host.send("/cancel");
    assert!(failure(&host).contains("cancelled"));
    let text = failure(&guest);
    assert!(text.contains("cancelled by the peer"), "{text}");
    assert_eq!(std::fs::read_dir(downloads.path()).unwrap().count(), 0);

    // And the conversation goes on.
    guest.send("still friends");
    loop {
        let value = host.json();
        if value["event"] == "message" {
            assert_eq!(value["text"], "still friends");
            break;
        }
    }
}

/// README: "an unwritable folder is a clear error and leaves nothing":
/// the downloads folder cannot be created (a file is in its way).
#[test]
fn an_unwritable_downloads_folder_is_a_clear_error_on_both_sides() {
    let src = tempfile::tempdir().unwrap();
    let place = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("a.txt"), "aaa").unwrap();
    std::fs::write(place.path().join("blocker"), "a file").unwrap();
    let dl = place.path().join("blocker/downloads");
    let dl = dl.to_str().unwrap().to_owned();
    let (host, mut guest) = pair(&["--auto-accept", "--downloads", &dl]);
    guest.send(&format!("/send {}", src.path().join("a.txt").display()));
    let text = failure(&host);
    assert!(
        text.contains("cannot create") && text.contains(&dl),
        "{text}"
    );
    let text = failure(&guest);
    assert!(text.contains("cannot create"), "{text}");
    let left: Vec<_> = std::fs::read_dir(place.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

/// README: "`--max-file-size BYTES` declines offers with a larger file; an
/// offer larger than the free space is refused with a clear error".
#[test]
fn offers_too_large_for_the_limit_or_the_disk_are_refused_before_anything() {
    let src = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("mid.bin"), vec![1u8; 2000]).unwrap();
    // A sparse file larger than the free space: nothing reads it before
    // the receiver accepts.
    let huge = std::fs::File::create(src.path().join("huge.bin")).unwrap();
    huge.set_len(1 << 43).unwrap(); // 8 TiB
    drop(huge);
    let dl = downloads.path().to_str().unwrap().to_owned();
    let (host, mut guest) = pair(&[
        "--auto-accept",
        "--downloads",
        &dl,
        "--max-file-size",
        "1000",
    ]);

    guest.send(&format!("/send {}", src.path().join("mid.bin").display()));
    let text = failure(&guest);
    assert!(
        text.contains("declined") && text.contains("limit"),
        "{text}"
    );
    let _ = failure(&host);
    drop((host, guest));

    let (host, mut guest) = pair(&["--auto-accept", "--downloads", &dl]);
    guest.send(&format!("/send {}", src.path().join("huge.bin").display()));
    let text = failure(&host);
    assert!(text.contains("not enough free space"), "{text}");
    let text = failure(&guest);
    assert!(!text.is_empty(), "{text}");
    assert_eq!(std::fs::read_dir(downloads.path()).unwrap().count(), 0);
}

/// A receiver killed mid-transfer and started again (taking over its
/// conversation from the journal) gets the offer again and the whole file:
/// the sender does not wait forever for a receiver that forgot it.
#[test]
fn a_receiver_killed_and_restarted_gets_the_file_again() {
    let src = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let big = pseudo_random(64 * 1024 * 1024, 13);
    std::fs::write(src.path().join("big.bin"), &big).unwrap();
    let dl = downloads.path().to_str().unwrap().to_owned();
    let host = Duplex::start_with(
        "alice",
        &[
            "host",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--name",
            "alice",
            "--json",
        ],
        Setup {
            env: &[SHORT_SILENCE],
            state: None,
        },
    );
    let addr = format!("127.0.0.1:{}", port_of(&host.event("listening")));
    let guest_args = [
        "join",
        &addr,
        "--name",
        "bob",
        "--json",
        "--auto-accept",
        "--downloads",
        &dl,
    ];
    let guest_setup = || Setup {
        env: &[SHORT_SILENCE],
        state: Some(state.path()),
    };
    let guest = Duplex::start_with("bob", &guest_args, guest_setup());
    assert_eq!(host.event("joined")["name"], "bob");
    assert_eq!(guest.event("joined")["name"], "alice");
    let mut host = host;
    host.send(&format!("/send {}", src.path().join("big.bin").display()));
    until_bytes_arrive(&guest);
    guest.signal(libc::SIGKILL);
    drop(guest);

    let again = Duplex::start_with("bob", &guest_args, guest_setup());
    assert_eq!(transfer_event(&again)["event"], "transfer_offer");
    let done = transfer_event(&again);
    assert_eq!(done["event"], "transfer_done", "{done}");
    loop {
        let value = transfer_event(&host);
        assert_ne!(value["event"], "transfer_failed", "{value}");
        if value["event"] == "transfer_done" {
            break;
        }
    }
    // The killed run's partial file is left: the new one took another name.
    assert!(std::fs::read(downloads.path().join("big (1).bin")).unwrap() == big);
}
