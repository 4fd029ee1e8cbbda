//! Both ends of a transfer against an in-memory file system and a lossy
//! link: what arrives is what was sent, through drops and resumes.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::protocol::transfer::{EntryKind, TransferFrame};

/// A file system: paths to bytes (folders are empty entries ending in /).
#[derive(Debug, Default)]
struct Fs(BTreeMap<PathBuf, Vec<u8>>);

struct World {
    sender: Sender,
    receiver: Receiver,
    fs: Fs,
    /// Frames on the way: to the receiver, to the sender.
    to_receiver: VecDeque<TransferFrame>,
    to_sender: VecDeque<TransferFrame>,
    max_in_flight: usize,
}

impl World {
    fn new(files: &[(&str, Vec<u8>)], dirs: &[&str]) -> Self {
        let mut fs = Fs::default();
        let mut listing = Vec::new();
        for dir in dirs {
            listing.push(Listed {
                source: PathBuf::from("/src").join(dir),
                path: (*dir).to_owned(),
                size: 0,
                kind: EntryKind::Dir,
            });
        }
        for (path, bytes) in files {
            fs.0.insert(PathBuf::from("/src").join(path), bytes.clone());
            listing.push(Listed {
                source: PathBuf::from("/src").join(path),
                path: (*path).to_owned(),
                size: bytes.len() as u64,
                kind: EntryKind::File,
            });
        }
        let (sender, actions) = Sender::new(42, listing).unwrap();
        let [Action::Send(TransferFrame::Offer(offer))] = &actions[..] else {
            panic!("{actions:?}")
        };
        let receiver = Receiver::new(offer.clone()).unwrap();
        Self {
            sender,
            receiver,
            fs,
            to_receiver: VecDeque::new(),
            to_sender: VecDeque::new(),
            max_in_flight: 0,
        }
    }

    /// Carries out actions of one side, feeding IO results back at once.
    fn run(&mut self, actions: Vec<Action>, receiving: bool) {
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            let done = match action {
                Action::Send(frame) => {
                    if receiving {
                        self.to_sender.push_back(frame);
                    } else {
                        self.to_receiver.push_back(frame);
                    }
                    let chunks = self
                        .to_receiver
                        .iter()
                        .filter(|f| matches!(f, TransferFrame::Chunk { .. }))
                        .count();
                    self.max_in_flight = self.max_in_flight.max(chunks);
                    None
                }
                Action::Read {
                    id,
                    entry,
                    path,
                    offset,
                    len,
                } => {
                    let data = &self.fs.0[&path];
                    let start = (offset as usize).min(data.len());
                    let end = (start + len).min(data.len());
                    Some(IoDone::Read {
                        id,
                        entry,
                        offset,
                        bytes: data[start..end].to_vec(),
                    })
                }
                Action::HashPrefix {
                    id,
                    entry,
                    path,
                    len,
                } => {
                    let data = &self.fs.0[&path];
                    let len = len.min(data.len() as u64);
                    let mut hasher = blake3::Hasher::new();
                    hasher.update(&data[..len as usize]);
                    Some(IoDone::PrefixHashed {
                        id,
                        entry,
                        hasher: Box::new(hasher),
                        len,
                    })
                }
                Action::Prepare { id, dir, plan, .. } => {
                    let paths = plan
                        .iter()
                        .map(|(components, kind)| {
                            let path = components.iter().fold(dir.clone(), |p, c| p.join(c));
                            if *kind == EntryKind::Dir {
                                self.fs.0.insert(path.join(""), Vec::new());
                            }
                            path
                        })
                        .collect();
                    Some(IoDone::Prepared { id, paths })
                }
                Action::Write {
                    part,
                    offset,
                    bytes,
                    ..
                } => {
                    let file = self.fs.0.entry(part).or_default();
                    assert_eq!(file.len() as u64, offset, "writes in order");
                    file.extend_from_slice(&bytes);
                    None
                }
                Action::Finish {
                    id,
                    entry,
                    part,
                    path,
                } => {
                    let bytes = self.fs.0.remove(&part).unwrap();
                    assert!(!self.fs.0.contains_key(&path), "never overwrites");
                    self.fs.0.insert(path.clone(), bytes);
                    Some(IoDone::Finished { id, entry, path })
                }
                Action::Remove { part } => {
                    self.fs.0.remove(&part);
                    None
                }
                Action::Scan { .. } => None,
            };
            if let Some(done) = done {
                let more = if receiving {
                    self.receiver.on_io(done)
                } else {
                    self.sender.on_io(done)
                };
                queue.extend(more);
            }
        }
    }

    fn accept(&mut self) {
        let actions = self.receiver.accept(PathBuf::from("/dl"));
        self.run(actions, true);
    }

    /// Delivers one frame each way; false when nothing moved.
    fn step(&mut self) -> bool {
        let mut moved = false;
        if let Some(frame) = self.to_receiver.pop_front() {
            let actions = self.receiver.on_frame(frame);
            self.run(actions, true);
            moved = true;
        }
        if let Some(frame) = self.to_sender.pop_front() {
            let actions = self.sender.on_frame(frame);
            self.run(actions, false);
            moved = true;
        }
        moved
    }

    /// The connection drops (frames in flight lost) and comes back.
    fn drop_and_resume(&mut self) {
        self.to_receiver.clear();
        self.to_sender.clear();
        self.sender.reconnected();
        let actions = self.receiver.reconnected();
        self.run(actions, true);
    }

    fn received(&self, path: &str) -> Option<&Vec<u8>> {
        self.fs.0.get(&Path::new("/dl").join(path))
    }
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[test]
fn a_folder_with_an_empty_file_and_an_empty_folder_arrives_whole() {
    let big = bytes(5 * 61_440 + 7, 1);
    let mut world = World::new(
        &[("top/a.bin", big.clone()), ("top/empty.txt", Vec::new())],
        &["top", "top/nothing"],
    );
    world.accept();
    while world.step() {}
    assert_eq!(world.received("top/a.bin"), Some(&big));
    assert_eq!(world.received("top/empty.txt"), Some(&Vec::new()));
    assert!(world.received("top/nothing/").is_some());
    assert!(matches!(world.receiver.phase, Phase::Done(_)));
    assert!(matches!(world.sender.phase, Phase::Done(_)));
    assert_eq!(world.sender.sent, big.len() as u64);
    assert_eq!(world.receiver.received, big.len() as u64);
    assert!(world.max_in_flight <= WINDOW as usize);
    assert!(
        !world
            .fs
            .0
            .keys()
            .any(|p| p.to_string_lossy().ends_with(".part"))
    );
}

