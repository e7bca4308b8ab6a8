//! `rampart.yaml`: sets, parameters, actions and exceptions, end to end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;
use std::process::Command;

fn check_in(directory: &str, arguments: &[&str]) -> (Option<i32>, serde_json::Value) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("check")
        .args(arguments)
        .args(["--format", "json"])
        .current_dir(fixtures.join(directory))
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), report)
}

#[test]
fn the_configuration_is_found_and_applied() {
    let (code, report) = check_in("configured", &["k8s"]);
    let findings = report["findings"].as_array().unwrap();
    let policies: Vec<(&str, &str, &str)> = findings
        .iter()
        .map(|finding| {
            (
                finding["policy"].as_str().unwrap(),
                finding["action"].as_str().unwrap(),
                finding["resource"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    // The Deployment's privileged finding is excepted; the Pod's exception expired.
    assert!(
        policies.contains(&("pss.baseline.privileged", "deny", "leftover")),
        "{policies:?}"
    );
    assert!(
        !policies.iter().any(
            |(policy, _, name)| *policy == "pss.baseline.privileged" && *name == "batch-import"
        )
    );
    // ghcr.io is allowed by the parameter; docker.io is not, and the action is now warn.
    assert!(
        policies.contains(&("example.allowed_registries", "warn", "leftover")),
        "{policies:?}"
    );
    assert!(!policies.iter().any(
        |(policy, _, name)| *policy == "example.allowed_registries" && *name == "batch-import"
    ));
    assert_eq!(report["summary"]["suppressed"], 1);
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("expired on 2020-01-01 and is not honoured")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("`pss.baseline.hostNamespaces` matched no finding")),
        "{warnings:?}"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn no_config_ignores_the_file() {
    let (_, report) = check_in(
        "configured",
        &["--no-config", "--set", "pss-baseline", "k8s"],
    );
    assert_eq!(report["findings"].as_array().unwrap().len(), 2);
    assert!(report.get("warnings").is_none());
}

#[test]
fn a_broken_configuration_is_an_error_with_its_line() {
    let directory = std::env::temp_dir().join(format!("rampart-config-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(
        directory.join("rampart.yaml"),
        "sets: [pss-baseline]\nparams:\n  pss.baseline.privileged:\n    nope: 1\nactions:\n  pss.baseline.privileged: block\nexceptoins: []\n",
    )
    .unwrap();
    std::fs::write(directory.join("pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["check", "--format", "json", "pod.yaml"])
        .current_dir(&directory)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let errors: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            (
                error["line"].as_u64().unwrap_or(0),
                error["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        errors
            .iter()
            .any(|(line, message)| *line == 7 && message.contains("did you mean `exceptions`?")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|(line, message)| *line == 6 && message.contains("must be deny, warn or audit")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|(line, message)| *line == 4 && message.contains("has no parameter `nope`")),
        "{errors:?}"
    );
    std::fs::remove_dir_all(&directory).unwrap();
}
