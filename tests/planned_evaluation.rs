//! The evaluator's plans change how fast a policy runs, never what it finds.
//!
//! An evaluator works out, per policy, which lets are constant, which are
//! located, which only messages read, and which resources the policy can be
//! skipped for (the key index). A policy the evaluator was not made with runs
//! with none of that. Every standard-library policy is run both ways on every
//! manifest of `examples/` and, when they are present, on upstream's Pod
//! Security fixtures and the real-manifest corpus in `../shared/conformance/`,
//! at several Kubernetes versions, and the evaluations must be equal:
//! findings (message, pointer, fix), explanations, errors and matched policies.
//! The planned run skips by the key filter the loader made while reading
//! (JSON and YAML alike), so that filter is checked here too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;

use rampart_engine::load::{self, LoadLimits};
use rampart_engine::{EvalOptions, Evaluation, Evaluator, KubeVersion, Subject};

#[test]
fn planned_and_unplanned_evaluations_agree_on_every_manifest() {
    let set = rampart_tests::standard_library().unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let extensions = ["yaml", "yml", "json"];
    rampart_tests::files_under(&workspace.join("examples"), &extensions, &mut files);
    // Present next to the workspace in development; a plain clone has only
    // the examples.
    let conformance = workspace.join("../shared/conformance");
    rampart_tests::files_under(&conformance, &extensions, &mut files);
    let mut resources = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let outcome = load::load_str(&text, &LoadLimits::default());
        resources.extend(
            outcome
                .documents
                .into_iter()
                .filter(|document| document.value.is_object())
                .map(|document| (file.clone(), document.value, document.keys)),
        );
    }
    assert!(resources.len() > 10, "only {} manifests", resources.len());
    // Policies the evaluator was not made with run without plans.
    let unplanned: Vec<_> = set.policies.to_vec();
    let mut compared = 0;
    for version in ["v1.22", "v1.31", "v1.35"] {
        let options = EvalOptions {
            version: KubeVersion::parse(version).unwrap(),
            explain: true,
            ..EvalOptions::default()
        };
        let overridden = set.overridden_at(options.version);
        let evaluator = Evaluator::new(&set, options);
        // Judging the whole set skips the policies others override; running
        // one policy by itself does not.
        for (file, resource, keys) in &resources {
            // The planned run skips by the key filter the loader made while
            // reading; the reference runs every policy without plans.
            let subject = Subject {
                keys: keys.as_ref(),
                ..Subject::new(resource)
            };
            let planned = evaluator.evaluate(&subject);
            let mut reference = Evaluation::default();
            for (policy, overridden) in unplanned.iter().zip(&overridden) {
                if !overridden {
                    evaluator.evaluate_policy(policy, &subject, &mut reference);
                }
            }
            assert_eq!(
                planned,
                reference,
                "{} at {version}: {}",
                file.display(),
                resource["metadata"]["name"]
            );
            compared += planned.matched.len();
        }
    }
    assert!(compared > 100, "only {compared} policy runs compared");
}
