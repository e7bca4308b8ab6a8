//! SARIF beyond its snapshot: valid against the OASIS SARIF 2.1.0 schema,
//! a rule for every policy, and fingerprints that stay put.

use super::format_tests::{clean_report, identity, policies, report};
use super::{Report, ReportFinding, sarif};
use serde_json::{Value, json};

/// Validates against the OASIS SARIF 2.1.0 (errata 01) schema, vendored
/// under `cli/tests/schemas/`, formats included (`uri`, `uri-reference`).
fn assert_valid_sarif(log: &Value) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemas/sarif-schema-2.1.0.json"
    );
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
}

#[test]
fn sarif_is_valid_against_the_schema() {
    for report in [report(), clean_report(), Report::default()] {
        let log: Value = serde_json::from_str(&sarif::render(&report, &policies())).unwrap();
        assert_valid_sarif(&log);
    }
}

#[test]
fn the_schema_check_rejects_invalid_sarif() {
    let mut log: Value = serde_json::from_str(&sarif::render(&report(), &policies())).unwrap();
    log["runs"][0]["results"][0]["level"] = json!("fatal");
    let result = std::panic::catch_unwind(|| assert_valid_sarif(&log));
    assert!(
        result.is_err(),
        "a level outside the enum must fail validation"
    );
}

#[test]
fn sarif_has_a_rule_per_policy_and_points_results_at_them() {
    let set = policies();
    let log: Value = serde_json::from_str(&sarif::render(&clean_report(), &set)).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules
        .iter()
        .map(|rule| rule["id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = set
        .policies
        .iter()
        .map(|policy| policy.id.as_str())
        .collect();
    assert_eq!(ids, expected);
    for result in run["results"].as_array().unwrap() {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
    assert_eq!(run["invocations"][0]["executionSuccessful"], json!(true));
    // A warning is shown but leaves the run successful.
    let notifications = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    let levels: Vec<&str> = notifications
        .iter()
        .map(|notification| notification["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["warning"]);
}

#[test]
fn fingerprints_ignore_lines_but_not_resources() {
    let base = report().findings[0].clone();
    let moved = ReportFinding {
        line: 40,
        ..base.clone()
    };
    let other = ReportFinding {
        resource: identity("apps/v1", "Deployment", Some("shop"), "api").into(),
        ..base.clone()
    };
    assert_eq!(sarif::fingerprint(&base), sarif::fingerprint(&moved));
    assert_ne!(sarif::fingerprint(&base), sarif::fingerprint(&other));
    // Fixed forever: a change here reopens every alert on GitHub.
    assert_eq!(sarif::fingerprint(&base), "57dd0e1a3163be3f");
}

/// The log is written result by result; the text must be exactly what
/// pretty-printing the whole log as one tree gives (as it was built before),
/// so that reading it back and printing it again changes nothing.
#[test]
fn the_streamed_log_is_the_pretty_printed_tree() {
    let with_fix = report();
    let file = with_fix.findings[0].file.to_string();
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: nginx\n";
    let mut texts = std::collections::HashMap::new();
    texts.insert(file, text);
    let set = policies();
    let mut many = report();
    let copies: Vec<ReportFinding> = (0..50).flat_map(|_| many.findings.clone()).collect();
    many.findings = copies;
    for rendered in [
        sarif::render(&report(), &set),
        sarif::render(&clean_report(), &set),
        sarif::render(&Report::default(), &set),
        sarif::render(&Report::default(), &rampart_engine::PolicySet::default()),
        sarif::render(&many, &set),
        sarif::render_with_sources(&with_fix, &set, &texts),
    ] {
        let tree: Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(rendered, format!("{tree:#}\n"));
    }
}
