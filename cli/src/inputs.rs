//! Finding and reading manifest files.

use rampart_engine::load::{self, Document, LoadError, LoadLimits};
use std::io::Read;
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

/// Expands the command line's paths: files as given, directories walked
/// recursively for `.yaml`, `.yml`, `.json` and `.jsonl` files (sorted, hidden ones
/// skipped), `-` for standard input. Paths that do not exist are problems.
pub fn expand(paths: &[PathBuf], problems: &mut Vec<InputProblem>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(path.clone());
        } else if path.is_dir() {
            walk(path, &mut files, problems);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            problems.push(InputProblem {
                file: path.display().to_string(),
                error: message_only(format!(
                    "cannot read `{}`: no such file or directory",
                    path.display()
                )),
            });
        }
    }
    files
}

fn walk(directory: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<InputProblem>) {
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) => {
            problems.push(InputProblem {
                file: directory.display().to_string(),
                error: message_only(format!("cannot read directory: {error}")),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    for path in paths {
        let hidden = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with('.'));
        // A configuration file beside the manifests is not a manifest.
        let configuration = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| crate::config::FILE_NAMES.contains(&name));
        if hidden || configuration {
            continue;
        }
        if path.is_dir() {
            walk(&path, files, problems);
        } else if path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| matches!(extension, "yaml" | "yml" | "json" | "jsonl"))
        {
            files.push(path);
        }
    }
}

/// Reads a file's text (or stdin for `-`); it must be UTF-8.
pub fn read_text(path: &Path) -> std::io::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read(path).and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the file is not UTF-8 text",
                )
            })
        })
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
