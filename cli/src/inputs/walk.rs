//! The one directory walker: manifests (`check`, `fix`), `--policy`
//! directories (`check`, `fix`, `build`, `serve`), `test` and `fmt` all find
//! their files here, by the same rules; only the extensions taken (and the
//! configuration file left out beside manifests) differ.
//!
//! - A path named on the command line is always taken as it is: a directory
//!   is walked, a regular file is taken whatever its name or extension, and
//!   anything else (a FIFO, a device, a socket) is an error.
//! - Inside a walk, entries are visited in order of their names; hidden
//!   entries (names starting with `.`) and directories named `target` or
//!   `node_modules` are skipped, and files are taken by extension.
//! - Symbolic links are followed, except a link to a directory that contains
//!   the directory being walked: that is a loop, noted once and not followed
//!   (a link to `/` is one). Every directory is walked once and every file
//!   taken once, however many links or arguments reach it (directories and
//!   files are compared by device and inode): a file is judged under the
//!   first name it was found by.
//! - A FIFO, device or socket found in a walk with a name that would be taken
//!   is skipped with a note; a broken link with such a name is an error.
//! - A directory that cannot be read is an error naming it; the rest is
//!   still walked.

use super::read::FileKind;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fmt;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

/// Directories never entered in a walk: build output and installed
/// JavaScript packages, which hold copies rather than sources.
pub const SKIPPED_DIRECTORIES: [&str; 2] = ["target", "node_modules"];

/// What a walk takes.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// The extensions of the files taken in a walk (without the dot).
    pub extensions: &'static [&'static str],
    /// File names never taken in a walk (the configuration file beside manifests).
    pub skipped_files: &'static [&'static str],
    /// Whether `-` names standard input.
    pub standard_input: bool,
}

/// Manifests: YAML, JSON and JSON lines; `rampart.yaml` beside them is the
/// configuration, not a manifest.
pub const MANIFESTS: Rules = Rules {
    extensions: &["yaml", "yml", "json", "jsonl"],
    skipped_files: &crate::config::FILE_NAMES,
    standard_input: true,
};

/// Policy files.
pub const POLICIES: Rules = Rules {
    extensions: &["rampart"],
    skipped_files: &[],
    standard_input: false,
};

/// A path that could not be walked or taken: the run is incomplete.
#[derive(Debug)]
pub enum WalkError {
    /// Nothing is at the path.
    Missing(PathBuf),
    /// A path named on the command line is a FIFO, a device or a socket.
    NotRegular(PathBuf, FileKind),
    /// A link found in a walk, with a name that would be taken, leads nowhere.
    BrokenLink(PathBuf),
    /// A directory, or an entry of one, could not be read.
    Unreadable(PathBuf, std::io::Error),
}

impl WalkError {
    /// The path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            WalkError::Missing(path)
            | WalkError::NotRegular(path, _)
            | WalkError::BrokenLink(path)
            | WalkError::Unreadable(path, _) => path,
        }
    }
}

impl fmt::Display for WalkError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::Missing(path) => write!(
                formatter,
                "cannot read `{}`: no such file or directory",
                path.display()
            ),
            WalkError::NotRegular(path, kind) => write!(
                formatter,
                "cannot read `{}`: it is a {kind}, not a regular file (only files and directories are read; `-` reads standard input)",
                path.display()
            ),
            WalkError::BrokenLink(path) => write!(
                formatter,
                "cannot read `{}`: it is a symbolic link to nothing",
                path.display()
            ),
            WalkError::Unreadable(path, error) => {
                write!(formatter, "cannot read `{}`: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for WalkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WalkError::Unreadable(_, error) => Some(error),
            _ => None,
        }
    }
}

/// Something left out of a walk that is worth knowing, but leaves the run
/// complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkNote {
    /// A link to a directory that contains it: not followed.
    Loop {
        /// The link.
        link: PathBuf,
        /// Where it leads, as the link is written.
        target: PathBuf,
    },
    /// A FIFO, device or socket with a name that would be taken: skipped.
    Special(PathBuf, FileKind),
}

