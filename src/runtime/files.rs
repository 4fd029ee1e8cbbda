//! The file IO transfers ask for ([`Action`]), done here and only here,
//! synchronously and a chunk at a time (so memory stays bounded by the
//! transfer's window whatever the file size).
//!
//! Received files are created with `create_new` (which never follows a
//! symbolic link and never opens an existing file) and, on Unix, without
//! following links when opened again; they get their final name by a hard
//! link, which fails rather than replace an existing file, then the
//! partial file is removed. A file that cannot be written is removed, so
//! nothing half-written is left under a final name.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::protocol::transfer::EntryKind;
use crate::transfer::names::{self, MAX_DEPTH};
use crate::transfer::{Action, IoDone, Listed, part_of};

/// Most numbered names tried before giving up (`name (999).ext`).
const MAX_NUMBER: u32 = 999;

/// Does what `action` asks; the result to feed back to the app, if any.
pub fn perform(action: Action) -> Option<IoDone> {
    match action {
        Action::Send(_) => None,
        Action::Scan { id, paths } => Some(IoDone::Scanned {
            id,
            listing: scan(&paths),
        }),
        Action::Read {
            id,
            entry,
            path,
            offset,
            len,
        } => Some(match read(&path, offset, len) {
            Ok(bytes) => IoDone::Read {
                id,
                entry,
                offset,
                bytes,
            },
            Err(err) => IoDone::Failed {
                id,
                error: format!("cannot read {}: {err}", path.display()),
            },
        }),
        Action::HashPrefix {
            id,
            entry,
            path,
            len,
        } => Some(match hash_prefix(&path, len) {
            Ok((hasher, len)) => IoDone::PrefixHashed {
                id,
                entry,
                hasher: Box::new(hasher),
                len,
            },
            Err(err) => IoDone::Failed {
                id,
                error: format!("cannot read {}: {err}", path.display()),
            },
        }),
        Action::Prepare {
            id,
            dir,
            plan,
            total,
        } => Some(match prepare(&dir, &plan, total) {
            Ok(paths) => IoDone::Prepared { id, paths },
            Err(error) => IoDone::Failed { id, error },
        }),
        Action::Write {
            id,
            part,
            offset,
            bytes,
        } => write(&part, offset, &bytes)
            .err()
            .map(|err| IoDone::Failed {
                id,
                error: format!("cannot write {}: {err}", part.display()),
            }),
        Action::Finish {
            id,
            entry,
            part,
            path,
        } => Some(match finish(&part, &path) {
            Ok(path) => IoDone::Finished { id, entry, path },
            Err(err) => IoDone::Failed {
                id,
                error: format!("cannot name {}: {err}", path.display()),
            },
        }),
        Action::Remove { part } => {
            if let Err(err) = fs::remove_file(&part)
                && err.kind() != ErrorKind::NotFound
            {
                tracing::warn!(%err, part = %part.display(), "partial file not removed");
            }
            None
        }
    }
}

/// What the paths hold: files, and folders walked entry by entry (parents
/// first); symbolic links are neither followed nor sent.
fn scan(paths: &[PathBuf]) -> Result<Vec<Listed>, String> {
    let mut listing = Vec::new();
    for path in paths {
        let meta = fs::symlink_metadata(path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let Some(name) = path
            .canonicalize()
            .ok()
            .and_then(|full| full.file_name().map(|n| n.to_string_lossy().into_owned()))
        else {
            return Err(format!("{} has no name to send it by", path.display()));
        };
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{} is a symbolic link; links are not sent",
                path.display()
            ));
        }
        if meta.is_file() {
            listing.push(Listed {
                source: path.clone(),
                path: name,
                size: meta.len(),
                kind: EntryKind::File,
            });
        } else if meta.is_dir() {
            walk(path, &name, 1, &mut listing)?;
        } else {
            return Err(format!("{} is not a file or a folder", path.display()));
        }
    }
    Ok(listing)
}

fn walk(dir: &Path, rel: &str, depth: usize, listing: &mut Vec<Listed>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "{} is more than {MAX_DEPTH} folders deep",
            dir.display()
        ));
    }
    listing.push(Listed {
        source: dir.to_owned(),
        path: rel.to_owned(),
        size: 0,
        kind: EntryKind::Dir,
    });
    let mut children: Vec<_> = fs::read_dir(dir)
        .map_err(|err| format!("cannot read {}: {err}", dir.display()))?
        .filter_map(Result::ok)
        .collect();
    children.sort_by_key(fs::DirEntry::file_name);
    for child in children {
        let Ok(meta) = fs::symlink_metadata(child.path()) else {
            continue;
        };
        let name = child.file_name().to_string_lossy().into_owned();
        let child_rel = format!("{rel}/{name}");
        if meta.is_file() {
            listing.push(Listed {
                source: child.path(),
                path: child_rel,
                size: meta.len(),
                kind: EntryKind::File,
            });
        } else if meta.is_dir() {
            walk(&child.path(), &child_rel, depth + 1, listing)?;
        }
        // Symbolic links, sockets and devices are not sent.
    }
    Ok(())
}

