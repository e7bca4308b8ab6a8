//! `rampart check` and `rampart test` end to end: the real binary, real files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs the binary from the fixtures directory, so that paths in reports are stable.
fn rampart(arguments: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    command
        .args(arguments)
        .current_dir(fixtures())
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn human_report_points_at_each_line() {
    let output = rampart(&["check", "--set", "pss-baseline", "manifests"], None);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("check_human", stdout(&output));
}

#[test]
fn json_report_follows_the_documented_shape() {
    let output = rampart(
        &[
            "check",
            "--set",
            "pss-baseline",
            "--format",
            "json",
            "manifests",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["summary"]["files"], 2);
    insta::assert_json_snapshot!("check_json", report);
}

#[test]
fn broken_files_are_reported_and_the_rest_still_checked() {
    let output = rampart(
        &[
            "check",
            "--set",
            "pss-baseline",
            "--format",
            "json",
            "broken",
            "manifests",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2), "an incomplete run exits 2");
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|error| error["file"] == "broken/bad.yaml" && error["line"].as_u64().is_some())
    );
    assert!(
        errors
            .iter()
            .any(|error| error["file"] == "broken/not-kubernetes.yaml")
    );
    assert!(
        report["summary"]["denied"].as_u64().unwrap() >= 2,
        "good files are still judged"
    );
}

#[test]
fn a_typo_in_a_policy_is_a_clear_error_with_a_suggestion() {
    let output = rampart(
        &["check", "--policy", "policies/typo.rampart", "manifests"],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    assert!(
        text.contains("`SecurityContext` has no field `privilegd`"),
        "{text}"
    );
    assert!(text.contains("did you mean `privileged`?"), "{text}");
    insta::assert_snapshot!("typo_human", text);
    let json = rampart(
        &[
            "check",
            "--policy",
            "policies/typo.rampart",
            "--format",
            "json",
            "manifests",
        ],
        None,
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    insta::assert_json_snapshot!("typo_json", report["errors"]);
}

#[test]
fn stdin_is_read_with_a_dash() {
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: x\n      securityContext:\n        privileged: true\n";
    let output = rampart(
        &["check", "--set", "pss-baseline", "--format", "json", "-"],
        Some(manifest),
    );
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["findings"][0]["file"], "-");
    assert_eq!(report["findings"][0]["line"], 10);
    assert_eq!(report["findings"][0]["column"], 9);
}

#[test]
fn user_policies_with_params_run() {
    let output = rampart(
        &[
            "check",
            "--policy",
            "policies/registries.rampart",
            "--format",
            "json",
            "manifests",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["path"], "/spec/containers/0/image");
    assert_eq!(findings[0]["controls"][0], "EXAMPLE:registries");
}

#[test]
fn clean_input_exits_zero() {
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n";
    let output = rampart(&["check", "--set", "pss-baseline", "-"], Some(manifest));
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("passed: 0 findings"));
}

#[test]
fn bad_usage_exits_two() {
    let unknown_set = rampart(&["check", "--set", "nope", "manifests"], None);
    assert_eq!(unknown_set.status.code(), Some(2));
    assert!(stdout(&unknown_set).contains("no such set"));
    let missing_path = rampart(&["check", "no-such-dir"], None);
    assert_eq!(missing_path.status.code(), Some(2));
    let bad_flag = rampart(&["check", "--frobnicate", "manifests"], None);
    assert_eq!(bad_flag.status.code(), Some(2));
}

#[test]
fn test_command_reports_each_test_and_fails_on_a_wrong_one() {
    let output = rampart(&["test", "policies/registries.rampart"], None);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("ok  policies/registries.rampart:14  trusted registry passes"),
        "{text}"
    );
    assert!(
        text.contains("FAILED  policies/registries.rampart:24  this test is wrong on purpose"),
        "{text}"
    );
    assert!(text.contains("2 passed, 1 failed"), "{text}");
}

#[test]
fn the_standard_library_tests_pass() {
    let output = rampart(&["test"], None);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
}

#[test]
fn explain_shows_the_values_that_decided_each_finding() {
    let output = rampart(
        &[
            "check",
            "--set",
            "pss-baseline",
            "--explain",
            "--format",
            "json",
            "manifests/deployment.yaml",
        ],
        None,
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let explanation = &report["findings"][0]["explanation"];
    assert_eq!(
        explanation,
        &serde_json::json!([["c.securityContext.privileged", true]]),
        "{report:#}"
    );
    let plain = rampart(
        &[
            "check",
            "--set",
            "pss-baseline",
            "--format",
            "json",
            "manifests/deployment.yaml",
        ],
        None,
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&plain)).unwrap();
    assert!(
        report["findings"][0].get("explanation").is_none(),
        "only with --explain"
    );
}

#[test]
fn a_closed_pipe_is_not_a_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["check", "--set", "all", "--format", "json", "manifests"])
        .current_dir(fixtures())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
}

