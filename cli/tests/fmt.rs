//! `rampart fmt` end to end: `--check` lists what would change, a run
//! rewrites it, a file with a syntax error is reported and left alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNFORMATTED: &str = "policy a.b {\nseverity   low   \n    match pods\n\n\n  for c in pod.containers {\n  deny c.image==\"x\" // why\n  message \"m\"\n  }\n}\ntest \"t\" for a.b {\n  given pod { spec: { containers: [] } }\n  expect allow\n}\n";
const FORMATTED: &str = "policy a.b {\n  severity low\n  match pods\n\n  for c in pod.containers {\n    deny c.image == \"x\" // why\n      message \"m\"\n  }\n}\n\ntest \"t\" for a.b {\n  given pod { spec: { containers: [] } }\n  expect allow\n}\n";

fn directory(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("rampart-fmt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(directory.join("nested")).unwrap();
    directory
}

fn rampart(directory: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(arguments)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn check_lists_then_fmt_rewrites() {
    let directory = directory("rewrite");
    std::fs::write(directory.join("nested/a.rampart"), UNFORMATTED).unwrap();
    std::fs::write(directory.join("b.rampart"), FORMATTED).unwrap();

    let check = rampart(&directory, &["fmt", "--check", "."]);
    assert_eq!(check.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(check.stdout).unwrap(),
        "nested/a.rampart\n"
    );
    assert_eq!(
        std::fs::read_to_string(directory.join("nested/a.rampart")).unwrap(),
        UNFORMATTED
    );

    let run = rampart(&directory, &["fmt"]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(directory.join("nested/a.rampart")).unwrap(),
        FORMATTED
    );
    assert_eq!(
        rampart(&directory, &["fmt", "--check", "."]).status.code(),
        Some(0)
    );
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn a_syntax_error_is_reported_and_the_file_left_alone() {
    let directory = directory("broken");
    let broken = "policy a.b {\n  severity\n";
    std::fs::write(directory.join("broken.rampart"), broken).unwrap();
    let output = rampart(&directory, &["fmt", "broken.rampart"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("error[E0001]") && stderr.contains("broken.rampart:3"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(directory.join("broken.rampart")).unwrap(),
        broken
    );
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn the_standard_library_is_formatted() {
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stdlib-policies/policies");
    let output = rampart(&library, &["fmt", "--check", "."]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "run `rampart fmt stdlib-policies/policies`:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
