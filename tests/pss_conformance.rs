//! Conformance of the standard library's Pod Security Standards policies with
//! upstream Pod Security Admission.
//!
//! The fixtures are upstream's own (`kubernetes/pod-security-admission`,
//! `test/testdata/`), kept in `../shared/conformance/pss/` next to the
//! workspace, with `index.tsv` giving each one's level, the versions it covers,
//! the check it is about and the expected verdict. Every fixture is judged at
//! every version it covers, as a Pod and wrapped in a Deployment's pod
//! template, by the standard library's `pss-baseline` or `pss-restricted` set.
//! A plain clone without the fixtures skips the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rampart_engine::json::Json as Value;
use rampart_engine::load::{self, LoadLimits};
use rampart_engine::{Action, EvalOptions, Evaluator, KubeVersion, PolicySet, Subject};
use serde_json::json;

/// One row of `index.tsv`.
struct Fixture {
    path: String,
    level: String,
    first_minor: u32,
    last_minor: u32,
    check: String,
    check_level: String,
    expect_deny: bool,
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/pss")
}

/// `v1.0-v1.18` or `v1.34`, as the first and last minor versions.
fn parse_versions(text: &str) -> (u32, u32) {
    let minor = |version: &str| -> u32 {
        let parsed =
            KubeVersion::parse(version).unwrap_or_else(|| panic!("bad version `{version}`"));
        assert_eq!(parsed.major, 1, "bad version `{version}`");
        parsed.minor
    };
    match text.split_once('-') {
        Some((first, last)) => (minor(first), minor(last)),
        None => (minor(text), minor(text)),
    }
}

fn read_index(root: &Path) -> Vec<Fixture> {
    let text = std::fs::read_to_string(root.join("index.tsv")).expect("index.tsv is readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .expect("index.tsv has a header")
        .split('\t')
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|column| *column == name)
            .unwrap_or_else(|| panic!("index.tsv has no `{name}` column"))
    };
    let (path, level, covered, check, check_level, expected) = (
        column("path"),
        column("level"),
        column("versions_covered"),
        column("check"),
        column("check_defined_at_level"),
        column("expected"),
    );
    lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            let (first_minor, last_minor) = parse_versions(cells[covered]);
            Fixture {
                path: cells[path].to_owned(),
                level: cells[level].to_owned(),
                first_minor,
                last_minor,
                check: cells[check].to_owned(),
                check_level: cells[check_level].to_owned(),
                expect_deny: match cells[expected] {
                    "deny" => true,
                    "allow" => false,
                    other => panic!("unknown verdict `{other}` in index.tsv"),
                },
            }
        })
        .collect()
}

/// The policies of the named standard-library set.
fn select(library: &PolicySet, set_name: &str) -> PolicySet {
    let set = rampart_stdlib::set(set_name).unwrap_or_else(|| panic!("no set `{set_name}`"));
    PolicySet {
        policies: library
            .policies
            .iter()
            .filter(|policy| rampart_tests::in_set(set.include, &policy.id))
            .cloned()
            .collect(),
        ..library.clone()
    }
}

/// The pod, as the pod template of a Deployment.
fn as_deployment(pod: &Value) -> Value {
    Value::from(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": pod["metadata"]["name"].clone() },
        "spec": {
            "selector": { "matchLabels": { "app": "fixture" } },
            "template": {
                "metadata": {
                    "labels": { "app": "fixture" },
                    "annotations": pod["metadata"]["annotations"].clone(),
                },
                "spec": pod["spec"].clone(),
            }
        }
    }))
}

