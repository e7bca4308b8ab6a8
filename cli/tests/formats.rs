//! `rampart check --format sarif|junit|policy-report|github` end to end: the
//! real binary over the fixtures, with real policies, manifests and errors.
//! Exact output is pinned by the snapshot tests in `src/report/`; these
//! check that each format holds together on what a real run produces.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `rampart check` from the fixtures directory over files with two
/// findings and two load errors, with the PSS baseline set.
fn check(format: &str) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "check",
            "--set",
            "pss-baseline",
            "--format",
            format,
            "manifests",
            "broken",
        ])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    (output, stdout)
}

#[test]
fn sarif_is_valid_and_lists_every_policy_that_ran() {
    let (output, stdout) = check("sarif");
    assert_eq!(
        output.status.code(),
        Some(2),
        "load errors make the run incomplete"
    );
    let log: Value = serde_json::from_str(&stdout).unwrap();
    let schema_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemas/sarif-schema-2.1.0.json"
    );
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));

    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    // Every baseline policy is a rule, not only the one that fired.
    assert!(rules.len() > 1);
    assert!(
        rules
            .iter()
            .any(|rule| rule["id"] == "pss.baseline.privileged")
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    // The YAML finding's fix is an exact replacement of `true` by `false`.
    let yaml_fix = results
        .iter()
        .find(|result| {
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "manifests/deployment.yaml"
        })
        .map(|result| &result["fixes"][0]["artifactChanges"][0]["replacements"][0])
        .unwrap();
    assert_eq!(yaml_fix["insertedContent"]["text"], "false");
    assert_eq!(yaml_fix["deletedRegion"]["startLine"], 13);
    for result in results {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert_eq!(result["level"], "error");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn junit_has_a_suite_per_file_and_the_findings_as_failures() {
    let (output, stdout) = check("junit");
    assert_eq!(output.status.code(), Some(2));
    let document = roxmltree::Document::parse(&stdout).unwrap();
    let root = document.root_element();
    let suites: Vec<&str> = root
        .children()
        .filter(|node| node.has_tag_name("testsuite"))
        .map(|suite| suite.attribute("name").unwrap())
        .collect();
    assert_eq!(
        suites,
        [
            "manifests/deployment.yaml",
            "manifests/pod.json",
            "broken/bad.yaml",
            "broken/not-kubernetes.yaml"
        ]
    );
    assert_eq!(root.attribute("failures"), Some("2"));
    assert_eq!(root.attribute("errors"), Some("2"));
    let failure = root
        .descendants()
        .find(|node| node.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("deny"));
    assert_eq!(
        failure.parent().unwrap().attribute("name"),
        Some("pss.baseline.privileged")
    );
}

#[test]
fn policy_reports_parse_as_yaml_with_consistent_summaries() {
    let (output, stdout) = check("policy-report");
    assert_eq!(output.status.code(), Some(2));
    let loaded =
        rampart_engine::load::load_str(&stdout, &rampart_engine::load::LoadLimits::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let kinds: Vec<&str> = loaded
        .documents
        .iter()
        .map(|document| document.value["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["PolicyReport", "ClusterPolicyReport"]);
    for document in &loaded.documents {
        let report = &document.value;
        assert_eq!(report["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        let results = report["results"].as_array().map_or(&[][..], Vec::as_slice);
        for outcome in ["pass", "fail", "warn", "error", "skip"] {
            let counted = results
                .iter()
                .filter(|result| result["result"] == outcome)
                .count();
            assert_eq!(
                report["summary"][outcome].as_u64(),
                Some(counted as u64),
                "{outcome}"
            );
        }
    }
    let namespaced = &loaded.documents[0].value;
    assert_eq!(namespaced["metadata"]["namespace"], "shop");
    assert_eq!(namespaced["summary"]["fail"], 2);
    assert_eq!(loaded.documents[1].value["summary"]["error"], 2);
}

#[test]
fn github_writes_one_workflow_command_per_finding_and_error() {
    let (output, stdout) = check("github");
    assert_eq!(output.status.code(), Some(2));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert!(lines[0].starts_with(
        "::error file=manifests/deployment.yaml,line=13,col=13,title=pss.baseline.privileged::"
    ));
    assert!(lines[2].starts_with("::error file=broken/bad.yaml,line="));
    assert!(lines[4].starts_with("rampart: 2 findings"));
}
