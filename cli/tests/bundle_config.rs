//! The configuration built into a bundle: on the shared fixture
//! `tests/fixtures/one-config/`, `rampart build` takes the `rampart.yaml`
//! `check` finds, and `check --bundle` then reports what `check` reports
//! (the same findings, suppressed and exempted counts); a bundle built
//! without it, or from another configuration, is warned about.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/one-config")
}

/// Runs `rampart` in `directory`.
fn rampart_in(directory: &Path, arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(arguments)
        .current_dir(directory)
        .output()
        .unwrap()
}

fn succeeded(output: &Output) -> serde_json::Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
}

/// Everything a finding says but its file's name.
fn findings(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            let mut finding = finding.clone();
            finding["explanation"] = serde_json::Value::Null;
            finding
        })
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!(
        "rampart-bundle-config-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

#[test]
fn check_through_a_bundle_built_with_the_configuration_reports_as_check() {
    let directory = scratch("same");
    let wasm = directory.join("one.wasm");
    let built = rampart_in(&fixture(), &["build", "-o", wasm.to_str().unwrap()]);
    assert_eq!(
        built.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(
        String::from_utf8_lossy(&built.stderr).contains("configured by rampart.yaml"),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let native = succeeded(&rampart_in(
        &fixture(),
        &["check", "manifests", "--format", "json"],
    ));
    let output = rampart_in(
        &fixture(),
        &[
            "check",
            "--bundle",
            wasm.to_str().unwrap(),
            "manifests",
            "--format",
            "json",
        ],
    );
    let through_bundle = succeeded(&output);
    let _ = std::fs::remove_dir_all(&directory);
    // The bundle's configuration is the one found: no warning about it.
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("differs"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(findings(&through_bundle), findings(&native));
    assert_eq!(findings(&native).len(), 3, "{native}");
    // The expired exception is warned about as `check` warns about it.
    let messages = |report: &serde_json::Value| -> Vec<String> {
        report["warnings"]
            .as_array()
            .map(|warnings| {
                warnings
                    .iter()
                    .map(|warning| warning["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(messages(&through_bundle), messages(&native));
    assert_eq!(messages(&native).len(), 1, "{native}");
    for count in [
        "resources",
        "findings",
        "warned",
        "denied",
        "suppressed",
        "exempted",
    ] {
        assert_eq!(
            through_bundle["summary"][count], native["summary"][count],
            "summary.{count}: {} through the bundle, {} natively",
            through_bundle["summary"], native["summary"]
        );
    }
}

#[test]
fn a_bundle_without_the_configuration_found_is_warned_about() {
    let directory = scratch("differs");
    // Built elsewhere from another configuration, given with --config.
    let other = directory.join("other.yaml");
    std::fs::write(&other, "exemptions:\n  namespaces: [shop]\n").unwrap();
    let wasm = directory.join("other.wasm");
    let policies = fixture().join("policies");
    let built = rampart_in(
        &directory,
        &[
            "build",
            "--config",
            other.to_str().unwrap(),
            "-p",
            policies.to_str().unwrap(),
            "-o",
            wasm.to_str().unwrap(),
        ],
    );
    assert_eq!(
        built.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let bare = directory.join("bare.wasm");
    let built = rampart_in(
        &fixture(),
        &[
            "build",
            "--no-config",
            "-p",
            "policies",
            "-o",
            bare.to_str().unwrap(),
        ],
    );
    assert_eq!(
        built.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let differs = rampart_in(
        &fixture(),
        &[
            "check",
            "--bundle",
            wasm.to_str().unwrap(),
            "manifests",
            "--format",
            "json",
        ],
    );
    let without = rampart_in(
        &fixture(),
        &[
            "check",
            "--bundle",
            bare.to_str().unwrap(),
            "manifests",
            "--format",
            "json",
        ],
    );
    let _ = std::fs::remove_dir_all(&directory);
    let stderr = String::from_utf8_lossy(&differs.stderr);
    assert!(
        stderr.contains("warning: `rampart.yaml` differs from the configuration built into"),
        "{stderr}"
    );
    // The bundle judges with its own configuration: `shop` is exempt there.
    let report: serde_json::Value = serde_json::from_slice(&differs.stdout).unwrap();
    assert!(
        findings(&report)
            .iter()
            .all(|finding| finding["resource"]["namespace"] != "shop"),
        "{report}"
    );
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(
        stderr.contains("was built without a configuration"),
        "{stderr}"
    );
}

#[test]
fn check_bundle_compares_the_configuration_the_command_line_names() {
    let directory = scratch("named");
    let other = directory.join("other.yaml");
    std::fs::write(&other, "exemptions:\n  namespaces: [shop]\n").unwrap();
    let wasm = directory.join("other.wasm");
    let policies = fixture().join("policies");
    let built = rampart_in(
        &directory,
        &[
            "build",
            "--config",
            other.to_str().unwrap(),
            "-p",
            policies.to_str().unwrap(),
            "-o",
            wasm.to_str().unwrap(),
        ],
    );
    assert_eq!(built.status.code(), Some(0));
    let check = |extra: &[&str]| {
        let mut arguments = vec!["check", "--bundle", wasm.to_str().unwrap(), "manifests"];
        arguments.extend_from_slice(extra);
        String::from_utf8_lossy(&rampart_in(&fixture(), &arguments).stderr).into_owned()
    };
    let found = check(&[]);
    let named = check(&["--config", other.to_str().unwrap()]);
    let none = check(&["--no-config"]);
    let _ = std::fs::remove_dir_all(&directory);
    // The fixture's rampart.yaml is not the one built in ...
    assert!(found.contains("differs"), "{found}");
    // ... the file named with --config is, and --no-config compares nothing.
    assert!(!named.contains("differs"), "{named}");
    assert!(!none.contains("differs"), "{none}");
}