impl WalkNote {
    /// The path the note is about.
    pub fn path(&self) -> &Path {
        match self {
            WalkNote::Loop { link, .. } => link,
            WalkNote::Special(path, _) => path,
        }
    }
}

impl WalkNote {
    /// What the note says about its path, without naming it (reports
    /// give the path beside it).
    pub fn reason(&self) -> String {
        match self {
            WalkNote::Loop { target, .. } => format!(
                "symbolic link loop: the link leads to `{}`, which contains it; not followed",
                target.display()
            ),
            WalkNote::Special(_, kind) => format!("skipped: a {kind} is not a regular file"),
        }
    }
}

impl fmt::Display for WalkNote {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "`{}` is {}",
            self.path().display(),
            self.reason()
        )
    }
}

/// What one path of the command line added to a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// The index in [`Walker::files`] of the first file it added: the files
    /// it added are those from there on.
    pub first: usize,
    /// How many files it found that the rules take, counting those an
    /// earlier path had already found.
    pub found: usize,
    /// Whether the path is a directory.
    pub directory: bool,
}

/// Where a file or directory is: device and inode where the system has them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Identity {
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(not(unix))]
    path: PathBuf,
}

impl Identity {
    #[cfg(unix)]
    fn of(metadata: &Metadata, _path: &Path) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity {
            inode: (metadata.dev(), metadata.ino()),
        }
    }

    #[cfg(not(unix))]
    fn of(_metadata: &Metadata, path: &Path) -> Identity {
        Identity {
            path: path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
        }
    }
}

/// Walks the paths of a command line, in order, into one list of files.
pub struct Walker {
    rules: Rules,
    /// The files found, in order, each once.
    pub files: Vec<PathBuf>,
    /// What was left out, worth a note.
    pub notes: Vec<WalkNote>,
    /// What could not be walked or taken.
    pub errors: Vec<WalkError>,
    walked: HashSet<Identity>,
    /// The directories being walked, from the path named on the command
    /// line down to the current one.
    stack: Vec<Identity>,
    taken: HashSet<Identity>,
    standard_input_taken: bool,
}

impl Walker {
    /// A walker by `rules`.
    pub fn new(rules: Rules) -> Walker {
        Walker {
            rules,
            files: Vec::new(),
            notes: Vec::new(),
            errors: Vec::new(),
            walked: HashSet::new(),
            stack: Vec::new(),
            taken: HashSet::new(),
            standard_input_taken: false,
        }
    }

    /// Walks every path in turn.
    pub fn walk(rules: Rules, paths: &[PathBuf]) -> Walker {
        let mut walker = Walker::new(rules);
        for path in paths {
            walker.add(path);
        }
        walker
    }