fn read(path: &Path, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn hash_prefix(path: &Path, len: u64) -> std::io::Result<(blake3::Hasher, u64)> {
    let file = File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let read = std::io::copy(&mut file.take(len), &mut hasher)?;
    Ok((hasher, read))
}

/// Checks room and makes the folders; returns where each entry goes. A
/// top-level name already taken gets the next free number.
fn prepare(
    dir: &Path,
    plan: &[(Vec<String>, EntryKind)],
    total: u64,
) -> Result<Vec<PathBuf>, String> {
    fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    if let Some(free) = free_space(dir)
        && free < total
    {
        return Err(format!(
            "not enough free space in {}: {} needed, {} free",
            dir.display(),
            crate::app::transfer::size_text(total),
            crate::app::transfer::size_text(free)
        ));
    }
    let mut tops: std::collections::HashMap<String, String> = Default::default();
    let mut paths = Vec::with_capacity(plan.len());
    for (components, kind) in plan {
        let Some((first, rest)) = components.split_first() else {
            return Err("an empty name".to_owned());
        };
        let top = match tops.get(first) {
            Some(top) => top.clone(),
            None => {
                let top = free_top(dir, first, *kind)?;
                tops.insert(first.clone(), top.clone());
                top
            }
        };
        let path = rest.iter().fold(dir.join(&top), |path, c| path.join(c));
        if *kind == EntryKind::Dir && !rest.is_empty() {
            fs::create_dir(&path)
                .map_err(|err| format!("cannot create {}: {err}", path.display()))?;
        }
        paths.push(path);
    }
    Ok(paths)
}

/// A free top-level name for `name` in `dir` (a folder is created at once).
fn free_top(dir: &Path, name: &str, kind: EntryKind) -> Result<String, String> {
    for n in 0..=MAX_NUMBER {
        let candidate = if n == 0 {
            name.to_owned()
        } else {
            names::numbered(name, n, kind == EntryKind::Dir)
        };
        let path = dir.join(&candidate);
        match kind {
            EntryKind::Dir => match fs::create_dir(&path) {
                Ok(()) => return Ok(candidate),
                Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(format!("cannot create {}: {err}", path.display())),
            },
            EntryKind::File => {
                if !exists(&path) && !exists(&part_of(&path)) {
                    return Ok(candidate);
                }
            }
        }
    }
    Err(format!("no free name for {name} in {}", dir.display()))
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Bytes free for us under `dir`, if the system says.
fn free_space(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        let stat = rustix::fs::statvfs(dir).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

fn open_options(create: bool) -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    if create {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o644);
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options
}

fn write(part: &Path, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = open_options(offset == 0).open(part)?;
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(bytes)
}

/// Gives the partial file its final name, never replacing a file: the
/// next free number if the name was taken meanwhile.
fn finish(part: &Path, path: &Path) -> std::io::Result<PathBuf> {
    open_options(false).open(part)?.sync_all()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for n in 0..=MAX_NUMBER {
        let target = if n == 0 {
            path.to_owned()
        } else {
            path.with_file_name(names::numbered(&name, n, false))
        };
        match fs::hard_link(part, &target) {
            Ok(()) => {
                fs::remove_file(part)?;
                return Ok(target);
            }
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(err),
        }
    }
    Err(std::io::Error::new(
        ErrorKind::AlreadyExists,
        "no free name left",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_is_numbered_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "old").unwrap();
        let plan = vec![(vec!["a.txt".to_owned()], EntryKind::File)];
        let paths = prepare(dir.path(), &plan, 3).unwrap();
        assert_eq!(paths, [dir.path().join("a (1).txt")]);
        let part = part_of(&paths[0]);
        write(&part, 0, b"new").unwrap();
        // Someone takes the name meanwhile.
        fs::write(&paths[0], "other").unwrap();
        let got = finish(&part, &paths[0]).unwrap();
        assert_eq!(got, dir.path().join("a (1) (1).txt"));
        assert_eq!(fs::read(dir.path().join("a.txt")).unwrap(), b"old");
        assert_eq!(fs::read(&got).unwrap(), b"new");
        assert!(!part.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_partial_file_is_never_written_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "keep").unwrap();
        let part = dir.path().join("x.part");
        std::os::unix::fs::symlink(&target, &part).unwrap();
        assert!(write(&part, 0, b"evil").is_err());
        assert!(write(&part, 4, b"evil").is_err());
        assert_eq!(fs::read(&target).unwrap(), b"keep");
    }

    #[test]
    fn not_enough_room_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let plan = vec![(vec!["huge".to_owned()], EntryKind::File)];
        let err = prepare(dir.path(), &plan, u64::MAX).unwrap_err();
        assert!(err.contains("not enough free space"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn folders_are_walked_parents_first_and_links_are_not_sent() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("top");
        fs::create_dir_all(top.join("empty")).unwrap();
        fs::write(top.join("a.txt"), "aaa").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", top.join("link")).unwrap();
        let listing = scan(std::slice::from_ref(&top)).unwrap();
        let paths: Vec<_> = listing.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(paths, ["top", "top/a.txt", "top/empty"]);
        let err = scan(&[top.join("link")]).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
    }
}