#[test]
fn nothing_moves_before_accepting_and_a_decline_ends_both() {
    let mut world = World::new(&[("a", bytes(10, 0))], &[]);
    while world.step() {}
    assert!(world.received("a").is_none());
    assert_eq!(world.sender.phase, Phase::Offered);
    let actions = world.receiver.decline("not now");
    world.run(actions, true);
    while world.step() {}
    assert_eq!(
        world.sender.phase,
        Phase::Failed("declined: not now".into())
    );
}

#[test]
fn a_changed_byte_fails_the_hash_and_keeps_nothing() {
    let mut world = World::new(&[("a", bytes(100_000, 3))], &[]);
    world.accept();
    // Corrupt a chunk on the way.
    loop {
        if let Some(TransferFrame::Chunk { bytes, .. }) = world.to_receiver.front_mut() {
            bytes[5] ^= 1;
            break;
        }
        assert!(world.step());
    }
    while world.step() {}
    assert!(matches!(&world.receiver.phase, Phase::Failed(r) if r.contains("does not match")));
    assert!(matches!(&world.sender.phase, Phase::Failed(r) if r.contains("does not match")));
    assert!(
        world.fs.0.keys().all(|p| !p.starts_with("/dl")),
        "{:?}",
        world.fs.0.keys()
    );
}

#[test]
fn a_cancel_from_the_sender_removes_the_partial_file() {
    let mut world = World::new(&[("a", bytes(3_000_000, 3))], &[]);
    world.accept();
    for _ in 0..3 {
        world.step();
    }
    let actions = world.sender.cancel("changed my mind");
    world.run(actions, false);
    while world.step() {}
    assert!(matches!(&world.receiver.phase, Phase::Failed(r) if r.contains("changed my mind")));
    assert!(world.fs.0.keys().all(|p| !p.starts_with("/dl")));
}

#[test]
fn a_cancel_from_the_receiver_removes_the_partial_file_and_stops_the_sender() {
    let mut world = World::new(&[("a", bytes(3_000_000, 3))], &[]);
    world.accept();
    for _ in 0..3 {
        world.step();
    }
    assert!(world.fs.0.contains_key(Path::new("/dl/a.part")));
    let actions = world.receiver.cancel("no room after all");
    world.run(actions, true);
    while world.step() {}
    assert!(matches!(&world.sender.phase, Phase::Failed(r) if r.contains("no room after all")));
    assert!(world.fs.0.keys().all(|p| !p.starts_with("/dl")));
}

