//! The transcript's files: created 0600 and never opened through a
//! symbolic link; the `--log` folder is made 0700 if it is missing.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why a transcript could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// `/save` to a file that is already there.
    #[error("{} already exists (/save! replaces it)", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A symbolic link where the file goes: never followed.
    #[error("{} is a symbolic link, which duplex does not write through", path.display())]
    Link {
        /// The file.
        path: PathBuf,
    },
    /// Not a folder, where the `--log` folder goes.
    #[error("{} is not a folder", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// The file system said no.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        #[source]
        error: io::Error,
    },
}

impl TranscriptError {
    fn at(path: &Path, error: io::Error) -> Self {
        let path = path.to_owned();
        match error.kind() {
            io::ErrorKind::AlreadyExists => Self::Exists { path },
            // O_NOFOLLOW on a symbolic link fails with ELOOP.
            _ if error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                Self::Link { path }
            }
            _ => Self::Io { path, error },
        }
    }
}

/// Options for a transcript file: created 0600, and a symbolic link at
/// the path is never followed (opening it fails instead).
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    options
}

/// Makes the `--log` folder (0700, with its parents) if it is missing; a
/// folder that is there is left as it is.
pub fn make_log_dir(dir: &Path) -> Result<(), TranscriptError> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(TranscriptError::NotAFolder {
                path: dir.to_owned(),
            });
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(TranscriptError::at(dir, error)),
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|error| TranscriptError::at(dir, error))
}

/// Writes `lines` to a new file at `path` (0600); `replace` writes over a
/// file that is there (and makes it 0600), otherwise one that is there is
/// an error and left alone.
pub fn save(path: &Path, lines: &[String], replace: bool) -> Result<(), TranscriptError> {
    let mut options = private_options();
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let err = |error| TranscriptError::at(path, error);
    let mut file = options.open(path).map_err(err)?;
    if replace {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(err)?;
        }
    }
    file.write_all(lines.concat().as_bytes()).map_err(err)?;
    file.flush().map_err(err)
}

/// The file `/save` writes for the path as typed: `~/` is the home
/// folder `home`, and a relative path is taken from the current folder.
pub fn resolve(typed: &str, home: Option<&Path>) -> PathBuf {
    let path = match (typed.strip_prefix('~'), home) {
        (Some(""), Some(home)) => home.to_owned(),
        (Some(rest), Some(home)) if rest.starts_with('/') => home.join(&rest[1..]),
        _ => PathBuf::from(typed),
    };
    std::path::absolute(&path).unwrap_or(path)
}

/// The `--log` folder, with the conversation file it appends to open.
#[derive(Debug)]
pub struct Logbook {
    dir: PathBuf,
    open: Option<(String, File)>,
}

impl Logbook {
    /// Transcripts in `dir` (made with [`make_log_dir`]).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir, open: None }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `lines` to the file `name` in the folder (created 0600),
    /// in one write.
    pub fn append(&mut self, name: &str, lines: &[String]) -> Result<(), TranscriptError> {
        let path = self.dir.join(name);
        let err = |error| TranscriptError::at(&path, error);
        let file = match &mut self.open {
            Some((open, file)) if open == name => file,
            _ => {
                let file = private_options()
                    .append(true)
                    .create(true)
                    .open(&path)
                    .map_err(err)?;
                &mut self.open.insert((name.to_owned(), file)).1
            }
        };
        file.write_all(lines.concat().as_bytes()).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_log_folder_is_made_private_and_files_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs/duplex");
        make_log_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        // One that is there stays as it is.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        make_log_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o750);
        let mut book = Logbook::new(dir.clone());
        book.append("a.log", &["one\n".into()]).unwrap();
        book.append("a.log", &["two\n".into(), "three\n".into()])
            .unwrap();
        book.append("b.log", &["other\n".into()]).unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("a.log")).unwrap(),
            "one\ntwo\nthree\n"
        );
        assert_eq!(fs::read_to_string(dir.join("b.log")).unwrap(), "other\n");
        assert_eq!(mode(&dir.join("a.log")), 0o600);
        // Appending again (a new run) keeps what was there.
        let mut again = Logbook::new(dir.clone());
        again.append("a.log", &["four\n".into()]).unwrap();
        assert!(
            fs::read_to_string(dir.join("a.log"))
                .unwrap()
                .ends_with("three\nfour\n")
        );
    }

    #[test]
    fn a_file_where_the_folder_goes_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        fs::write(&file, "").unwrap();
        let err = make_log_dir(&file).unwrap_err();
        assert!(err.to_string().ends_with("is not a folder"), "{err}");
    }

    #[test]
    fn symbolic_links_are_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        fs::write(&target, "precious\n").unwrap();
        let link = tmp.path().join("link.log");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = Logbook::new(tmp.path().to_owned())
            .append("link.log", &["x\n".into()])
            .unwrap_err();
        assert!(matches!(err, TranscriptError::Link { .. }), "{err:?}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let err = save(&link, &["x\n".into()], true).unwrap_err();
        assert!(matches!(err, TranscriptError::Link { .. }), "{err:?}");
        assert!(matches!(
            save(&link, &["x\n".into()], false).unwrap_err(),
            TranscriptError::Exists { .. }
        ));
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
    }

    #[test]
    fn saved_paths_start_at_home_or_here() {
        let home = Path::new("/home/alice");
        assert_eq!(
            resolve("~/chat.txt", Some(home)),
            Path::new("/home/alice/chat.txt")
        );
        assert_eq!(resolve("~", Some(home)), home);
        assert_eq!(resolve("/tmp/x", Some(home)), Path::new("/tmp/x"));
        assert_eq!(
            resolve("~bob/x", Some(home)),
            std::path::absolute("~bob/x").unwrap()
        );
        assert_eq!(
            resolve("chat.txt", None),
            std::env::current_dir().unwrap().join("chat.txt")
        );
    }

    #[test]
    fn save_refuses_to_overwrite_unless_told() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("chat.txt");
        save(&path, &["a\n".into(), "b\n".into()], false).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "a\nb\n");
        assert_eq!(mode(&path), 0o600);
        let err = save(&path, &["c\n".into()], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{} already exists (/save! replaces it)", path.display())
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "a\nb\n");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        save(&path, &["c\n".into()], true).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "c\n");
        assert_eq!(mode(&path), 0o600);
        let missing = tmp.path().join("no/such/folder/x");
        assert!(matches!(
            save(&missing, &[], false).unwrap_err(),
            TranscriptError::Io { .. }
        ));
    }
}
