//! Running compiled `test` blocks against a compiled policy set.

use crate::compile::{CompiledTest, ExpectationSpec};
use rampart_engine::ir::{Action, PolicySet};
use rampart_engine::json::Json;
use rampart_engine::{EvalOptions, Evaluator, Finding, Inventory, KubeVersion, Subject};
use serde::Serialize;

/// The result of one test.
#[derive(Clone, Debug, Serialize)]
pub struct TestOutcome {
    /// The test's name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// Its line.
    pub line: usize,
    /// Whether every expectation held.
    pub passed: bool,
    /// What went wrong, one line each.
    pub failures: Vec<String>,
    /// Rules that fired: policy id and rule number (for coverage).
    pub fired: Vec<(String, u32)>,
}

/// Runs a test. `resources` are the test's resources, already read (fixture
/// files are the caller's to load, so that this works without a file system).
pub fn run_test(set: &PolicySet, test: &CompiledTest, resources: &[Json]) -> TestOutcome {
    let mut failures = Vec::new();
    let mut selected = PolicySet {
        version: set.version,
        policies: Vec::new(),
        functions: set.functions.clone(),
    };
    for id in &test.policies {
        match set.policy(id) {
            Some(policy) => selected.policies.push(policy.clone()),
            None => failures.push(format!("policy `{id}` did not compile")),
        }
    }
    for (name, value) in &test.params {
        let mut applied = false;
        for policy in &mut selected.policies {
            if let Some(param) = policy.params.iter_mut().find(|param| &param.name == name) {
                if param.shape.admits(value) {
                    param.value = value.clone();
                    applied = true;
                } else {
                    failures.push(format!("parameter `{name}` must be `{}`", param.shape));
                }
            }
        }
        if !applied && failures.is_empty() {
            failures.push(format!("no policy under test has a parameter `{name}`"));
        }
    }
    let options = EvalOptions {
        version: test.version.unwrap_or(KubeVersion::LATEST),
        ..EvalOptions::default()
    };
    let evaluator = Evaluator::new(&selected, options);
    let mut inventory = Inventory::new();
    for resource in resources {
        inventory.add(resource);
    }
    let mut findings: Vec<Finding> = Vec::new();
    for resource in resources {
        let subject = Subject {
            resource,
            old_resource: None,
            inventory: Some(&inventory),
            keys: None,
        };
        let evaluation = evaluator.evaluate(&subject);
        for error in evaluation.errors {
            failures.push(format!(
                "policy `{}` failed: {}",
                error.policy, error.message
            ));
        }
        findings.extend(evaluation.findings);
    }
    for expectation in &test.expectations {
        if let Some(failure) = check(expectation, &findings) {
            failures.push(failure);
        }
    }
    TestOutcome {
        name: test.name.clone(),
        file: test.file.clone(),
        line: test.line,
        passed: failures.is_empty(),
        failures,
        fired: findings
            .iter()
            .map(|finding| (finding.policy.to_string(), finding.rule))
            .collect(),
    }
}

fn check(expectation: &ExpectationSpec, findings: &[Finding]) -> Option<String> {
    let Some(action) = expectation.action else {
        let blocking: Vec<&Finding> = findings
            .iter()
            .filter(|finding| matches!(finding.action, Action::Deny | Action::Warn))
            .collect();
        return (!blocking.is_empty()).then(|| {
            let described: Vec<String> = blocking.iter().map(|finding| describe(finding)).collect();
            format!(
                "line {}: expected allow, got {}",
                expectation.line,
                described.join("; ")
            )
        });
    };
    let found = findings.iter().any(|finding| {
        finding.action == action
            && expectation
                .pointer
                .as_ref()
                .is_none_or(|pointer| *pointer == finding.pointer)
            && expectation
                .message
                .as_ref()
                .is_none_or(|part| finding.message.contains(part.as_str()))
    });
    if found {
        return None;
    }
    let mut wanted = action.as_str().to_owned();
    if let Some(pointer) = &expectation.pointer {
        wanted.push_str(&format!(" at `{pointer}`"));
    }
    if let Some(message) = &expectation.message {
        wanted.push_str(&format!(" with message containing `{message}`"));
    }
    let got = if findings.is_empty() {
        "no findings".to_owned()
    } else {
        findings.iter().map(describe).collect::<Vec<_>>().join("; ")
    };
    Some(format!(
        "line {}: expected {wanted}, got {got}",
        expectation.line
    ))
}

fn describe(finding: &Finding) -> String {
    format!(
        "{} {} at `{}`: {}",
        finding.action.as_str(),
        finding.policy,
        finding.pointer,
        finding.message
    )
}
