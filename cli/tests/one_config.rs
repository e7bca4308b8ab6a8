//! One configuration, judged alike: `check` on the shared fixture
//! `tests/fixtures/one-config/` honours a raised parameter, a `warn` and an
//! `audit` action, an exception in force, an expired one (a warning) and a
//! namespace exemption, identically on one thread and on two, and on the
//! path that keeps every resource (JUnit) and through `fix`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/one-config")
}

/// Runs `rampart` in the fixture's directory, where its `rampart.yaml` is found.
fn rampart(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(arguments)
        .current_dir(fixture())
        .output()
        .unwrap()
}

fn check_json(jobs: &str) -> (Vec<u8>, serde_json::Value) {
    let output = rampart(&["check", "manifests", "--format", "json", "-j", jobs]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_slice(&output.stdout).unwrap();
    (output.stdout, report)
}

/// (policy, action, namespace/name) of every finding.
fn findings(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["policy"].as_str().unwrap().to_owned(),
                finding["action"].as_str().unwrap().to_owned(),
                format!(
                    "{}/{}",
                    finding["resource"]["namespace"].as_str().unwrap_or(""),
                    finding["resource"]["name"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

#[test]
fn check_honours_every_part_of_the_configuration() {
    let (_, report) = check_json("1");
    let found = findings(&report);
    let expected = [
        ("fixture.memory_limit", "warn", "old/report"),
        ("fixture.team_label", "audit", "shop/web"),
        ("fixture.memory_limit", "warn", "shop/cache"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(policy, action, resource)| {
            (
                (*policy).to_owned(),
                (*action).to_owned(),
                (*resource).to_owned(),
            )
        })
        .collect();
    // shop/web's 3Gi is under the raised 4Gi (over the policy's default
    // 1Gi); legacy/batch is excepted until 2099; kube-system/agent is exempt.
    assert_eq!(found, expected);
    let cache = &report["findings"][2];
    assert_eq!(
        cache["message"],
        "container cache: a memory limit of 8Gi is over 4Gi"
    );
    let summary = &report["summary"];
    assert_eq!(summary["resources"], 4);
    assert_eq!(summary["denied"], 0);
    assert_eq!(summary["warned"], 2);
    assert_eq!(summary["suppressed"], 1);
    assert_eq!(summary["exempted"], 1);
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["file"], "rampart.yaml");
    assert_eq!(warnings[0]["line"], 17);
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("expired on 2020-01-01 and is not honoured"),
        "{warnings:?}"
    );
}

#[test]
fn one_thread_and_two_report_byte_for_byte_alike() {
    let (one, _) = check_json("1");
    let (two, _) = check_json("2");
    assert_eq!(String::from_utf8_lossy(&one), String::from_utf8_lossy(&two));
}

#[test]
fn the_human_summary_counts_the_exempted_resources() {
    let output = rampart(&["check", "manifests", "--color", "never", "-j", "2"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("passed: 3 findings (0 denied, 2 warned) in 4 resources (1 exempted) from 3 files; 0 errors"),
        "{text}"
    );
    assert!(!text.contains("kube-system"), "{text}");
}

#[test]
fn the_path_keeping_every_resource_judges_alike() {
    // JUnit takes the path that holds every resource (as `--bundle` and
    // `fix` do): the exempt Pod is not a test case, the excepted
    // Deployment passes, the two warnings fail and the audit finding is
    // recorded beside a passing case.
    let output = rampart(&["check", "manifests", "--format", "junit"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("agent"), "{text}");
    assert!(text.contains(r#"tests="8" failures="2""#), "{text}");
    assert!(
        text.contains(r#"<testcase name="fixture.memory_limit" classname="Deployment legacy/batch" file="manifests/legacy.yaml"/>"#),
        "{text}"
    );
    assert!(text.contains("audit low fixture.team_label"), "{text}");
}

#[test]
fn fix_judges_with_the_configuration_too() {
    let output = rampart(&["fix", "--dry-run", "manifests", "--color", "never"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("3 finding(s) remain (3 with no fix)"),
        "{text}"
    );
    assert!(!text.contains("agent"), "{text}");
}

#[test]
fn junit_lists_no_test_case_when_every_resource_is_exempt() {
    let output = rampart(&["check", "manifests/system.yaml", "--format", "junit"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("<testcase"), "{text}");
}

#[test]
fn runtime_classes_are_exempt_and_users_apply_only_to_the_webhook() {
    let directory = std::env::temp_dir().join(format!("rampart-exempt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let policies = fixture().join("policies");
    std::fs::write(
        directory.join("rampart.yaml"),
        format!(
            "policies: [{}]\nexemptions:\n  runtimeClassNames: [kata]\n  usernames: [\"*\"]\n",
            policies.display()
        ),
    )
    .unwrap();
    std::fs::write(
        directory.join("pods.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: sandboxed, namespace: shop}\n\
         spec:\n  template:\n    spec:\n      runtimeClassName: kata\n      containers:\n        \
         - {name: a, image: a:1}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {name: plain, namespace: shop}\n\
         spec:\n  containers:\n    - {name: a, image: a:1}\n",
    )
    .unwrap();
    for jobs in ["1", "2"] {
        let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["check", "pods.yaml", "--format", "json", "-j", jobs])
            .current_dir(&directory)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        // The Deployment's pods run in `kata`: not judged. The Pod is,
        // though every user is exempt: a manifest has no user.
        assert_eq!(report["summary"]["exempted"], 1, "{report}");
        assert_eq!(report["summary"]["resources"], 1, "{report}");
        let found = findings(&report);
        assert_eq!(found.len(), 1, "{report}");
        assert_eq!(found[0].2, "shop/plain");
    }
    let _ = std::fs::remove_dir_all(&directory);
}