#[test]
fn configuration_files_are_not_manifests() {
    let output = rampart(
        &[
            "check",
            "--no-config",
            "--set",
            "pss-baseline",
            "--format",
            "json",
            "configured",
        ],
        None,
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        report["errors"],
        serde_json::json!([]),
        "rampart.yaml is skipped when walking directories"
    );
}

/// Cross-resource policies see resources of later files and later parts of a
/// large file: the first pass keeps the NetworkPolicies, the second streams.
/// Read from standard input (which cannot be read twice), the same input is
/// judged all at once, with the same findings.
#[test]
fn cross_resource_policies_see_the_whole_input_when_streaming() {
    let directory = std::env::temp_dir().join(format!("rampart-two-passes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let workload = |index: usize, namespace: &str| {
        format!(
            "{{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{{\"name\":\"web-{index}\",\"namespace\":\"{namespace}\"}},\"spec\":{{\"selector\":{{}},\"template\":{{\"metadata\":{{\"labels\":{{\"app\":\"web\"}}}},\"spec\":{{\"containers\":[{{\"name\":\"web\",\"image\":\"nginx:1.27\"}}]}}}}}}}}\n"
        )
    };
    // Over a megabyte of workloads, so that the file is cut into parts; the
    // policy that isolates namespace `shop` comes last, in the same file.
    let mut first = String::new();
    let mut index = 0;
    while first.len() < 1_200_000 {
        first.push_str(&workload(
            index,
            if index % 2 == 0 { "shop" } else { "bank" },
        ));
        index += 1;
    }
    let isolate = |namespace: &str| {
        format!(
            "{{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{{\"name\":\"deny\",\"namespace\":\"{namespace}\"}},\"spec\":{{\"podSelector\":{{}},\"policyTypes\":[\"Ingress\",\"Egress\"]}}}}\n"
        )
    };
    first.push_str(&isolate("shop"));
    std::fs::write(directory.join("a.json"), &first).unwrap();
    // A later file isolates `bank` for ingress only.
    let later = isolate("bank").replace(",\"Egress\"", "");
    std::fs::write(directory.join("b.json"), &later).unwrap();

    let arguments = |input: &str| {
        vec![
            "check".to_owned(),
            "--no-config".to_owned(),
            "--set".to_owned(),
            "nsa-cisa".to_owned(),
            "--format".to_owned(),
            "json".to_owned(),
            input.to_owned(),
        ]
    };
    let run = |arguments: Vec<String>, stdin: Option<&str>| {
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let output = rampart(&arguments, stdin);
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut findings: Vec<(String, String)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|finding| {
                finding["policy"]
                    .as_str()
                    .unwrap()
                    .starts_with("nsa.network-policy")
            })
            .map(|finding| {
                (
                    finding["policy"].as_str().unwrap().to_owned(),
                    finding["resource"]["namespace"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                )
            })
            .collect();
        findings.sort();
        findings.dedup();
        (report["summary"]["resources"].as_u64().unwrap(), findings)
    };
    let (resources, from_files) = run(arguments(directory.to_str().unwrap()), None);
    assert_eq!(resources, index as u64 + 2);
    // `shop` is isolated both ways, `bank` only for ingress.
    assert_eq!(
        from_files,
        [("nsa.network-policy-egress".to_owned(), "bank".to_owned())]
    );
    let whole = format!("{first}{later}");
    let (_, from_stdin) = run(arguments("-"), Some(&whole));
    assert_eq!(from_stdin, from_files);
    let _ = std::fs::remove_dir_all(&directory);
}

/// A directory walk picks JSON lines files (`.jsonl`) as well as YAML and
/// JSON, and leaves other files alone.
#[test]
fn directories_are_walked_for_json_lines_files() {
    let directory = std::env::temp_dir().join(format!("rampart-jsonl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(directory.join("nested")).unwrap();
    let pod = |name: &str, privileged: bool| {
        format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{name}\"}},\"spec\":{{\"containers\":[{{\"name\":\"app\",\"image\":\"nginx:1.27\",\"securityContext\":{{\"privileged\":{privileged}}}}}]}}}}\n"
        )
    };
    let lines = pod("calm", false) + &pod("loud", true);
    std::fs::write(directory.join("nested/pods.jsonl"), &lines).unwrap();
    std::fs::write(directory.join("notes.txt"), pod("ignored", true)).unwrap();
    let input = directory.to_str().unwrap();
    let output = rampart(
        &[
            "check",
            "--no-config",
            "--set",
            "pss-baseline",
            "--format",
            "json",
            input,
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("pods.jsonl"),
        "{findings:?}"
    );
    assert_eq!(findings[0]["line"], 2);
    assert_eq!(report["summary"]["resources"], 2, "{report}");
    let _ = std::fs::remove_dir_all(&directory);
}

/// A report file is written over, not emptied first: the new report must
/// still be exactly the file's content when it is shorter than the last.
#[test]
fn a_report_file_written_again_holds_only_the_new_report() {
    let directory = std::env::temp_dir().join(format!("rampart-output-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("report.json");
    let path_text = path.to_str().unwrap();
    for (set, format) in [
        ("all", "json"),
        ("pss-baseline", "json"),
        ("all", "sarif"),
        ("pss-baseline", "github"),
    ] {
        let output = rampart(
            &[
                "check",
                "--set",
                set,
                "manifests",
                "--format",
                format,
                "-o",
                path_text,
            ],
            None,
        );
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let written = std::fs::read_to_string(&path).unwrap();
        let printed = rampart(
            &["check", "--set", set, "manifests", "--format", format],
            None,
        );
        assert_eq!(written, stdout(&printed), "{set} {format}");
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

/// Pod Security Admission's restricted checks replace their baseline
/// counterparts: a Windows pod (1.25 and later) is exempt from the
/// restricted seccomp and capabilities checks, and so, at the restricted
/// level, from the baseline ones they override; at the baseline level it is
/// judged by those.
#[test]
fn restricted_checks_override_their_baseline_counterparts() {
    let file = "overrides/windows-pod.yaml";
    let restricted = rampart(&["check", "--set", "pss-restricted@v1.31", file], None);
    assert_eq!(restricted.status.code(), Some(0), "{}", stdout(&restricted));
    let baseline = rampart(&["check", "--set", "pss-baseline@v1.31", file], None);
    assert_eq!(baseline.status.code(), Some(1), "{}", stderr(&baseline));
    let text = stdout(&baseline);
    assert!(
        text.contains("pss.baseline.seccompProfile_baseline"),
        "{text}"
    );
    assert!(
        text.contains("pss.baseline.capabilities_baseline"),
        "{text}"
    );
    // Before 1.25 the restricted checks do not exempt Windows pods.
    let older = rampart(&["check", "--set", "pss-restricted@v1.24", file], None);
    assert_eq!(older.status.code(), Some(1), "{}", stderr(&older));
    let text = stdout(&older);
    assert!(
        text.contains("pss.restricted.seccompProfile_restricted"),
        "{text}"
    );
    assert!(
        !text.contains("pss.baseline.seccompProfile_baseline"),
        "{text}"
    );
    // `--no-overrides` runs every policy of the set.
    let every = rampart(
        &[
            "check",
            "--set",
            "pss-restricted@v1.31",
            "--no-overrides",
            file,
        ],
        None,
    );
    assert_eq!(every.status.code(), Some(1), "{}", stderr(&every));
    assert!(
        stdout(&every).contains("pss.baseline.seccompProfile_baseline"),
        "{}",
        stdout(&every)
    );
}

/// The JSON report is the same however many threads judge: with a core to
/// spare its findings are rendered while the parts are judged, otherwise
/// once at the end, and a file large enough to be split has a small first
/// part. Checked on an input of several parts, YAML and JSON lines.
#[test]
fn the_json_report_does_not_depend_on_the_thread_count() {
    let directory = std::env::temp_dir().join(format!("rampart-threads-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let mut lines = String::new();
    let mut documents = String::new();
    for number in 0..2500 {
        let privileged = number % 3 == 0;
        lines.push_str(&format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"p{number}\",\"namespace\":\"team-{}\"}},\"spec\":{{\"containers\":[{{\"name\":\"c\",\"image\":\"registry.example/app:{number}\",\"securityContext\":{{\"privileged\":{privileged},\"runAsNonRoot\":true}}}}]}}}}\n",
            number % 7
        ));
        documents.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: y{number}\nspec:\n  hostNetwork: {}\n  containers:\n    - name: c\n      image: registry.example/app:{number}\n",
            number % 4 == 0
        ));
    }
    assert!(lines.len() > 256 << 10 && documents.len() > 256 << 10);
    std::fs::write(directory.join("pods.jsonl"), &lines).unwrap();
    std::fs::write(directory.join("pods.yaml"), &documents).unwrap();
    let path = directory.to_str().unwrap();
    let reports: Vec<String> = ["1", "2", "3"]
        .iter()
        .map(|jobs| {
            let output = rampart(
                &[
                    "check",
                    "--set",
                    "recommended",
                    "--format",
                    "json",
                    "-j",
                    jobs,
                    path,
                ],
                None,
            );
            assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
            stdout(&output)
        })
        .collect();
    std::fs::remove_dir_all(&directory).unwrap();
    let report: serde_json::Value = serde_json::from_str(&reports[0]).unwrap();
    assert_eq!(report["summary"]["resources"], 5000);
    assert!(report["summary"]["findings"].as_u64().unwrap() > 5000);
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
}

#[test]
fn errors_come_policies_first_then_configuration_then_inputs() {
    let directory = std::env::temp_dir().join(format!("rampart-order-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("rampart.yaml"), "colours: [red]\n").unwrap();
    let typo = fixtures().join("policies/typo.rampart");
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["check", "--format", "json", "--policy"])
        .arg(&typo)
        .arg("missing.yaml")
        .current_dir(&directory)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&directory);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let messages: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].contains("privilegd"), "{messages:?}");
    assert!(
        messages[1].contains("unknown configuration key `colours`"),
        "{messages:?}"
    );
    assert_eq!(report["errors"][2]["file"], "missing.yaml", "{messages:?}");
}