#[test]
fn a_drop_mid_file_resumes_after_what_the_receiver_has_and_says_where() {
    let data = bytes(20 * 61_440, 5);
    let mut world = World::new(&[("a", data.clone())], &[]);
    world.accept();
    while world.receiver.received < 3 * 61_440 {
        assert!(world.step());
    }
    let had = world.receiver.received;
    world.drop_and_resume();
    while world.step() {}
    assert_eq!(world.received("a"), Some(&data));
    assert_eq!(world.receiver.resumed_at, Some(had));
    assert_eq!(world.sender.resumed_at, Some(had));
}

#[test]
fn a_prefix_that_no_longer_matches_the_file_starts_it_again() {
    let mut world = World::new(&[("a", bytes(20 * 61_440, 5))], &[]);
    world.accept();
    while world.receiver.received < 3 * 61_440 {
        assert!(world.step());
    }
    // The file changed at its start while the connection was down.
    let changed = bytes(20 * 61_440, 6);
    world.fs.0.insert(PathBuf::from("/src/a"), changed.clone());
    world.drop_and_resume();
    while world.step() {}
    assert_eq!(world.received("a"), Some(&changed));
    assert_eq!(world.receiver.resumed_at, None);
    assert_eq!(world.sender.resumed_at, None);
}

#[test]
fn a_receiver_that_restarted_without_its_state_gets_the_file_from_the_start() {
    let data = bytes(20 * 61_440, 5);
    let mut world = World::new(&[("a", data.clone())], &[]);
    world.accept();
    while world.receiver.received < 3 * 61_440 {
        assert!(world.step());
    }
    // The receiver restarts: it knows nothing of the transfer, and the
    // sender offers it again after the reconnect.
    world.to_receiver.clear();
    world.to_sender.clear();
    world.sender.reconnected();
    world.receiver = Receiver::new(world.sender.offer.clone()).unwrap();
    // (The real runtime numbers a name whose `.part` is left over; this
    // simulated one does not, so the leftover goes.)
    world.fs.0.retain(|path, _| !path.starts_with("/dl"));
    world.accept();
    while world.step() {}
    assert!(
        matches!(world.receiver.phase, Phase::Done(_)),
        "{:?}",
        world.receiver.phase
    );
    assert!(
        matches!(world.sender.phase, Phase::Done(_)),
        "{:?}",
        world.sender.phase
    );
    assert_eq!(world.sender.sent, data.len() as u64);
    assert!(world.fs.0.values().any(|file| *file == data));
}

#[test]
fn an_offer_with_a_hostile_name_is_refused_before_anything() {
    let offer = crate::protocol::transfer::Offer {
        id: 1,
        entries: vec![crate::protocol::transfer::OfferEntry {
            path: "../../.bashrc".into(),
            size: 1,
            kind: EntryKind::File,
        }],
        total: 1,
    };
    let err = Receiver::new(offer).unwrap_err();
    assert!(err.contains("unsafe name"), "{err}");
}

proptest! {
    /// Any files, dropped any number of times at any point: what arrives
    /// is byte for byte what was sent, with at most a window in flight.
    #[test]
    fn drops_anywhere_resume_to_identical_files(
        sizes in proptest::collection::vec(0_usize..200_000, 1..4),
        drops in proptest::collection::vec(0_usize..40, 0..4),
    ) {
        let files: Vec<(String, Vec<u8>)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &len)| (format!("d/f{i}"), bytes(len, i as u8)))
            .collect();
        let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
        let mut world = World::new(&refs, &["d"]);
        world.accept();
        let mut steps = 0;
        let mut drops = drops;
        drops.sort_unstable();
        loop {
            if drops.first() == Some(&steps) {
                drops.remove(0);
                world.drop_and_resume();
                continue;
            }
            if !world.step() {
                break;
            }
            steps += 1;
        }
        prop_assert!(matches!(world.receiver.phase, Phase::Done(_)), "{:?}", world.receiver.phase);
        prop_assert!(matches!(world.sender.phase, Phase::Done(_)), "{:?}", world.sender.phase);
        for (path, data) in &files {
            prop_assert_eq!(world.received(path), Some(data));
        }
        prop_assert!(world.max_in_flight <= WINDOW as usize);
    }
}
