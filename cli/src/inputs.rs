//! Finding and reading manifest files: [`walk`] finds files by the rules
//! every command shares, [`read`] reads them bounded.

pub mod read;
pub mod walk;

use rampart_engine::load::{self, Document, LoadError, LoadLimits};
use std::path::{Path, PathBuf};

/// One input file, read and parsed.
pub struct InputFile {
    /// The name shown in reports: the path as found, or `-` for stdin.
    pub name: String,
    /// Its text (for code frames).
    pub text: String,
    /// Its documents.
    pub documents: Vec<Document>,
    /// Problems reading or parsing it.
    pub errors: Vec<LoadError>,
}

/// Where each input problem is: file and message (line and column when known).
pub struct InputProblem {
    /// The file.
    pub file: String,
    /// The problem.
    pub error: LoadError,
}

/// The manifest files a command line names, and what went wrong finding them.
pub struct Expanded {
    /// The files, in order, each once (`-` for standard input).
    pub files: Vec<PathBuf>,
    /// Paths that could not be walked or read: the run is incomplete.
    pub problems: Vec<InputProblem>,
    /// What the walk left out that is worth a note (a link loop, a FIFO).
    pub notes: Vec<InputProblem>,
}

/// Expands the command line's paths by the walker's rules ([`walk`]):
/// files as given, directories walked for `.yaml`, `.yml`, `.json` and
/// `.jsonl` files, `-` for standard input. A path that does not exist, is
/// not a regular file or directory, or is a directory without a single
/// manifest is a problem.
pub fn expand(paths: &[PathBuf]) -> Expanded {
    let mut walker = walk::Walker::new(walk::MANIFESTS);
    let mut empty = Vec::new();
    for path in paths {
        let added = walker.add(path);
        if added.directory && added.found == 0 {
            empty.push(path);
        }
    }
    let problem = |path: &Path, message: String| InputProblem {
        file: path.display().to_string(),
        error: message_only(message),
    };
    let mut problems: Vec<InputProblem> = walker
        .errors
        .iter()
        .map(|error| problem(error.path(), error.to_string()))
        .collect();
    for directory in empty {
        problems.push(problem(
            directory,
            format!(
                "no manifest files (.yaml, .yml, .json, .jsonl) in `{}`: nothing was checked there",
                directory.display()
            ),
        ));
    }
    let notes = walker
        .notes
        .iter()
        .map(|note| problem(note.path(), note.reason()))
        .collect();
    Expanded {
        files: walker.files,
        problems,
        notes,
    }
}

/// Reads a manifest file's text (or stdin for `-`): a regular file of at
/// most [`read::MANIFEST_LIMIT`] bytes, UTF-8; standard input must not be blank.
pub fn read_text(path: &Path) -> Result<String, read::ReadError> {
    if path.as_os_str() == "-" {
        read::read_standard_input(read::MANIFEST_LIMIT)
    } else {
        read::read_text(path, read::MANIFEST_LIMIT)
    }
}

/// Reads and parses one file (or stdin for `-`).
pub fn read(path: &Path, limits: &LoadLimits) -> InputFile {
    let name = display_name(path);
    let text = read_text(path);
    match text {
        Ok(text) => {
            let outcome = load::load_str(&text, limits);
            InputFile {
                name,
                text,
                documents: outcome.documents,
                errors: outcome.errors,
            }
        }
        Err(error) => InputFile {
            name,
            text: String::new(),
            documents: Vec::new(),
            errors: vec![message_only(format!("cannot read file: {error}"))],
        },
    }
}

/// How a path is shown: relative to the working directory when below it.
pub fn display_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        return "-".to_owned();
    }
    let shown = std::env::current_dir()
        .ok()
        .and_then(|directory| path.strip_prefix(&directory).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    let text = shown.display().to_string();
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

/// A problem with no position.
pub fn message_only(message: String) -> LoadError {
    LoadError {
        document: None,
        position: None,
        message,
    }
}
