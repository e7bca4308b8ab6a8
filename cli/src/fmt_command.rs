//! `rampart fmt`: rewrites `.rampart` files in the canonical layout
//! (`rampart_lang::format`), or with `--check` only says which would change.

use crate::exit;
use crate::render::Style;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Arguments of `rampart fmt`.
#[derive(clap::Args, Debug)]
pub struct FmtArguments {
    /// Policy files (.rampart) or directories of them (recursive); default: the working directory.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Write nothing: list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    check: bool,
}

/// Runs `rampart fmt`; returns the exit code: 0 when every file is (now)
/// formatted, 1 under `--check` when some file is not, 2 when a file could
/// not be read, parsed or written.
pub fn run(arguments: FmtArguments) -> u8 {
    let paths = if arguments.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        arguments.paths
    };
    let mut files = Vec::new();
    let mut incomplete = false;
    for path in &paths {
        if path.is_dir() {
            collect(path, &mut files);
        } else if path.exists() {
            files.push(path.clone());
        } else {
            eprintln!("error: {}: no such file or directory", path.display());
            incomplete = true;
        }
    }
    let style = Style::new(crate::use_color(
        crate::ColorChoice::Auto,
        std::io::stderr().is_terminal(),
    ));
    let mut unformatted = 0usize;
    for file in &files {
        let name = crate::inputs::display_name(file);
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("error: {name}: cannot read: {error}");
                incomplete = true;
                continue;
            }
        };
        let formatted = match rampart_lang::format::format(&text) {
            Ok(formatted) => formatted,
            Err(mut diagnostic) => {
                diagnostic.file = name.clone();
                eprint!(
                    "{}",
                    crate::report::human::diagnostic(&diagnostic, Some(&text), style)
                );
                incomplete = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        unformatted += 1;
        if arguments.check {
            println!("{name}");
        } else if let Err(error) = std::fs::write(file, &formatted) {
            eprintln!("error: {name}: cannot write: {error}");
            incomplete = true;
        } else {
            println!("formatted {name}");
        }
    }
    if incomplete {
        exit::INCOMPLETE
    } else if arguments.check && unformatted > 0 {
        eprintln!("{unformatted} file(s) would be reformatted; run `rampart fmt` on them");
        exit::DENIED
    } else {
        exit::CLEAN
    }
}

/// Collects `.rampart` files below `directory`, sorted; hidden directories
/// and Cargo's `target` are skipped (a default run from a repository root
/// must not wander into build output).
fn collect(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                collect(&path, files);
            }
        } else if path
            .extension()
            .is_some_and(|extension| extension == "rampart")
        {
            files.push(path);
        }
    }
}