    /// Adds a path named on the command line.
    pub fn add(&mut self, path: &Path) -> Added {
        let mut added = Added {
            first: self.files.len(),
            found: 0,
            directory: false,
        };
        if self.rules.standard_input && path.as_os_str() == "-" {
            added.found = 1;
            if !std::mem::replace(&mut self.standard_input_taken, true) {
                self.files.push(path.to_path_buf());
            }
            return added;
        }
        match std::fs::metadata(path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                self.errors.push(WalkError::Missing(path.to_path_buf()));
            }
            Err(error) => self
                .errors
                .push(WalkError::Unreadable(path.to_path_buf(), error)),
            Ok(metadata) if metadata.is_dir() => {
                added.directory = true;
                let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
                self.directory(path, &real, &metadata, &mut added.found);
            }
            Ok(metadata) if metadata.is_file() => {
                added.found = 1;
                self.take(path.to_path_buf(), &metadata);
            }
            Ok(metadata) => self.errors.push(WalkError::NotRegular(
                path.to_path_buf(),
                FileKind::of(metadata.file_type()),
            )),
        }
        added
    }

    fn take(&mut self, path: PathBuf, metadata: &Metadata) {
        if self.taken.insert(Identity::of(metadata, &path)) {
            self.files.push(path);
        }
    }

    /// Walks `directory`, whose real (link-free) path is `real`.
    fn directory(&mut self, directory: &Path, real: &Path, metadata: &Metadata, found: &mut usize) {
        let identity = Identity::of(metadata, real);
        if !self.walked.insert(identity.clone()) {
            return;
        }
        self.stack.push(identity);
        self.entries(directory, real, found);
        self.stack.pop();
    }

    /// Walks the entries of `directory`, whose real path is `real`.
    fn entries(&mut self, directory: &Path, real: &Path, found: &mut usize) {
        let entries = match std::fs::read_dir(directory) {
            Ok(entries) => entries,
            Err(error) => {
                self.errors
                    .push(WalkError::Unreadable(directory.to_path_buf(), error));
                return;
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => names.push(entry.file_name()),
                Err(error) => self
                    .errors
                    .push(WalkError::Unreadable(directory.to_path_buf(), error)),
            }
        }
        names.sort();
        for name in names {
            if name.as_encoded_bytes().first() == Some(&b'.') {
                continue;
            }
            let path = directory.join(&name);
            let entry = match std::fs::symlink_metadata(&path) {
                Ok(entry) => entry,
                Err(error) => {
                    self.errors.push(WalkError::Unreadable(path, error));
                    continue;
                }
            };
            let link = entry.file_type().is_symlink();
            let metadata = if link {
                match std::fs::metadata(&path) {
                    Ok(metadata) => metadata,
                    Err(_) => {
                        if self.wanted(&name) {
                            self.errors.push(WalkError::BrokenLink(path));
                        }
                        continue;
                    }
                }
            } else {
                entry
            };
            if metadata.is_dir() {
                if SKIPPED_DIRECTORIES
                    .iter()
                    .any(|skipped| name == OsStr::new(skipped))
                {
                    continue;
                }
                let target = if link {
                    match path.canonicalize() {
                        Ok(target) => target,
                        Err(error) => {
                            self.errors.push(WalkError::Unreadable(path, error));
                            continue;
                        }
                    }
                } else {
                    real.join(&name)
                };
                // A link back to a directory being walked (or above them
                // all) is a loop; one to a directory walked before is
                // skipped quietly below, as every second route is.
                if link
                    && (real.starts_with(&target)
                        || self.stack.contains(&Identity::of(&metadata, &target)))
                {
                    let target = std::fs::read_link(&path).unwrap_or(target);
                    self.notes.push(WalkNote::Loop { link: path, target });
                    continue;
                }
                self.directory(&path, &target, &metadata, found);
            } else if self.wanted(&name) {
                if metadata.is_file() {
                    *found += 1;
                    self.take(path, &metadata);
                } else {
                    let kind = FileKind::of(metadata.file_type());
                    self.notes.push(WalkNote::Special(path, kind));
                }
            }
        }
    }

    /// Whether a file of this name found in a walk is taken.
    fn wanted(&self, name: &OsStr) -> bool {
        let path = Path::new(name);
        let extension = path.extension().and_then(OsStr::to_str);
        extension.is_some_and(|extension| self.rules.extensions.contains(&extension))
            && !self
                .rules
                .skipped_files
                .iter()
                .any(|skipped| name == OsStr::new(skipped))
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;
    use std::os::unix::fs::symlink;

    /// A fresh directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let directory =
            std::env::temp_dir().join(format!("rampart-walk-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        directory
    }

    fn names(walker: &Walker, root: &Path) -> Vec<String> {
        walker
            .files
            .iter()
            .map(|file| file.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn hidden_entries_build_output_and_other_extensions_are_skipped() {
        let root = scratch("skips");
        for directory in [".git", "target", "node_modules", "b", "a"] {
            std::fs::create_dir_all(root.join(directory)).unwrap();
        }
        for file in [
            ".git/x.yaml",
            "target/x.yaml",
            "node_modules/x.yaml",
            "b/z.yml",
            "a/y.json",
            ".hidden.yaml",
            "readme.md",
            "rampart.yaml",
            "c.jsonl",
        ] {
            std::fs::write(root.join(file), "a: 1\n").unwrap();
        }
        let walker = Walker::walk(MANIFESTS, std::slice::from_ref(&root));
        assert_eq!(names(&walker, &root), ["a/y.json", "b/z.yml", "c.jsonl"]);
        assert!(walker.notes.is_empty() && walker.errors.is_empty());
        // A path named on the command line is taken whatever its name.
        let hidden = root.join(".git");
        let walker = Walker::walk(MANIFESTS, &[hidden.clone(), root.join("readme.md")]);
        assert_eq!(
            walker.files,
            [hidden.join("x.yaml"), root.join("readme.md")]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn loops_are_noted_once_and_every_file_taken_once() {
        let root = scratch("loops");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/pod.yaml"), "a: 1\n").unwrap();
        // Two links to an ancestor, a link to itself, two links forming a
        // loop through a sibling, a link to the file, and one to `/`.
        symlink("..", root.join("a/b/up")).unwrap();
        symlink("../..", root.join("a/b/top")).unwrap();
        symlink(".", root.join("a/self")).unwrap();
        std::fs::create_dir_all(root.join("c")).unwrap();
        symlink("../c", root.join("a/to-c")).unwrap();
        symlink("../a", root.join("c/to-a")).unwrap();
        symlink("b/pod.yaml", root.join("a/again.yaml")).unwrap();
        symlink("/", root.join("c/root")).unwrap();
        let walker = Walker::walk(MANIFESTS, &[root.clone(), root.join("a/b/pod.yaml")]);
        assert_eq!(names(&walker, &root), ["a/again.yaml"]);
        assert!(walker.errors.is_empty(), "{:?}", walker.errors);
        let mut noted: Vec<String> = walker
            .notes
            .iter()
            .map(|note| {
                note.path()
                    .strip_prefix(&root)
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        noted.sort();
        assert_eq!(
            noted,
            ["a/b/top", "a/b/up", "a/self", "a/to-c/root", "a/to-c/to-a"]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn special_files_are_noted_broken_links_are_errors() {
        let root = scratch("special");
        symlink("/dev/zero", root.join("zero.yaml")).unwrap();
        symlink("/dev/null", root.join("null.txt")).unwrap();
        symlink("missing", root.join("gone.yaml")).unwrap();
        symlink("missing", root.join("gone")).unwrap();
        let walker = Walker::walk(MANIFESTS, std::slice::from_ref(&root));
        assert!(walker.files.is_empty());
        assert_eq!(
            walker.notes,
            [WalkNote::Special(
                root.join("zero.yaml"),
                FileKind::CharacterDevice
            )]
        );
        assert_eq!(walker.errors.len(), 1);
        assert!(
            matches!(&walker.errors[0], WalkError::BrokenLink(path) if path == &root.join("gone.yaml"))
        );
        // Named on the command line, a device is an error.
        let walker = Walker::walk(MANIFESTS, &[PathBuf::from("/dev/zero")]);
        assert!(walker.files.is_empty());
        assert!(matches!(
            &walker.errors[..],
            [WalkError::NotRegular(_, FileKind::CharacterDevice)]
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn standard_input_is_taken_once_and_only_where_allowed() {
        let dash = PathBuf::from("-");
        let walker = Walker::walk(MANIFESTS, &[dash.clone(), dash.clone()]);
        assert_eq!(walker.files, std::slice::from_ref(&dash));
        let walker = Walker::walk(POLICIES, std::slice::from_ref(&dash));
        assert!(walker.files.is_empty());
        assert!(matches!(&walker.errors[..], [WalkError::Missing(_)]));
    }
}