/// What went wrong with one fixture at one version, or `None` if the
/// verdict agrees with upstream.
fn judge(
    set: &PolicySet,
    version: KubeVersion,
    resource: &Value,
    fixture: &Fixture,
) -> Option<String> {
    let evaluator = Evaluator::new(
        set,
        EvalOptions {
            version,
            ..EvalOptions::default()
        },
    );
    let evaluation = evaluator.evaluate(&Subject::new(resource));
    let denials: Vec<_> = evaluation
        .findings
        .iter()
        .filter(|finding| finding.action == Action::Deny)
        .collect();
    let mut problem = String::new();
    for error in &evaluation.errors {
        let _ = writeln!(
            problem,
            "      evaluation error in {}: {}",
            error.policy, error.message
        );
    }
    let control = format!("PSS:{}:{}", fixture.check_level, fixture.check);
    // A check that a restricted one overrides is answered by that one, as
    // upstream does (`OverrideCheckIDs`).
    let answers = |policy: &rampart_engine::Policy| {
        policy.controls.contains(&control)
            || policy.overrides.iter().any(|overridden| {
                set.policy(overridden)
                    .is_some_and(|overridden| overridden.controls.contains(&control))
            })
    };
    let agrees = if fixture.expect_deny {
        denials
            .iter()
            .any(|finding| set.policy(&finding.policy).is_some_and(answers))
    } else {
        denials.is_empty()
    };
    if agrees && problem.is_empty() {
        return None;
    }
    if !agrees {
        let _ = writeln!(
            problem,
            "      expected {}",
            if fixture.expect_deny {
                format!("a deny finding with control {control}")
            } else {
                "no deny finding".to_owned()
            }
        );
    }
    if denials.is_empty() {
        let _ = writeln!(problem, "      got no deny finding");
    }
    for finding in denials {
        let _ = writeln!(
            problem,
            "      got deny {} at {}: {}",
            finding.policy, finding.pointer, finding.message
        );
    }
    Some(problem)
}

#[test]
fn pss_policies_agree_with_upstream_fixtures() {
    let root = fixtures_root();
    if !root.join("index.tsv").is_file() {
        println!(
            "PSS conformance fixtures not found at {}: skipping the conformance test",
            root.display()
        );
        return;
    }
    let fixtures = read_index(&root);
    let library = rampart_tests::standard_library().unwrap_or_else(|error| panic!("{error}"));
    let baseline = select(&library, "pss-baseline");
    let restricted = select(&library, "pss-restricted");
    assert!(
        baseline
            .policies
            .iter()
            .any(|policy| policy.id.starts_with("pss.baseline.")),
        "the pss-baseline set is empty"
    );

    let mut judgements = 0_usize;
    let mut agreements = 0_usize;
    let mut disagreements = Vec::new();
    for fixture in &fixtures {
        let set = match fixture.level.as_str() {
            "baseline" => &baseline,
            "restricted" => &restricted,
            other => panic!("{}: unknown level `{other}`", fixture.path),
        };
        let text = std::fs::read_to_string(root.join(&fixture.path))
            .unwrap_or_else(|error| panic!("{}: {error}", fixture.path));
        let outcome = load::load_str(&text, &LoadLimits::default());
        let mut errors = outcome.errors.clone();
        let resources = load::resources(&outcome.documents, &mut errors);
        assert!(errors.is_empty(), "{}: {errors:?}", fixture.path);
        assert_eq!(resources.len(), 1, "{}: expected one pod", fixture.path);
        let pod = resources[0].value;
        let deployment = as_deployment(pod);
        for minor in fixture.first_minor..=fixture.last_minor {
            let version = KubeVersion { major: 1, minor };
            for (shape, resource) in [("Pod", pod), ("Deployment", &deployment)] {
                judgements += 1;
                match judge(set, version, resource, fixture) {
                    None => agreements += 1,
                    Some(problem) => disagreements.push(format!(
                        "  {} as {shape} at {version} (expected {}):\n{problem}",
                        fixture.path,
                        if fixture.expect_deny { "deny" } else { "allow" }
                    )),
                }
            }
        }
    }
    // The newest fixtures also stand for "latest".
    let newest = fixtures
        .iter()
        .map(|fixture| fixture.last_minor)
        .max()
        .unwrap_or(0);
    for fixture in fixtures
        .iter()
        .filter(|fixture| fixture.last_minor == newest)
    {
        let set = if fixture.level == "baseline" {
            &baseline
        } else {
            &restricted
        };
        let text = std::fs::read_to_string(root.join(&fixture.path)).unwrap();
        let outcome = load::load_str(&text, &LoadLimits::default());
        let mut errors = Vec::new();
        let resources = load::resources(&outcome.documents, &mut errors);
        judgements += 1;
        match judge(set, KubeVersion::LATEST, resources[0].value, fixture) {
            None => agreements += 1,
            Some(problem) => {
                disagreements.push(format!("  {} as Pod at latest:\n{problem}", fixture.path))
            }
        }
    }

    #[allow(clippy::cast_precision_loss, reason = "a percentage for people")]
    let percentage = 100.0 * agreements as f64 / judgements.max(1) as f64;
    println!(
        "PSS conformance: {} fixtures, {judgements} judgements (fixture x version x Pod/Deployment, plus latest), {agreements} agree ({percentage:.2}%)",
        fixtures.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} of {judgements} judgements disagree with upstream:\n{}",
        disagreements.len(),
        disagreements.join("")
    );
}
