//! `rampart fix` end to end: fixes applied to commented YAML (and JSON) as
//! text edits, merged when several create the same parent, then checked again.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FILES: [&str; 4] = [
    "hardening.rampart",
    "deployment.yaml",
    "list.yaml",
    "pod.json",
];

/// A fresh copy of the fixtures, so that tests running at once never share files.
fn workspace(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("rampart-fix-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fix");
    for file in FILES {
        std::fs::copy(fixtures.join(file), directory.join(file)).unwrap();
    }
    directory
}

fn fix(directory: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("fix")
        .args(extra)
        .args([
            "--no-config",
            "--policy",
            "hardening.rampart",
            "deployment.yaml",
            "list.yaml",
            "pod.json",
        ])
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn read(directory: &Path, file: &str) -> String {
    std::fs::read_to_string(directory.join(file)).unwrap()
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let directory = workspace("dry-run");
    let before: Vec<String> = FILES.iter().map(|file| read(&directory, file)).collect();
    let output = fix(&directory, &["--dry-run"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a finding without a fix remains"
    );
    insta::assert_snapshot!(
        "fix_dry_run_diff",
        String::from_utf8(output.stdout).unwrap()
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("would change 3 file(s)"), "{stderr}");
    assert!(stderr.contains("fixtest.no_latest"), "{stderr}");
    let after: Vec<String> = FILES.iter().map(|file| read(&directory, file)).collect();
    assert_eq!(before, after);
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn fixes_keep_comments_quoting_and_order() {
    let directory = workspace("apply");
    let output = fix(&directory, &[]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("1 finding(s) remain (1 with no fix)"),
        "{stdout}"
    );
    let deployment = read(&directory, "deployment.yaml");
    for kept in [
        "# The shop's web tier: comments, blank lines and quoting must survive.\n",
        "  name: web   # the name users see\n  namespace: \"shop\"\n\nspec:\n",
        "privileged: false   # needed once, not any more\n",
        "image: 'registry.example.com/shop/proxy:latest'\n",
        "\n      # volumes come last\n      volumes: []\n",
    ] {
        assert!(deployment.contains(kept), "lost {kept:?}:\n{deployment}");
    }
    assert!(!deployment.contains("hostPort"), "{deployment}");
    insta::assert_snapshot!("fix_deployment", deployment);
    insta::assert_snapshot!("fix_list", read(&directory, "list.yaml"));
    insta::assert_snapshot!("fix_pod_json", read(&directory, "pod.json"));

    // Everything fixable was fixed: a second run changes nothing.
    let before = read(&directory, "deployment.yaml");
    let again = fix(&directory, &[]);
    let stdout = String::from_utf8(again.stdout).unwrap();
    assert!(stdout.contains("changed 0 file(s)"), "{stdout}");
    assert_eq!(before, read(&directory, "deployment.yaml"));
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn two_fixes_creating_one_parent_are_merged() {
    let directory = workspace("merge");
    fix(&directory, &[]);
    let deployment = read(&directory, "deployment.yaml");
    // The sidecar had no securityContext: three policies each created it.
    let sidecar = deployment.split("- name: sidecar").nth(1).unwrap();
    assert_eq!(sidecar.matches("securityContext:").count(), 1, "{sidecar}");
    for member in [
        "allowPrivilegeEscalation: false",
        "runAsNonRoot: true",
        "- ALL",
    ] {
        assert!(sidecar.contains(member), "{member} missing:\n{sidecar}");
    }
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn a_policy_error_makes_the_run_incomplete() {
    let directory = workspace("incomplete");
    std::fs::write(directory.join("hardening.rampart"), "policy broken {").unwrap();
    let output = fix(&directory, &[]);
    assert_eq!(output.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&directory);
}

/// An edit inside a flow mapping would cut the line short: such a file is
/// reported and left as it was, never written broken.
#[test]
fn a_file_whose_fixes_would_not_load_is_left_alone() {
    let directory = workspace("flow");
    let flow = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n    - name: c\n      image: nginx:1\n      securityContext: {privileged: true, runAsUser: 1000}\n";
    std::fs::write(directory.join("flow.yaml"), flow).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["fix", "--no-config", "--set", "pss-baseline", "flow.yaml"])
        .current_dir(&directory)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("flow.yaml: the fixes were not applied: the edited file would not load"),
        "{stderr}"
    );
    assert_eq!(read(&directory, "flow.yaml"), flow);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("changed 0 file(s)"), "{stdout}");
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn excepted_findings_and_exempt_resources_get_no_fix() {
    let directory = std::env::temp_dir().join(format!("rampart-fix-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(
        directory.join("rampart.yaml"),
        "sets: [pss-baseline]\nexceptions:\n  - policy: pss.baseline.privileged\n    namespace: legacy\n    \
         reason: vendor agent (OPS-1)\nexemptions:\n  namespaces: [kube-system]\n",
    )
    .unwrap();
    let pod = |namespace: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: agent\n  namespace: {namespace}\nspec:\n  \
             containers:\n    - name: agent\n      image: agent:1\n      securityContext:\n        privileged: true\n"
        )
    };
    let manifests = [
        ("legacy.yaml", pod("legacy")),
        ("system.yaml", pod("kube-system")),
        ("shop.yaml", pod("shop")),
    ];
    for (name, text) in &manifests {
        std::fs::write(directory.join(name), text).unwrap();
    }
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["fix", "legacy.yaml", "system.yaml", "shop.yaml"])
        .current_dir(&directory)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let read = |name: &str| std::fs::read_to_string(directory.join(name)).unwrap();
    // Only the Pod in `shop` is judged and fixed.
    assert_eq!(read("legacy.yaml"), manifests[0].1, "{stdout}{stderr}");
    assert_eq!(read("system.yaml"), manifests[1].1, "{stdout}{stderr}");
    assert!(
        read("shop.yaml").contains("privileged: false"),
        "{stdout}{stderr}"
    );
    assert!(
        format!("{stdout}{stderr}").contains("changed 1 file(s)"),
        "{stdout}{stderr}"
    );
    let _ = std::fs::remove_dir_all(&directory);
}
