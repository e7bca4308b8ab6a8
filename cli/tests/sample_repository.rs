//! The whole pipeline over a sample repository (examples/sample-repo): its
//! `rampart.yaml`, the recommended set, cross-resource policies, an exception.
//! The JSON report is a reviewed snapshot.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_sample_repository_report() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sample-repo");
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["check", "--format", "json", "k8s"])
        .current_dir(&repository)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["summary"]["suppressed"], 1,
        "the cart exception applies"
    );
    insta::assert_json_snapshot!(report);
}
