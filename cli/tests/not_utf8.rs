//! A file that is not UTF-8 is an error naming the line, column and byte
//! offset of its first bad byte, counted in the whole file also when the
//! file is large enough to be split into parts and judged in parallel.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::process::Command;

fn check(path: &std::path::Path, jobs: &str) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["check", "--format", "json", "-j", jobs])
        .arg(path)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let message = report["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (output.status.code().unwrap_or(-1), message)
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n---\n";

#[test]
fn the_first_bad_byte_is_named_by_line_column_and_offset() {
    let directory = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("not-utf8");
    std::fs::create_dir_all(&directory).unwrap();

    let small = directory.join("small.yaml");
    let mut bytes = POD.as_bytes().to_vec();
    bytes.extend_from_slice(b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: \xff\n");
    std::fs::write(&small, &bytes).unwrap();
    let offset = POD.len() + "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ".len();
    let (code, message) = check(&small, "1");
    assert_eq!(code, 2);
    assert!(
        message.ends_with(&format!(
            "byte 0xff at line 11, column 9 (byte offset {offset}) is not valid UTF-8"
        )),
        "{message}"
    );

    // Large enough to be cut into parts: the position is still the file's.
    let large = directory.join("large.yaml");
    let copies = 20_000;
    let mut bytes = POD.repeat(copies).into_bytes();
    bytes.extend_from_slice(b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: \xfe\n");
    std::fs::write(&large, &bytes).unwrap();
    let offset = POD.len() * copies + "apiVersion: v1\nkind: Pod\nmetadata:\n  name: ".len();
    let line = 7 * copies + 4;
    for jobs in ["1", "2"] {
        let (code, message) = check(&large, jobs);
        assert_eq!(code, 2);
        assert!(
            message.ends_with(&format!(
                "byte 0xfe at line {line}, column 9 (byte offset {offset}) is not valid UTF-8"
            )),
            "-j{jobs}: {message}"
        );
    }
}
