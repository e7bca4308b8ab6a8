//! `rampart fmt`: rewrites `.rampart` files in the canonical layout
//! (`rampart_lang::format`), or with `--check` only says which would change.
//! Directories are walked by the rules every command shares (`inputs::walk`).

use crate::exit;
use crate::inputs::read;
use crate::inputs::walk::{self, Walker};
use crate::render::Style;
use std::io::IsTerminal;
use std::path::PathBuf;

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
    let walker = Walker::walk(walk::POLICIES, &paths);
    let mut incomplete = !walker.errors.is_empty();
    for error in &walker.errors {
        eprintln!("error: {error}");
    }
    for note in &walker.notes {
        eprintln!("note: {note}");
    }
    let files = walker.files;
    let style = Style::new(crate::use_color(
        crate::ColorChoice::Auto,
        std::io::stderr().is_terminal(),
    ));
    let mut unformatted = 0usize;
    for file in &files {
        let name = crate::inputs::display_name(file);
        let text = match read::read_text(file, read::SOURCE_LIMIT) {
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
